/*
 * tls.h — OpenSSL contexts for both ends of the tunnel, and the certificate
 * facts the daemons log and check.
 *
 * Policy, identical on both sides: TLS 1.3 only, no session tickets, no
 * session cache (every connection is a full handshake that sees the current
 * CRL), no early data, verify depth 2 (leaf, one intermediate, root).  The
 * relay requires a client certificate with purpose clientAuth, checked against
 * tls.ca and, when configured, the CRL (with tokens enabled a client may come
 * without one, and must then present a token inside the tunnel); the agent checks the relay for
 * serverAuth and the host name (tls_ssl_new_client sets SSL_set1_host).
 * Either side refuses a peer certificate that is itself a CA
 * (basicConstraints CA:TRUE): only a leaf identifies a peer.
 *
 * Errors: functions return 0 / a pointer, or -1 / NULL with one line in err
 * ("tls.key /etc/atlax/a.key: permissions 0644 are too open ...").  Nothing
 * here logs or exits.
 */
#ifndef ATLAX_TLS_H
#define ATLAX_TLS_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

enum tls_role {
	TLS_ROLE_RELAY,		/* server: requires client certificates */
	TLS_ROLE_AGENT,		/* client: verifies the relay */
};

struct tls_files {
	const char *cert;	/* PEM chain, leaf first; agent: NULL when it
				 * authenticates with a token only */
	const char *key;	/* PEM private key, mode 0600 or stricter */
	const char *ca;		/* PEM CA bundle that verifies the peer */
	const char *crl;	/* PEM CRL (relay only), or NULL */
	/* Relay: a client may come without a certificate (tokens are
	 * accepted, and the tunnel then requires one); a certificate that
	 * is presented is still verified in full. */
	int	    cert_optional;
};

/* A new context for role, loaded from files.  The caller owns it
 * (SSL_CTX_free); the key is checked with tls_check_key_file() first. */
SSL_CTX	*tls_ctx_new(enum tls_role role, const struct tls_files *f,
	    char *err, size_t errlen);

/* Refuse a key file that is not a regular file or that group or others may
 * read or write (like ssh's "UNPROTECTED PRIVATE KEY FILE"). */
int	 tls_check_key_file(const char *path, char *err, size_t errlen);

/* TLS 1.3 suites, most preferred first (the relay's order decides). */
#define TLS_CIPHERSUITES "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:" \
	"TLS_CHACHA20_POLY1305_SHA256"

/* Unsent bytes a tunnel socket may hold (TCP_NOTSENT_LOWAT). */
#define TLS_NOTSENT_LOWAT	(128 * 1024)

/* Socket options of a tunnel connection, either side: TCP_NODELAY,
 * TCP_USER_TIMEOUT of silence_ms, TCP_NOTSENT_LOWAT.  Failures are
 * ignored: each is an optimisation or a second line of defence. */
void	 tls_sock_tune(int fd, uint64_t silence_ms);

/* A client SSL for ctx that checks the relay's name (DNS SAN, or IP SAN when
 * server_name is an address) and sends it as SNI.  Caller owns the SSL. */
SSL	*tls_ssl_new_client(SSL_CTX *ctx, const char *server_name,
	    char *err, size_t errlen);

/* The verified peer certificate's subject CN, UTF-8, into buf.  -1 when there
 * is no certificate, no CN, more than one CN, an embedded NUL or it does not
 * fit. */
int	 tls_peer_cn(SSL *ssl, char *buf, size_t len);

/* Why a handshake failed, for a log line: the X509 verify error when the
 * peer's certificate was rejected ("certificate revoked", "certificate has
 * expired", TLS_LEAF_CA_REASON, ...), else the reason of OpenSSL error e ("peer did not return a
 * certificate", "tlsv1 alert unknown ca"), else "connection closed during
 * handshake".  Returns buf. */
char	*tls_failure(SSL *ssl, unsigned long e, char *buf, size_t len);

/* What tls_failure() and tls_cert_still_valid() say of a peer certificate
 * that is a CA. */
#define TLS_LEAF_CA_REASON \
	"certificate is a CA (basicConstraints CA:TRUE), not a leaf"

/* What they say when tls.crl is past its next update (OpenSSL refuses
 * every peer then). */
#define TLS_CRL_EXPIRED_REASON \
	"CRL expired (tls.crl is past its next update): renew it with " \
	"atlax-pki crl, then reload"

/*
 * Would a handshake on ctx accept cert now?  For a reload (SIGHUP): ctx is
 * the context built from the new configuration (its tls.ca and tls.crl),
 * cert the peer certificate of a running tunnel and chain the rest of the
 * chain it sent (SSL_get_peer_cert_chain(), may be NULL); all are borrowed.
 * Checks the chain to tls.ca, the CRL, the validity dates (against the
 * clock now, so a certificate that has expired since its handshake fails),
 * the purpose and the leaf rule; not the host name.  Returns 1 when it
 * verifies, 0 when it does not, with the reason in why ("certificate
 * revoked", "certificate has expired", "unable to get local issuer
 * certificate", TLS_LEAF_CA_REASON), or -1 when it could not be checked
 * (out of memory; why says so).
 */
int	 tls_cert_still_valid(SSL_CTX *ctx, X509 *cert, STACK_OF(X509) *chain,
	    char *why, size_t len);

/* The CN of the certificate the peer presented, whether or not it was
 * accepted (sanitised for a log line), or NULL when it sent none or the
 * chain was not looked at.  Borrowed from ssl, valid until SSL_free(). */
const char *tls_presented_cn(SSL *ssl);

/* Largest TLS record payload: what one SSL_write() should get. */
#define TLS_RECORD_MAX	16384

#endif
