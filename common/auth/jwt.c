/*
 * jwt.c — the token verifier: keys, the checks in the order that keeps
 * unauthenticated input away from the JSON parser, and the claims.
 *
 * Order of the checks: size, three parts, header (base64url, JSON, alg
 * against the configured keys), signature over "header.payload", and only
 * then the payload and its claims.
 */
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "cfg_relay.h"
#include "jwt.h"
#include "jwt_b64.h"
#include "log.h"

#define JWT_ES256_SIGLEN	64	/* JOSE: r || s, 32 bytes each */
#define JWT_HS256_SIGLEN	32
#define JWT_PEM_MAX		(64 * 1024)

struct jwt_keys {
	uint8_t		*secret;	/* HS256, NULL when none */
	size_t		 secretlen;
	EVP_PKEY	**es256;	/* ES256 public keys */
	size_t		 nes256;
	char		*issuer;
	char		*audience;
	uint64_t	 leeway;	/* seconds */
	struct jwt_denylist *deny;
};

/* The three parts of a token, decoded. */
struct jwt_parts {
	const char	*signed_part;	/* "header.payload", in the token */
	size_t		 signed_len;
	uint8_t		*header, *payload, *sig;
	size_t		 headerlen, payloadlen, siglen;
};

int
jwt_why(int code, char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (why != NULL && whylen != 0) {
		va_start(ap, fmt);
		vsnprintf(why, whylen, fmt, ap);
		va_end(ap);
	}
	return code;
}

struct jwt_keys *
jwt_keys_new(void)
{
	struct jwt_keys *k;

	if ((k = calloc(1, sizeof(*k))) != NULL)
		k->leeway = JWT_LEEWAY_DEFAULT;
	return k;
}

void
jwt_keys_free(struct jwt_keys *k)
{
	size_t i;

	if (k == NULL)
		return;
	if (k->secret != NULL) {
		OPENSSL_cleanse(k->secret, k->secretlen);
		free(k->secret);
	}
	for (i = 0; i < k->nes256; i++)
		EVP_PKEY_free(k->es256[i]);
	free(k->es256);
	free(k->issuer);
	free(k->audience);
	jwt_denylist_free(k->deny);
	free(k);
}

int
jwt_keys_set_hs256(struct jwt_keys *k, const uint8_t *secret, size_t len,
    char *why, size_t whylen)
{
	uint8_t *copy;

	/* RFC 7518 3.2: a key shorter than the hash is guessable. */
	if (len < JWT_SECRET_MIN)
		return jwt_why(JWT_E_KEY, why, whylen, "HS256 secret of %zu "
		    "bytes, at least %d are needed", len, JWT_SECRET_MIN);
	if (len > CFG_SECRET_MAX)
		return jwt_why(JWT_E_KEY, why, whylen, "HS256 secret longer "
		    "than %d bytes", CFG_SECRET_MAX);
	if ((copy = malloc(len)) == NULL)
		return jwt_why(JWT_E_NOMEM, why, whylen, "out of memory");
	memcpy(copy, secret, len);
	if (k->secret != NULL) {
		OPENSSL_cleanse(k->secret, k->secretlen);
		free(k->secret);
	}
	k->secret = copy;
	k->secretlen = len;
	return JWT_OK;
}

/* 1 when pkey is an EC key on P-256. */
static int
jwt_is_p256(EVP_PKEY *pkey)
{
	char group[64];
	size_t len;

	if (!EVP_PKEY_is_a(pkey, "EC"))
		return 0;
	if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME,
	    group, sizeof(group), &len) != 1)
		return 0;
	return strcmp(group, "prime256v1") == 0 ||
	    strcmp(group, "P-256") == 0;
}

int
jwt_keys_add_es256_pem(struct jwt_keys *k, const char *pem, size_t len,
    const char *name, char *why, size_t whylen)
{
	EVP_PKEY *pkey = NULL, **grown;
	X509 *x = NULL;
	BIO *bio = NULL;
	int r = JWT_E_KEY;

	if (name == NULL)
		name = "key";
	if (len > JWT_PEM_MAX) {
		jwt_why(r, why, whylen, "%s: larger than %d bytes", name,
		    JWT_PEM_MAX);
		goto out;
	}
	if ((bio = BIO_new_mem_buf(pem, (int)len)) == NULL) {
		r = jwt_why(JWT_E_NOMEM, why, whylen, "out of memory");
		goto out;
	}
	/* A public key, or the certificate that carries one. */
	if ((pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL)) == NULL) {
		(void)BIO_reset(bio);
		if ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL)
			pkey = X509_get_pubkey(x);
	}
	ERR_clear_error();
	if (pkey == NULL) {
		jwt_why(r, why, whylen, "%s: no PEM public key or certificate",
		    name);
		goto out;
	}
	if (!jwt_is_p256(pkey)) {
		jwt_why(r, why, whylen, "%s: not an EC P-256 key (ES256 needs "
		    "one)", name);
		goto out;
	}
	if ((grown = reallocarray(k->es256, k->nes256 + 1,
	    sizeof(*grown))) == NULL) {
		r = jwt_why(JWT_E_NOMEM, why, whylen, "out of memory");
		goto out;
	}
	k->es256 = grown;
	k->es256[k->nes256++] = pkey;
	pkey = NULL;
	r = JWT_OK;
out:
	EVP_PKEY_free(pkey);
	X509_free(x);
	BIO_free(bio);
	return r;
}

/* Read a whole small file; *buf is the caller's to free. */
static int
jwt_read_file(const char *path, size_t max, char **buf, size_t *len,
    char *why, size_t whylen)
{
	FILE *f = NULL;
	char *b = NULL;
	size_t n;
	int r = JWT_E_KEY;

	*buf = NULL;
	*len = 0;
	if ((f = fopen(path, "re")) == NULL) {
		jwt_why(r, why, whylen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if ((b = malloc(max + 1)) == NULL) {
		r = jwt_why(JWT_E_NOMEM, why, whylen, "out of memory");
		goto out;
	}
	n = fread(b, 1, max + 1, f);
	if (ferror(f)) {
		jwt_why(r, why, whylen, "%s: read error", path);
		goto out;
	}
	if (n > max) {
		jwt_why(r, why, whylen, "%s: larger than %zu bytes", path, max);
		goto out;
	}
	b[n] = '\0';
	*buf = b;
	*len = n;
	b = NULL;
	r = JWT_OK;
out:
	free(b);
	if (f != NULL)
		fclose(f);
	return r;
}

int
jwt_keys_add_es256_file(struct jwt_keys *k, const char *path, char *why,
    size_t whylen)
{
	char *pem = NULL;
	size_t len;
	int r;

	if ((r = jwt_read_file(path, JWT_PEM_MAX, &pem, &len, why,
	    whylen)) == JWT_OK)
		r = jwt_keys_add_es256_pem(k, pem, len, path, why, whylen);
	free(pem);
	return r;
}

static int
jwt_setstr(char **p, const char *s)
{
	char *copy = NULL;

	if (s != NULL && (copy = strdup(s)) == NULL)
		return JWT_E_NOMEM;
	free(*p);
	*p = copy;
	return JWT_OK;
}

int
jwt_keys_set_issuer(struct jwt_keys *k, const char *issuer)
{
	return jwt_setstr(&k->issuer, issuer);
}

int
jwt_keys_set_audience(struct jwt_keys *k, const char *audience)
{
	return jwt_setstr(&k->audience, audience);
}

void
jwt_keys_set_leeway(struct jwt_keys *k, uint64_t seconds)
{
	k->leeway = seconds > JWT_LEEWAY_MAX ? JWT_LEEWAY_MAX : seconds;
}

void
jwt_keys_set_denylist(struct jwt_keys *k, struct jwt_denylist *dl)
{
	if (k->deny != dl)
		jwt_denylist_free(k->deny);
	k->deny = dl;
}

int
jwt_keys_load(const struct relay_jwt *cfg, struct jwt_keys **out, char *why,
    size_t whylen)
{
	struct jwt_keys *k = NULL;
	struct jwt_denylist *dl = NULL;
	uint8_t *secret = NULL;
	size_t i, len;
	int r = JWT_E_NOMEM;

	*out = NULL;
	if (cfg->hs256_secret_file == NULL && cfg->nes256_keys == 0) {
		r = jwt_why(JWT_E_KEY, why, whylen, "auth.jwt: no key "
		    "configured");
		goto out;
	}
	if ((k = jwt_keys_new()) == NULL ||
	    (secret = malloc(CFG_SECRET_BUF)) == NULL) {
		jwt_why(r, why, whylen, "out of memory");
		goto out;
	}
	if (cfg->hs256_secret_file != NULL) {
		if (cfg_relay_secret_read(cfg->hs256_secret_file, secret,
		    CFG_SECRET_BUF, &len, why, whylen) != 0) {
			r = JWT_E_KEY;
			goto out;
		}
		if ((r = jwt_keys_set_hs256(k, secret, len, why, whylen)) != 0)
			goto out;
	}
	for (i = 0; i < cfg->nes256_keys; i++) {
		if ((r = jwt_keys_add_es256_file(k, cfg->es256_keys[i], why,
		    whylen)) != JWT_OK)
			goto out;
	}
	if (jwt_keys_set_issuer(k, cfg->issuer) != JWT_OK ||
	    jwt_keys_set_audience(k, cfg->audience) != JWT_OK) {
		r = jwt_why(JWT_E_NOMEM, why, whylen, "out of memory");
		goto out;
	}
	jwt_keys_set_leeway(k, cfg->leeway_ms / 1000);
	if (cfg->denylist != NULL) {
		if (jwt_denylist_load(cfg->denylist, &dl, why, whylen) != 0) {
			r = JWT_E_KEY;
			goto out;
		}
		jwt_keys_set_denylist(k, dl);
	}
	*out = k;
	k = NULL;
	r = JWT_OK;
out:
	if (secret != NULL) {
		OPENSSL_cleanse(secret, CFG_SECRET_BUF);
		free(secret);
	}
	jwt_keys_free(k);
	return r;
}

void
jwt_claims_free(struct jwt_claims *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->nexpose; i++)
		free(c->expose[i]);
	free(c->expose);
	for (i = 0; i < c->nconnect; i++)
		free(c->connect[i]);
	free(c->connect);
	memset(c, 0, sizeof(*c));
}

int
jwt_valid_expose(const char *s)
{
	size_t n = strspn(s, "0123456789");
	unsigned long port;

	if (n != 0 && s[n] == '\0') {
		/* A port: 1..65535, no leading zero (one spelling each). */
		if (s[0] == '0' || n > 5)
			return 0;
		port = strtoul(s, NULL, 10);
		return port >= 1 && port <= 65535;
	}
	/* "GROUP/SERVICE": a private service served under a group name,
	 * which nobody may do without saying so (docs/SECURITY.md). */
	if (strchr(s, '/') != NULL)
		return jwt_valid_connect(s);
	return cfg_valid_id(s) && strlen(s) <= CFG_NAME_MAX;
}

int
jwt_valid_connect(const char *s)
{
	char agent[CFG_ID_MAX + 1];
	const char *slash;
	size_t n;

	if ((slash = strchr(s, '/')) == NULL)
		return 0;
	if ((n = (size_t)(slash - s)) == 0 || n > CFG_ID_MAX)
		return 0;
	memcpy(agent, s, n);
	agent[n] = '\0';
	return cfg_valid_id(agent) && cfg_valid_id(slash + 1) &&
	    strlen(slash + 1) <= CFG_NAME_MAX;
}

int
jwt_claims_may_expose(const struct jwt_claims *c, const char *service,
    uint16_t port)
{
	char num[8];
	size_t i;

	snprintf(num, sizeof(num), "%u", port);
	for (i = 0; i < c->nexpose; i++) {
		if (service != NULL && strcmp(c->expose[i], service) == 0)
			return 1;
		if (port != 0 && strcmp(c->expose[i], num) == 0)
			return 1;
	}
	return 0;
}

int
jwt_claims_may_connect(const struct jwt_claims *c, const char *agent,
    const char *service)
{
	size_t i, alen = strlen(agent);

	for (i = 0; i < c->nconnect; i++) {
		if (strncmp(c->connect[i], agent, alen) == 0 &&
		    c->connect[i][alen] == '/' &&
		    strcmp(c->connect[i] + alen + 1, service) == 0)
			return 1;
	}
	return 0;
}

/* Decode one part; what names it in the reason. */
static int
jwt_part(const char *s, size_t len, const char *what, uint8_t **out,
    size_t *outlen, char *why, size_t whylen)
{
	uint8_t *buf;
	size_t size = JWT_B64_DECLEN(len) + 1;

	*out = NULL;
	if ((buf = malloc(size)) == NULL)
		return jwt_why(JWT_E_NOMEM, why, whylen, "out of memory");
	/* An empty part decodes to nothing; the checks after refuse it
	 * with a better reason (alg none has an empty signature). */
	if (jwt_b64_decode(s, len, buf, size, outlen) != 0) {
		free(buf);
		return jwt_why(JWT_E_FORMAT, why, whylen, "malformed base64url "
		    "in the %s", what);
	}
	buf[*outlen] = '\0';
	*out = buf;
	return JWT_OK;
}

static void
jwt_parts_free(struct jwt_parts *p)
{
	free(p->header);
	free(p->payload);
	free(p->sig);
}

/* Split into three parts and decode them. */
static int
jwt_split(const char *token, size_t len, struct jwt_parts *p, char *why,
    size_t whylen)
{
	const char *d1, *d2;
	int r;

	memset(p, 0, sizeof(*p));
	if ((d1 = memchr(token, '.', len)) == NULL ||
	    (d2 = memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - token))) == NULL ||
	    memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - token)) != NULL)
		return jwt_why(JWT_E_FORMAT, why, whylen, "malformed token: "
		    "not three parts separated by dots");
	p->signed_part = token;
	p->signed_len = (size_t)(d2 - token);
	if ((r = jwt_part(token, (size_t)(d1 - token), "header", &p->header,
	    &p->headerlen, why, whylen)) != JWT_OK ||
	    (r = jwt_part(d1 + 1, (size_t)(d2 - d1 - 1), "payload",
	    &p->payload, &p->payloadlen, why, whylen)) != JWT_OK ||
	    (r = jwt_part(d2 + 1, len - (size_t)(d2 + 1 - token), "signature",
	    &p->sig, &p->siglen, why, whylen)) != JWT_OK)
		return r;
	return JWT_OK;
}

/* Parse one part as a JSON object; what names it in the reason. */
static int
jwt_json(const uint8_t *buf, size_t len, const char *what, json_t **out,
    char *why, size_t whylen)
{
	json_error_t err;
	json_t *j;

	*out = NULL;
	/* Duplicate keys: two parsers could each read a different "sub". */
	if ((j = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES,
	    &err)) == NULL) {
		if (json_error_code(&err) == json_error_duplicate_key)
			return jwt_why(JWT_E_FORMAT, why, whylen, "duplicate "
			    "key in the %s", what);
		if (json_error_code(&err) == json_error_out_of_memory)
			return jwt_why(JWT_E_NOMEM, why, whylen, "out of "
			    "memory");
		return jwt_why(JWT_E_FORMAT, why, whylen, "malformed JSON in "
		    "the %s", what);
	}
	if (!json_is_object(j)) {
		json_decref(j);
		return jwt_why(JWT_E_FORMAT, why, whylen, "malformed %s: not "
		    "a JSON object", what);
	}
	*out = j;
	return JWT_OK;
}

/* The header: alg allowed by the configured keys, typ, no crit. */
static int
jwt_header(const struct jwt_keys *k, const struct jwt_parts *p,
    enum jwt_alg *alg, char *why, size_t whylen)
{
	json_t *h = NULL, *v;
	const char *name;
	int r;

	if ((r = jwt_json(p->header, p->headerlen, "header", &h, why,
	    whylen)) != JWT_OK)
		goto out;
	r = JWT_E_FORMAT;
	if ((v = json_object_get(h, "typ")) != NULL &&
	    (!json_is_string(v) || strcmp(json_string_value(v), "JWT") != 0)) {
		jwt_why(r, why, whylen, "header typ is not JWT");
		goto out;
	}
	if (json_object_get(h, "crit") != NULL) {
		jwt_why(r, why, whylen, "header crit is not supported");
		goto out;
	}
	r = JWT_E_ALG;
	if ((v = json_object_get(h, "alg")) == NULL) {
		jwt_why(r, why, whylen, "algorithm not allowed: alg missing");
		goto out;
	}
	if (!json_is_string(v)) {
		jwt_why(r, why, whylen, "algorithm not allowed: alg is not a "
		    "string");
		goto out;
	}
	/* Pinned by the keys: an ES256 public key is never an HMAC key. */
	name = json_string_value(v);
	if (strcmp(name, "HS256") == 0) {
		if (k->secret == NULL) {
			jwt_why(r, why, whylen, "algorithm not allowed: HS256 "
			    "(no HS256 secret configured)");
			goto out;
		}
		*alg = JWT_ALG_HS256;
	} else if (strcmp(name, "ES256") == 0) {
		if (k->nes256 == 0) {
			jwt_why(r, why, whylen, "algorithm not allowed: ES256 "
			    "(no ES256 key configured)");
			goto out;
		}
		*alg = JWT_ALG_ES256;
	} else {
		jwt_why(r, why, whylen, "algorithm not allowed (only HS256 "
		    "and ES256 are accepted)");
		goto out;
	}
	r = JWT_OK;
out:
	json_decref(h);
	return r;
}

static int
jwt_check_hs256(const struct jwt_keys *k, const struct jwt_parts *p)
{
	uint8_t mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;

	if (p->siglen != JWT_HS256_SIGLEN)
		return 0;
	if (HMAC(EVP_sha256(), k->secret, (int)k->secretlen,
	    (const unsigned char *)p->signed_part, p->signed_len, mac,
	    &maclen) == NULL || maclen != JWT_HS256_SIGLEN)
		return 0;
	/* Constant time: the position of the first wrong byte leaks nothing. */
	return CRYPTO_memcmp(mac, p->sig, JWT_HS256_SIGLEN) == 0;
}

/* JOSE r || s into the DER ECDSA-Sig-Value that EVP_DigestVerify takes. */
static int
jwt_es256_der(const uint8_t *raw, unsigned char **der, int *derlen)
{
	ECDSA_SIG *sig = NULL;
	BIGNUM *r = NULL, *s = NULL;
	int ok = 0;

	*der = NULL;
	if ((sig = ECDSA_SIG_new()) == NULL ||
	    (r = BN_bin2bn(raw, 32, NULL)) == NULL ||
	    (s = BN_bin2bn(raw + 32, 32, NULL)) == NULL ||
	    ECDSA_SIG_set0(sig, r, s) != 1)
		goto out;
	r = s = NULL;	/* sig owns them */
	if ((*derlen = i2d_ECDSA_SIG(sig, der)) <= 0)
		goto out;
	ok = 1;
out:
	BN_free(r);
	BN_free(s);
	ECDSA_SIG_free(sig);
	return ok;
}

static int
jwt_check_es256(const struct jwt_keys *k, const struct jwt_parts *p)
{
	unsigned char *der = NULL;
	EVP_MD_CTX *md = NULL;
	int derlen = 0, ok = 0;
	size_t i;

	if (p->siglen != JWT_ES256_SIGLEN || !jwt_es256_der(p->sig, &der,
	    &derlen))
		goto out;
	/* Any configured key: keys rotate with an overlap. */
	for (i = 0; i < k->nes256 && !ok; i++) {
		if ((md = EVP_MD_CTX_new()) == NULL)
			goto out;
		if (EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL,
		    k->es256[i]) == 1 && EVP_DigestVerify(md, der,
		    (size_t)derlen, (const unsigned char *)p->signed_part,
		    p->signed_len) == 1)
			ok = 1;
		EVP_MD_CTX_free(md);
		md = NULL;
	}
out:
	ERR_clear_error();
	OPENSSL_free(der);
	return ok;
}

/* A NumericDate claim: absent (0 and *present 0), or an integer >= 0. */
static int
jwt_time(const json_t *pl, const char *name, uint64_t *v, int *present,
    char *why, size_t whylen)
{
	const json_t *j;

	*v = 0;
	*present = 0;
	if ((j = json_object_get(pl, name)) == NULL)
		return JWT_OK;
	if (!json_is_integer(j) || json_integer_value(j) < 0)
		return jwt_why(JWT_E_CLAIM, why, whylen, "%s is not a "
		    "non-negative integer", name);
	*v = (uint64_t)json_integer_value(j);
	*present = 1;
	return JWT_OK;
}

static int
jwt_times(const struct jwt_keys *k, const json_t *pl, uint64_t now,
    struct jwt_claims *c, char *why, size_t whylen)
{
	int r, present;

	if ((r = jwt_time(pl, "exp", &c->exp, &present, why, whylen)) != 0)
		return r;
	if (!present)
		return jwt_why(JWT_E_CLAIM, why, whylen, "missing exp");
	/* exp <= INT64_MAX and leeway <= 3600: no wrap in uint64_t. */
	if (now >= c->exp + k->leeway)
		return jwt_why(JWT_E_EXPIRED, why, whylen, "expired");
	if ((r = jwt_time(pl, "nbf", &c->nbf, &present, why, whylen)) != 0)
		return r;
	if (present && c->nbf > now + k->leeway)
		return jwt_why(JWT_E_NOTYET, why, whylen, "not yet valid "
		    "(nbf)");
	return jwt_time(pl, "iat", &c->iat, &present, why, whylen);
}

static int
jwt_issuer(const struct jwt_keys *k, const json_t *pl, char *why,
    size_t whylen)
{
	const json_t *j = json_object_get(pl, "iss");

	if (j != NULL && !json_is_string(j))
		return jwt_why(JWT_E_CLAIM, why, whylen, "iss is not a "
		    "string");
	if (k->issuer == NULL)
		return JWT_OK;
	if (j == NULL)
		return jwt_why(JWT_E_CLAIM, why, whylen, "missing iss (an "
		    "issuer is configured)");
	if (strcmp(json_string_value(j), k->issuer) != 0)
		return jwt_why(JWT_E_CLAIM, why, whylen, "wrong issuer");
	return JWT_OK;
}

/* aud: a string or an array of strings (RFC 7519 4.1.3). */
static int
jwt_audience(const struct jwt_keys *k, const json_t *pl, char *why,
    size_t whylen)
{
	const json_t *j = json_object_get(pl, "aud"), *v;
	size_t i;
	int found = 0;

	if (j == NULL) {
		if (k->audience == NULL)
			return JWT_OK;
		return jwt_why(JWT_E_CLAIM, why, whylen, "missing aud (an "
		    "audience is configured)");
	}
	if (json_is_string(j))
		found = k->audience != NULL &&
		    strcmp(json_string_value(j), k->audience) == 0;
	else if (json_is_array(j) && json_array_size(j) <= JWT_LIST_MAX) {
		json_array_foreach(j, i, v) {
			if (!json_is_string(v))
				return jwt_why(JWT_E_CLAIM, why, whylen, "aud "
				    "is not a string or an array of strings");
			if (k->audience != NULL &&
			    strcmp(json_string_value(v), k->audience) == 0)
				found = 1;
		}
	} else
		return jwt_why(JWT_E_CLAIM, why, whylen, "aud is not a string "
		    "or an array of at most %d strings", JWT_LIST_MAX);
	/* A token meant for someone else is not ours to accept. */
	if (k->audience == NULL)
		return jwt_why(JWT_E_CLAIM, why, whylen, "aud present but no "
		    "audience configured");
	if (!found)
		return jwt_why(JWT_E_CLAIM, why, whylen, "wrong audience");
	return JWT_OK;
}

/* expose / connect: an optional array of strings, each valid(). */
static int
jwt_list(const json_t *pl, const char *name, int (*valid)(const char *),
    char ***list, size_t *n, char *why, size_t whylen)
{
	const json_t *j, *v;
	size_t i;

	if ((j = json_object_get(pl, name)) == NULL)
		return JWT_OK;
	if (!json_is_array(j))
		return jwt_why(JWT_E_CLAIM, why, whylen, "%s is not an array",
		    name);
	if (json_array_size(j) > JWT_LIST_MAX)
		return jwt_why(JWT_E_CLAIM, why, whylen, "%s has more than %d "
		    "entries", name, JWT_LIST_MAX);
	if (json_array_size(j) == 0)
		return JWT_OK;
	if ((*list = calloc(json_array_size(j), sizeof(**list))) == NULL)
		return jwt_why(JWT_E_NOMEM, why, whylen, "out of memory");
	json_array_foreach(j, i, v) {
		if (!json_is_string(v) || !valid(json_string_value(v)))
			return jwt_why(JWT_E_CLAIM, why, whylen, "%s[%zu] is "
			    "not %s", name, i, valid == jwt_valid_expose ?
			    "a service name or port" : "AGENT/SERVICE");
		if (((*list)[i] = strdup(json_string_value(v))) == NULL)
			return jwt_why(JWT_E_NOMEM, why, whylen, "out of "
			    "memory");
		(*n)++;
	}
	return JWT_OK;
}

static int
jwt_subject(const struct jwt_keys *k, const json_t *pl, struct jwt_claims *c,
    char *why, size_t whylen)
{
	const json_t *j;
	const char *s;

	if ((j = json_object_get(pl, "sub")) == NULL)
		return jwt_why(JWT_E_CLAIM, why, whylen, "missing sub");
	if (!json_is_string(j))
		return jwt_why(JWT_E_CLAIM, why, whylen, "sub is not a "
		    "string");
	if (!cfg_valid_id(s = json_string_value(j)))
		return jwt_why(JWT_E_CLAIM, why, whylen, "sub is not a valid "
		    "identity ([A-Za-z0-9][A-Za-z0-9._-], at most %d)",
		    CFG_ID_MAX);
	memcpy(c->sub, s, strlen(s) + 1);
	if ((j = json_object_get(pl, "jti")) == NULL)
		return JWT_OK;
	if (!json_is_string(j))
		return jwt_why(JWT_E_CLAIM, why, whylen, "jti is not a "
		    "string");
	s = json_string_value(j);
	if (strlen(s) > JWT_JTI_MAX)
		return jwt_why(JWT_E_CLAIM, why, whylen, "jti longer than %d",
		    JWT_JTI_MAX);
	memcpy(c->jti, s, strlen(s) + 1);
	if (jwt_denylist_has(k->deny, c->jti))
		return jwt_why(JWT_E_REVOKED, why, whylen, "revoked (jti on "
		    "the deny list)");
	return JWT_OK;
}

/* Every claim of a payload whose signature is already checked. */
static int
jwt_claims(const struct jwt_keys *k, const struct jwt_parts *p, uint64_t now,
    struct jwt_claims *c, char *why, size_t whylen)
{
	json_t *pl = NULL;
	int r;

	if ((r = jwt_json(p->payload, p->payloadlen, "payload", &pl, why,
	    whylen)) != JWT_OK)
		goto out;
	if ((r = jwt_times(k, pl, now, c, why, whylen)) != JWT_OK ||
	    (r = jwt_issuer(k, pl, why, whylen)) != JWT_OK ||
	    (r = jwt_audience(k, pl, why, whylen)) != JWT_OK ||
	    (r = jwt_subject(k, pl, c, why, whylen)) != JWT_OK ||
	    (r = jwt_list(pl, "expose", jwt_valid_expose, &c->expose,
	    &c->nexpose, why, whylen)) != JWT_OK ||
	    (r = jwt_list(pl, "connect", jwt_valid_connect, &c->connect,
	    &c->nconnect, why, whylen)) != JWT_OK)
		goto out;
out:
	json_decref(pl);
	return r;
}

int
jwt_verify(const struct jwt_keys *k, const char *token, size_t len,
    uint64_t now_s, struct jwt_claims *out, char *why, size_t whylen)
{
	struct jwt_parts p;
	int r, ok;

	memset(out, 0, sizeof(*out));
	memset(&p, 0, sizeof(p));
	/* Before any work: the cost of a refusal stays bounded. */
	if (len > JWT_TOKEN_MAX) {
		r = jwt_why(JWT_E_SIZE, why, whylen, "token too long (%zu "
		    "bytes, at most %d)", len, JWT_TOKEN_MAX);
		goto out;
	}
	if ((r = jwt_split(token, len, &p, why, whylen)) != JWT_OK ||
	    (r = jwt_header(k, &p, &out->alg, why, whylen)) != JWT_OK)
		goto out;
	if (out->alg == JWT_ALG_HS256)
		ok = jwt_check_hs256(k, &p);
	else
		ok = jwt_check_es256(k, &p);
	if (!ok) {
		r = jwt_why(JWT_E_SIGNATURE, why, whylen, "bad signature");
		goto out;
	}
	r = jwt_claims(k, &p, now_s, out, why, whylen);
out:
	if (r != JWT_OK)
		jwt_claims_free(out);
	jwt_parts_free(&p);
	return r;
}
