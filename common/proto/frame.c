/*
 * frame.c — see frame.h.  A tiny cursor (struct frame_rd / frame_wr) does all
 * bounds checking: every read and write first compares the size wanted with
 * the bytes remaining (cap - pos, which cannot underflow since pos <= cap is
 * an invariant), so no untrusted length is ever added to a pointer unchecked.
 */
#include "frame.h"

#include <string.h>

struct frame_rd {
	const uint8_t	*p;
	size_t		 len;
	size_t		 pos;
	int		 err;	/* first error, sticky */
};

struct frame_wr {
	uint8_t		*p;
	size_t		 cap;
	size_t		 pos;
	int		 err;
};

/* The layout of each message, as a list of field kinds. */
enum frame_field {
	F_END, F_SID, F_U16PORT, F_CODE, F_FLAGS, F_INCR, F_LAST, F_OPAQUE,
	F_PEER, F_NAME, F_NAME0, F_TEXT, F_HELLO, F_TOKEN,
};

struct frame_layout {
	uint8_t		 type;
	const char	*name;
	enum frame_field fields[5];
};

/* Dispatch table: type -> fields in wire order (PROTOCOL.md section 2). */
static const struct frame_layout frame_layouts[] = {
	{ FRAME_HELLO, "HELLO", { F_HELLO, F_NAME0, F_END } },
	{ FRAME_REGISTER, "REGISTER", { F_FLAGS, F_U16PORT, F_NAME, F_END } },
	{ FRAME_REGISTER_OK, "REGISTER_OK", { F_U16PORT, F_NAME, F_END } },
	{ FRAME_REGISTER_ERR, "REGISTER_ERR",
	    { F_CODE, F_NAME, F_TEXT, F_END } },
	{ FRAME_UNREGISTER, "UNREGISTER", { F_NAME, F_END } },
	{ FRAME_AUTH, "AUTH", { F_TOKEN, F_END } },
	{ FRAME_STREAM_OPEN, "STREAM_OPEN",
	    { F_SID, F_PEER, F_U16PORT, F_NAME, F_END } },
	{ FRAME_STREAM_ACCEPT, "STREAM_ACCEPT", { F_SID, F_END } },
	{ FRAME_STREAM_REFUSE, "STREAM_REFUSE",
	    { F_SID, F_CODE, F_TEXT, F_END } },
	{ FRAME_FIN, "FIN", { F_SID, F_END } },
	{ FRAME_RESET, "RESET", { F_SID, F_CODE, F_END } },
	{ FRAME_WINDOW, "WINDOW_UPDATE", { F_SID, F_INCR, F_END } },
	{ FRAME_PING, "PING", { F_OPAQUE, F_END } },
	{ FRAME_PONG, "PONG", { F_OPAQUE, F_END } },
	{ FRAME_GOAWAY, "GOAWAY", { F_LAST, F_CODE, F_TEXT, F_END } },
};

static const struct frame_layout *
frame_layout(uint8_t type)
{
	size_t	i;

	for (i = 0; i < sizeof(frame_layouts) / sizeof(frame_layouts[0]); i++)
		if (frame_layouts[i].type == type)
			return &frame_layouts[i];
	return NULL;
}

const char *
frame_type_name(uint8_t type)
{
	const struct frame_layout *l = frame_layout(type);

	return l != NULL ? l->name : "unknown";
}

const char *
frame_strerror(int err)
{
	switch (err) {
	case 0:
		return "success";
	case FRAME_ESHORT:
		return "control message truncated";
	case FRAME_ETRAIL:
		return "trailing bytes after control message";
	case FRAME_ETYPE:
		return "unknown control message type";
	case FRAME_EVALUE:
		return "invalid field in control message";
	case FRAME_EVERSION:
		return "protocol version not supported";
	case FRAME_ENOSPACE:
		return "buffer too small";
	case FRAME_EEMPTY:
		return "empty control message";
	}
	return "unknown frame error";
}

void
frame_hdr_encode(uint8_t out[FRAME_HDR_LEN], uint32_t sid, uint32_t len)
{
	out[0] = sid >> 24;
	out[1] = sid >> 16;
	out[2] = sid >> 8;
	out[3] = sid;
	out[4] = len >> 24;
	out[5] = len >> 16;
	out[6] = len >> 8;
	out[7] = len;
}

static uint32_t
frame_get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

void
frame_hdr_decode(const uint8_t in[FRAME_HDR_LEN], struct frame_hdr *h)
{
	h->sid = frame_get32(in);
	h->len = frame_get32(in + 4);
}

/* Reader: n bytes at the cursor, or NULL with err set. */
static const uint8_t *
frame_rd_take(struct frame_rd *r, size_t n)
{
	const uint8_t	*p;

	if (r->err != 0)
		return NULL;
	if (n > r->len - r->pos) {
		r->err = FRAME_ESHORT;
		return NULL;
	}
	p = r->p + r->pos;
	r->pos += n;
	return p;
}

static uint64_t
frame_rd_uint(struct frame_rd *r, size_t n)
{
	const uint8_t	*p = frame_rd_take(r, n);
	uint64_t	 v = 0;
	size_t		 i;

	if (p == NULL)
		return 0;
	for (i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

/* A string of lenbytes-byte length, at most max, copied NUL-terminated. */
static size_t
frame_rd_str(struct frame_rd *r, size_t lenbytes, size_t min, size_t max,
    char *dst)
{
	const uint8_t	*p;
	size_t		 n;

	n = (size_t)frame_rd_uint(r, lenbytes);
	if (r->err != 0)
		return 0;
	if (n < min || n > max) {
		r->err = FRAME_EVALUE;
		return 0;
	}
	if ((p = frame_rd_take(r, n)) == NULL)
		return 0;
	if (memchr(p, '\0', n) != NULL) {
		r->err = FRAME_EVALUE;
		return 0;
	}
	memcpy(dst, p, n);
	dst[n] = '\0';
	return n;
}

/* A token: JWT characters only (base64url and the dots between parts), so
 * nothing that could confuse a log line or a parser can travel in it. */
static int
frame_token_ok(const char *p, size_t n)
{
	size_t	i;
	char	ch;

	for (i = 0; i < n; i++) {
		ch = p[i];
		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		    (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' ||
		    ch == '.'))
			return 0;
	}
	return 1;
}

static void
frame_rd_token(struct frame_rd *r, struct frame_ctl *c)
{
	const uint8_t	*p;
	size_t		 n;

	n = (size_t)frame_rd_uint(r, 2);
	if (r->err == 0 && (n == 0 || n > FRAME_TOKEN_MAX))
		r->err = FRAME_EVALUE;
	if ((p = frame_rd_take(r, n)) == NULL)
		return;
	if (!frame_token_ok((const char *)p, n)) {
		r->err = FRAME_EVALUE;
		return;
	}
	c->token = (const char *)p;
	c->token_len = n;
}

static void
frame_rd_hello(struct frame_rd *r, struct frame_ctl *c)
{
	if (frame_rd_uint(r, 4) != FRAME_MAGIC) {
		if (r->err == 0)
			r->err = FRAME_EVALUE;
		return;
	}
	c->version = (uint16_t)frame_rd_uint(r, 2);
	if (r->err == 0 && c->version != FRAME_VERSION) {
		r->err = FRAME_EVERSION;
		return;
	}
	c->hflags = (uint16_t)frame_rd_uint(r, 2);
	c->stream_window = (uint32_t)frame_rd_uint(r, 4);
	c->tunnel_window = (uint32_t)frame_rd_uint(r, 4);
	c->max_frame = (uint32_t)frame_rd_uint(r, 4);
	c->max_streams = (uint32_t)frame_rd_uint(r, 4);
	if (r->err != 0)
		return;
	if ((c->hflags & ~FRAME_HELLO_KNOWN) != 0 ||
	    c->stream_window == 0 || c->stream_window > FRAME_WINDOW_MAX ||
	    c->tunnel_window == 0 || c->tunnel_window > FRAME_WINDOW_MAX ||
	    c->max_frame < FRAME_MIN_FRAME || c->max_frame > FRAME_MAX_FRAME ||
	    c->max_streams > FRAME_SID_MAX)
		r->err = FRAME_EVALUE;
}

static void
frame_rd_field(struct frame_rd *r, enum frame_field f, struct frame_ctl *c)
{
	const uint8_t	*p;

	switch (f) {
	case F_END:
		break;
	case F_SID:
		c->sid = (uint32_t)frame_rd_uint(r, 4);
		break;
	case F_U16PORT:
		c->port = (uint16_t)frame_rd_uint(r, 2);
		break;
	case F_CODE:
		c->code = (uint32_t)frame_rd_uint(r, 4);
		break;
	case F_FLAGS:
		c->flags = (uint32_t)frame_rd_uint(r, 4);
		break;
	case F_INCR:
		c->increment = (uint32_t)frame_rd_uint(r, 4);
		break;
	case F_LAST:
		c->last_sid = (uint32_t)frame_rd_uint(r, 4);
		break;
	case F_OPAQUE:
		c->opaque = frame_rd_uint(r, 8);
		break;
	case F_PEER:
		c->family = (uint8_t)frame_rd_uint(r, 1);
		if ((p = frame_rd_take(r, 16)) != NULL)
			memcpy(c->addr, p, 16);
		if (r->err == 0 && c->family != 0 && c->family != 4 &&
		    c->family != 6)
			r->err = FRAME_EVALUE;
		break;
	case F_NAME:
		c->name_len = frame_rd_str(r, 1, 1, FRAME_NAME_MAX, c->name);
		break;
	case F_NAME0:
		c->name_len = frame_rd_str(r, 1, 0, FRAME_NAME_MAX, c->name);
		break;
	case F_TEXT:
		c->text_len = frame_rd_str(r, 2, 0, FRAME_TEXT_MAX, c->text);
		break;
	case F_HELLO:
		frame_rd_hello(r, c);
		break;
	case F_TOKEN:
		frame_rd_token(r, c);
		break;
	}
}

int
frame_ctl_decode(const uint8_t *buf, size_t len, struct frame_ctl *c)
{
	struct frame_rd			 r = { buf, len, 0, 0 };
	const struct frame_layout	*l;
	size_t				 i;
	int				 ret = 0;

	memset(c, 0, sizeof(*c));
	if (len == 0) {
		ret = FRAME_EEMPTY;
		goto out;
	}
	c->type = buf[0];
	r.pos = 1;
	if ((l = frame_layout(c->type)) == NULL) {
		ret = FRAME_ETYPE;
		goto out;
	}
	for (i = 0; l->fields[i] != F_END && r.err == 0; i++)
		frame_rd_field(&r, l->fields[i], c);
	if (r.err != 0)
		ret = r.err;
	else if (r.pos != r.len)
		ret = FRAME_ETRAIL;
out:
	return ret;
}

static void
frame_wr_uint(struct frame_wr *w, uint64_t v, size_t n)
{
	size_t	i;

	if (w->err != 0)
		return;
	if (n > w->cap - w->pos) {
		w->err = FRAME_ENOSPACE;
		return;
	}
	for (i = 0; i < n; i++)
		w->p[w->pos + i] = (uint8_t)(v >> (8 * (n - 1 - i)));
	w->pos += n;
}

static void
frame_wr_bytes(struct frame_wr *w, const void *src, size_t n)
{
	if (w->err != 0)
		return;
	if (n > w->cap - w->pos) {
		w->err = FRAME_ENOSPACE;
		return;
	}
	if (n > 0)
		memcpy(w->p + w->pos, src, n);
	w->pos += n;
}

static void
frame_wr_str(struct frame_wr *w, size_t lenbytes, size_t min, size_t max,
    const char *s, size_t n)
{
	if (w->err != 0)
		return;
	if (n < min || n > max || (n > 0 && memchr(s, '\0', n) != NULL)) {
		w->err = FRAME_EVALUE;
		return;
	}
	frame_wr_uint(w, n, lenbytes);
	frame_wr_bytes(w, s, n);
}

static void
frame_wr_field(struct frame_wr *w, enum frame_field f,
    const struct frame_ctl *c)
{
	switch (f) {
	case F_END:
		break;
	case F_SID:
		frame_wr_uint(w, c->sid, 4);
		break;
	case F_U16PORT:
		frame_wr_uint(w, c->port, 2);
		break;
	case F_CODE:
		frame_wr_uint(w, c->code, 4);
		break;
	case F_FLAGS:
		frame_wr_uint(w, c->flags, 4);
		break;
	case F_INCR:
		frame_wr_uint(w, c->increment, 4);
		break;
	case F_LAST:
		frame_wr_uint(w, c->last_sid, 4);
		break;
	case F_OPAQUE:
		frame_wr_uint(w, c->opaque, 8);
		break;
	case F_PEER:
		frame_wr_uint(w, c->family, 1);
		frame_wr_bytes(w, c->addr, 16);
		break;
	case F_NAME:
		frame_wr_str(w, 1, 1, FRAME_NAME_MAX, c->name, c->name_len);
		break;
	case F_NAME0:
		frame_wr_str(w, 1, 0, FRAME_NAME_MAX, c->name, c->name_len);
		break;
	case F_TEXT:
		frame_wr_str(w, 2, 0, FRAME_TEXT_MAX, c->text, c->text_len);
		break;
	case F_HELLO:
		frame_wr_uint(w, FRAME_MAGIC, 4);
		frame_wr_uint(w, c->version, 2);
		frame_wr_uint(w, c->hflags, 2);
		frame_wr_uint(w, c->stream_window, 4);
		frame_wr_uint(w, c->tunnel_window, 4);
		frame_wr_uint(w, c->max_frame, 4);
		frame_wr_uint(w, c->max_streams, 4);
		break;
	case F_TOKEN:
		if (c->token == NULL || c->token_len == 0 ||
		    c->token_len > FRAME_TOKEN_MAX ||
		    !frame_token_ok(c->token, c->token_len)) {
			if (w->err == 0)
				w->err = FRAME_EVALUE;
			break;
		}
		frame_wr_uint(w, c->token_len, 2);
		frame_wr_bytes(w, c->token, c->token_len);
		break;
	}
}

int
frame_ctl_encode(const struct frame_ctl *c, uint8_t *buf, size_t cap,
    size_t *outlen)
{
	struct frame_wr			 w = { buf, cap, 0, 0 };
	const struct frame_layout	*l;
	size_t				 i;
	int				 ret = 0;

	*outlen = 0;
	if ((l = frame_layout(c->type)) == NULL) {
		ret = FRAME_ETYPE;
		goto out;
	}
	frame_wr_uint(&w, c->type, 1);
	for (i = 0; l->fields[i] != F_END && w.err == 0; i++)
		frame_wr_field(&w, l->fields[i], c);
	if (w.err == 0 && w.pos > FRAME_CTL_MAX)
		w.err = FRAME_EVALUE;
	if ((ret = w.err) == 0)
		*outlen = w.pos;
out:
	return ret;
}

int
frame_ctl_frame(const struct frame_ctl *c, uint8_t *buf, size_t cap,
    size_t *outlen)
{
	size_t	n = 0;
	int	ret;

	*outlen = 0;
	if (cap < FRAME_HDR_LEN) {
		ret = FRAME_ENOSPACE;
		goto out;
	}
	if ((ret = frame_ctl_encode(c, buf + FRAME_HDR_LEN,
	    cap - FRAME_HDR_LEN, &n)) != 0)
		goto out;
	frame_hdr_encode(buf, 0, (uint32_t)n);
	*outlen = FRAME_HDR_LEN + n;
out:
	return ret;
}
