/*
 * tunnel.c — see tunnel.h.
 *
 * Events of a tunnel, all on its owner's event base:
 *   timer   the deadline of the current state (handshake, drain, close)
 *   ping    the heartbeat and the liveness check (READY and DRAINING)
 *   tick    once a second: the streams' deadlines, the mux's flood decay
 *   probe   RTT probes in the first seconds of READY
 *   flush   refill the TLS output later in this loop turn (batches frames)
 *   gc      free the pumps that finished, after the callback that ended them
 *   linger  after a failed handshake on the accepting side (see
 *           tunnel_linger)
 */
#include "tunnel.h"

#include <sys/socket.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/x509.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "log.h"
#include "tls.h"
#include "tlsio.h"

/* The streams' deadlines and the flood decay run on this tick. */
#define TUNNEL_TICK_MS		1000
/* mux_tick() every this many ticks: the flood counter halves. */
#define TUNNEL_FLOOD_TICKS	5
/* After a failed handshake, read and drop at most this much. */
#define TUNNEL_LINGER_MAX	(256 * 1024)
/* After READY, RTT probes (timed PINGs) this many ms apart. */
static const unsigned tunnel_probe_gap_ms[] = { 20, 100, 400, 1500 };
#define TUNNEL_RTT_PROBES \
	(sizeof(tunnel_probe_gap_ms) / sizeof(tunnel_probe_gap_ms[0]))
/* The longest identity mux_new() accepts. */
#define TUNNEL_IDENTITY_MAX	64

struct tunnel {
	struct event_base	*base;
	struct tunnel_settings	 s;
	char			 identity[TUNNEL_IDENTITY_MAX + 1];
	struct tunnel_callbacks	 cb;
	void			*arg;
	enum tunnel_state	 state;
	char			 peer[300];
	char			 name[300];
	char			 reason[300];
	int			 lost;		/* ended without an orderly close */
	int			 tls_up;
	int			 close_sent;	/* close_notify queued */
	struct tlsio		*tio;		/* owns the socket and the SSL */
	struct mux		*mux;
	struct event		*timer;
	struct event		*ping;
	struct event		*tick;
	struct event		*probe;
	struct event		*flush;
	struct event		*gc;
	struct event		*linger;
	size_t			 lingered;
	struct evbuffer		*pack;	/* mux_output() before tlsio_write() */
	struct pump_list	 pumps;
	size_t			 npumps;
	uint64_t		 last_rx_ms;
	uint64_t		 up_ms;
	uint64_t		 ping_seq;
	unsigned		 ticks;
	unsigned		 probes;	/* RTT probes sent */
};

static const char *const tunnel_state_names[] = {
	[TUNNEL_HANDSHAKE] = "HANDSHAKE",
	[TUNNEL_HELLO] = "HELLO",
	[TUNNEL_READY] = "READY",
	[TUNNEL_DRAINING] = "DRAINING",
	[TUNNEL_CLOSING] = "CLOSING",
	[TUNNEL_DEAD] = "DEAD",
};

static void	tunnel_tls_on_up(void *);
static void	tunnel_tls_on_input(struct evbuffer *, void *);
static void	tunnel_tls_on_drained(void *);
static void	tunnel_tls_on_down(int, void *);
static void	tunnel_mux_on_control(struct mux *, const struct mux_ctl *,
		    void *);
static void	tunnel_mux_on_open(struct mux *, uint32_t, const char *,
		    const struct mux_peer *, void *);
static void	tunnel_mux_on_want_output(struct mux *, void *);
static void	tunnel_dead(struct tunnel *);

static const struct tlsio_callbacks tunnel_tls_cb = {
	.up = tunnel_tls_on_up,
	.input = tunnel_tls_on_input,
	.drained = tunnel_tls_on_drained,
	.down = tunnel_tls_on_down,
};

/* Stream events go straight to the pumps (each stream's sarg). */
static const struct mux_callbacks tunnel_mux_cb = {
	.control = tunnel_mux_on_control,
	.stream_open = tunnel_mux_on_open,
	.stream_accepted = pump_mux_accepted,
	.stream_data = pump_mux_data,
	.stream_eof = pump_mux_eof,
	.stream_closed = pump_mux_closed,
	.stream_writable = pump_mux_writable,
	.want_output = tunnel_mux_on_want_output,
};

/* The mux's clock, in µs: a loopback or LAN round trip is a fraction of a
 * millisecond, and windows are sized from it. */
static uint64_t
tunnel_clock(void *arg)
{
	struct timespec ts;

	(void)arg;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

uint64_t
tunnel_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

const char *
tunnel_state_name(enum tunnel_state s)
{
	if ((unsigned)s >= sizeof(tunnel_state_names) /
	    sizeof(tunnel_state_names[0]))
		return "?";
	return tunnel_state_names[s];
}

static void
tunnel_set_state(struct tunnel *t, enum tunnel_state s)
{
	enum tunnel_state old = t->state;

	if (old == s)
		return;
	log_debug("tunnel", "%s: %s -> %s", t->name, tunnel_state_name(old),
	    tunnel_state_name(s));
	t->state = s;
	if (t->cb.state != NULL)
		t->cb.state(t, old, t->arg);
}

void
tunnel_set_reason(struct tunnel *t, const char *fmt, ...)
{
	va_list ap;

	if (t->reason[0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(t->reason, sizeof(t->reason), fmt, ap);
	va_end(ap);
}

static void
tunnel_timer_in(struct tunnel *t, struct event *ev, uint64_t ms)
{
	struct timeval tv;

	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	if (event_add(ev, &tv) != 0)
		log_warnx("tunnel", "%s: cannot arm a timer", t->name);
}

/* Refill the TLS output from the mux, up to the high mark. */
static void
tunnel_fill(struct tunnel *t)
{
	size_t len;

	if (t->tio == NULL || t->mux == NULL || t->close_sent ||
	    t->state == TUNNEL_DEAD)
		return;
	/* Until the kernel refuses bytes (the drained callback resumes) or
	 * the mux has nothing it may send: mux_output() stops at the room it
	 * is given and asks no more (want_output) for the rest.  It is
	 * called at least once: that also re-arms want_output. */
	while ((len = tlsio_queued(t->tio)) < t->s.tls_high) {
		(void)mux_output(t->mux, t->pack, t->s.tls_high - len);
		if (evbuffer_get_length(t->pack) == 0 ||
		    tlsio_write(t->tio, t->pack) != 0 ||	/* down follows */
		    !mux_has_output(t->mux))
			break;
	}
	if (t->state != TUNNEL_CLOSING || tlsio_queued(t->tio) != 0)
		return;
	/* Everything is out: close_notify, then FIN, and wait for the peer's
	 * close_notify or EOF. */
	t->close_sent = 1;
	tlsio_close_notify(t->tio);
	log_debug("tunnel", "%s: close_notify sent", t->name);
}

static void
tunnel_flush_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	tunnel_fill(arg);
}

static void
tunnel_tls_on_drained(void *arg)
{
	tunnel_fill(arg);
}

static void
tunnel_mux_on_want_output(struct mux *m, void *arg)
{
	struct tunnel *t = arg;

	(void)m;
	/* Later in this loop turn: batches frames into one write. */
	event_active(t->flush, EV_TIMEOUT, 0);
}

static void
tunnel_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tunnel *t = arg;

	(void)fd;
	(void)what;
	switch (t->state) {
	case TUNNEL_HANDSHAKE:
	case TUNNEL_HELLO:
		tunnel_set_reason(t, "handshake with %s timed out", t->peer);
		t->lost = 1;
		tunnel_dead(t);
		break;
	case TUNNEL_DRAINING:
		log_info("tunnel", "%s: shutdown timeout, resetting %zu "
		    "stream(s)", t->name, mux_nstreams(t->mux));
		tunnel_close(t, MUX_CODE_SHUTDOWN, "shutdown timeout");
		break;
	case TUNNEL_CLOSING:
		tunnel_dead(t);
		break;
	default:
		break;
	}
}

static void
tunnel_ping_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tunnel *t = arg;
	uint64_t now = tunnel_now_ms(), limit;

	(void)fd;
	(void)what;
	limit = t->s.ping_ms * (t->s.ping_misses ? t->s.ping_misses : 1);
	if (now - t->last_rx_ms >= limit) {
		tunnel_set_reason(t, "%s silent for %llu ms", t->s.peer_role,
		    (unsigned long long)(now - t->last_rx_ms));
		t->lost = 1;
		tunnel_close(t, MUX_CODE_TIMEOUT, "peer silent too long");
		return;
	}
	(void)mux_ping(t->mux, ++t->ping_seq);
}

/* Once a second: the streams' deadlines; every few seconds the flood
 * counter decays. */
static void
tunnel_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tunnel *t = arg;
	struct pump *p;

	(void)fd;
	(void)what;
	if (t->mux == NULL)
		return;
	if (++t->ticks % TUNNEL_FLOOD_TICKS == 0)
		mux_tick(t->mux);
	for (p = TAILQ_FIRST(&t->pumps); p != NULL; p = pump_list_next(p))
		(void)pump_tick(p, TUNNEL_TICK_MS, &t->s.deadlines);
}

static void
tunnel_probe_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tunnel *t = arg;

	(void)fd;
	(void)what;
	if (t->state != TUNNEL_READY)
		return;
	(void)mux_ping(t->mux, ++t->ping_seq);
	if (++t->probes < TUNNEL_RTT_PROBES)
		tunnel_timer_in(t, t->probe, tunnel_probe_gap_ms[t->probes]);
}

static void
tunnel_gc_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tunnel *t = arg;
	struct pump *p, *next;
	void *tag;

	(void)fd;
	(void)what;
	for (p = TAILQ_FIRST(&t->pumps); p != NULL; p = next) {
		next = pump_list_next(p);
		if (!pump_is_done(p))
			continue;
		pump_list_remove(&t->pumps, p);
		t->npumps--;
		tag = pump_tag(p);
		pump_free(p);
		if (t->cb.stream_gone != NULL)
			t->cb.stream_gone(t, tag, t->arg);
	}
	if (t->state == TUNNEL_DRAINING && t->npumps == 0 &&
	    mux_nstreams(t->mux) == 0)
		tunnel_close(t, MUX_CODE_NONE, "drained");
}

static void
tunnel_pump_done(struct pump *p, void *arg)
{
	struct tunnel *t = arg;

	(void)p;
	event_active(t->gc, EV_TIMEOUT, 0);
}

struct tunnel *
tunnel_new(struct event_base *base, int fd, SSL *ssl,
    const struct tunnel_settings *s, const struct tunnel_callbacks *cb,
    void *arg, const char *peer)
{
	struct tunnel *t;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		goto fail;
	t->base = base;
	t->s = *s;
	if (s->mux.identity != NULL)
		snprintf(t->identity, sizeof(t->identity), "%s",
		    s->mux.identity);
	t->s.mux.identity = t->identity;
	/* The send queues get what the TLS output's high mark leaves of the
	 * tunnel's buffer. */
	if (s->tunnel_buffer > 2 * s->tls_high)
		t->s.mux.send_budget = s->tunnel_buffer - s->tls_high;
	else
		t->s.mux.send_budget = s->tunnel_buffer / 2;
	t->cb = *cb;
	t->arg = arg;
	t->state = TUNNEL_HANDSHAKE;
	TAILQ_INIT(&t->pumps);
	snprintf(t->peer, sizeof(t->peer), "%s", peer);
	snprintf(t->name, sizeof(t->name), "%s", peer);
	t->last_rx_ms = tunnel_now_ms();
	if ((t->timer = evtimer_new(base, tunnel_timer_cb, t)) == NULL ||
	    (t->ping = event_new(base, -1, EV_PERSIST, tunnel_ping_cb,
	    t)) == NULL ||
	    (t->tick = event_new(base, -1, EV_PERSIST, tunnel_tick_cb,
	    t)) == NULL ||
	    (t->probe = evtimer_new(base, tunnel_probe_cb, t)) == NULL ||
	    (t->flush = event_new(base, -1, 0, tunnel_flush_cb, t)) == NULL ||
	    (t->gc = event_new(base, -1, 0, tunnel_gc_cb, t)) == NULL ||
	    (t->pack = evbuffer_new()) == NULL)
		goto fail;
	t->tio = tlsio_new(base, fd, ssl, s->server, s->tls_high, s->read_max,
	    &tunnel_tls_cb, t);
	ssl = NULL;	/* the tlsio owns them, even on failure */
	fd = -1;
	if (t->tio == NULL)
		goto fail;
	tunnel_timer_in(t, t->timer, s->handshake_ms);
	return t;
fail:
	SSL_free(ssl);
	if (fd >= 0)
		close(fd);
	tunnel_free(t);
	return NULL;
}

/* TLS is up: ask the owner, then build the mux (our HELLO goes first). */
static void
tunnel_tls_on_up(void *arg)
{
	struct tunnel *t = arg;

	t->tls_up = 1;
	if (t->cb.tls_up != NULL && t->cb.tls_up(t, t->arg) != 0) {
		tunnel_dead(t);
		return;
	}
	t->s.mux.label = t->name;
	if ((t->mux = mux_new(t->s.role, &t->s.mux, &tunnel_mux_cb,
	    t)) == NULL) {
		tunnel_set_reason(t, "cannot create the mux (out of memory?)");
		tunnel_dead(t);
		return;
	}
	/* The clock lets the mux time its PINGs (the RTT) and grow stream
	 * windows to the path's bandwidth-delay product. */
	mux_set_clock(t->mux, tunnel_clock, t);
	t->last_rx_ms = tunnel_now_ms();
	tunnel_set_state(t, TUNNEL_HELLO);
	tunnel_timer_in(t, t->tick, TUNNEL_TICK_MS);
	event_active(t->flush, EV_TIMEOUT, 0);
}

void
tunnel_ready(struct tunnel *t)
{
	if (t->state != TUNNEL_HELLO)
		return;
	event_del(t->timer);
	t->up_ms = tunnel_now_ms();
	tunnel_set_state(t, TUNNEL_READY);
	if (t->s.ping_ms > 0)
		tunnel_timer_in(t, t->ping, t->s.ping_ms);
	/* An RTT sample now, not a heartbeat later: window growth needs it
	 * from the first seconds of a transfer.  The peer may still be busy
	 * setting the tunnel up (listeners, logs), which this sample counts
	 * as path: a few more in the next two seconds, while the tunnel is
	 * likely still quiet, find the path's minimum.  Windows sized on an
	 * RTT 20 times too long on loopback queue milliseconds ahead of
	 * every interactive stream. */
	(void)mux_ping(t->mux, ++t->ping_seq);
	t->probes = 0;
	tunnel_timer_in(t, t->probe, tunnel_probe_gap_ms[0]);
}

static void
tunnel_mux_on_control(struct mux *m, const struct mux_ctl *ctl, void *arg)
{
	struct tunnel *t = arg;

	(void)m;
	if (t->cb.control != NULL)
		t->cb.control(t, ctl, t->arg);
}

static void
tunnel_mux_on_open(struct mux *m, uint32_t sid, const char *service,
    const struct mux_peer *client, void *arg)
{
	struct tunnel *t = arg;

	if (t->state != TUNNEL_READY) {
		(void)mux_stream_refuse(m, sid, MUX_CODE_SHUTDOWN,
		    "shutting down");
		return;
	}
	if (t->cb.stream_open == NULL) {
		(void)mux_stream_refuse(m, sid, MUX_CODE_REFUSED,
		    "this side accepts no streams");
		return;
	}
	t->cb.stream_open(t, sid, service, client, t->arg);
}

static void
tunnel_tls_on_input(struct evbuffer *in, void *arg)
{
	struct tunnel *t = arg;
	int r;

	if (t->mux == NULL || t->state >= TUNNEL_CLOSING) {
		evbuffer_drain(in, evbuffer_get_length(in));
		return;
	}
	t->last_rx_ms = tunnel_now_ms();
	r = mux_input(t->mux, in);
	if (r < 0 && mux_is_fatal(r)) {
		/* A GOAWAY with an error reached the owner first, who set
		 * the reason; anything else is the peer breaking the
		 * protocol. */
		if (r != MUX_EGOAWAY)
			t->lost = 1;
		tunnel_set_reason(t, "%s", mux_strerror(r));
		tunnel_close(t, MUX_CODE_PROTOCOL, mux_strerror(r));
	} else if (r < 0)
		log_debug("tunnel", "%s: %s", t->name, mux_strerror(r));
	tunnel_fill(t);
}

static void
tunnel_linger_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tunnel *t = arg;
	char buf[4096];
	ssize_t n;

	(void)what;
	for (;;) {
		n = recv(fd, buf, sizeof(buf), 0);
		if (n > 0 && (t->lingered += (size_t)n) < TUNNEL_LINGER_MAX)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		break;
	}
	tunnel_dead(t);
}

/* A failed handshake on the accepting side: OpenSSL has written its alert.
 * Closing now, with the peer's first bytes unread, would send a TCP reset
 * that can destroy the alert before the peer reads it; so send FIN and read
 * until the peer closes too (bounded in time and bytes). */
static void
tunnel_linger(struct tunnel *t)
{
	int fd = tlsio_fd(t->tio);

	tlsio_stop(t->tio);	/* writes the alert */
	event_del(t->timer);
	tunnel_set_state(t, TUNNEL_CLOSING);
	if (fd < 0 || (t->linger = event_new(t->base, fd,
	    EV_READ | EV_PERSIST, tunnel_linger_cb, t)) == NULL ||
	    event_add(t->linger, NULL) != 0) {
		tunnel_dead(t);
		return;
	}
	(void)shutdown(fd, SHUT_WR);
	tunnel_timer_in(t, t->timer, t->s.close_wait_ms);
}

/* Why the connection ended, from the TLS layer's view. */
static void
tunnel_down_reason(struct tunnel *t, int what)
{
	unsigned long first = tlsio_ssl_error(t->tio);
	int serr = tlsio_sys_error(t->tio);
	SSL *ssl = tlsio_ssl(t->tio);
	char why[256], eb[128];
	int tls_err = 0;

	if (first == 0 && what == TLSIO_ERROR && serr != 0)
		snprintf(why, sizeof(why), "%s",
		    log_strerror(serr, eb, sizeof(eb)));
	else if (first == 0 && what == TLSIO_EOF &&
	    SSL_get_verify_result(ssl) == X509_V_OK)
		snprintf(why, sizeof(why), "connection closed by %s",
		    t->s.peer_role);
	else {
		tls_failure(ssl, first, why, sizeof(why));
		tls_err = 1;
	}
	if (!t->tls_up)
		tunnel_set_reason(t, "TLS handshake with %s failed: %s",
		    t->peer, why);
	else if (tls_err)
		tunnel_set_reason(t, "TLS error from %s: %s", t->peer, why);
	else if (what == TLSIO_ERROR)
		tunnel_set_reason(t, "connection to %s: %s", t->peer, why);
	else
		tunnel_set_reason(t, "connection closed by %s", t->peer);
}

/* The connection ended; the records before the end went through
 * tunnel_tls_on_input() already. */
static void
tunnel_tls_on_down(int what, void *arg)
{
	struct tunnel *t = arg;

	if (t->state >= TUNNEL_CLOSING) {
		tunnel_dead(t);
		return;
	}
	/* close_notify right after a GOAWAY (a peer that drained with
	 * nothing open) is an orderly end, not a lost tunnel. */
	if (what == TLSIO_EOF && tlsio_ssl_error(t->tio) == 0 &&
	    t->mux != NULL && mux_is_going_away(t->mux)) {
		tunnel_set_reason(t, "closed by %s", t->peer);
		tunnel_dead(t);
		return;
	}
	t->lost = 1;
	tunnel_down_reason(t, what);
	if (!t->tls_up && t->s.server) {
		tunnel_linger(t);
		return;
	}
	tunnel_dead(t);
}

static void
tunnel_abort_streams(struct tunnel *t)
{
	struct pump *p;

	for (p = TAILQ_FIRST(&t->pumps); p != NULL; p = pump_list_next(p))
		if (!pump_is_done(p))
			pump_abort(p);
	if (t->npumps > 0)
		event_active(t->gc, EV_TIMEOUT, 0);
}

void
tunnel_drain(struct tunnel *t, uint32_t code, const char *text)
{
	if (t->state == TUNNEL_HANDSHAKE || t->state == TUNNEL_HELLO) {
		tunnel_close(t, code, text);
		return;
	}
	if (t->state != TUNNEL_READY)
		return;
	if (!mux_is_going_away(t->mux))
		(void)mux_goaway(t->mux, code, text);
	tunnel_timer_in(t, t->timer, t->s.shutdown_ms);
	tunnel_set_state(t, TUNNEL_DRAINING);
	event_active(t->gc, EV_TIMEOUT, 0);	/* nothing open: close now */
}

void
tunnel_close(struct tunnel *t, uint32_t code, const char *why)
{
	if (t->state >= TUNNEL_CLOSING)
		return;
	tunnel_set_reason(t, "%s", why);
	if (t->mux != NULL && !mux_is_going_away(t->mux))
		(void)mux_goaway(t->mux, code, why);
	tunnel_abort_streams(t);
	event_del(t->ping);
	event_del(t->tick);
	event_del(t->probe);
	event_del(t->timer);
	tunnel_set_state(t, TUNNEL_CLOSING);
	tunnel_timer_in(t, t->timer, t->s.close_wait_ms);
	/* A peer that stopped answering will not answer our close_notify
	 * either: waiting for it would only delay what comes next. */
	if (t->tio == NULL || t->mux == NULL || code == MUX_CODE_TIMEOUT) {
		tunnel_fill(t);		/* the GOAWAY, as far as it goes */
		tunnel_dead(t);
		return;
	}
	event_active(t->flush, EV_TIMEOUT, 0);
}

/* The connection is gone (or must go now): no more I/O. */
static void
tunnel_dead(struct tunnel *t)
{
	if (t->state == TUNNEL_DEAD)
		return;
	tunnel_abort_streams(t);
	if (t->tio != NULL)
		tlsio_stop(t->tio);	/* writes e.g. our alert */
	event_del(t->ping);
	event_del(t->tick);
	event_del(t->probe);
	event_del(t->timer);
	event_del(t->flush);
	if (t->linger != NULL)
		event_del(t->linger);
	tunnel_set_reason(t, "closed");
	tunnel_set_state(t, TUNNEL_DEAD);
}

int
tunnel_stream_open(struct tunnel *t, int fd, const char *service,
    const struct mux_peer *client, const char *label, void *tag, char *err,
    size_t errlen)
{
	struct pump *p;
	uint32_t sid = 0;
	int e;

	if (t->state != TUNNEL_READY || t->mux == NULL) {
		snprintf(err, errlen, "tunnel is %s",
		    tunnel_state_name(t->state));
		pump_set_rst(fd);
		close(fd);
		return -1;
	}
	if ((p = pump_new(t->base, fd, t->mux, label, tunnel_pump_done,
	    t)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if ((e = mux_stream_open(t->mux, service, client, p, &sid)) < 0) {
		snprintf(err, errlen, "%s", mux_strerror(e));
		pump_abort(p);
		pump_free(p);
		return -1;
	}
	pump_set_stream(p, sid);
	pump_set_tag(p, tag);
	pump_list_insert(&t->pumps, p);
	t->npumps++;
	/* The opener may send before the answer (PROTOCOL.md 3). */
	pump_start(p, 1);
	return 0;
}

int
tunnel_stream_accept(struct tunnel *t, uint32_t sid, int fd,
    const char *label, void *tag, int read_now, uint64_t idle_ms)
{
	struct pump *p;
	int e;

	if (t->mux == NULL || t->state >= TUNNEL_CLOSING) {
		pump_set_rst(fd);
		close(fd);
		return -1;
	}
	if ((p = pump_new(t->base, fd, t->mux, label, tunnel_pump_done,
	    t)) == NULL) {
		(void)mux_stream_refuse(t->mux, sid, MUX_CODE_INTERNAL,
		    "out of memory");
		return -1;
	}
	pump_set_stream(p, sid);
	if ((e = mux_stream_accept(t->mux, sid, p)) < 0) {
		log_debug("tunnel", "%s: accept: %s", label, mux_strerror(e));
		pump_abort(p);
		pump_free(p);
		return -1;
	}
	pump_set_tag(p, tag);
	pump_set_idle_limit(p, idle_ms);
	pump_list_insert(&t->pumps, p);
	t->npumps++;
	pump_start(p, read_now);
	return 0;
}

void
tunnel_free(struct tunnel *t)
{
	struct pump *p;

	if (t == NULL)
		return;
	tunnel_abort_streams(t);
	mux_free(t->mux);	/* after the abort: no pump left to call */
	while ((p = TAILQ_FIRST(&t->pumps)) != NULL) {
		pump_list_remove(&t->pumps, p);
		pump_free(p);
	}
	tlsio_free(t->tio);
	if (t->timer != NULL)
		event_free(t->timer);
	if (t->ping != NULL)
		event_free(t->ping);
	if (t->tick != NULL)
		event_free(t->tick);
	if (t->probe != NULL)
		event_free(t->probe);
	if (t->flush != NULL)
		event_free(t->flush);
	if (t->gc != NULL)
		event_free(t->gc);
	if (t->linger != NULL)
		event_free(t->linger);
	if (t->pack != NULL)
		evbuffer_free(t->pack);
	free(t);
}

const char *
tunnel_reason(const struct tunnel *t)
{
	return t->reason;
}

int
tunnel_was_lost(const struct tunnel *t)
{
	return t->lost;
}

int
tunnel_tls_done(const struct tunnel *t)
{
	return t->tls_up;
}

enum tunnel_state
tunnel_state(const struct tunnel *t)
{
	return t->state;
}

void
tunnel_set_name(struct tunnel *t, const char *name)
{
	snprintf(t->name, sizeof(t->name), "%s", name);
	if (t->mux != NULL)
		mux_set_label(t->mux, t->name);
}

const char *
tunnel_name(const struct tunnel *t)
{
	return t->name;
}

const char *
tunnel_peer(const struct tunnel *t)
{
	return t->peer;
}

struct pump *
tunnel_last_pump(const struct tunnel *t)
{
	/* Both constructors insert at the tail. */
	return TAILQ_LAST(&t->pumps, pump_list);
}

struct mux *
tunnel_mux(const struct tunnel *t)
{
	return t->mux;
}

SSL *
tunnel_ssl(const struct tunnel *t)
{
	return t->tio != NULL ? tlsio_ssl(t->tio) : NULL;
}

size_t
tunnel_nstreams(const struct tunnel *t)
{
	return t->npumps;
}

uint64_t
tunnel_up_ms(const struct tunnel *t)
{
	return t->up_ms;
}
