/*
 * flow.c — see flow.h.  All comparisons are made against remaining room
 * (window - used, FLOW_WINDOW_MAX - credit), never on sums that could wrap.
 */
#include "flow.h"

/* epoch_bytes' bit-field saturates here: >= FLOW_WINDOW_MAX / 2. */
#define FLOW_EPOCH_MAX	0x3fffffffU

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
	f->epoch_us = 0;
	f->epoch_bytes = 0;
	f->settled = 0;
	f->grown = 0;
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
	if (n > FLOW_EPOCH_MAX - f->epoch_bytes)
		f->epoch_bytes = FLOW_EPOCH_MAX;
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
flow_recv_epoch(struct flow_recv *f, uint32_t now_us)
{
	f->epoch_us = now_us;
	f->epoch_bytes = 0;
}

/*
 * base = epoch_bytes x rtt / elapsed, in 64 bits: each factor is below 2^32,
 * so the product cannot wrap.  An epoch shorter than the clock's tick counts
 * as one tick: the clock cannot tell a faster path.
 */
static uint64_t
flow_recv_base(const struct flow_recv *f, uint32_t now_us, uint32_t rtt_us)
{
	uint64_t	elapsed = (uint32_t)(now_us - f->epoch_us);

	if (elapsed == 0)
		elapsed = 1;
	return (uint64_t)f->epoch_bytes * rtt_us / elapsed;
}

uint32_t
flow_recv_tune(struct flow_recv *f, const struct flow_tune *t,
    uint32_t now_us, uint32_t inc)
{
	uint64_t	base, q, target;
	uint32_t	max = t->max, rtt_us = t->rtt_us, grow, cut, step, prev;
	int		grown, full;

	if (max > FLOW_WINDOW_MAX)
		max = FLOW_WINDOW_MAX;
	if (rtt_us == 0)
		goto out;
	if (rtt_us > FLOW_RTT_MAX)
		rtt_us = FLOW_RTT_MAX;
	/* Too early to judge: the epoch goes on.  Less than half a round
	 * trip measures bursts, not the path: a consumer draining what a
	 * socket had buffered reads as many times the path's rate.  A sender
	 * limited by its window delivers half of it per half round trip, so
	 * this delays no growth. */
	if (f->epoch_bytes < f->window / 2 ||
	    (uint32_t)(now_us - f->epoch_us) < rtt_us / 2)
		goto out;
	base = flow_recv_base(f, now_us, rtt_us);
	q = base < f->window ? f->window - base : 0;
	grown = f->grown;
	f->grown = 0;
	full = q < (f->settled ? t->slack / 2 : f->window / 4);
	/* Right after a doubling, the epoch measured the window before it,
	 * half this one.  If that one was still the limit, the path has
	 * shown no ceiling yet: double again, once per round trip as TCP's
	 * slow start does, not every other one. */
	if (grown && !f->settled) {
		prev = f->window / 2;
		full = base > prev - prev / 4;
	}
	if (full) {
		flow_recv_epoch(f, now_us);
		if (max <= f->window)
			goto out;
		/* Once settled, the path's rate is near: a doubling would
		 * overshoot it and be cut at the next judgement. */
		step = f->window;
		if (f->settled)
			step = f->window / 2 > t->slack ? f->window / 2 :
			    t->slack;
		grow = max - f->window < step ? max - f->window : step;
		f->window += grow;
		f->grown = 1;
		return inc + grow;	/* <= 2 x FLOW_WINDOW_MAX < 2^32 */
	}
	target = base + base / 16 + t->slack;
	if (target < t->floor)
		target = t->floor;
	if (grown || q <= base / 4 + 2 * (uint64_t)t->slack ||
	    target >= f->window) {
		flow_recv_epoch(f, now_us);
		goto out;
	}
	/* Credit less: the peer's credit, and what it can have in flight,
	 * shrink by the same amount (window - used stays its credit).  A cut
	 * larger than this increment goes on at the next ones: the epoch,
	 * still past half a window, is judged again. */
	cut = f->window - (uint32_t)target < inc ?
	    f->window - (uint32_t)target : inc;
	f->window -= cut;
	f->settled = 1;
	if (f->window == target)
		flow_recv_epoch(f, now_us);
	return inc - cut;
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
