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

struct registry {
	pthread_mutex_t	 lock;
	TAILQ_HEAD(, reg_agent) agents;
	size_t		 nagents;
	struct reg_port	*ports[65536];
	uint32_t	 cursor;	/* where the next auto pick starts */
};

struct registry *
registry_new(void)
{
	struct registry *r;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	pthread_mutex_init(&r->lock, NULL);
	TAILQ_INIT(&r->agents);
	return r;
}

void
registry_free(struct registry *r)
{
	struct reg_agent *a;
	size_t i;

	if (r == NULL)
		return;
	while ((a = TAILQ_FIRST(&r->agents)) != NULL) {
		TAILQ_REMOVE(&r->agents, a, entry);
		free(a);
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
	pthread_mutex_unlock(&r->lock);
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

static int
registry_policy_allows(const struct relay_policy *pol, uint16_t port)
{
	size_t i;

	if (pol == NULL)
		return 1;
	for (i = 0; i < pol->nports; i++)
		if (pol->ports[i] == port)
			return 1;
	return 0;
}

/* Is port named in any identity's policy?  Auto picks leave those to the
 * identities that may ask for them by number. */
static int
registry_policy_listed(const struct relay_config *cfg, uint16_t port)
{
	size_t i, j;

	for (i = 0; i < cfg->nagents; i++)
		for (j = 0; j < cfg->agents[i].nports; j++)
			if (cfg->agents[i].ports[j] == port)
				return 1;
	return 0;
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

/* Pick a port for a service that asked for any: its own reservation first
 * (a reconnecting agent gets the same port back), then the range from a
 * rotating cursor, leaving out ports that a policy reserves for requests by
 * number.  agents.<id>.ports restricts requested ports only (issue 4). */
static int
registry_pick(struct registry *r, const struct relay_config *cfg,
    const char *id, const char *service, uint64_t now_ms)
{
	uint32_t span, i, port;
	struct reg_port *p;

	for (port = cfg->port_min; port <= cfg->port_max; port++) {
		p = r->ports[port];
		if (p != NULL && p->gen == 0 && !p->requested &&
		    strcmp(p->id, id) == 0 &&
		    strcmp(p->service, service) == 0 &&
		    !registry_expired(r, (uint16_t)port, now_ms))
			return (int)port;
	}
	span = (uint32_t)cfg->port_max - cfg->port_min + 1;
	for (i = 0; i < span; i++) {
		port = cfg->port_min + (r->cursor + i) % span;
		if (registry_policy_listed(cfg, (uint16_t)port))
			continue;
		if (registry_port_free_for(r, (uint16_t)port, id, now_ms)) {
			r->cursor = (r->cursor + i + 1) % span;
			return (int)port;
		}
	}
	return -1;
}

uint32_t
registry_claim(struct registry *r, const struct relay_config *cfg,
    const char *id, uint64_t gen, const char *service, uint16_t want,
    uint64_t now_ms, uint16_t *port, char *text, size_t len)
{
	const struct relay_policy *pol = cfg_relay_policy(cfg, id);
	uint32_t code = MUX_CODE_NONE;
	int p, requested = want != 0;

	pthread_mutex_lock(&r->lock);
	if (want == 0) {
		if ((p = registry_pick(r, cfg, id, service, now_ms)) < 0) {
			code = MUX_CODE_NO_PORTS;
			snprintf(text, len, "no free port in range %u-%u",
			    cfg->port_min, cfg->port_max);
			goto out;
		}
		want = (uint16_t)p;
	} else if (want < cfg->port_min || want > cfg->port_max) {
		code = MUX_CODE_PORT_RANGE;
		snprintf(text, len, "port %u outside range %u-%u", want,
		    cfg->port_min, cfg->port_max);
		goto out;
	} else if (!registry_policy_allows(pol, want)) {
		code = MUX_CODE_PORT_DENIED;
		snprintf(text, len, "port %u not allowed for identity %s",
		    want, id);
		goto out;
	} else if (!registry_port_free_for(r, want, id, now_ms)) {
		code = MUX_CODE_PORT_IN_USE;
		snprintf(text, len, "port %u in use", want);
		goto out;
	}
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

uint32_t
registry_check(struct registry *r, const struct relay_config *cfg,
    const char *id, uint64_t gen, uint16_t port, char *text, size_t len)
{
	uint32_t code = MUX_CODE_NONE;

	pthread_mutex_lock(&r->lock);
	if (r->ports[port] == NULL || r->ports[port]->gen != gen) {
		code = MUX_CODE_PORT_IN_USE;
		snprintf(text, len, "port %u no longer held by %s", port, id);
	} else if (port < cfg->port_min || port > cfg->port_max) {
		code = MUX_CODE_PORT_RANGE;
		snprintf(text, len, "port %u outside range %u-%u", port,
		    cfg->port_min, cfg->port_max);
	} else if (r->ports[port]->requested &&
	    !registry_policy_allows(cfg_relay_policy(cfg, id), port)) {
		code = MUX_CODE_PORT_DENIED;
		snprintf(text, len, "port %u not allowed for identity %s",
		    port, id);
	}
	pthread_mutex_unlock(&r->lock);
	return code;
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
