/*
 * jwt_mint.h — making tokens: what `atlax-pki token` and the tests use, so
 * that the tokens the verifier is tested with are the ones users get.
 *
 * Same error convention as jwt.h: JWT_OK or a negative enum jwt_err, with a
 * one-line reason in why that never contains key material.
 */
#ifndef ATLAX_JWT_MINT_H
#define ATLAX_JWT_MINT_H

#include <stddef.h>
#include <stdint.h>

#include "jwt.h"

struct jwt_signer;	/* an HS256 secret or an ES256 private key; opaque */

/* HS256 with secret (copied; JWT_SECRET_MIN..CFG_SECRET_MAX bytes). */
int	jwt_signer_hs256(const uint8_t *secret, size_t len,
	    struct jwt_signer **out, char *why, size_t whylen);
/* HS256 with the secret file as relay.yaml reads it (cfg_relay_secret_read). */
int	jwt_signer_hs256_file(const char *path, struct jwt_signer **out,
	    char *why, size_t whylen);
/* ES256 with a PEM private key (file or text) on P-256; JWT_E_KEY if not. */
int	jwt_signer_es256_file(const char *path, struct jwt_signer **out,
	    char *why, size_t whylen);
int	jwt_signer_es256_pem(const char *pem, size_t len,
	    struct jwt_signer **out, char *why, size_t whylen);
void	jwt_signer_free(struct jwt_signer *s);	/* accepts NULL */

/* The claims of a new token.  Strings are borrowed; NULL: claim left out. */
struct jwt_mint {
	const char	 *sub;		/* required, identity syntax */
	uint64_t	  iat;		/* issued at, seconds since the epoch */
	uint64_t	  exp;		/* required, > iat */
	uint64_t	  nbf;		/* 0: left out */
	const char	 *iss;
	const char	 *aud;
	const char	 *jti;
	const char *const *expose;	/* each jwt_valid_expose() */
	size_t		  nexpose;
	const char *const *connect;	/* each jwt_valid_connect() */
	size_t		  nconnect;
};

/*
 * Sign the claims of m into a new token *token (NUL-terminated; the caller
 * frees it).  JWT_E_CLAIM when a claim breaks the rules the verifier
 * applies (sub, expose, connect, exp after iat, jti length), so that no
 * token is minted that the relay would refuse for its form.
 */
int	jwt_mint(const struct jwt_signer *s, const struct jwt_mint *m,
	    char **token, char *why, size_t whylen);
/*
 * Sign header and payload taken as they are (any bytes, not checked): tests
 * build malformed tokens with a valid signature this way.
 */
int	jwt_sign_raw(const struct jwt_signer *s, const char *header,
	    size_t hlen, const char *payload, size_t plen, char **token,
	    char *why, size_t whylen);

#endif
