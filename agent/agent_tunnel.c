/*
 * agent_tunnel.c — the agent's one TLS connection to the relay: dial,
 * verify, HELLO, register the services, pace the output, heartbeats and an
 * orderly close.  States (agent.h): CONNECTING -> HELLO -> READY ->
 * DRAINING -> CLOSING -> DEAD; any failure goes to CLOSING or DEAD, and DEAD
 * hands over to agent_tunnel_ended() (reconnect with backoff).
 */
#include "agent.h"

#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/util.h>

#include "log.h"
#include "mux.h"
#include "tls.h"
#include "tlsio.h"

static const char *const atun_state_names[] = {
	[ATUN_CONNECTING] = "CONNECTING",
	[ATUN_HELLO] = "HELLO",
	[ATUN_READY] = "READY",
	[ATUN_DRAINING] = "DRAINING",
	[ATUN_CLOSING] = "CLOSING",
	[ATUN_DEAD] = "DEAD",
};

static void	atun_conn_cb(struct bufferevent *, short, void *);
static void	atun_tls_done(void *);
static void	atun_input(struct evbuffer *, void *);
static void	atun_drained(void *);
static void	atun_down(int, void *);
static void	atun_lost(struct agent_tunnel *);

static const struct tlsio_callbacks atun_tls_cb = {
	.up = atun_tls_done,
	.input = atun_input,
	.drained = atun_drained,
	.down = atun_down,
};

static void	atun_mux_control(struct mux *, const struct mux_ctl *, void *);
static void	atun_mux_open(struct mux *, uint32_t, const char *,
		    const struct mux_peer *, void *);
static void	atun_mux_accepted(struct mux *, uint32_t, void *);
static void	atun_mux_data(struct mux *, uint32_t, struct evbuffer *,
		    void *);
static void	atun_mux_eof(struct mux *, uint32_t, void *);
static void	atun_mux_closed(struct mux *, uint32_t, uint32_t,
		    const char *, void *);
static void	atun_mux_writable(struct mux *, uint32_t, void *);
static void	atun_mux_want_output(struct mux *, void *);

static const struct mux_callbacks atun_mux_cb = {
	.control = atun_mux_control,
	.stream_open = atun_mux_open,
	.stream_accepted = atun_mux_accepted,
	.stream_data = atun_mux_data,
	.stream_eof = atun_mux_eof,
	.stream_closed = atun_mux_closed,
	.stream_writable = atun_mux_writable,
	.want_output = atun_mux_want_output,
};

static void
atun_set_state(struct agent_tunnel *t, enum atun_state s)
{
	log_debug("tunnel", "relay %s: %s -> %s", t->relay,
	    atun_state_names[t->state], atun_state_names[s]);
	t->state = s;
}

/* The first cause wins: later errors are consequences. */
static void LOG_PRINTF(2, 3)
atun_reason(struct agent_tunnel *t, const char *fmt, ...)
{
	va_list ap;

	if (t->reason[0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(t->reason, sizeof(t->reason), fmt, ap);
	va_end(ap);
}

static void
atun_timer_in(struct agent_tunnel *t, uint64_t ms)
{
	struct timeval tv;

	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	evtimer_add(t->timer, &tv);
}

int
agent_tunnel_ready(const struct agent_tunnel *t)
{
	return t->state == ATUN_READY;
}

static void
atun_abort_streams(struct agent_tunnel *t)
{
	struct agent_stream *s;

	TAILQ_FOREACH(s, &t->streams, entry)
		agent_stream_abort(s);
	agent_gc(t->agent);
}

static void
atun_fill(struct agent_tunnel *t)
{
	size_t len;

	if (t->tio == NULL || t->mux == NULL || t->close_sent ||
	    t->state == ATUN_DEAD)
		return;
	/* As tunnel_fill() in the relay: until the kernel refuses bytes or
	 * the mux has nothing it may send. */
	while ((len = tlsio_queued(t->tio)) < AGENT_TLS_HIGH) {
		(void)mux_output(t->mux, t->pack, AGENT_TLS_HIGH - len);
		if (evbuffer_get_length(t->pack) == 0 ||
		    tlsio_write(t->tio, t->pack) != 0 ||	/* down follows */
		    !mux_has_output(t->mux))
			break;
	}
	if (t->state != ATUN_CLOSING || tlsio_queued(t->tio) != 0)
		return;
	/* All out: close_notify, then FIN. */
	t->close_sent = 1;
	tlsio_close_notify(t->tio);
}

static void
atun_drained(void *arg)
{
	atun_fill(arg);
}

static void
atun_flush_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	atun_fill(arg);
}

static void
atun_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct agent_tunnel *t = arg;

	(void)fd;
	(void)what;
	switch (t->state) {
	case ATUN_CONNECTING:
	case ATUN_HELLO:
		atun_reason(t, "handshake with relay %s timed out", t->relay);
		atun_lost(t);
		break;
	case ATUN_DRAINING:
		agent_tunnel_close(t, MUX_CODE_SHUTDOWN, "shutdown timeout");
		break;
	case ATUN_CLOSING:
		atun_lost(t);
		break;
	default:
		break;
	}
}

static void
atun_ping_cb(evutil_socket_t fd, short what, void *arg)
{
	struct agent_tunnel *t = arg;
	const struct agent_config *cfg = t->agent->cfg;
	uint64_t now = agent_now_ms(), limit;

	(void)fd;
	(void)what;
	limit = cfg->ping_interval_ms * (cfg->ping_misses ?
	    cfg->ping_misses : 1);
	if (now - t->last_rx_ms >= limit) {
		atun_reason(t, "relay silent for %llu ms",
		    (unsigned long long)(now - t->last_rx_ms));
		agent_tunnel_close(t, MUX_CODE_TIMEOUT, "relay silent too long");
		return;
	}
	(void)mux_ping(t->mux, ++t->ping_seq);
}

struct agent_tunnel *
agent_tunnel_new(struct agent *a)
{
	const struct agent_config *cfg = a->cfg;
	struct agent_tunnel *t;
	const char *sn;
	char err[512];

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	t->agent = a;
	t->state = ATUN_CONNECTING;
	TAILQ_INIT(&t->streams);
	agent_relay_str(cfg, t->relay, sizeof(t->relay));
	if ((t->timer = evtimer_new(a->base, atun_timer_cb, t)) == NULL ||
	    (t->ping = event_new(a->base, -1, EV_PERSIST, atun_ping_cb,
	    t)) == NULL ||
	    (t->flush = event_new(a->base, -1, 0, atun_flush_cb, t)) == NULL ||
	    (t->pack = evbuffer_new()) == NULL) {
		agent_tunnel_free(t);
		return NULL;
	}
	sn = cfg->tls_server_name != NULL ? cfg->tls_server_name :
	    cfg->relay.host;
	if ((t->ssl = tls_ssl_new_client(a->ctx, sn, err,
	    sizeof(err))) == NULL) {
		atun_reason(t, "%s", err);
		atun_lost(t);
		return t;
	}
	/* A socket bufferevent resolves and connects; the socket then goes
	 * to a tlsio (atun_conn_cb). */
	if ((t->conn = bufferevent_socket_new(a->base, -1, 0)) == NULL) {
		atun_reason(t, "out of memory");
		atun_lost(t);
		return t;
	}
	bufferevent_setcb(t->conn, NULL, NULL, atun_conn_cb, t);
	atun_timer_in(t, cfg->handshake_timeout_ms);
	log_debug("tunnel", "connecting to relay %s", t->relay);
	/* May call atun_conn_cb before returning (numeric address). */
	if (bufferevent_socket_connect_hostname(t->conn, a->dns, AF_UNSPEC,
	    cfg->relay.host, cfg->relay.port) != 0) {
		atun_reason(t, "connect to relay %s failed", t->relay);
		atun_lost(t);
	}
	return t;
}

/* TCP is up: hand the socket to a tlsio, which starts the handshake. */
static void
atun_connected(struct agent_tunnel *t)
{
	const struct agent_config *cfg = t->agent->cfg;
	int fd = (int)bufferevent_getfd(t->conn);
	SSL *ssl = t->ssl;

	/* Without BEV_OPT_CLOSE_ON_FREE the socket outlives the
	 * bufferevent (freed once this callback returns). */
	bufferevent_disable(t->conn, EV_READ | EV_WRITE);
	bufferevent_free(t->conn);
	t->conn = NULL;
	t->ssl = NULL;
	tls_sock_tune(fd, cfg->ping_interval_ms *
	    (cfg->ping_misses ? cfg->ping_misses : 1));
	if ((t->tio = tlsio_new(t->agent->base, fd, ssl, 0, AGENT_TLS_HIGH,
	    AGENT_READ_MAX, &atun_tls_cb, t)) == NULL) {
		atun_reason(t, "out of memory");
		atun_lost(t);
	}
}

/* Resolving or connecting ended. */
static void
atun_conn_cb(struct bufferevent *bev, short what, void *arg)
{
	struct agent_tunnel *t = arg;
	int serr = EVUTIL_SOCKET_ERROR(), dnserr, fd;

	if ((what & BEV_EVENT_CONNECTED) && t->state == ATUN_CONNECTING) {
		atun_connected(t);
		return;
	}
	if (t->state != ATUN_CONNECTING)
		;	/* given up meanwhile (timeout): just clean up */
	else if ((dnserr = bufferevent_socket_get_dns_error(bev)) != 0)
		atun_reason(t, "cannot resolve relay %s: %s", t->relay,
		    evutil_gai_strerror(dnserr));
	else
		atun_reason(t, "connect to relay %s: %s", t->relay,
		    serr != 0 && serr != EAGAIN ?
		    evutil_socket_error_to_string(serr) : "connection failed");
	if ((fd = (int)bufferevent_getfd(bev)) >= 0)
		evutil_closesocket(fd);
	bufferevent_free(bev);
	t->conn = NULL;
	if (t->state == ATUN_CONNECTING)
		atun_lost(t);
}

static void
atun_tls_done(void *arg)
{
	struct agent_tunnel *t = arg;
	const struct agent_config *cfg = t->agent->cfg;
	struct mux_settings s;

	memset(&s, 0, sizeof(s));
	s.stream_window = cfg->stream_window;
	s.tunnel_window = cfg->tunnel_window;
	s.max_frame = cfg->max_frame;
	s.max_streams = cfg->max_streams;
	s.identity = cfg->id;
	if ((t->mux = mux_new(MUX_ROLE_AGENT, &s, &atun_mux_cb, t)) == NULL) {
		atun_reason(t, "cannot create the mux");
		atun_lost(t);
		return;
	}
	atun_set_state(t, ATUN_HELLO);
	t->last_rx_ms = agent_now_ms();
	event_active(t->flush, EV_TIMEOUT, 0);
}

void
agent_tunnel_register(struct agent_tunnel *t, const struct agent_service *svc)
{
	struct mux_ctl c;

	memset(&c, 0, sizeof(c));
	c.type = MUX_CTL_REGISTER;
	c.name = svc->name;
	c.port = svc->remote_port;
	(void)mux_send_ctl(t->mux, &c);
}

void
agent_tunnel_unregister(struct agent_tunnel *t, const char *name)
{
	struct mux_ctl c;

	memset(&c, 0, sizeof(c));
	c.type = MUX_CTL_UNREGISTER;
	c.name = name;
	(void)mux_send_ctl(t->mux, &c);
	log_info("agent", "service %s withdrawn", name);
}

static void
atun_ready(struct agent_tunnel *t)
{
	const struct agent_config *cfg = t->agent->cfg;
	struct timeval tv;
	size_t i;

	evtimer_del(t->timer);
	atun_set_state(t, ATUN_READY);
	t->up_ms = agent_now_ms();
	log_info("agent", "connected to relay %s", t->relay);
	if (cfg->ping_interval_ms > 0) {
		tv.tv_sec = (time_t)(cfg->ping_interval_ms / 1000);
		tv.tv_usec = (suseconds_t)(cfg->ping_interval_ms % 1000) * 1000;
		event_add(t->ping, &tv);
	}
	for (i = 0; i < cfg->nservices; i++)
		agent_tunnel_register(t, &cfg->services[i]);
}

static void
atun_mux_control(struct mux *m, const struct mux_ctl *ctl, void *arg)
{
	struct agent_tunnel *t = arg;
	const struct agent_config *cfg = t->agent->cfg;
	const struct agent_service *svc;
	char name[CFG_NAME_MAX + 1], text[600], tgt[300];

	(void)m;
	log_sanitize(name, sizeof(name), ctl->name ? ctl->name : "",
	    CFG_NAME_MAX);
	log_sanitize(text, sizeof(text), ctl->text ? ctl->text : "", 512);
	switch (ctl->type) {
	case MUX_CTL_HELLO:
		if (t->state == ATUN_HELLO)
			atun_ready(t);
		break;
	case MUX_CTL_REGISTER_OK:
		if ((svc = cfg_agent_service(cfg, ctl->name)) == NULL)
			break;	/* removed by a reload meanwhile */
		log_info("agent", "service %s (%s) exposed at %s:%u", name,
		    cfg_addr_str(&svc->target, tgt, sizeof(tgt)),
		    cfg->relay.host, ctl->port);
		break;
	case MUX_CTL_REGISTER_ERR:
		log_warnx("agent", "service %s refused by relay: %s", name,
		    text);
		break;
	case MUX_CTL_GOAWAY:
		if (ctl->code == MUX_CODE_AUTH) {
			log_warnx("agent", "relay refused this agent: %s", text);
			atun_reason(t, "relay refused this agent: %s", text);
		} else
			atun_reason(t, "relay going away: %s%s%s",
			    mux_code_name(ctl->code), text[0] ? ": " : "",
			    text);
		agent_tunnel_drain(t, MUX_CODE_NONE, "relay going away");
		break;
	default:
		break;
	}
}

static void
atun_mux_open(struct mux *m, uint32_t sid, const char *service,
    const struct mux_peer *client, void *arg)
{
	struct agent_tunnel *t = arg;

	(void)client;
	if (t->state != ATUN_READY) {
		(void)mux_stream_refuse(m, sid, MUX_CODE_SHUTDOWN,
		    "agent shutting down");
		return;
	}
	agent_stream_open(t, sid, service);
}

static void
atun_mux_accepted(struct mux *m, uint32_t sid, void *sarg)
{
	(void)m;
	(void)sid;
	(void)sarg;
}

static void
atun_mux_data(struct mux *m, uint32_t sid, struct evbuffer *data, void *sarg)
{
	size_t n;

	if (sarg == NULL) {
		n = evbuffer_get_length(data);
		evbuffer_drain(data, n);
		(void)mux_stream_consumed(m, sid, n);
		return;
	}
	agent_stream_data(sarg, data);
}

static void
atun_mux_eof(struct mux *m, uint32_t sid, void *sarg)
{
	(void)m;
	(void)sid;
	if (sarg != NULL)
		agent_stream_eof(sarg);
}

static void
atun_mux_closed(struct mux *m, uint32_t sid, uint32_t code, const char *text,
    void *sarg)
{
	(void)m;
	(void)text;
	log_debug("tunnel", "stream %u closed: %s", sid, mux_code_name(code));
	if (sarg != NULL)
		agent_stream_closed(sarg, code);
}

static void
atun_mux_writable(struct mux *m, uint32_t sid, void *sarg)
{
	(void)m;
	(void)sid;
	if (sarg != NULL)
		agent_stream_writable(sarg);
}

static void
atun_mux_want_output(struct mux *m, void *arg)
{
	struct agent_tunnel *t = arg;

	(void)m;
	event_active(t->flush, EV_TIMEOUT, 0);
}

static void
atun_input(struct evbuffer *in, void *arg)
{
	struct agent_tunnel *t = arg;
	int r;

	if (t->mux == NULL || t->state >= ATUN_CLOSING) {
		evbuffer_drain(in, evbuffer_get_length(in));
		return;
	}
	t->last_rx_ms = agent_now_ms();
	r = mux_input(t->mux, in);
	if (r < 0 && mux_is_fatal(r)) {
		atun_reason(t, "%s", mux_strerror(r));
		agent_tunnel_close(t, MUX_CODE_PROTOCOL, mux_strerror(r));
	} else if (r < 0)
		log_debug("tunnel", "relay %s: %s", t->relay, mux_strerror(r));
	atun_fill(t);
}

/* The connection ended; the records that came before the end went through
 * atun_input() already. */
static void
atun_down(int what, void *arg)
{
	struct agent_tunnel *t = arg;
	unsigned long first = tlsio_ssl_error(t->tio);
	int serr = tlsio_sys_error(t->tio);
	SSL *ssl = tlsio_ssl(t->tio);
	char why[256];

	if (t->state >= ATUN_CLOSING) {
		atun_lost(t);
		return;
	}
	if (first != 0 || (t->state == ATUN_CONNECTING &&
	    SSL_get_verify_result(ssl) != X509_V_OK)) {
		tls_failure(ssl, first, why, sizeof(why));
		if (t->state == ATUN_CONNECTING)
			atun_reason(t, "TLS handshake with relay %s failed: %s",
			    t->relay, why);
		else
			atun_reason(t, "TLS error from relay %s: %s", t->relay,
			    why);
	} else if (what == TLSIO_ERROR && serr != 0)
		atun_reason(t, "connection to relay %s: %s", t->relay,
		    strerror(serr));
	else
		atun_reason(t, "connection closed by relay %s", t->relay);
	atun_lost(t);
}

void
agent_tunnel_drain(struct agent_tunnel *t, uint32_t code, const char *why)
{
	if (t->state == ATUN_CONNECTING || t->state == ATUN_HELLO) {
		atun_reason(t, "%s", why);
		agent_tunnel_close(t, code, why);
		return;
	}
	if (t->state != ATUN_READY)
		return;
	atun_set_state(t, ATUN_DRAINING);
	if (!mux_is_going_away(t->mux))
		(void)mux_goaway(t->mux, code, why);
	atun_timer_in(t, t->agent->cfg->shutdown_timeout_ms);
	agent_gc(t->agent);
}

void
agent_tunnel_close(struct agent_tunnel *t, uint32_t code, const char *why)
{
	if (t->state >= ATUN_CLOSING)
		return;
	atun_reason(t, "%s", why);
	if (t->mux != NULL && !mux_is_going_away(t->mux))
		(void)mux_goaway(t->mux, code, why);
	atun_abort_streams(t);
	atun_set_state(t, ATUN_CLOSING);
	event_del(t->ping);
	evtimer_del(t->timer);
	atun_timer_in(t, AGENT_CLOSE_WAIT_MS);
	/* A relay that stopped answering will not answer our close_notify
	 * either: waiting for it would only delay the reconnect. */
	if (t->tio == NULL || t->mux == NULL || code == MUX_CODE_TIMEOUT) {
		atun_lost(t);
		return;
	}
	event_active(t->flush, EV_TIMEOUT, 0);
}

/* No more I/O on this tunnel: hand over to the reconnect logic. */
static void
atun_lost(struct agent_tunnel *t)
{
	if (t->state == ATUN_DEAD)
		return;
	atun_abort_streams(t);
	atun_set_state(t, ATUN_DEAD);
	if (t->tio != NULL)
		tlsio_stop(t->tio);	/* writes e.g. our alert */
	if (t->conn != NULL)
		bufferevent_disable(t->conn, EV_READ | EV_WRITE);
	event_del(t->ping);
	evtimer_del(t->timer);
	event_del(t->flush);
	atun_reason(t, "closed");
	agent_tunnel_ended(t->agent, t);
}

int
agent_tunnel_gc(struct agent_tunnel *t)
{
	struct agent_stream *s, *st;

	TAILQ_FOREACH_SAFE(s, &t->streams, entry, st) {
		if (!s->dead)
			continue;
		TAILQ_REMOVE(&t->streams, s, entry);
		agent_stream_free(s);
	}
	if (t->state == ATUN_DRAINING && TAILQ_EMPTY(&t->streams))
		agent_tunnel_close(t, MUX_CODE_NONE, "drained");
	return t->state == ATUN_DEAD;
}

void
agent_tunnel_free(struct agent_tunnel *t)
{
	struct agent_stream *s;

	if (t == NULL)
		return;
	TAILQ_FOREACH(s, &t->streams, entry)
		agent_stream_abort(s);
	mux_free(t->mux);
	while ((s = TAILQ_FIRST(&t->streams)) != NULL) {
		TAILQ_REMOVE(&t->streams, s, entry);
		agent_stream_free(s);
	}
	tlsio_free(t->tio);
	if (t->conn != NULL) {
		/* Connecting: the socket is ours to close. */
		if (bufferevent_getfd(t->conn) >= 0)
			evutil_closesocket(bufferevent_getfd(t->conn));
		bufferevent_free(t->conn);
	}
	SSL_free(t->ssl);
	if (t->timer != NULL)
		event_free(t->timer);
	if (t->ping != NULL)
		event_free(t->ping);
	if (t->flush != NULL)
		event_free(t->flush);
	if (t->pack != NULL)
		evbuffer_free(t->pack);
	free(t);
}
