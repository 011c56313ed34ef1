/*
 * relay_private.c — private services: reached only through the relay, by an
 * agent that opens a stream to "OWNER/SERVICE" on its own tunnel.
 *
 * Who may do what (docs/SECURITY.md): serving OWNER/SERVICE under one's own
 * identity needs no grant unless the identity's expose list exists (then it
 * must name the service); serving under another name (a group) always needs
 * the expose grant, or anyone could register as home-db/postgres and receive
 * its clients' traffic; reaching one always needs a connect grant.  A
 * certificate identity's grants are relay.yaml's agents.<id>.connect and
 * .expose, a token identity's its connect and expose claims.
 *
 * Refusals of an open: AUTH "not authorised to reach X" (also a glitch: an
 * agent has no business trying, so a loop of them ends its tunnel as a loop
 * of opens beyond max_streams does); UNKNOWN_SERVICE "no such service X"
 * when OWNER has a live tunnel that never served X; UNREACHABLE "agent
 * offline" when X was served since the relay started but has no live server
 * now, or when OWNER has no live tunnel (the relay cannot tell whether it
 * would serve X).
 */
#include "relay.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jwt.h"
#include "log.h"
#include "mux.h"
#include "relay_registry.h"
#include "tunnel.h"

/* The most registrations one re-check ends in a pass (as ports). */
#define RELAY_PRIVATE_RECHECK_MAX	64

/* Split "OWNER/SERVICE" (or "SERVICE", owned by the tunnel's identity)
 * into its parts; -1 when malformed. */
static int
relay_private_split(const struct relay_tunnel *rt, const char *name,
    char *owner, size_t olen, char *service, size_t slen)
{
	char full[CFG_ID_MAX + CFG_NAME_MAX + 2];
	const char *slash;

	if (strchr(name, '/') == NULL)
		snprintf(full, sizeof(full), "%s/%s", rt->id, name);
	else
		snprintf(full, sizeof(full), "%s", name);
	if (!cfg_valid_private(full))
		return -1;
	slash = strchr(full, '/');
	snprintf(owner, olen, "%.*s", (int)(slash - full), full);
	snprintf(service, slen, "%s", slash + 1);
	return 0;
}

static int
relay_private_may_expose(const struct relay_tunnel *rt,
    const struct relay_config *cfg, const char *owner, const char *service)
{
	const struct jwt_claims *c = rt->claims;
	char full[CFG_ID_MAX + CFG_NAME_MAX + 2];

	if (c == NULL)
		return cfg_relay_may_expose(cfg, rt->id, owner, service);
	snprintf(full, sizeof(full), "%s/%s", owner, service);
	if (jwt_claims_may_expose(c, full, 0))
		return 1;
	if (strcmp(owner, rt->id) != 0)
		return 0;
	return c->expose == NULL || jwt_claims_may_expose(c, service, 0);
}

static int
relay_private_may_connect(const struct relay_tunnel *rt,
    const struct relay_config *cfg, const char *owner, const char *service)
{
	if (rt->claims == NULL)
		return cfg_relay_may_connect(cfg, rt->id, owner, service);
	return jwt_claims_may_connect(rt->claims, owner, service);
}

static void
relay_private_reply(struct relay_tunnel *rt, const char *name, uint32_t code,
    const char *text)
{
	struct mux_ctl c;

	memset(&c, 0, sizeof(c));
	c.name = name;
	if (code == MUX_CODE_NONE)
		c.type = MUX_CTL_REGISTER_OK;	/* port 0: no public port */
	else {
		c.type = MUX_CTL_REGISTER_ERR;
		c.code = code;
		c.text = text;
		log_info("tunnel", "%s: private service %s refused: %s",
		    relay_tunnel_name(rt), name, text);
	}
	(void)mux_send_ctl(tunnel_mux(rt->tun), &c);
}

void
relay_private_register(struct relay_tunnel *rt, const char *name)
{
	struct relay_conf *conf = relay_conf_get(rt->w->relay);
	char owner[CFG_ID_MAX + 1], service[CFG_NAME_MAX + 1];
	char sname[CFG_ADDR_NAME_MAX + 1], text[256];
	uint32_t code;

	log_sanitize(sname, sizeof(sname), name, CFG_ADDR_NAME_MAX);
	if (relay_private_split(rt, name, owner, sizeof(owner), service,
	    sizeof(service)) != 0) {
		relay_private_reply(rt, sname, MUX_CODE_PROTOCOL,
		    "invalid private service name (OWNER/SERVICE)");
		goto out;
	}
	if (tunnel_state(rt->tun) != TUNNEL_READY) {
		relay_private_reply(rt, sname, MUX_CODE_SHUTDOWN,
		    "tunnel is closing");
		goto out;
	}
	if (!relay_private_may_expose(rt, conf->cfg, owner, service)) {
		snprintf(text, sizeof(text), "identity %s may not serve "
		    "%s/%s", rt->id, owner, service);
		relay_private_reply(rt, sname, MUX_CODE_AUTH, text);
		goto out;
	}
	code = registry_private_add(rt->w->relay->reg, owner, service, rt->id,
	    rt->gen, rt->w->idx, text, sizeof(text));
	relay_private_reply(rt, sname, code, text);
	if (code == MUX_CODE_NONE)
		log_info("tunnel", "%s: private service %s/%s registered",
		    relay_tunnel_name(rt), owner, service);
out:
	relay_conf_put(conf);
}

int
relay_private_unregister(struct relay_tunnel *rt, const char *name)
{
	char owner[CFG_ID_MAX + 1], service[CFG_NAME_MAX + 1];

	/* A public service's name has no '/': only a name with one is
	 * taken for a private address here. */
	if (strchr(name, '/') == NULL ||
	    relay_private_split(rt, name, owner, sizeof(owner), service,
	    sizeof(service)) != 0)
		return 0;
	if (registry_private_remove(rt->w->relay->reg, owner, service,
	    rt->gen))
		log_info("tunnel", "%s: private service %s/%s withdrawn",
		    relay_tunnel_name(rt), owner, service);
	return 1;
}

/* Refusals are logged once per burst (a looping agent must not flood the
 * log): the first at once, the rest of the following second as a count
 * with the next line. */
#define RELAY_PRIVATE_LOG_MS	1000

static void
relay_private_refuse(struct relay_tunnel *rt, uint32_t sid, uint32_t code,
    const char *text)
{
	uint64_t now = relay_now_ms();

	(void)mux_stream_refuse(tunnel_mux(rt->tun), sid, code, text);
	if (rt->open_log_ms != 0 &&
	    now - rt->open_log_ms < RELAY_PRIVATE_LOG_MS) {
		rt->open_quiet++;
		return;
	}
	if (rt->open_quiet > 0)
		log_info("tunnel", "%s: stream %u refused: %s (and %u more "
		    "refused before it)", relay_tunnel_name(rt), sid, text,
		    rt->open_quiet);
	else
		log_info("tunnel", "%s: stream %u refused: %s",
		    relay_tunnel_name(rt), sid, text);
	rt->open_log_ms = now;
	rt->open_quiet = 0;
}

void
relay_private_open(struct relay_tunnel *rt, uint32_t sid, const char *name)
{
	struct relay *r = rt->w->relay;
	struct relay_conf *conf = relay_conf_get(r);
	char owner[CFG_ID_MAX + 1], service[CFG_NAME_MAX + 1];
	char sname[CFG_ADDR_NAME_MAX + 1], text[256];
	uint64_t gen = 0;
	int worker = -1;

	log_sanitize(sname, sizeof(sname), name, CFG_ADDR_NAME_MAX);
	if (strchr(name, '/') == NULL || relay_private_split(rt, name, owner,
	    sizeof(owner), service, sizeof(service)) != 0 ||
	    !relay_private_may_connect(rt, conf->cfg, owner, service)) {
		snprintf(text, sizeof(text), "not authorised to reach %s",
		    sname);
		relay_private_refuse(rt, sid, MUX_CODE_AUTH, text);
		/* May end the tunnel (FLOOD): nothing more is done with it
		 * here. */
		(void)mux_peer_glitch(tunnel_mux(rt->tun));
		goto out;
	}
	switch (registry_private_lookup(r->reg, owner, service, &gen,
	    &worker)) {
	case REGISTRY_FOUND:
		if (worker < 0 || worker >= r->nworkers) {
			relay_private_refuse(rt, sid, MUX_CODE_INTERNAL,
			    "bad worker");
			break;
		}
		log_debug("tunnel", "%s: stream %u to %s/%s", rt->id, sid,
		    owner, service);
		relay_splice_start(rt, sid, owner, service, gen, worker);
		break;
	case REGISTRY_OFFLINE:
		snprintf(text, sizeof(text), "%s: agent offline", sname);
		relay_private_refuse(rt, sid, MUX_CODE_UNREACHABLE, text);
		break;
	case REGISTRY_UNKNOWN:
		snprintf(text, sizeof(text), "no such service %s", sname);
		relay_private_refuse(rt, sid, MUX_CODE_UNKNOWN_SERVICE, text);
		break;
	}
out:
	relay_conf_put(conf);
}

void
relay_private_recheck(struct relay_tunnel *rt, const struct relay_config *cfg)
{
	struct registry_private_reg *regs = NULL;
	char name[CFG_ID_MAX + CFG_NAME_MAX + 2], text[300];
	size_t i, n;

	if ((regs = calloc(RELAY_PRIVATE_RECHECK_MAX, sizeof(*regs))) == NULL)
		return;
	n = registry_private_of(rt->w->relay->reg, rt->gen, regs,
	    RELAY_PRIVATE_RECHECK_MAX);
	for (i = 0; i < n && i < RELAY_PRIVATE_RECHECK_MAX; i++) {
		if (relay_private_may_expose(rt, cfg, regs[i].owner,
		    regs[i].service))
			continue;
		registry_private_remove(rt->w->relay->reg, regs[i].owner,
		    regs[i].service, rt->gen);
		snprintf(name, sizeof(name), "%s/%s", regs[i].owner,
		    regs[i].service);
		snprintf(text, sizeof(text), "identity %s may no longer serve "
		    "%s", rt->id, name);
		log_warnx("tunnel", "%s: private service %s withdrawn by the "
		    "new configuration", relay_tunnel_name(rt), name);
		relay_private_reply(rt, name, MUX_CODE_AUTH, text);
	}
	free(regs);
}

void
relay_private_close_all(struct relay_tunnel *rt)
{
	registry_private_remove_gen(rt->w->relay->reg, rt->gen);
}
