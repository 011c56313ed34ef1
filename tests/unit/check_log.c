/*
 * check_log.c — common/util/log.c: peer-controlled strings are made
 * printable and bounded before they reach a log line (terminal escapes,
 * newlines that would forge a second line), levels parse and filter, a line
 * has its documented shape (and its journal shape when JOURNAL_STREAM names
 * stderr), and log_strerror is safe to call from any
 * thread.
 */
#include <sys/stat.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

START_TEST(test_sanitize)
{
	char d[16];

	/* Escapes and control bytes become '?'. */
	ck_assert_str_eq(log_sanitize(d, sizeof(d), "a\x1b[31mb", 64),
	    "a?[31mb");
	ck_assert_str_eq(log_sanitize(d, sizeof(d), "x\ny\rz\t", 64),
	    "x?y?z?");
	ck_assert_str_eq(log_sanitize(d, sizeof(d), "\x7f\xc3\xa9", 64), "???");
	/* Bounded by srclen, then by dstlen (always terminated). */
	ck_assert_str_eq(log_sanitize(d, sizeof(d), "abcdef", 3), "abc");
	ck_assert_str_eq(log_sanitize(d, 4, "abcdef", 64), "abc");
	ck_assert_str_eq(log_sanitize(d, 1, "abcdef", 64), "");
	/* Stops at NUL within srclen. */
	ck_assert_str_eq(log_sanitize(d, sizeof(d), "ab\0cd", 5), "ab");
	/* dstlen 0 writes nothing. */
	d[0] = 'Q';
	log_sanitize(d, 0, "abc", 3);
	ck_assert_int_eq(d[0], 'Q');
}
END_TEST

START_TEST(test_levels)
{
	enum log_level l;

	ck_assert_int_eq(log_level_parse("debug", &l), 0);
	ck_assert_int_eq(l, LOG_LEVEL_DEBUG);
	ck_assert_int_eq(log_level_parse("warn", &l), 0);
	ck_assert_int_eq(l, LOG_LEVEL_WARN);
	ck_assert_int_eq(log_level_parse("verbose", &l), -1);
	ck_assert_str_eq(log_level_name(LOG_LEVEL_ERROR), "error");
	ck_assert_str_eq(log_level_name((enum log_level)42), "?");
}
END_TEST

/* What log_* write at the current level, read back through a pipe. */
static char *
capture(enum log_level level, void (*emit)(void))
{
	static char buf[4096];
	int p[2];
	ssize_t n;

	ck_assert_int_eq(pipe(p), 0);
	log_init("check", level);
	log_set_fd(p[1]);
	emit();
	log_set_fd(-1);
	close(p[1]);
	n = read(p[0], buf, sizeof(buf) - 1);
	close(p[0]);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

static void
emit_some(void)
{
	log_debug("tunnel", "home: %s", "hidden at info");
	log_info("tunnel", "home: ready (from %s)", "1.2.3.4:5");
	errno = ENOENT;
	log_warn("cfg", "open %s", "x.yaml");
}

START_TEST(test_line_shape_and_filter)
{
	char *out = capture(LOG_LEVEL_INFO, emit_some);

	ck_assert_ptr_null(strstr(out, "hidden at info"));
	ck_assert_ptr_nonnull(strstr(out, " info tunnel: home: ready (from "
	    "1.2.3.4:5)\n"));
	ck_assert_ptr_nonnull(strstr(out, " warn cfg: open x.yaml: No such "
	    "file or directory\n"));
	ck_assert_ptr_nonnull(strstr(out, "check["));
	out = capture(LOG_LEVEL_DEBUG, emit_some);
	ck_assert_ptr_nonnull(strstr(out, " debug tunnel: home: hidden at "
	    "info\n"));
}
END_TEST

START_TEST(test_strerror)
{
	char b[128];

	ck_assert_str_eq(log_strerror(ECONNRESET, b, sizeof(b)),
	    "Connection reset by peer");
	ck_assert_ptr_nonnull(strstr(log_strerror(99999, b, sizeof(b)),
	    "99999"));
}
END_TEST

/* Run emit with a temp file as stderr and JOURNAL_STREAM set to env (NULL:
 * unset, "=" the file's own dev:ino); return what the file got. */
static char *
journal_capture(const char *env, enum log_level level, void (*emit)(void))
{
	static char buf[4096];
	char path[] = "/tmp/check_log.XXXXXX", v[64];
	struct stat st;
	int fd, saved;
	ssize_t n;

	ck_assert_int_ge(fd = mkstemp(path), 0);
	unlink(path);
	ck_assert_int_eq(fstat(fd, &st), 0);
	ck_assert_int_ge(saved = dup(STDERR_FILENO), 0);
	ck_assert_int_eq(dup2(fd, STDERR_FILENO), STDERR_FILENO);
	if (env == NULL)
		unsetenv("JOURNAL_STREAM");
	else if (strcmp(env, "=") == 0) {
		snprintf(v, sizeof(v), "%llu:%llu",
		    (unsigned long long)st.st_dev,
		    (unsigned long long)st.st_ino);
		setenv("JOURNAL_STREAM", v, 1);
	} else
		setenv("JOURNAL_STREAM", env, 1);
	log_init("check", level);
	log_set_fd(-1);
	emit();
	dup2(saved, STDERR_FILENO);
	close(saved);
	unsetenv("JOURNAL_STREAM");
	log_init("check", LOG_LEVEL_INFO);	/* back to the plain format */
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

static void
emit_levels(void)
{
	log_errorx("relay", "listen %s: %s", "0.0.0.0:443", "Permission denied");
	log_warnx("tls", "handshake failed");
	log_info("tunnel", "home: ready");
	log_debug("tunnel", "home: state");
}

START_TEST(test_journal)
{
	char *out;

	/* stderr is the stream JOURNAL_STREAM names: priority prefixes,
	 * nothing else in front (the journal adds time, program, pid). */
	out = journal_capture("=", LOG_LEVEL_DEBUG, emit_levels);
	ck_assert_str_eq(out,
	    "<3>relay: listen 0.0.0.0:443: Permission denied\n"
	    "<4>tls: handshake failed\n"
	    "<6>tunnel: home: ready\n"
	    "<7>tunnel: home: state\n");
	/* The level still filters. */
	out = journal_capture("=", LOG_LEVEL_WARN, emit_levels);
	ck_assert_str_eq(out, "<3>relay: listen 0.0.0.0:443: Permission "
	    "denied\n<4>tls: handshake failed\n");
	/* A variable inherited by a process whose stderr is elsewhere, a
	 * malformed one, or none: the usual timestamped lines. */
	out = journal_capture("1:2", LOG_LEVEL_INFO, emit_levels);
	ck_assert_ptr_null(strstr(out, "<"));
	ck_assert_ptr_nonnull(strstr(out, " check["));
	ck_assert_ptr_nonnull(strstr(out, "] error relay: listen "
	    "0.0.0.0:443: Permission denied\n"));
	out = journal_capture("12:34x", LOG_LEVEL_INFO, emit_levels);
	ck_assert_ptr_null(strstr(out, "<"));
	out = journal_capture(NULL, LOG_LEVEL_INFO, emit_levels);
	ck_assert_ptr_nonnull(strstr(out, "] info tunnel: home: ready\n"));
	ck_assert_int_eq(log_syslog_priority(LOG_LEVEL_WARN), 4);
}
END_TEST

static Suite *
log_suite(void)
{
	Suite *s = suite_create("log");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_sanitize);
	tcase_add_test(tc, test_levels);
	tcase_add_test(tc, test_line_shape_and_filter);
	tcase_add_test(tc, test_strerror);
	tcase_add_test(tc, test_journal);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(log_suite());
	int nf;

	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
