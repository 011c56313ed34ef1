/*
 * pki_jwt.h — the token side of atlax-pki: keys for signing JWTs and the
 * tokens themselves (common/auth/jwt_mint.h does the signing).
 *
 * Same convention as pki.h: PKI_OK, PKI_ERR or PKI_EUSAGE with one line in
 * err, never key material.  Files are written as pki_file.h describes
 * (temporary name, final mode from the first byte, atomic publish).
 */
#ifndef ATLAX_PKI_JWT_H
#define ATLAX_PKI_JWT_H

#include <stddef.h>
#include <stdint.h>

#define PKI_JWT_SECRET_BYTES	32	/* random bytes of a new HS256 secret */
#define PKI_JWT_TTL_MAX		(3650ULL * 86400)	/* seconds */
#define PKI_JWT_LIST_MAX	64

/*
 * A new HS256 secret in path, mode 0600: PKI_JWT_SECRET_BYTES random bytes
 * in base64 and a newline (the relay uses the 44 characters as they are).
 * An existing path is refused unless force.
 */
int	pki_jwt_keygen_hs256(const char *path, int force, char *err,
	    size_t len);
/*
 * A new ES256 pair: PREFIX.key (PKCS#8 private key, mode 0600) for
 * `atlax-pki token --key`, PREFIX.pub (public key, mode 0644) for the
 * relay's auth.jwt.es256_public_keys.  Both or neither are written.
 */
int	pki_jwt_keygen_es256(const char *prefix, int force, char *err,
	    size_t len);

/* What `atlax-pki token` asks for.  Strings are borrowed. */
struct pki_token_req {
	const char	 *secret_file;	/* HS256, or */
	const char	 *key_file;	/* ES256 private key PEM */
	const char	 *sub;
	uint64_t	  ttl;		/* seconds, 1..PKI_JWT_TTL_MAX */
	const char	 *iss, *aud;
	const char	 *jti;		/* NULL: 128 random bits in hex */
	const char *const *expose;
	size_t		  nexpose;
	const char *const *connect;
	size_t		  nconnect;
};

/*
 * Sign a token for req, issued at now (seconds since the epoch), valid for
 * req->ttl; *token is the caller's to free.  A bad claim is PKI_EUSAGE, an
 * unreadable or unsuitable key PKI_ERR.
 */
int	pki_jwt_token(const struct pki_token_req *req, uint64_t now,
	    char **token, char *err, size_t len);
/* "90s", "15m", "24h", "30d" into seconds (1..PKI_JWT_TTL_MAX). */
int	pki_jwt_parse_ttl(const char *s, uint64_t *ttl, char *err, size_t len);

#endif
