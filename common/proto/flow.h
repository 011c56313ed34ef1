/*
 * flow.h — window arithmetic for the tunnel's flow control (PROTOCOL.md
 * section 4), alone, so it can be tested alone.  No allocation, no I/O.
 *
 * Receive side (struct flow_recv), per stream and per tunnel:
 *   window   the size we advertised (it only grows, by auto-tuning);
 *   used     bytes received and not yet credited back to the peer;
 *   pending  bytes of `used` our consumer has taken (left the process) and
 *            that the next WINDOW_UPDATE will credit;
 *   epoch_us, epoch_bytes  auto-tuning: when the current measuring epoch
 *            began (the caller's clock, µs, wrapping every 71 minutes: an
 *            epoch judged after an idle hour or more may read too fast
 *            once, and the next judgement undoes what that did) and the
 *            bytes our consumer took since (saturating at 2^30-1, above
 *            the half of any window that judges an epoch);
 *   settled  auto-tuning: the window was once cut to what the path
 *            carries; it grows again only when the path clearly carries
 *            more, and by half, not by doubling;
 *   grown    auto-tuning: the window grew at the last judgement, so the
 *            current epoch still measures, for a round trip, the smaller
 *            window before it: it may not cut.
 * Invariant: pending <= used <= window <= FLOW_WINDOW_MAX.
 *
 * Send side: a plain uint32_t credit, at most FLOW_WINDOW_MAX.
 */
#ifndef ATLAX_FLOW_H
#define ATLAX_FLOW_H

#include <stddef.h>
#include <stdint.h>

#define FLOW_WINDOW_MAX	0x7fffffffU	/* 2^31-1 */
#define FLOW_RTT_MAX	60000000U	/* µs: a longer RTT counts as this */

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
	uint32_t	epoch_us;
	uint32_t	epoch_bytes:30;	/* bit-fields: an idle stream's size */
	uint32_t	settled:1;
	uint32_t	grown:1;
};

/* What auto-tuning may do with a window (flow_recv_tune()). */
struct flow_tune {
	uint32_t	max;	/* grow to at most this */
	uint32_t	floor;	/* never cut below this */
	uint32_t	rtt_us;	/* the path's minimum RTT; 0: unknown */
	uint32_t	slack;	/* bytes a full window needs beyond rate x
				   RTT: credit not yet returned, a frame */
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
 * How many consumed bytes are worth a WINDOW_UPDATE: min(window / 8,
 * 2 x unit), at least 1, where unit is the largest DATA frame the peer may
 * send us.  Small enough that the sender rarely waits for credit (on
 * average half of it sits here, 1/16 of the window: >= 90% of window/RTT);
 * large enough that there are at most about two updates per full frame of
 * data, stream and tunnel together (PROTOCOL.md section 4).
 */
uint32_t flow_recv_threshold(const struct flow_recv *f, uint32_t unit);
/*
 * The increment to send in a WINDOW_UPDATE now, or 0 for none: once pending
 * reaches flow_recv_threshold(); with force, any pending amount goes.  A
 * non-zero return is credited (used -= pending).
 */
uint32_t flow_recv_update(struct flow_recv *f, uint32_t unit, int force);
/*
 * Auto-tuning, called with the increment of a WINDOW_UPDATE about to be sent;
 * returns the increment to send instead.  Once the consumer has taken at
 * least half the window since the epoch began, at least half a minimum RTT
 * ago, the epoch is judged and a new one begins at now_us.  The bytes it
 * took, scaled to one minimum RTT, are what the path carries per round
 * trip as this stream sees it (`base`, its bandwidth-delay product);
 * q = window - base is what the window holds beyond that, bytes that can
 * only wait in queues (as in TCP Vegas):
 *  - q < window / 4 (once settled: q < slack / 2): the window, not the
 *    path, limits the rate; the window doubles (once settled: grows by
 *    max(window / 2, slack)), up to t->max, the growth added to the
 *    increment; right after a doubling, the epoch measured the window
 *    before it, so the test is base > 3/4 of that half window instead
 *    (doubling once per round trip, like TCP's slow start);
 *  - q > base / 4 + 2 x slack, and the window did not grow at the last
 *    judgement: the window is cut to max(t->floor, base x
 *    17/16 + slack) by crediting less, at most the increment; the epoch
 *    goes on, so the next updates cut the rest; the window is settled;
 *  - otherwise it stays.
 * A new epoch begins at now_us after each judgement but a partial cut.
 * Consumption, not arrival, drives it: a slow consumer never grows its
 * window.  The RTT must be the path's minimum, not a smoothed one that
 * includes the queues this stream fills itself.  t->rtt_us 0 (unknown):
 * nothing changes.
 */
uint32_t flow_recv_tune(struct flow_recv *f, const struct flow_tune *t,
	    uint32_t now_us, uint32_t inc);
/* Start a measuring epoch at now_us (a new stream). */
void	flow_recv_epoch(struct flow_recv *f, uint32_t now_us);
/* Forget bytes that will never be consumed nor credited on this window
 * (stream freed): returns the bytes received and not yet credited. */
uint32_t flow_recv_drop(struct flow_recv *f);

/* Peer granted inc more bytes: 0, FLOW_EZERO or FLOW_EOVERFLOW (unchanged). */
int	flow_send_grant(uint32_t *credit, uint32_t inc);
/* We sent n <= *credit bytes. */
void	flow_send_take(uint32_t *credit, size_t n);

const char *flow_strerror(int err);

#endif
