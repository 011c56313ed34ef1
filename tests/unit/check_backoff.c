/*
 * check_backoff.c — the reconnect backoff: caps double up to max, the delay
 * stays within [0, cap], nothing wraps, reset rules.
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>

#include "backoff.h"

START_TEST(test_caps_double_to_max)
{
	struct backoff b;
	uint64_t want[] = { 1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000 };
	size_t i;

	backoff_init(&b, 1000, 60000);
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		ck_assert_uint_eq(backoff_cap(&b), want[i]);
		(void)backoff_next(&b, 0);
	}
}
END_TEST

START_TEST(test_delay_within_cap)
{
	struct backoff b;
	uint64_t d, cap;
	int i;

	srandom(42);
	backoff_init(&b, 500, 8000);
	for (i = 0; i < 1000; i++) {
		cap = backoff_cap(&b);
		d = backoff_next(&b, ((uint64_t)random() << 31) ^ (uint64_t)random());
		ck_assert_uint_le(d, cap);
	}
	/* rnd = cap gives exactly cap (the interval is closed). */
	backoff_reset(&b);
	ck_assert_uint_eq(backoff_next(&b, 500), 500);
	ck_assert_uint_eq(backoff_next(&b, 1001), 0);
	ck_assert_uint_eq(backoff_next(&b, UINT64_MAX), UINT64_MAX % 2001);
}
END_TEST

START_TEST(test_no_wrap)
{
	struct backoff b;
	int i;

	backoff_init(&b, UINT64_MAX / 3, UINT64_MAX);
	for (i = 0; i < 200; i++)
		(void)backoff_next(&b, 7);
	ck_assert_uint_eq(backoff_cap(&b), UINT64_MAX);
	ck_assert_uint_eq(backoff_next(&b, 7), 7);
	b.attempt = UINT32_MAX;
	(void)backoff_next(&b, 1);
	ck_assert_uint_eq(b.attempt, UINT32_MAX);
}
END_TEST

START_TEST(test_init_fixes_bounds)
{
	struct backoff b;

	backoff_init(&b, 0, 0);
	ck_assert_uint_eq(b.initial_ms, 1);
	ck_assert_uint_eq(b.max_ms, 1);
	backoff_init(&b, 5000, 100);
	ck_assert_uint_eq(backoff_cap(&b), 5000);
}
END_TEST

START_TEST(test_reset)
{
	struct backoff b;

	backoff_init(&b, 1000, 60000);
	(void)backoff_next(&b, 0);
	(void)backoff_next(&b, 0);
	ck_assert_uint_eq(backoff_cap(&b), 4000);
	backoff_reset(&b);
	ck_assert_uint_eq(backoff_cap(&b), 1000);
	/* 2 * initial clamped to [10 s, 30 s]. */
	ck_assert_int_eq(backoff_should_reset(&b, 9999), 0);
	ck_assert_int_eq(backoff_should_reset(&b, 10000), 1);
	backoff_init(&b, 8000, 60000);
	ck_assert_int_eq(backoff_should_reset(&b, 15999), 0);
	ck_assert_int_eq(backoff_should_reset(&b, 16000), 1);
	backoff_init(&b, 60000, 60000);
	ck_assert_int_eq(backoff_should_reset(&b, 29999), 0);
	ck_assert_int_eq(backoff_should_reset(&b, 30000), 1);
}
END_TEST

static Suite *
backoff_suite(void)
{
	Suite *s = suite_create("backoff");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_caps_double_to_max);
	tcase_add_test(tc, test_delay_within_cap);
	tcase_add_test(tc, test_no_wrap);
	tcase_add_test(tc, test_init_fixes_bounds);
	tcase_add_test(tc, test_reset);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(backoff_suite());
	int nf;

	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
