/*
 * fuzz_mux.c — libFuzzer target for the multiplexer (common/mux*.c).
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
	static uint8_t	zeros[65536];

	if (sid == 255)
		sid = fz_u32(f);
	frame_hdr_encode(hdr, sid, len);
	evbuffer_add(f->in, hdr, sizeof(hdr));
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
