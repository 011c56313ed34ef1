/*
 * jwt.h — JSON Web Tokens (RFC 7519) as credentials: an agent (later also a
 * client) may present a token instead of a client certificate.
 *
 * Only two algorithms exist here, and which one a token may use is decided
 * by the keys configured, never by the token: HS256 (HMAC-SHA256, a shared
 * secret of at least JWT_SECRET_MIN bytes) and ES256 (ECDSA P-256 with
 * SHA-256, public keys in PEM).  A token whose header names anything else
 * ("none", "RS256", no alg at all) is refused, and so is an HS256 token when
 * no secret is configured: otherwise a public ES256 key, which is no secret,
 * could be used as an HMAC key to forge tokens (the algorithm confusion
 * attack).
 *
 * Claims read (all others are ignored):
 *   sub      string, required: the identity, certificate CN syntax
 *            ([A-Za-z0-9][A-Za-z0-9._-]{0,63}, cfg_valid_id())
 *   exp      integer seconds since the epoch, required; refused from
 *            exp + leeway on
 *   nbf      integer, optional; refused before nbf - leeway
 *   iat      integer, optional; only its type is checked
 *   iss      string; required and equal when an issuer is configured
 *   aud      string or array of strings; required and containing the
 *            configured audience when there is one; a token carrying an aud
 *            is refused when none is configured (it was meant for another
 *            service)
 *   jti      string, optional, at most JWT_JTI_MAX bytes;
 *            refused when on the deny list
 *   expose   array of strings, optional: the services the identity may
 *            publish, each a service name (cfg_valid_id(), at most
 *            CFG_NAME_MAX), a port number 1..65535 in decimal, or
 *            "GROUP/SERVICE" (a private service served under a group name)
 *   connect  array of strings, optional: "AGENT/SERVICE" pairs the holder
 *            may open streams to (both parts identity syntax)
 * The header may carry typ only as "JWT", and no crit (no extension is
 * understood, so RFC 7515 says refuse).
 *
 * Every function returning int gives JWT_OK (0) or a negative enum jwt_err;
 * the one-line reason goes to why (no trailing newline).  A reason names the
 * check that failed and never quotes the token or any part of it, so that it
 * can be logged.  For the relay every error is tunnel-fatal: the handshake
 * is refused, nothing else is affected.
 */
#ifndef ATLAX_JWT_H
#define ATLAX_JWT_H

#include <stddef.h>
#include <stdint.h>

#include "cfg.h"
#include "cfg_relay.h"
#include "jwt_denylist.h"

#define JWT_TOKEN_MAX		8192	/* bytes of a whole token */
#define JWT_SECRET_MIN		CFG_SECRET_MIN	/* HS256 secret: 32 bytes */
#define JWT_JTI_MAX		JWT_DENY_JTI_MAX
#define JWT_LIST_MAX		64	/* entries of expose, connect, aud */
#define JWT_CONNECT_MAX		(CFG_ID_MAX + 1 + CFG_NAME_MAX)
#define JWT_LEEWAY_DEFAULT	60	/* seconds */
#define JWT_LEEWAY_MAX		3600

enum jwt_err {
	JWT_OK = 0,
	JWT_E_NOMEM = -1,	/* out of memory */
	JWT_E_SIZE = -2,	/* token longer than JWT_TOKEN_MAX */
	JWT_E_FORMAT = -3,	/* not three parts, bad base64url, bad JSON,
				 * duplicate keys, not an object, bad header */
	JWT_E_ALG = -4,		/* algorithm not allowed by the keys */
	JWT_E_SIGNATURE = -5,	/* no configured key verifies it */
	JWT_E_EXPIRED = -6,	/* exp passed (beyond the leeway) */
	JWT_E_NOTYET = -7,	/* nbf not reached (beyond the leeway) */
	JWT_E_CLAIM = -8,	/* a claim missing, of the wrong type, or not
				 * matching the configured iss / aud */
	JWT_E_REVOKED = -9,	/* jti on the deny list */
	JWT_E_KEY = -10,	/* a key or deny list cannot be loaded */
};

/* HS256 or ES256. */
enum jwt_alg {
	JWT_ALG_HS256,
	JWT_ALG_ES256,
};

/* What a verified token says.  Filled by jwt_verify(). */
struct jwt_claims {
	enum jwt_alg alg;
	char	 sub[CFG_ID_MAX + 1];
	char	 jti[JWT_JTI_MAX + 1];	/* "" when absent */
	uint64_t exp;
	uint64_t nbf;			/* 0 when absent */
	uint64_t iat;			/* 0 when absent */
	char	**expose;		/* NULL when absent */
	size_t	 nexpose;
	char	**connect;		/* NULL when absent */
	size_t	 nconnect;
};

struct jwt_keys;	/* what tokens are verified against; opaque */

/*
 * A set with no key: every token is refused until a key is added.  NULL when
 * out of memory.  The issuer and audience are unset, the leeway is
 * JWT_LEEWAY_DEFAULT.
 */
struct jwt_keys *jwt_keys_new(void);
void	jwt_keys_free(struct jwt_keys *k);	/* accepts NULL */
/*
 * The HS256 secret (copied; replaces an earlier one).  JWT_E_KEY when
 * shorter than JWT_SECRET_MIN or longer than CFG_SECRET_MAX bytes.
 */
int	jwt_keys_set_hs256(struct jwt_keys *k, const uint8_t *secret,
	    size_t len, char *why, size_t whylen);
/*
 * Add an ES256 public key from PEM text ("BEGIN PUBLIC KEY", or a
 * certificate's "BEGIN CERTIFICATE") or from a PEM file.  JWT_E_KEY when it
 * does not parse, or is not an EC key on P-256.  name is used in messages
 * (NULL: "key").
 */
int	jwt_keys_add_es256_pem(struct jwt_keys *k, const char *pem, size_t len,
	    const char *name, char *why, size_t whylen);
int	jwt_keys_add_es256_file(struct jwt_keys *k, const char *path,
	    char *why, size_t whylen);
/* Require iss / aud (copied; NULL: no requirement).  JWT_E_NOMEM. */
int	jwt_keys_set_issuer(struct jwt_keys *k, const char *issuer);
int	jwt_keys_set_audience(struct jwt_keys *k, const char *audience);
/* Clock skew tolerated on exp and nbf, seconds (capped at JWT_LEEWAY_MAX). */
void	jwt_keys_set_leeway(struct jwt_keys *k, uint64_t seconds);
/* Check jti against dl from now on; k owns dl (and frees the previous). */
void	jwt_keys_set_denylist(struct jwt_keys *k, struct jwt_denylist *dl);
/*
 * Everything the auth.jwt section of relay.yaml configures: the secret file
 * (read with cfg_relay_secret_read()), each ES256 public key file, issuer,
 * audience, leeway and deny list.  On success *out is a new set the caller
 * frees with jwt_keys_free(); on failure *out is NULL and why names the file
 * and the problem.  A section with no key gives JWT_E_KEY.
 */
int	jwt_keys_load(const struct relay_jwt *cfg, struct jwt_keys **out,
	    char *why, size_t whylen);

/*
 * Verify token[0..len) (no terminator needed; white space is not trimmed)
 * at time now_s (seconds since the epoch) against k.  On JWT_OK out holds
 * the claims and the caller releases them with jwt_claims_free(); on an
 * error out is left empty (freeing it is harmless) and why says which check
 * failed.  The signature is checked before the payload is parsed, so an
 * unsigned payload never reaches the JSON parser.
 */
int	jwt_verify(const struct jwt_keys *k, const char *token, size_t len,
	    uint64_t now_s, struct jwt_claims *out, char *why, size_t whylen);
/* Free the lists of c and empty it; accepts NULL. */
void	jwt_claims_free(struct jwt_claims *c);
/*
 * 1 when c's expose claim lists the service name (a plain name or
 * "GROUP/SERVICE", compared whole), or the port (when not 0) in decimal; 0
 * otherwise (also when the claim is absent).
 */
int	jwt_claims_may_expose(const struct jwt_claims *c, const char *service,
	    uint16_t port);
/* 1 when c's connect claim lists "agent/service". */
int	jwt_claims_may_connect(const struct jwt_claims *c, const char *agent,
	    const char *service);
/* The syntax of one expose / connect entry (shared with minting): 1 valid. */
int	jwt_valid_expose(const char *s);
int	jwt_valid_connect(const char *s);

/* Format the reason into why (when given) and return code: the one way the
 * auth module's functions (verifier, minting) report a failure. */
int	jwt_why(int code, char *why, size_t whylen, const char *fmt, ...)
	    __attribute__((format(printf, 4, 5)));

#endif
