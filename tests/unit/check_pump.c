/*
 * check_pump.c — the pump between a TCP socket and a mux stream, with real
 * loopback TCP sockets and two real muxes (relay and agent) joined in
 * memory on one event base:
 *
 *   client fd  <-TCP->  pump(relay)  mux_r <-bytes-> mux_a  pump(agent)  <-TCP->  target fd
 *
 * Data both ways byte-exact, half-close in each direction ending with a clean
 * FIN, a reset on one side reaching the other as a TCP reset, pump_abort(),
 * backpressure (a target that does not read holds at most one window in the
 * agent's pump), a client that resets or half-closes while its stream has
 * no room, and the stall and half-close deadlines.
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
#include <event2/event.h>

#include "mux.h"
#include "pump.h"
#include "socktest.h"

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
a_open(struct mux *m, uint32_t sid, const char *service,
    const struct mux_peer *client, void *arg)
{
	(void)client;
	(void)arg;
	ck_assert_str_eq(service, "svc");
	pa = pump_new(base, pa_fd, m, "agent", on_done, &done_a);
	pa_fd = -1;
	ck_assert_ptr_nonnull(pa);
	pump_set_stream(pa, sid);
	ck_assert_int_eq(mux_stream_accept(m, sid, pa), 0);
	pump_start(pa, 1);
}

static void
s_closed(struct mux *m, uint32_t sid, uint32_t code, const char *text,
    void *sarg)
{
	if (m == mr)
		closed_r = code;
	else
		closed_a = code;
	pump_mux_closed(m, sid, code, text, sarg);
}

/* The pump's own functions are the stream callbacks, as in the daemons. */
static const struct mux_callbacks cbs = {
	.stream_open = a_open,
	.stream_accepted = pump_mux_accepted,
	.stream_data = pump_mux_data,
	.stream_eof = pump_mux_eof,
	.stream_closed = s_closed,
	.stream_writable = pump_mux_writable,
	.want_output = want_output,
};

static void
setup(void)
{
	struct mux_settings s;
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
	socktest_tcp_pair(&cfd, &pr_fd);
	socktest_tcp_pair(&tfd, &pa_fd);
	ck_assert_ptr_nonnull(pr = pump_new(base, pr_fd, mr, "relay", on_done,
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

/* Run the loop until recv on fd returns 0 (FIN) or fails (what was still
 * queued is read and dropped); its result. */
static int
wait_end(int fd)
{
	static char buf[65536];
	uint64_t end = now_ms() + 10000;
	ssize_t n;

	while (now_ms() < end) {
		spin();
		while ((n = recv(fd, buf, sizeof(buf), 0)) > 0)
			;
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

START_TEST(test_counters)
{
	struct pump_counters c, ca;
	uint8_t up[1000], got[1000], back[300], reply[300];
	struct linger l = { 1, 0 };

	memset(up, 'u', sizeof(up));
	memset(reply, 'r', sizeof(reply));
	atomic_init(&c.in, 0);
	atomic_init(&c.out, 0);
	c.code = 999;
	atomic_init(&ca.in, 0);
	atomic_init(&ca.out, 0);
	ca.code = 999;
	ck_assert_int_eq(transfer(cfd, up, sizeof(up), tfd, got, sizeof(got)),
	    0);
	/* Bytes moved before the owner attached its counters count too. */
	pump_set_counters(pr, &c);
	pump_set_counters(pa, &ca);
	ck_assert_uint_eq(atomic_load(&c.in), sizeof(up));
	ck_assert_uint_eq(atomic_load(&c.out), 0);
	ck_assert_uint_eq(atomic_load(&ca.out), sizeof(up));
	/* The window gauge starts at the stream's receive window. */
	ck_assert_uint_eq(atomic_load(&c.window), WINDOW);
	ck_assert_uint_eq(atomic_load(&ca.window), WINDOW);
	ck_assert_int_eq(transfer(tfd, reply, sizeof(reply), cfd, back,
	    sizeof(back)), 0);
	ck_assert_uint_eq(atomic_load(&c.out), sizeof(reply));
	ck_assert_uint_eq(atomic_load(&ca.in), sizeof(reply));
	ck_assert_uint_eq(atomic_load(&c.in), sizeof(up));
	/* The target resets: both ends learn how the stream ended. */
	ck_assert_int_eq(setsockopt(tfd, SOL_SOCKET, SO_LINGER, &l,
	    sizeof(l)), 0);
	close(tfd);
	tfd = -1;
	ck_assert_int_eq(wait_end(cfd), -ECONNRESET);
	wait_flag(&done_a);
	wait_flag(&done_r);
	ck_assert_uint_eq(c.code, closed_r);
	ck_assert_uint_ne(c.code, MUX_CODE_NONE);
	ck_assert_uint_eq(ca.code, MUX_CODE_CANCEL);
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

/* Send from the client until the path is full: no byte accepted for many
 * loop turns in a row.  Returns what was sent; asserts the agent's pump
 * never held more than one window. */
static uint64_t
fill_until_stalled(void)
{
	static uint8_t chunk[65536];
	uint64_t end = now_ms() + 20000, sent = 0;
	int idle = 0;
	ssize_t n;

	while (idle < 200 && now_ms() < end && sent < (256ULL << 20)) {
		if ((n = send(cfd, chunk, sizeof(chunk), 0)) > 0) {
			sent += (uint64_t)n;
			idle = 0;
		} else
			idle++;
		spin();
		if (pa != NULL)
			ck_assert_uint_le(pump_pending(pa), WINDOW);
	}
	ck_assert_int_eq(idle, 200);	/* it did stall */
	return sent;
}

START_TEST(test_backpressure)
{
	uint64_t sent, got = 0, end;
	uint8_t *sink = malloc(1 << 20);
	ssize_t n;

	ck_assert_ptr_nonnull(sink);
	/* The target reads nothing: the client's sends must stall. */
	sent = fill_until_stalled();
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

/* A client that resets while its stream has no send space (reading is off)
 * is noticed on the next tick: the relay's pump ends, the agent's stream is
 * reset. */
START_TEST(test_reset_while_blocked)
{
	struct pump_deadlines none = { 0 };

	(void)fill_until_stalled();
	ck_assert_int_eq(pump_tick(pr, 1000, &none), 0);
	ck_assert_int_eq(done_r, 0);
	pump_set_rst(cfd);
	close(cfd);
	cfd = -1;
	spin();
	ck_assert_int_eq(pump_tick(pr, 1000, &none), 1);
	wait_flag(&done_r);
	ck_assert_int_eq(wait_end(tfd), -ECONNRESET);
	ck_assert_uint_eq(closed_a, MUX_CODE_CANCEL);
}
END_TEST

/* A FIN while blocked is not a reset: what the client sent before it still
 * arrives, in full. */
START_TEST(test_fin_while_blocked)
{
	uint64_t sent, got = 0, end;
	uint8_t *sink = malloc(1 << 20);
	ssize_t n;

	ck_assert_ptr_nonnull(sink);
	sent = fill_until_stalled();
	ck_assert_int_eq(shutdown(cfd, SHUT_WR), 0);
	spin();
	spin();
	ck_assert_int_eq(done_r, 0);
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

/* The stall deadline: the target takes nothing, the agent's pump has bytes
 * queued; ticks without progress reach the deadline and reset the stream
 * both ways. */
START_TEST(test_stall_deadline)
{
	struct pump_deadlines d = { .stall_ms = 3000 };

	(void)fill_until_stalled();
	ck_assert_ptr_nonnull(pa);
	ck_assert_uint_gt(pump_pending(pa), 0);
	ck_assert_int_eq(pump_tick(pa, 1000, &d), 0);	/* progress seen */
	ck_assert_int_eq(pump_tick(pa, 1000, &d), 0);
	ck_assert_int_eq(pump_tick(pa, 1000, &d), 0);
	ck_assert_int_eq(done_a, 0);
	ck_assert_int_eq(pump_tick(pa, 1000, &d), 1);
	wait_flag(&done_a);
	ck_assert_int_eq(wait_end(tfd), -ECONNRESET);
	ck_assert_int_eq(wait_end(cfd), -ECONNRESET);
	ck_assert_uint_eq(closed_r, MUX_CODE_TIMEOUT);
}
END_TEST

/* The half-closed deadline: the client sent its FIN and nothing moves;
 * the idle stream is reset.  Progress restarts the count. */
START_TEST(test_half_closed_deadline)
{
	struct pump_deadlines d = { .half_closed_ms = 2000 };
	uint8_t buf[16];

	ck_assert_int_eq(send(cfd, "hi", 2, 0), 2);
	ck_assert_int_eq(shutdown(cfd, SHUT_WR), 0);
	while (pa == NULL || recv(tfd, buf, sizeof(buf), 0) != 2)
		spin();
	ck_assert_int_eq(pump_tick(pr, 1000, &d), 0);	/* progress seen */
	ck_assert_int_eq(pump_tick(pr, 1000, &d), 0);
	ck_assert_int_eq(send(tfd, "yo", 2, 0), 2);	/* progress */
	while (recv(cfd, buf, sizeof(buf), 0) != 2)
		spin();
	ck_assert_int_eq(pump_tick(pr, 1000, &d), 0);
	ck_assert_int_eq(pump_tick(pr, 1000, &d), 0);
	ck_assert_int_eq(done_r, 0);
	ck_assert_int_eq(pump_tick(pr, 1000, &d), 1);
	ck_assert_int_eq(done_r, 1);
	ck_assert_int_eq(wait_end(cfd), -ECONNRESET);
	/* The target had the client's FIN already; its stream is reset. */
	wait_flag(&done_a);
	ck_assert_uint_eq(closed_a, MUX_CODE_TIMEOUT);
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
	tcase_add_test(tc, test_counters);
	tcase_add_test(tc, test_abort);
	tcase_add_test(tc, test_backpressure);
	tcase_add_test(tc, test_reset_while_blocked);
	tcase_add_test(tc, test_fin_while_blocked);
	tcase_add_test(tc, test_stall_deadline);
	tcase_add_test(tc, test_half_closed_deadline);
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
