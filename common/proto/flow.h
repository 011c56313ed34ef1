/*
 * flow.h — window arithmetic for the tunnel's flow control (PROTOCOL.md
 * section 4), alone, so it can be tested alone.  No allocation, no I/O.
 *
 * Receive side (struct flow_recv), per stream and per tunnel:
 *   window   the size we advertised;
 *   used     bytes received and not yet credited back to the peer;
 *   pending  bytes of `used` our consumer has taken (left the process) and
 *            that the next WINDOW_UPDATE will credit.
 * Invariant: pending <= used <= window <= FLOW_WINDOW_MAX.
 *
 * Send side: a plain uint32_t credit, at most FLOW_WINDOW_MAX.
 */
#ifndef ATLAX_FLOW_H
#define ATLAX_FLOW_H

#include <stddef.h>
#include <stdint.h>

#define FLOW_WINDOW_MAX	0x7fffffffU	/* 2^31-1 */

enum flow_err {
	FLOW_EEXCEED = -1,	/* data beyond the window */
	FLOW_EOVERFLOW = -2,	/* credit pushed past 2^31-1 */
	FLOW_EZERO = -3,	/* zero increment */
	FLOW_EINVAL = -4,	/* consumed more than was received */
};

struct flow_recv {
	uint32_t	window;
	uint32_t	used;
	uint32_t	pending;
};

/* window must be 1 .. FLOW_WINDOW_MAX (clamped otherwise). */
void	flow_recv_init(struct flow_recv *f, uint32_t window);
/* Bytes the peer may still send. */
uint32_t flow_recv_avail(const struct flow_recv *f);
/* n bytes arrived: 0, or FLOW_EEXCEED (nothing changed). */
int	flow_recv_data(struct flow_recv *f, size_t n);
/* The consumer took n bytes: 0, or FLOW_EINVAL if n > used - pending. */
int	flow_recv_consume(struct flow_recv *f, size_t n);
/*
 * The increment to send in a WINDOW_UPDATE now, or 0 for none: the
 * half-window rule sends once pending >= max(window / 2, 1); with force, any
 * pending amount goes.  A non-zero return is credited (used -= pending).
 */
uint32_t flow_recv_update(struct flow_recv *f, int force);
/* Forget bytes that will never be consumed nor credited on this window
 * (stream freed): returns the bytes received and not yet credited. */
uint32_t flow_recv_drop(struct flow_recv *f);

/* Peer granted inc more bytes: 0, FLOW_EZERO or FLOW_EOVERFLOW (unchanged). */
int	flow_send_grant(uint32_t *credit, uint32_t inc);
/* We sent n <= *credit bytes. */
void	flow_send_take(uint32_t *credit, size_t n);

const char *flow_strerror(int err);

#endif
