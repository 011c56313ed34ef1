/*
 * mux_stream.c — the stream half of the multiplexer: the stream table (a
 * chained hash on the stream ID, O(1) with 10,000 streams), the ready list,
 * deferred events, stream messages from the peer and the stream calls of the
 * application.  See mux_int.h for the structures and mux.c for the tunnel.
 *
 * Invariants:
 *  - a stream is in the hash iff it is not dead; dead streams sit on m->graveyard
 *    until the outermost mux call returns, then are freed;
 *  - s->ready iff (queued bytes and stream credit) or (nothing queued and a
 *    FIN waiting to go);
 *  - bytes received for s and not yet credited (s->rxf.used) = bytes in s->rx
 *    + s->held (delivered, not consumed) + s->rxf.pending; when s is freed
 *    the first two are credited to the tunnel at once.
 */
#include "mux_int.h"

#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "log.h"

static const char *const mux_sstate_names[] = {
	[MUX_S_OPENING_OUT] = "OPENING_OUT",
	[MUX_S_OPENING_IN] = "OPENING_IN",
	[MUX_S_OPEN] = "OPEN",
	[MUX_S_HALF_CLOSED_LOCAL] = "HALF_CLOSED_LOCAL",
	[MUX_S_HALF_CLOSED_REMOTE] = "HALF_CLOSED_REMOTE",
	[MUX_S_CLOSED] = "CLOSED",
	[MUX_S_FREED] = "FREED",
};

const char *
mux_stream_state_name(enum mux_sstate st)
{
	return mux_sstate_names[st];
}

enum mux_sstate
mux_stream_state(const struct mux_stream *s)
{
	if (s->dead)
		return MUX_S_FREED;
	if (!s->accepted)
		return s->local ? MUX_S_OPENING_OUT : MUX_S_OPENING_IN;
	if (s->fin_sent && s->fin_recv)
		return MUX_S_CLOSED;
	if (s->fin_sent)
		return MUX_S_HALF_CLOSED_LOCAL;
	if (s->fin_recv)
		return MUX_S_HALF_CLOSED_REMOTE;
	return MUX_S_OPEN;
}

void
mux_stream_log(struct mux *m, struct mux_stream *s, enum mux_sstate old)
{
	enum mux_sstate	now = mux_stream_state(s);

	if (now != old && log_enabled(LOG_LEVEL_DEBUG))
		log_debug("mux", "%s: stream %u: %s -> %s", m->label, s->sid,
		    mux_stream_state_name(old), mux_stream_state_name(now));
}

static size_t
mux_buflen(const struct evbuffer *b)
{
	return b != NULL ? evbuffer_get_length(b) : 0;
}

/* --- The table. --------------------------------------------------------- */

static uint32_t
mux_hash(const struct mux *m, uint32_t sid)
{
	/* IDs of one parity step by 2: drop the parity bit, then mix. */
	return ((sid >> 1) * 0x9e3779b1U) & (m->nbuckets - 1);
}

struct mux_stream *
mux_stream_find(const struct mux *m, uint32_t sid)
{
	struct mux_stream	*s;

	for (s = m->buckets[mux_hash(m, sid)]; s != NULL; s = s->hnext)
		if (s->sid == sid)
			return s;
	return NULL;
}

/* Double the buckets; on allocation failure keep the longer chains. */
static void
mux_table_grow(struct mux *m)
{
	struct mux_stream	**old = m->buckets, **nb, *s, *next;
	uint32_t		  i, n = m->nbuckets, h;

	if (n >= (1U << 24) || !mux_alloc_ok(m) ||
	    (nb = calloc((size_t)n * 2, sizeof(*nb))) == NULL)
		return;
	m->buckets = nb;
	m->nbuckets = n * 2;
	for (i = 0; i < n; i++) {
		for (s = old[i]; s != NULL; s = next) {
			next = s->hnext;
			h = mux_hash(m, s->sid);
			s->hnext = nb[h];
			nb[h] = s;
		}
	}
	free(old);
}

struct mux_stream *
mux_stream_new(struct mux *m, uint32_t sid, int local)
{
	struct mux_stream	*s;
	uint32_t		 h;

	if (!mux_alloc_ok(m) || (s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->sid = sid;
	s->local = local != 0;
	s->send_credit = m->peer_stream_window;
	flow_recv_init(&s->rxf, m->set.stream_window);
	if (m->wmax > m->set.stream_window)
		flow_recv_epoch(&s->rxf, mux_now(m));
	if (m->count >= m->nbuckets)
		mux_table_grow(m);
	h = mux_hash(m, sid);
	s->hnext = m->buckets[h];
	m->buckets[h] = s;
	m->count++;
	if (local)
		m->nlocal++;
	else
		m->nremote++;
	return s;
}

static void
mux_table_unlink(struct mux *m, struct mux_stream *s)
{
	struct mux_stream	**pp;

	for (pp = &m->buckets[mux_hash(m, s->sid)]; *pp != NULL;
	    pp = &(*pp)->hnext) {
		if (*pp == s) {
			*pp = s->hnext;
			break;
		}
	}
	m->count--;
	if (s->local)
		m->nlocal--;
	else
		m->nremote--;
}

/*
 * Free s now as far as the protocol goes (out of the table, lists and
 * windows), its memory after the outermost call.  notify: tell the app.
 */
void
mux_stream_close(struct mux *m, struct mux_stream *s, uint32_t code,
    const char *text, int notify)
{
	enum mux_sstate	old;
	size_t		unconsumed;

	if (s->dead)
		return;
	old = mux_stream_state(s);
	mux_table_unlink(m, s);
	mux_stream_ready_remove(m, s);
	if (s->evflags != 0)
		TAILQ_REMOVE(&m->evq, s, eentry);
	s->evflags = 0;
	mux_budget_leave(m, s);
	m->tx_bytes -= mux_buflen(s->tx);
	/* Bytes that will never be consumed go back to the tunnel. */
	unconsumed = s->held + mux_buflen(s->rx);
	flow_recv_drop(&s->rxf);
	s->held = 0;
	if (s->rx != NULL)
		evbuffer_drain(s->rx, evbuffer_get_length(s->rx));
	if (s->tx != NULL)
		evbuffer_drain(s->tx, evbuffer_get_length(s->tx));
	s->dead = 1;
	TAILQ_INSERT_TAIL(&m->graveyard, s, eentry);
	/* The room freed goes to the waiters from the next mux_output(). */
	if (mux_budget_wants(m))
		mux_want(m);
	mux_stream_log(m, s, old);
	if (!m->dead && mux_tunnel_consumed(m, unconsumed) == MUX_ENOMEM)
		mux_fatal(m, MUX_ENOMEM, MUX_CODE_INTERNAL, "out of memory");
	if (notify && m->cb.stream_closed != NULL)
		m->cb.stream_closed(m, s->sid, code, text, s->sarg);
}

void
mux_stream_close_all(struct mux *m, uint32_t code, const char *text)
{
	struct mux_stream	*s;
	uint32_t		 i = 0;

	/* Callbacks may close other streams; no insertion once dead. */
	while (i < m->nbuckets) {
		if ((s = m->buckets[i]) == NULL) {
			i++;
			continue;
		}
		mux_stream_close(m, s, code, text, 1);
	}
}

void
mux_stream_reap(struct mux *m)
{
	struct mux_stream	*s;

	while ((s = TAILQ_FIRST(&m->graveyard)) != NULL) {
		TAILQ_REMOVE(&m->graveyard, s, eentry);
		if (s->tx != NULL)
			evbuffer_free(s->tx);
		if (s->rx != NULL)
			evbuffer_free(s->rx);
		free(s);
	}
}

/* A stream-level error: RESET to the peer, stream_closed to the app. */
int
mux_stream_abort(struct mux *m, struct mux_stream *s, uint32_t code)
{
	struct frame_ctl	c;
	int			r;

	memset(&c, 0, sizeof(c));
	c.type = FRAME_RESET;
	c.sid = s->sid;
	c.code = code;
	log_debug("mux", "%s: stream %u: reset: %s", m->label, s->sid,
	    mux_code_name(code));
	if ((r = mux_queue_answer(m, &c)) == MUX_ENOMEM)
		return mux_fatal(m, r, MUX_CODE_INTERNAL, "out of memory");
	mux_stream_close(m, s, code, "protocol error on the stream", 1);
	return r;
}

/*
 * Send space from the stream's own limits: the peer's credit minus what is
 * queued, and never more queued than our own stream_window, so a peer
 * granting 2^31-1 cannot make us buffer that much.
 */
size_t
mux_stream_room(const struct mux *m, const struct mux_stream *s)
{
	size_t	q = mux_buflen(s->tx), limit = s->send_credit;

	if (s->dead || s->fin_queued || (!s->local && !s->accepted))
		return 0;
	if (limit > m->set.stream_window)
		limit = m->set.stream_window;
	return limit > q ? limit - q : 0;
}

size_t
mux_stream_space(const struct mux *m, const struct mux_stream *s)
{
	size_t	room = mux_stream_room(m, s), b;

	if (m->set.send_budget == 0 || room == 0)
		return room;
	b = mux_budget_space(m, s);
	return room < b ? room : b;
}

/* A write was cut short and there is room again: tell the app, or, if the
 * budget is what holds it back, queue it for its turn. */
void
mux_stream_writable(struct mux *m, struct mux_stream *s)
{
	if (!s->blocked)
		return;
	if (mux_stream_space(m, s) == 0) {
		mux_budget_enqueue(m, s);
		return;
	}
	s->blocked = 0;
	if (m->cb.stream_writable != NULL)
		m->cb.stream_writable(m, s->sid, s->sarg);
}

void
mux_stream_ready_remove(struct mux *m, struct mux_stream *s)
{
	if (!s->ready)
		return;
	/* Sparse streams are the head of the list: the one before the
	 * last is sparse too, or there is none. */
	if (s == m->sparse_last)
		m->sparse_last = TAILQ_PREV(s, mux_slist, rentry);
	TAILQ_REMOVE(&m->ready, s, rentry);
	s->ready = 0;
	s->sparse = 0;
}

static int
mux_stream_wants_turn(const struct mux *m, const struct mux_stream *s)
{
	size_t	q = mux_buflen(s->tx);

	return !s->dead && !m->dead && ((q > 0 && s->send_credit > 0) ||
	    (q == 0 && s->fin_queued && !s->fin_sent));
}

/*
 * On the ready list iff it has something to send.  A stream that joins with
 * little queued is sparse and goes after the other sparse ones, ahead of the
 * backlogged streams: an interactive stream's frame leaves before the next
 * bulk frame, not after one frame of every bulk stream.
 */
void
mux_stream_ready_update(struct mux *m, struct mux_stream *s)
{
	int	want = mux_stream_wants_turn(m, s);

	if (want && !s->ready) {
		if (mux_buflen(s->tx) <= MUX_SPARSE_MAX) {
			if (m->sparse_last != NULL)
				TAILQ_INSERT_AFTER(&m->ready, m->sparse_last,
				    s, rentry);
			else
				TAILQ_INSERT_HEAD(&m->ready, s, rentry);
			m->sparse_last = s;
			s->sparse = 1;
		} else
			TAILQ_INSERT_TAIL(&m->ready, s, rentry);
		s->ready = 1;
		mux_want(m);
	} else if (!want && s->ready)
		mux_stream_ready_remove(m, s);
}

/* After its turn: to the tail, whatever it has left (round robin among the
 * streams that keep a backlog; a sparse one had its one frame). */
void
mux_stream_ready_requeue(struct mux *m, struct mux_stream *s)
{
	if (s->ready || !mux_stream_wants_turn(m, s))
		return;
	TAILQ_INSERT_TAIL(&m->ready, s, rentry);
	s->ready = 1;
	mux_want(m);
}

void
mux_stream_defer(struct mux *m, struct mux_stream *s, unsigned flags)
{
	if (s->dead)
		return;
	if (s->evflags == 0)
		TAILQ_INSERT_TAIL(&m->evq, s, eentry);
	s->evflags |= flags;
	mux_want(m);
}

void
mux_stream_run_events(struct mux *m)
{
	struct mux_stream	*s;
	size_t			 n = 0;
	unsigned		 f;

	/* Only the events queued now: a callback may queue more. */
	TAILQ_FOREACH(s, &m->evq, eentry)
		n++;
	while (n-- > 0 && !m->dead && (s = TAILQ_FIRST(&m->evq)) != NULL) {
		TAILQ_REMOVE(&m->evq, s, eentry);
		f = s->evflags;
		s->evflags = 0;
		if (f & MUX_EV_DELIVER)
			mux_stream_deliver(m, s);
		if (f & MUX_EV_DONE)
			mux_stream_check_done(m, s);
	}
}

/* Hand buffered data, then EOF, to the application. */
void
mux_stream_deliver(struct mux *m, struct mux_stream *s)
{
	size_t	n, rem;

	if (s->dead || !s->accepted)
		return;
	if (mux_buflen(s->rx) > 0 &&
	    evbuffer_add_buffer(m->rxbuf, s->rx) != 0) {
		mux_fatal(m, MUX_ENOMEM, MUX_CODE_INTERNAL, "out of memory");
		return;
	}
	if ((n = evbuffer_get_length(m->rxbuf)) > 0) {
		/* Counted as held during the call, so a close from the
		 * callback credits every byte exactly once. */
		s->held += n;
		if (m->cb.stream_data != NULL)
			m->cb.stream_data(m, s->sid, m->rxbuf, s->sarg);
		rem = evbuffer_get_length(m->rxbuf);
		if (s->dead) {
			evbuffer_drain(m->rxbuf, rem);
			return;
		}
		s->held -= rem;
		if (rem > 0 && ((s->rx == NULL &&
		    (!mux_alloc_ok(m) || (s->rx = evbuffer_new()) == NULL)) ||
		    evbuffer_add_buffer(s->rx, m->rxbuf) != 0)) {
			evbuffer_drain(m->rxbuf, rem);
			mux_fatal(m, MUX_ENOMEM, MUX_CODE_INTERNAL,
			    "out of memory");
			return;
		}
	}
	if (s->eof_pending && mux_buflen(s->rx) == 0) {
		s->eof_pending = 0;
		if (m->cb.stream_eof != NULL)
			m->cb.stream_eof(m, s->sid, s->sarg);
		if (s->dead)
			return;
	}
	mux_stream_check_done(m, s);
}

void
mux_stream_check_done(struct mux *m, struct mux_stream *s)
{
	if (s->dead || !s->accepted || !s->fin_sent || !s->fin_recv ||
	    s->eof_pending || s->held > 0 || mux_buflen(s->rx) > 0)
		return;
	mux_stream_close(m, s, MUX_CODE_NONE, NULL, 1);
}

/* --- From the peer. ----------------------------------------------------- */

int
mux_stream_input(struct mux *m, uint32_t sid, struct evbuffer *in,
    uint32_t len)
{
	struct mux_stream	*s;
	struct evbuffer		*dst;
	int			 r;

	if (mux_sid_never_opened(m, sid))
		return mux_fatal(m, MUX_EPROTO, MUX_CODE_PROTOCOL,
		    "DATA for never-opened stream %u", sid);
	if (flow_recv_data(&m->rxf, len) != 0)
		return mux_fatal(m, MUX_EFLOW, MUX_CODE_FLOW,
		    "DATA beyond the tunnel window");
	if (len == 0) {
		if ((r = mux_glitch(m, 1)) != 0)
			return r;
	} else
		mux_progress(m);
	s = mux_stream_find(m, sid);
	if (s == NULL || s->fin_recv || (s->local && !s->accepted)) {
		/* Closed stream, or out of state: consumed at once. */
		evbuffer_drain(in, len);
		if ((r = mux_tunnel_consumed(m, len)) != 0)
			return mux_fatal(m, r, MUX_CODE_INTERNAL,
			    "out of memory");
		if (s != NULL)
			return mux_stream_abort(m, s, MUX_CODE_PROTOCOL);
		return 0;
	}
	if (flow_recv_data(&s->rxf, len) != 0)
		return mux_fatal(m, MUX_EFLOW, MUX_CODE_FLOW,
		    "DATA beyond the window of stream %u", sid);
	if (len == 0)
		return 0;
	if (s->accepted && mux_buflen(s->rx) == 0)
		dst = m->rxbuf;
	else {
		if (s->rx == NULL && (!mux_alloc_ok(m) ||
		    (s->rx = evbuffer_new()) == NULL))
			return mux_fatal(m, MUX_ENOMEM, MUX_CODE_INTERNAL,
			    "out of memory");
		dst = s->rx;
	}
	if (evbuffer_remove_buffer(in, dst, len) != (int)len)
		return mux_fatal(m, MUX_ENOMEM, MUX_CODE_INTERNAL,
		    "out of memory");
	if (s->accepted)
		mux_stream_deliver(m, s);
	return 0;
}

static int
mux_stream_refuse_peer(struct mux *m, uint32_t sid, uint32_t code,
    const char *text)
{
	struct frame_ctl	c;
	int			r;

	if ((r = mux_glitch(m, 1)) != 0)
		return r;
	memset(&c, 0, sizeof(c));
	c.type = FRAME_STREAM_REFUSE;
	c.sid = sid;
	c.code = code;
	c.text_len = strlen(text);
	memcpy(c.text, text, c.text_len);
	if ((r = mux_queue_answer(m, &c)) == MUX_ENOMEM)
		r = mux_fatal(m, r, MUX_CODE_INTERNAL, "out of memory");
	return r;
}

static int
mux_stream_ctl_open(struct mux *m, const struct frame_ctl *c)
{
	struct mux_stream	*s;
	struct mux_peer		 peer;

	if (c->sid == 0 || c->sid > FRAME_SID_MAX || mux_sid_local(m, c->sid))
		return mux_fatal(m, MUX_EPROTO, MUX_CODE_PROTOCOL,
		    "STREAM_OPEN with invalid ID %u", c->sid);
	if (c->sid <= m->last_peer_sid)
		return mux_fatal(m, MUX_EPROTO, MUX_CODE_PROTOCOL,
		    "STREAM_OPEN reuses stream ID %u", c->sid);
	m->last_peer_sid = c->sid;
	if (m->goaway_sent)
		return mux_stream_refuse_peer(m, c->sid, MUX_CODE_SHUTDOWN,
		    "tunnel going away");
	if (m->nremote >= m->set.max_streams)
		return mux_stream_refuse_peer(m, c->sid, MUX_CODE_LIMIT,
		    "too many streams");
	if (m->cb.stream_open == NULL)
		return mux_stream_refuse_peer(m, c->sid,
		    MUX_CODE_UNKNOWN_SERVICE, "no services");
	if ((s = mux_stream_new(m, c->sid, 0)) == NULL)
		return mux_fatal(m, MUX_ENOMEM, MUX_CODE_INTERNAL,
		    "out of memory");
	log_debug("mux", "%s: stream %u: -> %s", m->label, s->sid,
	    mux_stream_state_name(mux_stream_state(s)));
	memset(&peer, 0, sizeof(peer));
	peer.family = c->family;
	memcpy(peer.addr, c->addr, sizeof(peer.addr));
	peer.port = c->port;
	m->cb.stream_open(m, c->sid, c->name, &peer, m->arg);
	return 0;
}

static int
mux_stream_ctl_window(struct mux *m, struct mux_stream *s,
    const struct frame_ctl *c)
{
	uint32_t	*credit = s != NULL ? &s->send_credit : &m->send_credit;
	int		 r, paid;

	/* An update that follows DATA we sent returns credit for it; one
	 * with no DATA of ours since the last carries nothing. */
	paid = s != NULL ? s->win_paid : m->win_paid;
	if (s != NULL)
		s->win_paid = 0;
	else
		m->win_paid = 0;
	if (!paid && (r = mux_glitch(m, 1)) != 0)
		return r;
	r = flow_send_grant(credit, c->increment);
	if (r == FLOW_EZERO)
		return mux_fatal(m, MUX_EPROTO, MUX_CODE_PROTOCOL,
		    "WINDOW_UPDATE of 0 on stream %u", c->sid);
	if (r != 0)
		return mux_fatal(m, MUX_EFLOW, MUX_CODE_FLOW,
		    "WINDOW_UPDATE on stream %u overflows the window", c->sid);
	if (s == NULL) {
		if (!TAILQ_EMPTY(&m->ready))
			mux_want(m);
		return 0;
	}
	mux_stream_ready_update(m, s);
	mux_stream_writable(m, s);
	return 0;
}

int
mux_stream_ctl(struct mux *m, const struct frame_ctl *c)
{
	struct mux_stream	*s;
	enum mux_sstate		 old;

	if (c->type == FRAME_STREAM_OPEN)
		return mux_stream_ctl_open(m, c);
	if (c->type == FRAME_WINDOW && c->sid == 0)
		return mux_stream_ctl_window(m, NULL, c);
	if (mux_sid_never_opened(m, c->sid))
		return mux_fatal(m, MUX_EPROTO, MUX_CODE_PROTOCOL,
		    "%s for never-opened stream %u", frame_type_name(c->type),
		    c->sid);
	if ((s = mux_stream_find(m, c->sid)) == NULL) {
		/* Closed: frames that crossed our RESET/REFUSE. */
		if (c->type == FRAME_WINDOW && c->increment == 0)
			return mux_fatal(m, MUX_EPROTO, MUX_CODE_PROTOCOL,
			    "WINDOW_UPDATE of 0 on stream %u", c->sid);
		return c->type == FRAME_WINDOW ? mux_glitch(m, 1) : 0;
	}
	old = mux_stream_state(s);
	switch (c->type) {
	case FRAME_STREAM_ACCEPT:
		if (!s->local || s->accepted)
			return mux_stream_abort(m, s, MUX_CODE_PROTOCOL);
		s->accepted = 1;
		mux_stream_log(m, s, old);
		if (m->cb.stream_accepted != NULL)
			m->cb.stream_accepted(m, s->sid, s->sarg);
		break;
	case FRAME_STREAM_REFUSE:
		if (!s->local || s->accepted)
			return mux_stream_abort(m, s, MUX_CODE_PROTOCOL);
		mux_stream_close(m, s, c->code, c->text, 1);
		break;
	case FRAME_FIN:
		if (s->fin_recv || (s->local && !s->accepted))
			return mux_stream_abort(m, s, MUX_CODE_PROTOCOL);
		s->fin_recv = 1;
		s->eof_pending = 1;
		mux_stream_log(m, s, old);
		mux_stream_deliver(m, s);
		break;
	case FRAME_RESET:
		/* Not a glitch, whoever opened the stream: a stream ends
		 * once, so RESETs are bounded by opens, and an opener
		 * cancelling for its client (or an acceptor whose target
		 * went away) is doing its job (PROTOCOL.md section 6). */
		mux_stream_close(m, s, c->code, NULL, 1);
		break;
	case FRAME_WINDOW:
		return mux_stream_ctl_window(m, s, c);
	}
	return 0;
}

/* --- Stream calls from the application. --------------------------------- */

static struct mux_stream *
mux_stream_get(struct mux *m, uint32_t sid)
{
	if (m->dead || sid == 0)
		return NULL;
	return mux_stream_find(m, sid);
}

int
mux_stream_open(struct mux *m, const char *service,
    const struct mux_peer *client, void *sarg, uint32_t *sidp)
{
	struct mux_stream	*s;
	struct frame_ctl	 c;
	uint32_t		 sid;
	int			 r = 0;

	mux_enter(m);
	if (sidp != NULL)
		*sidp = 0;
	memset(&c, 0, sizeof(c));
	if (m->dead || m->goaway_sent || m->goaway_recv) {
		r = MUX_ECLOSING;
		goto out;
	}
	if (!m->hello_recv) {
		r = MUX_ESTATE;
		goto out;
	}
	if (service == NULL || (c.name_len = strlen(service)) == 0 ||
	    c.name_len > FRAME_NAME_MAX ||
	    (client != NULL && client->family != 0 && client->family != 4 &&
	    client->family != 6)) {
		r = MUX_EINVAL;
		goto out;
	}
	sid = m->last_local_sid == 0 ?
	    (m->role == MUX_ROLE_RELAY ? 1 : 2) : m->last_local_sid + 2;
	if (m->nlocal >= m->peer_max_streams || sid > FRAME_SID_MAX) {
		r = MUX_ELIMIT;
		goto out;
	}
	c.type = FRAME_STREAM_OPEN;
	c.sid = sid;
	memcpy(c.name, service, c.name_len);
	if (client != NULL) {
		c.family = client->family;
		memcpy(c.addr, client->addr, sizeof(c.addr));
		c.port = client->port;
	}
	if ((s = mux_stream_new(m, sid, 1)) == NULL) {
		r = mux_fatal(m, MUX_ENOMEM, MUX_CODE_INTERNAL,
		    "out of memory");
		goto out;
	}
	m->last_local_sid = sid;
	if ((r = mux_queue_ctl(m, &c)) != 0) {
		/* The caller learns of this stream by the error alone. */
		mux_stream_close(m, s, MUX_CODE_INTERNAL, NULL, 0);
		r = mux_fatal(m, MUX_ENOMEM, MUX_CODE_INTERNAL,
		    "out of memory");
		goto out;
	}
	s->sarg = sarg;
	log_debug("mux", "%s: stream %u: -> OPENING_OUT", m->label, sid);
	if (sidp != NULL)
		*sidp = sid;
out:
	mux_leave(m);
	return r;
}

/* Accept or refuse: valid only for a peer's stream still OPENING_IN. */
static struct mux_stream *
mux_stream_get_opening(struct mux *m, uint32_t sid, int *r)
{
	struct mux_stream	*s = mux_stream_get(m, sid);

	*r = 0;
	if (s == NULL)
		*r = MUX_ENOSTREAM;
	else if (s->local || s->accepted) {
		*r = MUX_ESTATE;
		s = NULL;
	}
	return s;
}

int
mux_stream_accept(struct mux *m, uint32_t sid, void *sarg)
{
	struct mux_stream	*s;
	struct frame_ctl	 c;
	enum mux_sstate		 old;
	int			 r;

	mux_enter(m);
	if ((s = mux_stream_get_opening(m, sid, &r)) == NULL)
		goto out;
	memset(&c, 0, sizeof(c));
	c.type = FRAME_STREAM_ACCEPT;
	c.sid = sid;
	if ((r = mux_queue_ctl(m, &c)) != 0) {
		r = mux_fatal(m, MUX_ENOMEM, MUX_CODE_INTERNAL,
		    "out of memory");
		goto out;
	}
	old = mux_stream_state(s);
	s->accepted = 1;
	s->sarg = sarg;
	mux_stream_log(m, s, old);
	/* Early data and FIN reach the app from mux_output, not from here. */
	if (mux_buflen(s->rx) > 0 || s->eof_pending)
		mux_stream_defer(m, s, MUX_EV_DELIVER);
out:
	mux_leave(m);
	return r;
}

int
mux_stream_refuse(struct mux *m, uint32_t sid, uint32_t code,
    const char *text)
{
	struct mux_stream	*s;
	struct frame_ctl	 c;
	int			 r;

	mux_enter(m);
	if ((s = mux_stream_get_opening(m, sid, &r)) == NULL)
		goto out;
	memset(&c, 0, sizeof(c));
	c.type = FRAME_STREAM_REFUSE;
	c.sid = sid;
	c.code = code;
	if (text != NULL) {
		c.text_len = strlen(text);
		if (c.text_len > FRAME_TEXT_MAX)
			c.text_len = FRAME_TEXT_MAX;
		memcpy(c.text, text, c.text_len);
	}
	if ((r = mux_queue_ctl(m, &c)) != 0) {
		r = mux_fatal(m, MUX_ENOMEM, MUX_CODE_INTERNAL,
		    "out of memory");
		goto out;
	}
	mux_stream_close(m, s, code, NULL, 0);
out:
	mux_leave(m);
	return r;
}

int
mux_stream_write(struct mux *m, uint32_t sid, struct evbuffer *src,
    size_t *moved)
{
	struct mux_stream	*s;
	size_t			 space, n, len;
	int			 r = 0;

	mux_enter(m);
	if (moved != NULL)
		*moved = 0;
	if ((s = mux_stream_get(m, sid)) == NULL) {
		r = MUX_ENOSTREAM;
		goto out;
	}
	if (s->fin_queued || (!s->local && !s->accepted)) {
		r = MUX_ESTATE;
		goto out;
	}
	len = evbuffer_get_length(src);
	space = mux_stream_space(m, s);
	n = len < space ? len : space;
	if (n > 0)
		mux_budget_leave(m, s);		/* a turn is one write */
	if (n < len)
		s->blocked = 1;
	if (n == 0)
		goto cut;
	if (s->tx == NULL && (!mux_alloc_ok(m) ||
	    (s->tx = evbuffer_new()) == NULL)) {
		r = mux_fatal(m, MUX_ENOMEM, MUX_CODE_INTERNAL,
		    "out of memory");
		goto out;
	}
	if (evbuffer_remove_buffer(src, s->tx, n) != (int)n) {
		r = mux_fatal(m, MUX_ENOMEM, MUX_CODE_INTERNAL,
		    "out of memory");
		goto out;
	}
	m->tx_bytes += n;
	if (moved != NULL)
		*moved = n;
	mux_stream_ready_update(m, s);
cut:
	if (n < len)
		mux_budget_enqueue(m, s);
out:
	mux_leave(m);
	return r;
}

size_t
mux_stream_send_space(const struct mux *m, uint32_t sid)
{
	const struct mux_stream	*s;

	if (m->dead || (s = mux_stream_find(m, sid)) == NULL)
		return 0;
	return mux_stream_space(m, s);
}

int
mux_stream_shutdown(struct mux *m, uint32_t sid)
{
	struct mux_stream	*s;
	int			 r = 0;

	mux_enter(m);
	if ((s = mux_stream_get(m, sid)) == NULL)
		r = MUX_ENOSTREAM;
	else if (s->fin_queued || (!s->local && !s->accepted))
		r = MUX_ESTATE;
	else {
		s->fin_queued = 1;
		mux_stream_ready_update(m, s);
	}
	mux_leave(m);
	return r;
}

int
mux_stream_reset(struct mux *m, uint32_t sid, uint32_t code)
{
	struct mux_stream	*s;
	int			 r = 0;

	mux_enter(m);
	if ((s = mux_stream_get(m, sid)) == NULL)
		r = MUX_ENOSTREAM;
	else if ((r = mux_queue_reset(m, sid, code)) != 0)
		r = mux_fatal(m, MUX_ENOMEM, MUX_CODE_INTERNAL,
		    "out of memory");
	else
		mux_stream_close(m, s, code, NULL, 0);
	mux_leave(m);
	return r;
}

/* Return s's consumed bytes once they are worth a WINDOW_UPDATE, with the
 * window's growth on top or its cut taken off (PROTOCOL.md section 4). */
static int
mux_stream_credit(struct mux *m, struct mux_stream *s)
{
	struct flow_tune	t;
	uint32_t		inc;

	inc = flow_recv_update(&s->rxf, m->set.max_frame, 0);
	if (inc == 0)
		return 0;
	if (m->now_us != NULL) {
		t.max = m->wmax;
		t.floor = m->set.stream_window;
		t.rtt_us = m->rtt_min_us;
		/* Up to the credit threshold sits here unreturned. */
		t.slack = 2 * m->set.max_frame;
		inc = flow_recv_tune(&s->rxf, &t, mux_now(m), inc);
	}
	return mux_queue_window(m, s->sid, inc);
}

int
mux_stream_consumed(struct mux *m, uint32_t sid, size_t n)
{
	struct mux_stream	*s;
	int			 r = 0;

	mux_enter(m);
	if ((s = mux_stream_get(m, sid)) == NULL) {
		r = MUX_ENOSTREAM;
		goto out;
	}
	if (n > s->held) {
		r = MUX_EINVAL;
		goto out;
	}
	if (n == 0)
		goto out;
	s->held -= n;
	if (flow_recv_consume(&s->rxf, n) != 0) {
		r = MUX_EINVAL;
		goto out;
	}
	/* No stream credit once the peer is done sending: it would be
	 * wasted; the tunnel gets it in any case. */
	if (!s->fin_recv)
		r = mux_stream_credit(m, s);
	if (r == 0)
		r = mux_tunnel_consumed(m, n);
	if (r != 0) {
		r = mux_fatal(m, MUX_ENOMEM, MUX_CODE_INTERNAL,
		    "out of memory");
		goto out;
	}
	if (s->held == 0 && s->fin_recv)
		mux_stream_defer(m, s, MUX_EV_DONE);
out:
	mux_leave(m);
	return r;
}

int
mux_stream_redeliver(struct mux *m, uint32_t sid)
{
	struct mux_stream	*s;
	int			 r = 0;

	mux_enter(m);
	if ((s = mux_stream_get(m, sid)) == NULL)
		r = MUX_ENOSTREAM;
	else if (mux_buflen(s->rx) > 0 || s->eof_pending)
		mux_stream_defer(m, s, MUX_EV_DELIVER);
	mux_leave(m);
	return r;
}

uint32_t
mux_stream_recv_window(const struct mux *m, uint32_t sid)
{
	const struct mux_stream	*s;

	if ((s = mux_stream_find(m, sid)) == NULL)
		return 0;
	return s->rxf.window;
}

void *
mux_stream_arg(const struct mux *m, uint32_t sid)
{
	const struct mux_stream	*s;

	if ((s = mux_stream_find(m, sid)) == NULL)
		return NULL;
	return s->sarg;
}

int
mux_stream_set_arg(struct mux *m, uint32_t sid, void *sarg)
{
	struct mux_stream	*s;

	if ((s = mux_stream_find(m, sid)) == NULL)
		return MUX_ENOSTREAM;
	s->sarg = sarg;
	return 0;
}
