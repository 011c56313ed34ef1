/*
 * mux.c — the tunnel half of the multiplexer: settings and handshake, the
 * input loop (frame header checks before any payload is buffered, control
 * dispatch table), the output scheduler, tunnel-level control, fatal errors.
 * Streams live in mux_stream.c.  Wire format: docs/PROTOCOL.md.
 *
 * Re-entrancy: every public entry point brackets itself with mux_enter() /
 * mux_leave().  Deferred stream events run, and freed streams are reaped,
 * only when the outermost call returns (depth 0), so a callback may close any
 * stream, including the one it was called for, without pulling memory from
 * under the caller.
 */
#include "mux_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "log.h"

#define MUX_DEF_STREAM_WINDOW	(256U * 1024)
#define MUX_DEF_TUNNEL_WINDOW	(16U * 1024 * 1024)
#define MUX_DEF_MAX_FRAME	(32U * 1024)
#define MUX_DEF_MAX_STREAMS	16384U
#define MUX_DEF_STREAM_WINDOW_MAX (16U * 1024 * 1024)

static const char *const mux_code_names[] = {
	"NONE", "PROTOCOL", "INTERNAL", "FLOW", "FRAME_SIZE", "VERSION",
	"FLOOD", "LIMIT", "CANCEL", "REFUSED", "UNREACHABLE",
	"UNKNOWN_SERVICE", "PORT_IN_USE", "PORT_RANGE", "PORT_DENIED",
	"NO_PORTS", "AUTH", "SHUTDOWN", "REPLACED", "TIMEOUT", "TUNNEL_LOST",
	"DUPLICATE",
};

const char *
mux_code_name(uint32_t code)
{
	if (code < sizeof(mux_code_names) / sizeof(mux_code_names[0]))
		return mux_code_names[code];
	return "UNKNOWN";
}

const char *
mux_strerror(int err)
{
	switch (err) {
	case 0:
		return "success";
	case MUX_EPROTO:
		return "protocol violation";
	case MUX_EFLOW:
		return "flow control violated";
	case MUX_EFRAMESIZE:
		return "frame too long";
	case MUX_EVERSION:
		return "protocol version mismatch";
	case MUX_EFLOOD:
		return "flood of frames that carry nothing";
	case MUX_ENOMEM:
		return "out of memory";
	case MUX_EGOAWAY:
		return "peer ended the tunnel";
	case MUX_ELIMIT:
		return "too many streams";
	case MUX_ENOSTREAM:
		return "no such stream";
	case MUX_ESTATE:
		return "call not valid in the stream's state";
	case MUX_EINVAL:
		return "invalid argument";
	case MUX_ECLOSING:
		return "tunnel going away";
	case MUX_ECLOSED:
		return "tunnel closed by this side";
	}
	return "unknown mux error";
}

int
mux_is_fatal(int err)
{
	return (err <= MUX_EPROTO && err >= MUX_EGOAWAY) ||
	    err == MUX_ECLOSED;
}

void
mux_settings_default(struct mux_settings *s)
{
	memset(s, 0, sizeof(*s));
	s->stream_window = MUX_DEF_STREAM_WINDOW;
	s->tunnel_window = MUX_DEF_TUNNEL_WINDOW;
	s->max_frame = MUX_DEF_MAX_FRAME;
	s->max_streams = MUX_DEF_MAX_STREAMS;
	s->identity = "";
	s->stream_window_max = MUX_DEF_STREAM_WINDOW_MAX;
}

/* Test hook: count allocations down; the one reaching 0 fails. */
int
mux_alloc_ok(struct mux *m)
{
	if (m->alloc_fail < 0)
		return 1;
	return m->alloc_fail-- != 0;	/* fails once, then -1: off */
}

void
mux_set_alloc_fail(struct mux *m, long n)
{
	m->alloc_fail = n;
}

static int
mux_settings_valid(const struct mux_settings *s)
{
	return s->stream_window >= 1 && s->stream_window <= FLOW_WINDOW_MAX &&
	    s->tunnel_window >= 1 && s->tunnel_window <= FLOW_WINDOW_MAX &&
	    s->max_frame >= FRAME_MIN_FRAME && s->max_frame <= FRAME_MAX_FRAME &&
	    s->max_streams <= FRAME_SID_MAX &&
	    s->stream_window_max <= FLOW_WINDOW_MAX &&
	    (s->identity == NULL || strlen(s->identity) <= FRAME_NAME_MAX);
}

struct mux *
mux_new(enum mux_role role, const struct mux_settings *s,
    const struct mux_callbacks *cb, void *arg)
{
	struct mux		*m = NULL;
	struct mux_settings	 def;
	struct frame_ctl	 c;

	if (s == NULL) {
		mux_settings_default(&def);
		s = &def;
	}
	if (cb == NULL || !mux_settings_valid(s))
		goto fail;
	if ((m = calloc(1, sizeof(*m))) == NULL)
		goto fail;
	m->role = role;
	m->set = *s;
	if (s->identity != NULL)
		snprintf(m->identity, sizeof(m->identity), "%s", s->identity);
	m->set.identity = m->identity;
	mux_set_label(m, s->label);
	m->cb = *cb;
	m->arg = arg;
	m->alloc_fail = -1;
	m->goaway_last = UINT32_MAX;
	flow_recv_init(&m->rxf, s->tunnel_window);
	/* A stream grows to at most a quarter of the tunnel window: a
	 * consumer that stalls after its window grew then still leaves
	 * three quarters of the tunnel to the other streams. */
	m->wmax = s->stream_window_max;
	if (m->wmax > s->tunnel_window / 4)
		m->wmax = s->tunnel_window / 4;
	if (m->wmax < s->stream_window)
		m->wmax = s->stream_window;
	TAILQ_INIT(&m->ready);
	TAILQ_INIT(&m->evq);
	TAILQ_INIT(&m->graveyard);
	TAILQ_INIT(&m->bwait);
	m->wake_gen = 1;	/* a new stream's woken (0) is not current */
	m->nbuckets = 64;
	if ((m->buckets = calloc(m->nbuckets, sizeof(*m->buckets))) == NULL)
		goto fail;
	if ((m->ctlq = evbuffer_new()) == NULL ||
	    (m->rxbuf = evbuffer_new()) == NULL)
		goto fail;

	/* Our HELLO goes first, before anything the application queues.  No
	 * want_output from inside mux_new(): the caller does not hold m yet;
	 * it flushes the HELLO with mux_output() (see mux.h). */
	m->want = 1;
	memset(&c, 0, sizeof(c));
	c.type = FRAME_HELLO;
	c.version = FRAME_VERSION;
	c.stream_window = s->stream_window;
	c.tunnel_window = s->tunnel_window;
	c.max_frame = s->max_frame;
	c.max_streams = s->max_streams;
	c.hflags = s->hello_flags;
	c.name_len = strlen(m->identity);
	memcpy(c.name, m->identity, c.name_len);
	if (mux_queue_ctl(m, &c) != 0)
		goto fail;
	return m;
fail:
	mux_free(m);
	return NULL;
}

void
mux_free(struct mux *m)
{
	if (m == NULL)
		return;
	m->dead = 1;
	m->depth++;
	if (m->buckets != NULL)
		mux_stream_close_all(m, MUX_CODE_TUNNEL_LOST, "tunnel closed");
	m->depth--;
	mux_stream_reap(m);
	free(m->buckets);
	if (m->ctlq != NULL)
		evbuffer_free(m->ctlq);
	if (m->rxbuf != NULL)
		evbuffer_free(m->rxbuf);
	free(m);
}

void
mux_set_label(struct mux *m, const char *label)
{
	if (label == NULL || *label == '\0')
		label = "tunnel";
	snprintf(m->label, sizeof(m->label), "%s", label);
	m->set.label = m->label;
}

const char *
mux_label(const struct mux *m)
{
	return m->label;
}

size_t
mux_send_queued(const struct mux *m)
{
	return m->tx_bytes;
}

void
mux_set_clock(struct mux *m, uint64_t (*now_us)(void *), void *arg)
{
	m->now_us = now_us;
	m->now_arg = arg;
	m->ping_timed = 0;
}

/* The clock in wrapping 32-bit µs: differences stay right for 71 minutes,
 * longer than any RTT or minimum-RTT window it measures. */
uint32_t
mux_now(const struct mux *m)
{
	return m->now_us != NULL ? (uint32_t)m->now_us(m->now_arg) : 0;
}

uint32_t
mux_rtt_us(const struct mux *m)
{
	return m->rtt_us;
}

uint32_t
mux_rtt_min_us(const struct mux *m)
{
	return m->rtt_min_us;
}

/* Smoothed like TCP's SRTT (RFC 6298): 7/8 old + 1/8 new; and the minimum
 * for window tuning.  A minimum older than MUX_RTT_MIN_US gives way to the
 * lowest sample taken since, not to whichever comes next: under a long bulk
 * transfer every sample waits behind its data, and the least delayed of
 * them is the nearest to the path. */
void
mux_rtt_sample(struct mux *m, uint32_t rtt_us)
{
	uint32_t	now = mux_now(m);

	if (rtt_us == 0)
		rtt_us = 1;
	if (rtt_us > FLOW_RTT_MAX)
		rtt_us = FLOW_RTT_MAX;
	if (m->rtt_min_us == 0 || rtt_us <= m->rtt_min_us) {
		m->rtt_min_us = rtt_us;
		m->rtt_min_at = now;
		m->rtt_next_us = 0;
	} else {
		if (m->rtt_next_us == 0 || rtt_us < m->rtt_next_us)
			m->rtt_next_us = rtt_us;
		if (now - m->rtt_min_at > MUX_RTT_MIN_US) {
			m->rtt_min_us = m->rtt_next_us;
			m->rtt_min_at = now;
			m->rtt_next_us = 0;
		}
	}
	if (m->rtt_us == 0)
		m->rtt_us = rtt_us;
	else
		m->rtt_us = (uint32_t)(((uint64_t)m->rtt_us * 7 + rtt_us) / 8);
}

void
mux_enter(struct mux *m)
{
	m->depth++;
}

void
mux_leave(struct mux *m)
{
	if (--m->depth > 0)
		return;
	mux_stream_reap(m);
	/* Events deferred while mux_output ran nested in a callback still
	 * need an outermost mux_output: ask again. */
	if (!TAILQ_EMPTY(&m->evq) && !m->dead && !m->want)
		mux_want(m);
}

void
mux_want(struct mux *m)
{
	if (m->want || m->in_output || m->cb.want_output == NULL)
		return;
	m->want = 1;
	m->cb.want_output(m, m->arg);
}

int
mux_queue_ctl(struct mux *m, const struct frame_ctl *c)
{
	uint8_t	buf[FRAME_HDR_LEN + FRAME_CTL_MAX];
	size_t	n;
	int	r;

	if ((r = frame_ctl_frame(c, buf, sizeof(buf), &n)) != 0)
		return MUX_EINVAL;
	if (!mux_alloc_ok(m) || evbuffer_add(m->ctlq, buf, n) != 0)
		return MUX_ENOMEM;
	mux_want(m);
	return 0;
}

/* A frame the peer provoked (PONG, refusal, reset): capped while unsent. */
int
mux_queue_answer(struct mux *m, const struct frame_ctl *c)
{
	if (++m->answers > MUX_ANSWERS_MAX)
		return mux_fatal(m, MUX_EFLOOD, MUX_CODE_FLOOD,
		    "peer provokes answers without reading them");
	return mux_queue_ctl(m, c);
}

int
mux_queue_reset(struct mux *m, uint32_t sid, uint32_t code)
{
	struct frame_ctl	c;

	memset(&c, 0, sizeof(c));
	c.type = FRAME_RESET;
	c.sid = sid;
	c.code = code;
	return mux_queue_ctl(m, &c);
}

int
mux_queue_window(struct mux *m, uint32_t sid, uint32_t inc)
{
	struct frame_ctl	c;

	if (inc == 0)
		return 0;
	memset(&c, 0, sizeof(c));
	c.type = FRAME_WINDOW;
	c.sid = sid;
	c.increment = inc;
	return mux_queue_ctl(m, &c);
}

/*
 * The tunnel is over: queue GOAWAY (unless code is the peer's own and we only
 * acknowledge it, send == 0 via err MUX_EGOAWAY), close every stream with the
 * code, stop all further input and data output.  Returns err.
 */
int
mux_fatal(struct mux *m, int err, uint32_t code, const char *fmt, ...)
{
	struct frame_ctl	c;
	va_list			ap;

	if (m->dead)
		return m->err;
	memset(&c, 0, sizeof(c));
	va_start(ap, fmt);
	vsnprintf(c.text, sizeof(c.text), fmt, ap);
	va_end(ap);
	c.text_len = strlen(c.text);
	log_info("mux", "%s: %s (%s): %s", m->label, mux_strerror(err),
	    mux_code_name(code), c.text);
	m->dead = 1;
	m->err = err;
	if (err != MUX_EGOAWAY) {
		c.type = FRAME_GOAWAY;
		c.last_sid = m->last_peer_sid;
		c.code = code;
		m->goaway_sent = 1;
		/* Best effort: out of memory leaves the peer to time out. */
		(void)mux_queue_ctl(m, &c);
	}
	mux_stream_close_all(m, code, c.text);
	return err;
}

int
mux_glitch(struct mux *m, unsigned n)
{
	m->glitch += n;
	if (m->glitch > MUX_GLITCH_MAX)
		return mux_fatal(m, MUX_EFLOOD, MUX_CODE_FLOOD,
		    "too many frames that carry nothing");
	return 0;
}

void
mux_progress(struct mux *m)
{
	if (m->glitch > 0)
		m->glitch--;
}

void
mux_tick(struct mux *m)
{
	m->glitch /= 2;
}

/* n bytes of the tunnel window were consumed (or dropped). */
int
mux_tunnel_consumed(struct mux *m, size_t n)
{
	if (n == 0)
		return 0;
	if (flow_recv_consume(&m->rxf, n) != 0)
		return MUX_EINVAL;	/* impossible: accounting bug */
	return mux_queue_window(m, 0, flow_recv_update(&m->rxf,
	    m->set.max_frame, 0));
}

int
mux_sid_local(const struct mux *m, uint32_t sid)
{
	return (sid & 1) == (m->role == MUX_ROLE_RELAY ? 1U : 0U);
}

int
mux_sid_never_opened(const struct mux *m, uint32_t sid)
{
	if (sid == 0)
		return 1;
	return mux_sid_local(m, sid) ? sid > m->last_local_sid :
	    sid > m->last_peer_sid;
}

/* --- Control input: tunnel-level messages. ------------------------------ */

static int
mux_ctl_hello(struct mux *m, const struct frame_ctl *c)
{
	struct mux_ctl	ctl;

	if (m->hello_recv)
		return mux_fatal(m, MUX_EPROTO, MUX_CODE_PROTOCOL,
		    "second HELLO");
	m->hello_recv = 1;
	m->peer_stream_window = c->stream_window;
	m->peer_max_frame = c->max_frame;
	m->peer_max_streams = c->max_streams;
	m->send_credit = c->tunnel_window;
	memset(&ctl, 0, sizeof(ctl));
	ctl.type = MUX_CTL_HELLO;
	ctl.name = c->name;
	ctl.flags = c->hflags;
	if (m->cb.control != NULL)
		m->cb.control(m, &ctl, m->arg);
	return 0;
}

static int
mux_ctl_app(struct mux *m, const struct frame_ctl *c)
{
	struct mux_ctl	ctl;

	memset(&ctl, 0, sizeof(ctl));
	switch (c->type) {
	case FRAME_REGISTER:
		ctl.type = MUX_CTL_REGISTER;
		break;
	case FRAME_REGISTER_OK:
		ctl.type = MUX_CTL_REGISTER_OK;
		break;
	case FRAME_REGISTER_ERR:
		ctl.type = MUX_CTL_REGISTER_ERR;
		break;
	case FRAME_UNREGISTER:
		ctl.type = MUX_CTL_UNREGISTER;
		break;
	case FRAME_AUTH:
		ctl.type = MUX_CTL_AUTH;
		ctl.token = c->token;
		ctl.token_len = c->token_len;
		break;
	case FRAME_PONG:
		ctl.type = MUX_CTL_PONG;
		break;
	}
	ctl.name = c->name;
	ctl.port = c->port;
	ctl.flags = c->flags;
	ctl.code = c->code;
	ctl.text = c->text;
	ctl.opaque = c->opaque;
	if (m->cb.control != NULL)
		m->cb.control(m, &ctl, m->arg);
	return 0;
}

static int
mux_ctl_ping(struct mux *m, const struct frame_ctl *c)
{
	struct frame_ctl	pong;
	int			r;

	/* A ping while our last PONG is still unsent is a glitch. */
	if (m->pongs > 0 && (r = mux_glitch(m, 1)) != 0)
		return r;
	memset(&pong, 0, sizeof(pong));
	pong.type = FRAME_PONG;
	pong.opaque = c->opaque;
	m->pongs++;
	return mux_queue_answer(m, &pong);
}

/* A PONG nobody asked for carries nothing: a glitch. */
static int
mux_ctl_pong(struct mux *m, const struct frame_ctl *c)
{
	int	r;

	if (m->pings_out > 0)
		m->pings_out--;
	else if ((r = mux_glitch(m, 1)) != 0)
		return r;
	if (m->ping_timed && c->opaque == m->ping_opaque) {
		m->ping_timed = 0;
		mux_rtt_sample(m, mux_now(m) - m->ping_sent_us);
	}
	return mux_ctl_app(m, c);
}

static int
mux_ctl_goaway(struct mux *m, const struct frame_ctl *c)
{
	struct mux_ctl		 ctl;
	struct mux_stream	*s;
	uint32_t		 i;
	int			 r;

	/* Only the first GOAWAY is free: repeats cost a glitch each. */
	if (m->goaway_recv && (r = mux_glitch(m, 1)) != 0)
		return r;
	m->goaway_recv = 1;
	memset(&ctl, 0, sizeof(ctl));
	ctl.type = MUX_CTL_GOAWAY;
	ctl.code = c->code;
	ctl.text = c->text;
	ctl.last_sid = c->last_sid;
	if (m->cb.control != NULL)
		m->cb.control(m, &ctl, m->arg);
	if (c->code != MUX_CODE_NONE && c->code != MUX_CODE_SHUTDOWN)
		return mux_fatal(m, MUX_EGOAWAY, c->code, "%s", c->text);
	/* Streams we opened above last_sid were never seen: gone.  Walk the
	 * table, not the ID range (which the peer's last_sid could make
	 * huge), and only when last_sid went down (no work amplification by
	 * repeated GOAWAYs); rescan a chain after each close, callbacks may
	 * change it. */
	if (c->last_sid >= m->goaway_last)
		return 0;
	m->goaway_last = c->last_sid;
	for (i = 0; i < m->nbuckets && !m->dead; i++) {
		for (s = m->buckets[i]; s != NULL; s = s->hnext) {
			if (s->local && s->sid > c->last_sid) {
				mux_stream_close(m, s, MUX_CODE_SHUTDOWN,
				    "tunnel going away", 1);
				i--;
				break;
			}
		}
	}
	return 0;
}

/* Who may receive each tunnel-level message. */
struct mux_ctl_entry {
	uint8_t	type;
	int	relay_ok;	/* a relay may receive it */
	int	agent_ok;	/* an agent may receive it */
	int	(*fn)(struct mux *, const struct frame_ctl *);
};

static const struct mux_ctl_entry mux_ctl_table[] = {
	{ FRAME_HELLO, 1, 1, mux_ctl_hello },
	{ FRAME_REGISTER, 1, 0, mux_ctl_app },
	{ FRAME_REGISTER_OK, 0, 1, mux_ctl_app },
	{ FRAME_REGISTER_ERR, 0, 1, mux_ctl_app },
	{ FRAME_UNREGISTER, 1, 0, mux_ctl_app },
	{ FRAME_AUTH, 1, 0, mux_ctl_app },
	{ FRAME_STREAM_OPEN, 1, 1, mux_stream_ctl },
	{ FRAME_STREAM_ACCEPT, 1, 1, mux_stream_ctl },
	{ FRAME_STREAM_REFUSE, 1, 1, mux_stream_ctl },
	{ FRAME_FIN, 1, 1, mux_stream_ctl },
	{ FRAME_RESET, 1, 1, mux_stream_ctl },
	{ FRAME_WINDOW, 1, 1, mux_stream_ctl },
	{ FRAME_PING, 1, 1, mux_ctl_ping },
	{ FRAME_PONG, 1, 1, mux_ctl_pong },
	{ FRAME_GOAWAY, 1, 1, mux_ctl_goaway },
};

static int
mux_ctl_input(struct mux *m, const uint8_t *buf, size_t len)
{
	const struct mux_ctl_entry	*e = NULL;
	struct frame_ctl		 c;
	size_t				 i;
	int				 r;

	r = frame_ctl_decode(buf, len, &c);
	if (r == FRAME_EVERSION)
		return mux_fatal(m, MUX_EVERSION, MUX_CODE_VERSION,
		    "protocol version %u not supported (this side speaks %u)",
		    c.version, FRAME_VERSION);
	if (r == FRAME_ETYPE)
		return mux_fatal(m, MUX_EPROTO, MUX_CODE_PROTOCOL,
		    "unknown control type 0x%02x", c.type);
	if (r == FRAME_EVALUE && c.type == FRAME_HELLO && !m->hello_recv)
		return mux_fatal(m, MUX_EPROTO, MUX_CODE_PROTOCOL,
		    "bad HELLO: not an atlax peer or bad settings");
	if (r != 0)
		return mux_fatal(m, MUX_EPROTO, MUX_CODE_PROTOCOL,
		    "malformed %s: %s", frame_type_name(c.type),
		    frame_strerror(r));
	/* GOAWAY is understood before HELLO: a peer of another version
	 * may reject us with it. */
	if (!m->hello_recv && c.type != FRAME_HELLO && c.type != FRAME_GOAWAY)
		return mux_fatal(m, MUX_EPROTO, MUX_CODE_PROTOCOL,
		    "first frame must be HELLO, got %s",
		    frame_type_name(c.type));
	for (i = 0; i < sizeof(mux_ctl_table) / sizeof(mux_ctl_table[0]); i++)
		if (mux_ctl_table[i].type == c.type)
			e = &mux_ctl_table[i];
	if (e == NULL || !(m->role == MUX_ROLE_RELAY ? e->relay_ok :
	    e->agent_ok))
		return mux_fatal(m, MUX_EPROTO, MUX_CODE_PROTOCOL,
		    "%s not allowed in this direction",
		    frame_type_name(c.type));
	return e->fn(m, &c);
}

int
mux_input(struct mux *m, struct evbuffer *in)
{
	uint8_t			 hdr[FRAME_HDR_LEN];
	uint8_t			 buf[FRAME_CTL_MAX];
	struct frame_hdr	 h;
	size_t			 avail;
	int			 r = 0;

	/* Not from a callback: delivery reuses m->rxbuf. */
	if (m->depth > 0)
		return MUX_EINVAL;
	mux_enter(m);
	while (!m->dead) {
		avail = evbuffer_get_length(in);
		if (avail < FRAME_HDR_LEN)
			break;
		if (evbuffer_copyout(in, hdr, sizeof(hdr)) != sizeof(hdr)) {
			r = mux_fatal(m, MUX_ENOMEM, MUX_CODE_INTERNAL,
			    "cannot read input");
			break;
		}
		frame_hdr_decode(hdr, &h);
		/* Lengths are checked on the header alone (rule 7). */
		if (h.sid == 0 && (h.len == 0 || h.len > FRAME_CTL_MAX)) {
			r = mux_fatal(m, MUX_EFRAMESIZE, MUX_CODE_FRAME_SIZE,
			    "control frame of %u bytes", h.len);
			break;
		}
		if (h.sid != 0 && h.len > m->set.max_frame) {
			r = mux_fatal(m, MUX_EFRAMESIZE, MUX_CODE_FRAME_SIZE,
			    "DATA frame of %u bytes, max %u", h.len,
			    m->set.max_frame);
			break;
		}
		if (avail - FRAME_HDR_LEN < h.len)
			break;
		evbuffer_drain(in, FRAME_HDR_LEN);
		if (h.sid == 0) {
			if (evbuffer_remove(in, buf, h.len) != (int)h.len)
				r = mux_fatal(m, MUX_ENOMEM,
				    MUX_CODE_INTERNAL, "cannot read input");
			else
				r = mux_ctl_input(m, buf, h.len);
		} else if (!m->hello_recv) {
			r = mux_fatal(m, MUX_EPROTO, MUX_CODE_PROTOCOL,
			    "first frame must be HELLO, got DATA");
		} else
			r = mux_stream_input(m, h.sid, in, h.len);
		if (r != 0 && mux_is_fatal(r))
			break;
		r = 0;
	}
	if (m->depth == 1 && !m->dead)
		mux_stream_run_events(m);
	if (m->dead)
		r = m->err;
	mux_leave(m);
	return r;
}

/* --- Output. ------------------------------------------------------------ */

static size_t
mux_flush_ctl(struct mux *m, struct evbuffer *out)
{
	size_t	n = evbuffer_get_length(m->ctlq);

	if (n == 0)
		return 0;
	if (evbuffer_add_buffer(out, m->ctlq) != 0)
		return 0;
	m->answers = 0;
	m->pongs = 0;
	return n;
}

/* One turn of the round-robin for the head of the ready list. */
static size_t
mux_output_stream(struct mux *m, struct mux_stream *s, struct evbuffer *out)
{
	uint8_t			hdr[FRAME_HDR_LEN];
	struct frame_ctl	c;
	enum mux_sstate		old;
	size_t			n, q, added = 0;
	int			sparse = s->sparse;

	mux_stream_ready_remove(m, s);
	q = s->tx != NULL ? evbuffer_get_length(s->tx) : 0;
	if (q > 0) {
		n = q;
		/* A sparse turn is one small frame: a stream that queued
		 * more since it joined has the rest at the tail. */
		if (sparse && n > MUX_SPARSE_MAX)
			n = MUX_SPARSE_MAX;
		if (n > s->send_credit)
			n = s->send_credit;
		if (n > m->send_credit)
			n = m->send_credit;
		if (n > m->peer_max_frame)
			n = m->peer_max_frame;
		frame_hdr_encode(hdr, s->sid, (uint32_t)n);
		if (evbuffer_add(out, hdr, sizeof(hdr)) != 0 ||
		    evbuffer_remove_buffer(s->tx, out, n) != (int)n) {
			mux_fatal(m, MUX_ENOMEM, MUX_CODE_INTERNAL,
			    "cannot queue output");
			return 0;
		}
		flow_send_take(&s->send_credit, n);
		flow_send_take(&m->send_credit, n);
		m->tx_bytes -= n;
		s->win_paid = 1;
		m->win_paid = 1;
		mux_progress(m);
		added = sizeof(hdr) + n;
		q -= n;
	}
	if (q == 0 && s->fin_queued && !s->fin_sent) {
		old = mux_stream_state(s);
		memset(&c, 0, sizeof(c));
		c.type = FRAME_FIN;
		c.sid = s->sid;
		if (mux_queue_ctl(m, &c) != 0) {
			mux_fatal(m, MUX_ENOMEM, MUX_CODE_INTERNAL,
			    "cannot queue output");
			return added;
		}
		added += mux_flush_ctl(m, out);
		s->fin_sent = 1;
		mux_stream_log(m, s, old);
		mux_stream_check_done(m, s);
		return added;
	}
	mux_stream_ready_requeue(m, s);
	mux_stream_writable(m, s);
	return added;
}

size_t
mux_output(struct mux *m, struct evbuffer *out, size_t max)
{
	struct mux_stream	*s;
	size_t			 added = 0;

	mux_enter(m);
	m->want = 0;
	if (m->depth == 1 && !m->dead)
		mux_stream_run_events(m);
	m->in_output++;
	for (;;) {
		added += mux_flush_ctl(m, out);
		if (added >= max || m->dead)
			break;
		/* Room the frames freed in the send budget goes to the
		 * streams waiting for it, before the next pick: what they
		 * write at once leaves in this call. */
		mux_budget_wake(m);
		if ((s = TAILQ_FIRST(&m->ready)) == NULL)
			break;
		/* The tunnel window is shared: no credit, no DATA at all. */
		if (m->send_credit == 0 && s->tx != NULL &&
		    evbuffer_get_length(s->tx) > 0)
			break;
		added += mux_output_stream(m, s, out);
	}
	added += mux_flush_ctl(m, out);
	m->in_output--;
	mux_leave(m);
	return added;
}

int
mux_has_output(const struct mux *m)
{
	const struct mux_stream	*s;

	if (evbuffer_get_length(m->ctlq) > 0 || !TAILQ_EMPTY(&m->evq) ||
	    mux_budget_wants(m))
		return 1;
	if (m->dead || (s = TAILQ_FIRST(&m->ready)) == NULL)
		return 0;
	return m->send_credit > 0 || s->tx == NULL ||
	    evbuffer_get_length(s->tx) == 0;
}

/* --- Tunnel-level calls. ------------------------------------------------ */

int
mux_send_ctl(struct mux *m, const struct mux_ctl *ctl)
{
	struct frame_ctl	c;
	int			r = MUX_EINVAL;
	int			relay = m->role == MUX_ROLE_RELAY;

	mux_enter(m);
	if (m->dead) {
		r = MUX_ECLOSING;
		goto out;
	}
	memset(&c, 0, sizeof(c));
	switch (ctl->type) {
	case MUX_CTL_REGISTER:
		c.type = FRAME_REGISTER;
		if (relay)
			goto out;
		break;
	case MUX_CTL_UNREGISTER:
		c.type = FRAME_UNREGISTER;
		if (relay)
			goto out;
		break;
	case MUX_CTL_REGISTER_OK:
		c.type = FRAME_REGISTER_OK;
		if (!relay)
			goto out;
		break;
	case MUX_CTL_REGISTER_ERR:
		c.type = FRAME_REGISTER_ERR;
		if (!relay)
			goto out;
		break;
	case MUX_CTL_AUTH:
		if (relay)
			goto out;
		c.type = FRAME_AUTH;
		c.token = ctl->token;
		c.token_len = ctl->token_len;
		r = mux_queue_ctl(m, &c);
		goto queued;
	default:
		goto out;
	}
	if (ctl->name == NULL || (c.name_len = strlen(ctl->name)) >
	    FRAME_NAME_MAX)
		goto out;
	memcpy(c.name, ctl->name, c.name_len);
	if (ctl->text != NULL)
		c.text_len = strlen(ctl->text);
	if (c.text_len > FRAME_TEXT_MAX)
		c.text_len = FRAME_TEXT_MAX;	/* texts are truncated */
	if (c.text_len > 0)
		memcpy(c.text, ctl->text, c.text_len);
	c.port = ctl->port;
	c.flags = ctl->flags;
	c.code = ctl->code;
	r = mux_queue_ctl(m, &c);
queued:
	if (r == MUX_ENOMEM)
		r = mux_fatal(m, r, MUX_CODE_INTERNAL, "out of memory");
out:
	mux_leave(m);
	return r;
}

int
mux_ping(struct mux *m, uint64_t opaque)
{
	struct frame_ctl	c;
	int			r;

	mux_enter(m);
	memset(&c, 0, sizeof(c));
	c.type = FRAME_PING;
	c.opaque = opaque;
	if (m->dead)
		r = MUX_ECLOSING;
	else if ((r = mux_queue_ctl(m, &c)) == MUX_ENOMEM)
		r = mux_fatal(m, r, MUX_CODE_INTERNAL, "out of memory");
	else {
		if (m->pings_out < UINT32_MAX)
			m->pings_out++;
		/* Time one PING at a time: a later one with the same opaque
		 * cannot be mistaken for it. */
		if (m->now_us != NULL && !m->ping_timed) {
			m->ping_timed = 1;
			m->ping_opaque = opaque;
			m->ping_sent_us = mux_now(m);
		}
	}
	mux_leave(m);
	return r;
}

int
mux_goaway(struct mux *m, uint32_t code, const char *text)
{
	struct frame_ctl	c;
	int			r = 0;

	mux_enter(m);
	if (m->dead) {
		r = MUX_ECLOSING;
		goto out;
	}
	if (code != MUX_CODE_NONE && code != MUX_CODE_SHUTDOWN) {
		/* An error GOAWAY ends the tunnel here and now. */
		mux_fatal(m, MUX_ECLOSED, code, "%s",
		    text != NULL ? text : "");
		goto out;
	}
	memset(&c, 0, sizeof(c));
	c.type = FRAME_GOAWAY;
	c.last_sid = m->last_peer_sid;
	c.code = code;
	if (text != NULL)
		snprintf(c.text, sizeof(c.text), "%s", text);
	c.text_len = strlen(c.text);
	m->goaway_sent = 1;
	if ((r = mux_queue_ctl(m, &c)) == MUX_ENOMEM)
		r = mux_fatal(m, r, MUX_CODE_INTERNAL, "out of memory");
out:
	mux_leave(m);
	return r;
}

int
mux_peer_glitch(struct mux *m)
{
	int r;

	mux_enter(m);
	r = m->dead ? MUX_ECLOSING : mux_glitch(m, 1);
	mux_leave(m);
	return r;
}

int
mux_is_ready(const struct mux *m)
{
	return m->hello_recv && !m->dead;
}

int
mux_is_going_away(const struct mux *m)
{
	return m->goaway_sent || m->goaway_recv || m->dead;
}

int
mux_is_dead(const struct mux *m)
{
	return m->dead;
}

size_t
mux_nstreams(const struct mux *m)
{
	return m->count;
}
