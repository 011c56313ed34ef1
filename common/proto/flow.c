/*
 * flow.c — see flow.h.  All comparisons are made against remaining room
 * (window - used, FLOW_WINDOW_MAX - credit), never on sums that could wrap.
 */
#include "flow.h"

void
flow_recv_init(struct flow_recv *f, uint32_t window)
{
	if (window == 0)
		window = 1;
	if (window > FLOW_WINDOW_MAX)
		window = FLOW_WINDOW_MAX;
	f->window = window;
	f->used = 0;
	f->pending = 0;
	f->epoch_ms = 0;
	f->epoch_bytes = 0;
}

uint32_t
flow_recv_avail(const struct flow_recv *f)
{
	return f->window - f->used;
}

int
flow_recv_data(struct flow_recv *f, size_t n)
{
	if (n > (size_t)(f->window - f->used))
		return FLOW_EEXCEED;
	f->used += (uint32_t)n;
	return 0;
}

int
flow_recv_consume(struct flow_recv *f, size_t n)
{
	if (n > (size_t)(f->used - f->pending))
		return FLOW_EINVAL;
	f->pending += (uint32_t)n;
	/* Saturating: an epoch is judged once it passes window / 2. */
	if (n > UINT32_MAX - f->epoch_bytes)
		f->epoch_bytes = UINT32_MAX;
	else
		f->epoch_bytes += (uint32_t)n;
	return 0;
}

uint32_t
flow_recv_threshold(const struct flow_recv *f, uint32_t unit)
{
	uint32_t	t = f->window / 8;

	if (unit <= UINT32_MAX / 2 && t > 2 * unit)
		t = 2 * unit;
	return t > 0 ? t : 1;
}

uint32_t
flow_recv_update(struct flow_recv *f, uint32_t unit, int force)
{
	uint32_t	inc = 0;

	if (f->pending == 0 ||
	    (!force && f->pending < flow_recv_threshold(f, unit)))
		goto out;
	inc = f->pending;
	f->used -= inc;
	f->pending = 0;
out:
	return inc;
}

void
flow_recv_epoch(struct flow_recv *f, uint32_t now_ms)
{
	f->epoch_ms = now_ms;
	f->epoch_bytes = 0;
}

uint32_t
flow_recv_tune(struct flow_recv *f, uint32_t max, uint32_t now_ms,
    uint32_t rtt_ms)
{
	uint64_t	elapsed;
	uint32_t	grow = 0;

	if (max > FLOW_WINDOW_MAX)
		max = FLOW_WINDOW_MAX;
	if (rtt_ms == 0 || max <= f->window)
		goto out;
	if (rtt_ms > FLOW_RTT_MAX)
		rtt_ms = FLOW_RTT_MAX;
	/* Too early to judge: the epoch goes on. */
	if (f->epoch_bytes < f->window / 2)
		goto out;
	elapsed = (uint32_t)(now_ms - f->epoch_ms);
	/* Rate >= window / (2 rtt), i.e. elapsed x window < 2 x bytes x
	 * rtt; in 64 bits, no product can wrap (each factor < 2^32). */
	if (elapsed * f->window < 2 * (uint64_t)f->epoch_bytes * rtt_ms) {
		grow = max - f->window < f->window ? max - f->window :
		    f->window;
		f->window += grow;
	}
	flow_recv_epoch(f, now_ms);
out:
	return grow;
}

uint32_t
flow_recv_drop(struct flow_recv *f)
{
	uint32_t	n = f->used;

	f->used = 0;
	f->pending = 0;
	return n;
}

int
flow_send_grant(uint32_t *credit, uint32_t inc)
{
	if (inc == 0)
		return FLOW_EZERO;
	if (*credit > FLOW_WINDOW_MAX || inc > FLOW_WINDOW_MAX - *credit)
		return FLOW_EOVERFLOW;
	*credit += inc;
	return 0;
}

void
flow_send_take(uint32_t *credit, size_t n)
{
	*credit -= n > *credit ? *credit : (uint32_t)n;
}

const char *
flow_strerror(int err)
{
	switch (err) {
	case 0:
		return "success";
	case FLOW_EEXCEED:
		return "data beyond the flow-control window";
	case FLOW_EOVERFLOW:
		return "flow-control window pushed past 2^31-1";
	case FLOW_EZERO:
		return "window update with zero increment";
	case FLOW_EINVAL:
		return "consumed more bytes than were received";
	}
	return "unknown flow error";
}
