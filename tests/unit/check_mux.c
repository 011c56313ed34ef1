/*
 * check_mux.c — the multiplexer (common/proto/mux*.c): two muxes wired to each other
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
#include "log.h"
#include "mux.h"
#include "mux_int.h"

/*
 * Check marks every passing assertion with a write(2) to its log, so that a
 * crash can name the last line reached.  The loops here pass hundreds of
 * thousands of assertions: that marking was most of this suite's run time.
 * A failing assertion still reports its file and line.
 */
#undef ck_assert_msg
#define ck_assert_msg(expr, ...) \
	((expr) ? (void)0 : _ck_assert_failed(__FILE__, __LINE__, \
	    "Assertion '"#expr"' failed" , ## __VA_ARGS__))

#define MAXSID	(1 << 16)

/* What one side saw, per stream. */
struct tstream {
	struct evbuffer	*data;		/* bytes taken from stream_data */
	int		 opened;	/* stream_open fired */
	int		 accepted;	/* stream_accepted fired */
	int		 eof;
	int		 closed;
	int		 writable;
	int		 stall;		/* stream_data takes nothing */
	uint32_t	 code;
	char		 text[600];
	char		 service[80];
	struct mux_peer	 peer;
	size_t		 unconsumed;	/* taken, not yet reported consumed */
};

struct side {
	struct mux	*m;
	struct evbuffer	*out;		/* pulled from m, not yet delivered */
	struct tstream	**st;		/* indexed by sid, made on first use */
	uint32_t	 st_hwm;	/* highest sid + 1 ever made */
	int		 auto_accept;
	int		 auto_consume;	/* report consumed at once */
	size_t		 take_max;	/* stream_data takes at most this */
	int		 refuse_code;	/* refuse opens with this if != 0 */
	int		 nctl;
	struct mux_ctl	 ctl;		/* last control message */
	char		 ctl_name[80];
	char		 ctl_text[600];
	int		 wants;
	int		 sync_output;	/* want_output calls mux_output */
	int		 closes;
	int		 input_rc;
	size_t		 writables;	/* stream_writable calls, all streams */
};

struct pair {
	struct side	r;		/* relay */
	struct side	a;		/* agent */
};

/*
 * A side's record of stream sid.  Records are made on first use and the
 * table is walked only up to the highest sid used, so a test with a few
 * streams costs a few records, not MAXSID of them.
 */
static struct tstream *
ts(struct side *sd, uint32_t sid)
{
	ck_assert_uint_lt(sid, MAXSID);
	if (sd->st[sid] == NULL) {
		sd->st[sid] = calloc(1, sizeof(*sd->st[sid]));
		ck_assert_ptr_nonnull(sd->st[sid]);
		if (sid >= sd->st_hwm)
			sd->st_hwm = sid + 1;
	}
	return sd->st[sid];
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
	int		 r;

	ck_assert_int_eq(t->opened, 0);
	t->opened = 1;
	snprintf(t->service, sizeof(t->service), "%s", service);
	t->peer = *client;
	if (sd->refuse_code != 0)
		ck_assert_int_eq(mux_stream_refuse(m, sid,
		    (uint32_t)sd->refuse_code, "no thanks"), 0);
	else {
		/* A close before (or instead of) the answer finds us too. */
		ck_assert_int_eq(mux_stream_set_arg(m, sid, sd), 0);
		if (sd->auto_accept) {
			r = mux_stream_accept(m, sid, sd);
			ck_assert(r == 0 || (r == MUX_ENOMEM &&
			    mux_is_dead(m)));
		}
	}
}

static void
cb_accepted(struct mux *m, uint32_t sid, void *sarg)
{
	struct side	*sd = sarg;
	struct evbuffer	*b = evbuffer_new();

	ts(sd, sid)->accepted++;
	/* Feeding input from a callback is refused, not corrupting. */
	ck_assert_int_eq(mux_input(m, b), MUX_EINVAL);
	evbuffer_free(b);
}

static void
cb_data(struct mux *m, uint32_t sid, struct evbuffer *data, void *sarg)
{
	struct side	*sd = sarg;
	struct tstream	*t = ts(sd, sid);
	size_t		 n = evbuffer_get_length(data);
	int		 r;

	ck_assert_int_eq(t->eof, 0);		/* never data after EOF */
	if (n > sd->take_max)
		n = sd->take_max;
	if (t->stall)
		n = 0;
	if (t->data == NULL)
		t->data = evbuffer_new();
	ck_assert_int_eq(evbuffer_remove_buffer(data, t->data, n), (int)n);
	if (sd->auto_consume) {
		r = mux_stream_consumed(m, sid, n);
		ck_assert(r == 0 || (r == MUX_ENOMEM && mux_is_dead(m)));
	} else
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
	((struct side *)sarg)->writables++;
}

static void
cb_want(struct mux *m, void *arg)
{
	struct side	*sd = arg;

	sd->wants++;
	if (sd->sync_output)
		mux_output(m, sd->out, SIZE_MAX);
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
	for (i = 0; i < sd->st_hwm; i++) {
		if (sd->st[i] == NULL)
			continue;
		if (sd->st[i]->data != NULL)
			evbuffer_free(sd->st[i]->data);
		free(sd->st[i]);
	}
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
	ck_assert_int_eq(p.r.wants, 0);		/* not from inside mux_new */
	ck_assert_int_eq(mux_has_output(p.r.m), 1);	/* the HELLO */
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
	ck_assert_int_eq(p.r.wants, 0);
	ck_assert_int_eq(mux_ping(p.r.m, 1), 0);
	ck_assert_int_eq(p.r.wants, 1);
	ck_assert_int_eq(mux_ping(p.r.m, 2), 0);
	ck_assert_int_eq(p.r.wants, 1);		/* once until mux_output */
	pump(&p);
	ck_assert_int_eq(mux_ping(p.r.m, 3), 0);
	ck_assert_int_eq(p.r.wants, 2);
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


/* --- The error table, row by row (PROTOCOL.md section 7). ------------- */

/* A victim mux driven by hand-made frames from a scripted peer. */
static void
victim_init(struct side *v, enum mux_role role, const struct mux_settings *s,
    int hello)
{
	struct frame_ctl	c;
	uint8_t			b[FRAME_HDR_LEN + FRAME_CTL_MAX];
	size_t			n;
	struct evbuffer		*in;

	side_init(v, role, s);
	mux_output(v->m, v->out, SIZE_MAX);
	evbuffer_drain(v->out, evbuffer_get_length(v->out));
	if (!hello)
		return;
	memset(&c, 0, sizeof(c));
	c.type = FRAME_HELLO;
	c.version = FRAME_VERSION;
	c.stream_window = 65536;
	c.tunnel_window = 1 << 20;
	c.max_frame = 16384;
	c.max_streams = 100;
	ck_assert_int_eq(frame_ctl_frame(&c, b, sizeof(b), &n), 0);
	in = evbuffer_new();
	evbuffer_add(in, b, n);
	ck_assert_int_eq(mux_input(v->m, in), 0);
	evbuffer_free(in);
	ck_assert_int_eq(mux_is_ready(v->m), 1);
}

static int
inject_raw(struct side *v, const void *p, size_t n)
{
	struct evbuffer	*in = evbuffer_new();
	int		 r;

	evbuffer_add(in, p, n);
	r = mux_input(v->m, in);
	evbuffer_free(in);
	return r;
}

static int
inject(struct side *v, const struct frame_ctl *c)
{
	uint8_t	b[FRAME_HDR_LEN + FRAME_CTL_MAX];
	size_t	n;

	ck_assert_int_eq(frame_ctl_frame(c, b, sizeof(b), &n), 0);
	return inject_raw(v, b, n);
}

static int
inject_data(struct side *v, uint32_t sid, size_t len)
{
	uint8_t	*b = calloc(1, FRAME_HDR_LEN + len);
	int	 r;

	frame_hdr_encode(b, sid, (uint32_t)len);
	memset(b + FRAME_HDR_LEN, 'd', len);
	r = inject_raw(v, b, FRAME_HDR_LEN + len);
	free(b);
	return r;
}

static struct frame_ctl *
ctl(uint8_t type, uint32_t sid)
{
	static struct frame_ctl	c;

	memset(&c, 0, sizeof(c));
	c.type = type;
	c.sid = sid;
	if (type == FRAME_STREAM_OPEN) {
		strcpy(c.name, "web");
		c.name_len = 3;
	}
	if (type == FRAME_WINDOW)
		c.increment = 1;
	return &c;
}

/* The last control message of the given type (and sid unless ~0) in the
 * victim's output; all output is pulled first.  NULL if none. */
static struct frame_ctl *
find_out(struct side *v, uint8_t type, uint32_t sid)
{
	static struct frame_ctl	found;
	struct frame_ctl	c;
	struct frame_hdr	h;
	uint8_t			*p;
	size_t			 len, off = 0;
	int			 hit = 0;

	mux_output(v->m, v->out, SIZE_MAX);
	len = evbuffer_get_length(v->out);
	p = evbuffer_pullup(v->out, -1);
	while (len - off >= FRAME_HDR_LEN) {
		frame_hdr_decode(p + off, &h);
		off += FRAME_HDR_LEN;
		ck_assert_uint_le(h.len, len - off);
		if (h.sid == 0) {
			ck_assert_int_eq(frame_ctl_decode(p + off, h.len, &c),
			    0);
			if (c.type == type && (sid == ~0U || c.sid == sid ||
			    (type == FRAME_GOAWAY))) {
				found = c;
				hit = 1;
			}
		}
		off += h.len;
	}
	return hit ? &found : NULL;
}

/* Tunnel reaction: fatal error, GOAWAY with the code, streams closed. */
static void
expect_tunnel(struct side *v, int rc, int err, uint32_t code,
    const char *text)
{
	struct frame_ctl	*g;

	ck_assert_int_eq(rc, err);
	ck_assert_int_eq(mux_is_fatal(rc), 1);
	ck_assert_int_eq(mux_is_dead(v->m), 1);
	ck_assert_uint_eq(mux_nstreams(v->m), 0);
	g = find_out(v, FRAME_GOAWAY, ~0U);
	ck_assert_ptr_nonnull(g);
	ck_assert_uint_eq(g->code, code);
	if (text != NULL)
		ck_assert_str_eq(g->text, text);
	/* Further input is refused with the same error. */
	ck_assert_int_eq(inject(v, ctl(FRAME_PING, 0)), err);
}

/* Stream reaction: RESET with the code, stream_closed, tunnel alive. */
static void
expect_stream(struct side *v, int rc, uint32_t sid, uint32_t code)
{
	struct frame_ctl	*r;

	ck_assert_int_eq(rc, 0);
	ck_assert_int_eq(mux_is_dead(v->m), 0);
	r = find_out(v, FRAME_RESET, sid);
	ck_assert_ptr_nonnull(r);
	ck_assert_uint_eq(r->code, code);
	ck_assert_int_eq(ts(v, sid)->closed, 1);
	ck_assert_uint_eq(ts(v, sid)->code, code);
	ck_assert_ptr_null(find_out(v, FRAME_GOAWAY, ~0U));
}

START_TEST(test_err_frame_size)
{
	struct side	v;
	uint8_t		h[FRAME_HDR_LEN];

	/* Rejected on the header alone: no payload follows. */
	victim_init(&v, MUX_ROLE_AGENT, NULL, 1);
	frame_hdr_encode(h, 0, FRAME_CTL_MAX + 1);
	expect_tunnel(&v, inject_raw(&v, h, sizeof(h)), MUX_EFRAMESIZE,
	    MUX_CODE_FRAME_SIZE, "control frame of 8196 bytes");
	side_free(&v);

	victim_init(&v, MUX_ROLE_AGENT, NULL, 1);
	frame_hdr_encode(h, 0, 0);
	expect_tunnel(&v, inject_raw(&v, h, sizeof(h)), MUX_EFRAMESIZE,
	    MUX_CODE_FRAME_SIZE, "control frame of 0 bytes");
	side_free(&v);

	victim_init(&v, MUX_ROLE_AGENT, NULL, 1);
	ck_assert_int_eq(inject(&v, ctl(FRAME_STREAM_OPEN, 1)), 0);
	frame_hdr_encode(h, 1, 32 * 1024 + 1);
	expect_tunnel(&v, inject_raw(&v, h, sizeof(h)), MUX_EFRAMESIZE,
	    MUX_CODE_FRAME_SIZE, "DATA frame of 32769 bytes, max 32768");
	ck_assert_uint_eq(ts(&v, 1)->code, MUX_CODE_FRAME_SIZE);
	side_free(&v);
}
END_TEST

START_TEST(test_err_flow)
{
	struct side		v;
	struct mux_settings	s;

	mux_settings_default(&s);
	s.stream_window = 4096;
	s.tunnel_window = 6000;
	s.max_frame = 8192;
	victim_init(&v, MUX_ROLE_AGENT, &s, 1);
	v.auto_consume = 0;
	ck_assert_int_eq(inject(&v, ctl(FRAME_STREAM_OPEN, 1)), 0);
	ck_assert_int_eq(inject_data(&v, 1, 4096), 0);
	expect_tunnel(&v, inject_data(&v, 1, 1), MUX_EFLOW, MUX_CODE_FLOW,
	    "DATA beyond the window of stream 1");
	side_free(&v);

	/* The tunnel window caps the sum over streams. */
	victim_init(&v, MUX_ROLE_AGENT, &s, 1);
	v.auto_consume = 0;
	ck_assert_int_eq(inject(&v, ctl(FRAME_STREAM_OPEN, 1)), 0);
	ck_assert_int_eq(inject(&v, ctl(FRAME_STREAM_OPEN, 3)), 0);
	ck_assert_int_eq(inject_data(&v, 1, 4000), 0);
	ck_assert_int_eq(inject_data(&v, 3, 2000), 0);
	expect_tunnel(&v, inject_data(&v, 3, 1), MUX_EFLOW, MUX_CODE_FLOW,
	    "DATA beyond the tunnel window");
	side_free(&v);
}
END_TEST

START_TEST(test_err_window_update)
{
	struct side		 v;
	struct frame_ctl	*c;
	uint32_t		 sid;

	/* Stream credit starts at the peer's 65536: +2^31-65536 overflows. */
	victim_init(&v, MUX_ROLE_RELAY, NULL, 1);
	ck_assert_int_eq(mux_stream_open(v.m, "web", NULL, &v, &sid), 0);
	c = ctl(FRAME_WINDOW, sid);
	c->increment = 0x7fffffffU - 65536;
	ck_assert_int_eq(inject(&v, c), 0);	/* exactly 2^31-1: fine */
	c = ctl(FRAME_WINDOW, sid);
	expect_tunnel(&v, inject(&v, c), MUX_EFLOW, MUX_CODE_FLOW,
	    "WINDOW_UPDATE on stream 1 overflows the window");
	side_free(&v);

	victim_init(&v, MUX_ROLE_RELAY, NULL, 1);
	c = ctl(FRAME_WINDOW, 0);
	c->increment = 0x7fffffffU;
	expect_tunnel(&v, inject(&v, c), MUX_EFLOW, MUX_CODE_FLOW,
	    "WINDOW_UPDATE on stream 0 overflows the window");
	side_free(&v);

	victim_init(&v, MUX_ROLE_RELAY, NULL, 1);
	c = ctl(FRAME_WINDOW, 0);
	c->increment = 0;
	expect_tunnel(&v, inject(&v, c), MUX_EPROTO, MUX_CODE_PROTOCOL,
	    "WINDOW_UPDATE of 0 on stream 0");
	side_free(&v);

	victim_init(&v, MUX_ROLE_RELAY, NULL, 1);
	ck_assert_int_eq(mux_stream_open(v.m, "web", NULL, &v, &sid), 0);
	c = ctl(FRAME_WINDOW, sid);
	c->increment = 0;
	expect_tunnel(&v, inject(&v, c), MUX_EPROTO, MUX_CODE_PROTOCOL,
	    "WINDOW_UPDATE of 0 on stream 1");
	side_free(&v);
}
END_TEST

/* Row 5: every kind of stream frame for a stream that never existed. */
START_TEST(test_err_never_opened)
{
	static const uint8_t	types[] = { 0, FRAME_STREAM_ACCEPT,
	    FRAME_STREAM_REFUSE, FRAME_FIN, FRAME_RESET, FRAME_WINDOW };
	struct side		v;
	char			want[80];
	int			rc;

	victim_init(&v, MUX_ROLE_AGENT, NULL, 1);
	ck_assert_int_eq(inject(&v, ctl(FRAME_STREAM_OPEN, 1)), 0);
	/* _i even: the peer's parity (5 > last 1); odd: ours (2, none). */
	if (types[_i / 2] == 0) {
		rc = inject_data(&v, _i % 2 ? 2 : 5, 10);
		snprintf(want, sizeof(want), "DATA for never-opened stream %u",
		    _i % 2 ? 2 : 5);
	} else {
		rc = inject(&v, ctl(types[_i / 2], _i % 2 ? 2 : 5));
		snprintf(want, sizeof(want), "%s for never-opened stream %u",
		    frame_type_name(types[_i / 2]), _i % 2 ? 2 : 5);
	}
	expect_tunnel(&v, rc, MUX_EPROTO, MUX_CODE_PROTOCOL, want);
	ck_assert_uint_eq(ts(&v, 1)->code, MUX_CODE_PROTOCOL);
	side_free(&v);
}
END_TEST

START_TEST(test_err_open_ids)
{
	struct side	v;

	victim_init(&v, MUX_ROLE_AGENT, NULL, 1);
	ck_assert_int_eq(inject(&v, ctl(FRAME_STREAM_OPEN, 3)), 0);
	expect_tunnel(&v, inject(&v, ctl(FRAME_STREAM_OPEN, 3)), MUX_EPROTO,
	    MUX_CODE_PROTOCOL, "STREAM_OPEN reuses stream ID 3");
	side_free(&v);

	victim_init(&v, MUX_ROLE_AGENT, NULL, 1);
	ck_assert_int_eq(inject(&v, ctl(FRAME_STREAM_OPEN, 5)), 0);
	expect_tunnel(&v, inject(&v, ctl(FRAME_STREAM_OPEN, 3)), MUX_EPROTO,
	    MUX_CODE_PROTOCOL, "STREAM_OPEN reuses stream ID 3");
	side_free(&v);

	/* An ID reused after its stream closed is still a reuse. */
	victim_init(&v, MUX_ROLE_AGENT, NULL, 1);
	ck_assert_int_eq(inject(&v, ctl(FRAME_STREAM_OPEN, 1)), 0);
	ck_assert_int_eq(inject(&v, ctl(FRAME_RESET, 1)), 0);
	expect_tunnel(&v, inject(&v, ctl(FRAME_STREAM_OPEN, 1)), MUX_EPROTO,
	    MUX_CODE_PROTOCOL, "STREAM_OPEN reuses stream ID 1");
	side_free(&v);

	victim_init(&v, MUX_ROLE_AGENT, NULL, 1);
	expect_tunnel(&v, inject(&v, ctl(FRAME_STREAM_OPEN, 2)), MUX_EPROTO,
	    MUX_CODE_PROTOCOL, "STREAM_OPEN with invalid ID 2");
	side_free(&v);

	victim_init(&v, MUX_ROLE_RELAY, NULL, 1);
	expect_tunnel(&v, inject(&v, ctl(FRAME_STREAM_OPEN, 1)), MUX_EPROTO,
	    MUX_CODE_PROTOCOL, "STREAM_OPEN with invalid ID 1");
	side_free(&v);

	victim_init(&v, MUX_ROLE_AGENT, NULL, 1);
	expect_tunnel(&v, inject(&v, ctl(FRAME_STREAM_OPEN, 0x80000001U)),
	    MUX_EPROTO, MUX_CODE_PROTOCOL,
	    "STREAM_OPEN with invalid ID 2147483649");
	side_free(&v);
}
END_TEST

START_TEST(test_err_malformed)
{
	struct side	v;
	const uint8_t	unknown[] = { 0, 0, 0, 0, 0, 0, 0, 1, 0x7e };
	const uint8_t	trunc[] = { 0, 0, 0, 0, 0, 0, 0, 3, FRAME_FIN, 0, 0 };
	const uint8_t	nul[] = { 0, 0, 0, 0, 0, 0, 0, 4, FRAME_UNREGISTER, 2,
			    'a', 0 };

	victim_init(&v, MUX_ROLE_AGENT, NULL, 1);
	expect_tunnel(&v, inject_raw(&v, unknown, sizeof(unknown)), MUX_EPROTO,
	    MUX_CODE_PROTOCOL, "unknown control type 0x7e");
	side_free(&v);

	victim_init(&v, MUX_ROLE_AGENT, NULL, 1);
	expect_tunnel(&v, inject_raw(&v, trunc, sizeof(trunc)), MUX_EPROTO,
	    MUX_CODE_PROTOCOL, "malformed FIN: control message truncated");
	side_free(&v);

	victim_init(&v, MUX_ROLE_RELAY, NULL, 1);
	expect_tunnel(&v, inject_raw(&v, nul, sizeof(nul)), MUX_EPROTO,
	    MUX_CODE_PROTOCOL,
	    "malformed UNREGISTER: invalid field in control message");
	side_free(&v);

	/* Row 22: messages in the wrong direction. */
	{
		struct frame_ctl	c;

		memset(&c, 0, sizeof(c));
		c.type = FRAME_UNREGISTER;
		strcpy(c.name, "smb");
		c.name_len = 3;
		victim_init(&v, MUX_ROLE_AGENT, NULL, 1);
		expect_tunnel(&v, inject(&v, &c), MUX_EPROTO,
		    MUX_CODE_PROTOCOL,
		    "UNREGISTER not allowed in this direction");
		side_free(&v);
		memset(&c, 0, sizeof(c));
		c.type = FRAME_REGISTER;
		strcpy(c.name, "smb");
		c.name_len = 3;
		victim_init(&v, MUX_ROLE_AGENT, NULL, 1);
		expect_tunnel(&v, inject(&v, &c), MUX_EPROTO,
		    MUX_CODE_PROTOCOL, "REGISTER not allowed in this direction");
		side_free(&v);
		c.type = FRAME_REGISTER_OK;
		victim_init(&v, MUX_ROLE_RELAY, NULL, 1);
		expect_tunnel(&v, inject(&v, &c), MUX_EPROTO,
		    MUX_CODE_PROTOCOL,
		    "REGISTER_OK not allowed in this direction");
		side_free(&v);
	}
}
END_TEST

START_TEST(test_err_hello)
{
	struct side		v;
	struct frame_ctl	c;
	uint8_t			b[FRAME_HDR_LEN + FRAME_CTL_MAX];
	size_t			n;

	victim_init(&v, MUX_ROLE_RELAY, NULL, 0);
	expect_tunnel(&v, inject(&v, ctl(FRAME_PING, 0)), MUX_EPROTO,
	    MUX_CODE_PROTOCOL, "first frame must be HELLO, got PING");
	side_free(&v);

	victim_init(&v, MUX_ROLE_RELAY, NULL, 0);
	expect_tunnel(&v, inject_data(&v, 2, 5), MUX_EPROTO,
	    MUX_CODE_PROTOCOL, "first frame must be HELLO, got DATA");
	side_free(&v);

	victim_init(&v, MUX_ROLE_RELAY, NULL, 1);
	memset(&c, 0, sizeof(c));
	c.type = FRAME_HELLO;
	c.version = FRAME_VERSION;
	c.stream_window = c.tunnel_window = c.max_frame = 65536;
	expect_tunnel(&v, inject(&v, &c), MUX_EPROTO, MUX_CODE_PROTOCOL,
	    "second HELLO");
	side_free(&v);

	/* Not an atlax peer at all: bad magic. */
	victim_init(&v, MUX_ROLE_RELAY, NULL, 0);
	ck_assert_int_eq(frame_ctl_frame(&c, b, sizeof(b), &n), 0);
	b[FRAME_HDR_LEN + 1] = 'X';
	expect_tunnel(&v, inject_raw(&v, b, n), MUX_EPROTO, MUX_CODE_PROTOCOL,
	    "bad HELLO: not an atlax peer or bad settings");
	side_free(&v);

	/* Row 11: another version, answered with a text both understand. */
	victim_init(&v, MUX_ROLE_RELAY, NULL, 0);
	c.version = 2;
	expect_tunnel(&v, inject(&v, &c), MUX_EVERSION, MUX_CODE_VERSION,
	    "protocol version 2 not supported (this side speaks 1)");
	side_free(&v);
}
END_TEST

/* Version mismatch seen from both ends: neither hangs. */
START_TEST(test_version_both_sides)
{
	struct side		v;
	struct frame_ctl	c;

	/* We receive a newer peer's rejection of us, before its HELLO. */
	victim_init(&v, MUX_ROLE_AGENT, NULL, 0);
	memset(&c, 0, sizeof(c));
	c.type = FRAME_GOAWAY;
	c.code = MUX_CODE_VERSION;
	strcpy(c.text, "protocol version 1 not supported (this side speaks 2)");
	c.text_len = strlen(c.text);
	ck_assert_int_eq(inject(&v, &c), MUX_EGOAWAY);
	ck_assert_int_eq(v.ctl.type, MUX_CTL_GOAWAY);
	ck_assert_uint_eq(v.ctl.code, MUX_CODE_VERSION);
	ck_assert_str_eq(v.ctl_text,
	    "protocol version 1 not supported (this side speaks 2)");
	ck_assert_int_eq(mux_is_dead(v.m), 1);
	ck_assert_ptr_null(find_out(&v, FRAME_GOAWAY, ~0U));	/* no echo */
	side_free(&v);
}
END_TEST

START_TEST(test_err_floods)
{
	struct side	v;
	int		i;

	/* Empty DATA frames. */
	victim_init(&v, MUX_ROLE_AGENT, NULL, 1);
	ck_assert_int_eq(inject(&v, ctl(FRAME_STREAM_OPEN, 1)), 0);
	for (i = 0; i < 1000; i++)
		ck_assert_int_eq(inject_data(&v, 1, 0), 0);
	expect_tunnel(&v, inject_data(&v, 1, 0), MUX_EFLOOD, MUX_CODE_FLOOD,
	    "too many frames that carry nothing");
	side_free(&v);

	/* Window updates. */
	victim_init(&v, MUX_ROLE_AGENT, NULL, 1);
	for (i = 0; i < 1000; i++)
		ck_assert_int_eq(inject(&v, ctl(FRAME_WINDOW, 0)), 0);
	expect_tunnel(&v, inject(&v, ctl(FRAME_WINDOW, 0)), MUX_EFLOOD,
	    MUX_CODE_FLOOD, "too many frames that carry nothing");
	side_free(&v);

	/* Window updates after one DATA frame of ours: only the first is
	 * credit for something we sent. */
	{
		struct evbuffer	*b = evbuffer_new();
		uint32_t	 sid;
		size_t		 moved;

		victim_init(&v, MUX_ROLE_RELAY, NULL, 1);
		ck_assert_int_eq(mux_stream_open(v.m, "web", NULL, &v, &sid),
		    0);
		ck_assert_int_eq(inject(&v, ctl(FRAME_STREAM_ACCEPT, sid)), 0);
		evbuffer_add(b, "x", 1);
		ck_assert_int_eq(mux_stream_write(v.m, sid, b, &moved), 0);
		mux_output(v.m, v.out, SIZE_MAX);
		for (i = 0; i < 1001; i++)
			ck_assert_int_eq(inject(&v, ctl(FRAME_WINDOW, sid)), 0);
		ck_assert_uint_eq(v.m->glitch, 1000);
		expect_tunnel(&v, inject(&v, ctl(FRAME_WINDOW, sid)),
		    MUX_EFLOOD, MUX_CODE_FLOOD,
		    "too many frames that carry nothing");
		evbuffer_free(b);
		side_free(&v);
	}

	/* Pings while the PONGs are not read (first one is free). */
	victim_init(&v, MUX_ROLE_AGENT, NULL, 1);
	for (i = 0; i < 1001; i++)
		ck_assert_int_eq(inject(&v, ctl(FRAME_PING, 0)), 0);
	expect_tunnel(&v, inject(&v, ctl(FRAME_PING, 0)), MUX_EFLOOD,
	    MUX_CODE_FLOOD, "too many frames that carry nothing");
	side_free(&v);

	/* Opens refused for LIMIT, in a loop: the peer ignores our cap. */
	{
		struct mux_settings	s;

		mux_settings_default(&s);
		s.max_streams = 1;
		victim_init(&v, MUX_ROLE_AGENT, &s, 1);
		ck_assert_int_eq(inject(&v, ctl(FRAME_STREAM_OPEN, 1)), 0);
		for (i = 1; i < 1001; i++)
			ck_assert_int_eq(inject(&v, ctl(FRAME_STREAM_OPEN,
			    2 * (uint32_t)i + 1)), 0);
		expect_tunnel(&v, inject(&v, ctl(FRAME_STREAM_OPEN, 2003)),
		    MUX_EFLOOD, MUX_CODE_FLOOD,
		    "too many frames that carry nothing");
		side_free(&v);
	}

	/* Unsolicited PONGs; answered ones are free. */
	victim_init(&v, MUX_ROLE_AGENT, NULL, 1);
	for (i = 0; i < 2000; i++)
		ck_assert_int_eq(mux_ping(v.m, (uint64_t)i), 0);
	for (i = 0; i < 2000; i++)
		ck_assert_int_eq(inject(&v, ctl(FRAME_PONG, 0)), 0);
	for (i = 0; i < 1000; i++)
		ck_assert_int_eq(inject(&v, ctl(FRAME_PONG, 0)), 0);
	expect_tunnel(&v, inject(&v, ctl(FRAME_PONG, 0)), MUX_EFLOOD,
	    MUX_CODE_FLOOD, "too many frames that carry nothing");
	side_free(&v);

	/* Repeated GOAWAYs (each would walk the stream table). */
	victim_init(&v, MUX_ROLE_AGENT, NULL, 1);
	for (i = 0; i < 1001; i++)
		ck_assert_int_eq(inject(&v, ctl(FRAME_GOAWAY, 0)), 0);
	expect_tunnel(&v, inject(&v, ctl(FRAME_GOAWAY, 0)), MUX_EFLOOD,
	    MUX_CODE_FLOOD, "too many frames that carry nothing");
	side_free(&v);

	/* Provoked answers never read: capped even when the budget decays. */
	victim_init(&v, MUX_ROLE_AGENT, NULL, 1);
	for (i = 0; i < 4096; i++) {
		ck_assert_int_eq(inject(&v, ctl(FRAME_PING, 0)), 0);
		if (i % 100 == 99)
			mux_tick(v.m);
	}
	expect_tunnel(&v, inject(&v, ctl(FRAME_PING, 0)), MUX_EFLOOD,
	    MUX_CODE_FLOOD, "peer provokes answers without reading them");
	side_free(&v);
}
END_TEST

/*
 * 5,000 public clients that connect and go away before sending a byte: the
 * relay opens a stream for each and resets it.  The agent must not take
 * that for a flood (no mux_tick() here: nothing decays), whatever the
 * order: reset before or after the agent accepted; the same for resets by
 * the acceptor of streams the victim opened.
 */
/* Opens the application refused for want of a grant (the relay's
 * connect check) cost the peer a glitch each, as opens beyond max_streams
 * do: a loop of them ends the tunnel. */
START_TEST(test_peer_glitch)
{
	struct side	v;
	int		i, rc;

	victim_init(&v, MUX_ROLE_RELAY, NULL, 1);
	for (i = 0; i < 600; i++)
		ck_assert_int_eq(mux_peer_glitch(v.m), 0);
	mux_tick(v.m);		/* legitimate bursts decay */
	ck_assert_uint_eq(v.m->glitch, 300);
	for (i = 0; i < 700; i++)
		ck_assert_int_eq(mux_peer_glitch(v.m), 0);
	rc = mux_peer_glitch(v.m);
	mux_output(v.m, v.out, SIZE_MAX);
	expect_tunnel(&v, rc, MUX_EFLOOD, MUX_CODE_FLOOD,
	    "too many frames that carry nothing");
	ck_assert_int_eq(mux_peer_glitch(v.m), MUX_ECLOSING);
	side_free(&v);
}
END_TEST

START_TEST(test_reset_not_flood)
{
	struct side	v;
	uint32_t	sid;
	int		i;

	victim_init(&v, MUX_ROLE_AGENT, NULL, 1);
	v.auto_accept = _i;
	for (i = 0; i < 5000; i++) {
		sid = 2 * (uint32_t)i + 1;
		ck_assert_int_eq(inject(&v, ctl(FRAME_STREAM_OPEN, sid)), 0);
		ck_assert_int_eq(inject(&v, ctl(FRAME_RESET, sid)), 0);
		ck_assert_int_eq(ts(&v, sid)->closed, 1);
	}
	ck_assert_int_eq(mux_is_dead(v.m), 0);
	ck_assert_uint_eq(v.m->glitch, 0);
	ck_assert_uint_eq(mux_nstreams(v.m), 0);
	side_free(&v);

	/* The relay's view: the agent resets streams the relay opened
	 * (their target refused after the accept), also before any data. */
	victim_init(&v, MUX_ROLE_RELAY, NULL, 1);
	for (i = 0; i < 5000; i++) {
		ck_assert_int_eq(mux_stream_open(v.m, "web", NULL, &v, &sid),
		    0);
		if (_i)
			ck_assert_int_eq(inject(&v,
			    ctl(FRAME_STREAM_ACCEPT, sid)), 0);
		ck_assert_int_eq(inject(&v, ctl(FRAME_RESET, sid)), 0);
		ck_assert_int_eq(ts(&v, sid)->closed, 1);
	}
	ck_assert_int_eq(mux_is_dead(v.m), 0);
	ck_assert_uint_eq(v.m->glitch, 0);
	side_free(&v);
}
END_TEST

START_TEST(test_err_limits)
{
	struct side		 v;
	struct mux_settings	 s;
	struct frame_ctl	*r;

	mux_settings_default(&s);
	s.max_streams = 2;
	victim_init(&v, MUX_ROLE_AGENT, &s, 1);
	ck_assert_int_eq(inject(&v, ctl(FRAME_STREAM_OPEN, 1)), 0);
	ck_assert_int_eq(inject(&v, ctl(FRAME_STREAM_OPEN, 3)), 0);
	ck_assert_int_eq(inject(&v, ctl(FRAME_STREAM_OPEN, 5)), 0);
	r = find_out(&v, FRAME_STREAM_REFUSE, 5);
	ck_assert_ptr_nonnull(r);
	ck_assert_uint_eq(r->code, MUX_CODE_LIMIT);
	ck_assert_str_eq(r->text, "too many streams");
	ck_assert_int_eq(ts(&v, 5)->opened, 0);
	ck_assert_uint_eq(mux_nstreams(v.m), 2);
	/* Data the peer sent optimistically on it: dropped, tunnel ok. */
	ck_assert_int_eq(inject_data(&v, 5, 100), 0);
	/* Once one is gone, a new one fits. */
	ck_assert_int_eq(inject(&v, ctl(FRAME_RESET, 1)), 0);
	ck_assert_int_eq(inject(&v, ctl(FRAME_STREAM_OPEN, 7)), 0);
	ck_assert_int_eq(ts(&v, 7)->opened, 1);
	ck_assert_int_eq(mux_is_dead(v.m), 0);

	/* Row 15: after our GOAWAY, opens are refused with SHUTDOWN. */
	ck_assert_int_eq(mux_goaway(v.m, MUX_CODE_NONE, "draining"), 0);
	ck_assert_int_eq(inject(&v, ctl(FRAME_RESET, 3)), 0);
	ck_assert_int_eq(inject(&v, ctl(FRAME_STREAM_OPEN, 9)), 0);
	r = find_out(&v, FRAME_STREAM_REFUSE, 9);
	ck_assert_ptr_nonnull(r);
	ck_assert_uint_eq(r->code, MUX_CODE_SHUTDOWN);
	r = find_out(&v, FRAME_GOAWAY, ~0U);
	ck_assert_uint_eq(r->last_sid, 7);
	ck_assert_uint_eq(r->code, MUX_CODE_NONE);
	side_free(&v);

	/* Our own opens stop at the peer's max_streams (100 here). */
	victim_init(&v, MUX_ROLE_RELAY, NULL, 1);
	{
		int	i;

		for (i = 0; i < 100; i++)
			ck_assert_int_eq(mux_stream_open(v.m, "web", NULL,
			    &v, NULL), 0);
		ck_assert_int_eq(mux_stream_open(v.m, "web", NULL, &v, NULL),
		    MUX_ELIMIT);
		ck_assert_int_eq(mux_is_fatal(MUX_ELIMIT), 0);
	}
	side_free(&v);
}
END_TEST

/* Rows 16-18: stream-level errors reset one stream only. */
START_TEST(test_err_stream_level)
{
	struct side	v;
	uint32_t	sid;

	victim_init(&v, MUX_ROLE_AGENT, NULL, 1);
	ck_assert_int_eq(inject(&v, ctl(FRAME_STREAM_OPEN, 1)), 0);
	ck_assert_int_eq(inject(&v, ctl(FRAME_STREAM_OPEN, 3)), 0);
	ck_assert_int_eq(inject(&v, ctl(FRAME_FIN, 1)), 0);
	ck_assert_int_eq(ts(&v, 1)->eof, 1);
	expect_stream(&v, inject_data(&v, 1, 10), 1, MUX_CODE_PROTOCOL);
	ck_assert_int_eq(inject(&v, ctl(FRAME_FIN, 3)), 0);
	expect_stream(&v, inject(&v, ctl(FRAME_FIN, 3)), 3, MUX_CODE_PROTOCOL);
	ck_assert_int_eq(inject(&v, ctl(FRAME_STREAM_OPEN, 5)), 0);
	expect_stream(&v, inject(&v, ctl(FRAME_STREAM_ACCEPT, 5)), 5,
	    MUX_CODE_PROTOCOL);
	ck_assert_int_eq(inject(&v, ctl(FRAME_STREAM_OPEN, 7)), 0);
	expect_stream(&v, inject(&v, ctl(FRAME_STREAM_REFUSE, 7)), 7,
	    MUX_CODE_PROTOCOL);

	/* Our stream: DATA or FIN before the peer's ACCEPT; double ACCEPT. */
	ck_assert_int_eq(mux_stream_open(v.m, "up", NULL, &v, &sid), 0);
	expect_stream(&v, inject_data(&v, sid, 3), sid, MUX_CODE_PROTOCOL);
	ck_assert_int_eq(mux_stream_open(v.m, "up", NULL, &v, &sid), 0);
	expect_stream(&v, inject(&v, ctl(FRAME_FIN, sid)), sid,
	    MUX_CODE_PROTOCOL);
	ck_assert_int_eq(mux_stream_open(v.m, "up", NULL, &v, &sid), 0);
	ck_assert_int_eq(inject(&v, ctl(FRAME_STREAM_ACCEPT, sid)), 0);
	ck_assert_int_eq(ts(&v, sid)->accepted, 1);
	expect_stream(&v, inject(&v, ctl(FRAME_STREAM_ACCEPT, sid)), sid,
	    MUX_CODE_PROTOCOL);
	ck_assert_uint_eq(mux_nstreams(v.m), 0);
	side_free(&v);
}
END_TEST

/* Row 19: frames for closed streams are ignored; their DATA credits the
 * tunnel window, or crossing resets would leak it (deadlock). */
START_TEST(test_closed_stream_credit)
{
	struct side		 v;
	struct mux_settings	 s;
	struct frame_ctl	*w;
	int			 i;

	mux_settings_default(&s);
	s.stream_window = 8192;
	s.tunnel_window = 8192;
	s.max_frame = 8192;
	victim_init(&v, MUX_ROLE_AGENT, &s, 1);
	ck_assert_int_eq(inject(&v, ctl(FRAME_STREAM_OPEN, 1)), 0);
	ck_assert_int_eq(mux_stream_reset(v.m, 1, MUX_CODE_CANCEL), 0);
	for (i = 0; i < 10; i++)
		ck_assert_int_eq(inject_data(&v, 1, 8192), 0);
	w = find_out(&v, FRAME_WINDOW, 0);
	ck_assert_ptr_nonnull(w);
	ck_assert_uint_eq(w->increment, 8192);
	ck_assert_int_eq(inject(&v, ctl(FRAME_FIN, 1)), 0);
	ck_assert_int_eq(inject(&v, ctl(FRAME_WINDOW, 1)), 0);
	ck_assert_int_eq(inject(&v, ctl(FRAME_STREAM_ACCEPT, 1)), 0);
	ck_assert_int_eq(inject(&v, ctl(FRAME_RESET, 1)), 0);
	ck_assert_int_eq(mux_is_dead(v.m), 0);

	/* A stream reset while holding unconsumed bytes gives them back. */
	v.auto_consume = 0;
	ck_assert_int_eq(inject(&v, ctl(FRAME_STREAM_OPEN, 3)), 0);
	ck_assert_int_eq(inject_data(&v, 3, 8192), 0);
	ck_assert_uint_eq(ts(&v, 3)->unconsumed, 8192);
	ck_assert_int_eq(inject(&v, ctl(FRAME_RESET, 3)), 0);
	ck_assert_int_eq(ts(&v, 3)->closed, 1);
	ck_assert_int_eq(inject(&v, ctl(FRAME_STREAM_OPEN, 5)), 0);
	ck_assert_int_eq(inject_data(&v, 5, 8192), 0);
	ck_assert_int_eq(mux_is_dead(v.m), 0);
	side_free(&v);
}
END_TEST

/*
 * Row 21: an allocation failure at any point ends the tunnel cleanly.  One
 * scenario (open, 100,000 bytes one way with a receiver that takes 1,000 at
 * a time, one byte back, FIN both ways) is run with the n-th allocation of
 * one side failing, for every n until the scenario no longer reaches n.
 * Each injection must end the same way: the failing side is dead with
 * MUX_ENOMEM and sent GOAWAY INTERNAL ("out of memory", or "cannot queue
 * output" from the scheduler), the other side got MUX_EGOAWAY with it, and
 * every stream either side had reported open was closed exactly once with
 * INTERNAL.
 * The scenario's allocations are counted exactly, so one more allocation
 * on the data path shows up here.
 */
struct alloc_run {
	int	fired;		/* the n-th allocation was reached */
	int	opened;		/* mux_stream_open() succeeded */
	int	rc;		/* first error of an application call */
};

static void
alloc_scenario(struct pair *p, struct side *victim, long n,
    struct alloc_run *ar)
{
	struct evbuffer	*b = evbuffer_new();
	uint32_t	 sid = 1;
	size_t		 moved;
	int		 rc;

	memset(ar, 0, sizeof(*ar));
	pair_ready(p, NULL, NULL);
	p->a.take_max = 1000;
	mux_set_alloc_fail(victim->m, n);
	rc = mux_stream_open(p->r.m, "web", NULL, &p->r, &sid);
	ar->opened = rc == 0;
	if (rc == 0) {
		pump(p);
		add_bytes(b, 100000, 3);
		rc = mux_stream_write(p->r.m, sid, b, &moved);
		pump(p);
	}
	while (rc == 0 && !mux_is_dead(p->a.m) && !ts(&p->a, sid)->closed &&
	    evbuffer_get_length(ts(&p->a, sid)->data) < 100000) {
		rc = mux_stream_redeliver(p->a.m, sid);
		pump(p);
	}
	evbuffer_add(b, "x", 1);
	if (rc == 0 && !mux_is_dead(p->a.m))
		rc = mux_stream_write(p->a.m, sid, b, &moved);
	pump(p);
	if (rc == 0 && !mux_is_dead(p->r.m))
		rc = mux_stream_shutdown(p->r.m, sid);
	if (rc == 0 && !mux_is_dead(p->a.m))
		rc = mux_stream_shutdown(p->a.m, sid);
	pump(p);
	ar->fired = victim->m->alloc_fail == -1;
	ar->rc = rc;
	evbuffer_free(b);
}

static void
alloc_expect_clean_end(struct pair *p, struct side *victim,
    struct side *peer, const struct alloc_run *ar)
{
	struct tstream	*t;
	int		 i;

	ck_assert_int_eq(mux_is_dead(victim->m), 1);
	ck_assert_int_eq(victim->m->err, MUX_ENOMEM);
	/* Whichever call met the failure said so, if it returns a code
	 * (mux_output() does not: mux_is_dead() tells); a call on the other
	 * side after the GOAWAY finds its stream gone. */
	ck_assert_msg(ar->rc == 0 || ar->rc == MUX_ENOMEM ||
	    ar->rc == MUX_ENOSTREAM, "rc %d", ar->rc);
	ck_assert(victim->input_rc == 0 || victim->input_rc == MUX_ENOMEM);
	ck_assert_int_eq(peer->input_rc, MUX_EGOAWAY);
	ck_assert_int_eq(peer->ctl.type, MUX_CTL_GOAWAY);
	ck_assert_uint_eq(peer->ctl.code, MUX_CODE_INTERNAL);
	ck_assert_msg(strcmp(peer->ctl_text, "out of memory") == 0 ||
	    strcmp(peer->ctl_text, "cannot queue output") == 0,
	    "GOAWAY text %s", peer->ctl_text);
	ck_assert_uint_eq(mux_nstreams(p->r.m), 0);
	ck_assert_uint_eq(mux_nstreams(p->a.m), 0);
	for (i = 0; i < 2; i++) {
		t = ts(i ? &p->a : &p->r, 1);
		/* Known to the application: opened by it (relay, sarg set
		 * when the open succeeded) or announced to it (agent). */
		if (i ? !t->opened : !ar->opened)
			continue;
		ck_assert_int_eq(t->closed, 1);
		ck_assert_uint_eq(t->code, MUX_CODE_INTERNAL);
	}
}

START_TEST(test_alloc_failure)
{
	struct pair	 p;
	struct side	*victim, *peer;
	struct alloc_run ar;
	long		 n;
	int		 side;
	/* Allocations the scenario makes (mux_alloc_ok()): relay: stream,
	 * STREAM_OPEN, send queue, FIN; agent: stream, STREAM_ACCEPT,
	 * receive buffer (the 99,000 bytes it left), three stream and one
	 * tunnel WINDOW_UPDATE (every 32 KiB and 64 KiB consumed), send
	 * queue, FIN. */
	static const long want[2] = { 4, 9 };

	for (side = 0; side < 2; side++) {
		for (n = 0; n < 1000; n++) {
			victim = side ? &p.a : &p.r;
			peer = side ? &p.r : &p.a;
			alloc_scenario(&p, victim, n, &ar);
			if (!ar.fired) {
				/* Beyond every allocation: no harm done. */
				ck_assert_int_eq(ar.rc, 0);
				ck_assert_int_eq(mux_is_dead(p.r.m), 0);
				ck_assert_int_eq(mux_is_dead(p.a.m), 0);
				ck_assert_uint_eq(evbuffer_get_length(
				    ts(&p.a, 1)->data), 100000);
				ck_assert_uint_eq(ts(&p.a, 1)->code,
				    MUX_CODE_NONE);
				ck_assert_int_eq(ts(&p.r, 1)->closed, 1);
				pair_free(&p);
				break;
			}
			alloc_expect_clean_end(&p, victim, peer, &ar);
			pair_free(&p);
		}
		ck_assert_int_eq(n, want[side]);
	}
}
END_TEST

/* --- Property test, fairness, scale. ------------------------------------ */

struct pstream {
	uint32_t	 sid;
	int		 live;
	int		 reset;
	int		 fin[2];	/* shutdown called by side 0 (r) / 1 (a) */
	struct evbuffer	*sent[2];	/* what side i moved into the mux */
	struct evbuffer	*pend[2];	/* side i's "socket" not yet moved */
};

struct prop {
	struct pair	 p;
	struct side	*sd[2];
	struct evbuffer	*wire[2];	/* bytes from side i on the way */
	struct pstream	 ps[16];
	uint32_t	 rnd;
	uint32_t	 window[2];	/* stream window of side i */
	uint32_t	 twindow[2];	/* tunnel window of side i */
	size_t		 done;		/* streams verified complete */
};

static uint32_t
prand(struct prop *pr)
{
	pr->rnd ^= pr->rnd << 13;
	pr->rnd ^= pr->rnd >> 17;
	pr->rnd ^= pr->rnd << 5;
	return pr->rnd;
}

/* Side i's output, cut at a random point, reaches the other side. */
static void
prop_pump(struct prop *pr, int i, size_t maxout, size_t maxwire)
{
	struct side	*from = pr->sd[i], *to = pr->sd[!i];
	size_t		 n;

	mux_output(from->m, from->out, maxout);
	n = evbuffer_get_length(from->out);
	if (n > maxwire)
		n = maxwire;
	evbuffer_remove_buffer(from->out, pr->wire[i], n);
	ck_assert_int_eq(mux_input(to->m, pr->wire[i]), 0);
}

static void
prop_quiesce(struct prop *pr)
{
	int	k;

	for (k = 0; k < 100000; k++) {
		prop_pump(pr, 0, SIZE_MAX, SIZE_MAX);
		prop_pump(pr, 1, SIZE_MAX, SIZE_MAX);
		if (!mux_has_output(pr->sd[0]->m) &&
		    !mux_has_output(pr->sd[1]->m) &&
		    evbuffer_get_length(pr->sd[0]->out) == 0 &&
		    evbuffer_get_length(pr->sd[1]->out) == 0)
			return;
	}
	ck_abort_msg("no quiescence");
}

/*
 * At rest (nothing on the wire), for every stream and direction: the
 * sender's credit plus what the receiver holds uncredited is exactly the
 * receiver's window — in flight never exceeds it — and the same for the
 * tunnel.
 */
static void
prop_check_windows(struct prop *pr)
{
	struct mux_stream	*tx, *rx;
	int			 i, k;

	for (i = 0; i < 2; i++) {
		struct mux *snd = pr->sd[i]->m, *rcv = pr->sd[!i]->m;

		ck_assert_uint_eq((uint64_t)snd->send_credit + rcv->rxf.used,
		    pr->twindow[!i]);
		for (k = 0; k < 16; k++) {
			if (!pr->ps[k].live)
				continue;
			tx = mux_stream_find(snd, pr->ps[k].sid);
			rx = mux_stream_find(rcv, pr->ps[k].sid);
			if (tx == NULL || rx == NULL || rx->fin_recv ||
			    !rx->accepted)
				continue;
			ck_assert_uint_eq((uint64_t)tx->send_credit +
			    rx->rxf.used, rx->rxf.window);
			ck_assert_uint_eq(rx->rxf.window, pr->window[!i]);
			ck_assert_uint_le(rx->rxf.used, rx->rxf.window);
		}
	}
}

static void
prop_finish_stream(struct prop *pr, struct pstream *ps)
{
	int	i;

	if (!ps->reset) {
		for (i = 0; i < 2; i++) {
			ck_assert_msg(buf_equal(ps->sent[i],
			    ts(pr->sd[!i], ps->sid)->data),
			    "stream %u direction %d differs", ps->sid, i);
			ck_assert_int_eq(evbuffer_get_length(ps->pend[i]), 0);
		}
		pr->done++;
	}
	for (i = 0; i < 2; i++) {
		evbuffer_free(ps->sent[i]);
		evbuffer_free(ps->pend[i]);
	}
	memset(ps, 0, sizeof(*ps));
}

static void
prop_write(struct prop *pr, struct pstream *ps, int i)
{
	struct evbuffer	*tmp;
	size_t		 moved = 0, before;
	int		 r;

	if (ps->fin[i])
		return;
	before = evbuffer_get_length(ps->pend[i]);
	if (before == 0)
		return;
	tmp = evbuffer_new();
	evbuffer_add(tmp, evbuffer_pullup(ps->pend[i], -1), before);
	r = mux_stream_write(pr->sd[i]->m, ps->sid, tmp, &moved);
	evbuffer_free(tmp);
	if (r == MUX_ESTATE || r == MUX_ENOSTREAM)
		return;	/* not yet accepted, or reset by the peer */
	ck_assert_int_eq(r, 0);
	ck_assert_uint_le(moved, before);
	/* What moved is the head of pend: record it as sent. */
	ck_assert_int_eq(evbuffer_remove_buffer(ps->pend[i], ps->sent[i],
	    moved), (int)moved);
}

static void
prop_step(struct prop *pr)
{
	struct pstream	*ps = &pr->ps[prand(pr) % 16];
	struct tstream	*t;
	int		 i = prand(pr) % 2, op = prand(pr) % 100;
	size_t		 n;

	if (!ps->live) {
		if (op < 30 || mux_is_going_away(pr->sd[i]->m))
			return;
		memset(ps, 0, sizeof(*ps));
		if (mux_stream_open(pr->sd[i]->m, "svc", NULL, pr->sd[i],
		    &ps->sid) != 0)
			return;
		ps->live = 1;
		for (i = 0; i < 2; i++) {
			ps->sent[i] = evbuffer_new();
			ps->pend[i] = evbuffer_new();
		}
		return;
	}
	t = ts(pr->sd[i], ps->sid);
	if (t->closed && (ts(pr->sd[!i], ps->sid)->closed || ps->reset)) {
		ck_assert(ps->reset || t->code == MUX_CODE_NONE);
		prop_finish_stream(pr, ps);
		return;
	}
	if (op < 40) {			/* the app reads its socket */
		if (ps->fin[i])
			return;
		add_bytes(ps->pend[i], 1 + prand(pr) % 20000, prand(pr));
		prop_write(pr, ps, i);
	} else if (op < 55) {		/* a stream_writable retry */
		prop_write(pr, ps, i);
	} else if (op < 75) {		/* the app's socket drains */
		n = t->unconsumed == 0 ? 0 : 1 + prand(pr) % t->unconsumed;
		if (n > 0 && !t->closed) {
			ck_assert_int_eq(mux_stream_consumed(pr->sd[i]->m,
			    ps->sid, n), 0);
			t->unconsumed -= n;
		}
	} else if (op < 90) {
		prop_pump(pr, i, 1 + prand(pr) % 70000, prand(pr) % 70000);
	} else if (op < 97) {
		if (!ps->fin[i] && evbuffer_get_length(ps->pend[i]) == 0 &&
		    mux_stream_shutdown(pr->sd[i]->m, ps->sid) == 0)
			ps->fin[i] = 1;
	} else if (op < 98 && !ps->reset) {
		if (mux_stream_reset(pr->sd[i]->m, ps->sid,
		    MUX_CODE_CANCEL) == 0) {
			ps->reset = 1;
			t->closed = 1;	/* own reset: no callback */
		}
	} else
		mux_tick(pr->sd[i]->m);
}

START_TEST(test_property_windows)
{
	struct prop		 pr;
	struct mux_settings	 s[2];
	int			 i, k, step;

	memset(&pr, 0, sizeof(pr));
	pr.rnd = 0x9e3779b9U * (uint32_t)(_i + 1);
	for (i = 0; i < 2; i++) {
		mux_settings_default(&s[i]);
		s[i].stream_window = 1024 + prand(&pr) % 100000;
		s[i].tunnel_window = s[i].stream_window + prand(&pr) % 300000;
		s[i].max_frame = 1024 + prand(&pr) % 20000;
		pr.window[i] = s[i].stream_window;
		pr.twindow[i] = s[i].tunnel_window;
		pr.wire[i] = evbuffer_new();
	}
	pair_ready(&pr.p, &s[0], &s[1]);
	pr.sd[0] = &pr.p.r;
	pr.sd[1] = &pr.p.a;
	for (i = 0; i < 2; i++)
		pr.sd[i]->auto_consume = 0;
	for (step = 0; step < 4000; step++) {
		prop_step(&pr);
		if (step % 500 == 499) {
			prop_quiesce(&pr);
			prop_check_windows(&pr);
		}
	}
	/* Drain: everyone writes the rest, shuts down, consumes all. */
	for (k = 0; k < 20000; k++) {
		int live = 0;

		for (i = 0; i < 16; i++)
			live += pr.ps[i].live;
		if (live == 0)
			break;
		for (i = 0; i < 16; i++) {
			struct pstream *ps = &pr.ps[i];
			int j;

			if (!ps->live)
				continue;
			for (j = 0; j < 2; j++) {
				struct tstream *t = ts(pr.sd[j], ps->sid);

				prop_write(&pr, ps, j);
				if (!ps->fin[j] && evbuffer_get_length(
				    ps->pend[j]) == 0 && mux_stream_shutdown(
				    pr.sd[j]->m, ps->sid) == 0)
					ps->fin[j] = 1;
				if (t->unconsumed > 0 && !t->closed) {
					ck_assert_int_eq(mux_stream_consumed(
					    pr.sd[j]->m, ps->sid,
					    t->unconsumed), 0);
					t->unconsumed = 0;
				}
			}
			if ((ts(pr.sd[0], ps->sid)->closed &&
			    ts(pr.sd[1], ps->sid)->closed) || (ps->reset &&
			    (ts(pr.sd[0], ps->sid)->closed ||
			    ts(pr.sd[1], ps->sid)->closed)))
				prop_finish_stream(&pr, ps);
		}
		prop_quiesce(&pr);
		prop_check_windows(&pr);
	}
	for (i = 0; i < 16; i++) {
		struct mux_stream *x = pr.ps[i].live ?
		    mux_stream_find(pr.p.r.m, pr.ps[i].sid) : NULL;
		struct mux_stream *y = pr.ps[i].live ?
		    mux_stream_find(pr.p.a.m, pr.ps[i].sid) : NULL;

		ck_assert_msg(!pr.ps[i].live, "stream %u never finished: "
		    "r %s held %zu/%zu rx %zu tx %zu cr %u closed %d, "
		    "a %s held %zu rx %zu tx %zu cr %u closed %d, reset %d",
		    pr.ps[i].sid,
		    x ? mux_stream_state_name(mux_stream_state(x)) : "-",
		    x ? (size_t)x->held : 0, ts(&pr.p.r, pr.ps[i].sid)->unconsumed, x && x->rx ? evbuffer_get_length(x->rx) : 0,
		    x && x->tx ? evbuffer_get_length(x->tx) : 0,
		    x ? x->send_credit : 0, ts(&pr.p.r, pr.ps[i].sid)->closed,
		    y ? mux_stream_state_name(mux_stream_state(y)) : "-",
		    y ? (size_t)y->held : 0, y && y->rx ? evbuffer_get_length(y->rx) : 0,
		    y && y->tx ? evbuffer_get_length(y->tx) : 0,
		    y ? y->send_credit : 0, ts(&pr.p.a, pr.ps[i].sid)->closed,
		    pr.ps[i].reset);
	}
	ck_assert_int_eq(mux_is_dead(pr.p.r.m), 0);
	ck_assert_int_eq(mux_is_dead(pr.p.a.m), 0);
	ck_assert_uint_eq(mux_nstreams(pr.p.r.m), 0);
	ck_assert_uint_eq(mux_nstreams(pr.p.a.m), 0);
	ck_assert_uint_gt(pr.done, 10);
	/* Every byte was consumed; what is not yet credited back is below
	 * the credit-return threshold and accounted exactly. */
	for (i = 0; i < 2; i++) {
		struct mux *snd = pr.sd[i]->m, *rcv = pr.sd[!i]->m;

		ck_assert_uint_eq(rcv->rxf.used, rcv->rxf.pending);
		ck_assert_uint_lt(rcv->rxf.pending, flow_recv_threshold(
		    &rcv->rxf, rcv->set.max_frame));
		ck_assert_uint_eq((uint64_t)snd->send_credit + rcv->rxf.used,
		    pr.twindow[!i]);
	}
	for (i = 0; i < 2; i++)
		evbuffer_free(pr.wire[i]);
	pair_free(&pr.p);
}
END_TEST

/* A bulk stream and a 1-byte stream: the small one goes out within 2
 * DATA frames of being written. */
START_TEST(test_fairness)
{
	struct pair		 p;
	struct evbuffer		*b = evbuffer_new(), *wire = evbuffer_new();
	struct frame_hdr	 h;
	uint8_t			 hdr[FRAME_HDR_LEN];
	uint32_t		 bulk, small;
	size_t			 moved;
	int			 frames = 0, seen = 0, round;

	pair_ready(&p, NULL, NULL);
	ck_assert_int_eq(mux_stream_open(p.r.m, "bulk", NULL, &p.r, &bulk), 0);
	ck_assert_int_eq(mux_stream_open(p.r.m, "ssh", NULL, &p.r, &small), 0);
	pump(&p);
	for (round = 0; round < 3; round++) {
		add_bytes(b, 10 << 20, 5);
		ck_assert_int_eq(mux_stream_write(p.r.m, bulk, b, &moved), 0);
		ck_assert_uint_gt(moved, 0);
		evbuffer_drain(b, evbuffer_get_length(b));
		/* Let some bulk frames out first, then the keystroke. */
		mux_output(p.r.m, wire, 1);
		mux_output(p.r.m, wire, 1);
		evbuffer_add(b, "k", 1);
		ck_assert_int_eq(mux_stream_write(p.r.m, small, b, &moved), 0);
		ck_assert_uint_eq(moved, 1);
		ck_assert_int_eq(mux_input(p.a.m, wire), 0);
		frames = 0;
		seen = 0;
		while (!seen && frames < 100) {
			ck_assert_uint_gt(mux_output(p.r.m, wire, 1), 0);
			ck_assert_int_eq(evbuffer_copyout(wire, hdr,
			    sizeof(hdr)), sizeof(hdr));
			frame_hdr_decode(hdr, &h);
			if (h.sid == small)
				seen = 1;
			else if (h.sid == bulk)
				frames++;
			ck_assert_int_eq(mux_input(p.a.m, wire), 0);
		}
		ck_assert_int_eq(seen, 1);
		ck_assert_int_eq(frames, 0);	/* sparse: first */
		pump(&p);
	}
	ck_assert_uint_eq(evbuffer_get_length(ts(&p.a, small)->data), 3);
	ck_assert_uint_eq(evbuffer_get_length(ts(&p.a, bulk)->data),
	    evbuffer_get_length(ts(&p.a, bulk)->data));
	evbuffer_free(b);
	evbuffer_free(wire);
	pair_free(&p);
}
END_TEST

/* The stream of the next frame in wire (which must hold one), and its
 * length; the frame is handed to the peer's mux. */
static uint32_t
next_frame(struct pair *p, struct evbuffer *wire, uint32_t *len)
{
	struct frame_hdr	h;
	uint8_t			hdr[FRAME_HDR_LEN];
	struct evbuffer		*one = evbuffer_new();

	ck_assert_int_eq(evbuffer_copyout(wire, hdr, sizeof(hdr)),
	    sizeof(hdr));
	frame_hdr_decode(hdr, &h);
	ck_assert_int_eq(evbuffer_remove_buffer(wire, one,
	    FRAME_HDR_LEN + h.len), (int)(FRAME_HDR_LEN + h.len));
	ck_assert_int_eq(mux_input(p->a.m, one), 0);
	evbuffer_free(one);
	if (len != NULL)
		*len = h.len;
	return h.sid;
}

/*
 * Interactive streams first: while three bulk streams keep the output busy,
 * a stream that turns up with one byte has its frame first in the next
 * mux_output() batch, however small; one that turns up with more than a
 * sparse turn's worth gets one small frame ahead, the rest in the round
 * robin; the bulk streams keep their frame-by-frame round robin.
 */
START_TEST(test_sparse_first)
{
	struct pair		 p;
	struct evbuffer		*b = evbuffer_new(), *wire = evbuffer_new();
	uint32_t		 bulk[3], small, sid, len, last = 0;
	size_t			 moved;
	int			 i, round, turns[3] = { 0, 0, 0 };

	pair_ready(&p, NULL, NULL);
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(mux_stream_open(p.r.m, "bulk", NULL, &p.r,
		    &bulk[i]), 0);
	ck_assert_int_eq(mux_stream_open(p.r.m, "ssh", NULL, &p.r, &small), 0);
	pump(&p);
	for (i = 0; i < 3; i++) {
		add_bytes(b, 1 << 20, (uint32_t)i);
		ck_assert_int_eq(mux_stream_write(p.r.m, bulk[i], b, &moved),
		    0);
		ck_assert_uint_gt(moved, 64 << 10);	/* several frames */
		evbuffer_drain(b, evbuffer_get_length(b));
	}
	for (round = 0; round < 5; round++) {
		/* Some bulk frames leave, then the keystroke. */
		mux_output(p.r.m, wire, 1);
		(void)next_frame(&p, wire, NULL);
		evbuffer_add(b, "k", 1);
		ck_assert_int_eq(mux_stream_write(p.r.m, small, b, &moved), 0);
		ck_assert_uint_eq(moved, 1);
		ck_assert_uint_gt(mux_output(p.r.m, wire, 1), 0);
		ck_assert_uint_eq(next_frame(&p, wire, &len), small);
		ck_assert_uint_eq(len, 1);
		ck_assert_uint_eq(evbuffer_get_length(wire), 0);
	}
	ck_assert_uint_eq(evbuffer_get_length(ts(&p.a, small)->data), 5);

	/* A sparse stream that queues more before its turn: one frame of
	 * MUX_SPARSE_MAX ahead, the rest after a frame of every bulk
	 * stream. */
	evbuffer_add(b, "k", 1);
	ck_assert_int_eq(mux_stream_write(p.r.m, small, b, &moved), 0);
	add_bytes(b, 100 << 10, 9);
	ck_assert_int_eq(mux_stream_write(p.r.m, small, b, &moved), 0);
	ck_assert_uint_eq(moved, 100 << 10);
	evbuffer_drain(b, evbuffer_get_length(b));
	mux_output(p.r.m, wire, 1);
	ck_assert_uint_eq(next_frame(&p, wire, &len), small);
	ck_assert_uint_eq(len, MUX_SPARSE_MAX);
	for (i = 0; i < 3; i++) {
		mux_output(p.r.m, wire, 1);
		sid = next_frame(&p, wire, NULL);
		ck_assert_uint_ne(sid, small);
		ck_assert_uint_ne(sid, last);
		last = sid;
	}
	mux_output(p.r.m, wire, 1);
	ck_assert_uint_eq(next_frame(&p, wire, &len), small);
	ck_assert_uint_gt(len, MUX_SPARSE_MAX);	/* a full frame */
	/* One that turns up with more than that is no sparse stream: the
	 * tail, behind a frame of every bulk stream. */
	add_bytes(b, 100 << 10, 10);
	ck_assert_int_eq(mux_stream_write(p.r.m, small, b, &moved), 0);
	evbuffer_drain(b, evbuffer_get_length(b));
	for (i = 0; i < 3; i++) {
		mux_output(p.r.m, wire, 1);
		sid = next_frame(&p, wire, NULL);
		ck_assert_uint_ne(sid, small);
		ck_assert_uint_ne(sid, last);
		last = sid;
	}
	mux_output(p.r.m, wire, 1);
	ck_assert_uint_eq(next_frame(&p, wire, &len), small);
	ck_assert_uint_gt(len, MUX_SPARSE_MAX);

	/* The bulk streams alone: strict rotation, frame by frame. */
	for (i = 0; i < 12; i++) {
		mux_output(p.r.m, wire, 1);
		if (evbuffer_get_length(wire) == 0)
			break;		/* out of stream credit */
		sid = next_frame(&p, wire, NULL);
		if (sid == small)
			continue;
		ck_assert_uint_ne(sid, last);
		last = sid;
		turns[(sid - bulk[0]) / 2]++;
	}
	ck_assert_int_ge(turns[0], 2);
	ck_assert_int_ge(turns[1], 2);
	ck_assert_int_ge(turns[2], 2);
	pump(&p);
	ck_assert_uint_eq(evbuffer_get_length(ts(&p.a, small)->data),
	    6 + (200 << 10));
	evbuffer_free(b);
	evbuffer_free(wire);
	pair_free(&p);
}
END_TEST

/* 10,000 streams open at once, carry a byte each way, close; no leaks
 * (ASan), nothing left behind, and no quadratic scan (bounded time). */
START_TEST(test_many_streams)
{
	struct pair	 p;
	struct evbuffer	*b = evbuffer_new();
	uint32_t	 sid;
	size_t		 moved;
	int		 i, n = 10000;

	pair_ready(&p, NULL, NULL);
	for (i = 0; i < n; i++) {
		ck_assert_int_eq(mux_stream_open(p.r.m, "web", NULL, &p.r,
		    &sid), 0);
		ck_assert_uint_eq(sid, 2 * (uint32_t)i + 1);
	}
	pump(&p);
	ck_assert_uint_eq(mux_nstreams(p.r.m), (size_t)n);
	ck_assert_uint_eq(mux_nstreams(p.a.m), (size_t)n);
	for (i = 0; i < n; i++) {
		sid = 2 * (uint32_t)i + 1;
		ck_assert_int_eq(ts(&p.r, sid)->accepted, 1);
		evbuffer_add(b, "q", 1);
		ck_assert_int_eq(mux_stream_write(p.r.m, sid, b, &moved), 0);
		evbuffer_add(b, "a", 1);
		ck_assert_int_eq(mux_stream_write(p.a.m, sid, b, &moved), 0);
	}
	pump(&p);
	for (i = 0; i < n; i++) {
		sid = 2 * (uint32_t)i + 1;
		ck_assert_uint_eq(evbuffer_get_length(ts(&p.a, sid)->data), 1);
		ck_assert_int_eq(mux_stream_shutdown(p.r.m, sid), 0);
		/* Half of them end with a reset instead. */
		if (i % 2)
			ck_assert_int_eq(mux_stream_shutdown(p.a.m, sid), 0);
		else
			ck_assert_int_eq(mux_stream_reset(p.a.m, sid,
			    MUX_CODE_CANCEL), 0);
	}
	pump(&p);
	ck_assert_uint_eq(mux_nstreams(p.r.m), 0);
	ck_assert_uint_eq(mux_nstreams(p.a.m), 0);
	ck_assert_int_eq(p.r.closes, n);
	ck_assert_uint_eq(ts(&p.r, 1)->code, MUX_CODE_CANCEL);
	ck_assert_uint_eq(ts(&p.r, 3)->code, MUX_CODE_NONE);
	/* A second wave reuses nothing and still works. */
	ck_assert_int_eq(mux_stream_open(p.r.m, "web", NULL, &p.r, &sid), 0);
	ck_assert_uint_eq(sid, 2 * (uint32_t)n + 1);
	evbuffer_free(b);
	pair_free(&p);
}
END_TEST

/* The app leaves bytes in stream_data's buffer: they stay counted, come
 * back with mux_stream_redeliver(), and EOF waits for them. */
START_TEST(test_backpressure_redeliver)
{
	struct pair	 p;
	struct evbuffer	*b = evbuffer_new();
	uint32_t	 sid;
	size_t		 moved;

	pair_ready(&p, NULL, NULL);
	p.a.take_max = 10;
	ck_assert_int_eq(mux_stream_open(p.r.m, "web", NULL, &p.r, &sid), 0);
	evbuffer_add(b, "0123456789abcdefghijABCDEFGHIJ", 30);
	ck_assert_int_eq(mux_stream_write(p.r.m, sid, b, &moved), 0);
	pump(&p);
	ck_assert_uint_eq(evbuffer_get_length(ts(&p.a, sid)->data), 10);
	/* The FIN offers the rest again (10 more), EOF waits. */
	ck_assert_int_eq(mux_stream_shutdown(p.r.m, sid), 0);
	pump(&p);
	ck_assert_uint_eq(evbuffer_get_length(ts(&p.a, sid)->data), 20);
	ck_assert_int_eq(ts(&p.a, sid)->eof, 0);	/* not before data */
	ck_assert_int_eq(mux_stream_redeliver(p.a.m, sid), 0);
	pump(&p);
	ck_assert_uint_eq(evbuffer_get_length(ts(&p.a, sid)->data), 30);
	ck_assert_int_eq(ts(&p.a, sid)->eof, 1);
	ck_assert_int_eq(memcmp(evbuffer_pullup(ts(&p.a, sid)->data, -1),
	    "0123456789abcdefghijABCDEFGHIJ", 30), 0);
	ck_assert_int_eq(mux_stream_consumed(p.a.m, sid, 31), MUX_EINVAL);
	ck_assert_int_eq(mux_stream_redeliver(p.a.m, 99), MUX_ENOSTREAM);
	evbuffer_free(b);
	pair_free(&p);
}
END_TEST

/* A slow reader stops the sender: send space reaches 0, stream_writable
 * fires only once the receiver consumed an eighth of the window (1250
 * bytes: below two 32 KiB frames). */
START_TEST(test_slow_reader)
{
	struct pair		 p;
	struct mux_settings	 s;
	struct evbuffer		*b = evbuffer_new();
	uint32_t		 sid;
	size_t			 moved;

	mux_settings_default(&s);
	s.stream_window = 10000;
	pair_ready(&p, NULL, &s);
	p.a.auto_consume = 0;
	ck_assert_int_eq(mux_stream_open(p.r.m, "web", NULL, &p.r, &sid), 0);
	pump(&p);
	ck_assert_uint_eq(mux_stream_send_space(p.r.m, sid), 10000);
	add_bytes(b, 50000, 9);
	ck_assert_int_eq(mux_stream_write(p.r.m, sid, b, &moved), 0);
	ck_assert_uint_eq(moved, 10000);
	ck_assert_uint_eq(mux_stream_send_space(p.r.m, sid), 0);
	pump(&p);
	ck_assert_uint_eq(mux_stream_send_space(p.r.m, sid), 0);
	ck_assert_uint_eq(ts(&p.a, sid)->unconsumed, 10000);
	ck_assert_int_eq(mux_stream_consumed(p.a.m, sid, 1249), 0);
	pump(&p);
	ck_assert_int_eq(ts(&p.r, sid)->writable, 0);	/* below 1250 */
	ck_assert_int_eq(mux_stream_consumed(p.a.m, sid, 1), 0);
	pump(&p);
	ck_assert_int_eq(ts(&p.r, sid)->writable, 1);
	ck_assert_uint_eq(mux_stream_send_space(p.r.m, sid), 1250);
	evbuffer_free(b);
	pair_free(&p);
}
END_TEST

/* The daemons' likely style: want_output writes at once, nested in
 * whatever call queued the output.  Deferred events still get delivered. */
START_TEST(test_sync_output)
{
	struct pair	 p;
	struct evbuffer	*b = evbuffer_new();
	uint32_t	 sid;
	size_t		 moved;
	int		 i;

	pair_ready(&p, NULL, NULL);
	p.r.sync_output = p.a.sync_output = 1;
	p.a.auto_accept = 0;
	p.a.auto_consume = 0;
	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(mux_stream_open(p.r.m, "web", NULL, &p.r,
		    &sid), 0);
		evbuffer_add(b, "hello", 5);
		ck_assert_int_eq(mux_stream_write(p.r.m, sid, b, &moved), 0);
		ck_assert_int_eq(mux_stream_shutdown(p.r.m, sid), 0);
		pump(&p);
		ck_assert_int_eq(mux_stream_accept(p.a.m, sid, &p.a), 0);
		pump(&p);
		ck_assert_uint_eq(evbuffer_get_length(ts(&p.a, sid)->data), 5);
		ck_assert_int_eq(ts(&p.a, sid)->eof, 1);
		ck_assert_int_eq(mux_stream_shutdown(p.a.m, sid), 0);
		pump(&p);
		ck_assert_int_eq(ts(&p.a, sid)->closed, 0);	/* unconsumed */
		ck_assert_int_eq(mux_stream_consumed(p.a.m, sid, 5), 0);
		pump(&p);
		ck_assert_int_eq(ts(&p.a, sid)->closed, 1);
		ck_assert_uint_eq(ts(&p.a, sid)->code, MUX_CODE_NONE);
		ck_assert_int_eq(ts(&p.r, sid)->closed, 1);
	}
	ck_assert_uint_eq(mux_nstreams(p.a.m), 0);
	evbuffer_free(b);
	pair_free(&p);
}
END_TEST

/* A peer granting huge credit cannot make us queue more than our own
 * stream window; the queue refills as the scheduler drains it. */
START_TEST(test_send_queue_cap)
{
	struct side		 v;
	struct mux_settings	 s;
	struct frame_ctl	*c;
	struct evbuffer		*b = evbuffer_new();
	uint32_t		 sid;
	size_t			 moved;

	mux_settings_default(&s);
	s.stream_window = 50000;
	victim_init(&v, MUX_ROLE_RELAY, &s, 1);
	ck_assert_int_eq(mux_stream_open(v.m, "web", NULL, &v, &sid), 0);
	c = ctl(FRAME_WINDOW, sid);
	c->increment = 0x7fffffffU - 65536;
	ck_assert_int_eq(inject(&v, c), 0);
	add_bytes(b, 1 << 20, 4);
	ck_assert_int_eq(mux_stream_write(v.m, sid, b, &moved), 0);
	ck_assert_uint_eq(moved, 50000);
	ck_assert_uint_eq(mux_stream_send_space(v.m, sid), 0);
	ck_assert_int_eq(ts(&v, sid)->writable, 0);
	mux_output(v.m, v.out, 1);	/* STREAM_OPEN only: max reached */
	ck_assert_int_eq(ts(&v, sid)->writable, 0);
	mux_output(v.m, v.out, 1);	/* one 16 KiB frame leaves */
	ck_assert_int_eq(ts(&v, sid)->writable, 1);
	ck_assert_uint_eq(mux_stream_send_space(v.m, sid), 16384);
	evbuffer_free(b);
	side_free(&v);
}
END_TEST

/*
 * The send budget: 400 streams, each with 128 KiB of credit from the peer
 * (51 MiB in all) and 160 KiB to send, through a 256 KiB budget.  The
 * application is modelled as the daemons work: it writes a stream's socket
 * bytes until a write is cut short, then waits for stream_writable.  The
 * queues never hold more than the budget; each mux_output() wakes at most
 * budget / quantum (8) streams, not the 400 that wait; every stream gets
 * its bytes through; stream 1, whose peer stops granting credit, does not
 * hold up the rest.
 */
START_TEST(test_send_budget)
{
	enum { N = 400, LEFT = 160 * 1024, BUDGET = 256 * 1024 };
	static char		 zero[16384];
	struct pair		 p;
	struct mux_settings	 rs, as;
	struct evbuffer		*b = evbuffer_new(), *wire = evbuffer_new();
	size_t			 left[N], moved, before, maxwake = 0, n;
	size_t			 maxq = 0;
	int			 can[N], seen[N], i, iter, rest;
	uint32_t		 sid;

	mux_settings_default(&rs);
	rs.send_budget = BUDGET;
	mux_settings_default(&as);
	as.stream_window = 128 * 1024;
	as.tunnel_window = 0x7fffffff;
	as.max_streams = N;
	pair_ready(&p, &rs, &as);
	for (i = 0; i < N; i++) {
		ck_assert_int_eq(mux_stream_open(p.r.m, "bulk", NULL, &p.r,
		    &sid), 0);
		left[i] = LEFT;
		can[i] = 1;
		seen[i] = 0;
	}
	pump(&p);
	ts(&p.a, 1)->stall = 1;
	for (iter = 0; iter < 200000; iter++) {
		rest = 0;
		for (i = 0; i < N; i++) {
			sid = 2 * (uint32_t)i + 1;
			if (left[i] == 0)
				continue;
			rest += i > 0;
			if (!can[i] && ts(&p.r, sid)->writable == seen[i])
				continue;
			seen[i] = ts(&p.r, sid)->writable;
			n = left[i] < sizeof(zero) ? left[i] : sizeof(zero);
			evbuffer_add(b, zero, n);
			ck_assert_int_eq(mux_stream_write(p.r.m, sid, b,
			    &moved), 0);
			evbuffer_drain(b, evbuffer_get_length(b));
			left[i] -= moved;
			can[i] = moved == n;
			ck_assert_uint_le(mux_send_queued(p.r.m), BUDGET);
			if (mux_send_queued(p.r.m) > maxq)
				maxq = mux_send_queued(p.r.m);
		}
		if (rest == 0 && mux_send_queued(p.r.m) == 0 &&
		    !mux_has_output(p.r.m) && !mux_has_output(p.a.m))
			break;
		before = p.r.writables;
		mux_output(p.r.m, wire, 65536);
		if (p.r.writables - before > maxwake)
			maxwake = p.r.writables - before;
		/* Streams woken and not yet written: one per quantum. */
		ck_assert_uint_le(p.r.m->nwoken, BUDGET / 32768);
		ck_assert_int_eq(mux_input(p.a.m, wire), 0);
		mux_output(p.a.m, wire, SIZE_MAX);
		ck_assert_int_eq(mux_input(p.r.m, wire), 0);
		ck_assert_uint_le(mux_send_queued(p.r.m), BUDGET);
	}
	ck_assert_int_lt(iter, 200000);
	/* Everyone but the stalled stream is through, byte for byte. */
	for (i = 1; i < N; i++) {
		ck_assert_uint_eq(left[i], 0);
		ck_assert_uint_eq(evbuffer_get_length(
		    ts(&p.a, 2 * (uint32_t)i + 1)->data), LEFT);
	}
	/* The stalled one moved exactly the credit it was given. */
	ck_assert_uint_eq(left[0], LEFT - 128 * 1024);
	ck_assert_uint_le(maxwake, BUDGET / 32768);
	ck_assert_uint_eq(maxq, BUDGET);	/* the budget did bind */
	ck_assert_uint_gt(maxwake, 0);
	ck_assert_uint_eq(mux_send_queued(p.r.m), 0);
	evbuffer_free(b);
	evbuffer_free(wire);
	pair_free(&p);
}
END_TEST

static uint64_t
wan_clock(void *arg)
{
	return *(uint64_t *)arg;
}

/* The mux times its own PING to the PONG with the application's clock;
 * samples are smoothed; without a clock nothing is timed. */
START_TEST(test_rtt)
{
	struct pair	p;
	uint64_t	now = 1000;

	pair_ready(&p, NULL, NULL);
	ck_assert_uint_eq(mux_rtt_us(p.a.m), 0);
	mux_set_clock(p.a.m, wan_clock, &now);
	ck_assert_int_eq(mux_ping(p.a.m, 7), 0);
	pump_one(&p.a, &p.r, SIZE_MAX);		/* PING */
	now += 40;
	pump_one(&p.r, &p.a, SIZE_MAX);		/* PONG */
	ck_assert_uint_eq(mux_rtt_us(p.a.m), 40);
	mux_rtt_sample(p.a.m, 80);		/* 7/8 x 40 + 1/8 x 80 */
	ck_assert_uint_eq(mux_rtt_us(p.a.m), 45);
	/* Two PINGs in flight: only the first is timed. */
	ck_assert_int_eq(mux_ping(p.a.m, 8), 0);
	ck_assert_int_eq(mux_ping(p.a.m, 9), 0);
	pump_one(&p.a, &p.r, SIZE_MAX);
	now += 10;
	pump_one(&p.r, &p.a, SIZE_MAX);		/* both PONGs */
	ck_assert_uint_eq(mux_rtt_us(p.a.m), (45 * 7 + 10) / 8);
	ck_assert_uint_eq(p.a.ctl.opaque, 9);	/* still reported */
	/* No clock: no sample. */
	mux_set_clock(p.a.m, NULL, NULL);
	ck_assert_int_eq(mux_ping(p.a.m, 10), 0);
	pump(&p);
	ck_assert_uint_eq(mux_rtt_us(p.a.m), (45 * 7 + 10) / 8);
	ck_assert_uint_eq(p.a.m->glitch, 0);
	mux_set_clock(p.a.m, wan_clock, &now);
	/* The minimum (10) holds for two minutes against higher samples;
	 * then the lowest of those since (30) takes over, not the sample
	 * that happens to come next (70). */
	ck_assert_uint_eq(mux_rtt_min_us(p.a.m), 10);
	now += 1000000;
	mux_rtt_sample(p.a.m, 50);
	now += 60000000;
	mux_rtt_sample(p.a.m, 30);
	ck_assert_uint_eq(mux_rtt_min_us(p.a.m), 10);
	now += 60000000;
	mux_rtt_sample(p.a.m, 70);
	ck_assert_uint_eq(mux_rtt_min_us(p.a.m), 30);
	/* A lower sample replaces it at once. */
	mux_rtt_sample(p.a.m, 20);
	ck_assert_uint_eq(mux_rtt_min_us(p.a.m), 20);
	pair_free(&p);

	/* Windows grow to stream_window_max, at most a quarter of the
	 * tunnel window, never below stream_window. */
	{
		struct mux_settings	s;
		struct mux		*m;

		mux_settings_default(&s);
		s.tunnel_window = 4 << 20;
		m = mux_new(MUX_ROLE_AGENT, &s, &test_cb, NULL);
		ck_assert_uint_eq(m->wmax, 1 << 20);
		mux_free(m);
		s.stream_window_max = 0;
		m = mux_new(MUX_ROLE_AGENT, &s, &test_cb, NULL);
		ck_assert_uint_eq(m->wmax, s.stream_window);
		mux_free(m);
	}
}
END_TEST

/* --- WAN flow control: a discrete-time simulation. ----------------------
 *
 * One stream from the relay (sender) to the agent (receiver) through an
 * emulated link: `link` bytes per simulated millisecond forward, a one-way
 * delay of rtt / 2 each way, control frames back at any rate.  Each tick
 * the sender's application fills the stream's send space, the link carries
 * what the mux puts out, and the receiver's application consumes at most
 * `consume` bytes per ms and reports them with mux_stream_consumed().  The
 * muxes read a simulated clock and the agent pings at start, so RTT and
 * auto-tuning work as they would in the daemons.  report_batch > 0 reports
 * consumption in batches of that size: with half the window it reproduces
 * the WINDOW_UPDATE timing of the former half-window rule, for comparison.
 */
struct wan_cfg {
	uint32_t	rtt;		/* ms, even */
	uint32_t	link;		/* bytes per ms */
	uint32_t	consume;	/* bytes per ms, 0: as fast as it comes */
	uint32_t	window;		/* receiver's stream_window */
	uint32_t	window_max;	/* receiver's stream_window_max */
	uint32_t	report_batch;
	size_t		budget;		/* sender's send_budget */
	uint32_t	ms;		/* simulated time */
	uint32_t	from;		/* measure from this ms */
};

struct wan_out {
	double		rate;		/* bytes consumed per ms from `from` */
	uint32_t	window;		/* receiver's window at the end */
	uint32_t	rtt;		/* the agent's RTT estimate */
	size_t		max_queued;	/* sender: mux send queues */
	uint32_t	max_used;	/* receiver: tunnel window in use */
	uint32_t	t90;		/* first ms of a 100 ms span >= 90%
					   of the link, 0: never */
	unsigned	glitch;		/* the sender's flood count at the end */
};

static void
wan_run(const struct wan_cfg *c, struct wan_out *o)
{
	static char		 zero[65536];
	enum { MAXD = 128 };
	struct pair		 p;
	struct mux_settings	 rs, as;
	struct evbuffer		*fwd[MAXD], *back[MAXD], *backlog, *src;
	struct evbuffer		*rxa, *rxr;	/* arrived, partial frames */
	uint64_t		 now = 0, clk = 0, got = 0, span = 0;
	uint32_t		 d = c->rtt / 2, sid, k, slot;
	size_t			 space, n, unreported = 0, moved;
	struct tstream		*t;

	ck_assert_uint_lt(d + 1, MAXD);
	memset(o, 0, sizeof(*o));
	mux_settings_default(&rs);
	rs.send_budget = c->budget;
	mux_settings_default(&as);
	as.stream_window = c->window;
	as.stream_window_max = c->window_max;
	as.tunnel_window = 64 << 20;
	pair_ready(&p, &rs, &as);
	p.a.auto_consume = 0;
	/* The ticks are ms; the muxes' clock is in µs. */
	mux_set_clock(p.r.m, wan_clock, &clk);
	mux_set_clock(p.a.m, wan_clock, &clk);
	ck_assert_int_eq(mux_stream_open(p.r.m, "bulk", NULL, &p.r, &sid), 0);
	pump(&p);
	for (k = 0; k <= d; k++) {
		fwd[k] = evbuffer_new();
		back[k] = evbuffer_new();
	}
	backlog = evbuffer_new();
	src = evbuffer_new();
	rxa = evbuffer_new();
	rxr = evbuffer_new();
	t = ts(&p.a, sid);
	for (now = 0; now < c->ms; now++) {
		clk = now * 1000;
		if (now % 1000 == 0)
			ck_assert_int_eq(mux_ping(p.a.m, now), 0);
		/* Arrivals due now. */
		slot = (uint32_t)(now % (d + 1));
		evbuffer_add_buffer(rxa, fwd[slot]);
		evbuffer_add_buffer(rxr, back[slot]);
		ck_assert_int_eq(mux_input(p.a.m, rxa), 0);
		ck_assert_int_eq(mux_input(p.r.m, rxr), 0);
		/* The receiver's consumer. */
		n = t->data != NULL ? evbuffer_get_length(t->data) : 0;
		if (c->consume > 0 && n > c->consume)
			n = c->consume;
		if (n > 0)
			evbuffer_drain(t->data, n);
		unreported += n;
		if (unreported > 0 && (c->report_batch == 0 ||
		    unreported >= c->report_batch)) {
			ck_assert_int_eq(mux_stream_consumed(p.a.m, sid,
			    unreported), 0);
			unreported = 0;
		}
		if (now >= c->from)
			got += n;
		span += n;
		if (now % 100 == 99) {
			if (o->t90 == 0 && span * 10 >= (uint64_t)c->link *
			    100 * 9)
				o->t90 = (uint32_t)now - 99;
			span = 0;
		}
		/* The sender's socket always has more. */
		space = mux_stream_send_space(p.r.m, sid);
		while (evbuffer_get_length(src) < space)
			evbuffer_add_reference(src, zero, sizeof(zero), NULL,
			    NULL);
		ck_assert_int_eq(mux_stream_write(p.r.m, sid, src, &moved),
		    0);
		evbuffer_drain(src, evbuffer_get_length(src));
		if (mux_send_queued(p.r.m) > o->max_queued)
			o->max_queued = mux_send_queued(p.r.m);
		/* This tick's departures. */
		if (evbuffer_get_length(backlog) < c->link)
			mux_output(p.r.m, backlog, c->link -
			    evbuffer_get_length(backlog));
		n = evbuffer_get_length(backlog);
		evbuffer_remove_buffer(backlog, fwd[(now + d) % (d + 1)],
		    n < c->link ? n : c->link);
		mux_output(p.a.m, back[(now + d) % (d + 1)], SIZE_MAX);
		if (p.a.m->rxf.used > o->max_used)
			o->max_used = p.a.m->rxf.used;
	}
	ck_assert_int_eq(mux_is_dead(p.r.m), 0);
	ck_assert_int_eq(mux_is_dead(p.a.m), 0);
	o->rate = (double)got / (c->ms - c->from);
	o->window = mux_stream_recv_window(p.a.m, sid);
	o->rtt = mux_rtt_us(p.a.m) / 1000;
	o->glitch = p.r.m->glitch;
	for (k = 0; k <= d; k++) {
		evbuffer_free(fwd[k]);
		evbuffer_free(back[k]);
	}
	evbuffer_free(backlog);
	evbuffer_free(src);
	evbuffer_free(rxa);
	evbuffer_free(rxr);
	pair_free(&p);
}

/*
 * A window-limited stream (1 MiB window, 20 ms RTT, 1 Gbit/s link, no
 * auto-tuning): the new credit rule keeps the window full, >= 90% of
 * window / RTT; the former half-window timing gets about three quarters.
 */
START_TEST(test_wan_credit_rule)
{
	struct wan_cfg	c;
	struct wan_out	now, old;
	double		ideal;

	memset(&c, 0, sizeof(c));
	c.rtt = 20;
	c.link = 125000;
	c.window = 1 << 20;
	c.ms = 2000;
	c.from = 500;
	ideal = (double)c.window / c.rtt;
	wan_run(&c, &now);
	c.report_batch = c.window / 2;
	wan_run(&c, &old);
	fprintf(stderr, "wan: 1 MiB window, 20 ms RTT, 1 Gbit/s: credit rule "
	    "%.1f%% of window/RTT (%.0f Mbit/s), half-window timing %.1f%% "
	    "(%.0f Mbit/s); RTT measured %u ms\n", 100 * now.rate / ideal,
	    now.rate * 8 / 1000, 100 * old.rate / ideal, old.rate * 8 / 1000,
	    now.rtt);
	ck_assert_uint_eq(now.rtt, 20);
	ck_assert_uint_eq(now.window, 1 << 20);		/* no growth asked */
	ck_assert(now.rate >= 0.90 * ideal);
	ck_assert(old.rate < 0.80 * ideal);
	/* Its WINDOW_UPDATEs, every 128 KiB, are no flood (no mux_tick()
	 * here to forgive anything). */
	ck_assert_uint_eq(now.glitch, 0);
	ck_assert_uint_le(now.max_used, 1 << 20);
}
END_TEST

/*
 * Auto-tuning on a long fat pipe (100 Mbit/s, 100 ms RTT: 1.25 MB in
 * flight) from a 256 KiB window: >= 90% of the link within a few seconds,
 * the window bounded by stream_window_max, the sender's queues by its send
 * budget; and a consumer slower than the window needs never grows it.
 */
START_TEST(test_wan_autotune)
{
	struct wan_cfg	c;
	struct wan_out	o, fixed, slow;

	memset(&c, 0, sizeof(c));
	c.rtt = 100;
	c.link = 12500;
	c.window = 256 << 10;
	c.window_max = 16 << 20;
	c.budget = 64 << 10;
	c.ms = 5000;
	c.from = 3000;
	wan_run(&c, &o);
	c.window_max = 0;
	wan_run(&c, &fixed);
	c.window_max = 16 << 20;
	c.consume = 1000;	/* 8 Mbit/s: 256 KiB covers 2 x RTT of it */
	wan_run(&c, &slow);
	fprintf(stderr, "wan: 100 Mbit/s, 100 ms RTT, 256 KiB window: fixed "
	    "%.1f%% of the link; auto-tuned %.1f%% (90%% reached at %u ms, "
	    "window %u KiB); slow consumer %.0f bytes/ms, window %u KiB; "
	    "sender queue max %zu KiB\n", 100 * fixed.rate / c.link,
	    100 * o.rate / c.link, o.t90, o.window >> 10, slow.rate,
	    slow.window >> 10, o.max_queued >> 10);
	ck_assert(o.rate >= 0.90 * c.link);
	ck_assert_uint_gt(o.t90, 0);
	ck_assert_uint_le(o.t90, 3000);
	ck_assert(fixed.rate < 0.30 * c.link);
	ck_assert_uint_gt(o.window, 1250000);		/* >= the BDP */
	ck_assert_uint_le(o.window, 16 << 20);
	ck_assert_uint_eq(o.max_queued, 64 << 10);	/* the budget binds */
	ck_assert_uint_le(o.max_used, o.window);
	ck_assert_uint_eq(o.glitch, 0);
	/* The slow consumer keeps its window and gets its rate. */
	ck_assert_uint_eq(slow.window, 256 << 10);
	ck_assert(slow.rate >= 990 && slow.rate <= 1000);
	ck_assert_uint_le(slow.max_used, 256 << 10);
}
END_TEST

/* Each transition of the state machine is one debug line. */
START_TEST(test_transition_log)
{
	struct pair		 p;
	struct mux_settings	 s;
	FILE			*f = tmpfile();
	char			 buf[8192], label[64];
	size_t			 n;
	uint32_t		 sid;

	ck_assert_ptr_nonnull(f);
	log_set_fd(fileno(f));
	log_set_level(LOG_LEVEL_DEBUG);
	/* Each side's lines name their tunnel: the label from the settings
	 * (copied), or one set later. */
	mux_settings_default(&s);
	snprintf(label, sizeof(label), "tunnel 192.0.2.7:4242");
	s.label = label;
	pair_ready(&p, &s, NULL);
	label[0] = '\0';
	ck_assert_str_eq(mux_label(p.r.m), "tunnel 192.0.2.7:4242");
	ck_assert_str_eq(mux_label(p.a.m), "tunnel");	/* the default */
	mux_set_label(p.a.m, "tunnel home-nas");
	ck_assert_int_eq(mux_stream_open(p.r.m, "web", NULL, &p.r, &sid), 0);
	pump(&p);
	ck_assert_int_eq(mux_stream_shutdown(p.r.m, sid), 0);
	pump(&p);
	ck_assert_int_eq(mux_stream_shutdown(p.a.m, sid), 0);
	pump(&p);
	ck_assert_int_eq(mux_goaway(p.a.m, MUX_CODE_AUTH, "bye"), 0);
	log_set_level(LOG_LEVEL_INFO);
	log_set_fd(-1);
	rewind(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
#define R	"mux: tunnel 192.0.2.7:4242: "
#define A	"mux: tunnel home-nas: "
	ck_assert_ptr_nonnull(strstr(buf, R "stream 1: -> OPENING_OUT\n"));
	ck_assert_ptr_nonnull(strstr(buf, A "stream 1: -> OPENING_IN\n"));
	ck_assert_ptr_nonnull(strstr(buf, A "stream 1: OPENING_IN -> OPEN\n"));
	ck_assert_ptr_nonnull(strstr(buf, R "stream 1: OPENING_OUT -> OPEN\n"));
	ck_assert_ptr_nonnull(strstr(buf,
	    R "stream 1: OPEN -> HALF_CLOSED_LOCAL\n"));
	ck_assert_ptr_nonnull(strstr(buf,
	    A "stream 1: OPEN -> HALF_CLOSED_REMOTE\n"));
	ck_assert_ptr_nonnull(strstr(buf,
	    R "stream 1: HALF_CLOSED_LOCAL -> CLOSED\n"));
	ck_assert_ptr_nonnull(strstr(buf,
	    A "stream 1: HALF_CLOSED_REMOTE -> CLOSED\n"));
	ck_assert_ptr_nonnull(strstr(buf, R "stream 1: CLOSED -> FREED\n"));
	ck_assert_ptr_nonnull(strstr(buf, A "stream 1: CLOSED -> FREED\n"));
	ck_assert_ptr_nonnull(strstr(buf, A "tunnel closed by this side "
	    "(AUTH): bye\n"));
	/* No mux line without its tunnel's name. */
	{
		char	*l;

		for (l = strtok(buf, "\n"); l != NULL; l = strtok(NULL, "\n"))
			if (strstr(l, " mux: ") != NULL)
				ck_assert_msg(strstr(l, R) != NULL ||
				    strstr(l, A) != NULL, "unlabelled: %s", l);
	}
#undef R
#undef A
	pair_free(&p);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("mux");
	TCase	*tc = tcase_create("roundtrip");
	SRunner	*sr;
	int	 failed;

	tcase_set_timeout(tc, 60);
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
	tcase_add_test(tc, test_transition_log);
	suite_add_tcase(s, tc);
	tc = tcase_create("errors");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_err_frame_size);
	tcase_add_test(tc, test_err_flow);
	tcase_add_test(tc, test_err_window_update);
	tcase_add_loop_test(tc, test_err_never_opened, 0, 12);
	tcase_add_test(tc, test_err_open_ids);
	tcase_add_test(tc, test_err_malformed);
	tcase_add_test(tc, test_err_hello);
	tcase_add_test(tc, test_version_both_sides);
	tcase_add_test(tc, test_err_floods);
	tcase_add_test(tc, test_peer_glitch);
	tcase_add_loop_test(tc, test_reset_not_flood, 0, 2);
	tcase_add_test(tc, test_err_limits);
	tcase_add_test(tc, test_err_stream_level);
	tcase_add_test(tc, test_closed_stream_credit);
	tcase_add_test(tc, test_alloc_failure);
	suite_add_tcase(s, tc);
	tc = tcase_create("behaviour");
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_property_windows, 0, 20);
	tcase_add_test(tc, test_fairness);
	tcase_add_test(tc, test_sparse_first);
	tcase_add_test(tc, test_many_streams);
	tcase_add_test(tc, test_backpressure_redeliver);
	tcase_add_test(tc, test_slow_reader);
	tcase_add_test(tc, test_sync_output);
	tcase_add_test(tc, test_send_queue_cap);
	tcase_add_test(tc, test_send_budget);
	suite_add_tcase(s, tc);
	tc = tcase_create("wan");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_rtt);
	tcase_add_test(tc, test_wan_credit_rule);
	tcase_add_test(tc, test_wan_autotune);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
