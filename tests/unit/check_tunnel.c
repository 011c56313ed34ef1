/*
 * check_tunnel.c — the common tunnel (common/io/tunnel.c) over a socket
 * pair with real TLS 1.3 and certificates from the pki library: its state
 * machine end to end as the daemons drive it.
 *
 *   HANDSHAKE -> HELLO -> READY both sides; a stream opened on one side and
 *   accepted on the other carries bytes both ways; a drain ends both
 *   tunnels in order (not "lost"); a peer that goes silent is found by the
 *   heartbeat and dropped at once; a peer that never speaks TLS times out;
 *   a peer that vanishes is "lost" with the reason; the owner's refusal at
 *   TLS time ends the tunnel.
 *
 * Each side has its own event base, so one side can be frozen (a silent
 * peer) while the other runs.
 */
#include <sys/socket.h>

#include <netinet/in.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "socktest.h"
#include "tlstest.h"
#include "tunnel.h"

struct side {
	struct event_base	*base;
	struct tunnel		*tun;
	int			 tls_ups;
	int			 refuse_tls;	/* tls_up returns -1 */
	int			 hellos;
	int			 opens;
	int			 accept_fd;	/* socket for the peer's stream */
	int			 gone;		/* stream_gone calls */
	enum tunnel_state	 seen[16];	/* states, in order */
	int			 nseen;
};

static char dir[] = "/tmp/atlax-tunnel.XXXXXX";
static char ca[256], other[256];
static struct side rs, as;	/* relay side, agent side */
static uint64_t heartbeat_ms;	/* settings()' ping_ms */
static int freeze_on_ready;	/* the agent side stops 50 ms when the relay
				   side turns READY */
static uint64_t agent_frozen_until;

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int
on_tls_up(struct tunnel *t, void *arg)
{
	struct side *s = arg;

	s->tls_ups++;
	if (s->refuse_tls) {
		tunnel_set_reason(t, "refused by the owner");
		return -1;
	}
	return 0;
}

static void
on_control(struct tunnel *t, const struct mux_ctl *ctl, void *arg)
{
	struct side *s = arg;

	if (ctl->type == MUX_CTL_HELLO) {
		s->hellos++;
		tunnel_ready(t);
	} else if (ctl->type == MUX_CTL_GOAWAY)
		tunnel_drain(t, MUX_CODE_NONE, "peer going away");
}

static void
on_open(struct tunnel *t, uint32_t sid, const char *service,
    const struct mux_peer *client, void *arg)
{
	struct side *s = arg;

	(void)client;
	ck_assert_str_eq(service, "svc");
	s->opens++;
	ck_assert_int_ge(s->accept_fd, 0);
	ck_assert_int_eq(tunnel_stream_accept(t, sid, s->accept_fd, "agent",
	    s, 1, 0), 0);
	s->accept_fd = -1;
}

static void
on_state(struct tunnel *t, enum tunnel_state old, void *arg)
{
	struct side *s = arg;

	(void)old;
	if (s == &rs && freeze_on_ready && tunnel_state(t) == TUNNEL_READY)
		agent_frozen_until = now_ms() + 50;
	if (s->nseen < 16)
		s->seen[s->nseen++] = tunnel_state(t);
}

static void
on_gone(struct tunnel *t, void *tag, void *arg)
{
	struct side *s = arg;

	(void)t;
	ck_assert_ptr_eq(tag, s);
	s->gone++;
}

static const struct tunnel_callbacks cbs = {
	.tls_up = on_tls_up,
	.control = on_control,
	.stream_open = on_open,
	.state = on_state,
	.stream_gone = on_gone,
};

static void
settings(struct tunnel_settings *s, int server)
{
	memset(s, 0, sizeof(*s));
	s->server = server;
	s->role = server ? MUX_ROLE_RELAY : MUX_ROLE_AGENT;
	mux_settings_default(&s->mux);
	s->mux.identity = server ? "" : "home";
	s->peer_role = server ? "agent" : "relay";
	s->tls_high = 256 * 1024;
	s->read_max = 256 * 1024;
	s->handshake_ms = 2000;
	s->ping_ms = heartbeat_ms;
	s->ping_misses = 3;
	s->shutdown_ms = 2000;
	s->close_wait_ms = 500;
}

static void
run(int both, uint64_t ms)
{
	uint64_t end = now_ms() + ms;

	while (now_ms() < end) {
		event_base_loop(rs.base, EVLOOP_NONBLOCK);
		if (both && now_ms() >= agent_frozen_until)
			event_base_loop(as.base, EVLOOP_NONBLOCK);
		usleep(500);
	}
}

/* Run until cond holds (or 10 s pass); 1 if it held.  cond is evaluated
 * once per turn (it may consume, e.g. a recv). */
#define RUN_UNTIL(both, cond) __extension__ ({				\
	uint64_t end_ = now_ms() + 10000;				\
	int ok_ = 0;							\
	while (now_ms() < end_ && !(ok_ = !!(cond)))			\
		run((both), 1);						\
	ok_;								\
})

static void
setup(void)
{
	signal(SIGPIPE, SIG_IGN);
	tlstest_pki(dir, ca, other, sizeof(ca));
	memset(&rs, 0, sizeof(rs));
	memset(&as, 0, sizeof(as));
	heartbeat_ms = 100;
	freeze_on_ready = 0;
	agent_frozen_until = 0;
	rs.accept_fd = as.accept_fd = -1;
	ck_assert_ptr_nonnull(rs.base = event_base_new());
	ck_assert_ptr_nonnull(as.base = event_base_new());
}

static void
teardown(void)
{
	tunnel_free(rs.tun);
	tunnel_free(as.tun);
	event_base_free(rs.base);
	event_base_free(as.base);
	if (as.accept_fd >= 0)
		close(as.accept_fd);
	tlstest_rm(dir);
}

/* Both tunnels over a socket pair; raw[] gets the descriptors. */
static void
pair(void)
{
	SSL_CTX *sctx = tlstest_ctx(TLS_ROLE_RELAY, ca, ca, "relay.test", NULL);
	SSL_CTX *cctx = tlstest_ctx(TLS_ROLE_AGENT, ca, ca, "home", NULL);
	struct tunnel_settings s;
	char err[512];
	SSL *c;
	int sv[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0,
	    sv), 0);
	settings(&s, 1);
	rs.tun = tunnel_new(rs.base, sv[0], SSL_new(sctx), &s, &cbs, &rs,
	    "agent-peer");
	c = tls_ssl_new_client(cctx, "relay.test", err, sizeof(err));
	ck_assert_msg(c != NULL, "%s", err);
	settings(&s, 0);
	as.tun = tunnel_new(as.base, sv[1], c, &s, &cbs, &as, "relay-peer");
	ck_assert_ptr_nonnull(rs.tun);
	ck_assert_ptr_nonnull(as.tun);
	SSL_CTX_free(sctx);	/* the SSLs hold references */
	SSL_CTX_free(cctx);
}

static void
up(void)
{
	pair();
	ck_assert(RUN_UNTIL(1, tunnel_state(rs.tun) == TUNNEL_READY &&
	    tunnel_state(as.tun) == TUNNEL_READY));
	ck_assert_int_eq(rs.tls_ups, 1);
	ck_assert_int_eq(as.hellos, 1);
	ck_assert_uint_gt(tunnel_up_ms(rs.tun), 0);
}

START_TEST(test_up_and_states)
{
	up();
	ck_assert_int_eq(rs.nseen, 2);
	ck_assert_int_eq(rs.seen[0], TUNNEL_HELLO);
	ck_assert_int_eq(rs.seen[1], TUNNEL_READY);
	ck_assert_str_eq(tunnel_state_name(TUNNEL_DRAINING), "DRAINING");
	ck_assert_str_eq(tunnel_state_name((enum tunnel_state)99), "?");
	ck_assert_str_eq(tunnel_name(rs.tun), "agent-peer");
	tunnel_set_name(rs.tun, "home");
	ck_assert_str_eq(tunnel_name(rs.tun), "home");
	ck_assert_str_eq(tunnel_peer(rs.tun), "agent-peer");
}
END_TEST

/* A public client's bytes reach the target and back through a stream; the
 * stream's end frees its pump and tells the owner (stream_gone). */
START_TEST(test_stream_both_ways)
{
	int client, rfd, target;
	char err[256], buf[64];
	ssize_t n;

	up();
	socktest_tcp_pair(&client, &rfd);
	socktest_tcp_pair(&target, &as.accept_fd);
	ck_assert_int_eq(tunnel_stream_open(rs.tun, rfd, "svc", NULL, "relay",
	    &rs, err, sizeof(err)), 0);
	ck_assert_int_eq(send(client, "hello", 5, 0), 5);
	ck_assert(RUN_UNTIL(1, (n = recv(target, buf, sizeof(buf), 0)) > 0));
	ck_assert_int_eq(n, 5);
	ck_assert_int_eq(memcmp(buf, "hello", 5), 0);
	ck_assert_int_eq(as.opens, 1);
	ck_assert_uint_eq(tunnel_nstreams(rs.tun), 1);
	ck_assert_int_eq(send(target, "world!", 6, 0), 6);
	ck_assert(RUN_UNTIL(1, (n = recv(client, buf, sizeof(buf), 0)) > 0));
	ck_assert_int_eq(n, 6);
	ck_assert_int_eq(memcmp(buf, "world!", 6), 0);
	/* FIN both ways: a clean end, the pumps are freed. */
	ck_assert_int_eq(shutdown(client, SHUT_WR), 0);
	ck_assert(RUN_UNTIL(1, recv(target, buf, sizeof(buf), 0) == 0));
	ck_assert_int_eq(shutdown(target, SHUT_WR), 0);
	ck_assert(RUN_UNTIL(1, recv(client, buf, sizeof(buf), 0) == 0));
	ck_assert(RUN_UNTIL(1, rs.gone == 1 && as.gone == 1 &&
	    tunnel_nstreams(rs.tun) == 0 && tunnel_nstreams(as.tun) == 0));
	close(client);
	close(target);
}
END_TEST

/* A drain on one side: GOAWAY, the other side drains too, both close in
 * order and neither calls it lost. */
START_TEST(test_drain_in_order)
{
	up();
	tunnel_drain(rs.tun, MUX_CODE_SHUTDOWN, "relay shutting down");
	ck_assert_int_eq(tunnel_state(rs.tun), TUNNEL_DRAINING);
	ck_assert(RUN_UNTIL(1, tunnel_state(rs.tun) == TUNNEL_DEAD &&
	    tunnel_state(as.tun) == TUNNEL_DEAD));
	ck_assert_int_eq(tunnel_was_lost(rs.tun), 0);
	ck_assert_int_eq(tunnel_was_lost(as.tun), 0);
	/* No stream was open: closed at once, not at the deadline. */
	ck_assert_str_eq(tunnel_reason(rs.tun), "drained");
	ck_assert_int_eq(rs.seen[rs.nseen - 3], TUNNEL_DRAINING);
	ck_assert_int_eq(rs.seen[rs.nseen - 2], TUNNEL_CLOSING);
	ck_assert_int_eq(rs.seen[rs.nseen - 1], TUNNEL_DEAD);
}
END_TEST

/* The agent side stops running (a frozen process): the relay's heartbeat
 * finds it silent after ping_ms * ping_misses and drops it at once, without
 * waiting for a close_notify that will not come. */
START_TEST(test_silent_peer)
{
	uint64_t t0;

	up();
	t0 = now_ms();
	ck_assert(RUN_UNTIL(0, tunnel_state(rs.tun) == TUNNEL_DEAD));
	ck_assert_uint_ge(now_ms() - t0, 250);
	ck_assert_uint_lt(now_ms() - t0, 5000);
	ck_assert_int_eq(tunnel_was_lost(rs.tun), 1);
	ck_assert_msg(strncmp(tunnel_reason(rs.tun), "agent silent for ",
	    17) == 0, "reason: %s", tunnel_reason(rs.tun));
	/* DEAD straight from READY: no CLOSING wait. */
	ck_assert_int_eq(rs.seen[rs.nseen - 2], TUNNEL_CLOSING);
	ck_assert_int_eq(rs.seen[rs.nseen - 1], TUNNEL_DEAD);
}
END_TEST

/* The first RTT sample is taken as the tunnel becomes ready, when the peer
 * may still be busy (here: frozen for 50 ms); the probes of the next two
 * seconds, not a heartbeat (there is none), find the path's minimum. */
START_TEST(test_rtt_probes)
{
	uint64_t t0;

	heartbeat_ms = 0;
	freeze_on_ready = 1;
	pair();
	ck_assert(RUN_UNTIL(1, tunnel_mux(rs.tun) != NULL &&
	    mux_rtt_us(tunnel_mux(rs.tun)) > 0));
	ck_assert_uint_ge(mux_rtt_min_us(tunnel_mux(rs.tun)), 40000);
	t0 = now_ms();
	ck_assert(RUN_UNTIL(1, mux_rtt_min_us(tunnel_mux(rs.tun)) < 20000));
	ck_assert_uint_lt(now_ms() - t0, 3000);
}
END_TEST

/* A peer that connects and never speaks TLS: the handshake deadline. */
START_TEST(test_handshake_timeout)
{
	SSL_CTX *sctx = tlstest_ctx(TLS_ROLE_RELAY, ca, ca, "relay.test", NULL);
	struct tunnel_settings s;
	int sv[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0,
	    sv), 0);
	settings(&s, 1);
	s.handshake_ms = 200;
	rs.tun = tunnel_new(rs.base, sv[0], SSL_new(sctx), &s, &cbs, &rs,
	    "mute");
	SSL_CTX_free(sctx);
	ck_assert(RUN_UNTIL(0, tunnel_state(rs.tun) == TUNNEL_DEAD));
	ck_assert_str_eq(tunnel_reason(rs.tun), "handshake with mute timed out");
	ck_assert_int_eq(tunnel_tls_done(rs.tun), 0);
	ck_assert_int_eq(rs.tls_ups, 0);
	close(sv[1]);
}
END_TEST

/* The agent side vanishes: the relay's tunnel is lost, with the reason. */
START_TEST(test_peer_vanishes)
{
	up();
	tunnel_free(as.tun);
	as.tun = NULL;
	ck_assert(RUN_UNTIL(0, tunnel_state(rs.tun) == TUNNEL_DEAD));
	ck_assert_int_eq(tunnel_was_lost(rs.tun), 1);
	ck_assert_msg(strstr(tunnel_reason(rs.tun), "agent-peer") != NULL,
	    "reason: %s", tunnel_reason(rs.tun));
}
END_TEST

/* The owner refuses at TLS time (the relay: no valid CN): DEAD with the
 * owner's reason, no mux ever built. */
START_TEST(test_owner_refuses)
{
	rs.refuse_tls = 1;
	pair();
	ck_assert(RUN_UNTIL(1, tunnel_state(rs.tun) == TUNNEL_DEAD));
	ck_assert_str_eq(tunnel_reason(rs.tun), "refused by the owner");
	ck_assert_ptr_null(tunnel_mux(rs.tun));
	ck_assert(RUN_UNTIL(1, tunnel_state(as.tun) == TUNNEL_DEAD));
	ck_assert_int_eq(as.hellos, 0);
}
END_TEST

static Suite *
tunnel_suite(void)
{
	Suite *s = suite_create("tunnel");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_up_and_states);
	tcase_add_test(tc, test_stream_both_ways);
	tcase_add_test(tc, test_drain_in_order);
	tcase_add_test(tc, test_silent_peer);
	tcase_add_test(tc, test_rtt_probes);
	tcase_add_test(tc, test_handshake_timeout);
	tcase_add_test(tc, test_peer_vanishes);
	tcase_add_test(tc, test_owner_refuses);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(tunnel_suite());
	int nf;

	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
