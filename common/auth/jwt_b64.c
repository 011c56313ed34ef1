/*
 * jwt_b64.c — strict base64url, no padding.  A table maps each byte to its
 * 6-bit value or to "not in the alphabet", so that '=', '+', '/', white space
 * and NUL are refused like any other stranger.
 */
#include <stddef.h>
#include <stdint.h>

#include "jwt_b64.h"

static const char jwt_b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

#define JWT_B64_BAD	0xff

/* The 6-bit value of c, or JWT_B64_BAD. */
static uint8_t
jwt_b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return (uint8_t)(c - 'A');
	if (c >= 'a' && c <= 'z')
		return (uint8_t)(c - 'a' + 26);
	if (c >= '0' && c <= '9')
		return (uint8_t)(c - '0' + 52);
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return JWT_B64_BAD;
}

int
jwt_b64_encode(const uint8_t *in, size_t len, char *out, size_t outlen)
{
	uint32_t v;
	size_t i, o = 0, rest;

	if (outlen < JWT_B64_ENCLEN(len) + 1)
		return -1;
	for (i = 0; i + 3 <= len; i += 3) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		out[o++] = jwt_b64_alphabet[(v >> 18) & 63];
		out[o++] = jwt_b64_alphabet[(v >> 12) & 63];
		out[o++] = jwt_b64_alphabet[(v >> 6) & 63];
		out[o++] = jwt_b64_alphabet[v & 63];
	}
	rest = len - i;
	if (rest != 0) {
		v = (uint32_t)in[i] << 16;
		if (rest == 2)
			v |= (uint32_t)in[i + 1] << 8;
		out[o++] = jwt_b64_alphabet[(v >> 18) & 63];
		out[o++] = jwt_b64_alphabet[(v >> 12) & 63];
		if (rest == 2)
			out[o++] = jwt_b64_alphabet[(v >> 6) & 63];
	}
	out[o] = '\0';
	return (int)o;
}

int
jwt_b64_decode(const char *in, size_t len, uint8_t *out, size_t outsize,
    size_t *outlen)
{
	uint32_t v = 0;
	uint8_t c;
	size_t i, o = 0, bits = 0;
	int r = -1;

	*outlen = 0;
	/* One character alone carries 6 bits: not even one byte. */
	if (len % 4 == 1 || outsize < JWT_B64_DECLEN(len))
		goto out;
	for (i = 0; i < len; i++) {
		if ((c = jwt_b64_value((unsigned char)in[i])) == JWT_B64_BAD)
			goto out;
		v = (v << 6 | c) & 0xffffff;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (uint8_t)(v >> bits);
		}
	}
	/* The 2 or 4 bits left over must be zero: the canonical spelling. */
	if ((v & ((1U << bits) - 1)) != 0)
		goto out;
	*outlen = o;
	r = 0;
out:
	return r;
}
