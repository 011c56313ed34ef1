/*
 * check_pump.c — the pump between a TCP socket and a mux stream, with real
 * loopback TCP sockets and two real muxes (relay and agent) joined in
 * memory on one event base:
 *
 *   client fd  <-TCP->  pump(relay)  mux_r <-bytes-> mux_a  pump(agent)  <-TCP->  target fd
 *
 * Data both ways byte-exact, half-close in each direction ending with a clean
 * FIN, a reset on one side reaching the other as a TCP reset, pump_abort(),
 * and backpressure: a target that does not read holds at most one window in
 * the agent's pump.
 */
#include <sys/socket.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "mux.h"
#include "pump.h"

#define WINDOW	(64 * 1024)

static struct event_base *base;
static struct event *shuttle;
static struct mux *mr, *ma;
static struct pump *pr, *pa;
static int cfd = -1, tfd = -1, pa_fd = -1;
static int done_r, done_a;
static uint32_t closed_r = 999, closed_a = 999;
static struct evbuffer *wire;

static void
on_done(struct pump *p, void *arg)
{
	(void)p;
	*(int *)arg = 1;
}

static void
want_output(struct mux *m, void *arg)
{
	(void)m;
	(void)arg;
	event_active(shuttle, EV_TIMEOUT, 0);
}

/* The "network" between the two muxes. */
static void
shuttle_cb(evutil_socket_t fd, short what, void *arg)
{
	size_t n1, n2;

	(void)fd;
	(void)what;
	(void)arg;
	do {
		n1 = mux_output(mr, wire, 1 << 20);
		ck_assert_int_eq(mux_input(ma, wire), 0);
		n2 = mux_output(ma, wire, 1 << 20);
		ck_assert_int_eq(mux_input(mr, wire), 0);
	} while (n1 + n2 > 0);
}

static void
nonblock(int fd)
{
	ck_assert_int_eq(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK),
	    0);
}

/* A connected pair of loopback TCP sockets. */
static void
tcp_pair(int *a, int *b)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int l;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_ge(l = socket(AF_INET, SOCK_STREAM, 0), 0);
	ck_assert_int_eq(bind(l, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(listen(l, 1), 0);
	ck_assert_int_eq(getsockname(l, (struct sockaddr *)&sin, &len), 0);
	ck_assert_int_ge(*a = socket(AF_INET, SOCK_STREAM, 0), 0);
	ck_assert_int_eq(connect(*a, (struct sockaddr *)&sin, sizeof(sin)),
	    0);
	ck_assert_int_ge(*b = accept(l, NULL, NULL), 0);
	close(l);
	nonblock(*a);
	nonblock(*b);
}

static void
a_open(struct mux *m, uint32_t sid, const char *service,
    const struct mux_peer *client, void *arg)
{
	struct bufferevent *bev;

	(void)client;
	(void)arg;
	ck_assert_str_eq(service, "svc");
	bev = bufferevent_socket_new(base, pa_fd, BEV_OPT_CLOSE_ON_FREE);
	ck_assert_ptr_nonnull(bev);
	pa_fd = -1;
	pa = pump_new(bev, m, "agent", on_done, &done_a);
	ck_assert_ptr_nonnull(pa);
	pump_set_stream(pa, sid);
	ck_assert_int_eq(mux_stream_accept(m, sid, pa), 0);
	pump_start(pa, 1);
}

static void
s_data(struct mux *m, uint32_t sid, struct evbuffer *data, void *sarg)
{
	(void)m;
	(void)sid;
	if (sarg != NULL)
		pump_stream_data(sarg, data);
}

static void
s_eof(struct mux *m, uint32_t sid, void *sarg)
{
	(void)m;
	(void)sid;
	if (sarg != NULL)
		pump_stream_eof(sarg);
}

static void
s_closed(struct mux *m, uint32_t sid, uint32_t code, const char *text,
    void *sarg)
{
	(void)sid;
	(void)text;
	if (m == mr)
		closed_r = code;
	else
		closed_a = code;
	if (sarg != NULL)
		pump_stream_closed(sarg, code);
}

static void
s_writable(struct mux *m, uint32_t sid, void *sarg)
{
	(void)m;
	(void)sid;
	if (sarg != NULL)
		pump_stream_writable(sarg);
}

static const struct mux_callbacks cbs = {
	.stream_open = a_open,
	.stream_data = s_data,
	.stream_eof = s_eof,
	.stream_closed = s_closed,
	.stream_writable = s_writable,
	.want_output = want_output,
};

static void
setup(void)
{
	struct mux_settings s;
	struct bufferevent *bev;
	uint32_t sid;
	int pr_fd;

	signal(SIGPIPE, SIG_IGN);
	ck_assert_ptr_nonnull(base = event_base_new());
	ck_assert_ptr_nonnull(shuttle = event_new(base, -1, 0, shuttle_cb,
	    NULL));
	ck_assert_ptr_nonnull(wire = evbuffer_new());
	mux_settings_default(&s);
	s.stream_window = WINDOW;
	s.tunnel_window = 4 * WINDOW;
	ck_assert_ptr_nonnull(mr = mux_new(MUX_ROLE_RELAY, &s, &cbs, NULL));
	s.identity = "home";
	ck_assert_ptr_nonnull(ma = mux_new(MUX_ROLE_AGENT, &s, &cbs, NULL));
	shuttle_cb(-1, 0, NULL);
	ck_assert(mux_is_ready(mr) && mux_is_ready(ma));
	done_r = done_a = 0;
	closed_r = closed_a = 999;
	pr = pa = NULL;
	tcp_pair(&cfd, &pr_fd);
	tcp_pair(&tfd, &pa_fd);
	ck_assert_ptr_nonnull(bev = bufferevent_socket_new(base, pr_fd,
	    BEV_OPT_CLOSE_ON_FREE));
	ck_assert_ptr_nonnull(pr = pump_new(bev, mr, "relay", on_done,
	    &done_r));
	ck_assert_int_eq(mux_stream_open(mr, "svc", NULL, pr, &sid), 0);
	pump_set_stream(pr, sid);
	pump_start(pr, 1);
	event_active(shuttle, EV_TIMEOUT, 0);
}

static void
teardown(void)
{
	/* The muxes first: they close their streams into the pumps. */
	mux_free(mr);
	mux_free(ma);
	pump_free(pr);
	pump_free(pa);
	event_free(shuttle);
	evbuffer_free(wire);
	event_base_free(base);
	if (cfd >= 0)
		close(cfd);
	if (tfd >= 0)
		close(tfd);
	if (pa_fd >= 0)
		close(pa_fd);
	cfd = tfd = pa_fd = -1;
}

static void
spin(void)
{
	event_base_loop(base, EVLOOP_NONBLOCK);
	event_base_loop(base, EVLOOP_NONBLOCK);
}

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Send all of buf on fd while running the loop and collecting what arrives
 * on rfd into got (up to want bytes); 0 when everything arrived in time. */
static int
transfer(int fd, const uint8_t *buf, size_t len, int rfd, uint8_t *got,
    size_t want)
{
	size_t off = 0, have = 0;
	uint64_t end = now_ms() + 20000;
	ssize_t n;

	while (now_ms() < end && (off < len || have < want)) {
		if (off < len && (n = send(fd, buf + off, len - off, 0)) > 0)
			off += (size_t)n;
		spin();
		while (have < want && (n = recv(rfd, got + have, want - have,
		    0)) > 0)
			have += (size_t)n;
		spin();
	}
	return off == len && have == want ? 0 : -1;
}

/* Run the loop until recv on fd returns 0 (FIN) or fails; its result. */
static int
wait_end(int fd)
{
	uint64_t end = now_ms() + 10000;
	char c;
	ssize_t n;

	while (now_ms() < end) {
		spin();
		n = recv(fd, &c, 1, 0);
		if (n == 0)
			return 0;
		if (n < 0 && errno != EAGAIN)
			return -errno;
		usleep(1000);
	}
	return -ETIMEDOUT;
}

static void
wait_flag(int *flag)
{
	uint64_t end = now_ms() + 10000;

	while (!*flag && now_ms() < end) {
		spin();
		usleep(1000);
	}
	ck_assert_int_eq(*flag, 1);
}

START_TEST(test_both_ways_and_fin)
{
	size_t len = 1 << 20, i;
	uint8_t *up = malloc(len), *got = malloc(len);
	const char reply[] = "reply after the client's FIN";
	char back[64];

	ck_assert_ptr_nonnull(up);
	ck_assert_ptr_nonnull(got);
	for (i = 0; i < len; i++)
		up[i] = (uint8_t)(i * 7 + (i >> 9));
	ck_assert_int_eq(transfer(cfd, up, len, tfd, got, len), 0);
	ck_assert_mem_eq(up, got, len);
	/* Client half-closes: the target sees EOF, can still answer. */
	ck_assert_int_eq(shutdown(cfd, SHUT_WR), 0);
	ck_assert_int_eq(wait_end(tfd), 0);
	ck_assert_int_eq(transfer(tfd, (const uint8_t *)reply, sizeof(reply),
	    cfd, (uint8_t *)back, sizeof(reply)), 0);
	ck_assert_str_eq(back, reply);
	ck_assert_int_eq(shutdown(tfd, SHUT_WR), 0);
	/* A clean FIN for the client, never a reset. */
	ck_assert_int_eq(wait_end(cfd), 0);
	wait_flag(&done_r);
	wait_flag(&done_a);
	ck_assert_uint_eq(closed_r, MUX_CODE_NONE);
	ck_assert_uint_eq(closed_a, MUX_CODE_NONE);
	ck_assert_uint_eq(mux_nstreams(mr), 0);
	ck_assert_uint_eq(mux_nstreams(ma), 0);
	free(up);
	free(got);
}
END_TEST

START_TEST(test_target_half_closes_first)
{
	const char hello[] = "banner from the service";
	const char req[] = "request after the service's FIN";
	char in[64];

	ck_assert_int_eq(transfer(tfd, (const uint8_t *)hello, sizeof(hello),
	    cfd, (uint8_t *)in, sizeof(hello)), 0);
	ck_assert_str_eq(in, hello);
	ck_assert_int_eq(shutdown(tfd, SHUT_WR), 0);
	ck_assert_int_eq(wait_end(cfd), 0);
	ck_assert_int_eq(transfer(cfd, (const uint8_t *)req, sizeof(req),
	    tfd, (uint8_t *)in, sizeof(req)), 0);
	ck_assert_str_eq(in, req);
	ck_assert_int_eq(shutdown(cfd, SHUT_WR), 0);
	ck_assert_int_eq(wait_end(tfd), 0);
	wait_flag(&done_r);
	wait_flag(&done_a);
	ck_assert_uint_eq(closed_r, MUX_CODE_NONE);
}
END_TEST

START_TEST(test_reset_travels)
{
	struct linger l = { 1, 0 };
	const char x[] = "x";
	char c;

	ck_assert_int_eq(transfer(cfd, (const uint8_t *)x, 1, tfd,
	    (uint8_t *)&c, 1), 0);
	/* The target resets: the client must see a reset too. */
	ck_assert_int_eq(setsockopt(tfd, SOL_SOCKET, SO_LINGER, &l,
	    sizeof(l)), 0);
	close(tfd);
	tfd = -1;
	ck_assert_int_eq(wait_end(cfd), -ECONNRESET);
	wait_flag(&done_a);
	wait_flag(&done_r);
	ck_assert_uint_ne(closed_r, MUX_CODE_NONE);
}
END_TEST

START_TEST(test_abort)
{
	const char x[] = "x";
	char c;

	ck_assert_int_eq(transfer(cfd, (const uint8_t *)x, 1, tfd,
	    (uint8_t *)&c, 1), 0);
	/* The tunnel is gone: pump_abort resets the socket, no done(). */
	pump_abort(pr);
	ck_assert_int_eq(wait_end(cfd), -ECONNRESET);
	ck_assert_int_eq(done_r, 0);
	ck_assert_int_eq(pump_is_done(pr), 1);
}
END_TEST

START_TEST(test_backpressure)
{
	static uint8_t chunk[65536];
	uint64_t end = now_ms() + 1500, sent = 0, got = 0;
	uint8_t *sink = malloc(1 << 20);
	ssize_t n;

	ck_assert_ptr_nonnull(sink);
	/* The target reads nothing: the client's sends must stall. */
	while (now_ms() < end && sent < (256ULL << 20)) {
		if ((n = send(cfd, chunk, sizeof(chunk), 0)) > 0)
			sent += (uint64_t)n;
		spin();
		if (pa != NULL)
			ck_assert_uint_le(pump_pending(pa), WINDOW);
	}
	ck_assert_uint_lt(sent, 64ULL << 20);
	/* Draining the target lets every byte through. */
	ck_assert_int_eq(shutdown(cfd, SHUT_WR), 0);
	end = now_ms() + 20000;
	while (now_ms() < end) {
		spin();
		n = recv(tfd, sink, 1 << 20, 0);
		if (n > 0)
			got += (uint64_t)n;
		else if (n == 0)
			break;
	}
	ck_assert_uint_eq(got, sent);
	free(sink);
}
END_TEST

static Suite *
pump_suite(void)
{
	Suite *s = suite_create("pump");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_both_ways_and_fin);
	tcase_add_test(tc, test_target_half_closes_first);
	tcase_add_test(tc, test_reset_travels);
	tcase_add_test(tc, test_abort);
	tcase_add_test(tc, test_backpressure);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(pump_suite());
	int nf;

	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
