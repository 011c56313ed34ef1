/*
 * relay_tunnel.c — one agent's tunnel on a worker: what only the relay does
 * on top of the common tunnel (common/io/tunnel.c): the identity check (the
 * certificate's CN or a token's sub, which the agent's HELLO must name; a
 * token ends the tunnel when it expires), the registry entry
 * and the replacement of an older tunnel of the same identity, the public
 * services, and the log line that says how the tunnel ended.
 */
#include "relay.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/crypto.h>

#include "jwt.h"
#include "log.h"
#include "mux.h"
#include "relay_registry.h"
#include "relay_stats.h"
#include "tls.h"
#include "tunnel.h"

static int	relay_tunnel_on_tls_up(struct tunnel *, void *);
static void	relay_tunnel_on_control(struct tunnel *, const struct mux_ctl *,
		    void *);
static void	relay_tunnel_on_state(struct tunnel *, enum tunnel_state,
		    void *);
static void	relay_tunnel_on_stream_gone(struct tunnel *, void *, void *);
static void	relay_tunnel_on_open(struct tunnel *, uint32_t, const char *,
		    const struct mux_peer *, void *);

static const struct tunnel_callbacks relay_tunnel_cb = {
	.tls_up = relay_tunnel_on_tls_up,
	.control = relay_tunnel_on_control,
	.stream_open = relay_tunnel_on_open,	/* to private services */
	.state = relay_tunnel_on_state,
	.stream_gone = relay_tunnel_on_stream_gone,
};

const char *
relay_tunnel_name(const struct relay_tunnel *rt)
{
	return tunnel_name(rt->tun);
}

/* Out of the handshake (READY, or ended): give back its place under
 * limits.handshakes. */
static void
relay_tunnel_handshake_done(struct relay_tunnel *rt)
{
	if (!rt->handshaking)
		return;
	rt->handshaking = 0;
	atomic_fetch_sub(&rt->w->relay->handshaking, 1);
}

static void
relay_tunnel_detach(struct relay_tunnel *rt)
{
	const struct relay_config *cfg = rt->conf->cfg;

	if (!rt->attached)
		return;
	rt->attached = 0;
	relay_stats_agent_unlist(rt->w->relay->stats, rt->stats);
	registry_detach(rt->w->relay->reg, rt->id, rt->gen, relay_now_ms(),
	    cfg->port_grace_ms);
}

static void
relay_tunnel_settings(const struct relay_config *cfg,
    struct tunnel_settings *s)
{
	memset(s, 0, sizeof(*s));
	s->server = 1;
	s->role = MUX_ROLE_RELAY;
	s->mux.stream_window = cfg->stream_window;
	s->mux.tunnel_window = cfg->tunnel_window;
	s->mux.max_frame = cfg->max_frame;
	/* Agents open streams only to private services (forwards); an
	 * open beyond this is refused with LIMIT and one without a connect
	 * grant with AUTH, and both count in the flood accounting. */
	s->mux.max_streams = cfg->forward_streams;
	s->mux.identity = "";
	s->mux.stream_window_max = cfg->stream_window_max;
	s->tunnel_buffer = cfg->tunnel_buffer;
	s->peer_role = "agent";
	s->tls_high = RELAY_TLS_HIGH;
	s->read_max = RELAY_READ_MAX;
	s->handshake_ms = cfg->handshake_timeout_ms;
	s->ping_ms = cfg->ping_interval_ms;
	s->ping_misses = cfg->ping_misses;
	s->shutdown_ms = cfg->shutdown_timeout_ms;
	s->close_wait_ms = RELAY_CLOSE_WAIT_MS;
	s->deadlines.stall_ms = cfg->stall_timeout_ms;
	s->deadlines.half_closed_ms = cfg->half_closed_timeout_ms;
	s->deadlines.idle_ms = cfg->idle_timeout_ms;
}

struct relay_tunnel *
relay_tunnel_new(struct relay_worker *w, int fd, const struct sockaddr *peer)
{
	const struct relay_config *cfg;
	struct relay_tunnel *rt = NULL;
	struct tunnel_settings s;
	SSL *ssl = NULL;

	if ((rt = calloc(1, sizeof(*rt))) == NULL)
		goto fail;
	rt->w = w;
	rt->handshaking = 1;	/* counted by the accepting thread */
	rt->conf = relay_conf_get(w->relay);
	cfg = rt->conf->cfg;
	rt->gen = atomic_fetch_add(&w->relay->next_gen, 1);
	TAILQ_INIT(&rt->svcs);
	relay_addr_str(peer, rt->peer, sizeof(rt->peer));
	relay_stream_peer(peer, &rt->peer_addr);
	tls_sock_tune(fd, cfg->ping_interval_ms *
	    (cfg->ping_misses ? cfg->ping_misses : 1));
	if ((ssl = SSL_new(rt->conf->ctx)) == NULL)
		goto fail;
	relay_tunnel_settings(cfg, &s);
	rt->tun = tunnel_new(w->base, fd, ssl, &s, &relay_tunnel_cb, rt,
	    rt->peer);
	ssl = NULL;	/* the tunnel owns them, even on failure */
	fd = -1;
	if (rt->tun == NULL)
		goto fail;
	log_debug("tunnel", "%s: accepted, handshake", rt->peer);
	return rt;
fail:
	log_warnx("tunnel", "%s: cannot set up a tunnel (out of memory?)",
	    rt != NULL ? rt->peer : "?");
	if (rt == NULL)
		atomic_fetch_sub(&w->relay->handshaking, 1);
	SSL_free(ssl);
	if (fd >= 0)
		close(fd);
	relay_tunnel_free(rt);
	return NULL;
}

/* TLS is up: a certificate's CN is the identity the HELLO must name.  With
 * tokens accepted a client may have none; its HELLO must then announce a
 * token. */
static int
relay_tunnel_on_tls_up(struct tunnel *tun, void *arg)
{
	struct relay_tunnel *rt = arg;
	SSL *ssl = tunnel_ssl(tun);

	if (SSL_get0_peer_certificate(ssl) == NULL && rt->conf->jwt != NULL) {
		log_debug("tunnel", "%s: TLS up, no certificate (a token must "
		    "follow)", rt->peer);
		return 0;
	}
	if (tls_peer_cn(ssl, rt->id, sizeof(rt->id)) != 0 ||
	    !cfg_valid_id(rt->id)) {
		log_warnx("tls", "handshake with %s failed: certificate has "
		    "no valid CN", rt->peer);
		tunnel_set_reason(tun, "certificate has no valid CN");
		relay_stats_hs_failed(rt->w->relay->stats, RELAY_HS_NO_CERT);
		rt->refused = 1;
		return -1;
	}
	rt->has_cert = 1;
	log_debug("tunnel", "%s: TLS up, certificate CN %s", rt->peer, rt->id);
	return 0;
}

static void
relay_tunnel_refuse(struct relay_tunnel *rt, uint32_t code, const char *text)
{
	rt->refused = 1;
	tunnel_set_reason(rt->tun, "%s", text);
	tunnel_close(rt->tun, code, text);
}

/* Refuse with a reason that goes to the log (with the peer's address and
 * the identity it claimed) and, in the GOAWAY, to the agent. */
static void LOG_PRINTF(3, 4)
relay_tunnel_deny(struct relay_tunnel *rt, uint32_t code, const char *fmt, ...)
{
	char text[300];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	log_warnx("tunnel", "%s: refused%s%s: %s", rt->peer,
	    rt->hello_id[0] ? " " : "", rt->hello_id, text);
	if (tunnel_state(rt->tun) == TUNNEL_HELLO)
		relay_stats_hs_failed(rt->w->relay->stats, code ==
		    MUX_CODE_LIMIT ? RELAY_HS_LIMIT : RELAY_HS_BAD_HELLO);
	relay_tunnel_refuse(rt, code, text);
}

static void
relay_tunnel_expired_cb(evutil_socket_t fd, short what, void *arg)
{
	struct relay_tunnel *rt = arg;

	(void)fd;
	(void)what;
	log_info("tunnel", "%s: token expired: ending the tunnel",
	    tunnel_name(rt->tun));
	relay_tunnel_refuse(rt, MUX_CODE_AUTH, "token expired");
}

/* End the tunnel when the token passes exp (plus the leeway the verifier
 * allows, so both agree on the moment). */
static int
relay_tunnel_arm_expiry(struct relay_tunnel *rt)
{
	uint64_t now = (uint64_t)time(NULL), end;
	struct timeval tv;

	end = rt->claims->exp + rt->conf->cfg->jwt.leeway_ms / 1000;
	if ((rt->expiry = evtimer_new(rt->w->base, relay_tunnel_expired_cb,
	    rt)) == NULL)
		return -1;
	tv.tv_sec = end > now ? (time_t)(end - now) : 0;
	tv.tv_usec = 0;
	return evtimer_add(rt->expiry, &tv);
}

/* The identity is proven: register it (replacing an older tunnel of the same
 * identity) and start serving. */
static void
relay_tunnel_attach(struct relay_tunnel *rt, const char *how)
{
	struct relay *r = rt->w->relay;
	const struct relay_config *cfg = rt->conf->cfg;
	struct relay_cmd *cmd;
	uint64_t old_gen;
	int old_w;

	if (registry_attach(r->reg, rt->id, rt->gen, rt->w->idx,
	    cfg->max_agents, relay_now_ms(), cfg->port_grace_ms, &old_gen,
	    &old_w) != 0) {
		relay_tunnel_deny(rt, MUX_CODE_LIMIT, "too many agents "
		    "(limit %u)", cfg->max_agents);
		return;
	}
	rt->attached = 1;
	/* A token tunnel carries its claims (relay.h). */
	rt->stats = relay_stats_agent_new(r->stats, rt->id, rt->peer,
	    rt->claims != NULL ? "token" : "certificate", rt->gen);
	tunnel_set_name(rt->tun, rt->id);
	relay_flap_note(r, rt->id, rt->peer, old_gen != 0);
	if (old_gen != 0 && old_w >= 0 && old_w < r->nworkers &&
	    (cmd = calloc(1, sizeof(*cmd))) != NULL) {
		cmd->type = RELAY_CMD_REPLACE;
		cmd->fd = -1;
		cmd->gen = old_gen;
		relay_worker_post(r->workers[old_w], cmd);
	}
	tunnel_ready(rt->tun);
	log_info("tunnel", "%s: ready (from %s, %s)", rt->id, rt->peer, how);
}

/* The agent's HELLO names its id: the certificate's CN, and the token's sub
 * when it announces a token (which then must follow before anything else). */
static void
relay_tunnel_hello(struct relay_tunnel *rt, const char *claimed,
    uint32_t flags)
{
	char id[CFG_ID_MAX + 1];

	log_sanitize(id, sizeof(id), claimed != NULL ? claimed : "",
	    CFG_ID_MAX);
	if (claimed != NULL && strcmp(id, claimed) == 0)
		snprintf(rt->hello_id, sizeof(rt->hello_id), "%s", id);
	if (rt->has_cert && (claimed == NULL || strcmp(claimed, rt->id) != 0)) {
		relay_tunnel_deny(rt, MUX_CODE_AUTH, "agent id \"%s\" does "
		    "not match certificate CN \"%s\"", id, rt->id);
		return;
	}
	if (flags & MUX_HELLO_AUTH) {
		if (rt->conf->jwt == NULL) {
			relay_tunnel_deny(rt, MUX_CODE_AUTH, "this relay does "
			    "not accept tokens (no auth.jwt)");
			return;
		}
		if (!cfg_valid_id(id)) {
			relay_tunnel_deny(rt, MUX_CODE_AUTH, "agent id \"%s\" "
			    "is not a valid identity", id);
			return;
		}
		rt->want_token = 1;	/* the AUTH decides */
		return;
	}
	if (!rt->has_cert) {
		relay_tunnel_deny(rt, MUX_CODE_AUTH, "no client certificate "
		    "and no token");
		return;
	}
	relay_tunnel_attach(rt, "certificate");
}

/* Verify a token against conf's keys at the current time; on success *out
 * holds its claims. */
static int
relay_tunnel_verify(const struct relay_conf *conf, const char *token,
    size_t len, struct jwt_claims *out, char *why, size_t whylen)
{
	if (conf->jwt == NULL) {
		memset(out, 0, sizeof(*out));
		snprintf(why, whylen, "tokens are no longer accepted "
		    "(auth.jwt removed)");
		return JWT_E_KEY;
	}
	return jwt_verify(conf->jwt, token, len, (uint64_t)time(NULL), out,
	    why, whylen);
}

/* AUTH: the token must verify and name the HELLO's id as its sub (and the
 * certificate's CN when there is one, checked at HELLO). */
static void
relay_tunnel_auth(struct relay_tunnel *rt, const char *token, size_t len)
{
	struct jwt_claims c;
	char why[256], exp[32], jti[JWT_JTI_MAX + 1];
	time_t t;
	struct tm tm;

	memset(&c, 0, sizeof(c));
	if (!rt->want_token || tunnel_state(rt->tun) != TUNNEL_HELLO ||
	    rt->claims != NULL) {
		relay_tunnel_deny(rt, MUX_CODE_PROTOCOL, "unexpected AUTH");
		return;
	}
	rt->want_token = 0;
	if (relay_tunnel_verify(rt->conf, token, len, &c, why,
	    sizeof(why)) != JWT_OK) {
		relay_tunnel_deny(rt, MUX_CODE_AUTH, "token refused: %s", why);
		goto out;
	}
	if (strcmp(c.sub, rt->hello_id) != 0) {
		relay_tunnel_deny(rt, MUX_CODE_AUTH, "agent id \"%s\" does not "
		    "match the token's subject \"%s\"", rt->hello_id, c.sub);
		goto out;
	}
	if ((rt->claims = malloc(sizeof(*rt->claims))) == NULL ||
	    (rt->token = malloc(len)) == NULL) {
		relay_tunnel_deny(rt, MUX_CODE_INTERNAL, "out of memory");
		free(rt->claims);	/* c still owns the lists */
		rt->claims = NULL;
		goto out;
	}
	*rt->claims = c;	/* the lists move over */
	memset(&c, 0, sizeof(c));
	memcpy(rt->token, token, len);
	rt->token_len = len;
	if (relay_tunnel_arm_expiry(rt) != 0) {
		relay_tunnel_deny(rt, MUX_CODE_INTERNAL, "out of memory");
		goto out;
	}
	snprintf(rt->id, sizeof(rt->id), "%s", rt->claims->sub);
	t = (time_t)rt->claims->exp;
	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(exp, sizeof(exp), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(exp, sizeof(exp), "?");
	log_sanitize(jti, sizeof(jti), rt->claims->jti, JWT_JTI_MAX);
	snprintf(why, sizeof(why), "token%s%s%s, %s, expires %s",
	    jti[0] ? " " : "", jti,
	    rt->has_cert ? " and certificate" : "",
	    rt->claims->alg == JWT_ALG_HS256 ? "HS256" : "ES256", exp);
	relay_tunnel_attach(rt, why);
out:
	jwt_claims_free(&c);
}

static void
relay_tunnel_on_control(struct tunnel *tun, const struct mux_ctl *ctl,
    void *arg)
{
	struct relay_tunnel *rt = arg;
	char text[600];

	switch (ctl->type) {
	case MUX_CTL_HELLO:
		if (tunnel_state(tun) == TUNNEL_HELLO)
			relay_tunnel_hello(rt, ctl->name, ctl->flags);
		break;
	case MUX_CTL_AUTH:
		relay_tunnel_auth(rt, ctl->token, ctl->token_len);
		break;
	case MUX_CTL_REGISTER:
		if (ctl->flags & MUX_REG_PRIVATE)
			relay_private_register(rt, ctl->name);
		else
			relay_public_register(rt, ctl->name, ctl->port);
		break;
	case MUX_CTL_UNREGISTER:
		if (!relay_private_unregister(rt, ctl->name))
			relay_public_unregister(rt, ctl->name);
		break;
	case MUX_CTL_PONG:
		/* The mux took its RTT sample before telling us. */
		if (rt->stats != NULL)
			atomic_store(&rt->stats->rtt_us,
			    mux_rtt_us(tunnel_mux(tun)));
		break;
	case MUX_CTL_GOAWAY:
		log_sanitize(text, sizeof(text), ctl->text ? ctl->text : "",
		    512);
		log_info("tunnel", "%s: agent going away: %s%s%s",
		    tunnel_name(tun), mux_code_name(ctl->code),
		    text[0] ? ": " : "", text);
		tunnel_set_reason(tun, "agent going away: %s%s%s",
		    mux_code_name(ctl->code), text[0] ? ": " : "", text);
		if (ctl->code == MUX_CODE_NONE ||
		    ctl->code == MUX_CODE_SHUTDOWN)
			tunnel_drain(tun, MUX_CODE_NONE, "agent going away");
		break;
	default:
		break;
	}
}

/* Why a connection that never became a tunnel failed, from its reason
 * (OpenSSL's words for a client that sent no certificate). */
static enum relay_hs_fail
relay_tunnel_hs_why(const struct tunnel *tun)
{
	const char *why = tunnel_reason(tun);

	if (strstr(why, "timed out") != NULL)
		return RELAY_HS_TIMEOUT;
	if (strstr(why, "did not return a certificate") != NULL)
		return RELAY_HS_NO_CERT;
	return tunnel_tls_done(tun) ? RELAY_HS_BAD_HELLO : RELAY_HS_TLS;
}

/*
 * A handshake that failed.  With a certificate behind it (refused, or
 * accepted and then no HELLO) it is someone's agent: always said, with the
 * certificate's CN.  Without one it is most often a scanner (bytes that are
 * not TLS, TLS with no certificate, silence): a few per window, then one
 * summary line, so the journal keeps what matters.
 */
static void
relay_tunnel_log_failed(struct relay_tunnel *rt)
{
	struct tunnel *tun = rt->tun;
	const char *cn = rt->id[0] != '\0' ? rt->id :
	    tls_presented_cn(tunnel_ssl(tun));

	if (cn != NULL && cn[0] != '\0')
		log_warnx("tls", "%s (certificate CN \"%s\")",
		    tunnel_reason(tun), cn);
	else if (relay_noise_may_log(rt->w->relay))
		log_warnx("tls", "%s", tunnel_reason(tun));
}

/* How the tunnel ended, in one line. */
static void
relay_tunnel_log_end(struct relay_tunnel *rt, enum tunnel_state old)
{
	struct tunnel *tun = rt->tun;

	if (rt->refused)
		return;		/* said (and counted) when refused */
	if (!tunnel_tls_done(tun) || old == TUNNEL_HELLO ||
	    (old == TUNNEL_CLOSING && tunnel_up_ms(tun) == 0)) {
		relay_tunnel_log_failed(rt);
		relay_stats_hs_failed(rt->w->relay->stats,
		    relay_tunnel_hs_why(tun));
	} else if (tunnel_was_lost(tun))
		log_info("tunnel", "%s: lost: %s", tunnel_name(tun),
		    tunnel_reason(tun));
	else
		log_info("tunnel", "%s: closed", tunnel_name(tun));
}

static void
relay_tunnel_on_state(struct tunnel *tun, enum tunnel_state old, void *arg)
{
	struct relay_tunnel *rt = arg;

	if (tunnel_state(tun) >= TUNNEL_READY)
		relay_tunnel_handshake_done(rt);
	switch (tunnel_state(tun)) {
	case TUNNEL_DRAINING:
		relay_public_close_all(rt);
		relay_private_close_all(rt);
		break;
	case TUNNEL_CLOSING:
		relay_public_close_all(rt);
		relay_private_close_all(rt);
		relay_tunnel_detach(rt);
		break;
	case TUNNEL_DEAD:
		relay_public_close_all(rt);
		relay_private_close_all(rt);
		relay_tunnel_detach(rt);
		relay_tunnel_log_end(rt, old);
		rt->dead = 1;
		relay_worker_gc(rt->w);
		break;
	default:
		break;
	}
}

static void
relay_tunnel_on_open(struct tunnel *tun, uint32_t sid, const char *service,
    const struct mux_peer *client, void *arg)
{
	(void)tun;
	(void)client;	/* the agent's own address is known: rt->peer */
	relay_private_open(arg, sid, service);
}

static void
relay_tunnel_on_stream_gone(struct tunnel *tun, void *tag, void *arg)
{
	(void)tun;
	relay_stream_gone(arg, tag);
}

/* The most ports one re-check unbinds in a pass (a tunnel holds at most
 * limits.ports_per_agent or its listed ports; a second SIGHUP finishes a
 * larger set). */
#define RELAY_TUNNEL_REVOKE_MAX	64

/* Does the new configuration still accept the tunnel's credentials?  The
 * certificate against the new CA and CRL; the token verified again, so a
 * jti added to the deny list, a rotated key or a removed auth.jwt ends it.
 * 1, or 0 with the reason in text. */
static int
relay_tunnel_still_valid(struct relay_tunnel *rt, const struct relay_conf *conf,
    SSL *ssl, char *text, size_t len)
{
	struct jwt_claims c;
	char why[256];
	int ok;

	if (rt->has_cert && tls_cert_still_valid(conf->ctx,
	    SSL_get0_peer_certificate(ssl), SSL_get_peer_cert_chain(ssl), why,
	    sizeof(why)) == 0) {
		snprintf(text, len, "certificate no longer accepted: %s", why);
		return 0;
	}
	if (rt->token == NULL)
		return 1;
	ok = relay_tunnel_verify(conf, rt->token, rt->token_len, &c, why,
	    sizeof(why)) == JWT_OK;
	jwt_claims_free(&c);
	if (!ok)
		snprintf(text, len, "token no longer accepted: %s", why);
	return ok;
}

void
relay_tunnel_recheck(struct relay_tunnel *rt)
{
	struct relay *r = rt->w->relay;
	struct relay_conf *conf;
	struct registry_revocation *rev = NULL;
	enum tunnel_state st = tunnel_state(rt->tun);
	char text[300];
	SSL *ssl = tunnel_ssl(rt->tun);
	size_t i, n;

	if (st < TUNNEL_HELLO || st >= TUNNEL_CLOSING || ssl == NULL)
		return;
	conf = relay_conf_get(r);
	if (relay_tunnel_still_valid(rt, conf, ssl, text, sizeof(text)) == 0) {
		log_warnx("tunnel", "%s: access withdrawn: %s",
		    tunnel_name(rt->tun), text);
		relay_tunnel_refuse(rt, MUX_CODE_AUTH, text);
		goto out;
	}
	if (st != TUNNEL_READY || (rev = calloc(RELAY_TUNNEL_REVOKE_MAX,
	    sizeof(*rev))) == NULL)
		goto out;
	n = registry_revoked(r->reg, conf->cfg, rt->id, rt->gen, rev,
	    RELAY_TUNNEL_REVOKE_MAX);
	for (i = 0; i < n && i < RELAY_TUNNEL_REVOKE_MAX; i++)
		relay_public_revoke(rt, rev[i].port, rev[i].code, rev[i].text);
	relay_private_recheck(rt, conf->cfg);
out:
	free(rev);
	relay_conf_put(conf);
}

void
relay_tunnel_drain(struct relay_tunnel *rt, uint32_t code, const char *text)
{
	tunnel_drain(rt->tun, code, text);
}

void
relay_tunnel_free(struct relay_tunnel *rt)
{
	if (rt == NULL)
		return;
	relay_tunnel_handshake_done(rt);
	relay_tunnel_detach(rt);
	tunnel_free(rt->tun);	/* the pumps first: they tag services */
	/* No pump counts any more: the streams' records can go. */
	relay_stats_agent_free(rt->w->relay->stats, rt->stats);
	relay_public_free_all(rt);
	relay_conf_put(rt->conf);
	if (rt->expiry != NULL)
		event_free(rt->expiry);
	jwt_claims_free(rt->claims);
	free(rt->claims);
	if (rt->token != NULL)
		OPENSSL_clear_free(rt->token, rt->token_len);
	free(rt);
}
