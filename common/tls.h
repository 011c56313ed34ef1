/*
 * tls.h — OpenSSL contexts for both ends of the tunnel, and the certificate
 * facts the daemons log and check.
 *
 * Policy, identical on both sides: TLS 1.3 only, no session tickets, no
 * session cache (every connection is a full handshake that sees the current
 * CRL), no early data, verify depth 2 (leaf, one intermediate, root).  The
 * relay requires a client certificate with purpose clientAuth, checked against
 * tls.ca and, when configured, the CRL; the agent checks the relay for
 * serverAuth and the host name (tls_ssl_new_client sets SSL_set1_host).
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
	const char *cert;	/* PEM chain, leaf first */
	const char *key;	/* PEM private key, mode 0600 or stricter */
	const char *ca;		/* PEM CA bundle that verifies the peer */
	const char *crl;	/* PEM CRL (relay only), or NULL */
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
 * expired", ...), else the reason of OpenSSL error e ("peer did not return a
 * certificate", "tlsv1 alert unknown ca"), else "connection closed during
 * handshake".  Returns buf. */
char	*tls_failure(SSL *ssl, unsigned long e, char *buf, size_t len);

/* Largest TLS record payload: what one SSL_write() should get. */
#define TLS_RECORD_MAX	16384

struct evbuffer;
/* Move all of src to the end of dst so that every extent of dst holds at
 * least TLS_RECORD_MAX bytes, or all that was left.  libevent 2.1's
 * bufferevent_openssl calls SSL_write() once per buffer chain, so an 8-byte
 * frame header in a chain of its own would cost a TLS record of its own.
 * Chains of TLS_RECORD_MAX bytes or more move without a copy; smaller ones
 * are copied together into pieces of TLS_RECORD_MAX.  Returns 0, or -1 when
 * memory ran out (what was not moved stays in src). */
int	 tls_pack(struct evbuffer *dst, struct evbuffer *src);

/*
 * A tunnel's TLS connection (a "link"): an OpenSSL filter bufferevent over a
 * socket bufferevent.  libevent 2.1's socket-mode bufferevent_openssl
 * decrypts one record per loop turn, reads each record with two read(2)s
 * (header, then body) and writes each with a write(2) of its own; the filter
 * writes the socket in bites of up to io_max bytes and decrypts every record
 * a bite holds in one turn.  Once the handshake is done (tls_link_up()),
 * the link reads the socket itself with sockread_fill(), since libevent's
 * socket bufferevent reads 4 KiB at a time.  The socket side holds at most
 * TLS_SOCK_HIGH bytes of ciphertext beyond what the caller queued in the TLS
 * bufferevent's output.
 *
 * Ownership: the link owns the SSL, the socket and both bufferevents; the
 * caller owns the link (tls_link_free()) and uses tls_link_bev() as its
 * bufferevent (callbacks, input, output, enable), never freeing it.
 */
#define TLS_SOCK_HIGH	(64 * 1024)

struct bufferevent;
struct event_base;
struct tls_link;
/* A new link on fd (-1: connect later with bufferevent_socket_connect*() on
 * tls_link_socket()), for state BUFFEREVENT_SSL_ACCEPTING or _CONNECTING.
 * Takes ssl and fd in every case (freed and closed on failure); NULL when
 * out of memory.  Dirty shutdowns are allowed (EOF without close_notify is
 * EOF). */
struct tls_link *tls_link_new(struct event_base *base, int fd, SSL *ssl,
	    int state, size_t io_max);
/* Frees the link, its bufferevents and SSL, closes the socket.  NULL ok. */
void	 tls_link_free(struct tls_link *l);
/* The TLS bufferevent: the caller's view of the connection. */
struct bufferevent *tls_link_bev(struct tls_link *l);
/* The socket bufferevent under it (connect, DNS errors). */
struct bufferevent *tls_link_socket(struct tls_link *l);
/* The socket, or -1. */
int	 tls_link_fd(struct tls_link *l);
/* The handshake is done (BEV_EVENT_CONNECTED): read in large bites from now
 * on.  0, or -1 when out of memory (the link still works, more slowly). */
int	 tls_link_up(struct tls_link *l);
/* No more I/O: write what the socket side holds (e.g. an alert after a
 * failed handshake) as far as the kernel takes it without blocking, then
 * stop reading and writing.  The socket stays open until tls_link_free(). */
void	 tls_link_stop(struct tls_link *l);
/* Queue close_notify after everything queued so far (call once the TLS
 * output is empty), then shut the socket's write side once it is out. */
void	 tls_link_close_notify(struct tls_link *l);

#endif
