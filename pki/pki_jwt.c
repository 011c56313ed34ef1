/*
 * pki_jwt.c — HS256 secrets, ES256 key pairs and tokens for atlax-pki.
 */
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "jwt.h"
#include "jwt_mint.h"
#include "pki.h"
#include "pki_file.h"
#include "pki_jwt.h"
#include "pki_x509.h"

int
pki_jwt_keygen_hs256(const char *path, int force, char *err, size_t len)
{
	struct pki_file pf;
	uint8_t raw[PKI_JWT_SECRET_BYTES];
	unsigned char text[2 * PKI_JWT_SECRET_BYTES];
	int r = PKI_ERR;

	memset(&pf, 0, sizeof(pf));
	if (!force && pki_file_exists(path)) {
		snprintf(err, len, "%s exists (--force replaces it)", path);
		goto out;
	}
	if (RAND_priv_bytes(raw, sizeof(raw)) != 1) {
		pki_x509_error(err, len, "no random bytes");
		goto out;
	}
	EVP_EncodeBlock(text, raw, sizeof(raw));
	if (pki_file_open(&pf, path, PKI_MODE_KEY, err, len) != 0)
		goto out;
	if (fprintf(pf.f, "%s\n", (char *)text) < 0) {
		snprintf(err, len, "%s: cannot write the secret", path);
		goto out;
	}
	if (pki_file_commit(&pf, force, err, len) != 0)
		goto out;
	r = PKI_OK;
out:
	OPENSSL_cleanse(raw, sizeof(raw));
	OPENSSL_cleanse(text, sizeof(text));
	pki_file_abort(&pf);
	return r;
}

int
pki_jwt_keygen_es256(const char *prefix, int force, char *err, size_t len)
{
	struct pki_file kf, pf;
	EVP_PKEY *key = NULL;
	char keypath[PATH_MAX], pubpath[PATH_MAX];
	int r = PKI_ERR;

	memset(&kf, 0, sizeof(kf));
	memset(&pf, 0, sizeof(pf));
	if ((size_t)snprintf(keypath, sizeof(keypath), "%s.key", prefix) >=
	    sizeof(keypath) || (size_t)snprintf(pubpath, sizeof(pubpath),
	    "%s.pub", prefix) >= sizeof(pubpath)) {
		snprintf(err, len, "--out: path too long");
		r = PKI_EUSAGE;
		goto out;
	}
	if (!force && (pki_file_exists(keypath) || pki_file_exists(pubpath))) {
		snprintf(err, len, "%s exists (--force replaces it)",
		    pki_file_exists(keypath) ? keypath : pubpath);
		goto out;
	}
	if ((key = pki_x509_keygen(err, len)) == NULL)
		goto out;
	if (pki_file_open(&kf, keypath, PKI_MODE_KEY, err, len) != 0)
		goto out;
	if (PEM_write_PrivateKey(kf.f, key, NULL, NULL, 0, NULL, NULL) != 1) {
		ERR_clear_error();
		snprintf(err, len, "%s: cannot write the key", keypath);
		goto out;
	}
	if (pki_file_open(&pf, pubpath, PKI_MODE_PUBLIC, err, len) != 0)
		goto out;
	if (PEM_write_PUBKEY(pf.f, key) != 1) {
		pki_x509_error(err, len, "%s: cannot write the public key",
		    pubpath);
		goto out;
	}
	/* Private key first: a public key without its private one is
	 * useless, the other way round it can be derived again. */
	if (pki_file_commit(&kf, force, err, len) != 0)
		goto out;
	if (pki_file_commit(&pf, force, err, len) != 0) {
		pki_file_unpublish(&kf);
		goto out;
	}
	r = PKI_OK;
out:
	EVP_PKEY_free(key);
	pki_file_abort(&kf);
	pki_file_abort(&pf);
	return r;
}

int
pki_jwt_parse_ttl(const char *s, uint64_t *ttl, char *err, size_t len)
{
	char num[32], reason[128];
	uint64_t v, ms;
	size_t n = strlen(s);

	*ttl = 0;
	if (n > 1 && n < sizeof(num) && s[n - 1] == 'd') {
		/* Days: cfg durations stop at hours. */
		memcpy(num, s, n - 1);
		num[n - 1] = '\0';
		if (cfg_parse_uint(num, PKI_JWT_TTL_MAX / 86400, &v, reason,
		    sizeof(reason)) != 0 || v == 0)
			goto bad;
		*ttl = v * 86400;
		return PKI_OK;
	}
	if (cfg_parse_duration(s, &ms, reason, sizeof(reason)) != 0 ||
	    ms % 1000 != 0 || ms == 0 || ms / 1000 > PKI_JWT_TTL_MAX)
		goto bad;
	*ttl = ms / 1000;
	return PKI_OK;
bad:
	snprintf(err, len, "--ttl: expected whole seconds, minutes, hours or "
	    "days from 1s to %llud (90s, 15m, 24h, 30d)",
	    PKI_JWT_TTL_MAX / 86400);
	return PKI_EUSAGE;
}

int
pki_jwt_token(const struct pki_token_req *req, uint64_t now, char **token,
    char *err, size_t len)
{
	struct jwt_signer *s = NULL;
	struct jwt_mint m;
	uint8_t rnd[16];
	char jti[2 * sizeof(rnd) + 1];
	size_t i;
	int r = PKI_ERR, jr;

	*token = NULL;
	memset(&m, 0, sizeof(m));
	if (req->jti == NULL) {
		/* A jti lets one token be revoked through the deny list. */
		if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
			pki_x509_error(err, len, "no random bytes");
			goto out;
		}
		for (i = 0; i < sizeof(rnd); i++)
			snprintf(jti + 2 * i, 3, "%02x", rnd[i]);
	}
	m.sub = req->sub;
	m.iat = now;
	m.exp = now + req->ttl;
	m.iss = req->iss;
	m.aud = req->aud;
	m.jti = req->jti != NULL ? req->jti : jti;
	m.expose = req->expose;
	m.nexpose = req->nexpose;
	m.connect = req->connect;
	m.nconnect = req->nconnect;
	if (req->secret_file != NULL)
		jr = jwt_signer_hs256_file(req->secret_file, &s, err, len);
	else
		jr = jwt_signer_es256_file(req->key_file, &s, err, len);
	if (jr != JWT_OK)
		goto out;
	if ((jr = jwt_mint(s, &m, token, err, len)) != JWT_OK) {
		r = jr == JWT_E_CLAIM || jr == JWT_E_SIZE ? PKI_EUSAGE :
		    PKI_ERR;
		goto out;
	}
	r = PKI_OK;
out:
	jwt_signer_free(s);
	return r;
}
