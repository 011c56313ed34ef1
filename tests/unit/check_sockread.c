/*
 * check_sockread.c — common/io/sockread.c over a real socket pair: one read
 * takes far more than libevent 2.1's 4 KiB, never more than max, and tells
 * EAGAIN and EOF apart; a learnt
 * read size grows and shrinks with what the reads bring.
 */
#include <sys/socket.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "sockread.h"

#define BIG	(200 * 1024)

static int	sv[2];
static struct evbuffer *inbuf;

static void
setup(void)
{
	int sz = 1024 * 1024;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	(void)setsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	(void)setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	ck_assert_int_eq(fcntl(sv[0], F_SETFL, O_NONBLOCK), 0);
	ck_assert_ptr_nonnull(inbuf = evbuffer_new());
}

static void
teardown(void)
{
	evbuffer_free(inbuf);
	close(sv[0]);
	close(sv[1]);
}

/* Write n bytes of a known pattern, all of them. */
static void
put(size_t n)
{
	unsigned char *b = malloc(n);
	size_t i, off = 0;
	ssize_t w;

	ck_assert_ptr_nonnull(b);
	for (i = 0; i < n; i++)
		b[i] = (unsigned char)(i * 7);
	while (off < n) {
		w = write(sv[1], b + off, n - off);
		ck_assert_int_gt(w, 0);
		off += (size_t)w;
	}
	free(b);
}

START_TEST(test_one_big_bite)
{
	struct evbuffer *in = inbuf;
	unsigned char *b;
	size_t i, len;
	ssize_t n;

	put(BIG);
	n = sockread_fill(in, sv[0], 1024 * 1024, NULL);
	/* What the kernel held, in one call: far beyond 4 KiB. */
	ck_assert_int_gt(n, 64 * 1024);
	len = evbuffer_get_length(in);
	ck_assert_uint_eq(len, (size_t)n);
	while (len < BIG) {
		n = sockread_fill(in, sv[0], 1024 * 1024, NULL);
		ck_assert_int_gt(n, 0);
		len += (size_t)n;
	}
	ck_assert_uint_eq(evbuffer_get_length(in), BIG);
	b = evbuffer_pullup(in, -1);
	for (i = 0; i < BIG; i++)
		if (b[i] != (unsigned char)(i * 7))
			ck_abort_msg("byte %zu differs", i);
	/* The buffer stays usable: its owner may append after a read. */
	ck_assert_int_eq(evbuffer_add(in, "x", 1), 0);
}
END_TEST

START_TEST(test_max_bounds_a_read)
{
	struct evbuffer *in = inbuf;

	put(50000);
	ck_assert_int_eq(sockread_fill(in, sv[0], 1000, NULL), 1000);
	ck_assert_uint_eq(evbuffer_get_length(in), 1000);
	ck_assert_int_eq(sockread_fill(in, sv[0], 0, NULL), 1);	/* at least 1 */
	ck_assert_int_eq(sockread_fill(in, sv[0], 100000, NULL), 48999);
}
END_TEST

START_TEST(test_eagain_then_eof)
{
	struct evbuffer *in = inbuf;

	errno = 0;
	ck_assert_int_eq(sockread_fill(in, sv[0], 4096, NULL), -1);
	ck_assert(errno == EAGAIN || errno == EWOULDBLOCK);
	put(10);
	ck_assert_int_eq(sockread_fill(in, sv[0], 4096, NULL), 10);
	ck_assert_int_eq(shutdown(sv[1], SHUT_WR), 0);
	ck_assert_int_eq(sockread_fill(in, sv[0], 4096, NULL), 0);
	ck_assert_uint_eq(evbuffer_get_length(in), 10);
}
END_TEST

START_TEST(test_error)
{
	struct evbuffer *in = inbuf;

	errno = 0;
	ck_assert_int_eq(sockread_fill(in, -1, 4096, NULL), -1);
	ck_assert_int_eq(errno, EBADF);
	ck_assert_uint_eq(evbuffer_get_length(in), 0);
}
END_TEST

/* Without FIONREAD: reads start at 4 KiB, double while they fill their
 * buffer (never beyond max), and shrink again after small ones. */
START_TEST(test_learnt_size)
{
	struct evbuffer *in = inbuf;
	struct sockread sr;
	size_t want = 4096, total = 0;
	ssize_t n;

	memset(&sr, 0, sizeof(sr));
	put(BIG);
	while (total < BIG) {
		n = sockread_fill(in, sv[0], 64 * 1024, &sr);
		ck_assert_int_gt(n, 0);
		if ((size_t)n < want)
			ck_assert_uint_eq(total + (size_t)n, BIG);	/* the end */
		else
			ck_assert_uint_eq((size_t)n, want);
		total += (size_t)n;
		if (want < 64 * 1024)
			want *= 2;
	}
	ck_assert_uint_eq(evbuffer_get_length(in), BIG);
	/* Small reads bring the size down, a halving each: the last bite of
	 * BIG (12 KiB of 64) to 32 KiB, 10 bytes to 16 KiB; a full read
	 * doubles it again. */
	put(10);
	ck_assert_int_eq(sockread_fill(in, sv[0], 64 * 1024, &sr), 10);
	put(40000);
	ck_assert_int_eq(sockread_fill(in, sv[0], 64 * 1024, &sr), 16384);
	ck_assert_uint_eq(sr.next, 32768);
	ck_assert_int_eq(sockread_fill(in, sv[0], 64 * 1024, &sr), 40000 - 16384);
}
END_TEST

static Suite *
sockread_suite(void)
{
	Suite *s = suite_create("sockread");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_one_big_bite);
	tcase_add_test(tc, test_max_bounds_a_read);
	tcase_add_test(tc, test_eagain_then_eof);
	tcase_add_test(tc, test_error);
	tcase_add_test(tc, test_learnt_size);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(sockread_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
