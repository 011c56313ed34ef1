/*
 * agent_tunnel.c — the agent's connection to the relay: what only the agent
 * does on top of the common tunnel (common/io/tunnel.c): dial (resolve,
 * connect, within timeouts.handshake), present the token when the agent has
 * one (AUTH, right after our HELLO), register the services once the
 * relay's HELLO arrived (and again, with backoff, those it refused), open
 * the target of each stream the relay opens, and say why the tunnel ended so
 * that agent.c can reconnect with backoff.
 */
#include "agent.h"

#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/bufferevent.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/util.h>
#include <openssl/crypto.h>

#include <openssl/rand.h>
#include <openssl/x509.h>

#include "frame.h"
#include "log.h"
#include "mux.h"
#include "tls.h"
#include "tunnel.h"

static void	agent_tunnel_conn_cb(struct bufferevent *, short, void *);
static void	agent_tunnel_on_control(struct tunnel *, const struct mux_ctl *,
		    void *);
static void	agent_tunnel_on_open(struct tunnel *, uint32_t, const char *,
		    const struct mux_peer *, void *);
static void	agent_tunnel_on_state(struct tunnel *, enum tunnel_state,
		    void *);
static void	agent_tunnel_on_stream_gone(struct tunnel *, void *, void *);
static void	agent_tunnel_lost(struct agent_tunnel *);

static const struct tunnel_callbacks agent_tunnel_cb = {
	.control = agent_tunnel_on_control,
	.stream_open = agent_tunnel_on_open,
	.state = agent_tunnel_on_state,
	.stream_gone = agent_tunnel_on_stream_gone,
};

/* The first cause wins: later errors are consequences. */
static void LOG_PRINTF(2, 3)
agent_tunnel_reason(struct agent_tunnel *at, const char *fmt, ...)
{
	va_list ap;

	if (at->reason[0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(at->reason, sizeof(at->reason), fmt, ap);
	va_end(ap);
}

int
agent_tunnel_is_ready(const struct agent_tunnel *at)
{
	return at->tun != NULL && tunnel_state(at->tun) == TUNNEL_READY;
}

static void
agent_tunnel_abort_streams(struct agent_tunnel *at)
{
	struct agent_stream *s;

	TAILQ_FOREACH(s, &at->streams, entry)
		agent_stream_abort(s);
	agent_gc(at->agent);
}

static void
agent_tunnel_dial_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct agent_tunnel *at = arg;

	(void)fd;
	(void)what;
	agent_tunnel_reason(at, "no answer within timeouts.handshake "
	    "(%llu ms)", (unsigned long long)at->agent->cfg->handshake_timeout_ms);
	agent_tunnel_lost(at);
}

static void	agent_tunnel_reg_cb(evutil_socket_t, short, void *);

/*
 * Read the token of tls.token_file, afresh for every connection (a renewed
 * token is picked up without a restart).  A token is a credential: like a
 * key, the file must be a regular file no one but its owner may read.
 * Trailing white space (a final newline) is dropped.  0, or -1 with err.
 */
static int
agent_tunnel_read_token(const char *path, char **out, size_t *outlen,
    char *err, size_t errlen)
{
	char *buf = NULL;
	struct stat st;
	ssize_t n;
	size_t len = 0, cap = FRAME_TOKEN_MAX + 2, i;
	int fd, r = -1;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0 ||
	    fstat(fd, &st) != 0) {
		snprintf(err, errlen, "tls.token_file %s: %s", path,
		    strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode) || (st.st_mode & (S_IRWXG | S_IRWXO))) {
		snprintf(err, errlen, "tls.token_file %s: %s", path,
		    !S_ISREG(st.st_mode) ? "not a regular file" :
		    "group or others may access it; chmod 600 it");
		goto out;
	}
	if ((buf = malloc(cap)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	while (len < cap && (n = read(fd, buf + len, cap - len)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(err, errlen, "tls.token_file %s: %s", path,
			    strerror(errno));
			goto out;
		}
		len += (size_t)n;
	}
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r' ||
	    buf[len - 1] == ' ' || buf[len - 1] == '\t'))
		len--;
	for (i = 0; i < len && (buf[i] == '.' || buf[i] == '-' ||
	    buf[i] == '_' || (buf[i] >= '0' && buf[i] <= '9') ||
	    (buf[i] >= 'A' && buf[i] <= 'Z') || (buf[i] >= 'a' &&
	    buf[i] <= 'z')); i++)
		;
	if (len == 0 || len > FRAME_TOKEN_MAX || i != len) {
		snprintf(err, errlen, "tls.token_file %s: %s", path,
		    len == 0 ? "empty" : len > FRAME_TOKEN_MAX ?
		    "longer than a token may be" : "not a token (a JWT has "
		    "only letters, digits, '-', '_' and '.')");
		goto out;
	}
	*out = buf;
	*outlen = len;
	buf = NULL;
	r = 0;
out:
	if (buf != NULL)
		OPENSSL_clear_free(buf, cap);
	if (fd >= 0)
		close(fd);
	return r;
}

/* Send the token (once, right after our HELLO) and forget it. */
static void
agent_tunnel_send_token(struct agent_tunnel *at)
{
	struct mux_ctl c;

	if (at->token == NULL)
		return;
	memset(&c, 0, sizeof(c));
	c.type = MUX_CTL_AUTH;
	c.token = at->token;
	c.token_len = at->token_len;
	(void)mux_send_ctl(tunnel_mux(at->tun), &c);
	OPENSSL_clear_free(at->token, FRAME_TOKEN_MAX + 2);
	at->token = NULL;
}

struct agent_tunnel *
agent_tunnel_new(struct agent *a)
{
	const struct agent_config *cfg = a->cfg;
	struct agent_tunnel *at;
	struct timeval tv;
	const char *sn;
	char err[512];

	if ((at = calloc(1, sizeof(*at))) == NULL)
		return NULL;
	at->agent = a;
	TAILQ_INIT(&at->streams);
	TAILQ_INIT(&at->refused);
	agent_relay_str(cfg, at->relay, sizeof(at->relay));
	snprintf(at->peer, sizeof(at->peer), "relay %s", at->relay);
	if ((at->dial_timer = evtimer_new(a->base,
	    agent_tunnel_dial_timeout_cb, at)) == NULL ||
	    (at->reg_timer = evtimer_new(a->base, agent_tunnel_reg_cb,
	    at)) == NULL) {
		agent_tunnel_free(at);
		return NULL;
	}
	if (cfg->tls_token_file != NULL && agent_tunnel_read_token(
	    cfg->tls_token_file, &at->token, &at->token_len, err,
	    sizeof(err)) != 0) {
		agent_tunnel_reason(at, "%s", err);
		agent_tunnel_lost(at);
		return at;
	}
	sn = cfg->tls_server_name != NULL ? cfg->tls_server_name :
	    cfg->relay.host;
	if ((at->ssl = tls_ssl_new_client(a->ctx, sn, err,
	    sizeof(err))) == NULL) {
		agent_tunnel_reason(at, "%s", err);
		agent_tunnel_lost(at);
		return at;
	}
	/* A socket bufferevent resolves and connects; the socket then goes
	 * to the tunnel (agent_tunnel_connected). */
	if ((at->conn = bufferevent_socket_new(a->base, -1, 0)) == NULL) {
		agent_tunnel_reason(at, "out of memory");
		agent_tunnel_lost(at);
		return at;
	}
	bufferevent_setcb(at->conn, NULL, NULL, agent_tunnel_conn_cb, at);
	tv.tv_sec = (time_t)(cfg->handshake_timeout_ms / 1000);
	tv.tv_usec = (suseconds_t)(cfg->handshake_timeout_ms % 1000) * 1000;
	evtimer_add(at->dial_timer, &tv);
	log_debug("tunnel", "connecting to relay %s", at->relay);
	/* May call agent_tunnel_conn_cb before returning. */
	if (bufferevent_socket_connect_hostname(at->conn, a->dns, AF_UNSPEC,
	    cfg->relay.host, cfg->relay.port) != 0 && !at->dead &&
	    at->tun == NULL) {
		agent_tunnel_reason(at, "connection failed");
		agent_tunnel_lost(at);
	}
	return at;
}

static void
agent_tunnel_settings(const struct agent_config *cfg,
    struct tunnel_settings *s)
{
	memset(s, 0, sizeof(*s));
	s->server = 0;
	s->role = MUX_ROLE_AGENT;
	s->mux.stream_window = cfg->stream_window;
	s->mux.tunnel_window = cfg->tunnel_window;
	s->mux.max_frame = cfg->max_frame;
	s->mux.max_streams = cfg->max_streams;
	s->mux.identity = cfg->id;
	s->mux.stream_window_max = cfg->stream_window_max;
	s->mux.hello_flags = cfg->tls_token_file != NULL ? MUX_HELLO_AUTH : 0;
	s->tunnel_buffer = cfg->tunnel_buffer;
	s->peer_role = "relay";
	s->tls_high = AGENT_TLS_HIGH;
	s->read_max = AGENT_READ_MAX;
	s->handshake_ms = cfg->handshake_timeout_ms;
	s->ping_ms = cfg->ping_interval_ms;
	s->ping_misses = cfg->ping_misses;
	s->shutdown_ms = cfg->shutdown_timeout_ms;
	s->close_wait_ms = AGENT_CLOSE_WAIT_MS;
	s->deadlines.stall_ms = cfg->stall_timeout_ms;
	s->deadlines.half_closed_ms = cfg->half_closed_timeout_ms;
}

/* TCP is up: the socket and the SSL go to a tunnel, which starts the
 * handshake (within its own deadline). */
static void
agent_tunnel_connected(struct agent_tunnel *at)
{
	const struct agent_config *cfg = at->agent->cfg;
	struct tunnel_settings s;
	int fd = (int)bufferevent_getfd(at->conn);
	SSL *ssl = at->ssl;

	/* Without BEV_OPT_CLOSE_ON_FREE the socket outlives the
	 * bufferevent (freed once this callback returns). */
	bufferevent_disable(at->conn, EV_READ | EV_WRITE);
	bufferevent_free(at->conn);
	at->conn = NULL;
	at->ssl = NULL;
	evtimer_del(at->dial_timer);
	tls_sock_tune(fd, cfg->ping_interval_ms *
	    (cfg->ping_misses ? cfg->ping_misses : 1));
	agent_tunnel_settings(cfg, &s);
	if ((at->tun = tunnel_new(at->agent->base, fd, ssl, &s,
	    &agent_tunnel_cb, at, at->peer)) == NULL) {
		agent_tunnel_reason(at, "out of memory");
		agent_tunnel_lost(at);
	}
}

/* Resolving or connecting ended. */
static void
agent_tunnel_conn_cb(struct bufferevent *bev, short what, void *arg)
{
	struct agent_tunnel *at = arg;
	int serr = EVUTIL_SOCKET_ERROR(), dnserr, fd;

	if ((what & BEV_EVENT_CONNECTED) && !at->dead) {
		agent_tunnel_connected(at);
		return;
	}
	if (at->dead)
		;	/* given up meanwhile (timeout): just clean up */
	else if ((dnserr = bufferevent_socket_get_dns_error(bev)) != 0)
		agent_tunnel_reason(at, "cannot resolve %s: %s",
		    at->agent->cfg->relay.host, evutil_gai_strerror(dnserr));
	else
		agent_tunnel_reason(at, "%s", serr != 0 && serr != EAGAIN ?
		    evutil_socket_error_to_string(serr) : "connection failed");
	if ((fd = (int)bufferevent_getfd(bev)) >= 0)
		evutil_closesocket(fd);
	bufferevent_free(bev);
	at->conn = NULL;
	agent_tunnel_lost(at);
}

void
agent_tunnel_register(struct agent_tunnel *at, const struct agent_service *svc)
{
	struct mux_ctl c;
	char reg[CFG_ID_MAX + CFG_NAME_MAX + 2];

	memset(&c, 0, sizeof(c));
	c.type = MUX_CTL_REGISTER;
	/* Private: "OWNER/NAME", no port; the relay binds none. */
	c.name = cfg_agent_reg_name(at->agent->cfg, svc, reg, sizeof(reg));
	c.port = svc->remote_port;
	c.flags = svc->private ? MUX_REG_PRIVATE : 0;
	(void)mux_send_ctl(tunnel_mux(at->tun), &c);
}

void
agent_tunnel_unregister(struct agent_tunnel *at, const char *name)
{
	struct mux_ctl c;

	memset(&c, 0, sizeof(c));
	c.type = MUX_CTL_UNREGISTER;
	c.name = name;
	(void)mux_send_ctl(tunnel_mux(at->tun), &c);
	log_info("agent", "service %s withdrawn", name);
}

/* The relay's HELLO: serving from now on. */
static void
agent_tunnel_hello(struct agent_tunnel *at)
{
	const struct agent_config *cfg = at->agent->cfg;
	size_t i;

	tunnel_ready(at->tun);
	at->up_ms = tunnel_up_ms(at->tun);
	backoff_init(&at->reg_bo, cfg->reconnect_initial_ms,
	    cfg->reconnect_max_ms);
	log_info("agent", "connected to relay %s", at->relay);
	for (i = 0; i < cfg->nservices; i++)
		agent_tunnel_register(at, &cfg->services[i]);
}

static struct agent_refused *
agent_tunnel_refused_find(struct agent_tunnel *at, const char *name)
{
	struct agent_refused *r;

	TAILQ_FOREACH(r, &at->refused, entry)
		if (strcmp(r->name, name) == 0)
			return r;
	return NULL;
}

/* The next attempt for every refused service: half the backoff's cap plus
 * a random half, so that a relay's refusal is asked again neither in a
 * tight loop nor by many agents at the same instant. */
static void
agent_tunnel_refused_arm(struct agent_tunnel *at)
{
	uint64_t cap, delay, rnd = 0;
	struct timeval tv;

	if (evtimer_pending(at->reg_timer, NULL))
		return;
	if (RAND_bytes((unsigned char *)&rnd, sizeof(rnd)) != 1)
		rnd = (uint64_t)random();
	cap = backoff_cap(&at->reg_bo);
	delay = cap / 2 + backoff_next(&at->reg_bo, rnd) / 2;
	tv.tv_sec = (time_t)(delay / 1000);
	tv.tv_usec = (suseconds_t)(delay % 1000) * 1000;
	evtimer_add(at->reg_timer, &tv);
}

/* REGISTER_ERR: said once per service and reason (a retry refused for the
 * same reason stays quiet), then asked again later. */
static void
agent_tunnel_refused(struct agent_tunnel *at, const char *name,
    const char *why)
{
	struct agent_refused *r;
	size_t n;

	if (cfg_agent_service_reg(at->agent->cfg, name) == NULL)
		return;	/* removed by a reload meanwhile */
	if ((r = agent_tunnel_refused_find(at, name)) == NULL) {
		if ((r = calloc(1, sizeof(*r))) == NULL) {
			log_warnx("agent", "service %s refused by relay: %s",
			    name, why);
			return;
		}
		/* A configured service's name: it fits. */
		n = strnlen(name, sizeof(r->name) - 1);
		memcpy(r->name, name, n);
		r->name[n] = '\0';
		TAILQ_INSERT_TAIL(&at->refused, r, entry);
	}
	if (strcmp(r->why, why) != 0) {
		log_warnx("agent", "service %s refused by relay: %s; asking "
		    "again with backoff (up to reconnect.max)", name, why);
		snprintf(r->why, sizeof(r->why), "%s", why);
	}
	agent_tunnel_refused_arm(at);
}

static void
agent_tunnel_refused_done(struct agent_tunnel *at, const char *name)
{
	struct agent_refused *r;

	if ((r = agent_tunnel_refused_find(at, name)) == NULL)
		return;
	TAILQ_REMOVE(&at->refused, r, entry);
	free(r);
	if (TAILQ_EMPTY(&at->refused)) {
		evtimer_del(at->reg_timer);
		backoff_reset(&at->reg_bo);
	}
}

static void
agent_tunnel_reg_cb(evutil_socket_t fd, short what, void *arg)
{
	struct agent_tunnel *at = arg;
	const struct agent_service *svc;
	struct agent_refused *r, *rt;

	(void)fd;
	(void)what;
	if (!agent_tunnel_is_ready(at))
		return;
	TAILQ_FOREACH_SAFE(r, &at->refused, entry, rt) {
		if ((svc = cfg_agent_service_reg(at->agent->cfg, r->name)) ==
		    NULL) {
			TAILQ_REMOVE(&at->refused, r, entry);
			free(r);
			continue;
		}
		log_debug("agent", "service %s: asking the relay again",
		    r->name);
		agent_tunnel_register(at, svc);
	}
}

void
agent_tunnel_refused_forget(struct agent_tunnel *at, const char *name)
{
	agent_tunnel_refused_done(at, name);
}

void
agent_tunnel_retry_now(struct agent_tunnel *at)
{
	if (TAILQ_EMPTY(&at->refused) || !agent_tunnel_is_ready(at))
		return;
	evtimer_del(at->reg_timer);
	backoff_reset(&at->reg_bo);
	agent_tunnel_reg_cb(-1, 0, at);
}

static void
agent_tunnel_on_control(struct tunnel *tun, const struct mux_ctl *ctl,
    void *arg)
{
	struct agent_tunnel *at = arg;
	const struct agent_config *cfg = at->agent->cfg;
	const struct agent_service *svc;
	char name[CFG_ADDR_NAME_MAX + 1], text[600], tgt[300];

	log_sanitize(name, sizeof(name), ctl->name ? ctl->name : "",
	    CFG_ADDR_NAME_MAX);
	log_sanitize(text, sizeof(text), ctl->text ? ctl->text : "", 512);
	switch (ctl->type) {
	case MUX_CTL_HELLO:
		if (tunnel_state(tun) == TUNNEL_HELLO)
			agent_tunnel_hello(at);
		break;
	case MUX_CTL_REGISTER_OK:
		agent_tunnel_refused_done(at, ctl->name);
		if ((svc = cfg_agent_service_reg(cfg, ctl->name)) == NULL)
			break;	/* removed by a reload meanwhile */
		if (svc->private) {
			log_info("agent", "service %s (%s) served privately "
			    "as %s", svc->name, cfg_addr_str(&svc->target, tgt,
			    sizeof(tgt)), name);
			break;
		}
		log_info("agent", "service %s (%s) exposed at %s:%u", name,
		    cfg_addr_str(&svc->target, tgt, sizeof(tgt)),
		    cfg->relay.host, ctl->port);
		break;
	case MUX_CTL_REGISTER_ERR:
		/* DUPLICATE: the relay holds the name for this tunnel
		 * already (two REGISTERs crossed); nothing to heal. */
		if (ctl->code == MUX_CODE_DUPLICATE)
			log_warnx("agent", "service %s refused by relay: %s",
			    name, text);
		else
			agent_tunnel_refused(at, name, text);
		break;
	case MUX_CTL_GOAWAY:
		if (ctl->code == MUX_CODE_AUTH) {
			log_warnx("agent", "relay refused this agent: %s", text);
			tunnel_set_reason(tun, "relay refused this agent: %s",
			    text);
		} else
			tunnel_set_reason(tun, "relay going away: %s%s%s",
			    mux_code_name(ctl->code), text[0] ? ": " : "",
			    text);
		tunnel_drain(tun, MUX_CODE_NONE, "relay going away");
		break;
	default:
		break;
	}
}

static void
agent_tunnel_on_open(struct tunnel *tun, uint32_t sid, const char *service,
    const struct mux_peer *client, void *arg)
{
	(void)tun;
	agent_stream_open(arg, sid, service, client);
}

/* A stream's pump is gone; its tag is its record (agent_admin.c). */
static void
agent_tunnel_on_stream_gone(struct tunnel *tun, void *tag, void *arg)
{
	struct agent_tunnel *at = arg;

	(void)tun;
	agent_admin_stream_end(at->agent, tag);
}

/*
 * The relay refused our certificate with the alert certificate_expired.
 * OpenSSL sends that alert for an expired client certificate and for a CRL
 * past its next update alike, so look at our own certificate before saying
 * which: blaming the agent's certificate for the relay's stale CRL sends
 * the operator to the wrong machine.
 */
static void
agent_tunnel_expired_alert(struct agent_tunnel *at, SSL *ssl)
{
	X509 *x = ssl != NULL ? SSL_get_certificate(ssl) : NULL;
	const ASN1_TIME *na = x != NULL ? X509_get0_notAfter(x) : NULL;
	char date[32] = "?";
	struct tm tm;

	if (na != NULL && ASN1_TIME_to_tm(na, &tm))
		strftime(date, sizeof(date), "%Y-%m-%d", &tm);
	if (na != NULL && X509_cmp_current_time(na) > 0)
		agent_tunnel_reason(at, "the relay refused this agent with "
		    "the alert certificate_expired, but our certificate %s is "
		    "valid until %s: the relay's CRL has probably passed its "
		    "next update (renew it with atlax-pki crl and reload the "
		    "relay)", at->agent->cfg->tls_cert, date);
	else
		agent_tunnel_reason(at, "the relay refused this agent: our "
		    "certificate %s expired on %s (renew it with atlax-pki "
		    "issue --force)", at->agent->cfg->tls_cert, date);
}

/* Why the tunnel ended, without repeating the relay's address that the
 * agent's own line names already. */
static void
agent_tunnel_why(struct agent_tunnel *at, struct tunnel *tun)
{
	const char *r = tunnel_reason(tun);
	char pre[sizeof(at->peer) + 32];
	size_t n;

	/* The text of OpenSSL's SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED: the
	 * tunnel keeps the reason, not the error code. */
	if (strstr(r, "alert certificate expired") != NULL) {
		agent_tunnel_expired_alert(at, tunnel_ssl(tun));
		return;
	}
	snprintf(pre, sizeof(pre), "TLS handshake with %s failed: ", at->peer);
	if (strncmp(r, pre, (n = strlen(pre))) == 0) {
		agent_tunnel_reason(at, "TLS handshake failed: %s", r + n);
		return;
	}
	snprintf(pre, sizeof(pre), "TLS error from %s: ", at->peer);
	if (strncmp(r, pre, (n = strlen(pre))) == 0) {
		agent_tunnel_reason(at, "TLS error: %s", r + n);
		return;
	}
	agent_tunnel_reason(at, "%s", r);
}

static void
agent_tunnel_on_state(struct tunnel *tun, enum tunnel_state old, void *arg)
{
	struct agent_tunnel *at = arg;

	(void)old;
	switch (tunnel_state(tun)) {
	case TUNNEL_HELLO:
		/* TLS is up and the mux built: the token goes right
		 * behind our HELLO, encrypted, before anything else. */
		agent_tunnel_send_token(at);
		break;
	case TUNNEL_CLOSING:
		agent_tunnel_abort_streams(at);
		break;
	case TUNNEL_DEAD:
		agent_tunnel_why(at, tun);
		agent_tunnel_lost(at);
		break;
	default:
		break;
	}
}

void
agent_tunnel_drain(struct agent_tunnel *at, uint32_t code, const char *why)
{
	if (at->tun == NULL) {
		agent_tunnel_reason(at, "%s", why);
		agent_tunnel_lost(at);
		return;
	}
	tunnel_drain(at->tun, code, why);
}

void
agent_tunnel_close(struct agent_tunnel *at, uint32_t code, const char *why)
{
	if (at->tun == NULL) {
		agent_tunnel_reason(at, "%s", why);
		agent_tunnel_lost(at);
		return;
	}
	tunnel_close(at->tun, code, why);
}

/* No more I/O on this tunnel: hand over to the reconnect logic. */
static void
agent_tunnel_lost(struct agent_tunnel *at)
{
	if (at->dead)
		return;
	at->dead = 1;
	agent_tunnel_abort_streams(at);
	if (at->conn != NULL)
		bufferevent_disable(at->conn, EV_READ | EV_WRITE);
	evtimer_del(at->dial_timer);
	if (at->reg_timer != NULL)
		evtimer_del(at->reg_timer);
	agent_tunnel_reason(at, "closed");
	agent_tunnel_ended(at->agent, at);
}

int
agent_tunnel_gc(struct agent_tunnel *at)
{
	struct agent_stream *s, *st;

	TAILQ_FOREACH_SAFE(s, &at->streams, entry, st) {
		if (!s->dead)
			continue;
		TAILQ_REMOVE(&at->streams, s, entry);
		agent_stream_free(s);
	}
	return at->dead;
}

void
agent_tunnel_free(struct agent_tunnel *at)
{
	struct agent_stream *s;
	struct agent_refused *r;

	if (at == NULL)
		return;

	while ((s = TAILQ_FIRST(&at->streams)) != NULL) {
		TAILQ_REMOVE(&at->streams, s, entry);
		agent_stream_free(s);
	}
	while ((r = TAILQ_FIRST(&at->refused)) != NULL) {
		TAILQ_REMOVE(&at->refused, r, entry);
		free(r);
	}
	if (at->reg_timer != NULL)
		event_free(at->reg_timer);
	tunnel_free(at->tun);
	/* Pumps freed with their tunnel never reach stream_gone. */
	agent_admin_streams_lost(at->agent, at);
	if (at->conn != NULL) {
		/* Dialling: the socket is ours to close. */
		if (bufferevent_getfd(at->conn) >= 0)
			evutil_closesocket(bufferevent_getfd(at->conn));
		bufferevent_free(at->conn);
	}
	SSL_free(at->ssl);
	if (at->dial_timer != NULL)
		event_free(at->dial_timer);
	if (at->token != NULL)
		OPENSSL_clear_free(at->token, FRAME_TOKEN_MAX + 2);
	free(at);
}
