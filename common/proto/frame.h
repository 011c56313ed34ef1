/*
 * frame.h — the tunnel's wire codec (docs/PROTOCOL.md sections 1 and 2).
 *
 * Pure functions over (uint8_t *, size_t): no allocation, no I/O, no globals.
 * The decoder checks every length against the bytes that remain before
 * reading, never adds untrusted values to offsets, and rejects truncated
 * messages, trailing bytes, over-long strings and strings holding NUL.
 * Decoded strings are copied NUL-terminated into the struct; they are
 * peer-controlled and must be sanitised (log_sanitize) before logging.
 */
#ifndef ATLAX_FRAME_H
#define ATLAX_FRAME_H

#include <stddef.h>
#include <stdint.h>

#define FRAME_HDR_LEN	8		/* stream ID u32 + length u32 */
/* A token in AUTH (a JWT: base64url parts and dots), at most this long. */
#define FRAME_TOKEN_MAX	8192
/* Largest control payload: an AUTH carrying the longest token (type byte,
 * 2-byte length, token).  Every other message is far shorter. */
#define FRAME_CTL_MAX	(3 + FRAME_TOKEN_MAX)
#define FRAME_NAME_MAX	64		/* service names, identity */
#define FRAME_TEXT_MAX	512		/* reason texts */
#define FRAME_MAGIC	0x41544c58U	/* "ATLX" */
#define FRAME_VERSION	1
#define FRAME_SID_MAX	0x7fffffffU	/* highest stream ID */
#define FRAME_WINDOW_MAX 0x7fffffffU	/* 2^31-1 */
#define FRAME_MIN_FRAME	1024U		/* smallest max_frame allowed */
#define FRAME_MAX_FRAME	(16U * 1024 * 1024) /* largest max_frame allowed */
/* HELLO flags. */
#define FRAME_HELLO_AUTH 0x0001U	/* agent: an AUTH follows the HELLO */
#define FRAME_HELLO_KNOWN FRAME_HELLO_AUTH

/* Control message types (byte 0 of a stream-0 payload). */
enum frame_type {
	FRAME_HELLO = 0x01,
	FRAME_REGISTER = 0x02,
	FRAME_REGISTER_OK = 0x03,
	FRAME_REGISTER_ERR = 0x04,
	FRAME_UNREGISTER = 0x05,
	FRAME_AUTH = 0x06,
	FRAME_STREAM_OPEN = 0x10,
	FRAME_STREAM_ACCEPT = 0x11,
	FRAME_STREAM_REFUSE = 0x12,
	FRAME_FIN = 0x13,
	FRAME_RESET = 0x14,
	FRAME_WINDOW = 0x15,
	FRAME_PING = 0x20,
	FRAME_PONG = 0x21,
	FRAME_GOAWAY = 0x30,
};

/* Errors (negative). */
enum frame_err {
	FRAME_ESHORT = -1,	/* message truncated */
	FRAME_ETRAIL = -2,	/* bytes after the last field */
	FRAME_ETYPE = -3,	/* unknown control type */
	FRAME_EVALUE = -4,	/* bad field: string too long or with NUL,
				   bad family, bad magic, bad HELLO value */
	FRAME_EVERSION = -5,	/* HELLO of another version (c->version set) */
	FRAME_ENOSPACE = -6,	/* encode: buffer too small */
	FRAME_EEMPTY = -7,	/* empty control payload */
};

struct frame_hdr {
	uint32_t	sid;
	uint32_t	len;
};

/*
 * One decoded control message.  Which fields are meaningful depends on type
 * (see the table in PROTOCOL.md); the others are zero after decode.
 */
struct frame_ctl {
	uint8_t		type;
	uint32_t	sid;		/* stream messages; WINDOW: 0 = tunnel */
	uint16_t	version;	/* HELLO */
	uint16_t	hflags;		/* HELLO: FRAME_HELLO_* */
	uint32_t	stream_window;	/* HELLO */
	uint32_t	tunnel_window;	/* HELLO */
	uint32_t	max_frame;	/* HELLO */
	uint32_t	max_streams;	/* HELLO */
	uint32_t	flags;		/* REGISTER */
	uint16_t	port;		/* REGISTER, REGISTER_OK, STREAM_OPEN */
	uint32_t	code;		/* REGISTER_ERR, REFUSE, RESET, GOAWAY */
	uint32_t	increment;	/* WINDOW */
	uint32_t	last_sid;	/* GOAWAY */
	uint64_t	opaque;		/* PING, PONG */
	uint8_t		family;		/* STREAM_OPEN: 0, 4 or 6 */
	uint8_t		addr[16];	/* STREAM_OPEN */
	size_t		name_len;	/* identity / service */
	char		name[FRAME_NAME_MAX + 1];
	size_t		text_len;
	char		text[FRAME_TEXT_MAX + 1];
	/* AUTH: the token.  Decoding points into the buffer decoded (no
	 * copy, no terminator: it is valid as long as that buffer). */
	const char	*token;
	size_t		token_len;
};

void	frame_hdr_encode(uint8_t out[FRAME_HDR_LEN], uint32_t sid, uint32_t len);
void	frame_hdr_decode(const uint8_t in[FRAME_HDR_LEN], struct frame_hdr *h);

/*
 * Encode the payload of c into buf (capacity cap); *outlen gets its length.
 * Returns 0, FRAME_ENOSPACE, FRAME_ETYPE or FRAME_EVALUE (a string too long,
 * a name that must not be empty).  Never writes past cap.
 */
int	frame_ctl_encode(const struct frame_ctl *c, uint8_t *buf, size_t cap,
	    size_t *outlen);
/* Same, with the 8-byte stream-0 header in front: a complete frame. */
int	frame_ctl_frame(const struct frame_ctl *c, uint8_t *buf, size_t cap,
	    size_t *outlen);

/*
 * Decode a control payload of exactly len bytes into c (zeroed first).
 * Returns 0 or a FRAME_E* error.  For a HELLO with a valid magic but another
 * version, returns FRAME_EVERSION with c->version set and nothing else
 * parsed, so the caller can say which version it got.
 */
int	frame_ctl_decode(const uint8_t *buf, size_t len, struct frame_ctl *c);

const char *frame_type_name(uint8_t type);	/* "HELLO", ..., "unknown" */
const char *frame_strerror(int err);

#endif
