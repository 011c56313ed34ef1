/*
 * check_mux.c — the multiplexer (common/mux*.c): two muxes wired to each other
 * in memory (a relay and an agent), every message round-tripped, every row of
 * PROTOCOL.md's error table provoked with hand-made frames, a seeded property
 * test of the windows, half-close, fairness, 10,000 streams, allocation
 * failures.
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "frame.h"
#include "mux.h"

#define MAXSID	(1 << 16)

/* What one side saw, per stream. */
struct tstream {
	struct evbuffer	*data;		/* bytes taken from stream_data */
	int		 opened;	/* stream_open fired */
	int		 accepted;	/* stream_accepted fired */
	int		 eof;
	int		 closed;
	int		 writable;
	uint32_t	 code;
	char		 text[600];
	char		 service[80];
	struct mux_peer	 peer;
	size_t		 unconsumed;	/* taken, not yet reported consumed */
};

struct side {
	struct mux	*m;
	struct evbuffer	*out;		/* pulled from m, not yet delivered */
	struct tstream	*st;		/* indexed by sid */
	int		 auto_accept;
	int		 auto_consume;	/* report consumed at once */
	size_t		 take_max;	/* stream_data takes at most this */
	int		 refuse_code;	/* refuse opens with this if != 0 */
	int		 nctl;
	struct mux_ctl	 ctl;		/* last control message */
	char		 ctl_name[80];
	char		 ctl_text[600];
	int		 wants;
	int		 closes;
	int		 input_rc;
};

struct pair {
	struct side	r;		/* relay */
	struct side	a;		/* agent */
};

static struct tstream *
ts(struct side *sd, uint32_t sid)
{
	ck_assert_uint_lt(sid, MAXSID);
	return &sd->st[sid];
}

static void
cb_control(struct mux *m, const struct mux_ctl *ctl, void *arg)
{
	struct side	*sd = arg;

	(void)m;
	sd->nctl++;
	sd->ctl = *ctl;
	snprintf(sd->ctl_name, sizeof(sd->ctl_name), "%s",
	    ctl->name != NULL ? ctl->name : "(null)");
	snprintf(sd->ctl_text, sizeof(sd->ctl_text), "%s",
	    ctl->text != NULL ? ctl->text : "(null)");
	sd->ctl.name = sd->ctl_name;
	sd->ctl.text = sd->ctl_text;
}

static void
cb_open(struct mux *m, uint32_t sid, const char *service,
    const struct mux_peer *client, void *arg)
{
	struct side	*sd = arg;
	struct tstream	*t = ts(sd, sid);

	ck_assert_int_eq(t->opened, 0);
	t->opened = 1;
	snprintf(t->service, sizeof(t->service), "%s", service);
	t->peer = *client;
	if (sd->refuse_code != 0)
		ck_assert_int_eq(mux_stream_refuse(m, sid,
		    (uint32_t)sd->refuse_code, "no thanks"), 0);
	else if (sd->auto_accept)
		ck_assert_int_eq(mux_stream_accept(m, sid, sd), 0);
}

static void
cb_accepted(struct mux *m, uint32_t sid, void *sarg)
{
	struct side	*sd = sarg;

	(void)m;
	ts(sd, sid)->accepted++;
}

static void
cb_data(struct mux *m, uint32_t sid, struct evbuffer *data, void *sarg)
{
	struct side	*sd = sarg;
	struct tstream	*t = ts(sd, sid);
	size_t		 n = evbuffer_get_length(data);

	ck_assert_int_eq(t->eof, 0);		/* never data after EOF */
	if (n > sd->take_max)
		n = sd->take_max;
	if (t->data == NULL)
		t->data = evbuffer_new();
	ck_assert_int_eq(evbuffer_remove_buffer(data, t->data, n), (int)n);
	if (sd->auto_consume)
		ck_assert_int_eq(mux_stream_consumed(m, sid, n), 0);
	else
		t->unconsumed += n;
}

static void
cb_eof(struct mux *m, uint32_t sid, void *sarg)
{
	struct side	*sd = sarg;

	(void)m;
	ck_assert_int_eq(ts(sd, sid)->eof, 0);
	ts(sd, sid)->eof = 1;
}

static void
cb_closed(struct mux *m, uint32_t sid, uint32_t code, const char *text,
    void *sarg)
{
	struct side	*sd = sarg;
	struct tstream	*t;

	(void)m;
	ck_assert_ptr_nonnull(sd);
	t = ts(sd, sid);
	ck_assert_int_eq(t->closed, 0);		/* exactly once */
	t->closed = 1;
	t->code = code;
	snprintf(t->text, sizeof(t->text), "%s", text != NULL ? text : "");
	sd->closes++;
}

static void
cb_writable(struct mux *m, uint32_t sid, void *sarg)
{
	(void)m;
	ts(sarg, sid)->writable++;
}

static void
cb_want(struct mux *m, void *arg)
{
	(void)m;
	((struct side *)arg)->wants++;
}

static const struct mux_callbacks test_cb = {
	cb_control, cb_open, cb_accepted, cb_data, cb_eof, cb_closed,
	cb_writable, cb_want,
};

static void
side_init(struct side *sd, enum mux_role role, const struct mux_settings *s)
{
	memset(sd, 0, sizeof(*sd));
	sd->st = calloc(MAXSID, sizeof(*sd->st));
	sd->out = evbuffer_new();
	sd->auto_accept = 1;
	sd->auto_consume = 1;
	sd->take_max = SIZE_MAX;
	sd->m = mux_new(role, s, &test_cb, sd);
	ck_assert_ptr_nonnull(sd->m);
}

static void
side_free(struct side *sd)
{
	size_t	i;

	mux_free(sd->m);
	for (i = 0; i < MAXSID; i++)
		if (sd->st[i].data != NULL)
			evbuffer_free(sd->st[i].data);
	free(sd->st);
	evbuffer_free(sd->out);
}

static void
pair_init(struct pair *p, const struct mux_settings *rs,
    const struct mux_settings *as)
{
	struct mux_settings	def;

	mux_settings_default(&def);
	def.identity = "home-nas";
	side_init(&p->r, MUX_ROLE_RELAY, rs);
	side_init(&p->a, MUX_ROLE_AGENT, as != NULL ? as : &def);
}

static void
pair_free(struct pair *p)
{
	side_free(&p->r);
	side_free(&p->a);
}

/* Move one side's output to the other's input, at most max bytes of it. */
static size_t
pump_one(struct side *from, struct side *to, size_t max)
{
	size_t	n;

	n = mux_output(from->m, from->out, max);
	if (evbuffer_get_length(from->out) > 0) {
		to->input_rc = mux_input(to->m, from->out);
		if (to->input_rc != 0)
			evbuffer_drain(from->out,
			    evbuffer_get_length(from->out));
	}
	return n;
}

/* Until quiet (bounded: a livelock fails the test). */
static void
pump(struct pair *p)
{
	int	i;

	for (i = 0; i < 100000; i++) {
		if (pump_one(&p->r, &p->a, SIZE_MAX) +
		    pump_one(&p->a, &p->r, SIZE_MAX) == 0 &&
		    !mux_has_output(p->r.m) && !mux_has_output(p->a.m))
			return;
	}
	ck_abort_msg("pump: no quiescence");
}

static void
pair_ready(struct pair *p, const struct mux_settings *rs,
    const struct mux_settings *as)
{
	pair_init(p, rs, as);
	pump(p);
	ck_assert_int_eq(mux_is_ready(p->r.m), 1);
	ck_assert_int_eq(mux_is_ready(p->a.m), 1);
}

static void
add_bytes(struct evbuffer *b, size_t n, uint32_t seed)
{
	uint8_t	chunk[4096];
	size_t	i, k;

	while (n > 0) {
		k = n < sizeof(chunk) ? n : sizeof(chunk);
		for (i = 0; i < k; i++) {
			seed = seed * 1103515245 + 12345;
			chunk[i] = (uint8_t)(seed >> 16);
		}
		evbuffer_add(b, chunk, k);
		n -= k;
	}
}

static int
buf_equal(struct evbuffer *a, struct evbuffer *b)
{
	size_t	n = evbuffer_get_length(a);

	if (b == NULL)
		return n == 0;
	if (n != evbuffer_get_length(b))
		return 0;
	return n == 0 || memcmp(evbuffer_pullup(a, -1), evbuffer_pullup(b, -1),
	    n) == 0;
}

/* --- Round trips. ------------------------------------------------------- */

START_TEST(test_handshake)
{
	struct pair	p;

	pair_init(&p, NULL, NULL);
	ck_assert_int_eq(mux_is_ready(p.r.m), 0);
	ck_assert_int_eq(mux_stream_open(p.r.m, "web", NULL, NULL, NULL),
	    MUX_ESTATE);
	pump(&p);
	ck_assert_int_eq(mux_is_ready(p.r.m), 1);
	ck_assert_int_eq(p.r.nctl, 1);
	ck_assert_int_eq(p.r.ctl.type, MUX_CTL_HELLO);
	ck_assert_str_eq(p.r.ctl_name, "home-nas");
	ck_assert_int_eq(p.a.ctl.type, MUX_CTL_HELLO);
	ck_assert_str_eq(p.a.ctl_name, "");
	ck_assert_int_gt(p.r.wants, 0);
	pair_free(&p);
}
END_TEST

START_TEST(test_register_roundtrip)
{
	struct pair	p;
	struct mux_ctl	c;

	pair_ready(&p, NULL, NULL);
	memset(&c, 0, sizeof(c));
	c.type = MUX_CTL_REGISTER;
	c.name = "smb";
	c.port = 10445;
	c.flags = MUX_REG_PRIVATE;
	ck_assert_int_eq(mux_send_ctl(p.a.m, &c), 0);
	/* A relay does not send REGISTER, an agent not REGISTER_OK. */
	ck_assert_int_eq(mux_send_ctl(p.r.m, &c), MUX_EINVAL);
	pump(&p);
	ck_assert_int_eq(p.r.ctl.type, MUX_CTL_REGISTER);
	ck_assert_str_eq(p.r.ctl_name, "smb");
	ck_assert_uint_eq(p.r.ctl.port, 10445);
	ck_assert_uint_eq(p.r.ctl.flags, MUX_REG_PRIVATE);

	c.type = MUX_CTL_REGISTER_OK;
	c.port = 20445;
	ck_assert_int_eq(mux_send_ctl(p.a.m, &c), MUX_EINVAL);
	ck_assert_int_eq(mux_send_ctl(p.r.m, &c), 0);
	pump(&p);
	ck_assert_int_eq(p.a.ctl.type, MUX_CTL_REGISTER_OK);
	ck_assert_str_eq(p.a.ctl_name, "smb");
	ck_assert_uint_eq(p.a.ctl.port, 20445);

	c.type = MUX_CTL_REGISTER_ERR;
	c.code = MUX_CODE_PORT_IN_USE;
	c.text = "port 10445 in use";
	ck_assert_int_eq(mux_send_ctl(p.r.m, &c), 0);
	pump(&p);
	ck_assert_int_eq(p.a.ctl.type, MUX_CTL_REGISTER_ERR);
	ck_assert_uint_eq(p.a.ctl.code, MUX_CODE_PORT_IN_USE);
	ck_assert_str_eq(p.a.ctl_text, "port 10445 in use");

	c.type = MUX_CTL_UNREGISTER;
	c.name = "web";
	ck_assert_int_eq(mux_send_ctl(p.a.m, &c), 0);
	pump(&p);
	ck_assert_int_eq(p.r.ctl.type, MUX_CTL_UNREGISTER);
	ck_assert_str_eq(p.r.ctl_name, "web");

	c.name = "";		/* empty and over-long names are refused */
	ck_assert_int_eq(mux_send_ctl(p.a.m, &c), MUX_EINVAL);
	c.name = "0123456789012345678901234567890123456789012345678901234567890"
	    "12345";
	ck_assert_int_eq(mux_send_ctl(p.a.m, &c), MUX_EINVAL);
	c.type = MUX_CTL_PONG;
	c.name = "x";
	ck_assert_int_eq(mux_send_ctl(p.a.m, &c), MUX_EINVAL);
	pair_free(&p);
}
END_TEST

START_TEST(test_ping_pong)
{
	struct pair	p;

	pair_ready(&p, NULL, NULL);
	ck_assert_int_eq(mux_ping(p.a.m, 0xfeedface12345678ULL), 0);
	pump(&p);
	ck_assert_int_eq(p.a.ctl.type, MUX_CTL_PONG);
	ck_assert(p.a.ctl.opaque == 0xfeedface12345678ULL);
	ck_assert_int_eq(p.r.nctl, 1);		/* PING itself is internal */
	pair_free(&p);
}
END_TEST

START_TEST(test_stream_roundtrip)
{
	struct pair	 p;
	struct mux_peer	 peer;
	struct evbuffer	*up = evbuffer_new(), *down = evbuffer_new();
	struct evbuffer	*src = evbuffer_new();
	uint32_t	 sid = 0;
	size_t		 moved;

	pair_ready(&p, NULL, NULL);
	memset(&peer, 0, sizeof(peer));
	peer.family = 6;
	memset(peer.addr, 0x20, 16);
	peer.port = 40000;
	ck_assert_int_eq(mux_stream_open(p.r.m, "web", &peer, &p.r, &sid), 0);
	ck_assert_uint_eq(sid, 1);
	ck_assert_uint_eq(mux_nstreams(p.r.m), 1);
	pump(&p);
	ck_assert_int_eq(ts(&p.a, 1)->opened, 1);
	ck_assert_str_eq(ts(&p.a, 1)->service, "web");
	ck_assert_uint_eq(ts(&p.a, 1)->peer.family, 6);
	ck_assert_uint_eq(ts(&p.a, 1)->peer.port, 40000);
	ck_assert_mem_eq(ts(&p.a, 1)->peer.addr, peer.addr, 16);
	ck_assert_int_eq(ts(&p.r, 1)->accepted, 1);
	ck_assert_ptr_eq(mux_stream_arg(p.r.m, 1), &p.r);

	add_bytes(up, 300000, 1);
	add_bytes(down, 200000, 2);
	evbuffer_add_buffer(src, up);
	add_bytes(up, 300000, 1);	/* keep a copy to compare */
	while (evbuffer_get_length(src) > 0) {
		ck_assert_int_eq(mux_stream_write(p.r.m, 1, src, &moved), 0);
		pump(&p);
	}
	evbuffer_add_buffer(src, down);
	add_bytes(down, 200000, 2);
	while (evbuffer_get_length(src) > 0) {
		ck_assert_int_eq(mux_stream_write(p.a.m, 1, src, &moved), 0);
		pump(&p);
	}
	ck_assert_int_eq(mux_stream_shutdown(p.r.m, 1), 0);
	ck_assert_int_eq(mux_stream_shutdown(p.r.m, 1), MUX_ESTATE);
	pump(&p);
	ck_assert_int_eq(ts(&p.a, 1)->eof, 1);
	ck_assert_int_eq(ts(&p.a, 1)->closed, 0);
	ck_assert_int_eq(mux_stream_shutdown(p.a.m, 1), 0);
	pump(&p);
	ck_assert_int_eq(ts(&p.r, 1)->eof, 1);
	ck_assert(buf_equal(up, ts(&p.a, 1)->data));
	ck_assert(buf_equal(down, ts(&p.r, 1)->data));
	ck_assert_int_eq(ts(&p.r, 1)->closed, 1);
	ck_assert_uint_eq(ts(&p.r, 1)->code, MUX_CODE_NONE);
	ck_assert_int_eq(ts(&p.a, 1)->closed, 1);
	ck_assert_uint_eq(ts(&p.a, 1)->code, MUX_CODE_NONE);
	ck_assert_uint_eq(mux_nstreams(p.r.m), 0);
	ck_assert_uint_eq(mux_nstreams(p.a.m), 0);
	ck_assert_int_eq(mux_stream_write(p.r.m, 1, src, &moved),
	    MUX_ENOSTREAM);
	evbuffer_free(up);
	evbuffer_free(down);
	evbuffer_free(src);
	pair_free(&p);
}
END_TEST

START_TEST(test_refuse_and_reset)
{
	struct pair	p;
	uint32_t	sid;

	pair_ready(&p, NULL, NULL);
	p.a.refuse_code = MUX_CODE_REFUSED;
	ck_assert_int_eq(mux_stream_open(p.r.m, "web", NULL, &p.r, &sid), 0);
	pump(&p);
	ck_assert_int_eq(ts(&p.r, sid)->closed, 1);
	ck_assert_uint_eq(ts(&p.r, sid)->code, MUX_CODE_REFUSED);
	ck_assert_str_eq(ts(&p.r, sid)->text, "no thanks");
	ck_assert_int_eq(ts(&p.a, sid)->closed, 0);	/* own refusal */
	ck_assert_uint_eq(mux_nstreams(p.r.m), 0);
	ck_assert_uint_eq(mux_nstreams(p.a.m), 0);

	p.a.refuse_code = 0;
	ck_assert_int_eq(mux_stream_open(p.r.m, "web", NULL, &p.r, &sid), 0);
	ck_assert_uint_eq(sid, 3);
	pump(&p);
	ck_assert_int_eq(mux_stream_reset(p.r.m, sid, MUX_CODE_CANCEL), 0);
	ck_assert_int_eq(mux_stream_reset(p.r.m, sid, MUX_CODE_CANCEL),
	    MUX_ENOSTREAM);
	pump(&p);
	ck_assert_int_eq(ts(&p.r, sid)->closed, 0);	/* own reset */
	ck_assert_int_eq(ts(&p.a, sid)->closed, 1);
	ck_assert_uint_eq(ts(&p.a, sid)->code, MUX_CODE_CANCEL);
	ck_assert_uint_eq(mux_nstreams(p.a.m), 0);

	/* The agent opens even IDs; the relay refuses for lack of a
	 * stream_open decision here (auto_accept off, refuse by hand). */
	p.r.auto_accept = 0;
	ck_assert_int_eq(mux_stream_open(p.a.m, "x", NULL, &p.a, &sid), 0);
	ck_assert_uint_eq(sid, 2);
	pump(&p);
	ck_assert_int_eq(ts(&p.r, 2)->opened, 1);
	ck_assert_int_eq(mux_stream_refuse(p.r.m, 2, MUX_CODE_UNKNOWN_SERVICE,
	    "no such service"), 0);
	ck_assert_int_eq(mux_stream_refuse(p.r.m, 2, 1, "x"), MUX_ENOSTREAM);
	pump(&p);
	ck_assert_uint_eq(ts(&p.a, 2)->code, MUX_CODE_UNKNOWN_SERVICE);
	ck_assert_str_eq(ts(&p.a, 2)->text, "no such service");
	pair_free(&p);
}
END_TEST

/* One direction finishes, the other keeps going, in both arrangements. */
START_TEST(test_half_close)
{
	struct pair	 p;
	struct evbuffer	*b = evbuffer_new();
	struct side	*first, *second;
	uint32_t	 sid;
	size_t		 moved;

	pair_ready(&p, NULL, NULL);
	ck_assert_int_eq(mux_stream_open(p.r.m, "web", NULL, &p.r, &sid), 0);
	pump(&p);
	first = _i == 0 ? &p.r : &p.a;
	second = _i == 0 ? &p.a : &p.r;
	evbuffer_add(b, "request", 7);
	ck_assert_int_eq(mux_stream_write(first->m, sid, b, &moved), 0);
	ck_assert_int_eq(mux_stream_shutdown(first->m, sid), 0);
	ck_assert_int_eq(mux_stream_write(first->m, sid, b, &moved),
	    MUX_ESTATE);
	pump(&p);
	ck_assert_int_eq(ts(second, sid)->eof, 1);
	ck_assert_uint_eq(evbuffer_get_length(ts(second, sid)->data), 7);
	/* The other way still flows, several times. */
	evbuffer_add(b, "response-1", 10);
	ck_assert_int_eq(mux_stream_write(second->m, sid, b, &moved), 0);
	pump(&p);
	evbuffer_add(b, "response-2", 10);
	ck_assert_int_eq(mux_stream_write(second->m, sid, b, &moved), 0);
	pump(&p);
	ck_assert_int_eq(ts(first, sid)->eof, 0);
	ck_assert_int_eq(ts(first, sid)->closed, 0);
	ck_assert_int_eq(memcmp(evbuffer_pullup(ts(first, sid)->data, -1),
	    "response-1response-2", 20), 0);
	ck_assert_int_eq(mux_stream_shutdown(second->m, sid), 0);
	pump(&p);
	ck_assert_int_eq(ts(first, sid)->eof, 1);
	ck_assert_int_eq(ts(first, sid)->closed, 1);
	ck_assert_int_eq(ts(second, sid)->closed, 1);
	ck_assert_uint_eq(ts(first, sid)->code, MUX_CODE_NONE);
	evbuffer_free(b);
	pair_free(&p);
}
END_TEST

/* The opener sends before the accept; the acceptor gets it after. */
START_TEST(test_early_data)
{
	struct pair	 p;
	struct evbuffer	*b = evbuffer_new();
	uint32_t	 sid;
	size_t		 moved;

	pair_ready(&p, NULL, NULL);
	p.a.auto_accept = 0;
	ck_assert_int_eq(mux_stream_open(p.r.m, "web", NULL, &p.r, &sid), 0);
	evbuffer_add(b, "GET / HTTP/1.0\r\n\r\n", 18);
	ck_assert_int_eq(mux_stream_write(p.r.m, sid, b, &moved), 0);
	ck_assert_uint_eq(moved, 18);
	ck_assert_int_eq(mux_stream_shutdown(p.r.m, sid), 0);
	pump(&p);
	ck_assert_int_eq(ts(&p.a, sid)->opened, 1);
	ck_assert_ptr_null(ts(&p.a, sid)->data);
	/* The acceptor may not write before accepting. */
	evbuffer_add(b, "x", 1);
	ck_assert_int_eq(mux_stream_write(p.a.m, sid, b, &moved), MUX_ESTATE);
	ck_assert_int_eq(mux_stream_accept(p.a.m, sid, &p.a), 0);
	ck_assert_int_eq(mux_stream_accept(p.a.m, sid, &p.a), MUX_ESTATE);
	ck_assert_ptr_null(ts(&p.a, sid)->data);	/* not from accept */
	pump(&p);
	ck_assert_uint_eq(evbuffer_get_length(ts(&p.a, sid)->data), 18);
	ck_assert_int_eq(ts(&p.a, sid)->eof, 1);
	evbuffer_free(b);
	pair_free(&p);
}
END_TEST

START_TEST(test_goaway_graceful)
{
	struct pair	 p;
	struct evbuffer	*b = evbuffer_new();
	uint32_t	 sid, sid2;
	size_t		 moved;

	pair_ready(&p, NULL, NULL);
	ck_assert_int_eq(mux_stream_open(p.r.m, "web", NULL, &p.r, &sid), 0);
	pump(&p);
	/* Opened before the agent's GOAWAY is seen, above its last_sid. */
	ck_assert_int_eq(mux_goaway(p.a.m, MUX_CODE_SHUTDOWN, "bye"), 0);
	ck_assert_int_eq(mux_stream_open(p.r.m, "web", NULL, &p.r, &sid2), 0);
	ck_assert_int_eq(mux_is_going_away(p.a.m), 1);
	ck_assert_int_eq(mux_stream_open(p.a.m, "x", NULL, NULL, NULL),
	    MUX_ECLOSING);
	pump(&p);
	ck_assert_int_eq(p.r.ctl.type, MUX_CTL_GOAWAY);
	ck_assert_uint_eq(p.r.ctl.code, MUX_CODE_SHUTDOWN);
	ck_assert_uint_eq(p.r.ctl.last_sid, sid);
	ck_assert_str_eq(p.r.ctl_text, "bye");
	ck_assert_int_eq(ts(&p.r, sid2)->closed, 1);
	ck_assert_uint_eq(ts(&p.r, sid2)->code, MUX_CODE_SHUTDOWN);
	ck_assert_int_eq(mux_stream_open(p.r.m, "web", NULL, NULL, NULL),
	    MUX_ECLOSING);
	/* The first stream still works both ways. */
	evbuffer_add(b, "abc", 3);
	ck_assert_int_eq(mux_stream_write(p.r.m, sid, b, &moved), 0);
	evbuffer_add(b, "def", 3);
	ck_assert_int_eq(mux_stream_write(p.a.m, sid, b, &moved), 0);
	pump(&p);
	ck_assert_uint_eq(evbuffer_get_length(ts(&p.a, sid)->data), 3);
	ck_assert_uint_eq(evbuffer_get_length(ts(&p.r, sid)->data), 3);
	ck_assert_int_eq(mux_is_dead(p.r.m), 0);
	ck_assert_int_eq(mux_stream_shutdown(p.r.m, sid), 0);
	ck_assert_int_eq(mux_stream_shutdown(p.a.m, sid), 0);
	pump(&p);
	ck_assert_uint_eq(mux_nstreams(p.r.m), 0);
	ck_assert_uint_eq(mux_nstreams(p.a.m), 0);
	evbuffer_free(b);
	pair_free(&p);
}
END_TEST

START_TEST(test_goaway_error)
{
	struct pair	p;
	uint32_t	sid;

	pair_ready(&p, NULL, NULL);
	ck_assert_int_eq(mux_stream_open(p.r.m, "web", NULL, &p.r, &sid), 0);
	pump(&p);
	ck_assert_int_eq(mux_goaway(p.r.m, MUX_CODE_AUTH,
	    "identity x does not match certificate y"), 0);
	ck_assert_int_eq(mux_is_dead(p.r.m), 1);
	ck_assert_int_eq(ts(&p.r, sid)->closed, 1);
	ck_assert_uint_eq(ts(&p.r, sid)->code, MUX_CODE_AUTH);
	pump(&p);
	ck_assert_int_eq(p.a.input_rc, MUX_EGOAWAY);
	ck_assert_int_eq(mux_is_fatal(p.a.input_rc), 1);
	ck_assert_int_eq(p.a.ctl.type, MUX_CTL_GOAWAY);
	ck_assert_uint_eq(p.a.ctl.code, MUX_CODE_AUTH);
	ck_assert_str_eq(p.a.ctl_text,
	    "identity x does not match certificate y");
	ck_assert_int_eq(ts(&p.a, sid)->closed, 1);
	ck_assert_uint_eq(ts(&p.a, sid)->code, MUX_CODE_AUTH);
	ck_assert_uint_eq(mux_nstreams(p.a.m), 0);
	pair_free(&p);
}
END_TEST

/* mux_free tells every remaining stream the tunnel is lost. */
START_TEST(test_free_closes_streams)
{
	struct pair	p;
	struct side	*r;
	uint32_t	sid;
	int		i;

	pair_ready(&p, NULL, NULL);
	for (i = 0; i < 5; i++)
		ck_assert_int_eq(mux_stream_open(p.r.m, "web", NULL, &p.r,
		    &sid), 0);
	pump(&p);
	r = &p.r;
	mux_free(r->m);
	r->m = NULL;
	ck_assert_int_eq(r->closes, 5);
	ck_assert_uint_eq(ts(r, 9)->code, MUX_CODE_TUNNEL_LOST);
	pair_free(&p);
}
END_TEST

START_TEST(test_names)
{
	ck_assert_str_eq(mux_code_name(MUX_CODE_FLOOD), "FLOOD");
	ck_assert_str_eq(mux_code_name(MUX_CODE_DUPLICATE), "DUPLICATE");
	ck_assert_str_eq(mux_code_name(999), "UNKNOWN");
	ck_assert_str_eq(mux_strerror(MUX_EFLOW), "flow control violated");
	ck_assert_int_eq(mux_is_fatal(MUX_EPROTO), 1);
	ck_assert_int_eq(mux_is_fatal(MUX_EGOAWAY), 1);
	ck_assert_int_eq(mux_is_fatal(MUX_ECLOSED), 1);
	ck_assert_int_eq(mux_is_fatal(MUX_ELIMIT), 0);
	ck_assert_int_eq(mux_is_fatal(MUX_ESTATE), 0);
	ck_assert_int_eq(mux_is_fatal(0), 0);
}
END_TEST


int
main(void)
{
	Suite	*s = suite_create("mux");
	TCase	*tc = tcase_create("roundtrip");
	SRunner	*sr;
	int	 failed;

	tcase_add_test(tc, test_handshake);
	tcase_add_test(tc, test_register_roundtrip);
	tcase_add_test(tc, test_ping_pong);
	tcase_add_test(tc, test_stream_roundtrip);
	tcase_add_test(tc, test_refuse_and_reset);
	tcase_add_loop_test(tc, test_half_close, 0, 2);
	tcase_add_test(tc, test_early_data);
	tcase_add_test(tc, test_goaway_graceful);
	tcase_add_test(tc, test_goaway_error);
	tcase_add_test(tc, test_free_closes_streams);
	tcase_add_test(tc, test_names);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
