/*
 * check_frame.c — the wire codec (common/proto/frame.c): exact bytes, round trips
 * of every control message, strict length checks, bounded strings.
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"

static const uint8_t frame_types[] = {
	FRAME_HELLO, FRAME_REGISTER, FRAME_REGISTER_OK, FRAME_REGISTER_ERR,
	FRAME_UNREGISTER, FRAME_STREAM_OPEN, FRAME_STREAM_ACCEPT,
	FRAME_STREAM_REFUSE, FRAME_FIN, FRAME_RESET, FRAME_WINDOW, FRAME_PING,
	FRAME_PONG, FRAME_GOAWAY,
};
#define NTYPES (sizeof(frame_types) / sizeof(frame_types[0]))

/* A message of the given type with every meaningful field set. */
static void
sample(struct frame_ctl *c, uint8_t type)
{
	memset(c, 0, sizeof(*c));
	c->type = type;
	switch (type) {
	case FRAME_HELLO:
		c->version = FRAME_VERSION;
		c->stream_window = 262144;
		c->tunnel_window = 16777216;
		c->max_frame = 32768;
		c->max_streams = 10000;
		strcpy(c->name, "home-nas");
		break;
	case FRAME_REGISTER:
		c->flags = 1;
		c->port = 10445;
		strcpy(c->name, "smb");
		break;
	case FRAME_REGISTER_OK:
		c->port = 10445;
		strcpy(c->name, "smb");
		break;
	case FRAME_REGISTER_ERR:
		c->code = 12;
		strcpy(c->name, "smb");
		strcpy(c->text, "port 10445 in use");
		break;
	case FRAME_UNREGISTER:
		strcpy(c->name, "web");
		break;
	case FRAME_STREAM_OPEN:
		c->sid = 7;
		c->family = 6;
		memset(c->addr, 0xab, 16);
		c->port = 51234;
		strcpy(c->name, "web");
		break;
	case FRAME_STREAM_ACCEPT:
	case FRAME_FIN:
		c->sid = 0x7fffffff;
		break;
	case FRAME_STREAM_REFUSE:
		c->sid = 9;
		c->code = 9;
		strcpy(c->text, "connection refused");
		break;
	case FRAME_RESET:
		c->sid = 11;
		c->code = 8;
		break;
	case FRAME_WINDOW:
		c->sid = 0;
		c->increment = 0x7fffffff;
		break;
	case FRAME_PING:
	case FRAME_PONG:
		c->opaque = 0x0102030405060708ULL;
		break;
	case FRAME_GOAWAY:
		c->last_sid = 41;
		c->code = 17;
		strcpy(c->text, "shutting down");
		break;
	}
	c->name_len = strlen(c->name);
	c->text_len = strlen(c->text);
}

START_TEST(test_header_bytes)
{
	uint8_t			b[FRAME_HDR_LEN];
	struct frame_hdr	h;
	const uint8_t		want[] = { 0x12, 0x34, 0x56, 0x78,
				    0xde, 0xad, 0xbe, 0xef };

	frame_hdr_encode(b, 0x12345678, 0xdeadbeef);
	ck_assert_mem_eq(b, want, 8);
	frame_hdr_decode(b, &h);
	ck_assert_uint_eq(h.sid, 0x12345678);
	ck_assert_uint_eq(h.len, 0xdeadbeef);
}
END_TEST

START_TEST(test_ping_bytes)
{
	struct frame_ctl	c;
	uint8_t			b[64];
	size_t			n;
	const uint8_t		want[] = { 0, 0, 0, 0, 0, 0, 0, 9, 0x20,
				    0, 0, 0, 0, 0, 0, 0, 7 };

	memset(&c, 0, sizeof(c));
	c.type = FRAME_PING;
	c.opaque = 7;
	ck_assert_int_eq(frame_ctl_frame(&c, b, sizeof(b), &n), 0);
	ck_assert_uint_eq(n, sizeof(want));
	ck_assert_mem_eq(b, want, n);
}
END_TEST

START_TEST(test_hello_bytes)
{
	struct frame_ctl	c;
	uint8_t			b[64];
	size_t			n;
	const uint8_t		want[] = { 0x01, 'A', 'T', 'L', 'X', 0, 1, 0, 0,
				    0, 4, 0, 0, 1, 0, 0, 0, 0, 0, 0x80, 0,
				    0, 0, 0x27, 0x10, 2, 'i', 'd' };

	sample(&c, FRAME_HELLO);
	strcpy(c.name, "id");
	c.name_len = 2;
	ck_assert_int_eq(frame_ctl_encode(&c, b, sizeof(b), &n), 0);
	ck_assert_uint_eq(n, sizeof(want));
	ck_assert_mem_eq(b, want, n);
}
END_TEST

START_TEST(test_roundtrip_all)
{
	struct frame_ctl	c, d;
	uint8_t			b[FRAME_CTL_MAX];
	size_t			n;

	sample(&c, frame_types[_i]);
	ck_assert_int_eq(frame_ctl_encode(&c, b, sizeof(b), &n), 0);
	ck_assert_int_eq(frame_ctl_decode(b, n, &d), 0);
	ck_assert_int_eq(memcmp(&c, &d, sizeof(c)), 0);
	ck_assert_str_ne(frame_type_name(c.type), "unknown");
}
END_TEST

/* Every strict prefix is truncated; one byte more is trailing garbage. */
START_TEST(test_truncated_and_trailing)
{
	struct frame_ctl	c, d;
	uint8_t			b[FRAME_CTL_MAX + 1];
	size_t			n, i;
	int			r;

	sample(&c, frame_types[_i]);
	ck_assert_int_eq(frame_ctl_encode(&c, b, sizeof(b), &n), 0);
	ck_assert_int_eq(frame_ctl_decode(b, 0, &d), FRAME_EEMPTY);
	for (i = 1; i < n; i++) {
		r = frame_ctl_decode(b, i, &d);
		ck_assert_msg(r == FRAME_ESHORT || r == FRAME_EVALUE,
		    "type %u len %zu: %d", c.type, i, r);
	}
	b[n] = 0;
	ck_assert_int_eq(frame_ctl_decode(b, n + 1, &d), FRAME_ETRAIL);
}
END_TEST

/* Encoding never writes past the capacity given. */
START_TEST(test_encode_nospace)
{
	struct frame_ctl	c;
	uint8_t			b[FRAME_CTL_MAX + 16];
	size_t			n, full, cap;

	sample(&c, frame_types[_i]);
	ck_assert_int_eq(frame_ctl_frame(&c, b, sizeof(b), &full), 0);
	for (cap = 0; cap < full; cap++) {
		memset(b, 0x5a, sizeof(b));
		ck_assert_int_eq(frame_ctl_frame(&c, b, cap, &n),
		    FRAME_ENOSPACE);
		ck_assert_uint_eq(n, 0);
		ck_assert_uint_eq(b[cap], 0x5a);
	}
}
END_TEST

START_TEST(test_unknown_type)
{
	struct frame_ctl	d;
	uint8_t			b[] = { 0x7e, 0, 0, 0, 1 };

	ck_assert_int_eq(frame_ctl_decode(b, sizeof(b), &d), FRAME_ETYPE);
	ck_assert_uint_eq(d.type, 0x7e);
	ck_assert_str_eq(frame_type_name(0x7e), "unknown");
	memset(&d, 0, sizeof(d));
	d.type = 0x7e;
	ck_assert_int_eq(frame_ctl_encode(&d, b, sizeof(b), &(size_t){0}),
	    FRAME_ETYPE);
}
END_TEST

START_TEST(test_strings)
{
	struct frame_ctl	c, d;
	uint8_t			b[FRAME_CTL_MAX];
	size_t			n;

	/* A NUL inside a name is refused on decode and encode. */
	ck_assert_int_eq(frame_ctl_decode((const uint8_t *)"\x05\x03" "a\0b",
	    5, &d), FRAME_EVALUE);
	sample(&c, FRAME_UNREGISTER);
	c.name_len = 3;
	memcpy(c.name, "a\0b", 3);
	ck_assert_int_eq(frame_ctl_encode(&c, b, sizeof(b), &n), FRAME_EVALUE);
	/* Empty service names are refused; an empty identity is fine. */
	ck_assert_int_eq(frame_ctl_decode((const uint8_t *)"\x05\x00", 2, &d),
	    FRAME_EVALUE);
	sample(&c, FRAME_HELLO);
	c.name_len = 0;
	c.name[0] = '\0';
	ck_assert_int_eq(frame_ctl_encode(&c, b, sizeof(b), &n), 0);
	ck_assert_int_eq(frame_ctl_decode(b, n, &d), 0);
	ck_assert_str_eq(d.name, "");
	/* Names of 64 bytes pass, 65 do not; texts 512 / 513. */
	sample(&c, FRAME_UNREGISTER);
	memset(c.name, 'x', FRAME_NAME_MAX);
	c.name_len = FRAME_NAME_MAX;
	ck_assert_int_eq(frame_ctl_encode(&c, b, sizeof(b), &n), 0);
	ck_assert_int_eq(frame_ctl_decode(b, n, &d), 0);
	ck_assert_uint_eq(d.name_len, FRAME_NAME_MAX);
	c.name_len = FRAME_NAME_MAX + 1;
	ck_assert_int_eq(frame_ctl_encode(&c, b, sizeof(b), &n), FRAME_EVALUE);
	b[1] = FRAME_NAME_MAX + 1;	/* length byte claims 65 */
	ck_assert_int_eq(frame_ctl_decode(b, 2 + FRAME_NAME_MAX + 1, &d),
	    FRAME_EVALUE);
	sample(&c, FRAME_GOAWAY);
	memset(c.text, 't', FRAME_TEXT_MAX);
	c.text_len = FRAME_TEXT_MAX;
	ck_assert_int_eq(frame_ctl_encode(&c, b, sizeof(b), &n), 0);
	ck_assert_int_eq(frame_ctl_decode(b, n, &d), 0);
	ck_assert_uint_eq(d.text_len, FRAME_TEXT_MAX);
	c.text_len = FRAME_TEXT_MAX + 1;
	ck_assert_int_eq(frame_ctl_encode(&c, b, sizeof(b), &n), FRAME_EVALUE);
	/* A str16 length of 0xffff is refused before anything is read. */
	{
		const uint8_t g[] = { FRAME_GOAWAY, 0, 0, 0, 1, 0, 0, 0, 0,
		    0xff, 0xff, 'x' };
		ck_assert_int_eq(frame_ctl_decode(g, sizeof(g), &d),
		    FRAME_EVALUE);
	}
}
END_TEST

START_TEST(test_family)
{
	struct frame_ctl	c, d;
	uint8_t			b[FRAME_CTL_MAX];
	size_t			n;

	sample(&c, FRAME_STREAM_OPEN);
	c.family = 4;
	ck_assert_int_eq(frame_ctl_encode(&c, b, sizeof(b), &n), 0);
	ck_assert_int_eq(frame_ctl_decode(b, n, &d), 0);
	b[5] = 5;		/* family byte */
	ck_assert_int_eq(frame_ctl_decode(b, n, &d), FRAME_EVALUE);
	b[5] = 0;
	ck_assert_int_eq(frame_ctl_decode(b, n, &d), 0);
}
END_TEST

START_TEST(test_hello_checks)
{
	struct frame_ctl	c, d;
	uint8_t			b[FRAME_CTL_MAX];
	size_t			n;

	sample(&c, FRAME_HELLO);
	ck_assert_int_eq(frame_ctl_encode(&c, b, sizeof(b), &n), 0);
	/* Another version: only magic and version are read. */
	b[6] = 2;
	ck_assert_int_eq(frame_ctl_decode(b, n, &d), FRAME_EVERSION);
	ck_assert_uint_eq(d.version, 2);
	ck_assert_int_eq(frame_ctl_decode(b, 7, &d), FRAME_EVERSION);
	b[6] = 1;
	b[1] = 'B';		/* magic */
	ck_assert_int_eq(frame_ctl_decode(b, n, &d), FRAME_EVALUE);
	b[1] = 'A';
	/* Settings out of range. */
	c.stream_window = 0;
	ck_assert_int_eq(frame_ctl_encode(&c, b, sizeof(b), &n), 0);
	ck_assert_int_eq(frame_ctl_decode(b, n, &d), FRAME_EVALUE);
	sample(&c, FRAME_HELLO);
	c.tunnel_window = 0x80000000U;
	ck_assert_int_eq(frame_ctl_encode(&c, b, sizeof(b), &n), 0);
	ck_assert_int_eq(frame_ctl_decode(b, n, &d), FRAME_EVALUE);
	sample(&c, FRAME_HELLO);
	c.max_frame = FRAME_MIN_FRAME - 1;
	ck_assert_int_eq(frame_ctl_encode(&c, b, sizeof(b), &n), 0);
	ck_assert_int_eq(frame_ctl_decode(b, n, &d), FRAME_EVALUE);
	c.max_frame = FRAME_MAX_FRAME + 1;
	ck_assert_int_eq(frame_ctl_encode(&c, b, sizeof(b), &n), 0);
	ck_assert_int_eq(frame_ctl_decode(b, n, &d), FRAME_EVALUE);
	sample(&c, FRAME_HELLO);
	c.hflags = 2;	/* a flag this version does not know */
	ck_assert_int_eq(frame_ctl_encode(&c, b, sizeof(b), &n), 0);
	ck_assert_int_eq(frame_ctl_decode(b, n, &d), FRAME_EVALUE);
	c.hflags = FRAME_HELLO_AUTH;
	ck_assert_int_eq(frame_ctl_encode(&c, b, sizeof(b), &n), 0);
	ck_assert_int_eq(frame_ctl_decode(b, n, &d), 0);
	ck_assert_uint_eq(d.hflags, FRAME_HELLO_AUTH);
}
END_TEST

/* AUTH carries a token of JWT characters, up to FRAME_TOKEN_MAX bytes,
 * decoded in place. */
START_TEST(test_auth)
{
	static char	tok[FRAME_TOKEN_MAX + 1];
	static uint8_t	b[FRAME_CTL_MAX + 16];
	struct frame_ctl c, d;
	size_t		n;

	memset(tok, 'a', sizeof(tok));
	memset(&c, 0, sizeof(c));
	c.type = FRAME_AUTH;
	c.token = "eyJh.eyJz.c2ln-_";
	c.token_len = strlen(c.token);
	ck_assert_int_eq(frame_ctl_encode(&c, b, sizeof(b), &n), 0);
	ck_assert_uint_eq(n, 3 + c.token_len);
	ck_assert_int_eq(frame_ctl_decode(b, n, &d), 0);
	ck_assert_uint_eq(d.token_len, c.token_len);
	ck_assert(d.token == (const char *)b + 3);
	ck_assert_int_eq(memcmp(d.token, c.token, d.token_len), 0);
	/* The longest token fits the largest control payload. */
	c.token = tok;
	c.token_len = FRAME_TOKEN_MAX;
	ck_assert_int_eq(frame_ctl_encode(&c, b, sizeof(b), &n), 0);
	ck_assert_uint_eq(n, FRAME_CTL_MAX);
	ck_assert_int_eq(frame_ctl_decode(b, n, &d), 0);
	/* One byte more is refused both ways. */
	c.token_len = FRAME_TOKEN_MAX + 1;
	ck_assert_int_eq(frame_ctl_encode(&c, b, sizeof(b), &n), FRAME_EVALUE);
	b[1] = (FRAME_TOKEN_MAX + 1) >> 8;
	b[2] = (FRAME_TOKEN_MAX + 1) & 0xff;
	ck_assert_int_eq(frame_ctl_decode(b, FRAME_CTL_MAX + 1, &d),
	    FRAME_EVALUE);
	/* Empty, or a character no JWT has (space, NUL, quote). */
	c.token = "";
	c.token_len = 0;
	ck_assert_int_eq(frame_ctl_encode(&c, b, sizeof(b), &n), FRAME_EVALUE);
	memcpy(b, "\006\000\003a b", 6);
	ck_assert_int_eq(frame_ctl_decode(b, 6, &d), FRAME_EVALUE);
	memcpy(b, "\006\000\003a\000b", 6);
	ck_assert_int_eq(frame_ctl_decode(b, 6, &d), FRAME_EVALUE);
	memcpy(b, "\006\000\003a\"b", 6);
	ck_assert_int_eq(frame_ctl_decode(b, 6, &d), FRAME_EVALUE);
	/* A length past the payload. */
	memcpy(b, "\006\000\011abc", 6);
	ck_assert_int_eq(frame_ctl_decode(b, 6, &d), FRAME_ESHORT);
	ck_assert_str_eq(frame_type_name(FRAME_AUTH), "AUTH");
}
END_TEST

START_TEST(test_strerror)
{
	ck_assert_str_eq(frame_strerror(FRAME_ESHORT),
	    "control message truncated");
	ck_assert_str_eq(frame_strerror(FRAME_ETRAIL),
	    "trailing bytes after control message");
	ck_assert_str_eq(frame_strerror(FRAME_EVERSION),
	    "protocol version not supported");
	ck_assert_str_eq(frame_strerror(-100), "unknown frame error");
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("frame");
	TCase	*tc = tcase_create("frame");
	SRunner	*sr;
	int	 failed;

	tcase_add_test(tc, test_header_bytes);
	tcase_add_test(tc, test_ping_bytes);
	tcase_add_test(tc, test_hello_bytes);
	tcase_add_loop_test(tc, test_roundtrip_all, 0, NTYPES);
	tcase_add_loop_test(tc, test_truncated_and_trailing, 0, NTYPES);
	tcase_add_loop_test(tc, test_encode_nospace, 0, NTYPES);
	tcase_add_test(tc, test_unknown_type);
	tcase_add_test(tc, test_strings);
	tcase_add_test(tc, test_family);
	tcase_add_test(tc, test_hello_checks);
	tcase_add_test(tc, test_auth);
	tcase_add_test(tc, test_strerror);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
