/*
 * check_flow.c — window arithmetic (common/proto/flow.c): overflow, zero
 * increments, the credit-return rule, auto-tuning, consumption bounds.
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>

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

/* Consume window-sized epochs at a given rate; return the window after. */
static uint32_t
tune_run(struct flow_recv *f, uint32_t max, uint32_t rate_per_ms,
    uint32_t rtt, int epochs, uint32_t *now)
{
	uint32_t	chunk, inc;
	int		e;

	for (e = 0; e < epochs; e++) {
		/* The sender fills the window; the consumer drains it at
		 * rate_per_ms, returning credit by the rule. */
		ck_assert_int_eq(flow_recv_data(f, flow_recv_avail(f)), 0);
		while (f->used > f->pending) {
			chunk = f->used - f->pending < rate_per_ms ?
			    f->used - f->pending : rate_per_ms;
			*now += 1;
			ck_assert_int_eq(flow_recv_consume(f, chunk), 0);
			if ((inc = flow_recv_update(f, 16384, 0)) != 0)
				(void)flow_recv_tune(f, max, *now, rtt);
		}
		(void)flow_recv_update(f, 16384, 1);
	}
	return f->window;
}

START_TEST(test_tune)
{
	struct flow_recv	f;
	uint32_t		now = 0xfffff000U;	/* wraps on the way */

	/* Fast consumer (1 MB/ms against 64 KiB / 2 x 100 ms): doubles
	 * to the max, never beyond. */
	flow_recv_init(&f, 65536);
	flow_recv_epoch(&f, now);
	ck_assert_uint_eq(tune_run(&f, 1 << 20, 1 << 20, 100, 20, &now),
	    1 << 20);
	ck_assert_uint_le(f.used, f.window);

	/* A window that is not a power-of-two step of the max stops at it. */
	flow_recv_init(&f, 100000);
	flow_recv_epoch(&f, now);
	ck_assert_uint_eq(tune_run(&f, 300000, 1 << 20, 100, 20, &now),
	    300000);

	/* Slow consumer: 100 bytes/ms, below 65536 / (2 x 100 ms) = 327:
	 * never grows, however long. */
	flow_recv_init(&f, 65536);
	flow_recv_epoch(&f, now);
	ck_assert_uint_eq(tune_run(&f, 1 << 20, 100, 100, 20, &now), 65536);
	/* Just above that rate: it does. */
	flow_recv_init(&f, 65536);
	flow_recv_epoch(&f, now);
	ck_assert_uint_gt(tune_run(&f, 1 << 20, 400, 100, 4, &now), 65536);

	/* No RTT yet, or max <= window: never. */
	flow_recv_init(&f, 65536);
	flow_recv_epoch(&f, now);
	ck_assert_uint_eq(tune_run(&f, 1 << 20, 1 << 20, 0, 5, &now), 65536);
	ck_assert_uint_eq(tune_run(&f, 65536, 1 << 20, 100, 5, &now), 65536);

	/* Judged only past half a window: the growth and a new epoch. */
	flow_recv_init(&f, 1000);
	flow_recv_epoch(&f, 50);
	ck_assert_int_eq(flow_recv_data(&f, 1000), 0);
	ck_assert_int_eq(flow_recv_consume(&f, 499), 0);
	ck_assert_uint_eq(flow_recv_tune(&f, 4000, 51, 10), 0);
	ck_assert_uint_eq(f.epoch_ms, 50);		/* goes on */
	ck_assert_int_eq(flow_recv_consume(&f, 1), 0);
	ck_assert_uint_eq(flow_recv_tune(&f, 4000, 51, 10), 1000);
	ck_assert_uint_eq(f.window, 2000);
	ck_assert_uint_eq(f.epoch_ms, 51);
	ck_assert_uint_eq(f.epoch_bytes, 0);
	/* Too slow: 1000 bytes in 20 ms is not above 2000 / (2 x 10 ms)
	 * per ms; a new epoch, no growth. */
	ck_assert_int_eq(flow_recv_consume(&f, 500), 0);
	ck_assert_int_eq(flow_recv_data(&f, 1000), 0);
	ck_assert_int_eq(flow_recv_consume(&f, 500), 0);
	ck_assert_uint_eq(flow_recv_tune(&f, 4000, 71, 10), 0);
	ck_assert_uint_eq(f.window, 2000);
	ck_assert_uint_eq(f.epoch_ms, 71);
	/* A huge RTT is clamped, no product wraps. */
	ck_assert_int_eq(flow_recv_consume(&f, 500), 0);
	ck_assert_uint_eq(flow_recv_update(&f, 16384, 1), 2000);
	ck_assert_int_eq(flow_recv_data(&f, 2000), 0);
	ck_assert_int_eq(flow_recv_consume(&f, 1000), 0);
	ck_assert_uint_eq(flow_recv_tune(&f, FLOW_WINDOW_MAX, 72, UINT32_MAX),
	    2000);
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
