/*
 * check_tlsio.c — common/io/tlsio.c with real certificates (pki library), real
 * handshakes and a real event loop over a socket pair: bytes arrive intact
 * and in order both ways under a bounded ciphertext queue, the suite is
 * AES-128-GCM, close_notify ends the peer cleanly after its last data, and
 * a wrong certificate, a vanished peer or garbage each end in down with the
 * right kind and reason; 300 connections in a row all work.
 */
#include <sys/socket.h>

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "pki.h"
#include "tls.h"
#include "tlsio.h"
#include "tlstest.h"

#define HIGH		(64 * 1024)
#define BULK		(8 * 1024 * 1024)

static char dir[] = "/tmp/check_tlsio.XXXXXX";
static char ca[512], other[512];

struct end {
	struct tlsio	*t;
	struct evbuffer	*got;		/* everything input delivered */
	struct evbuffer	*src;		/* what is left to send */
	int		 up;
	int		 down;		/* TLSIO_EOF / TLSIO_ERROR */
	size_t		 max_queued;
};

static struct event_base *base;
static struct end srv, cli;

static void
setup(void)
{
	tlstest_pki(dir, ca, other, sizeof(ca));
}

static void
teardown(void)
{
	tlstest_rm(dir);
}

/* Send from e->src while the ciphertext queue is below HIGH. */
static void
pump(struct end *e)
{
	struct evbuffer *chunk;
	size_t n;

	if (!e->up || e->down || evbuffer_get_length(e->src) == 0)
		return;
	ck_assert_ptr_nonnull(chunk = evbuffer_new());
	while (tlsio_queued(e->t) < HIGH &&
	    (n = evbuffer_get_length(e->src)) > 0) {
		if (n > 40000)
			n = 40000;	/* not a record multiple */
		ck_assert_int_eq(evbuffer_remove_buffer(e->src, chunk, n),
		    (int)n);
		if (tlsio_write(e->t, chunk) != 0)
			break;
		ck_assert_uint_eq(evbuffer_get_length(chunk), 0);
	}
	if (tlsio_queued(e->t) > e->max_queued)
		e->max_queued = tlsio_queued(e->t);
	evbuffer_free(chunk);
}

static void
on_up(void *arg)
{
	struct end *e = arg;

	e->up = 1;
	pump(e);
}

static void
on_input(struct evbuffer *in, void *arg)
{
	struct end *e = arg;

	evbuffer_add_buffer(e->got, in);
}

static void
on_drained(void *arg)
{
	pump(arg);
}

static void
on_down(int what, void *arg)
{
	struct end *e = arg;

	e->down = what;
}

static const struct tlsio_callbacks cbs = {
	on_up, on_input, on_drained, on_down,
};

static void
end_init(struct end *e)
{
	memset(e, 0, sizeof(*e));
	ck_assert_ptr_nonnull(e->got = evbuffer_new());
	ck_assert_ptr_nonnull(e->src = evbuffer_new());
}

static void
end_free(struct end *e)
{
	tlsio_free(e->t);
	evbuffer_free(e->got);
	evbuffer_free(e->src);
}

/* A pair over a socket pair: the client presents agent cert name of dir
 * d.  raw[] gets the two descriptors (server's, client's). */
static void
pair(const char *d, const char *name, int raw[2])
{
	SSL_CTX *sctx = tlstest_ctx(TLS_ROLE_RELAY, ca, ca, "relay.test", NULL);
	SSL_CTX *cctx = tlstest_ctx(TLS_ROLE_AGENT, ca, d, name, NULL);
	char err[512];
	SSL *c;
	int sv[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0,
	    sv), 0);
	raw[0] = sv[0];
	raw[1] = sv[1];
	ck_assert_ptr_nonnull(base = event_base_new());
	end_init(&srv);
	end_init(&cli);
	srv.t = tlsio_new(base, sv[0], SSL_new(sctx), 1, HIGH, 256 * 1024,
	    &cbs, &srv);
	c = tls_ssl_new_client(cctx, "relay.test", err, sizeof(err));
	ck_assert_msg(c != NULL, "%s", err);
	cli.t = tlsio_new(base, sv[1], c, 0, HIGH, 256 * 1024, &cbs, &cli);
	ck_assert_ptr_nonnull(srv.t);
	ck_assert_ptr_nonnull(cli.t);
	SSL_CTX_free(sctx);	/* the SSLs hold references */
	SSL_CTX_free(cctx);
}

static void
unpair(void)
{
	end_free(&srv);
	end_free(&cli);
	event_base_free(base);
}

/* Run the loop until cond() holds, at most 20 s. */
static void
run_until(int (*cond)(void))
{
	struct timeval tick = { 0, 10000 };
	int i;

	for (i = 0; i < 2000 && !cond(); i++) {
		event_base_loopexit(base, &tick);
		event_base_dispatch(base);
	}
	ck_assert_msg(cond(), "condition not reached in 20 s (up %d/%d down %d/%d got %zu/%zu)", srv.up, cli.up, srv.down, cli.down, evbuffer_get_length(srv.got), evbuffer_get_length(cli.got));
}

static int
both_got_all(void)
{
	return evbuffer_get_length(srv.got) == BULK &&
	    evbuffer_get_length(cli.got) == BULK;
}

static void
fill_pattern(struct evbuffer *b, unsigned seed)
{
	unsigned char *p = malloc(BULK);
	size_t i;

	ck_assert_ptr_nonnull(p);
	for (i = 0; i < BULK; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = (unsigned char)(seed >> 16);
	}
	ck_assert_int_eq(evbuffer_add(b, p, BULK), 0);
	free(p);
}

static int
same(struct evbuffer *a, struct evbuffer *b)
{
	size_t n = evbuffer_get_length(a);

	return n == evbuffer_get_length(b) &&
	    memcmp(evbuffer_pullup(a, -1), evbuffer_pullup(b, -1), n) == 0;
}

/* 8 MiB each way at once: intact, in order, queue bounded, AES-128-GCM. */
START_TEST(test_bulk_both_ways)
{
	struct evbuffer *want_s, *want_c;
	int raw[2];

	pair(ca, "home", raw);
	ck_assert_ptr_nonnull(want_s = evbuffer_new());
	ck_assert_ptr_nonnull(want_c = evbuffer_new());
	fill_pattern(cli.src, 1);
	fill_pattern(want_s, 1);
	fill_pattern(srv.src, 2);
	fill_pattern(want_c, 2);
	run_until(both_got_all);
	ck_assert_int_eq(srv.up, 1);
	ck_assert_int_eq(cli.up, 1);
	ck_assert_int_eq(srv.down, 0);
	ck_assert_int_eq(cli.down, 0);
	ck_assert(same(srv.got, want_s));
	ck_assert(same(cli.got, want_c));
	/* One pump() adds at most one 40000-byte chunk's records beyond
	 * HIGH. */
	ck_assert_uint_lt(srv.max_queued, HIGH + 41000);
	ck_assert_uint_lt(cli.max_queued, HIGH + 41000);
	ck_assert_str_eq(SSL_get_cipher_name(tlsio_ssl(srv.t)),
	    "TLS_AES_128_GCM_SHA256");
	evbuffer_free(want_s);
	evbuffer_free(want_c);
	unpair();
}
END_TEST

static int
both_up(void)
{
	return srv.up && cli.up;
}

static int
srv_down(void)
{
	return srv.down != 0;
}

static int
cli_down(void)
{
	return cli.down != 0;
}

/* close_notify after data: the peer gets every byte, then EOF, and
 * the sender can write no more. */
START_TEST(test_close_notify)
{
	struct evbuffer *one;
	int raw[2];

	pair(ca, "home", raw);
	run_until(both_up);
	ck_assert_ptr_nonnull(one = evbuffer_new());
	ck_assert_int_eq(evbuffer_add(one, "last words", 10), 0);
	ck_assert_int_eq(tlsio_write(cli.t, one), 0);
	tlsio_close_notify(cli.t);
	/* Nothing more may be written after close_notify. */
	ck_assert_int_eq(evbuffer_add(one, "x", 1), 0);
	ck_assert_int_eq(tlsio_write(cli.t, one), -1);
	run_until(srv_down);
	ck_assert_int_eq(srv.down, TLSIO_EOF);
	ck_assert_uint_eq(evbuffer_get_length(srv.got), 10);
	ck_assert_int_eq(memcmp(evbuffer_pullup(srv.got, -1), "last words",
	    10), 0);
	ck_assert_int_eq(tlsio_sys_error(srv.t), 0);
	ck_assert_uint_eq(tlsio_ssl_error(srv.t), 0);
	/* The half-closed side still reads (it waits for the peer's end). */
	ck_assert_int_eq(cli.down, 0);
	evbuffer_free(one);
	unpair();
}
END_TEST

/* An agent certificate from another CA: the server fails the handshake
 * with the verify error, and the client hears the alert. */
START_TEST(test_wrong_ca)
{
	char why[256];
	int raw[2];

	pair(other, "stranger", raw);
	run_until(srv_down);
	ck_assert_int_eq(srv.down, TLSIO_ERROR);
	ck_assert_int_eq(srv.up, 0);
	ck_assert_str_eq(tls_failure(tlsio_ssl(srv.t), tlsio_ssl_error(srv.t),
	    why, sizeof(why)), "unable to get local issuer certificate");
	run_until(cli_down);
	ck_assert_int_eq(cli.down, TLSIO_ERROR);
	ck_assert_str_eq(tls_failure(tlsio_ssl(cli.t), tlsio_ssl_error(cli.t),
	    why, sizeof(why)), "tlsv1 alert unknown ca");
	unpair();
}
END_TEST

/* The peer's socket closes without close_notify: EOF, no error. */
START_TEST(test_peer_vanishes)
{
	int raw[2];

	pair(ca, "home", raw);
	run_until(both_up);
	tlsio_stop(cli.t);
	ck_assert_int_eq(shutdown(raw[1], SHUT_RDWR), 0);
	run_until(srv_down);
	ck_assert_int_eq(srv.down, TLSIO_EOF);
	ck_assert_int_eq(cli.down, 0);	/* stopped: no callback */
	unpair();
}
END_TEST

/* Bytes that are not TLS: the server fails, with a library error. */
START_TEST(test_garbage)
{
	static const char junk[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
	char why[256];
	int raw[2];

	pair(ca, "home", raw);
	tlsio_stop(cli.t);
	ck_assert_int_eq(write(raw[1], junk, sizeof(junk) - 1),
	    (ssize_t)sizeof(junk) - 1);
	run_until(srv_down);
	ck_assert_int_eq(srv.down, TLSIO_ERROR);
	ck_assert_uint_ne(tlsio_ssl_error(srv.t), 0);
	ck_assert_str_eq(tls_failure(tlsio_ssl(srv.t), tlsio_ssl_error(srv.t),
	    why, sizeof(why)), "http request");
	unpair();
}
END_TEST

static int
got_one_each(void)
{
	return evbuffer_get_length(srv.got) == 1 &&
	    evbuffer_get_length(cli.got) == 1;
}

/* 300 connections in a row in one process: each works, and none leaves
 * anything behind (the ASan build of this test checks the leak part). */
START_TEST(test_many)
{
	int i, raw[2];

	for (i = 0; i < 300; i++) {
		pair(ca, "home", raw);
		ck_assert_int_eq(evbuffer_add(cli.src, "c", 1), 0);
		ck_assert_int_eq(evbuffer_add(srv.src, "s", 1), 0);
		run_until(got_one_each);
		ck_assert_int_eq(*evbuffer_pullup(srv.got, 1), 'c');
		ck_assert_int_eq(*evbuffer_pullup(cli.got, 1), 's');
		unpair();
	}
}
END_TEST

static Suite *
tlsio_suite(void)
{
	Suite *s = suite_create("tlsio");
	TCase *tc = tcase_create("core");

	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_bulk_both_ways);
	tcase_add_test(tc, test_close_notify);
	tcase_add_test(tc, test_wrong_ca);
	tcase_add_test(tc, test_peer_vanishes);
	tcase_add_test(tc, test_garbage);
	tcase_add_test(tc, test_many);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(tlsio_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
