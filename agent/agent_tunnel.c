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
#include <event2/bufferevent_ssl.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/util.h>

#include "log.h"
#include "mux.h"
#include "tls.h"

static const char *const atun_state_names[] = {
	[ATUN_CONNECTING] = "CONNECTING",
	[ATUN_HELLO] = "HELLO",
	[ATUN_READY] = "READY",
	[ATUN_DRAINING] = "DRAINING",
	[ATUN_CLOSING] = "CLOSING",
	[ATUN_DEAD] = "DEAD",
};

static void	atun_read_cb(struct bufferevent *, void *);
static void	atun_write_cb(struct bufferevent *, void *);
static void	atun_event_cb(struct bufferevent *, short, void *);
static void	atun_lost(struct agent_tunnel *);

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
	struct evbuffer *out;
	size_t len;

	if (t->bev == NULL || t->mux == NULL || t->close_sent)
		return;
	out = bufferevent_get_output(t->bev);
	len = evbuffer_get_length(out);
	if (len < AGENT_TLS_HIGH) {
		(void)mux_output(t->mux, t->pack, AGENT_TLS_HIGH - len);
		if (tls_pack(out, t->pack) != 0)
			evbuffer_add_buffer(out, t->pack);	/* unpacked */
	}
	if (t->state != ATUN_CLOSING || evbuffer_get_length(out) != 0)
		return;
	/* All encrypted: close_notify ourselves (libevent 2.1 does not),
	 * FIN once it is out. */
	t->close_sent = 1;
	tls_link_close_notify(t->link);
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
	SSL *ssl;

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
	if ((ssl = tls_ssl_new_client(a->ctx, sn, err, sizeof(err))) == NULL) {
		atun_reason(t, "%s", err);
		atun_lost(t);
		return t;
	}
	/* libevent moves 16 KiB per callback by default: far too little
	 * for a tunnel carrying many streams. */
	t->link = tls_link_new(a->base, -1, ssl, BUFFEREVENT_SSL_CONNECTING,
	    AGENT_TLS_HIGH);
	if (t->link == NULL) {
		atun_reason(t, "out of memory");
		atun_lost(t);
		return t;
	}
	t->bev = tls_link_bev(t->link);
	bufferevent_setcb(t->bev, atun_read_cb, atun_write_cb, atun_event_cb,
	    t);
	bufferevent_setwatermark(t->bev, EV_WRITE, AGENT_TLS_HIGH / 2, 0);
	bufferevent_enable(t->bev, EV_READ | EV_WRITE);
	atun_timer_in(t, cfg->handshake_timeout_ms);
	log_debug("tunnel", "connecting to relay %s", t->relay);
	/* May call atun_event_cb before returning (numeric address). */
	if (bufferevent_socket_connect_hostname(tls_link_socket(t->link),
	    a->dns, AF_UNSPEC,
	    cfg->relay.host, cfg->relay.port) != 0) {
		atun_reason(t, "connect to relay %s failed", t->relay);
		atun_lost(t);
	}
	return t;
}

static void
atun_tls_done(struct agent_tunnel *t)
{
	const struct agent_config *cfg = t->agent->cfg;
	struct mux_settings s;
	int fd;

	if (tls_link_up(t->link) != 0)
		log_warnx("tunnel", "relay %s: out of memory: reading in small "
		    "bites", t->relay);
	if ((fd = tls_link_fd(t->link)) >= 0)
		tls_sock_tune(fd, cfg->ping_interval_ms *
		    (cfg->ping_misses ? cfg->ping_misses : 1));
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
	if (evbuffer_get_length(bufferevent_get_input(t->bev)) > 0)
		atun_read_cb(t->bev, t);
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
atun_read_cb(struct bufferevent *bev, void *arg)
{
	struct agent_tunnel *t = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	int r;

	/* Bytes decrypted before CONNECTED wait for atun_tls_done(). */
	if (t->mux == NULL && t->state == ATUN_CONNECTING)
		return;
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

static void
atun_write_cb(struct bufferevent *bev, void *arg)
{
	(void)bev;
	atun_fill(arg);
}

/* Did TCP ever connect?  (getpeername fails with ENOTCONN if not.) */
static int
atun_tcp_up(struct agent_tunnel *t)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int fd = tls_link_fd(t->link);

	return fd >= 0 && getpeername(fd, (struct sockaddr *)&ss, &len) == 0;
}

static void
atun_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct agent_tunnel *t = arg;
	int serr = EVUTIL_SOCKET_ERROR(), dnserr;
	unsigned long e, first = 0;
	char why[256];

	if (what & BEV_EVENT_CONNECTED) {
		atun_tls_done(t);
		return;
	}
	/* The filter reports the end before the records that came with it:
	 * the relay's last frames (a GOAWAY) go first. */
	if (t->mux != NULL && t->state < ATUN_CLOSING &&
	    evbuffer_get_length(bufferevent_get_input(bev)) > 0)
		atun_read_cb(bev, t);
	/* libevent also queues SSL_get_error() values (lib 0): skip them. */
	while ((e = bufferevent_get_openssl_error(bev)) != 0)
		if (first == 0 && ERR_GET_LIB(e) != 0)
			first = e;
	if (t->state >= ATUN_CLOSING) {
		atun_lost(t);
		return;
	}
	if ((dnserr = bufferevent_socket_get_dns_error(
	    tls_link_socket(t->link))) != 0)
		atun_reason(t, "cannot resolve relay %s: %s", t->relay,
		    evutil_gai_strerror(dnserr));
	else if (first != 0 || (t->state == ATUN_CONNECTING &&
	    SSL_get_verify_result(bufferevent_openssl_get_ssl(bev)) !=
	    X509_V_OK)) {
		tls_failure(bufferevent_openssl_get_ssl(bev), first, why,
		    sizeof(why));
		if (t->state == ATUN_CONNECTING)
			atun_reason(t, "TLS handshake with relay %s failed: %s",
			    t->relay, why);
		else
			atun_reason(t, "TLS error from relay %s: %s", t->relay,
			    why);
	} else if (t->state == ATUN_CONNECTING && !atun_tcp_up(t))
		/* Dirty shutdowns are allowed, so a refused connect shows up
		 * as EOF: say what it was. */
		atun_reason(t, "connect to relay %s: %s", t->relay,
		    serr != 0 && serr != EAGAIN ?
		    evutil_socket_error_to_string(serr) : "connection failed");
	else if ((what & BEV_EVENT_ERROR) && serr != 0)
		atun_reason(t, "%s relay %s: %s", t->state == ATUN_CONNECTING ?
		    "connect to" : "connection to", t->relay,
		    evutil_socket_error_to_string(serr));
	else if (what & BEV_EVENT_TIMEOUT)
		atun_reason(t, "relay %s timed out", t->relay);
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
	if (t->bev == NULL || t->mux == NULL || code == MUX_CODE_TIMEOUT) {
		atun_lost(t);
		return;
	}
	bufferevent_setwatermark(t->bev, EV_WRITE, 0, 0);
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
	if (t->link != NULL)
		tls_link_stop(t->link);	/* writes e.g. our alert */
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
	tls_link_free(t->link);
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
