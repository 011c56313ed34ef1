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
	return 0;
}

uint32_t
flow_recv_update(struct flow_recv *f, int force)
{
	uint32_t	half = f->window / 2, inc = 0;

	if (half == 0)
		half = 1;
	if (f->pending == 0 || (!force && f->pending < half))
		goto out;
	inc = f->pending;
	f->used -= inc;
	f->pending = 0;
out:
	return inc;
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
