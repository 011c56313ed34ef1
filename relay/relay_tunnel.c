/*
 * relay_tunnel.c — one agent's tunnel on a worker: what only the relay does
 * on top of the common tunnel (common/io/tunnel.c): the identity check (the
 * certificate's CN, then the agent's HELLO must name it), the registry entry
 * and the replacement of an older tunnel of the same identity, the public
 * services, and the log line that says how the tunnel ended.
 */
#include "relay.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "mux.h"
#include "relay_registry.h"
#include "tls.h"
#include "tunnel.h"

static int	relay_tunnel_on_tls_up(struct tunnel *, void *);
static void	relay_tunnel_on_control(struct tunnel *, const struct mux_ctl *,
		    void *);
static void	relay_tunnel_on_state(struct tunnel *, enum tunnel_state,
		    void *);
static void	relay_tunnel_on_stream_gone(struct tunnel *, void *, void *);

static const struct tunnel_callbacks relay_tunnel_cb = {
	.tls_up = relay_tunnel_on_tls_up,
	.control = relay_tunnel_on_control,
	.stream_open = NULL,	/* agents open none (max_streams 0) */
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
	/* Agents open no streams (the relay opens one per public client):
	 * advertised as 0, so an agent that opens one anyway is refused with
	 * LIMIT, which the flood accounting counts. */
	s->mux.max_streams = 0;
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

/* TLS is up: the certificate's CN is the identity the HELLO must name. */
static int
relay_tunnel_on_tls_up(struct tunnel *tun, void *arg)
{
	struct relay_tunnel *rt = arg;

	if (tls_peer_cn(tunnel_ssl(tun), rt->id, sizeof(rt->id)) != 0 ||
	    !cfg_valid_id(rt->id)) {
		log_warnx("tls", "handshake with %s failed: certificate has "
		    "no valid CN", rt->peer);
		tunnel_set_reason(tun, "certificate has no valid CN");
		rt->refused = 1;
		return -1;
	}
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

/* The agent's HELLO: its id must be the certificate's CN. */
static void
relay_tunnel_hello(struct relay_tunnel *rt, const char *claimed)
{
	struct relay *r = rt->w->relay;
	const struct relay_config *cfg = rt->conf->cfg;
	struct relay_cmd *cmd;
	char id[CFG_ID_MAX + 1], text[256];
	uint64_t old_gen;
	int old_w;

	log_sanitize(id, sizeof(id), claimed != NULL ? claimed : "",
	    CFG_ID_MAX);
	if (claimed == NULL || strcmp(claimed, rt->id) != 0) {
		snprintf(text, sizeof(text), "agent id \"%s\" does not match "
		    "certificate CN \"%s\"", id, rt->id);
		log_warnx("tunnel", "%s: refused: %s", rt->peer, text);
		relay_tunnel_refuse(rt, MUX_CODE_AUTH, text);
		return;
	}
	if (registry_attach(r->reg, rt->id, rt->gen, rt->w->idx,
	    cfg->max_agents, relay_now_ms(), cfg->port_grace_ms, &old_gen,
	    &old_w) != 0) {
		snprintf(text, sizeof(text), "too many agents (limit %u)",
		    cfg->max_agents);
		log_warnx("tunnel", "%s: refused %s: %s", rt->peer, rt->id,
		    text);
		relay_tunnel_refuse(rt, MUX_CODE_LIMIT, text);
		return;
	}
	rt->attached = 1;
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
	log_info("tunnel", "%s: ready (from %s)", rt->id, rt->peer);
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
			relay_tunnel_hello(rt, ctl->name);
		break;
	case MUX_CTL_REGISTER:
		relay_public_register(rt, ctl->name, ctl->port);
		break;
	case MUX_CTL_UNREGISTER:
		relay_public_unregister(rt, ctl->name);
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
		return;		/* said when refused */
	if (!tunnel_tls_done(tun) || old == TUNNEL_HELLO ||
	    (old == TUNNEL_CLOSING && tunnel_up_ms(tun) == 0))
		relay_tunnel_log_failed(rt);
	else if (tunnel_was_lost(tun))
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
		break;
	case TUNNEL_CLOSING:
		relay_public_close_all(rt);
		relay_tunnel_detach(rt);
		break;
	case TUNNEL_DEAD:
		relay_public_close_all(rt);
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
relay_tunnel_on_stream_gone(struct tunnel *tun, void *tag, void *arg)
{
	(void)tun;
	relay_stream_gone(arg, tag);
}

/* The most ports one re-check unbinds in a pass (a tunnel holds at most
 * limits.ports_per_agent or its listed ports; a second SIGHUP finishes a
 * larger set). */
#define RELAY_TUNNEL_REVOKE_MAX	64

void
relay_tunnel_recheck(struct relay_tunnel *rt)
{
	struct relay *r = rt->w->relay;
	struct relay_conf *conf;
	struct registry_revocation *rev = NULL;
	enum tunnel_state st = tunnel_state(rt->tun);
	char why[256], text[300];
	SSL *ssl = tunnel_ssl(rt->tun);
	size_t i, n;

	if (st < TUNNEL_HELLO || st >= TUNNEL_CLOSING || ssl == NULL)
		return;
	conf = relay_conf_get(r);
	if (tls_cert_still_valid(conf->ctx, SSL_get0_peer_certificate(ssl),
	    SSL_get_peer_cert_chain(ssl), why, sizeof(why)) == 0) {
		snprintf(text, sizeof(text), "certificate no longer "
		    "accepted: %s", why);
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
	relay_public_free_all(rt);
	relay_conf_put(rt->conf);
	free(rt);
}
