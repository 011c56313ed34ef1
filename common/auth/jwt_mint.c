/*
 * jwt_mint.c — signing: the JSON is built by jansson (compact, so the token
 * stays short), the signature is HMAC-SHA256 or ECDSA P-256 converted from
 * DER to the JOSE r || s form.
 */
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

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
#include "jwt_mint.h"
#include "log.h"

#define JWT_PEM_MAX	(64 * 1024)

struct jwt_signer {
	enum jwt_alg	 alg;
	uint8_t		*secret;	/* HS256 */
	size_t		 secretlen;
	EVP_PKEY	*pkey;		/* ES256 */
};


int
jwt_signer_hs256(const uint8_t *secret, size_t len, struct jwt_signer **out,
    char *why, size_t whylen)
{
	struct jwt_signer *s = NULL;
	int r = JWT_E_NOMEM;

	*out = NULL;
	if (len < JWT_SECRET_MIN || len > CFG_SECRET_MAX) {
		r = jwt_why(JWT_E_KEY, why, whylen, "HS256 secret of %zu "
		    "bytes, %d..%d are needed", len, JWT_SECRET_MIN,
		    CFG_SECRET_MAX);
		goto out;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (s->secret = malloc(len)) == NULL) {
		jwt_why(r, why, whylen, "out of memory");
		goto out;
	}
	memcpy(s->secret, secret, len);
	s->secretlen = len;
	s->alg = JWT_ALG_HS256;
	*out = s;
	s = NULL;
	r = JWT_OK;
out:
	jwt_signer_free(s);
	return r;
}

int
jwt_signer_hs256_file(const char *path, struct jwt_signer **out, char *why,
    size_t whylen)
{
	uint8_t *buf;
	size_t len;
	int r;

	*out = NULL;
	if ((buf = malloc(CFG_SECRET_BUF)) == NULL)
		return jwt_why(JWT_E_NOMEM, why, whylen, "out of memory");
	if (cfg_relay_secret_read(path, buf, CFG_SECRET_BUF, &len, why,
	    whylen) != 0)
		r = JWT_E_KEY;
	else
		r = jwt_signer_hs256(buf, len, out, why, whylen);
	OPENSSL_cleanse(buf, CFG_SECRET_BUF);
	free(buf);
	return r;
}

int
jwt_signer_es256_pem(const char *pem, size_t len, struct jwt_signer **out,
    char *why, size_t whylen)
{
	struct jwt_signer *s = NULL;
	EVP_PKEY *pkey = NULL;
	BIO *bio = NULL;
	char group[64];
	size_t glen;
	int r = JWT_E_KEY;

	*out = NULL;
	if (len > JWT_PEM_MAX || (bio = BIO_new_mem_buf(pem, (int)len)) ==
	    NULL) {
		jwt_why(r, why, whylen, "private key too large");
		goto out;
	}
	if ((pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL)) == NULL) {
		jwt_why(r, why, whylen, "no PEM private key");
		goto out;
	}
	if (!EVP_PKEY_is_a(pkey, "EC") ||
	    EVP_PKEY_get_utf8_string_param(pkey, "group", group,
	    sizeof(group), &glen) != 1 || strcmp(group, "prime256v1") != 0) {
		jwt_why(r, why, whylen, "not an EC P-256 key (ES256 needs "
		    "one)");
		goto out;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		r = jwt_why(JWT_E_NOMEM, why, whylen, "out of memory");
		goto out;
	}
	s->alg = JWT_ALG_ES256;
	s->pkey = pkey;
	pkey = NULL;
	*out = s;
	r = JWT_OK;
out:
	ERR_clear_error();
	EVP_PKEY_free(pkey);
	BIO_free(bio);
	return r;
}

int
jwt_signer_es256_file(const char *path, struct jwt_signer **out, char *why,
    size_t whylen)
{
	FILE *f = NULL;
	char *pem = NULL, reason[256];
	size_t n;
	int r = JWT_E_KEY;

	*out = NULL;
	if ((f = fopen(path, "re")) == NULL) {
		jwt_why(r, why, whylen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if ((pem = malloc(JWT_PEM_MAX + 1)) == NULL) {
		r = jwt_why(JWT_E_NOMEM, why, whylen, "out of memory");
		goto out;
	}
	n = fread(pem, 1, JWT_PEM_MAX + 1, f);
	if (ferror(f) || n > JWT_PEM_MAX) {
		jwt_why(r, why, whylen, "%s: %s", path, ferror(f) ?
		    "read error" : "too large for a key");
		goto out;
	}
	if ((r = jwt_signer_es256_pem(pem, n, out, reason,
	    sizeof(reason))) != JWT_OK)
		jwt_why(r, why, whylen, "%s: %s", path, reason);
out:
	if (pem != NULL) {
		OPENSSL_cleanse(pem, JWT_PEM_MAX + 1);
		free(pem);
	}
	if (f != NULL)
		fclose(f);
	return r;
}

void
jwt_signer_free(struct jwt_signer *s)
{
	if (s == NULL)
		return;
	if (s->secret != NULL) {
		OPENSSL_cleanse(s->secret, s->secretlen);
		free(s->secret);
	}
	EVP_PKEY_free(s->pkey);
	free(s);
}

/* ECDSA over data, as JOSE r || s (RFC 7518 3.4). */
static int
jwt_mint_es256(EVP_PKEY *pkey, const char *data, size_t len, uint8_t *sig)
{
	EVP_MD_CTX *md = NULL;
	ECDSA_SIG *es = NULL;
	unsigned char der[128];
	const unsigned char *p = der;
	const BIGNUM *r, *s;
	size_t derlen = sizeof(der);
	int ok = 0;

	if ((md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, pkey) != 1 ||
	    EVP_DigestSign(md, der, &derlen, (const unsigned char *)data,
	    len) != 1 ||
	    (es = d2i_ECDSA_SIG(NULL, &p, (long)derlen)) == NULL)
		goto out;
	ECDSA_SIG_get0(es, &r, &s);
	if (BN_bn2binpad(r, sig, 32) != 32 || BN_bn2binpad(s, sig + 32, 32) !=
	    32)
		goto out;
	ok = 1;
out:
	ECDSA_SIG_free(es);
	EVP_MD_CTX_free(md);
	return ok;
}

int
jwt_sign_raw(const struct jwt_signer *s, const char *header, size_t hlen,
    const char *payload, size_t plen, char **token, char *why, size_t whylen)
{
	uint8_t sig[64];
	unsigned int siglen = 0;
	char *t = NULL;
	size_t size, off;
	int r = JWT_E_NOMEM;

	*token = NULL;
	size = JWT_B64_ENCLEN(hlen) + 1 + JWT_B64_ENCLEN(plen) + 1 +
	    JWT_B64_ENCLEN(sizeof(sig)) + 1;
	if (hlen > JWT_TOKEN_MAX * 2 || plen > JWT_TOKEN_MAX * 2) {
		r = jwt_why(JWT_E_SIZE, why, whylen, "header or payload "
		    "too long");
		goto out;
	}
	if ((t = malloc(size)) == NULL) {
		jwt_why(r, why, whylen, "out of memory");
		goto out;
	}
	off = (size_t)jwt_b64_encode((const uint8_t *)header, hlen, t, size);
	t[off++] = '.';
	off += (size_t)jwt_b64_encode((const uint8_t *)payload, plen, t + off,
	    size - off);
	if (s->alg == JWT_ALG_HS256) {
		if (HMAC(EVP_sha256(), s->secret, (int)s->secretlen,
		    (const unsigned char *)t, off, sig, &siglen) == NULL)
			siglen = 0;
	} else if (jwt_mint_es256(s->pkey, t, off, sig))
		siglen = 64;
	if (siglen == 0) {
		ERR_clear_error();
		r = jwt_why(JWT_E_KEY, why, whylen, "signing failed");
		goto out;
	}
	t[off++] = '.';
	jwt_b64_encode(sig, siglen, t + off, size - off);
	*token = t;
	t = NULL;
	r = JWT_OK;
out:
	free(t);
	return r;
}

/* Add a string array claim; NULL/0 leaves it out. */
static int
jwt_mint_list(json_t *pl, const char *name, const char *const *v, size_t n,
    int (*valid)(const char *), char *why, size_t whylen)
{
	json_t *a;
	size_t i;

	if (n == 0)
		return JWT_OK;
	if (n > JWT_LIST_MAX)
		return jwt_why(JWT_E_CLAIM, why, whylen, "more than %d "
		    "%s entries", JWT_LIST_MAX, name);
	if ((a = json_array()) == NULL || json_object_set_new(pl, name, a) != 0)
		return jwt_why(JWT_E_NOMEM, why, whylen, "out of memory");
	for (i = 0; i < n; i++) {
		if (!valid(v[i]))
			return jwt_why(JWT_E_CLAIM, why, whylen, "bad %s "
			    "entry (want %s)", name, valid == jwt_valid_expose ?
			    "a service name or a port 1..65535" :
			    "AGENT/SERVICE");
		if (json_array_append_new(a, json_string(v[i])) != 0)
			return jwt_why(JWT_E_NOMEM, why, whylen, "out of "
			    "memory");
	}
	return JWT_OK;
}

/* Set name to a string (NULL: leave out). */
static int
jwt_mint_str(json_t *pl, const char *name, const char *v)
{
	json_t *j;

	if (v == NULL)
		return 0;
	if ((j = json_string(v)) == NULL)
		return -1;	/* not UTF-8, or out of memory */
	return json_object_set_new(pl, name, j);
}

static int
jwt_mint_payload(const struct jwt_mint *m, json_t **out, char *why,
    size_t whylen)
{
	json_t *pl = NULL;
	int r = JWT_E_CLAIM;

	*out = NULL;
	if (m->sub == NULL || !cfg_valid_id(m->sub)) {
		jwt_why(r, why, whylen, "sub must be an identity "
		    "([A-Za-z0-9][A-Za-z0-9._-], at most %d)", CFG_ID_MAX);
		goto out;
	}
	if (m->exp <= m->iat || m->exp > INT64_MAX) {
		jwt_why(r, why, whylen, "exp must be after iat");
		goto out;
	}
	if (m->jti != NULL && (strlen(m->jti) > JWT_JTI_MAX ||
	    *m->jti == '\0')) {
		jwt_why(r, why, whylen, "jti must be 1..%d bytes",
		    JWT_JTI_MAX);
		goto out;
	}
	if ((pl = json_object()) == NULL ||
	    jwt_mint_str(pl, "sub", m->sub) != 0 ||
	    (m->iss != NULL && jwt_mint_str(pl, "iss", m->iss) != 0) ||
	    (m->aud != NULL && jwt_mint_str(pl, "aud", m->aud) != 0) ||
	    json_object_set_new(pl, "iat", json_integer((json_int_t)m->iat)) ||
	    json_object_set_new(pl, "exp", json_integer((json_int_t)m->exp)) ||
	    (m->nbf != 0 && json_object_set_new(pl, "nbf",
	    json_integer((json_int_t)m->nbf)) != 0) ||
	    jwt_mint_str(pl, "jti", m->jti) != 0) {
		jwt_why(r, why, whylen, "a claim is not valid UTF-8");
		goto out;
	}
	if ((r = jwt_mint_list(pl, "expose", m->expose, m->nexpose,
	    jwt_valid_expose, why, whylen)) != JWT_OK ||
	    (r = jwt_mint_list(pl, "connect", m->connect, m->nconnect,
	    jwt_valid_connect, why, whylen)) != JWT_OK)
		goto out;
	*out = pl;
	pl = NULL;
	r = JWT_OK;
out:
	json_decref(pl);
	return r;
}

int
jwt_mint(const struct jwt_signer *s, const struct jwt_mint *m, char **token,
    char *why, size_t whylen)
{
	json_t *pl = NULL;
	char *text = NULL;
	const char *header;
	int r;

	*token = NULL;
	if ((r = jwt_mint_payload(m, &pl, why, whylen)) != JWT_OK)
		goto out;
	if ((text = json_dumps(pl, JSON_COMPACT)) == NULL) {
		r = jwt_why(JWT_E_NOMEM, why, whylen, "out of memory");
		goto out;
	}
	header = s->alg == JWT_ALG_HS256 ? "{\"alg\":\"HS256\",\"typ\":\"JWT\"}" :
	    "{\"alg\":\"ES256\",\"typ\":\"JWT\"}";
	if ((r = jwt_sign_raw(s, header, strlen(header), text, strlen(text),
	    token, why, whylen)) != JWT_OK)
		goto out;
	if (strlen(*token) > JWT_TOKEN_MAX) {
		free(*token);
		*token = NULL;
		r = jwt_why(JWT_E_SIZE, why, whylen, "token longer than "
		    "%d bytes", JWT_TOKEN_MAX);
	}
out:
	free(text);
	json_decref(pl);
	return r;
}
