/*
 * check_flow.c — window arithmetic (common/proto/flow.c): overflow, zero
 * increments, the half-window rule, consumption bounds.
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

START_TEST(test_half_window_rule)
{
	struct flow_recv	f;

	flow_recv_init(&f, 100);
	ck_assert_int_eq(flow_recv_data(&f, 100), 0);
	ck_assert_int_eq(flow_recv_consume(&f, 49), 0);
	ck_assert_uint_eq(flow_recv_update(&f, 0), 0);	/* 49 < 50 */
	ck_assert_int_eq(flow_recv_consume(&f, 1), 0);
	ck_assert_uint_eq(flow_recv_update(&f, 0), 50);	/* reached half */
	ck_assert_uint_eq(f.used, 50);
	ck_assert_uint_eq(f.pending, 0);
	ck_assert_uint_eq(flow_recv_avail(&f), 50);
	ck_assert_uint_eq(flow_recv_update(&f, 0), 0);	/* nothing pending */
	ck_assert_int_eq(flow_recv_consume(&f, 10), 0);
	ck_assert_uint_eq(flow_recv_update(&f, 0), 0);
	ck_assert_uint_eq(flow_recv_update(&f, 1), 10);	/* forced */
	ck_assert_uint_eq(flow_recv_update(&f, 1), 0);	/* never a 0 update */
}
END_TEST

START_TEST(test_tiny_windows)
{
	struct flow_recv	f;

	flow_recv_init(&f, 1);		/* half of 1 rounds to 1, not 0 */
	ck_assert_int_eq(flow_recv_data(&f, 1), 0);
	ck_assert_uint_eq(flow_recv_update(&f, 0), 0);
	ck_assert_int_eq(flow_recv_consume(&f, 1), 0);
	ck_assert_uint_eq(flow_recv_update(&f, 0), 1);
	flow_recv_init(&f, 0);		/* clamped to 1 */
	ck_assert_uint_eq(f.window, 1);
	flow_recv_init(&f, UINT32_MAX);	/* clamped to 2^31-1 */
	ck_assert_uint_eq(f.window, FLOW_WINDOW_MAX);
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
	tcase_add_test(tc, test_half_window_rule);
	tcase_add_test(tc, test_tiny_windows);
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
