/*
 * check_flow.c — window arithmetic (common/proto/flow.c): overflow, zero
 * increments, the credit-return rule, auto-tuning, consumption bounds.
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flow.h"

START_TEST(test_recv_window)
{
	struct flow_recv	f;

	flow_recv_init(&f, 100);
	ck_assert_uint_eq(flow_recv_avail(&f), 100);
	ck_assert_int_eq(flow_recv_data(&f, 60), 0);
	ck_assert_uint_eq(flow_recv_avail(&f), 40);
	ck_assert_int_eq(flow_recv_data(&f, 41), FLOW_EEXCEED);
	ck_assert_uint_eq(f.used, 60);		/* unchanged on error */
	ck_assert_int_eq(flow_recv_data(&f, 40), 0);
	ck_assert_uint_eq(flow_recv_avail(&f), 0);
	ck_assert_int_eq(flow_recv_data(&f, 1), FLOW_EEXCEED);
	ck_assert_int_eq(flow_recv_data(&f, 0), 0);
	/* A huge size_t must not wrap into acceptance. */
	ck_assert_int_eq(flow_recv_data(&f, SIZE_MAX), FLOW_EEXCEED);
}
END_TEST

/* Credit goes back once min(window / 8, 2 frames) is consumed. */
START_TEST(test_credit_rule)
{
	struct flow_recv	f;

	/* 1 MiB window, 128 KiB frames: an eighth, 128 KiB, wins. */
	flow_recv_init(&f, 1 << 20);
	ck_assert_uint_eq(flow_recv_threshold(&f, 128 << 10), 128 << 10);
	ck_assert_int_eq(flow_recv_data(&f, 1 << 20), 0);
	ck_assert_int_eq(flow_recv_consume(&f, (128 << 10) - 1), 0);
	ck_assert_uint_eq(flow_recv_update(&f, 128 << 10, 0), 0);
	ck_assert_int_eq(flow_recv_consume(&f, 1), 0);
	ck_assert_uint_eq(flow_recv_update(&f, 128 << 10, 0), 128 << 10);
	ck_assert_uint_eq(f.used, (1 << 20) - (128 << 10));
	ck_assert_uint_eq(f.pending, 0);
	ck_assert_uint_eq(flow_recv_avail(&f), 128 << 10);
	ck_assert_uint_eq(flow_recv_update(&f, 128 << 10, 0), 0);
	/* 16 KiB frames: two of them, 32 KiB, win over 128 KiB. */
	ck_assert_uint_eq(flow_recv_threshold(&f, 16 << 10), 32 << 10);
	ck_assert_int_eq(flow_recv_consume(&f, 32 << 10), 0);
	ck_assert_uint_eq(flow_recv_update(&f, 16 << 10, 0), 32 << 10);
	/* Forced: any pending amount, never an update of 0. */
	ck_assert_int_eq(flow_recv_consume(&f, 10), 0);
	ck_assert_uint_eq(flow_recv_update(&f, 16 << 10, 0), 0);
	ck_assert_uint_eq(flow_recv_update(&f, 16 << 10, 1), 10);
	ck_assert_uint_eq(flow_recv_update(&f, 16 << 10, 1), 0);
	/* A huge unit cannot wrap 2 x unit. */
	ck_assert_uint_eq(flow_recv_threshold(&f, UINT32_MAX), (1 << 20) / 8);
}
END_TEST

START_TEST(test_tiny_windows)
{
	struct flow_recv	f;

	flow_recv_init(&f, 1);		/* an eighth of 1 rounds to 1, not 0 */
	ck_assert_uint_eq(flow_recv_threshold(&f, 1024), 1);
	ck_assert_int_eq(flow_recv_data(&f, 1), 0);
	ck_assert_uint_eq(flow_recv_update(&f, 1024, 0), 0);
	ck_assert_int_eq(flow_recv_consume(&f, 1), 0);
	ck_assert_uint_eq(flow_recv_update(&f, 1024, 0), 1);
	flow_recv_init(&f, 0);		/* clamped to 1 */
	ck_assert_uint_eq(f.window, 1);
	flow_recv_init(&f, UINT32_MAX);	/* clamped to 2^31-1 */
	ck_assert_uint_eq(f.window, FLOW_WINDOW_MAX);
}
END_TEST

/*
 * A path for one stream, in simulated milliseconds: the sender puts all its
 * credit into the bottleneck's queue, the bottleneck moves `rate` bytes a
 * ms into a pipe of rtt / 2, the receiver consumes what arrives (at most
 * `consume` a ms, 0: all) and its WINDOW_UPDATEs take rtt / 2 back.  The
 * receiver tunes with the path's true minimum RTT, as the mux does with its
 * PINGs.  rate2, from ms `change` on, is a path that slows down.
 */
struct path {
	uint32_t	rtt, rate, consume, window, max, ms, from;
	uint32_t	rate2, change;
	/* Results. */
	double		got;		/* bytes per ms from `from` on */
	uint32_t	end_window;
	uint32_t	top_window;	/* the largest on the way */
	uint64_t	end_queue;	/* bottleneck queue at the end */
	uint64_t	top_queue_late;	/* largest queue from `from` on */
};

#define PATH_SLOTS	256

static void
path_run(struct path *p)
{
	static uint64_t		fwd[PATH_SLOTS], back[PATH_SLOTS];
	struct flow_recv	f;
	struct flow_tune	t;
	uint64_t		credit, queue = 0, buffered = 0, got = 0, n;
	uint32_t		now, d = p->rtt / 2, inc, rate, slot;

	ck_assert_uint_lt(d, PATH_SLOTS);
	memset(fwd, 0, sizeof(fwd));
	memset(back, 0, sizeof(back));
	flow_recv_init(&f, p->window);
	flow_recv_epoch(&f, 0);
	t.max = p->max;
	t.floor = p->window;
	t.rtt_us = p->rtt > 0 ? p->rtt : 1;
	t.slack = 2 * 16384;
	credit = p->window;
	p->top_window = f.window;
	p->top_queue_late = 0;
	for (now = 0; now < p->ms; now++) {
		slot = now % (d + 1);
		/* Arrivals, then the consumer and its credit. */
		ck_assert_int_eq(flow_recv_data(&f, fwd[slot]), 0);
		buffered += fwd[slot];
		fwd[slot] = 0;
		n = buffered;
		if (p->consume > 0 && n > p->consume)
			n = p->consume;
		ck_assert_int_eq(flow_recv_consume(&f, n), 0);
		buffered -= n;
		if (now >= p->from)
			got += n;
		if ((inc = flow_recv_update(&f, 16384, 0)) != 0)
			inc = flow_recv_tune(&f, &t, now, inc);
		ck_assert_uint_le(f.used, f.window);
		credit += back[slot];
		back[slot] = 0;
		back[(now + d) % (d + 1)] += inc;
		/* The sender sends all its credit; the bottleneck queues. */
		queue += credit;
		credit = 0;
		rate = p->change > 0 && now >= p->change ? p->rate2 : p->rate;
		n = queue < rate ? queue : rate;
		queue -= n;
		fwd[(now + d) % (d + 1)] += n;
		if (f.window > p->top_window)
			p->top_window = f.window;
		if (now >= p->from && queue > p->top_queue_late)
			p->top_queue_late = queue;
	}
	p->got = (double)got / (p->ms - p->from);
	p->end_window = f.window;
	p->end_queue = queue;
}

/*
 * Windows bounded by the path's bandwidth-delay product: grown while the
 * window limits the rate, not beyond what the path carries, cut back when a
 * path slows down; a slow consumer never grows its window.
 */
START_TEST(test_tune_path)
{
	struct path	p;
	uint64_t	bdp;

	/* 1 Gbit/s at 50 ms (6.25 MB in flight) from 1 MiB, max 16 MiB:
	 * >= 90% of the link, a window of 1-4 x the BDP, and the queue in
	 * front of the bottleneck a fraction of it. */
	memset(&p, 0, sizeof(p));
	p.rtt = 50;
	p.rate = 125000;
	p.window = 1 << 20;
	p.max = 16 << 20;
	p.ms = 6000;
	p.from = 3000;
	path_run(&p);
	bdp = (uint64_t)p.rate * p.rtt;
	fprintf(stderr, "flow: 1 Gbit/s, 50 ms: %.1f%% of the link, window "
	    "%u KiB (largest %u KiB, BDP %llu KiB), queue %llu KiB at most "
	    "from 3 s\n", 100 * p.got / p.rate, p.end_window >> 10,
	    p.top_window >> 10, (unsigned long long)bdp >> 10,
	    (unsigned long long)p.top_queue_late >> 10);
	ck_assert(p.got >= 0.90 * p.rate);
	ck_assert_uint_ge(p.end_window, bdp);
	ck_assert_uint_le(p.end_window, 4 * bdp);
	ck_assert_uint_lt(p.end_window, 16 << 20);
	ck_assert_uint_le(p.top_queue_late, bdp / 4);

	/* 100 Mbit/s at 100 ms from 256 KiB: the same, slower. */
	memset(&p, 0, sizeof(p));
	p.rtt = 100;
	p.rate = 12500;
	p.window = 256 << 10;
	p.max = 16 << 20;
	p.ms = 8000;
	p.from = 5000;
	path_run(&p);
	bdp = (uint64_t)p.rate * p.rtt;
	ck_assert(p.got >= 0.90 * p.rate);
	ck_assert_uint_ge(p.end_window, bdp);
	ck_assert_uint_le(p.end_window, 4 * bdp);

	/* A short RTT: the configured window is the floor and is enough. */
	memset(&p, 0, sizeof(p));
	p.rtt = 2;
	p.rate = 125000;
	p.window = 1 << 20;
	p.max = 16 << 20;
	p.ms = 2000;
	p.from = 1000;
	path_run(&p);
	ck_assert(p.got >= 0.90 * p.rate);
	ck_assert_uint_eq(p.end_window, 1 << 20);

	/* The path slows to a tenth at 3 s: the window follows it down to
	 * within 4 x the new BDP (never below the floor), and the queue
	 * the old window would keep drains. */
	memset(&p, 0, sizeof(p));
	p.rtt = 50;
	p.rate = 125000;
	p.rate2 = 12500;
	p.change = 3000;
	p.window = 256 << 10;
	p.max = 16 << 20;
	p.ms = 9000;
	p.from = 6000;
	path_run(&p);
	bdp = (uint64_t)p.rate2 * p.rtt;
	fprintf(stderr, "flow: 1 Gbit/s then 100 Mbit/s at 50 ms: window "
	    "%u KiB (largest %u KiB, new BDP %llu KiB), %.1f%% of the link, "
	    "queue %llu KiB at the end\n", p.end_window >> 10,
	    p.top_window >> 10, (unsigned long long)bdp >> 10,
	    100 * p.got / p.rate2, (unsigned long long)p.end_queue >> 10);
	ck_assert_uint_gt(p.top_window, 4 * bdp);
	ck_assert_uint_le(p.end_window, 4 * bdp);
	ck_assert(p.got >= 0.90 * p.rate2);
	ck_assert_uint_le(p.end_queue, bdp);

	/* A consumer slower than the path (1 MB/s on 1 Gbit/s, 50 ms)
	 * never grows its window. */
	memset(&p, 0, sizeof(p));
	p.rtt = 50;
	p.rate = 125000;
	p.consume = 1000;
	p.window = 256 << 10;
	p.max = 16 << 20;
	p.ms = 5000;
	p.from = 1000;
	path_run(&p);
	ck_assert_uint_eq(p.top_window, 256 << 10);
	ck_assert(p.got >= 990);
}
END_TEST

/*
 * One step of a receiver: `arrive` bytes come in, `took` bytes are consumed
 * and credited at once, and the credit goes through auto-tuning at `now`:
 * returns the increment that would be sent.
 */
static uint32_t
step(struct flow_recv *f, const struct flow_tune *t, uint32_t arrive,
    uint32_t took, uint32_t now)
{
	if (arrive > 0)
		ck_assert_int_eq(flow_recv_data(f, arrive), 0);
	ck_assert_int_eq(flow_recv_consume(f, took), 0);
	ck_assert_uint_eq(flow_recv_update(f, 16384, 1), took);
	return flow_recv_tune(f, t, now, took);
}

/* The arithmetic of one judgement. */
START_TEST(test_tune)
{
	struct flow_recv	f;
	struct flow_tune	t = { 4000, 1000, 10, 100 };

	/* Judged only past half a window: until then the epoch goes on and
	 * the increment is unchanged. */
	flow_recv_init(&f, 1000);
	flow_recv_epoch(&f, 50);
	ck_assert_uint_eq(step(&f, &t, 1000, 499, 51), 499);
	ck_assert_uint_eq(f.epoch_us, 50);
	/* Half a window, but in less than half a round trip: a burst, not
	 * the path's rate; the epoch goes on. */
	ck_assert_uint_eq(step(&f, &t, 0, 1, 54), 1);
	ck_assert_uint_eq(f.window, 1000);
	ck_assert_uint_eq(f.epoch_us, 50);
	/* 800 bytes in 10 ms at 10 ms: base 800, q 200 < 1000 / 4: doubles,
	 * the growth on top of the increment, a new epoch. */
	ck_assert_uint_eq(step(&f, &t, 0, 300, 60), 1300);
	ck_assert_uint_eq(f.window, 2000);
	ck_assert_uint_eq(f.epoch_us, 60);
	ck_assert_uint_eq(f.epoch_bytes, 0);
	ck_assert_uint_eq(f.settled, 0);
	/* 1000 bytes in 20 ms: base 500, q 1500 > 500 / 4 + 200; but this
	 * epoch measured the window before the growth: no cut. */
	ck_assert_uint_eq(step(&f, &t, 1800, 1000, 80), 1000);
	ck_assert_uint_eq(f.window, 2000);
	ck_assert_uint_eq(f.epoch_us, 80);
	/* The same again: cut to max(floor 1000, 500 + 31 + 100), at most
	 * the increment now. */
	ck_assert_uint_eq(step(&f, &t, 1000, 1000, 100), 0);
	ck_assert_uint_eq(f.window, 1000);
	ck_assert_uint_eq(f.settled, 1);
	ck_assert_uint_le(f.used, f.window);
	ck_assert_uint_eq(flow_recv_avail(&f), 0);	/* the peer's credit */
	/* Settled: 500 bytes in 4 ms is less than half a round trip; 500
	 * more by 10 ms ... */
	ck_assert_uint_eq(step(&f, &t, 0, 500, 104), 500);
	ck_assert_uint_eq(f.epoch_us, 100);
	/* ... q = 1000 - 1000 is below slack / 2: grows, by half, not
	 * double. */
	ck_assert_uint_eq(step(&f, &t, 500, 500, 110), 500 + 500);
	ck_assert_uint_eq(f.window, 1500);
	ck_assert_uint_eq(f.settled, 1);
	/* Settled, 900 bytes in 10 ms: q = 1500 - 900 is not below slack
	 * / 2; above base / 4 + 2 x slack, but the epoch measured the window
	 * before the growth: it stays. */
	ck_assert_uint_eq(step(&f, &t, 1000, 900, 120), 900);
	ck_assert_uint_eq(f.window, 1500);
	ck_assert_uint_eq(f.epoch_us, 120);

	/* No RTT: nothing changes, the epoch goes on. */
	t.rtt_us = 0;
	ck_assert_uint_eq(flow_recv_avail(&f), 900);
	ck_assert_uint_eq(step(&f, &t, 900, 1500, 200), 1500);
	ck_assert_uint_eq(f.window, 1500);
	ck_assert_uint_eq(f.epoch_us, 120);
	/* At the max: no growth beyond it; a huge RTT is clamped to
	 * FLOW_RTT_MAX (an epoch half that long is judged) and no product
	 * wraps. */
	t.rtt_us = UINT32_MAX;
	t.max = 1500;
	ck_assert_uint_eq(flow_recv_tune(&f, &t,
	    120 + FLOW_RTT_MAX / 2 - 1, 1500), 1500);
	ck_assert_uint_eq(f.epoch_us, 120);	/* under half a round trip */
	ck_assert_uint_eq(flow_recv_tune(&f, &t,
	    120 + FLOW_RTT_MAX / 2, 1500), 1500);
	ck_assert_uint_eq(f.window, 1500);
	ck_assert_uint_eq(f.epoch_us, 120 + FLOW_RTT_MAX / 2);	/* judged */
	/* epoch_bytes saturates below 2^31. */
	flow_recv_init(&f, FLOW_WINDOW_MAX);
	ck_assert_int_eq(flow_recv_data(&f, FLOW_WINDOW_MAX), 0);
	ck_assert_int_eq(flow_recv_consume(&f, FLOW_WINDOW_MAX - 1), 0);
	ck_assert_int_eq(flow_recv_consume(&f, 1), 0);
	ck_assert_uint_eq(f.epoch_bytes, FLOW_WINDOW_MAX / 2);
}
END_TEST

START_TEST(test_tune_slow_start)
{
	struct flow_recv	f;
	struct flow_tune	t = { 16000, 1000, 10, 100 };

	/* Right after a doubling, the epoch measured the window before it:
	 * if that was still the limit (base 1000 > 3/4 of it), the window
	 * doubles again, a round trip later, not two. */
	flow_recv_init(&f, 1000);
	flow_recv_epoch(&f, 0);
	ck_assert_uint_eq(step(&f, &t, 1000, 800, 10), 800 + 1000);
	ck_assert_uint_eq(step(&f, &t, 1800, 1000, 20), 1000 + 2000);
	ck_assert_uint_eq(f.window, 4000);
	ck_assert_uint_eq(f.grown, 1);
	/* Then the path's ceiling: 1400 bytes a round trip is under 3/4 of
	 * the 2000 measured: no growth; the next judgement may cut. */
	ck_assert_uint_eq(step(&f, &t, 2000, 2000, 34), 2000);
	ck_assert_uint_eq(f.window, 4000);
	ck_assert_uint_eq(f.grown, 0);
	ck_assert_uint_eq(step(&f, &t, 2000, 2800, 54), 2800 - 2413);
	ck_assert_uint_eq(f.window, 1587);	/* 1400 x 17/16 + 100 */
	ck_assert_uint_eq(f.settled, 1);
}
END_TEST

START_TEST(test_consume_bounds)
{
	struct flow_recv	f;

	flow_recv_init(&f, 1000);
	ck_assert_int_eq(flow_recv_consume(&f, 1), FLOW_EINVAL);
	ck_assert_int_eq(flow_recv_data(&f, 10), 0);
	ck_assert_int_eq(flow_recv_consume(&f, 11), FLOW_EINVAL);
	ck_assert_int_eq(flow_recv_consume(&f, 10), 0);
	ck_assert_int_eq(flow_recv_consume(&f, 1), FLOW_EINVAL);
	ck_assert_int_eq(flow_recv_consume(&f, SIZE_MAX), FLOW_EINVAL);
	ck_assert_uint_eq(flow_recv_drop(&f), 10);
	ck_assert_uint_eq(f.used, 0);
	ck_assert_uint_eq(f.pending, 0);
}
END_TEST

START_TEST(test_send_grant)
{
	uint32_t	c = 0;

	ck_assert_int_eq(flow_send_grant(&c, 0), FLOW_EZERO);
	ck_assert_int_eq(flow_send_grant(&c, FLOW_WINDOW_MAX), 0);
	ck_assert_uint_eq(c, FLOW_WINDOW_MAX);
	ck_assert_int_eq(flow_send_grant(&c, 1), FLOW_EOVERFLOW);
	ck_assert_uint_eq(c, FLOW_WINDOW_MAX);		/* unchanged */
	c = 10;
	ck_assert_int_eq(flow_send_grant(&c, FLOW_WINDOW_MAX - 10), 0);
	ck_assert_int_eq(flow_send_grant(&c, UINT32_MAX), FLOW_EOVERFLOW);
	c = 5;
	ck_assert_int_eq(flow_send_grant(&c, UINT32_MAX), FLOW_EOVERFLOW);
	ck_assert_int_eq(flow_send_grant(&c, 0x80000000U), FLOW_EOVERFLOW);
	flow_send_take(&c, 3);
	ck_assert_uint_eq(c, 2);
	flow_send_take(&c, 3);		/* saturates, never wraps */
	ck_assert_uint_eq(c, 0);
}
END_TEST

START_TEST(test_strerror)
{
	ck_assert_str_eq(flow_strerror(FLOW_EEXCEED),
	    "data beyond the flow-control window");
	ck_assert_str_eq(flow_strerror(FLOW_EOVERFLOW),
	    "flow-control window pushed past 2^31-1");
	ck_assert_str_eq(flow_strerror(FLOW_EZERO),
	    "window update with zero increment");
	ck_assert_str_eq(flow_strerror(-99), "unknown flow error");
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("flow");
	TCase	*tc = tcase_create("flow");
	SRunner	*sr;
	int	 failed;

	tcase_add_test(tc, test_recv_window);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_credit_rule);
	tcase_add_test(tc, test_tiny_windows);
	tcase_add_test(tc, test_tune);
	tcase_add_test(tc, test_tune_slow_start);
	tcase_add_test(tc, test_tune_path);
	tcase_add_test(tc, test_consume_bounds);
	tcase_add_test(tc, test_send_grant);
	tcase_add_test(tc, test_strerror);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
