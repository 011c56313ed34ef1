/*
 * relay_registry.c — see relay_registry.h.  The port table is a flat array
 * indexed by port number: 64 Ki pointers, and every lookup is O(1); the
 * identity list is short (limits.max_agents) and scanned.
 */
#include "relay_registry.h"

#include <sys/queue.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg_relay.h"
#include "mux.h"

struct reg_port {
	char		 id[CFG_ID_MAX + 1];
	char		 service[CFG_NAME_MAX + 1];
	uint64_t	 gen;		/* 0: a reservation */
	uint64_t	 expires_ms;	/* reservations only */
	int		 requested;	/* asked for by number (policy applies) */
};

struct reg_agent {
	TAILQ_ENTRY(reg_agent) entry;
	char		 id[CFG_ID_MAX + 1];
	uint64_t	 gen;
	int		 worker;
};

struct reg_server {
	char		 id[CFG_ID_MAX + 1];
	uint64_t	 gen;
	int		 worker;
};

/* One private address and its servers; nservers 0: known, unserved. */
struct reg_private {
	TAILQ_ENTRY(reg_private) entry;
	char		 owner[CFG_ID_MAX + 1];
	char		 service[CFG_NAME_MAX + 1];
	struct reg_server servers[REGISTRY_SERVERS_MAX];
	size_t		 nservers;
	unsigned	 next;		/* round robin */
};

struct registry {
	pthread_mutex_t	 lock;
	TAILQ_HEAD(, reg_agent) agents;
	size_t		 nagents;
	TAILQ_HEAD(, reg_private) privs;
	size_t		 nprivs;
	struct reg_port	*ports[65536];
	uint32_t	 cursor;	/* where the next auto pick starts */
};

static void	registry_private_drop_gen(struct registry *, uint64_t);

struct registry *
registry_new(void)
{
	struct registry *r;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	pthread_mutex_init(&r->lock, NULL);
	TAILQ_INIT(&r->agents);
	TAILQ_INIT(&r->privs);
	return r;
}

void
registry_free(struct registry *r)
{
	struct reg_agent *a;
	struct reg_private *p;
	size_t i;

	if (r == NULL)
		return;
	while ((a = TAILQ_FIRST(&r->agents)) != NULL) {
		TAILQ_REMOVE(&r->agents, a, entry);
		free(a);
	}
	while ((p = TAILQ_FIRST(&r->privs)) != NULL) {
		TAILQ_REMOVE(&r->privs, p, entry);
		free(p);
	}
	for (i = 0; i < 65536; i++)
		free(r->ports[i]);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

static struct reg_agent *
registry_agent(struct registry *r, const char *id)
{
	struct reg_agent *a;

	TAILQ_FOREACH(a, &r->agents, entry)
		if (strcmp(a->id, id) == 0)
			return a;
	return NULL;
}

/* Every port of gen becomes a reservation until expires_ms. */
static void
registry_reserve_gen(struct registry *r, uint64_t gen, uint64_t expires_ms)
{
	size_t i;

	for (i = 0; i < 65536; i++) {
		if (r->ports[i] != NULL && r->ports[i]->gen == gen) {
			r->ports[i]->gen = 0;
			r->ports[i]->expires_ms = expires_ms;
		}
	}
}

static uint64_t
registry_deadline(uint64_t now_ms, uint64_t grace_ms)
{
	return grace_ms > UINT64_MAX - now_ms ? UINT64_MAX : now_ms + grace_ms;
}

int
registry_attach(struct registry *r, const char *id, uint64_t gen, int worker,
    size_t max_agents, uint64_t now_ms, uint64_t grace_ms, uint64_t *old_gen,
    int *old_worker)
{
	struct reg_agent *a;
	int ret = -1;

	*old_gen = 0;
	*old_worker = -1;
	pthread_mutex_lock(&r->lock);
	if ((a = registry_agent(r, id)) != NULL) {
		*old_gen = a->gen;
		*old_worker = a->worker;
		/* The successor may claim them at once. */
		registry_reserve_gen(r, a->gen,
		    registry_deadline(now_ms, grace_ms));
	} else {
		if (r->nagents >= max_agents)
			goto out;
		if ((a = calloc(1, sizeof(*a))) == NULL)
			goto out;
		snprintf(a->id, sizeof(a->id), "%s", id);
		TAILQ_INSERT_TAIL(&r->agents, a, entry);
		r->nagents++;
	}
	a->gen = gen;
	a->worker = worker;
	ret = 0;
out:
	pthread_mutex_unlock(&r->lock);
	return ret;
}

void
registry_detach(struct registry *r, const char *id, uint64_t gen,
    uint64_t now_ms, uint64_t grace_ms)
{
	struct reg_agent *a;

	pthread_mutex_lock(&r->lock);
	if ((a = registry_agent(r, id)) != NULL && a->gen == gen) {
		TAILQ_REMOVE(&r->agents, a, entry);
		r->nagents--;
		free(a);
	}
	registry_reserve_gen(r, gen, registry_deadline(now_ms, grace_ms));
	registry_private_drop_gen(r, gen);
	pthread_mutex_unlock(&r->lock);
}

/* Remove server i of p (order kept: the round robin stays fair). */
static void
registry_private_drop(struct reg_private *p, size_t i)
{
	memmove(&p->servers[i], &p->servers[i + 1],
	    (p->nservers - i - 1) * sizeof(p->servers[0]));
	p->nservers--;
}

/* Every address gen serves loses that server. */
static void
registry_private_drop_gen(struct registry *r, uint64_t gen)
{
	struct reg_private *p;
	size_t i;

	TAILQ_FOREACH(p, &r->privs, entry) {
		for (i = 0; i < p->nservers; i++) {
			if (p->servers[i].gen == gen) {
				registry_private_drop(p, i);
				break;
			}
		}
	}
}

/* 1 if the entry no longer holds its port (expired reservation). */
static int
registry_expired(struct registry *r, uint16_t port, uint64_t now_ms)
{
	struct reg_port *p = r->ports[port];

	if (p == NULL)
		return 1;
	if (p->gen == 0 && p->expires_ms <= now_ms) {
		free(p);
		r->ports[port] = NULL;
		return 1;
	}
	return 0;
}

/* Could id take port now?  (range and policy are checked elsewhere) */
static int
registry_port_free_for(struct registry *r, uint16_t port, const char *id,
    uint64_t now_ms)
{
	struct reg_port *p;

	if (registry_expired(r, port, now_ms))
		return 1;
	p = r->ports[port];
	return p->gen == 0 && strcmp(p->id, id) == 0;
}

/* Count id's ports, live or reserved (expired reservations are dropped
 * in passing).  A full scan: claims are rare next to streams. */
static void
registry_count(struct registry *r, const char *id, uint64_t now_ms,
    size_t *total, size_t *autos)
{
	struct reg_port *p;
	size_t i;

	*total = *autos = 0;
	for (i = 0; i < 65536; i++) {
		if (registry_expired(r, (uint16_t)i, now_ms))
			continue;
		p = r->ports[i];
		if (strcmp(p->id, id) != 0)
			continue;
		(*total)++;
		if (!p->requested)
			(*autos)++;
	}
}

static int
registry_take(struct registry *r, uint16_t port, const char *id, uint64_t gen,
    const char *service, int requested)
{
	struct reg_port *p = r->ports[port];

	if (p == NULL && (p = calloc(1, sizeof(*p))) == NULL)
		return -1;
	snprintf(p->id, sizeof(p->id), "%s", id);
	snprintf(p->service, sizeof(p->service), "%s", service);
	p->gen = gen;
	p->expires_ms = 0;
	p->requested = requested;
	r->ports[port] = p;
	return 0;
}

/* id's unexpired reservation of an automatic port: for service (or for any
 * service when service is NULL).  -1 when there is none. */
static int
registry_own_reservation(struct registry *r, const struct relay_config *cfg,
    const char *id, const char *service, uint64_t now_ms)
{
	struct reg_port *p;
	uint32_t port;

	for (port = cfg->port_min; port <= cfg->port_max; port++) {
		p = r->ports[port];
		if (p != NULL && p->gen == 0 && !p->requested &&
		    strcmp(p->id, id) == 0 &&
		    (service == NULL || strcmp(p->service, service) == 0) &&
		    !cfg_relay_port_listed(cfg, (uint16_t)port) &&
		    !registry_expired(r, (uint16_t)port, now_ms))
			return (int)port;
	}
	return -1;
}

/* A free port of the range from a rotating cursor, leaving out every port
 * a policy lists (those wait for their identity's request by number). */
static int
registry_fresh(struct registry *r, const struct relay_config *cfg,
    const char *id, uint64_t now_ms)
{
	uint32_t span, i, port;

	span = (uint32_t)cfg->port_max - cfg->port_min + 1;
	for (i = 0; i < span; i++) {
		port = cfg->port_min + (r->cursor + i) % span;
		if (cfg_relay_port_listed(cfg, (uint16_t)port))
			continue;
		if (registry_port_free_for(r, (uint16_t)port, id, now_ms)) {
			r->cursor = (r->cursor + i + 1) % span;
			return (int)port;
		}
	}
	return -1;
}

/*
 * Pick a port for a service that asked for any, within id's grant: its own
 * reservation for the service first (a reconnecting agent gets the same
 * port back), then a fresh port while the grant allows one more, then its
 * own reservation of another service (a renamed service, or one that moved
 * from a lost tunnel: the identity keeps what it held, no more).
 */
static uint32_t
registry_pick(struct registry *r, const struct relay_config *cfg,
    const char *id, const char *service, uint64_t now_ms, uint16_t *port,
    char *text, size_t len)
{
	uint32_t grant = cfg_relay_auto_ports(cfg, id);
	uint32_t cap = cfg_relay_port_cap(cfg, id);
	size_t total, autos;
	int p;

	if (grant == 0 || cap == 0) {
		snprintf(text, len, "no automatic ports allowed for identity "
		    "%s", id);
		return MUX_CODE_PORT_DENIED;
	}
	if ((p = registry_own_reservation(r, cfg, id, service, now_ms)) < 0) {
		registry_count(r, id, now_ms, &total, &autos);
		if (autos < grant && total < cap)
			p = registry_fresh(r, cfg, id, now_ms);
		else if ((p = registry_own_reservation(r, cfg, id, NULL,
		    now_ms)) < 0) {
			if (autos >= grant)
				snprintf(text, len, "automatic port limit %u "
				    "reached for identity %s", grant, id);
			else
				snprintf(text, len, "port limit %u reached "
				    "for identity %s", cap, id);
			return MUX_CODE_PORT_DENIED;
		}
	}
	if (p < 0) {
		snprintf(text, len, "no free port in range %u-%u",
		    cfg->port_min, cfg->port_max);
		return MUX_CODE_NO_PORTS;
	}
	*port = (uint16_t)p;
	return MUX_CODE_NONE;
}

/* May id take port want, asked for by number?  Its own reservation of the
 * port is always fine: it holds it already and the count does not grow. */
static uint32_t
registry_want(struct registry *r, const struct relay_config *cfg,
    const char *id, uint16_t want, uint64_t now_ms, char *text, size_t len)
{
	uint32_t cap = cfg_relay_port_cap(cfg, id);
	size_t total, autos;

	if (want < cfg->port_min || want > cfg->port_max) {
		snprintf(text, len, "port %u outside range %u-%u", want,
		    cfg->port_min, cfg->port_max);
		return MUX_CODE_PORT_RANGE;
	}
	if (!cfg_relay_port_allowed(cfg, id, want)) {
		snprintf(text, len, "port %u not allowed for identity %s",
		    want, id);
		return MUX_CODE_PORT_DENIED;
	}
	if (!registry_port_free_for(r, want, id, now_ms)) {
		snprintf(text, len, "port %u in use", want);
		return MUX_CODE_PORT_IN_USE;
	}
	if (r->ports[want] == NULL) {
		registry_count(r, id, now_ms, &total, &autos);
		if (total >= cap) {
			snprintf(text, len, "port limit %u reached for "
			    "identity %s", cap, id);
			return MUX_CODE_PORT_DENIED;
		}
	}
	return MUX_CODE_NONE;
}

uint32_t
registry_claim(struct registry *r, const struct relay_config *cfg,
    const char *id, uint64_t gen, const char *service, uint16_t want,
    uint64_t now_ms, uint16_t *port, char *text, size_t len)
{
	uint32_t code;
	int requested = want != 0;

	pthread_mutex_lock(&r->lock);
	if (want == 0)
		code = registry_pick(r, cfg, id, service, now_ms, &want, text,
		    len);
	else
		code = registry_want(r, cfg, id, want, now_ms, text, len);
	if (code != MUX_CODE_NONE)
		goto out;
	if (registry_take(r, want, id, gen, service, requested) != 0) {
		code = MUX_CODE_INTERNAL;
		snprintf(text, len, "out of memory");
		goto out;
	}
	*port = want;
out:
	pthread_mutex_unlock(&r->lock);
	return code;
}

void
registry_release(struct registry *r, uint16_t port, uint64_t gen)
{
	pthread_mutex_lock(&r->lock);
	if (r->ports[port] != NULL && r->ports[port]->gen == gen) {
		free(r->ports[port]);
		r->ports[port] = NULL;
	}
	pthread_mutex_unlock(&r->lock);
}

/* Does cfg still let id serve port, held as p says?  Counts aside. */
static uint32_t
registry_allowed(const struct relay_config *cfg, const char *id,
    uint16_t port, const struct reg_port *p, char *text, size_t len)
{
	if (port < cfg->port_min || port > cfg->port_max) {
		snprintf(text, len, "port %u outside range %u-%u", port,
		    cfg->port_min, cfg->port_max);
		return MUX_CODE_PORT_RANGE;
	}
	if (p->requested && !cfg_relay_port_allowed(cfg, id, port)) {
		snprintf(text, len, "port %u not allowed for identity %s",
		    port, id);
		return MUX_CODE_PORT_DENIED;
	}
	if (!p->requested && cfg_relay_auto_ports(cfg, id) == 0) {
		snprintf(text, len, "no automatic ports allowed for identity "
		    "%s", id);
		return MUX_CODE_PORT_DENIED;
	}
	/* An automatic port that a policy now lists belongs to that
	 * identity (which may be id itself). */
	if (!p->requested && cfg_relay_port_listed(cfg, port) &&
	    !cfg_relay_port_allowed(cfg, id, port)) {
		snprintf(text, len, "port %u not allowed for identity %s",
		    port, id);
		return MUX_CODE_PORT_DENIED;
	}
	return MUX_CODE_NONE;
}

uint32_t
registry_check(struct registry *r, const struct relay_config *cfg,
    const char *id, uint64_t gen, uint16_t port, char *text, size_t len)
{
	uint32_t code = MUX_CODE_NONE;

	pthread_mutex_lock(&r->lock);
	if (r->ports[port] == NULL || r->ports[port]->gen != gen) {
		code = MUX_CODE_PORT_IN_USE;
		snprintf(text, len, "port %u no longer held by %s", port, id);
	} else
		code = registry_allowed(cfg, id, port, r->ports[port], text,
		    len);
	pthread_mutex_unlock(&r->lock);
	return code;
}

/* Record one revocation in out[n] when there is room. */
static void
registry_revoke_one(struct registry_revocation *out, size_t max, size_t n,
    uint16_t port, const struct reg_port *p, uint32_t code, const char *text)
{
	if (n >= max)
		return;
	out[n].port = port;
	snprintf(out[n].service, sizeof(out[n].service), "%s", p->service);
	out[n].code = code;
	snprintf(out[n].text, sizeof(out[n].text), "%s", text);
}

size_t
registry_revoked(struct registry *r, const struct relay_config *cfg,
    const char *id, uint64_t gen, struct registry_revocation *out,
    size_t max)
{
	uint32_t grant = cfg_relay_auto_ports(cfg, id);
	uint32_t cap = cfg_relay_port_cap(cfg, id), code;
	size_t n = 0, kept = 0, autos = 0;
	struct reg_port *p;
	char text[128];
	uint32_t i;
	int pass;

	pthread_mutex_lock(&r->lock);
	/* Requested ports first: they were named in both configurations, so
	 * they outrank automatic ones.  Within each kind the lowest ports are
	 * kept, so the choice is the same on every reload. */
	for (pass = 1; pass >= 0; pass--) {
		for (i = 0; i < 65536; i++) {
			p = r->ports[i];
			if (p == NULL || gen == 0 || p->gen != gen ||
			    p->requested != pass)
				continue;
			code = registry_allowed(cfg, id, (uint16_t)i, p, text,
			    sizeof(text));
			if (code == MUX_CODE_NONE && !pass && autos >= grant) {
				code = MUX_CODE_PORT_DENIED;
				snprintf(text, sizeof(text), "automatic port "
				    "limit %u reached for identity %s", grant,
				    id);
			}
			if (code == MUX_CODE_NONE && kept >= cap) {
				code = MUX_CODE_PORT_DENIED;
				snprintf(text, sizeof(text), "port limit %u "
				    "reached for identity %s", cap, id);
			}
			if (code != MUX_CODE_NONE) {
				registry_revoke_one(out, max, n++, (uint16_t)i,
				    p, code, text);
				continue;
			}
			kept++;
			autos += !pass;
		}
	}
	pthread_mutex_unlock(&r->lock);
	return n;
}

void
registry_held(struct registry *r, const char *id, uint64_t now_ms,
    size_t *total, size_t *autos)
{
	pthread_mutex_lock(&r->lock);
	registry_count(r, id, now_ms, total, autos);
	pthread_mutex_unlock(&r->lock);
}

size_t
registry_nagents(struct registry *r)
{
	size_t n;

	pthread_mutex_lock(&r->lock);
	n = r->nagents;
	pthread_mutex_unlock(&r->lock);
	return n;
}

static struct reg_private *
registry_private_find(struct registry *r, const char *owner,
    const char *service)
{
	struct reg_private *p;

	TAILQ_FOREACH(p, &r->privs, entry)
		if (strcmp(p->owner, owner) == 0 &&
		    strcmp(p->service, service) == 0)
			return p;
	return NULL;
}

/* A new address, making room by forgetting an unserved one if needed. */
static struct reg_private *
registry_private_new(struct registry *r, const char *owner,
    const char *service)
{
	struct reg_private *p;

	if (r->nprivs >= REGISTRY_PRIVATE_MAX) {
		TAILQ_FOREACH(p, &r->privs, entry)
			if (p->nservers == 0)
				break;
		if (p == NULL)
			return NULL;
		TAILQ_REMOVE(&r->privs, p, entry);
		r->nprivs--;
		free(p);
	}
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	snprintf(p->owner, sizeof(p->owner), "%s", owner);
	snprintf(p->service, sizeof(p->service), "%s", service);
	TAILQ_INSERT_TAIL(&r->privs, p, entry);
	r->nprivs++;
	return p;
}

uint32_t
registry_private_add(struct registry *r, const char *owner,
    const char *service, const char *id, uint64_t gen, int worker,
    char *text, size_t len)
{
	struct reg_private *p;
	struct reg_server *sv;
	uint32_t code = MUX_CODE_NONE;
	size_t i;

	pthread_mutex_lock(&r->lock);
	if ((p = registry_private_find(r, owner, service)) == NULL &&
	    (p = registry_private_new(r, owner, service)) == NULL) {
		snprintf(text, len, "too many private services (limit %d)",
		    REGISTRY_PRIVATE_MAX);
		code = MUX_CODE_LIMIT;
		goto out;
	}
	for (i = 0; i < p->nservers; i++) {
		sv = &p->servers[i];
		if (sv->gen == gen) {
			snprintf(text, len, "service %s/%s already registered",
			    owner, service);
			code = MUX_CODE_DUPLICATE;
			goto out;
		}
		/* The same identity again: the older tunnel is on its way
		 * out (replaced), the newer one serves. */
		if (strcmp(sv->id, id) == 0) {
			registry_private_drop(p, i);
			break;
		}
	}
	if (p->nservers >= REGISTRY_SERVERS_MAX) {
		snprintf(text, len, "too many servers for %s/%s (limit %d)",
		    owner, service, REGISTRY_SERVERS_MAX);
		code = MUX_CODE_LIMIT;
		goto out;
	}
	sv = &p->servers[p->nservers++];
	snprintf(sv->id, sizeof(sv->id), "%s", id);
	sv->gen = gen;
	sv->worker = worker;
out:
	pthread_mutex_unlock(&r->lock);
	return code;
}

int
registry_private_remove(struct registry *r, const char *owner,
    const char *service, uint64_t gen)
{
	struct reg_private *p;
	size_t i;
	int found = 0;

	pthread_mutex_lock(&r->lock);
	if ((p = registry_private_find(r, owner, service)) != NULL) {
		for (i = 0; i < p->nservers && !found; i++) {
			if (p->servers[i].gen == gen) {
				registry_private_drop(p, i);
				found = 1;
			}
		}
	}
	pthread_mutex_unlock(&r->lock);
	return found;
}

void
registry_private_remove_gen(struct registry *r, uint64_t gen)
{
	pthread_mutex_lock(&r->lock);
	registry_private_drop_gen(r, gen);
	pthread_mutex_unlock(&r->lock);
}

enum registry_lookup
registry_private_lookup(struct registry *r, const char *owner,
    const char *service, uint64_t *gen, int *worker)
{
	struct reg_private *p;
	struct reg_server *sv;
	enum registry_lookup res;

	pthread_mutex_lock(&r->lock);
	p = registry_private_find(r, owner, service);
	if (p != NULL && p->nservers > 0) {
		sv = &p->servers[p->next++ % p->nservers];
		*gen = sv->gen;
		*worker = sv->worker;
		res = REGISTRY_FOUND;
	} else if (p != NULL || registry_agent(r, owner) == NULL)
		res = REGISTRY_OFFLINE;
	else
		res = REGISTRY_UNKNOWN;
	pthread_mutex_unlock(&r->lock);
	return res;
}

size_t
registry_private_of(struct registry *r, uint64_t gen,
    struct registry_private_reg *out, size_t max)
{
	struct reg_private *p;
	size_t i, n = 0;

	pthread_mutex_lock(&r->lock);
	TAILQ_FOREACH(p, &r->privs, entry) {
		for (i = 0; i < p->nservers; i++) {
			if (p->servers[i].gen != gen)
				continue;
			if (n < max) {
				snprintf(out[n].owner, sizeof(out[n].owner),
				    "%s", p->owner);
				snprintf(out[n].service,
				    sizeof(out[n].service), "%s", p->service);
			}
			n++;
		}
	}
	pthread_mutex_unlock(&r->lock);
	return n;
}

size_t
registry_ports(struct registry *r, struct registry_port *out, size_t max)
{
	const struct reg_port *p;
	size_t i, n = 0;

	pthread_mutex_lock(&r->lock);
	for (i = 1; i < 65536; i++) {
		if ((p = r->ports[i]) == NULL || p->gen == 0)
			continue;
		if (n < max) {
			out[n].port = (uint16_t)i;
			out[n].gen = p->gen;
			memcpy(out[n].id, p->id, sizeof(out[n].id));
			memcpy(out[n].service, p->service,
			    sizeof(out[n].service));
		}
		n++;
	}
	pthread_mutex_unlock(&r->lock);
	return n;
}

size_t
registry_private_nservers(struct registry *r, const char *owner,
    const char *service)
{
	struct reg_private *p;
	size_t n;

	pthread_mutex_lock(&r->lock);
	p = registry_private_find(r, owner, service);
	n = p != NULL ? p->nservers : 0;
	pthread_mutex_unlock(&r->lock);
	return n;
}
