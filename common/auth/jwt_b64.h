/*
 * jwt_b64.h — base64url without padding (RFC 7515 section 2), the encoding of
 * every part of a JWT.  Pure functions over (uint8_t *, size_t).
 *
 * The decoder is strict, so that one token has exactly one spelling: only the
 * alphabet A-Z a-z 0-9 '-' '_', no '=' padding, no white space, no length
 * that leaves a single character over (len % 4 == 1), and the unused low bits
 * of the last character zero (a non-canonical spelling is refused, or two
 * strings would decode to the same bytes).
 */
#ifndef ATLAX_JWT_B64_H
#define ATLAX_JWT_B64_H

#include <stddef.h>
#include <stdint.h>

/* Characters needed to encode n bytes (no terminator). */
#define JWT_B64_ENCLEN(n)	(((n) / 3) * 4 + ((n) % 3 == 0 ? 0 : (n) % 3 + 1))
/* Bytes an encoded string of n characters decodes to, at most. */
#define JWT_B64_DECLEN(n)	(((n) / 4) * 3 + 2)

/*
 * Encode in[0..len) into out (room for JWT_B64_ENCLEN(len) + 1: it is
 * NUL-terminated).  Returns the characters written, or -1 when out is too
 * small.
 */
int	jwt_b64_encode(const uint8_t *in, size_t len, char *out, size_t outlen);
/*
 * Decode in[0..len) into out (room for JWT_B64_DECLEN(len)); *outlen gets
 * the bytes written.  0, or -1 when the input is not canonical base64url as
 * described above or out is too small.
 */
int	jwt_b64_decode(const char *in, size_t len, uint8_t *out, size_t outsize,
	    size_t *outlen);

#endif
