/*
 * fuzz_mux.c — libFuzzer target for the multiplexer (common/proto/mux*.c).
 *
 * The input is a script: a configuration byte, then operations, each an
 * opcode byte and its arguments.  Operations feed the mux raw bytes (any
 * fragmentation), well-formed frames built from fuzz bytes (so the fuzzer
 * gets past the decoder cheaply), or make application calls (open, accept,
 * write, shutdown, reset, consume, output, ping, goaway, tick, ...).
 * After every operation the memory bounds of PROTOCOL.md are checked:
 * received-but-unconsumed bytes within the tunnel window, every send queue
 * within our stream window, provoked answers capped.  Never crash, never
 * leak (mux_free at the end must release everything), never grow.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "frame.h"
#include "log.h"
#include "mux.h"
#include "mux_int.h"

#define FZ_SLOTS	64

struct fz {
	struct mux	*m;
	struct evbuffer	*in;		/* tunnel input, partial frames stay */
	struct evbuffer	*out;
	struct evbuffer	*src;
	const uint8_t	*p;
	size_t		 left;
	int		 auto_accept;
	int		 take_half;
	uint32_t	 sids[FZ_SLOTS];
	size_t		 held[FZ_SLOTS];
	int		 n;
};

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);
const char *__asan_default_options(void);

/* Each run churns megabytes of payload: a smaller quarantine keeps the RSS
 * well under make fuzz's -rss_limit_mb=512 (use-after-free is still caught
 * within the last 64 MB freed). */
const char *
__asan_default_options(void)
{
	return "quarantine_size_mb=64";
}

static uint32_t
fz_byte(struct fz *f)
{
	if (f->left == 0)
		return 0;
	f->left--;
	return *f->p++;
}

static uint32_t
fz_u16(struct fz *f)
{
	return fz_byte(f) << 8 | fz_byte(f);
}

static uint32_t
fz_u32(struct fz *f)
{
	return fz_u16(f) << 16 | fz_u16(f);
}

static int
fz_slot(struct fz *f, uint32_t sid)
{
	int	i;

	for (i = 0; i < f->n; i++)
		if (f->sids[i] == sid)
			return i;
	return -1;
}

static void
fz_add(struct fz *f, uint32_t sid)
{
	if (f->n < FZ_SLOTS && fz_slot(f, sid) < 0) {
		f->sids[f->n] = sid;
		f->held[f->n] = 0;
		f->n++;
	}
}

static void
fz_del(struct fz *f, uint32_t sid)
{
	int	i = fz_slot(f, sid);

	if (i < 0)
		return;
	f->n--;
	f->sids[i] = f->sids[f->n];
	f->held[i] = f->held[f->n];
}

static void
cb_open(struct mux *m, uint32_t sid, const char *service,
    const struct mux_peer *client, void *arg)
{
	struct fz	*f = arg;

	(void)service;
	(void)client;
	if (f->n >= FZ_SLOTS) {
		mux_stream_refuse(m, sid, MUX_CODE_LIMIT, "full");
		return;
	}
	fz_add(f, sid);
	mux_stream_set_arg(m, sid, f);	/* closed before accept: told too */
	if (f->auto_accept)
		mux_stream_accept(m, sid, f);
}

static void
cb_data(struct mux *m, uint32_t sid, struct evbuffer *data, void *sarg)
{
	struct fz	*f = sarg;
	size_t		 n = evbuffer_get_length(data);
	int		 i = fz_slot(f, sid);

	(void)m;
	if (f->take_half)
		n /= 2;
	evbuffer_drain(data, n);
	if (i >= 0)
		f->held[i] += n;
}

static void
cb_closed(struct mux *m, uint32_t sid, uint32_t code, const char *text,
    void *sarg)
{
	(void)m;
	(void)code;
	(void)text;
	if (sarg != NULL)
		fz_del(sarg, sid);
}

static const struct mux_callbacks fz_cb = {
	NULL, cb_open, NULL, cb_data, NULL, cb_closed, NULL, NULL,
};

/* The memory bounds that must hold whatever the peer does. */
static void
fz_check(struct fz *f)
{
	struct mux		*m = f->m;
	struct mux_stream	*s;
	uint32_t		 i;
	size_t			 count = 0;

	if (m->rxf.used > m->rxf.window || m->rxf.pending > m->rxf.used)
		abort();
	if (m->answers > MUX_ANSWERS_MAX + 1)
		abort();
	for (i = 0; i < m->nbuckets; i++) {
		for (s = m->buckets[i]; s != NULL; s = s->hnext) {
			count++;
			if (s->tx != NULL &&
			    evbuffer_get_length(s->tx) > m->set.stream_window)
				abort();
			if (s->rxf.used > s->rxf.window)
				abort();
		}
	}
	if (count != m->count || m->nremote > m->set.max_streams)
		abort();
}

static void
fz_frame(struct fz *f)
{
	static const uint8_t	types[] = { FRAME_HELLO, FRAME_REGISTER,
	    FRAME_REGISTER_OK, FRAME_REGISTER_ERR, FRAME_UNREGISTER,
	    FRAME_STREAM_OPEN, FRAME_STREAM_ACCEPT, FRAME_STREAM_REFUSE,
	    FRAME_FIN, FRAME_RESET, FRAME_WINDOW, FRAME_PING, FRAME_PONG,
	    FRAME_GOAWAY };
	struct frame_ctl	c;
	uint8_t			buf[FRAME_HDR_LEN + FRAME_CTL_MAX];
	size_t			n;

	memset(&c, 0, sizeof(c));
	c.type = types[fz_byte(f) % sizeof(types)];
	c.sid = fz_byte(f);
	if (c.sid == 255)
		c.sid = fz_u32(f);
	c.code = fz_byte(f) % 24;
	c.increment = fz_u32(f);
	c.last_sid = fz_byte(f);
	c.opaque = fz_byte(f);
	c.family = (uint8_t)(fz_byte(f) % 3 * 2);
	if (c.family == 2)
		c.family = 4;
	c.port = (uint16_t)fz_u16(f);
	c.version = FRAME_VERSION + (fz_byte(f) == 7);
	c.stream_window = 1 + fz_u32(f) % FRAME_WINDOW_MAX;
	c.tunnel_window = 1 + fz_u32(f) % FRAME_WINDOW_MAX;
	c.max_frame = FRAME_MIN_FRAME + fz_u16(f) * 16;
	c.max_streams = fz_u16(f);
	c.name_len = 1 + fz_byte(f) % 8;
	memset(c.name, 'n', c.name_len);
	c.text_len = fz_byte(f) % 16;
	memset(c.text, 't', c.text_len);
	if (frame_ctl_frame(&c, buf, sizeof(buf), &n) == 0)
		evbuffer_add(f->in, buf, n);
	mux_input(f->m, f->in);
}

static void
fz_data(struct fz *f)
{
	uint8_t		hdr[FRAME_HDR_LEN];
	uint32_t	sid = fz_byte(f), len = fz_u16(f);
	static uint8_t	zeros[40000];

	if (sid == 255)
		sid = fz_u32(f);
	/* Past any max_frame we use: the header alone must be refused. */
	if (len > sizeof(zeros))
		len = fz_byte(f) == 0 ? 0xffffffffU : len;
	frame_hdr_encode(hdr, sid, len);
	evbuffer_add(f->in, hdr, sizeof(hdr));
	if (len <= sizeof(zeros))
		evbuffer_add(f->in, zeros, len);
	mux_input(f->m, f->in);
}

static uint32_t
fz_pick(struct fz *f)
{
	uint32_t	b = fz_byte(f);

	if (f->n > 0 && b < 200)
		return f->sids[b % (uint32_t)f->n];
	return b;		/* sometimes a stream that is not there */
}

static void
fz_op(struct fz *f)
{
	struct mux_ctl	ctl;
	uint32_t	op = fz_byte(f), sid, n;
	size_t		moved;
	int		i;

	switch (op % 16) {
	case 0:				/* raw bytes, any fragmentation */
		n = fz_byte(f);
		if (n > f->left)
			n = (uint32_t)f->left;
		evbuffer_add(f->in, f->p, n);
		f->p += n;
		f->left -= n;
		mux_input(f->m, f->in);
		break;
	case 1:
		fz_frame(f);
		break;
	case 2:
		fz_data(f);
		break;
	case 3:
		if (mux_stream_open(f->m, "svc", NULL, f, &sid) == 0)
			fz_add(f, sid);
		break;
	case 4:
		mux_stream_accept(f->m, fz_pick(f), f);
		break;
	case 5:
		sid = fz_pick(f);
		n = fz_u16(f) * 4;
		while (evbuffer_get_length(f->src) < n)
			evbuffer_add(f->src, "0123456789abcdef", 16);
		mux_stream_write(f->m, sid, f->src, &moved);
		evbuffer_drain(f->src, evbuffer_get_length(f->src));
		break;
	case 6:
		mux_stream_shutdown(f->m, fz_pick(f));
		break;
	case 7:
		sid = fz_pick(f);
		if (mux_stream_reset(f->m, sid, fz_byte(f) % 24) == 0)
			fz_del(f, sid);	/* own reset: no stream_closed */
		break;
	case 8:
		sid = fz_pick(f);
		if ((i = fz_slot(f, sid)) >= 0) {
			n = fz_u16(f);
			if (n > f->held[i])
				n = (uint32_t)f->held[i];
			if (mux_stream_consumed(f->m, sid, n) == 0)
				f->held[i] -= n;
		} else
			mux_stream_consumed(f->m, sid, fz_byte(f));
		break;
	case 9:
		mux_output(f->m, f->out, 1 + fz_u16(f) * 16);
		evbuffer_drain(f->out, evbuffer_get_length(f->out));
		break;
	case 10:
		mux_ping(f->m, fz_byte(f));
		break;
	case 11:
		mux_goaway(f->m, fz_byte(f) % 24, "fz");
		break;
	case 12:
		mux_tick(f->m);
		break;
	case 13:
		mux_stream_redeliver(f->m, fz_pick(f));
		break;
	case 14:
		memset(&ctl, 0, sizeof(ctl));
		ctl.type = (enum mux_ctl_type)(fz_byte(f) % 7);
		ctl.name = "svc";
		ctl.text = "text";
		ctl.port = (uint16_t)fz_u16(f);
		mux_send_ctl(f->m, &ctl);
		break;
	case 15:
		mux_stream_set_arg(f->m, fz_pick(f), f);
		(void)mux_stream_send_space(f->m, fz_pick(f));
		break;
	}
}

/*
 * Pair mode: two honest muxes (relay and agent) wired to each other, driven
 * by fuzzed application calls and fragmentation.  Honest peers must never
 * see a protocol, flow or frame-size error, and every byte arrives intact:
 * byte k of stream sid in direction d is (sid * 7 + d * 13 + k) & 0xff.
 */
struct pz_stream {
	uint32_t	 sid;
	uint64_t	 wrote[2];	/* by side i */
	uint64_t	 got[2];	/* received by side i */
	size_t		 held[2];	/* received by side i, not consumed */
	int		 fin[2];
};

struct pz;
struct pz_side {
	struct pz	*z;
	int		 i;
};

struct pz {
	struct pz_side	 side[2];
	struct mux	*m[2];
	struct evbuffer	*wire[2];
	struct evbuffer	*tmp;
	struct fz	 in;		/* cursor only */
	struct pz_stream st[16];
	int		 n;
};

static struct pz_stream *
pz_find(struct pz *z, uint32_t sid)
{
	int	k;

	for (k = 0; k < z->n; k++)
		if (z->st[k].sid == sid)
			return &z->st[k];
	return NULL;
}

static uint8_t
pz_byte(uint32_t sid, int dir, uint64_t k)
{
	return (uint8_t)(sid * 7 + (uint32_t)dir * 13 + k);
}

static void
pz_open(struct mux *m, uint32_t sid, const char *service,
    const struct mux_peer *client, void *arg)
{
	struct pz_side	*ps = arg;

	(void)service;
	(void)client;
	if (pz_find(ps->z, sid) == NULL) {
		mux_stream_reset(m, sid, MUX_CODE_CANCEL);
		return;
	}
	mux_stream_accept(m, sid, ps);
}

static void
pz_data(struct mux *m, uint32_t sid, struct evbuffer *data, void *sarg)
{
	struct pz_side		*ps = sarg;
	struct pz_stream	*st = pz_find(ps->z, sid);
	uint8_t			 b[4096];
	size_t			 n, k;

	(void)m;
	if (st == NULL)
		abort();
	while ((n = evbuffer_remove(data, b, sizeof(b))) > 0 &&
	    n != (size_t)-1) {
		for (k = 0; k < n; k++)
			if (b[k] != pz_byte(sid, !ps->i, st->got[ps->i] + k))
				abort();	/* corrupted or reordered */
		st->got[ps->i] += n;
		st->held[ps->i] += n;
	}
}

static void
pz_closed(struct mux *m, uint32_t sid, uint32_t code, const char *text,
    void *sarg)
{
	struct pz_side		*ps = sarg;
	struct pz_stream	*st;

	(void)m;
	(void)text;
	if (code == MUX_CODE_PROTOCOL || code == MUX_CODE_FLOW ||
	    code == MUX_CODE_FRAME_SIZE)
		abort();		/* honest peers disagree: a bug */
	if (ps == NULL || (st = pz_find(ps->z, sid)) == NULL)
		return;
	/* A clean close means every byte written arrived. */
	if (code == MUX_CODE_NONE && st->got[ps->i] != st->wrote[!ps->i])
		abort();
	st->held[ps->i] = 0;
}

static const struct mux_callbacks pz_cb = {
	NULL, pz_open, NULL, pz_data, NULL, pz_closed, NULL, NULL,
};

static void
pz_write(struct pz *z, int i, struct pz_stream *st, size_t n)
{
	uint8_t	b[4096];
	size_t	k, moved = 0, space;

	space = mux_stream_send_space(z->m[i], st->sid);
	if (n > space)
		n = space;
	if (n > sizeof(b))
		n = sizeof(b);
	for (k = 0; k < n; k++)
		b[k] = pz_byte(st->sid, i, st->wrote[i] + k);
	evbuffer_drain(z->tmp, evbuffer_get_length(z->tmp));
	evbuffer_add(z->tmp, b, n);
	if (mux_stream_write(z->m[i], st->sid, z->tmp, &moved) == 0)
		st->wrote[i] += moved;
}

static void
pz_pump(struct pz *z, int i, size_t maxout, size_t cut)
{
	int	r;

	mux_output(z->m[i], z->tmp, maxout);
	evbuffer_add_buffer(z->wire[i], z->tmp);
	if (cut > evbuffer_get_length(z->wire[i]))
		cut = evbuffer_get_length(z->wire[i]);
	evbuffer_drain(z->tmp, evbuffer_get_length(z->tmp));
	evbuffer_remove_buffer(z->wire[i], z->tmp, cut);
	r = mux_input(z->m[!i], z->tmp);
	/* Partial frame left in tmp: put it back in front of the wire. */
	evbuffer_prepend_buffer(z->wire[i], z->tmp);
	if (r == MUX_EPROTO || r == MUX_EFLOW || r == MUX_EFRAMESIZE ||
	    r == MUX_EVERSION)
		abort();
}

static void
pz_op(struct pz *z)
{
	struct fz		*f = &z->in;
	uint32_t		 op = fz_byte(f), sid;
	int			 i = (int)(op >> 7);
	struct pz_stream	*st = z->n > 0 ?
	    &z->st[fz_byte(f) % (uint32_t)z->n] : NULL;
	size_t			 n;

	switch (op % 10) {
	case 0:
		if (z->n < 16 && mux_stream_open(z->m[i], "svc", NULL,
		    &z->side[i], &sid) == 0) {
			memset(&z->st[z->n], 0, sizeof(z->st[0]));
			z->st[z->n++].sid = sid;
		}
		break;
	case 1:
		if (st != NULL && !st->fin[i])
			pz_write(z, i, st, fz_u16(f));
		break;
	case 2:
	case 3:
		pz_pump(z, i, 1 + fz_u16(f) * 4, fz_u16(f) * 4);
		break;
	case 4:
		if (st != NULL && st->held[i] > 0) {
			n = 1 + fz_u16(f) % st->held[i];
			if (mux_stream_consumed(z->m[i], st->sid, n) == 0)
				st->held[i] -= n;
		}
		break;
	case 5:
		if (st != NULL && mux_stream_shutdown(z->m[i], st->sid) == 0)
			st->fin[i] = 1;
		break;
	case 6:
		if (st != NULL && fz_byte(f) < 16)
			mux_stream_reset(z->m[i], st->sid, MUX_CODE_CANCEL);
		break;
	case 7:
		mux_ping(z->m[i], op);
		break;
	case 8:
		mux_tick(z->m[i]);
		break;
	case 9:
		if (fz_byte(f) == 0)
			mux_goaway(z->m[i], MUX_CODE_SHUTDOWN, "bye");
		break;
	}
}

/*
 * Liveness: the applications consume everything and shut every stream
 * down; then all streams must close and every window be whole again, up to
 * the credit-return remainder (a credit leak would deadlock a real tunnel).
 */
static void
pz_drain(struct pz *z)
{
	struct pz_stream	*st;
	int			 i, k, round;

	for (i = 0; i < 2; i++) {
		/* Honest peers only ever die of a flood an odd app caused. */
		if (z->m[i]->dead && z->m[i]->err != MUX_EFLOOD &&
		    z->m[i]->err != MUX_EGOAWAY)
			abort();
		if (z->m[i]->dead)
			return;
	}
	for (round = 0; round < 10000; round++) {
		for (k = 0; k < z->n; k++) {
			st = &z->st[k];
			for (i = 0; i < 2; i++) {
				if (st->held[i] > 0 && mux_stream_consumed(
				    z->m[i], st->sid, st->held[i]) == 0)
					st->held[i] = 0;
				if (!st->fin[i] && mux_stream_shutdown(z->m[i],
				    st->sid) == 0)
					st->fin[i] = 1;
			}
		}
		pz_pump(z, 0, SIZE_MAX, SIZE_MAX);
		pz_pump(z, 1, SIZE_MAX, SIZE_MAX);
		if (mux_nstreams(z->m[0]) == 0 && mux_nstreams(z->m[1]) == 0 &&
		    !mux_has_output(z->m[0]) && !mux_has_output(z->m[1]))
			break;
		if (z->m[0]->dead || z->m[1]->dead)
			return;
	}
	if (mux_nstreams(z->m[0]) != 0 || mux_nstreams(z->m[1]) != 0)
		abort();		/* stuck: a window leaked */
	for (i = 0; i < 2; i++) {
		if ((uint64_t)z->m[i]->send_credit + z->m[!i]->rxf.used !=
		    z->m[!i]->rxf.window ||
		    z->m[!i]->rxf.used != z->m[!i]->rxf.pending)
			abort();
	}
}

static void
pz_run(const uint8_t *data, size_t size)
{
	struct pz		 z;
	struct mux_settings	 s;
	int			 i, steps = 0;

	memset(&z, 0, sizeof(z));
	z.in.p = data;
	z.in.left = size;
	z.tmp = evbuffer_new();
	for (i = 0; i < 2; i++) {
		mux_settings_default(&s);
		s.stream_window = 1024 + fz_u16(&z.in) * 4;
		s.tunnel_window = s.stream_window + fz_u16(&z.in) * 16;
		s.max_frame = 1024 + fz_u16(&z.in) % 16384;
		z.side[i].z = &z;
		z.side[i].i = i;
		z.m[i] = mux_new(i ? MUX_ROLE_AGENT : MUX_ROLE_RELAY, &s,
		    &pz_cb, &z.side[i]);
		z.wire[i] = evbuffer_new();
		if (z.m[i] == NULL || z.wire[i] == NULL || z.tmp == NULL)
			abort();
	}
	pz_pump(&z, 0, SIZE_MAX, SIZE_MAX);
	pz_pump(&z, 1, SIZE_MAX, SIZE_MAX);
	while (z.in.left > 0 && steps++ < 4096)
		pz_op(&z);
	pz_drain(&z);
	for (i = 0; i < 2; i++) {
		mux_free(z.m[i]);
		evbuffer_free(z.wire[i]);
	}
	evbuffer_free(z.tmp);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz		f;
	struct mux_settings	s;
	struct frame_ctl	c;
	uint8_t			buf[FRAME_HDR_LEN + FRAME_CTL_MAX];
	size_t			n;
	uint32_t		cfg;
	int			steps = 0;

	log_set_level(LOG_LEVEL_ERROR);
	if (size > 0 && data[0] == 0xff) {
		pz_run(data + 1, size - 1);
		return 0;
	}
	memset(&f, 0, sizeof(f));
	f.p = data;
	f.left = size;
	cfg = fz_byte(&f);
	f.auto_accept = (cfg & 4) != 0;
	f.take_half = (cfg & 8) != 0;
	mux_settings_default(&s);
	if (cfg & 16) {
		s.stream_window = 4096;
		s.tunnel_window = 16384;
		s.max_frame = 1024;
		s.max_streams = 8;
	}
	f.m = mux_new(cfg & 1 ? MUX_ROLE_AGENT : MUX_ROLE_RELAY, &s, &fz_cb,
	    &f);
	f.in = evbuffer_new();
	f.out = evbuffer_new();
	f.src = evbuffer_new();
	if (f.m == NULL || f.in == NULL || f.out == NULL || f.src == NULL)
		abort();
	if (cfg & 32)
		mux_set_alloc_fail(f.m, fz_byte(&f));
	if (cfg & 2) {			/* a valid HELLO saves the fuzzer work */
		memset(&c, 0, sizeof(c));
		c.type = FRAME_HELLO;
		c.version = FRAME_VERSION;
		c.stream_window = cfg & 64 ? 2048 : 65536;
		c.tunnel_window = cfg & 64 ? 4096 : 1 << 20;
		c.max_frame = 1024;
		c.max_streams = 16;
		if (frame_ctl_frame(&c, buf, sizeof(buf), &n) == 0)
			evbuffer_add(f.in, buf, n);
		mux_input(f.m, f.in);
	}
	while (f.left > 0 && steps++ < 4096) {
		fz_op(&f);
		fz_check(&f);
	}
	mux_output(f.m, f.out, SIZE_MAX);
	mux_free(f.m);
	if (f.n != 0)		/* mux_free closed every stream it knew */
		abort();
	evbuffer_free(f.in);
	evbuffer_free(f.out);
	evbuffer_free(f.src);
	return 0;
}
