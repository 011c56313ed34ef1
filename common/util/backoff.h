/*
 * backoff.h — exponential reconnect backoff with full jitter, pure arithmetic.
 *
 * The n-th delay (n = 0, 1, ...) is drawn uniformly from [0, cap(n)] where
 * cap(n) = min(max, initial * 2^n).  The caller supplies the random value, so
 * the module has no state but the struct and is unit-tested exactly.  After a
 * connection that stayed up long enough the caller resets the sequence.
 */
#ifndef ATLAX_BACKOFF_H
#define ATLAX_BACKOFF_H

#include <stdint.h>

struct backoff {
	uint64_t initial_ms;	/* first cap; 0 is treated as 1 */
	uint64_t max_ms;	/* caps never exceed this (>= initial) */
	uint32_t attempt;	/* delays drawn since the last reset */
};

/* Start a sequence; max below initial is raised to initial. */
void	 backoff_init(struct backoff *b, uint64_t initial_ms, uint64_t max_ms);
/* The cap for the next delay: min(max, initial * 2^attempt), never wraps. */
uint64_t backoff_cap(const struct backoff *b);
/* The next delay: rnd % (cap + 1), then attempt++.  rnd is any 64-bit random
 * value (e.g. from arc4random or RAND_bytes). */
uint64_t backoff_next(struct backoff *b, uint64_t rnd);
/* Back to the first step. */
void	 backoff_reset(struct backoff *b);
/* Whether a connection that stayed up for up_ms earns a reset: it must have
 * lasted 2 * initial, clamped to [10 s, 30 s], so a relay that accepts and then
 * drops at once does not defeat the backoff. */
int	 backoff_should_reset(const struct backoff *b, uint64_t up_ms);

#endif
