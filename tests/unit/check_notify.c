/*
 * check_notify.c — sd_notify without libsystemd: NOTIFY_SOCKET parsing (path,
 * abstract, limits), the watchdog environment, and real datagrams received
 * on a real AF_UNIX socket, byte for byte.
 */
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "notify.h"

START_TEST(test_addr_path)
{
	struct sockaddr_un sun;
	socklen_t len;

	ck_assert_int_eq(notify_addr("/run/systemd/notify", &sun, &len), 0);
	ck_assert_int_eq(sun.sun_family, AF_UNIX);
	ck_assert_str_eq(sun.sun_path, "/run/systemd/notify");
	/* The NUL counts for a path. */
	ck_assert_uint_eq(len, offsetof(struct sockaddr_un, sun_path) + 20);
}
END_TEST

START_TEST(test_addr_abstract)
{
	struct sockaddr_un sun;
	socklen_t len;

	ck_assert_int_eq(notify_addr("@sd-notify", &sun, &len), 0);
	ck_assert_int_eq(sun.sun_path[0], '\0');
	ck_assert_int_eq(memcmp(sun.sun_path + 1, "sd-notify", 9), 0);
	/* No trailing NUL for an abstract name: its length is exact. */
	ck_assert_uint_eq(len, offsetof(struct sockaddr_un, sun_path) + 10);
}
END_TEST

START_TEST(test_addr_rejects)
{
	struct sockaddr_un sun;
	socklen_t len;
	char big[200];

	ck_assert_int_eq(notify_addr(NULL, &sun, &len), -1);
	ck_assert_int_eq(notify_addr("", &sun, &len), -1);
	ck_assert_int_eq(notify_addr("relative/sock", &sun, &len), -1);
	ck_assert_int_eq(notify_addr("/", &sun, &len), -1);
	ck_assert_int_eq(notify_addr("@", &sun, &len), -1);
	/* sun_path is 108 bytes: a path of 107 fits with its NUL, 108 does
	 * not; an abstract name may use all 108 ('@' becomes the NUL). */
	memset(big, 'a', sizeof(big));
	big[0] = '/';
	big[107] = '\0';
	ck_assert_int_eq(notify_addr(big, &sun, &len), 0);
	big[107] = 'a';
	big[108] = '\0';
	ck_assert_int_eq(notify_addr(big, &sun, &len), -1);
	big[0] = '@';
	ck_assert_int_eq(notify_addr(big, &sun, &len), 0);
	ck_assert_uint_eq(len, offsetof(struct sockaddr_un, sun_path) + 108);
	big[108] = 'a';
	big[109] = '\0';
	ck_assert_int_eq(notify_addr(big, &sun, &len), -1);
}
END_TEST

START_TEST(test_watchdog_parse)
{
	ck_assert_uint_eq(notify_watchdog_parse("400000", NULL, 42), 400000);
	ck_assert_uint_eq(notify_watchdog_parse("400000", "42", 42), 400000);
	ck_assert_uint_eq(notify_watchdog_parse("400000", "43", 42), 0);
	ck_assert_uint_eq(notify_watchdog_parse("400000", "", 42), 0);
	ck_assert_uint_eq(notify_watchdog_parse("400000", "x", 42), 0);
	ck_assert_uint_eq(notify_watchdog_parse(NULL, "42", 42), 0);
	ck_assert_uint_eq(notify_watchdog_parse("0", NULL, 42), 0);
	ck_assert_uint_eq(notify_watchdog_parse("", NULL, 42), 0);
	ck_assert_uint_eq(notify_watchdog_parse("-5", NULL, 42), 0);
	ck_assert_uint_eq(notify_watchdog_parse(" 5", NULL, 42), 0);
	ck_assert_uint_eq(notify_watchdog_parse("12x", NULL, 42), 0);
	ck_assert_uint_eq(notify_watchdog_parse("99999999999999999999999",
	    NULL, 42), 0);
	ck_assert_uint_eq(notify_watchdog_parse("18446744073709551615", NULL,
	    42), UINT64_MAX);
}
END_TEST

START_TEST(test_reloading_msg)
{
	char buf[64], small[16];

	ck_assert_int_eq(notify_reloading_msg(buf, sizeof(buf), 1234567), 34);
	ck_assert_str_eq(buf, "RELOADING=1\nMONOTONIC_USEC=1234567");
	notify_reloading_msg(small, sizeof(small), 1234567);
	ck_assert_str_eq(small, "RELOADING=1\nMON");
}
END_TEST

/* A datagram socket bound at path (or at an abstract name when path starts
 * with '@'), with a receive timeout so a missing datagram fails the test. */
static int
listener(const char *path)
{
	struct sockaddr_un sun;
	struct timeval tv = { 5, 0 };
	socklen_t len;
	int fd;

	ck_assert_int_eq(notify_addr(path, &sun, &len), 0);
	fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	ck_assert_int_ge(fd, 0);
	if (path[0] == '/')
		unlink(path);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sun, len), 0);
	ck_assert_int_eq(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv,
	    sizeof(tv)), 0);
	return fd;
}

static void
expect_dgram(int fd, const char *want)
{
	char buf[512];
	ssize_t n;

	n = recv(fd, buf, sizeof(buf) - 1, 0);
	ck_assert_int_ge(n, 0);
	buf[n] = '\0';
	ck_assert_str_eq(buf, want);
}

static uint64_t
mono_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

START_TEST(test_send_path)
{
	char path[64], buf[128], *end;
	uint64_t t0, t1, v;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/tmp/check_notify.%d.sock", (int)getpid());
	fd = listener(path);
	setenv("NOTIFY_SOCKET", path, 1);
	setenv("WATCHDOG_USEC", "400000", 1);
	unsetenv("WATCHDOG_PID");
	notify_init();
	ck_assert_int_eq(notify_enabled(), 1);
	ck_assert_uint_eq(notify_watchdog_usec(), 400000);

	ck_assert_int_eq(notify_ready(), 0);
	expect_dgram(fd, "READY=1");
	ck_assert_int_eq(notify_status("2 agents\nsecond line"), 0);
	expect_dgram(fd, "STATUS=2 agents");
	ck_assert_int_eq(notify_watchdog(), 0);
	expect_dgram(fd, "WATCHDOG=1");
	ck_assert_int_eq(notify_stopping(), 0);
	expect_dgram(fd, "STOPPING=1");

	t0 = mono_usec();
	ck_assert_int_eq(notify_reloading(), 0);
	t1 = mono_usec();
	n = recv(fd, buf, sizeof(buf) - 1, 0);
	ck_assert_int_gt(n, 0);
	buf[n] = '\0';
	ck_assert_int_eq(strncmp(buf, "RELOADING=1\nMONOTONIC_USEC=", 27), 0);
	v = strtoull(buf + 27, &end, 10);
	ck_assert_int_eq(*end, '\0');
	ck_assert_uint_ge(v, t0);
	ck_assert_uint_le(v, t1);

	/* Nobody listening any more: the send fails, quietly. */
	close(fd);
	unlink(path);
	ck_assert_int_eq(notify_ready(), -1);
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
}
END_TEST

START_TEST(test_send_abstract)
{
	char name[64];
	int fd;

	snprintf(name, sizeof(name), "@check_notify.%d", (int)getpid());
	fd = listener(name);
	setenv("NOTIFY_SOCKET", name, 1);
	unsetenv("WATCHDOG_USEC");
	notify_init();
	ck_assert_int_eq(notify_enabled(), 1);
	ck_assert_uint_eq(notify_watchdog_usec(), 0);
	ck_assert_int_eq(notify_send("READY=1\nSTATUS=up"), 0);
	expect_dgram(fd, "READY=1\nSTATUS=up");
	close(fd);
	unsetenv("NOTIFY_SOCKET");
}
END_TEST

START_TEST(test_off)
{
	unsetenv("NOTIFY_SOCKET");
	setenv("WATCHDOG_USEC", "400000", 1);
	notify_init();
	ck_assert_int_eq(notify_enabled(), 0);
	/* No socket, no watchdog, whatever WATCHDOG_USEC says. */
	ck_assert_uint_eq(notify_watchdog_usec(), 0);
	ck_assert_int_eq(notify_ready(), 1);

	setenv("NOTIFY_SOCKET", "relative", 1);
	notify_init();
	ck_assert_int_eq(notify_enabled(), 0);
	ck_assert_int_eq(notify_stopping(), 1);

	/* A watchdog meant for another process is not ours to ping. */
	setenv("NOTIFY_SOCKET", "/nonexistent/notify", 1);
	setenv("WATCHDOG_PID", "1", 1);
	notify_init();
	ck_assert_int_eq(notify_enabled(), 1);
	ck_assert_uint_eq(notify_watchdog_usec(), 0);
	ck_assert_int_eq(notify_watchdog(), -1);
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
}
END_TEST

static Suite *
notify_suite(void)
{
	Suite *s = suite_create("notify");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_addr_path);
	tcase_add_test(tc, test_addr_abstract);
	tcase_add_test(tc, test_addr_rejects);
	tcase_add_test(tc, test_watchdog_parse);
	tcase_add_test(tc, test_reloading_msg);
	tcase_add_test(tc, test_send_path);
	tcase_add_test(tc, test_send_abstract);
	tcase_add_test(tc, test_off);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(notify_suite());
	int nf;

	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
