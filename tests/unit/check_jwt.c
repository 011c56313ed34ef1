/*
 * check_jwt.c — the JWT verifier (common/auth): every refusal with its exact
 * reason, and the good cases.  Good tokens are minted by jwt_mint(), the
 * code behind `atlax-pki token`; malformed ones are signed by jwt_sign_raw()
 * over raw JSON, or put together by hand with OpenSSL's HMAC so that the
 * attacks do not depend on our own signer.
 */
#include <sys/stat.h>

#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include "cfg_relay.h"
#include "cfgtest.h"
#include "jwt.h"
#include "jwt_b64.h"
#include "jwt_mint.h"

#define NOW	1800000000ULL		/* 2027-01-15 */
#define SECRET	"0123456789abcdef0123456789abcdef-test"

static char why[512];

/* A new P-256 (or other curve) key's private and public PEM. */
static void
eckey(const char *curve, char **priv, char **pub)
{
	EVP_PKEY *k;
	BIO *b;
	char *p;
	long n;

	k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", curve);
	ck_assert_ptr_nonnull(k);
	b = BIO_new(BIO_s_mem());
	ck_assert_int_eq(PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL,
	    NULL), 1);
	n = BIO_get_mem_data(b, &p);
	*priv = strndup(p, (size_t)n);
	BIO_free(b);
	b = BIO_new(BIO_s_mem());
	ck_assert_int_eq(PEM_write_bio_PUBKEY(b, k), 1);
	n = BIO_get_mem_data(b, &p);
	*pub = strndup(p, (size_t)n);
	BIO_free(b);
	EVP_PKEY_free(k);
}

static struct jwt_signer *
hs_signer(const char *secret)
{
	struct jwt_signer *s = NULL;

	ck_assert_msg(jwt_signer_hs256((const uint8_t *)secret, strlen(secret),
	    &s, why, sizeof(why)) == JWT_OK, "%s", why);
	return s;
}

static struct jwt_signer *
es_signer(const char *pem)
{
	struct jwt_signer *s = NULL;

	ck_assert_msg(jwt_signer_es256_pem(pem, strlen(pem), &s, why,
	    sizeof(why)) == JWT_OK, "%s", why);
	return s;
}

static struct jwt_keys *
hs_keys(void)
{
	struct jwt_keys *k = jwt_keys_new();

	ck_assert_ptr_nonnull(k);
	ck_assert_int_eq(jwt_keys_set_hs256(k, (const uint8_t *)SECRET,
	    strlen(SECRET), why, sizeof(why)), JWT_OK);
	return k;
}

static struct jwt_keys *
es_keys(const char *pub)
{
	struct jwt_keys *k = jwt_keys_new();

	ck_assert_ptr_nonnull(k);
	ck_assert_msg(jwt_keys_add_es256_pem(k, pub, strlen(pub), "pub", why,
	    sizeof(why)) == JWT_OK, "%s", why);
	return k;
}

/* A minted token: sub home-nas, iat NOW, exp NOW + 3600, plus m's extras. */
static char *
mint(struct jwt_signer *s, struct jwt_mint *m)
{
	struct jwt_mint def;
	char *t = NULL;

	if (m == NULL) {
		memset(&def, 0, sizeof(def));
		m = &def;
	}
	if (m->sub == NULL)
		m->sub = "home-nas";
	if (m->iat == 0)
		m->iat = NOW;
	if (m->exp == 0)
		m->exp = NOW + 3600;
	ck_assert_msg(jwt_mint(s, m, &t, why, sizeof(why)) == JWT_OK, "%s",
	    why);
	return t;
}

static char *
raw(struct jwt_signer *s, const char *header, const char *payload)
{
	char *t = NULL;

	ck_assert_int_eq(jwt_sign_raw(s, header, strlen(header), payload,
	    strlen(payload), &t, why, sizeof(why)), JWT_OK);
	return t;
}

/* By hand: base64url(header).base64url(payload).HMAC(key) — no jwt_mint. */
static char *
hand_hs256(const char *header, const char *payload, const void *key,
    size_t keylen)
{
	uint8_t mac[32];
	unsigned int maclen;
	size_t size = 3 * (strlen(header) + strlen(payload)) + 128, off;
	char *t = malloc(size);

	ck_assert_ptr_nonnull(t);
	off = (size_t)jwt_b64_encode((const uint8_t *)header, strlen(header),
	    t, size);
	t[off++] = '.';
	off += (size_t)jwt_b64_encode((const uint8_t *)payload,
	    strlen(payload), t + off, size - off);
	ck_assert_ptr_nonnull(HMAC(EVP_sha256(), key, (int)keylen,
	    (unsigned char *)t, off, mac, &maclen));
	t[off++] = '.';
	jwt_b64_encode(mac, maclen, t + off, size - off);
	return t;
}

/*
 * Verify and expect code with exactly reason want; the reason must not
 * quote any part of the token.
 */
static void
refused(const struct jwt_keys *k, const char *token, uint64_t now, int code,
    const char *want)
{
	struct jwt_claims c;
	const char *p, *dot;
	char part[64];
	size_t n;

	memset(why, 0, sizeof(why));
	ck_assert_int_eq(jwt_verify(k, token, strlen(token), now, &c, why,
	    sizeof(why)), code);
	ck_assert_str_eq(why, want);
	ck_assert_str_eq(c.sub, "");
	ck_assert_ptr_null(c.expose);
	ck_assert_ptr_null(c.connect);
	jwt_claims_free(&c);
	for (p = token; *p != '\0'; p = *dot == '\0' ? dot : dot + 1) {
		if ((dot = strchr(p, '.')) == NULL)
			dot = p + strlen(p);
		if ((n = (size_t)(dot - p)) < 6)
			continue;
		if (n >= sizeof(part))
			n = sizeof(part) - 1;
		memcpy(part, p, n);
		part[n] = '\0';
		ck_assert_ptr_null(strstr(why, part));
	}
}

static void
accepted(const struct jwt_keys *k, const char *token, uint64_t now,
    struct jwt_claims *c)
{
	ck_assert_msg(jwt_verify(k, token, strlen(token), now, c, why,
	    sizeof(why)) == JWT_OK, "%s", why);
}

START_TEST(test_b64)
{
	static const struct { const char *in, *out; } v[] = {
		{ "", "" }, { "f", "Zg" }, { "fo", "Zm8" }, { "foo", "Zm9v" },
		{ "foob", "Zm9vYg" }, { "fooba", "Zm9vYmE" },
		{ "foobar", "Zm9vYmFy" }, { "\xfb\xff", "-_8" },
	};
	char enc[32];
	uint8_t dec[32];
	size_t i, n;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		ck_assert_int_eq(jwt_b64_encode((const uint8_t *)v[i].in,
		    strlen(v[i].in), enc, sizeof(enc)), (int)strlen(v[i].out));
		ck_assert_str_eq(enc, v[i].out);
		ck_assert_int_eq(jwt_b64_decode(v[i].out, strlen(v[i].out), dec,
		    sizeof(dec), &n), 0);
		ck_assert_uint_eq(n, strlen(v[i].in));
		ck_assert_mem_eq(dec, v[i].in, n);
	}
	ck_assert_int_eq(jwt_b64_encode((const uint8_t *)"foo", 3, enc, 4),
	    -1);
	/* Padding, the other alphabet, blanks, a lone character, and the
	 * non-canonical "Zh" (unused bits set) for "f". */
	ck_assert_int_eq(jwt_b64_decode("Zg==", 4, dec, sizeof(dec), &n), -1);
	ck_assert_int_eq(jwt_b64_decode("+/8", 3, dec, sizeof(dec), &n), -1);
	ck_assert_int_eq(jwt_b64_decode("Zm 9v", 5, dec, sizeof(dec), &n), -1);
	ck_assert_int_eq(jwt_b64_decode("Zm9vY", 5, dec, sizeof(dec), &n), -1);
	ck_assert_int_eq(jwt_b64_decode("Zh", 2, dec, sizeof(dec), &n), -1);
	ck_assert_int_eq(jwt_b64_decode("Zm9", 3, dec, sizeof(dec), &n), -1);
	ck_assert_int_eq(jwt_b64_decode("Zm\0v", 4, dec, sizeof(dec), &n), -1);
	ck_assert_int_eq(jwt_b64_decode("Zm9v", 4, dec, 3, &n), -1);
}
END_TEST

START_TEST(test_hs256_good)
{
	static const char *expose[] = { "smb", "8080", "home-db/postgres" };
	static const char *connect[] = { "office/rdp", "home-nas/web" };
	struct jwt_signer *s = hs_signer(SECRET);
	struct jwt_keys *k = hs_keys();
	struct jwt_claims c;
	struct jwt_mint m;
	char *t;

	memset(&m, 0, sizeof(m));
	m.jti = "tok-1";
	m.nbf = NOW - 10;
	m.expose = expose;
	m.nexpose = 3;
	m.connect = connect;
	m.nconnect = 2;
	t = mint(s, &m);
	accepted(k, t, NOW, &c);
	ck_assert_int_eq(c.alg, JWT_ALG_HS256);
	ck_assert_str_eq(c.sub, "home-nas");
	ck_assert_str_eq(c.jti, "tok-1");
	ck_assert_uint_eq(c.exp, NOW + 3600);
	ck_assert_uint_eq(c.iat, NOW);
	ck_assert_uint_eq(c.nbf, NOW - 10);
	ck_assert_uint_eq(c.nexpose, 3);
	ck_assert_str_eq(c.expose[0], "smb");
	ck_assert_str_eq(c.expose[1], "8080");
	ck_assert_str_eq(c.expose[2], "home-db/postgres");
	ck_assert_uint_eq(c.nconnect, 2);
	ck_assert_str_eq(c.connect[0], "office/rdp");
	ck_assert_str_eq(c.connect[1], "home-nas/web");
	ck_assert_int_eq(jwt_claims_may_expose(&c, "smb", 0), 1);
	ck_assert_int_eq(jwt_claims_may_expose(&c, "web", 8080), 1);
	ck_assert_int_eq(jwt_claims_may_expose(&c, "web", 8081), 0);
	ck_assert_int_eq(jwt_claims_may_expose(&c, "sm", 0), 0);
	/* A group grant names the group and the service, whole. */
	ck_assert_int_eq(jwt_claims_may_expose(&c, "home-db/postgres", 0), 1);
	ck_assert_int_eq(jwt_claims_may_expose(&c, "home-db/postgre", 0), 0);
	ck_assert_int_eq(jwt_claims_may_expose(&c, "postgres", 0), 0);
	ck_assert_int_eq(jwt_claims_may_connect(&c, "office", "rdp"), 1);
	ck_assert_int_eq(jwt_claims_may_connect(&c, "home-nas", "web"), 1);
	ck_assert_int_eq(jwt_claims_may_connect(&c, "home", "nas/web"), 0);
	ck_assert_int_eq(jwt_claims_may_connect(&c, "office", "web"), 0);
	jwt_claims_free(&c);
	ck_assert_ptr_null(c.expose);
	jwt_claims_free(NULL);
	free(t);

	/* No optional claim at all: empty lists, no jti. */
	t = mint(s, NULL);
	accepted(k, t, NOW, &c);
	ck_assert_str_eq(c.jti, "");
	ck_assert_uint_eq(c.nexpose, 0);
	ck_assert_int_eq(jwt_claims_may_expose(&c, "smb", 445), 0);
	ck_assert_int_eq(jwt_claims_may_connect(&c, "a", "b"), 0);
	jwt_claims_free(&c);
	free(t);
	jwt_signer_free(s);
	jwt_keys_free(k);
}
END_TEST

START_TEST(test_es256_good)
{
	char *priv1, *pub1, *priv2, *pub2, *t;
	struct jwt_signer *s;
	struct jwt_keys *k;
	struct jwt_claims c;

	eckey("P-256", &priv1, &pub1);
	eckey("P-256", &priv2, &pub2);
	/* Two keys configured (a rotation): the second one matches. */
	k = es_keys(pub1);
	ck_assert_int_eq(jwt_keys_add_es256_pem(k, pub2, strlen(pub2), NULL,
	    why, sizeof(why)), JWT_OK);
	s = es_signer(priv2);
	t = mint(s, NULL);
	accepted(k, t, NOW, &c);
	ck_assert_int_eq(c.alg, JWT_ALG_ES256);
	ck_assert_str_eq(c.sub, "home-nas");
	jwt_claims_free(&c);
	jwt_keys_free(k);
	/* Only the first key: nothing verifies it. */
	k = es_keys(pub1);
	refused(k, t, NOW, JWT_E_SIGNATURE, "bad signature");
	jwt_keys_free(k);
	/* HS256 and ES256 together: each algorithm uses its own key. */
	k = es_keys(pub2);
	ck_assert_int_eq(jwt_keys_set_hs256(k, (const uint8_t *)SECRET,
	    strlen(SECRET), why, sizeof(why)), JWT_OK);
	accepted(k, t, NOW, &c);
	jwt_claims_free(&c);
	free(t);
	jwt_signer_free(s);
	s = hs_signer(SECRET);
	t = mint(s, NULL);
	accepted(k, t, NOW, &c);
	ck_assert_int_eq(c.alg, JWT_ALG_HS256);
	jwt_claims_free(&c);
	free(t);
	jwt_signer_free(s);
	jwt_keys_free(k);
	free(priv1);
	free(pub1);
	free(priv2);
	free(pub2);
}
END_TEST

START_TEST(test_algorithms)
{
	static const char pl[] = "{\"sub\":\"a\",\"exp\":1900000000}";
	char *priv, *pub, *t;
	struct jwt_keys *k, *hk = hs_keys();
	struct jwt_signer *s = hs_signer(SECRET);

	eckey("P-256", &priv, &pub);
	k = es_keys(pub);
	/* The confusion attack: the public key's PEM as the HMAC secret. */
	t = hand_hs256("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", pl, pub,
	    strlen(pub));
	refused(k, t, NOW, JWT_E_ALG, "algorithm not allowed: HS256 (no HS256 "
	    "secret configured)");
	free(t);
	/* alg none, with an empty signature and with one. */
	t = hand_hs256("{\"alg\":\"none\"}", pl, SECRET, strlen(SECRET));
	*(strrchr(t, '.') + 1) = '\0';
	refused(hk, t, NOW, JWT_E_ALG, "algorithm not allowed (only HS256 and "
	    "ES256 are accepted)");
	refused(k, t, NOW, JWT_E_ALG, "algorithm not allowed (only HS256 and "
	    "ES256 are accepted)");
	free(t);
	t = raw(s, "{\"alg\":\"none\"}", pl);
	refused(hk, t, NOW, JWT_E_ALG, "algorithm not allowed (only HS256 and "
	    "ES256 are accepted)");
	free(t);
	t = raw(s, "{\"alg\":\"RS256\"}", pl);
	refused(hk, t, NOW, JWT_E_ALG, "algorithm not allowed (only HS256 and "
	    "ES256 are accepted)");
	free(t);
	t = raw(s, "{\"alg\":\"hs256\"}", pl);
	refused(hk, t, NOW, JWT_E_ALG, "algorithm not allowed (only HS256 and "
	    "ES256 are accepted)");
	free(t);
	t = raw(s, "{\"typ\":\"JWT\"}", pl);
	refused(hk, t, NOW, JWT_E_ALG, "algorithm not allowed: alg missing");
	free(t);
	t = raw(s, "{\"alg\":256}", pl);
	refused(hk, t, NOW, JWT_E_ALG, "algorithm not allowed: alg is not a "
	    "string");
	free(t);
	/* An ES256 header where only a secret is configured. */
	t = raw(s, "{\"alg\":\"ES256\"}", pl);
	refused(hk, t, NOW, JWT_E_ALG, "algorithm not allowed: ES256 (no "
	    "ES256 key configured)");
	free(t);
	/* The header's other checks. */
	t = raw(s, "{\"alg\":\"HS256\",\"typ\":\"JOSE+JSON\"}", pl);
	refused(hk, t, NOW, JWT_E_FORMAT, "header typ is not JWT");
	free(t);
	t = raw(s, "{\"alg\":\"HS256\",\"crit\":[\"exp\"]}", pl);
	refused(hk, t, NOW, JWT_E_FORMAT, "header crit is not supported");
	free(t);
	/* A key set with no key refuses everything. */
	jwt_keys_free(k);
	k = jwt_keys_new();
	t = mint(s, NULL);
	refused(k, t, NOW, JWT_E_ALG, "algorithm not allowed: HS256 (no HS256 "
	    "secret configured)");
	free(t);
	jwt_keys_free(k);
	jwt_keys_free(hk);
	jwt_signer_free(s);
	free(priv);
	free(pub);
}
END_TEST

START_TEST(test_signatures)
{
	struct jwt_signer *s = hs_signer(SECRET), *o;
	struct jwt_keys *k = hs_keys(), *ek;
	char *t, *priv, *pub, *last;
	size_t n;

	/* Another secret. */
	o = hs_signer(SECRET "x");
	t = mint(o, NULL);
	refused(k, t, NOW, JWT_E_SIGNATURE, "bad signature");
	free(t);
	jwt_signer_free(o);
	/* One character of the signature changed (staying canonical). */
	t = mint(s, NULL);
	last = strrchr(t, '.') + 1;
	last[0] = last[0] == 'A' ? 'B' : 'A';
	refused(k, t, NOW, JWT_E_SIGNATURE, "bad signature");
	free(t);
	/* A changed payload under the old signature. */
	t = mint(s, NULL);
	last = strchr(t, '.') + 2;
	*last = *last == 'A' ? 'B' : 'A';
	refused(k, t, NOW, JWT_E_SIGNATURE, "bad signature");
	free(t);
	/* A signature cut short (to 30 bytes, a canonical length). */
	t = mint(s, NULL);
	n = strlen(t);
	t[n - 3] = '\0';
	refused(k, t, NOW, JWT_E_SIGNATURE, "bad signature");
	free(t);
	jwt_signer_free(s);
	/* ES256: 63 bytes of signature, and r || s swapped. */
	eckey("P-256", &priv, &pub);
	ek = es_keys(pub);
	s = es_signer(priv);
	t = mint(s, NULL);
	last = strrchr(t, '.') + 1;
	ck_assert_uint_eq(strlen(last), 86);	/* 64 bytes */
	{
		uint8_t sig[66], sw[64];

		/* r and s swapped: well-formed, wrong. */
		ck_assert_int_eq(jwt_b64_decode(last, 86, sig, sizeof(sig),
		    &n), 0);
		ck_assert_uint_eq(n, 64);
		memcpy(sw, sig + 32, 32);
		memcpy(sw + 32, sig, 32);
		jwt_b64_encode(sw, 64, last, 87);
		refused(ek, t, NOW, JWT_E_SIGNATURE, "bad signature");
		/* r = s = 0: refused, not a crash. */
		memset(sw, 0, sizeof(sw));
		jwt_b64_encode(sw, 64, last, 87);
		refused(ek, t, NOW, JWT_E_SIGNATURE, "bad signature");
	}
	last[84] = '\0';	/* 63 bytes */
	refused(ek, t, NOW, JWT_E_SIGNATURE, "bad signature");
	free(t);
	jwt_signer_free(s);
	jwt_keys_free(ek);
	jwt_keys_free(k);
	free(priv);
	free(pub);
}
END_TEST

START_TEST(test_times)
{
	struct jwt_signer *s = hs_signer(SECRET);
	struct jwt_keys *k = hs_keys();
	struct jwt_claims c;
	struct jwt_mint m;
	char *t;

	/* Default leeway 60 s: 30 s past exp passes, 61 s does not. */
	memset(&m, 0, sizeof(m));
	m.iat = NOW - 3600;
	m.exp = NOW;
	t = mint(s, &m);
	accepted(k, t, NOW + 30, &c);
	jwt_claims_free(&c);
	accepted(k, t, NOW + 59, &c);
	jwt_claims_free(&c);
	refused(k, t, NOW + 60, JWT_E_EXPIRED, "expired");
	refused(k, t, NOW + 100000, JWT_E_EXPIRED, "expired");
	jwt_keys_set_leeway(k, 0);
	accepted(k, t, NOW - 1, &c);
	jwt_claims_free(&c);
	refused(k, t, NOW, JWT_E_EXPIRED, "expired");
	free(t);
	/* nbf 30 s ahead: inside the leeway, outside with none. */
	memset(&m, 0, sizeof(m));
	m.nbf = NOW + 30;
	t = mint(s, &m);
	refused(k, t, NOW, JWT_E_NOTYET, "not yet valid (nbf)");
	accepted(k, t, NOW + 30, &c);
	jwt_claims_free(&c);
	jwt_keys_set_leeway(k, 60);
	accepted(k, t, NOW, &c);
	jwt_claims_free(&c);
	accepted(k, t, NOW - 30, &c);
	jwt_claims_free(&c);
	refused(k, t, NOW - 31, JWT_E_NOTYET, "not yet valid (nbf)");
	free(t);
	/* The leeway is capped. */
	jwt_keys_set_leeway(k, UINT64_MAX);
	memset(&m, 0, sizeof(m));
	m.iat = NOW - 7200;
	m.exp = NOW - 3600;
	t = mint(s, &m);
	refused(k, t, NOW, JWT_E_EXPIRED, "expired");
	free(t);
	jwt_keys_free(k);
	jwt_signer_free(s);
}
END_TEST

#define HS	"{\"alg\":\"HS256\",\"typ\":\"JWT\"}"

/* A payload signed by s and refused by k with code and reason. */
static void
bad_payload(struct jwt_signer *s, const struct jwt_keys *k, const char *pl,
    int code, const char *want)
{
	char *t = raw(s, HS, pl);

	refused(k, t, NOW, code, want);
	free(t);
}

START_TEST(test_claims)
{
	struct jwt_signer *s = hs_signer(SECRET);
	struct jwt_keys *k = hs_keys();

	bad_payload(s, k, "{\"exp\":1900000000}", JWT_E_CLAIM, "missing sub");
	bad_payload(s, k, "{\"sub\":\"a\"}", JWT_E_CLAIM, "missing exp");
	bad_payload(s, k, "{\"sub\":7,\"exp\":1900000000}", JWT_E_CLAIM,
	    "sub is not a string");
	bad_payload(s, k, "{\"sub\":\"-a\",\"exp\":1900000000}", JWT_E_CLAIM,
	    "sub is not a valid identity ([A-Za-z0-9][A-Za-z0-9._-], at most "
	    "64)");
	bad_payload(s, k, "{\"sub\":\"a b\",\"exp\":1900000000}", JWT_E_CLAIM,
	    "sub is not a valid identity ([A-Za-z0-9][A-Za-z0-9._-], at most "
	    "64)");
	bad_payload(s, k, "{\"sub\":\"\",\"exp\":1900000000}", JWT_E_CLAIM,
	    "sub is not a valid identity ([A-Za-z0-9][A-Za-z0-9._-], at most "
	    "64)");
	bad_payload(s, k, "{\"sub\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaa\",\"exp\":1900000000}", JWT_E_CLAIM,
	    "sub is not a valid identity ([A-Za-z0-9][A-Za-z0-9._-], at most "
	    "64)");
	bad_payload(s, k, "{\"sub\":\"a\",\"exp\":\"1900000000\"}", JWT_E_CLAIM,
	    "exp is not a non-negative integer");
	bad_payload(s, k, "{\"sub\":\"a\",\"exp\":1.9e9}", JWT_E_CLAIM,
	    "exp is not a non-negative integer");
	bad_payload(s, k, "{\"sub\":\"a\",\"exp\":-1}", JWT_E_CLAIM,
	    "exp is not a non-negative integer");
	bad_payload(s, k, "{\"sub\":\"a\",\"exp\":1900000000,\"nbf\":true}",
	    JWT_E_CLAIM, "nbf is not a non-negative integer");
	bad_payload(s, k, "{\"sub\":\"a\",\"exp\":1900000000,\"iat\":null}",
	    JWT_E_CLAIM, "iat is not a non-negative integer");
	bad_payload(s, k, "{\"sub\":\"a\",\"exp\":1900000000,\"jti\":5}",
	    JWT_E_CLAIM, "jti is not a string");
	bad_payload(s, k, "{\"sub\":\"a\",\"exp\":1900000000,\"iss\":[]}",
	    JWT_E_CLAIM, "iss is not a string");
	/* expose and connect: arrays of well-formed entries only. */
	bad_payload(s, k, "{\"sub\":\"a\",\"exp\":1900000000,\"expose\":\"smb\"}",
	    JWT_E_CLAIM, "expose is not an array");
	bad_payload(s, k, "{\"sub\":\"a\",\"exp\":1900000000,\"expose\":[\"smb\","
	    "\"a b\"]}", JWT_E_CLAIM, "expose[1] is not a service name or port");
	bad_payload(s, k, "{\"sub\":\"a\",\"exp\":1900000000,\"expose\":[\"0\"]}",
	    JWT_E_CLAIM, "expose[0] is not a service name or port");
	bad_payload(s, k, "{\"sub\":\"a\",\"exp\":1900000000,\"expose\":"
	    "[\"65536\"]}", JWT_E_CLAIM, "expose[0] is not a service name or "
	    "port");
	bad_payload(s, k, "{\"sub\":\"a\",\"exp\":1900000000,\"expose\":"
	    "[\"0445\"]}", JWT_E_CLAIM, "expose[0] is not a service name or "
	    "port");
	bad_payload(s, k, "{\"sub\":\"a\",\"exp\":1900000000,\"expose\":[445]}",
	    JWT_E_CLAIM, "expose[0] is not a service name or port");
	/* GROUP/SERVICE: both parts identity syntax, nothing else. */
	bad_payload(s, k, "{\"sub\":\"a\",\"exp\":1900000000,\"expose\":"
	    "[\"grp/\"]}", JWT_E_CLAIM, "expose[0] is not a service name or "
	    "port");
	bad_payload(s, k, "{\"sub\":\"a\",\"exp\":1900000000,\"expose\":"
	    "[\"a/b/c\"]}", JWT_E_CLAIM, "expose[0] is not a service name or "
	    "port");
	bad_payload(s, k, "{\"sub\":\"a\",\"exp\":1900000000,\"connect\":"
	    "[\"office\"]}", JWT_E_CLAIM, "connect[0] is not AGENT/SERVICE");
	bad_payload(s, k, "{\"sub\":\"a\",\"exp\":1900000000,\"connect\":"
	    "[\"office/\"]}", JWT_E_CLAIM, "connect[0] is not AGENT/SERVICE");
	bad_payload(s, k, "{\"sub\":\"a\",\"exp\":1900000000,\"connect\":"
	    "[\"/rdp\"]}", JWT_E_CLAIM, "connect[0] is not AGENT/SERVICE");
	bad_payload(s, k, "{\"sub\":\"a\",\"exp\":1900000000,\"connect\":"
	    "[\"a/b/c\"]}", JWT_E_CLAIM, "connect[0] is not AGENT/SERVICE");
	bad_payload(s, k, "{\"sub\":\"a\",\"exp\":1900000000,\"connect\":{}}",
	    JWT_E_CLAIM, "connect is not an array");
	bad_payload(s, k, "{\"sub\":\"a\",\"exp\":1900000000,\"expose\":[\"1\","
	    "\"2\",\"3\",\"4\",\"5\",\"6\",\"7\",\"8\",\"9\",\"10\",\"11\",\"12\","
	    "\"13\",\"14\",\"15\",\"16\",\"17\",\"18\",\"19\",\"20\",\"21\",\"22\","
	    "\"23\",\"24\",\"25\",\"26\",\"27\",\"28\",\"29\",\"30\",\"31\",\"32\","
	    "\"33\",\"34\",\"35\",\"36\",\"37\",\"38\",\"39\",\"40\",\"41\",\"42\","
	    "\"43\",\"44\",\"45\",\"46\",\"47\",\"48\",\"49\",\"50\",\"51\",\"52\","
	    "\"53\",\"54\",\"55\",\"56\",\"57\",\"58\",\"59\",\"60\",\"61\",\"62\","
	    "\"63\",\"64\",\"65\"]}", JWT_E_CLAIM, "expose has more than 64 "
	    "entries");
	/* Unknown claims are ignored. */
	{
		struct jwt_claims c;
		char *t = raw(s, HS, "{\"sub\":\"a\",\"exp\":1900000000,"
		    "\"scope\":{\"x\":[1,2]},\"expose\":[]}");

		accepted(k, t, NOW, &c);
		ck_assert_str_eq(c.sub, "a");
		ck_assert_uint_eq(c.nexpose, 0);
		jwt_claims_free(&c);
		free(t);
	}
	jwt_keys_free(k);
	jwt_signer_free(s);
}
END_TEST

START_TEST(test_issuer_audience)
{
	struct jwt_signer *s = hs_signer(SECRET);
	struct jwt_keys *k = hs_keys();
	struct jwt_claims c;
	char *t;

	/* Nothing configured: iss is free, aud is refused. */
	t = raw(s, HS, "{\"sub\":\"a\",\"exp\":1900000000,\"iss\":\"any\"}");
	accepted(k, t, NOW, &c);
	jwt_claims_free(&c);
	free(t);
	bad_payload(s, k, "{\"sub\":\"a\",\"exp\":1900000000,\"aud\":\"relay\"}",
	    JWT_E_CLAIM, "aud present but no audience configured");
	ck_assert_int_eq(jwt_keys_set_issuer(k, "https://issuer.example"), 0);
	ck_assert_int_eq(jwt_keys_set_audience(k, "atlax-relay"), 0);
	bad_payload(s, k, "{\"sub\":\"a\",\"exp\":1900000000,\"aud\":"
	    "\"atlax-relay\"}", JWT_E_CLAIM, "missing iss (an issuer is "
	    "configured)");
	bad_payload(s, k, "{\"sub\":\"a\",\"exp\":1900000000,\"iss\":"
	    "\"https://evil.example\",\"aud\":\"atlax-relay\"}", JWT_E_CLAIM,
	    "wrong issuer");
	bad_payload(s, k, "{\"sub\":\"a\",\"exp\":1900000000,\"iss\":"
	    "\"https://issuer.example\"}", JWT_E_CLAIM, "missing aud (an "
	    "audience is configured)");
	bad_payload(s, k, "{\"sub\":\"a\",\"exp\":1900000000,\"iss\":"
	    "\"https://issuer.example\",\"aud\":\"other\"}", JWT_E_CLAIM,
	    "wrong audience");
	bad_payload(s, k, "{\"sub\":\"a\",\"exp\":1900000000,\"iss\":"
	    "\"https://issuer.example\",\"aud\":[\"other\",\"more\"]}",
	    JWT_E_CLAIM, "wrong audience");
	bad_payload(s, k, "{\"sub\":\"a\",\"exp\":1900000000,\"iss\":"
	    "\"https://issuer.example\",\"aud\":[\"atlax-relay\",3]}",
	    JWT_E_CLAIM, "aud is not a string or an array of strings");
	bad_payload(s, k, "{\"sub\":\"a\",\"exp\":1900000000,\"iss\":"
	    "\"https://issuer.example\",\"aud\":{}}", JWT_E_CLAIM,
	    "aud is not a string or an array of at most 64 strings");
	t = raw(s, HS, "{\"sub\":\"a\",\"exp\":1900000000,\"iss\":"
	    "\"https://issuer.example\",\"aud\":\"atlax-relay\"}");
	accepted(k, t, NOW, &c);
	jwt_claims_free(&c);
	free(t);
	t = raw(s, HS, "{\"sub\":\"a\",\"exp\":1900000000,\"iss\":"
	    "\"https://issuer.example\",\"aud\":[\"x\",\"atlax-relay\"]}");
	accepted(k, t, NOW, &c);
	jwt_claims_free(&c);
	free(t);
	jwt_keys_free(k);
	jwt_signer_free(s);
}
END_TEST

START_TEST(test_malformed)
{
	struct jwt_signer *s = hs_signer(SECRET);
	struct jwt_keys *k = hs_keys();
	char *t, *bad;
	size_t n;

	refused(k, "", NOW, JWT_E_FORMAT, "malformed token: not three parts "
	    "separated by dots");
	refused(k, "abc.def", NOW, JWT_E_FORMAT, "malformed token: not three "
	    "parts separated by dots");
	refused(k, "a.b.c.d", NOW, JWT_E_FORMAT, "malformed token: not three "
	    "parts separated by dots");
	/* Padding, a character of the other alphabet, a blank. */
	t = mint(s, NULL);
	n = strlen(t);
	bad = malloc(n + 3);
	snprintf(bad, n + 3, "%s==", t);
	refused(k, bad, NOW, JWT_E_FORMAT, "malformed base64url in the "
	    "signature");
	memcpy(bad, t, n + 1);
	bad[strchr(t, '.') - t + 3] = '+';
	refused(k, bad, NOW, JWT_E_FORMAT, "malformed base64url in the "
	    "payload");
	memcpy(bad, t, n + 1);
	bad[1] = '/';
	refused(k, bad, NOW, JWT_E_FORMAT, "malformed base64url in the "
	    "header");
	memcpy(bad, t, n + 1);
	bad[n - 1] = '\n';
	refused(k, bad, NOW, JWT_E_FORMAT, "malformed base64url in the "
	    "signature");
	free(bad);
	free(t);
	/* Header "{}" padded by hand: "e30=" */
	refused(k, "e30=.e30.AAAA", NOW, JWT_E_FORMAT, "malformed base64url "
	    "in the header");
	/* JSON: broken, trailing bytes, not an object, duplicates. */
	bad_payload(s, k, "{\"sub\":\"a\",", JWT_E_FORMAT, "malformed JSON in "
	    "the payload");
	bad_payload(s, k, "{\"sub\":\"a\",\"exp\":1900000000}x", JWT_E_FORMAT,
	    "malformed JSON in the payload");
	bad_payload(s, k, "", JWT_E_FORMAT, "malformed JSON in the payload");
	bad_payload(s, k, "[\"sub\",\"a\"]", JWT_E_FORMAT, "malformed payload: "
	    "not a JSON object");
	bad_payload(s, k, "\"a\"", JWT_E_FORMAT, "malformed JSON in the "
	    "payload");
	bad_payload(s, k, "{\"sub\":\"a\",\"exp\":1900000000,\"sub\":\"admin\"}",
	    JWT_E_FORMAT, "duplicate key in the payload");
	bad_payload(s, k, "{\"sub\":\"a\\u0000b\",\"exp\":1900000000}",
	    JWT_E_FORMAT, "malformed JSON in the payload");
	t = raw(s, "{\"alg\":\"none\",\"alg\":\"HS256\"}", "{}");
	refused(k, t, NOW, JWT_E_FORMAT, "duplicate key in the header");
	free(t);
	t = raw(s, "[]", "{}");
	refused(k, t, NOW, JWT_E_FORMAT, "malformed header: not a JSON object");
	free(t);
	t = raw(s, "{alg:HS256}", "{}");
	refused(k, t, NOW, JWT_E_FORMAT, "malformed JSON in the header");
	free(t);
	jwt_keys_free(k);
	jwt_signer_free(s);
}
END_TEST

START_TEST(test_size)
{
	struct jwt_signer *s = hs_signer(SECRET);
	struct jwt_keys *k = hs_keys();
	struct jwt_claims c;
	struct jwt_mint m;
	char jti[JWT_JTI_MAX + 1], *t, *big;
	const char *expose[JWT_LIST_MAX];
	size_t i, n;

	/* The largest token minting allows verifies. */
	memset(jti, 'j', JWT_JTI_MAX);
	jti[JWT_JTI_MAX] = '\0';
	for (i = 0; i < JWT_LIST_MAX; i++)
		expose[i] = "a-service-name-of-sixty-three-characters-"
		    "xxxxxxxxxxxxxxxxxxxxx";
	memset(&m, 0, sizeof(m));
	m.jti = jti;
	m.expose = expose;
	m.nexpose = JWT_LIST_MAX;
	t = NULL;
	m.sub = "home-nas";
	m.iat = NOW;
	m.exp = NOW + 3600;
	ck_assert_int_eq(jwt_mint(s, &m, &t, why, sizeof(why)), JWT_OK);
	ck_assert_uint_gt(strlen(t), 4096);
	ck_assert_uint_le(strlen(t), JWT_TOKEN_MAX);
	accepted(k, t, NOW, &c);
	ck_assert_uint_eq(c.nexpose, JWT_LIST_MAX);
	ck_assert_str_eq(c.jti, jti);
	jwt_claims_free(&c);
	free(t);
	/* One byte over the limit is refused before any parsing. */
	n = JWT_TOKEN_MAX + 1;
	big = malloc(n + 1);
	memset(big, 'A', n);
	big[10] = '.';
	big[20] = '.';
	big[n] = '\0';
	refused(k, big, NOW, JWT_E_SIZE, "token too long (8193 bytes, at most "
	    "8192)");
	free(big);
	/* jti longer than JWT_JTI_MAX. */
	{
		char pl[512];

		snprintf(pl, sizeof(pl), "{\"sub\":\"a\",\"exp\":1900000000,"
		    "\"jti\":\"%sj\"}", jti);
		bad_payload(s, k, pl, JWT_E_CLAIM, "jti longer than 128");
	}
	/* Minting refuses what the verifier would. */
	m.jti = NULL;
	m.nexpose = 0;
	m.sub = "bad sub";
	ck_assert_int_eq(jwt_mint(s, &m, &t, why, sizeof(why)), JWT_E_CLAIM);
	ck_assert_ptr_null(t);
	m.sub = "a";
	expose[0] = "0445";
	m.nexpose = 1;
	ck_assert_int_eq(jwt_mint(s, &m, &t, why, sizeof(why)), JWT_E_CLAIM);
	ck_assert_str_eq(why, "bad expose entry (want a service name or a port "
	    "1..65535)");
	m.nexpose = 0;
	m.exp = m.iat;
	ck_assert_int_eq(jwt_mint(s, &m, &t, why, sizeof(why)), JWT_E_CLAIM);
	ck_assert_str_eq(why, "exp must be after iat");
	jwt_keys_free(k);
	jwt_signer_free(s);
}
END_TEST

START_TEST(test_keys)
{
	struct jwt_keys *k = jwt_keys_new();
	struct jwt_signer *s = NULL;
	char *priv, *pub;
	EVP_PKEY *rsa;
	BIO *b;
	char *p;
	long n;

	ck_assert_int_eq(jwt_keys_set_hs256(k, (const uint8_t *)"short", 5, why,
	    sizeof(why)), JWT_E_KEY);
	ck_assert_str_eq(why, "HS256 secret of 5 bytes, at least 32 are needed");
	ck_assert_int_eq(jwt_keys_set_hs256(k, (const uint8_t *)SECRET, 31,
	    why, sizeof(why)), JWT_E_KEY);
	ck_assert_int_eq(jwt_signer_hs256((const uint8_t *)SECRET, 31, &s, why,
	    sizeof(why)), JWT_E_KEY);
	ck_assert_ptr_null(s);
	/* P-384 is not ES256; RSA neither; a private key is no public key. */
	eckey("P-384", &priv, &pub);
	ck_assert_int_eq(jwt_keys_add_es256_pem(k, pub, strlen(pub), "p384.pem",
	    why, sizeof(why)), JWT_E_KEY);
	ck_assert_str_eq(why, "p384.pem: not an EC P-256 key (ES256 needs one)");
	ck_assert_int_eq(jwt_signer_es256_pem(priv, strlen(priv), &s, why,
	    sizeof(why)), JWT_E_KEY);
	ck_assert_str_eq(why, "not an EC P-256 key (ES256 needs one)");
	free(priv);
	free(pub);
	rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	ck_assert_ptr_nonnull(rsa);
	b = BIO_new(BIO_s_mem());
	PEM_write_bio_PUBKEY(b, rsa);
	n = BIO_get_mem_data(b, &p);
	ck_assert_int_eq(jwt_keys_add_es256_pem(k, p, (size_t)n, "rsa.pem",
	    why, sizeof(why)), JWT_E_KEY);
	ck_assert_str_eq(why, "rsa.pem: not an EC P-256 key (ES256 needs one)");
	BIO_free(b);
	EVP_PKEY_free(rsa);
	eckey("P-256", &priv, &pub);
	ck_assert_int_eq(jwt_keys_add_es256_pem(k, priv, strlen(priv), NULL,
	    why, sizeof(why)), JWT_E_KEY);
	ck_assert_str_eq(why, "key: no PEM public key or certificate");
	ck_assert_int_eq(jwt_keys_add_es256_pem(k, "garbage", 7, NULL, why,
	    sizeof(why)), JWT_E_KEY);
	ck_assert_int_eq(jwt_signer_es256_pem(pub, strlen(pub), &s, why,
	    sizeof(why)), JWT_E_KEY);
	ck_assert_str_eq(why, "no PEM private key");
	ck_assert_int_eq(jwt_keys_add_es256_file(k, "/nonexistent/k.pem", why,
	    sizeof(why)), JWT_E_KEY);
	ck_assert_str_eq(why, "/nonexistent/k.pem: No such file or directory");
	free(priv);
	free(pub);
	jwt_keys_free(k);
	jwt_keys_free(NULL);
	jwt_signer_free(NULL);
}
END_TEST

START_TEST(test_denylist)
{
	struct jwt_denylist *dl = NULL;
	struct jwt_signer *s = hs_signer(SECRET);
	struct jwt_keys *k = hs_keys();
	struct jwt_claims c;
	struct jwt_mint m;
	char path[PATH_MAX + 64], want[PATH_MAX + 128], *t;

	cfgtest_write("deny", "# revoked tokens\n\n  tok-2  \n"
	    "tok-1\r\ntok-2\n#tok-3\n");
	ck_assert_int_eq(jwt_denylist_load(cfgtest_path, &dl, why,
	    sizeof(why)), 0);
	ck_assert_uint_eq(jwt_denylist_count(dl), 2);
	ck_assert_int_eq(jwt_denylist_has(dl, "tok-1"), 1);
	ck_assert_int_eq(jwt_denylist_has(dl, "tok-2"), 1);
	ck_assert_int_eq(jwt_denylist_has(dl, "tok-3"), 0);
	ck_assert_int_eq(jwt_denylist_has(dl, "tok"), 0);
	ck_assert_int_eq(jwt_denylist_has(dl, ""), 0);
	ck_assert_int_eq(jwt_denylist_has(NULL, "tok-1"), 0);
	jwt_keys_set_denylist(k, dl);
	memset(&m, 0, sizeof(m));
	m.jti = "tok-1";
	t = mint(s, &m);
	refused(k, t, NOW, JWT_E_REVOKED, "revoked (jti on the deny list)");
	free(t);
	m.jti = "tok-3";
	m.sub = NULL;
	t = mint(s, &m);
	accepted(k, t, NOW, &c);
	jwt_claims_free(&c);
	free(t);
	/* Errors name the file and line. */
	cfgtest_write("deny", "ok\nbad jti\n");
	snprintf(path, sizeof(path), "%s", cfgtest_path);
	ck_assert_int_eq(jwt_denylist_load(path, &dl, why, sizeof(why)), -1);
	ck_assert_ptr_null(dl);
	snprintf(want, sizeof(want), "%s:2: jti with a blank or a character "
	    "that is not printable ASCII", path);
	ck_assert_str_eq(why, want);
	cfgtest_write("deny", "# x\n"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "\n");
	ck_assert_int_eq(jwt_denylist_load(path, &dl, why, sizeof(why)), -1);
	snprintf(want, sizeof(want), "%s:2: jti longer than 128", path);
	ck_assert_str_eq(why, want);
	ck_assert_int_eq(jwt_denylist_load("/nonexistent/deny", &dl, why,
	    sizeof(why)), -1);
	ck_assert_str_eq(why, "/nonexistent/deny: No such file or directory");
	cfgtest_write("deny", "");
	ck_assert_int_eq(jwt_denylist_load(path, &dl, why, sizeof(why)), 0);
	ck_assert_uint_eq(jwt_denylist_count(dl), 0);
	ck_assert_int_eq(jwt_denylist_has(dl, "x"), 0);
	jwt_denylist_free(dl);
	jwt_denylist_free(NULL);
	jwt_keys_free(k);
	jwt_signer_free(s);
}
END_TEST

/* auth.jwt of relay.yaml, loaded for real, then jwt_keys_load(). */
START_TEST(test_keys_load)
{
	struct relay_config *cfg = NULL;
	struct jwt_keys *k = NULL;
	struct jwt_signer *s;
	struct jwt_claims c;
	struct jwt_mint m;
	char *priv, *pub, *t, cfgpath[PATH_MAX + 64], want[PATH_MAX + 128];
	FILE *f;

	eckey("P-256", &priv, &pub);
	cfgtest_write("es.pub", pub);
	cfgtest_write("hs.secret", SECRET "\n");
	ck_assert_int_eq(chmod(cfgtest_path, 0600), 0);
	cfgtest_write("deny", "gone\n");
	cfgtest_write("relay.yaml",
	    "listen: \"0.0.0.0:4443\"\n"
	    "tls: {cert: c, key: k, ca: ca}\n"
	    "public: {port_range: \"10000-20000\"}\n"
	    "auth:\n"
	    "  jwt:\n"
	    "    hs256_secret_file: hs.secret\n"
	    "    es256_public_keys: [es.pub]\n"
	    "    issuer: me\n"
	    "    audience: relay\n"
	    "    leeway: 0\n"
	    "    denylist: deny\n");
	snprintf(cfgpath, sizeof(cfgpath), "%s", cfgtest_path);
	ck_assert_msg(cfg_relay_load(cfgpath, &cfg, why, sizeof(why)) == 0,
	    "%s", why);
	ck_assert_msg(jwt_keys_load(&cfg->jwt, &k, why, sizeof(why)) == 0,
	    "%s", why);
	/* The secret is the file less its newline: minted from the file. */
	snprintf(want, sizeof(want), "%s/hs.secret", cfgtest_dir);
	ck_assert_int_eq(jwt_signer_hs256_file(want, &s, why, sizeof(why)),
	    JWT_OK);
	memset(&m, 0, sizeof(m));
	m.iss = "me";
	m.aud = "relay";
	t = mint(s, &m);
	accepted(k, t, NOW, &c);
	jwt_claims_free(&c);
	refused(k, t, NOW + 3600, JWT_E_EXPIRED, "expired");	/* leeway 0 */
	free(t);
	m.jti = "gone";
	t = mint(s, &m);
	refused(k, t, NOW, JWT_E_REVOKED, "revoked (jti on the deny list)");
	free(t);
	jwt_signer_free(s);
	s = es_signer(priv);
	m.jti = NULL;
	t = mint(s, &m);
	accepted(k, t, NOW, &c);
	ck_assert_int_eq(c.alg, JWT_ALG_ES256);
	jwt_claims_free(&c);
	free(t);
	jwt_signer_free(s);
	jwt_keys_free(k);
	/* A public key file that is not one: named in the reason. */
	f = fopen(want, "w");
	fclose(f);
	cfg->jwt.hs256_secret_file[0] = '\0';
	free(cfg->jwt.hs256_secret_file);
	cfg->jwt.hs256_secret_file = NULL;
	free(cfg->jwt.es256_keys[0]);
	cfg->jwt.es256_keys[0] = strdup(want);
	ck_assert_int_eq(jwt_keys_load(&cfg->jwt, &k, why, sizeof(why)),
	    JWT_E_KEY);
	ck_assert_ptr_null(k);
	ck_assert_str_eq(why + strlen(want), ": no PEM public key or "
	    "certificate");
	ck_assert_mem_eq(why, want, strlen(want));
	cfg->jwt.nes256_keys = 1;
	cfg_relay_free(cfg);
	free(priv);
	free(pub);
}
END_TEST

static Suite *
jwt_suite(void)
{
	Suite *s = suite_create("jwt");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, cfgtest_setup, cfgtest_teardown);
	tcase_add_test(tc, test_b64);
	tcase_add_test(tc, test_hs256_good);
	tcase_add_test(tc, test_es256_good);
	tcase_add_test(tc, test_algorithms);
	tcase_add_test(tc, test_signatures);
	tcase_add_test(tc, test_times);
	tcase_add_test(tc, test_claims);
	tcase_add_test(tc, test_issuer_audience);
	tcase_add_test(tc, test_malformed);
	tcase_add_test(tc, test_size);
	tcase_add_test(tc, test_keys);
	tcase_add_test(tc, test_denylist);
	tcase_add_test(tc, test_keys_load);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(jwt_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
