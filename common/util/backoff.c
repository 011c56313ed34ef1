/*
 * backoff.c — see backoff.h.  Full jitter (AWS architecture blog, "Exponential
 * Backoff And Jitter"): spreads reconnecting agents over the whole window, so
 * a relay restart does not bring every agent back in the same second.
 */
#include "backoff.h"

#define BACKOFF_RESET_FLOOR_MS	10000ULL
#define BACKOFF_RESET_CEIL_MS	30000ULL

void
backoff_init(struct backoff *b, uint64_t initial_ms, uint64_t max_ms)
{
	if (initial_ms == 0)
		initial_ms = 1;
	if (max_ms < initial_ms)
		max_ms = initial_ms;
	b->initial_ms = initial_ms;
	b->max_ms = max_ms;
	b->attempt = 0;
}

uint64_t
backoff_cap(const struct backoff *b)
{
	uint64_t cap = b->initial_ms;
	uint32_t i;

	/* Double until max; stop before a shift could wrap. */
	for (i = 0; i < b->attempt && cap < b->max_ms; i++) {
		if (cap > b->max_ms / 2) {
			cap = b->max_ms;
			break;
		}
		cap *= 2;
	}
	return cap < b->max_ms ? cap : b->max_ms;
}

uint64_t
backoff_next(struct backoff *b, uint64_t rnd)
{
	uint64_t cap = backoff_cap(b);
	uint64_t d;

	/* cap + 1 cannot wrap unless cap is UINT64_MAX. */
	d = cap == UINT64_MAX ? rnd : rnd % (cap + 1);
	if (b->attempt < UINT32_MAX)
		b->attempt++;
	return d;
}

void
backoff_reset(struct backoff *b)
{
	b->attempt = 0;
}

int
backoff_should_reset(const struct backoff *b, uint64_t up_ms)
{
	uint64_t need = b->initial_ms;

	need = need > UINT64_MAX / 2 ? UINT64_MAX : need * 2;
	if (need < BACKOFF_RESET_FLOOR_MS)
		need = BACKOFF_RESET_FLOOR_MS;
	if (need > BACKOFF_RESET_CEIL_MS)
		need = BACKOFF_RESET_CEIL_MS;
	return up_ms >= need;
}
