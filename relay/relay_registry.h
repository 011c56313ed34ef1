/*
 * relay_registry.h — the relay's shared state: which identity has a live
 * tunnel (and on which worker), and which public port belongs to whom.
 *
 * Every function takes the registry's mutex for its whole duration, so each is
 * atomic with respect to the others; none calls out while holding it.
 * Tunnels are named by a generation number (unique per process, never 0),
 * so a stale tunnel cannot act on its successor's entries.
 *
 * Policy (issue 4): a port requested by number must be inside
 * public.port_range, in agents.<id>.ports when the identity is listed, and
 * free; a port asked for as "any" comes from the range, skipping the ports
 * that any policy names (they are kept for requests by number).
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
 * the reason in text ("port 10445 in use"). */
uint32_t registry_claim(struct registry *r, const struct relay_config *cfg,
	    const char *id, uint64_t gen, const char *service, uint16_t want,
	    uint64_t now_ms, uint16_t *port, char *text, size_t len);
/* Give back a port gen holds (unregister, failed bind): free at once. */
void	registry_release(struct registry *r, uint16_t port, uint64_t gen);
/* May gen (identity id) still serve port, under cfg's policy?  MUX_CODE_NONE
 * or the code that says why not, with text. */
uint32_t registry_check(struct registry *r, const struct relay_config *cfg,
	    const char *id, uint64_t gen, uint16_t port, char *text,
	    size_t len);
/* Live identities (for limits and tests). */
size_t	registry_nagents(struct registry *r);

#endif
