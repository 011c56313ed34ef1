/*
 * relay_tunnel.c — one agent's TLS connection on a worker: handshake and
 * identity check, the mux and its output pacing, heartbeats, streams, and an
 * orderly close.
 *
 * States (relay.h): HANDSHAKE -> READY -> DRAINING -> CLOSING -> DEAD, with
 * shortcuts to CLOSING (errors) and DEAD (the connection is gone).  Output
 * pacing: the ciphertext queue is refilled from mux_output() only while it
 * holds less than RELAY_TLS_HIGH, so the mux's scheduler, not a socket
 * buffer, decides which stream goes next, and the frames of a loop turn
 * leave in one write.
 */
#include "relay.h"

#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "log.h"
#include "mux.h"
#include "pump.h"
#include "relay_registry.h"
#include "tls.h"
#include "tlsio.h"

static const char *const tunnel_state_names[] = {
	[TUNNEL_HANDSHAKE] = "HANDSHAKE",
	[TUNNEL_READY] = "READY",
	[TUNNEL_DRAINING] = "DRAINING",
	[TUNNEL_CLOSING] = "CLOSING",
	[TUNNEL_DEAD] = "DEAD",
};

static void	tunnel_tls_done(void *);
static void	tunnel_input(struct evbuffer *, void *);
static void	tunnel_drained(void *);
static void	tunnel_down(int, void *);
static void	tunnel_dead(struct tunnel *);
static void	tunnel_linger(struct tunnel *);

static void	tunnel_mux_control(struct mux *, const struct mux_ctl *, void *);
static void	tunnel_mux_want_output(struct mux *, void *);

static const struct tlsio_callbacks tunnel_tls_cb = {
	.up = tunnel_tls_done,
	.input = tunnel_input,
	.drained = tunnel_drained,
	.down = tunnel_down,
};

static const struct mux_callbacks tunnel_mux_cb = {
	.control = tunnel_mux_control,
	.stream_open = relay_stream_on_open,
	.stream_accepted = relay_stream_on_accepted,
	.stream_data = relay_stream_on_data,
	.stream_eof = relay_stream_on_eof,
	.stream_closed = relay_stream_on_closed,
	.stream_writable = relay_stream_on_writable,
	.want_output = tunnel_mux_want_output,
};

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
	log_debug("tunnel", "%s: %s -> %s", t->name,
	    tunnel_state_name(t->state), tunnel_state_name(s));
	t->state = s;
}

static void
tunnel_timer_in(struct tunnel *t, uint64_t ms)
{
	struct timeval tv;

	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	evtimer_add(t->timer, &tv);
}

static void
tunnel_detach(struct tunnel *t)
{
	const struct relay_config *cfg = t->conf->cfg;

	if (!t->attached)
		return;
	t->attached = 0;
	registry_detach(t->w->relay->reg, t->id, t->gen, relay_now_ms(),
	    cfg->port_grace_ms);
}

/* Refill the TLS output from the mux, up to the high watermark. */
static void
tunnel_fill(struct tunnel *t)
{
	size_t len;

	if (t->tio == NULL || t->mux == NULL || t->close_sent ||
	    t->state == TUNNEL_DEAD)
		return;
	/* Until the kernel refuses bytes (the drained callback resumes)
	 * or the mux has nothing it may send: mux_output() stops at the
	 * room it is given and asks no more (want_output) for the rest.
	 * It is called at least once: that also re-arms want_output. */
	while ((len = tlsio_queued(t->tio)) < RELAY_TLS_HIGH) {
		(void)mux_output(t->mux, t->pack, RELAY_TLS_HIGH - len);
		if (evbuffer_get_length(t->pack) == 0 ||
		    tlsio_write(t->tio, t->pack) != 0 ||	/* down follows */
		    !mux_has_output(t->mux))
			break;
	}
	if (t->state != TUNNEL_CLOSING || tlsio_queued(t->tio) != 0)
		return;
	/* Everything is out: close_notify, then FIN, and wait for the
	 * peer's close_notify or EOF. */
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
tunnel_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tunnel *t = arg;

	(void)fd;
	(void)what;
	switch (t->state) {
	case TUNNEL_HANDSHAKE:
		log_warnx("tls", "handshake with %s failed: timed out",
		    t->peer);
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
	const struct relay_config *cfg = t->conf->cfg;
	uint64_t now = relay_now_ms(), limit;

	(void)fd;
	(void)what;
	limit = cfg->ping_interval_ms * (cfg->ping_misses ?
	    cfg->ping_misses : 1);
	if (now - t->last_rx_ms >= limit) {
		log_warnx("tunnel", "%s: lost: agent silent for %llu ms",
		    t->name, (unsigned long long)(now - t->last_rx_ms));
		tunnel_close(t, MUX_CODE_TIMEOUT, "agent silent too long");
		return;
	}
	(void)mux_ping(t->mux, ++t->ping_seq);
}

static void
tunnel_drained(void *arg)
{
	tunnel_fill(arg);
}

static void
tunnel_sockopts(int fd, const struct relay_config *cfg)
{
	tls_sock_tune(fd, cfg->ping_interval_ms *
	    (cfg->ping_misses ? cfg->ping_misses : 1));
}

struct tunnel *
tunnel_new(struct relay_worker *w, int fd, const struct sockaddr *peer)
{
	struct event_base *base = w->base;
	struct tunnel *t = NULL;
	SSL *ssl = NULL;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		goto fail;
	t->w = w;
	t->conf = relay_conf_get(w->relay);
	t->gen = atomic_fetch_add(&w->relay->next_gen, 1);
	t->state = TUNNEL_HANDSHAKE;
	TAILQ_INIT(&t->streams);
	TAILQ_INIT(&t->svcs);
	relay_addr_str(peer, t->peer, sizeof(t->peer));
	snprintf(t->name, sizeof(t->name), "%s", t->peer);
	t->last_rx_ms = relay_now_ms();
	tunnel_sockopts(fd, t->conf->cfg);
	if ((t->timer = evtimer_new(base, tunnel_timer_cb, t)) == NULL ||
	    (t->ping = event_new(base, -1, EV_PERSIST, tunnel_ping_cb,
	    t)) == NULL ||
	    (t->flush = event_new(base, -1, 0, tunnel_flush_cb, t)) == NULL ||
	    (t->pack = evbuffer_new()) == NULL ||
	    (ssl = SSL_new(t->conf->ctx)) == NULL)
		goto fail;
	t->tio = tlsio_new(base, fd, ssl, 1, RELAY_TLS_HIGH, RELAY_READ_MAX,
	    &tunnel_tls_cb, t);
	ssl = NULL;	/* the tlsio owns it, and fd, even on failure */
	fd = -1;
	if (t->tio == NULL)
		goto fail;
	tunnel_timer_in(t, t->conf->cfg->handshake_timeout_ms);
	log_debug("tunnel", "%s: accepted, handshake", t->peer);
	return t;
fail:
	log_warnx("tunnel", "%s: cannot set up a tunnel (out of memory?)",
	    t != NULL ? t->peer : "?");
	SSL_free(ssl);
	if (fd >= 0)
		close(fd);
	tunnel_free(t);
	return NULL;
}

/* TLS is up: build the mux and wait for the agent's HELLO. */
static void
tunnel_tls_done(void *arg)
{
	struct tunnel *t = arg;
	const struct relay_config *cfg = t->conf->cfg;
	struct mux_settings s;
	SSL *ssl = tlsio_ssl(t->tio);

	if (tls_peer_cn(ssl, t->id, sizeof(t->id)) != 0 ||
	    !cfg_valid_id(t->id)) {
		log_warnx("tls", "handshake with %s failed: certificate has "
		    "no valid CN", t->peer);
		tunnel_dead(t);
		return;
	}
	memset(&s, 0, sizeof(s));
	s.stream_window = cfg->stream_window;
	s.tunnel_window = cfg->tunnel_window;
	s.max_frame = cfg->max_frame;
	s.max_streams = cfg->max_streams_per_agent;
	s.identity = "";
	if ((t->mux = mux_new(MUX_ROLE_RELAY, &s, &tunnel_mux_cb, t)) == NULL) {
		log_warnx("tunnel", "%s: cannot create the mux", t->peer);
		tunnel_dead(t);
		return;
	}
	log_debug("tunnel", "%s: TLS up, certificate CN %s", t->peer, t->id);
	event_active(t->flush, EV_TIMEOUT, 0);
}

/* The agent's HELLO: its id must be the certificate's CN. */
static void
tunnel_hello(struct tunnel *t, const char *claimed)
{
	struct relay *r = t->w->relay;
	const struct relay_config *cfg = t->conf->cfg;
	struct relay_cmd *cmd;
	char id[CFG_ID_MAX + 1], text[256];
	uint64_t old_gen;
	int old_w;

	log_sanitize(id, sizeof(id), claimed != NULL ? claimed : "",
	    CFG_ID_MAX);
	if (claimed == NULL || strcmp(claimed, t->id) != 0) {
		snprintf(text, sizeof(text), "agent id \"%s\" does not match "
		    "certificate CN \"%s\"", id, t->id);
		log_warnx("tunnel", "%s: refused: %s", t->peer, text);
		tunnel_close(t, MUX_CODE_AUTH, text);
		return;
	}
	if (registry_attach(r->reg, t->id, t->gen, t->w->idx,
	    cfg->max_agents, relay_now_ms(), cfg->port_grace_ms, &old_gen,
	    &old_w) != 0) {
		snprintf(text, sizeof(text), "too many agents (limit %u)",
		    cfg->max_agents);
		log_warnx("tunnel", "%s: refused %s: %s", t->peer, t->id, text);
		tunnel_close(t, MUX_CODE_LIMIT, text);
		return;
	}
	t->attached = 1;
	snprintf(t->name, sizeof(t->name), "%s", t->id);
	if (old_gen != 0 && old_w >= 0 && old_w < r->nworkers &&
	    (cmd = calloc(1, sizeof(*cmd))) != NULL) {
		cmd->type = RELAY_CMD_REPLACE;
		cmd->fd = -1;
		cmd->gen = old_gen;
		(void)relay_worker_post(r->workers[old_w], cmd);
	}
	evtimer_del(t->timer);
	tunnel_set_state(t, TUNNEL_READY);
	t->up_ms = relay_now_ms();
	if (cfg->ping_interval_ms > 0) {
		struct timeval tv = { (time_t)(cfg->ping_interval_ms / 1000),
		    (suseconds_t)(cfg->ping_interval_ms % 1000) * 1000 };
		event_add(t->ping, &tv);
	}
	log_info("tunnel", "%s: ready (from %s)", t->id, t->peer);
}

static void
tunnel_mux_control(struct mux *m, const struct mux_ctl *ctl, void *arg)
{
	struct tunnel *t = arg;
	char text[600];

	(void)m;
	switch (ctl->type) {
	case MUX_CTL_HELLO:
		if (t->state == TUNNEL_HANDSHAKE)
			tunnel_hello(t, ctl->name);
		break;
	case MUX_CTL_REGISTER:
		public_register(t, ctl->name, ctl->port);
		break;
	case MUX_CTL_UNREGISTER:
		public_unregister(t, ctl->name);
		break;
	case MUX_CTL_GOAWAY:
		log_sanitize(text, sizeof(text), ctl->text ? ctl->text : "",
		    512);
		log_info("tunnel", "%s: agent going away: %s%s%s", t->name,
		    mux_code_name(ctl->code), text[0] ? ": " : "", text);
		if (ctl->code == MUX_CODE_NONE ||
		    ctl->code == MUX_CODE_SHUTDOWN)
			tunnel_drain(t, MUX_CODE_NONE, "agent going away");
		break;
	default:
		break;
	}
}

static void
tunnel_mux_want_output(struct mux *m, void *arg)
{
	struct tunnel *t = arg;

	(void)m;
	/* Later in this loop iteration: batches frames into one write. */
	event_active(t->flush, EV_TIMEOUT, 0);
}

static void
tunnel_input(struct evbuffer *in, void *arg)
{
	struct tunnel *t = arg;
	int r;

	if (t->mux == NULL || t->state >= TUNNEL_CLOSING) {
		evbuffer_drain(in, evbuffer_get_length(in));
		return;
	}
	t->last_rx_ms = relay_now_ms();
	r = mux_input(t->mux, in);
	if (r < 0 && mux_is_fatal(r)) {
		if (r != MUX_EGOAWAY && t->state < TUNNEL_CLOSING)
			log_warnx("tunnel", "%s: lost: %s", t->name,
			    mux_strerror(r));
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
		if (n > 0 && (t->lingered += (size_t)n) < RELAY_LINGER_MAX)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		break;
	}
	tunnel_dead(t);
}

/* A failed handshake: OpenSSL has written its alert.  Closing now, with the
 * agent's first bytes unread, would send a TCP reset that can destroy the
 * alert before the agent reads it; so send FIN and read until the agent
 * closes too (bounded in time and bytes). */
static void
tunnel_linger(struct tunnel *t)
{
	int fd = tlsio_fd(t->tio);

	tlsio_stop(t->tio);	/* writes the alert */
	tunnel_set_state(t, TUNNEL_CLOSING);
	evtimer_del(t->timer);
	if (fd < 0 || (t->linger = event_new(t->w->base, fd,
	    EV_READ | EV_PERSIST, tunnel_linger_cb, t)) == NULL ||
	    event_add(t->linger, NULL) != 0) {
		tunnel_dead(t);
		return;
	}
	(void)shutdown(fd, SHUT_WR);
	tunnel_timer_in(t, RELAY_CLOSE_WAIT_MS);
}

/* The connection ended; the records that came before the end went through
 * tunnel_input() already. */
static void
tunnel_down(int what, void *arg)
{
	struct tunnel *t = arg;
	unsigned long first = tlsio_ssl_error(t->tio);
	int serr = tlsio_sys_error(t->tio);
	char why[256];

	if (t->state == TUNNEL_CLOSING || t->state == TUNNEL_DEAD) {
		tunnel_dead(t);
		return;
	}
	if (first == 0 && what == TLSIO_ERROR && serr != 0)
		snprintf(why, sizeof(why), "%s", strerror(serr));
	else if (first == 0 && what == TLSIO_EOF &&
	    SSL_get_verify_result(tlsio_ssl(t->tio)) == X509_V_OK)
		snprintf(why, sizeof(why), "connection closed by %s",
		    t->mux == NULL ? "peer" : "agent");
	else
		tls_failure(tlsio_ssl(t->tio), first, why, sizeof(why));
	if (t->mux == NULL) {
		log_warnx("tls", "handshake with %s failed: %s", t->peer, why);
		tunnel_linger(t);
		return;
	}
	log_info("tunnel", "%s: lost: %s", t->name, why);
	tunnel_dead(t);
}

void
tunnel_drain(struct tunnel *t, uint32_t code, const char *text)
{
	if (t->state != TUNNEL_READY) {
		if (t->state == TUNNEL_HANDSHAKE)
			tunnel_close(t, code, text);
		return;
	}
	tunnel_set_state(t, TUNNEL_DRAINING);
	if (!mux_is_going_away(t->mux))
		(void)mux_goaway(t->mux, code, text);
	public_close_all(t);
	tunnel_timer_in(t, t->conf->cfg->shutdown_timeout_ms);
	relay_worker_gc(t->w);
}

void
tunnel_close(struct tunnel *t, uint32_t code, const char *why)
{
	if (t->state >= TUNNEL_CLOSING)
		return;
	if (t->mux != NULL && !mux_is_going_away(t->mux))
		(void)mux_goaway(t->mux, code, why);
	relay_stream_abort_all(t);
	public_close_all(t);
	tunnel_detach(t);
	tunnel_set_state(t, TUNNEL_CLOSING);
	event_del(t->ping);
	evtimer_del(t->timer);
	tunnel_timer_in(t, RELAY_CLOSE_WAIT_MS);
	if (t->tio == NULL || t->mux == NULL) {
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
	if (t->state == TUNNEL_CLOSING && t->mux != NULL)
		log_info("tunnel", "%s: closed", t->name);
	relay_stream_abort_all(t);
	public_close_all(t);
	tunnel_detach(t);
	tunnel_set_state(t, TUNNEL_DEAD);
	if (t->tio != NULL)
		tlsio_stop(t->tio);
	event_del(t->ping);
	evtimer_del(t->timer);
	event_del(t->flush);
	if (t->linger != NULL)
		event_del(t->linger);
	relay_worker_gc(t->w);
}

int
tunnel_gc(struct tunnel *t)
{
	relay_stream_gc(t, 0);
	if (t->state == TUNNEL_DRAINING && TAILQ_EMPTY(&t->streams))
		tunnel_close(t, MUX_CODE_NONE, "drained");
	return t->state == TUNNEL_DEAD;
}

void
tunnel_free(struct tunnel *t)
{
	if (t == NULL)
		return;
	relay_stream_abort_all(t);
	public_close_all(t);
	tunnel_detach(t);
	mux_free(t->mux);	/* after the abort: no sarg left to call */
	relay_stream_gc(t, 1);
	tlsio_free(t->tio);
	if (t->timer != NULL)
		event_free(t->timer);
	if (t->ping != NULL)
		event_free(t->ping);
	if (t->flush != NULL)
		event_free(t->flush);
	if (t->linger != NULL)
		event_free(t->linger);
	if (t->pack != NULL)
		evbuffer_free(t->pack);
	relay_conf_put(t->conf);
	free(t);
}
