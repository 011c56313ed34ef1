/*
 * relay_registry.h — the relay's shared state: which identity has a live
 * tunnel (and on which worker), and which public port belongs to whom.
 *
 * Every function takes the registry's mutex for its whole duration, so each is
 * atomic with respect to the others; none calls out while holding it.
 * Tunnels are named by a generation number (unique per process, never 0),
 * so a stale tunnel cannot act on its successor's entries.
 *
 * Policy (docs/CONFIG.md, "Public ports"): a port requested by number must
 * be inside public.port_range and free, and one of agents.<id>.ports when
 * the identity is listed, or a port no agents.<id>.ports names when it is
 * not.  A port asked for as "any" comes from the range, skipping every
 * listed port, and only within the identity's grant of automatic ports
 * (cfg_relay_auto_ports); all its ports together, live and reserved, stay
 * within cfg_relay_port_cap.  So agents.<id>.ports: [] means no port at all,
 * and one identity cannot drain the range for the others.
 *
 * Ports: a port is live (owned by a tunnel generation and a service name) or
 * reserved (its tunnel was lost less than port_grace ago; only the same
 * identity may claim it).  Reservations expire lazily: an expired one counts
 * as free the next time anyone looks.
 */
#ifndef ATLAX_RELAY_REGISTRY_H
#define ATLAX_RELAY_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#include "cfg.h"

struct relay_config;
struct registry;

struct registry *registry_new(void);
void	registry_free(struct registry *r);	/* accepts NULL */

/* Make gen the live tunnel of id.  When another generation held it, its
 * number and worker index come back in *old_gen / *old_worker (else 0 / -1)
 * and its ports become reservations for id (until now_ms + grace_ms), ready
 * for gen to claim.  Returns
 * 0, or -1 when max_agents identities are already live (nothing changed). */
int	registry_attach(struct registry *r, const char *id, uint64_t gen,
	    int worker, size_t max_agents, uint64_t now_ms, uint64_t grace_ms,
	    uint64_t *old_gen, int *old_worker);
/* Tunnel gen of id is gone: drop the identity if gen still holds it, and turn
 * gen's ports into reservations until now_ms + grace_ms. */
void	registry_detach(struct registry *r, const char *id, uint64_t gen,
	    uint64_t now_ms, uint64_t grace_ms);
/* Claim a public port for (id, gen, service): want, or any port (want 0).
 * Returns MUX_CODE_NONE and *port, or a MUX_CODE_PORT_* / NO_PORTS code with
 * the reason in text ("port 10445 in use", "automatic port limit 4 reached
 * for identity home").  A port asked for as "any" is, in this order: the
 * identity's own reservation for the same service, a free port of the range
 * while the grant allows one more, or its own reservation of another
 * service (a renamed service takes over the port of the old name). */
uint32_t registry_claim(struct registry *r, const struct relay_config *cfg,
	    const char *id, uint64_t gen, const char *service, uint16_t want,
	    uint64_t now_ms, uint16_t *port, char *text, size_t len);
/* Give back a port gen holds (unregister, failed bind): free at once. */
void	registry_release(struct registry *r, uint16_t port, uint64_t gen);
/* May gen (identity id) still serve port, under cfg's policy?  MUX_CODE_NONE
 * or the code that says why not, with text.  This is the per-connection
 * check, O(1) in the number of ports: it does not count (a grant lowered by
 * a reload is enforced by registry_revoked()). */
uint32_t registry_check(struct registry *r, const struct relay_config *cfg,
	    const char *id, uint64_t gen, uint16_t port, char *text,
	    size_t len);

/* A port that a tunnel holds and a new configuration no longer allows. */
struct registry_revocation {
	uint16_t port;
	char	 service[CFG_NAME_MAX + 1];
	uint32_t code;			/* MUX_CODE_PORT_* */
	char	 text[128];		/* why, as registry_check() says it */
};

/*
 * After a reload: the ports live tunnel gen of id holds that cfg no longer
 * allows, each with its service name and reason.  That is every port
 * registry_check() refuses, plus, when the identity now holds more than its
 * grants allow, the excess (requested ports are kept before automatic
 * ones, lower port numbers before higher).  Fills at most max entries of out
 * (out may be NULL when max is 0) and returns how many there are in all.
 * Changes nothing: the caller unbinds each port and calls
 * registry_release().  An identity whose cfg_relay_port_cap() is 0 loses
 * every port.
 */
size_t	registry_revoked(struct registry *r, const struct relay_config *cfg,
	    const char *id, uint64_t gen, struct registry_revocation *out,
	    size_t max);
/* Ports id holds, live or reserved, and how many of them were picked
 * automatically (for limits and tests). */
void	registry_held(struct registry *r, const char *id, uint64_t now_ms,
	    size_t *total, size_t *autos);
/* Live identities (for limits and tests). */
size_t	registry_nagents(struct registry *r);

/*
 * Private services: a table from the address "OWNER/SERVICE" to the live
 * tunnels serving it (one, or several for a group), each named by its
 * generation, identity and worker.  An address stays known (with no
 * server) after its last server left, so that a client can be told "agent
 * offline" rather than "no such service"; known addresses are capped at
 * REGISTRY_PRIVATE_MAX, unserved ones give way first.  Who may serve or
 * reach an address is the caller's check (relay_private.c); the table only
 * keeps the count of servers per address within REGISTRY_SERVERS_MAX.
 */
#define REGISTRY_PRIVATE_MAX	4096
#define REGISTRY_SERVERS_MAX	32

/* gen (identity id, on worker) serves owner/service.  MUX_CODE_NONE;
 * DUPLICATE when gen serves it already; LIMIT when the table or the
 * address is full (text says which).  A server of the same identity but an
 * older generation is replaced (the tunnel that replaced it). */
uint32_t registry_private_add(struct registry *r, const char *owner,
	    const char *service, const char *id, uint64_t gen, int worker,
	    char *text, size_t len);
/* gen no longer serves owner/service; 1 if it did. */
int	registry_private_remove(struct registry *r, const char *owner,
	    const char *service, uint64_t gen);
/* gen serves nothing any more (its tunnel is draining or gone). */
void	registry_private_remove_gen(struct registry *r, uint64_t gen);

enum registry_lookup {
	REGISTRY_FOUND,		/* *gen, *worker: the next server */
	REGISTRY_OFFLINE,	/* known address, or owner not live: none */
	REGISTRY_UNKNOWN,	/* owner live, address never served */
};
/* A server for owner/service, round robin among the live ones. */
enum registry_lookup registry_private_lookup(struct registry *r,
	    const char *owner, const char *service, uint64_t *gen,
	    int *worker);

/* A private registration of one generation (for re-checks). */
struct registry_private_reg {
	char	 owner[CFG_ID_MAX + 1];
	char	 service[CFG_NAME_MAX + 1];
};
/* The addresses gen serves: fills at most max of out, returns how many
 * there are in all. */
size_t	registry_private_of(struct registry *r, uint64_t gen,
	    struct registry_private_reg *out, size_t max);
/* Servers of owner/service (tests). */
size_t	registry_private_nservers(struct registry *r, const char *owner,
	    const char *service);
/* A live port, as the admin pages list them. */
struct registry_port {
	uint16_t port;
	uint64_t gen;
	char	 id[CFG_ID_MAX + 1];
	char	 service[CFG_NAME_MAX + 1];
};
/* Every live port (reservations left out), in port order: fills at most
 * max entries of out and returns how many there are in all.  One pass
 * over the port table under the mutex. */
size_t	registry_ports(struct registry *r, struct registry_port *out,
	    size_t max);

#endif
