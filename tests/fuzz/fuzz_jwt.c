/*
 * fuzz_jwt.c — libFuzzer target for the token verifier (common/auth/jwt.c),
 * which reads bytes from anyone who reaches the relay's tunnel port when
 * auth.jwt is on.
 *
 * Input: first byte picks the mode, the rest is the material.
 *   even: the rest is a token as it arrives, verified as is: the header's
 *         base64url and JSON, the algorithm pinning and the signature check
 *         run on hostile bytes (a forged signature never verifies).
 *   odd:  the rest is a payload (JSON, as the attacker likes) that this
 *         target signs with the configured HS256 secret under a fixed valid
 *         header, so the claims parser behind the signature check is fuzzed
 *         too.
 * Properties checked besides memory safety: a token that verifies names a
 * sub that is a valid identity and has exp; the reason is one line.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "cfg.h"
#include "jwt.h"
#include "jwt_b64.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define SECRET	"fuzz-secret-fuzz-secret-fuzz-secret!"
/* {"alg":"HS256","typ":"JWT"} */
#define HEADER	"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
#define NOW	1800000000ULL

static struct jwt_keys *keys;

static void
check(const char *tok, size_t len)
{
	struct jwt_claims c;
	char why[256];
	int r;

	r = jwt_verify(keys, tok, len, NOW, &c, why, sizeof(why));
	if (r == JWT_OK && (!cfg_valid_id(c.sub) || c.exp == 0))
		abort();
	if (r != JWT_OK && (why[0] == '\0' || strchr(why, '\n') != NULL))
		abort();
	jwt_claims_free(&c);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char tok[3 * JWT_TOKEN_MAX];
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	char why[256];
	size_t n, p;
	int r;

	if (keys == NULL) {
		if ((keys = jwt_keys_new()) == NULL ||
		    jwt_keys_set_hs256(keys, (const uint8_t *)SECRET,
		    strlen(SECRET), why, sizeof(why)) != JWT_OK)
			abort();
	}
	if (size < 1)
		return 0;
	if ((data[0] & 1) == 0) {
		check((const char *)data + 1, size - 1);
		return 0;
	}
	if (size - 1 > JWT_TOKEN_MAX)
		return 0;
	/* HEADER "." b64(payload) "." b64(HMAC) */
	n = strlen(HEADER);
	memcpy(tok, HEADER ".", n + 1);
	n++;
	if ((r = jwt_b64_encode(data + 1, size - 1, tok + n,
	    sizeof(tok) - n)) < 0)
		return 0;
	n += (size_t)r;
	p = n;
	tok[n++] = '.';
	if (HMAC(EVP_sha256(), SECRET, (int)strlen(SECRET),
	    (const unsigned char *)tok, p, mac, &maclen) == NULL)
		abort();
	if ((r = jwt_b64_encode(mac, maclen, tok + n, sizeof(tok) - n)) < 0)
		abort();
	n += (size_t)r;
	check(tok, n);
	return 0;
}
