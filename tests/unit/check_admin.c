/*
 * check_admin.c — the admin module: the Prometheus writers (label
 * escaping, exact lines), and a real endpoint on loopback served by one
 * thread while this one asks with admin_fetch(): pages, 404, 405, the
 * bearer token (401 without it, 200 with it), the connection count.
 */
#include <sys/socket.h>
#include <sys/stat.h>

#include <netinet/in.h>
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/thread.h>

#include "admin.h"
#include "cfg_admin.h"

static char *
drain(struct evbuffer *b)
{
	size_t n = evbuffer_get_length(b);
	char *s = malloc(n + 1);

	ck_assert_ptr_nonnull(s);
	evbuffer_remove(b, s, n);
	s[n] = '\0';
	return s;
}

START_TEST(test_escape)
{
	char buf[64];

	ck_assert_str_eq(admin_prom_escape(buf, sizeof(buf), "plain"),
	    "plain");
	ck_assert_str_eq(admin_prom_escape(buf, sizeof(buf),
	    "a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
	/* Cut whole: an escape never loses its second half. */
	ck_assert_str_eq(admin_prom_escape(buf, 4, "ab\"c"), "ab");
	ck_assert_str_eq(admin_prom_escape(buf, 1, "abc"), "");
}
END_TEST

START_TEST(test_samples)
{
	struct evbuffer *b = evbuffer_new();
	char *s;

	admin_prom_family(b, "atlax_x_bytes_total", "counter", "Bytes.");
	admin_prom_u64(b, "atlax_x_bytes_total", 18446744073709551615ULL,
	    "agent", "home\"1", "service", "a\\b\nc", NULL);
	admin_prom_u64(b, "atlax_up", 1, NULL);
	admin_prom_f64(b, "atlax_rtt_seconds", 0.0125, "agent", "h", NULL);
	s = drain(b);
	ck_assert_str_eq(s,
	    "# HELP atlax_x_bytes_total Bytes.\n"
	    "# TYPE atlax_x_bytes_total counter\n"
	    "atlax_x_bytes_total{agent=\"home\\\"1\",service=\"a\\\\b\\nc\"} "
	    "18446744073709551615\n"
	    "atlax_up 1\n"
	    "atlax_rtt_seconds{agent=\"h\"} 0.0125\n");
	free(s);
	evbuffer_free(b);
}
END_TEST

START_TEST(test_time)
{
	char buf[32];

	ck_assert_str_eq(admin_time_str(0, buf, sizeof(buf)),
	    "1970-01-01T00:00:00Z");
	ck_assert_str_eq(admin_time_str(1796409762, buf, sizeof(buf)),
	    "2026-12-04T18:42:42Z");
}
END_TEST

/* A server on its own thread. */
struct srv {
	struct event_base	*base;
	struct admin		*admin;
	pthread_t		 thread;
};

static int
page_hello(struct evbuffer *out, const struct evkeyvalq *q, void *arg)
{
	const char *v = evhttp_find_header(q, "who");

	(void)arg;
	evbuffer_add_printf(out, "hello %s\n", v != NULL ? v : "nobody");
	return 0;
}

static int
page_fail(struct evbuffer *out, const struct evkeyvalq *q, void *arg)
{
	(void)out;
	(void)q;
	(void)arg;
	return 503;
}

static const struct admin_route routes[] = {
	{ "/hello", "text/plain", page_hello },
	{ "/fail", "text/plain", page_fail },
	{ NULL, NULL, NULL },
};

static uint16_t
free_port(void)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_ge(fd = socket(AF_INET, SOCK_STREAM, 0), 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	close(fd);
	return ntohs(sin.sin_port);
}

static void *
srv_main(void *arg)
{
	struct srv *s = arg;

	event_base_loop(s->base, EVLOOP_NO_EXIT_ON_EMPTY);
	return NULL;
}

static void
srv_start(struct srv *s, struct cfg_admin *cfg)
{
	char err[512] = "";

	ck_assert_int_eq(evthread_use_pthreads(), 0);
	ck_assert_ptr_nonnull(s->base = event_base_new());
	s->admin = admin_new(s->base, cfg, "test", routes, NULL, err,
	    sizeof(err));
	ck_assert_msg(s->admin != NULL, "%s", err);
	ck_assert_int_eq(pthread_create(&s->thread, NULL, srv_main, s), 0);
}

static void
srv_stop(struct srv *s)
{
	event_base_loopbreak(s->base);
	pthread_join(s->thread, NULL);
	admin_free(s->admin);
	event_base_free(s->base);
}

static void
fetch(struct cfg_admin *cfg, const char *path, int want, const char *body)
{
	char err[512] = "", *b = NULL;
	size_t len;
	int status = 0;

	ck_assert_msg(admin_fetch(cfg, path, 5000, &status, &b, &len, err,
	    sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(status, want);
	if (body != NULL)
		ck_assert_str_eq(b, body);
	ck_assert_uint_eq(strlen(b), len);
	free(b);
}

START_TEST(test_server)
{
	struct cfg_admin cfg;
	struct srv s;
	char err[512], *b = NULL;
	size_t len;
	int status;

	memset(&cfg, 0, sizeof(cfg));
	cfg.enabled = 1;
	snprintf(cfg.listen.host, sizeof(cfg.listen.host), "127.0.0.1");
	cfg.listen.port = free_port();
	srv_start(&s, &cfg);
	fetch(&cfg, "/hello", 200, "hello nobody\n");
	fetch(&cfg, "/hello?who=me", 200, "hello me\n");
	fetch(&cfg, "/nothing", 404, "no such page\n");
	fetch(&cfg, "/fail", 503, "the page failed\n");
	srv_stop(&s);

	/* Off, and nothing listening: clear messages, no status. */
	cfg.enabled = 0;
	ck_assert_int_eq(admin_fetch(&cfg, "/hello", 1000, &status, &b, &len,
	    err, sizeof(err)), -1);
	ck_assert_str_eq(err, "the admin endpoint is off (no admin.listen in "
	    "the configuration)");
	cfg.enabled = 1;
	ck_assert_int_eq(admin_fetch(&cfg, "/hello", 1000, &status, &b, &len,
	    err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "unreachable: Connection refused"));
}
END_TEST

START_TEST(test_token)
{
	struct cfg_admin cfg, wrong;
	struct srv s;
	char dir[] = "/tmp/atlax-admin.XXXXXX", good[128], bad[128];
	FILE *f;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(good, sizeof(good), "%s/good", dir);
	snprintf(bad, sizeof(bad), "%s/bad", dir);
	ck_assert_ptr_nonnull(f = fopen(good, "w"));
	fputs("right-token\n", f);
	fclose(f);
	ck_assert_ptr_nonnull(f = fopen(bad, "w"));
	fputs("right-tokeN\n", f);
	fclose(f);
	ck_assert_int_eq(chmod(good, 0600), 0);
	ck_assert_int_eq(chmod(bad, 0400), 0);

	memset(&cfg, 0, sizeof(cfg));
	cfg.enabled = 1;
	snprintf(cfg.listen.host, sizeof(cfg.listen.host), "127.0.0.1");
	cfg.listen.port = free_port();
	cfg.token_file = good;
	srv_start(&s, &cfg);
	fetch(&cfg, "/hello", 200, "hello nobody\n");
	wrong = cfg;
	wrong.token_file = bad;
	fetch(&wrong, "/hello", 401, "a bearer token is needed "
	    "(admin.token_file)\n");
	wrong.token_file = NULL;
	fetch(&wrong, "/hello", 401, NULL);
	/* Even a 404 needs the token: no path is probed without it. */
	fetch(&wrong, "/nothing", 401, NULL);
	srv_stop(&s);
	unlink(good);
	unlink(bad);
	rmdir(dir);
}
END_TEST

/* POST is refused; a request with a body is refused too. */
START_TEST(test_method)
{
	struct cfg_admin cfg;
	struct sockaddr_in sin;
	struct srv s;
	char buf[512];
	ssize_t n;
	size_t got = 0;
	int fd;
	const char *req = "POST /hello HTTP/1.0\r\nContent-Length: 0\r\n\r\n";

	memset(&cfg, 0, sizeof(cfg));
	cfg.enabled = 1;
	snprintf(cfg.listen.host, sizeof(cfg.listen.host), "127.0.0.1");
	cfg.listen.port = free_port();
	srv_start(&s, &cfg);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons(cfg.listen.port);
	ck_assert_int_ge(fd = socket(AF_INET, SOCK_STREAM, 0), 0);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sin, sizeof(sin)),
	    0);
	ck_assert_int_eq(write(fd, req, strlen(req)), (ssize_t)strlen(req));
	while (got < sizeof(buf) - 1 &&
	    (n = read(fd, buf + got, sizeof(buf) - 1 - got)) > 0)
		got += (size_t)n;
	buf[got] = '\0';
	close(fd);
	ck_assert_msg(strncmp(buf, "HTTP/1.0 405", 12) == 0 ||
	    strncmp(buf, "HTTP/1.1 405", 12) == 0, "%s", buf);
	srv_stop(&s);
}
END_TEST

/* At ADMIN_CONNS_MAX open connections the next one waits (in the kernel's
 * backlog) and is served once one of them closes. */
START_TEST(test_conn_cap)
{
	struct cfg_admin cfg;
	struct sockaddr_in sin;
	struct srv s;
	char err[512] = "", *b = NULL;
	size_t len;
	int fds[ADMIN_CONNS_MAX], i, status;

	memset(&cfg, 0, sizeof(cfg));
	cfg.enabled = 1;
	snprintf(cfg.listen.host, sizeof(cfg.listen.host), "127.0.0.1");
	cfg.listen.port = free_port();
	srv_start(&s, &cfg);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons(cfg.listen.port);
	for (i = 0; i < ADMIN_CONNS_MAX; i++) {
		ck_assert_int_ge(fds[i] = socket(AF_INET, SOCK_STREAM, 0), 0);
		ck_assert_int_eq(connect(fds[i], (struct sockaddr *)&sin,
		    sizeof(sin)), 0);
	}
	ck_assert_int_eq(admin_fetch(&cfg, "/hello", 1500, &status, &b, &len,
	    err, sizeof(err)), -1);
	ck_assert_str_eq(err, "admin endpoint: no reply in 1500 ms");
	for (i = 0; i < ADMIN_CONNS_MAX; i++)
		close(fds[i]);
	fetch(&cfg, "/hello", 200, "hello nobody\n");
	srv_stop(&s);
}
END_TEST

static Suite *
admin_suite(void)
{
	Suite *s = suite_create("admin");
	TCase *tc = tcase_create("admin");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_escape);
	tcase_add_test(tc, test_samples);
	tcase_add_test(tc, test_time);
	tcase_add_test(tc, test_server);
	tcase_add_test(tc, test_token);
	tcase_add_test(tc, test_method);
	tcase_add_test(tc, test_conn_cap);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(admin_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
