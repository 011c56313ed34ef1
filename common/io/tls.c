/*
 * tls.c — see tls.h.  Everything that makes a handshake strict lives here, so
 * the relay and the agent cannot drift apart.
 */
#include "tls.h"

#include <sys/socket.h>
#include <sys/stat.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "log.h"


#define TLS_VERIFY_DEPTH 2

static void	tls_note_leaf(X509_STORE_CTX *);

/*
 * Both roles: the peer's own certificate must be a leaf.  OpenSSL's
 * purpose checks accept a certificate with basicConstraints CA:TRUE at
 * depth 0, but a peer holding a CA key could mint certificates of its own
 * (any agent identity, under a CA that tls.ca might trust one day), so it
 * is refused here.  The error code is the one OpenSSL keeps for the
 * application; tls_failure() turns it into TLS_LEAF_CA_REASON.
 */
static int
tls_verify_cb(int ok, X509_STORE_CTX *sc)
{
	X509 *cert;

	tls_note_leaf(sc);
	if (!ok || X509_STORE_CTX_get_error_depth(sc) != 0)
		return ok;
	cert = X509_STORE_CTX_get_current_cert(sc);
	if (cert != NULL && (X509_get_extension_flags(cert) & EXFLAG_CA)) {
		X509_STORE_CTX_set_error(sc,
		    X509_V_ERR_APPLICATION_VERIFICATION);
		return 0;
	}
	return ok;
}

/* The text of a verify error, ours included. */
static const char *
tls_verify_reason(long v)
{
	if (v == X509_V_ERR_APPLICATION_VERIFICATION)
		return TLS_LEAF_CA_REASON;
	/* Not the peer's fault, and the agent only sees certificate_expired:
	 * say on the relay whose file it is and what renews it. */
	if (v == X509_V_ERR_CRL_HAS_EXPIRED)
		return TLS_CRL_EXPIRED_REASON;
	return X509_verify_cert_error_string(v);
}

static void
tls_err(char *err, size_t len, const char *what, const char *path)
{
	char reason[256] = "", sys[128] = "";
	unsigned long e;

	/* The last error in the queue is usually the most specific; a failed
	 * system call (a missing file, a permission) is said the way the
	 * shell would say it, not as OpenSSL's "system lib". */
	while ((e = ERR_get_error()) != 0) {
		if (ERR_SYSTEM_ERROR(e))
			snprintf(sys, sizeof(sys), "%s",
			    log_strerror(ERR_GET_REASON(e), reason,
			    sizeof(reason)));
		ERR_error_string_n(e, reason, sizeof(reason));
	}
	snprintf(err, len, "%s %s: %s", what, path, sys[0] != '\0' ? sys :
	    reason[0] != '\0' ? reason : "failed");
}

int
tls_check_key_file(const char *path, char *err, size_t errlen)
{
	struct stat st;
	int r = -1;

	if (stat(path, &st) != 0) {
		snprintf(err, errlen, "tls.key %s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "tls.key %s: not a regular file", path);
		goto out;
	}
	if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
		snprintf(err, errlen, "tls.key %s: permissions %04o are too "
		    "open (group or others may access it); chmod 600 it", path,
		    (unsigned)(st.st_mode & 07777));
		goto out;
	}
	r = 0;
out:
	return r;
}

static int
tls_load_crl(SSL_CTX *ctx, const char *crl, char *err, size_t errlen)
{
	X509_STORE *st = SSL_CTX_get_cert_store(ctx);
	X509_LOOKUP *lu;
	int r = -1;

	if ((lu = X509_STORE_add_lookup(st, X509_LOOKUP_file())) == NULL ||
	    X509_load_crl_file(lu, crl, X509_FILETYPE_PEM) <= 0) {
		tls_err(err, errlen, "tls.crl", crl);
		goto out;
	}
	/* The leaf only: the CA's own status is not something it can revoke. */
	X509_STORE_set_flags(st, X509_V_FLAG_CRL_CHECK);
	r = 0;
out:
	return r;
}

/* Our own certificate chain and its key, which must match. */
static int
tls_ctx_use_cert(SSL_CTX *ctx, const struct tls_files *f, char *err,
    size_t errlen)
{
	if (SSL_CTX_use_certificate_chain_file(ctx, f->cert) != 1) {
		tls_err(err, errlen, "tls.cert", f->cert);
		return -1;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, f->key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		tls_err(err, errlen, "tls.key", f->key);
		return -1;
	}
	return 0;
}

SSL_CTX *
tls_ctx_new(enum tls_role role, const struct tls_files *f, char *err,
    size_t errlen)
{
	SSL_CTX *ctx = NULL, *ret = NULL;
	STACK_OF(X509_NAME) *names = NULL;
	X509_VERIFY_PARAM *vp;

	ERR_clear_error();
	if (f->cert != NULL && tls_check_key_file(f->key, err, errlen) != 0)
		goto out;
	ctx = SSL_CTX_new(role == TLS_ROLE_RELAY ? TLS_server_method() :
	    TLS_client_method());
	if (ctx == NULL) {
		tls_err(err, errlen, "tls", "context");
		goto out;
	}
	if (!SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) ||
	    !SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION)) {
		tls_err(err, errlen, "tls", "version");
		goto out;
	}
	/* Full handshakes only: a resumed session would skip the CRL. */
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_num_tickets(ctx, 0);
	SSL_CTX_set_max_early_data(ctx, 0);
	SSL_CTX_set_recv_max_early_data(ctx, 0);
	/* Read-ahead is set per connection by tlsio_new(), which drains
	 * what OpenSSL buffers. */
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	/* AES-128-GCM first: the cheapest suite with AES-NI (10 rounds
	 * against 14), and 128-bit security is the level the rest of the
	 * handshake (P-256, X25519) gives anyway.  The relay's order wins. */
	if (!SSL_CTX_set_ciphersuites(ctx, TLS_CIPHERSUITES)) {
		tls_err(err, errlen, "tls", "ciphersuites");
		goto out;
	}
	if (role == TLS_ROLE_RELAY)
		SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);

	if (f->cert == NULL && role == TLS_ROLE_RELAY) {
		snprintf(err, errlen, "tls.cert: missing");
		goto out;
	}
	if (f->cert != NULL && tls_ctx_use_cert(ctx, f, err, errlen) != 0)
		goto out;
	if (SSL_CTX_load_verify_locations(ctx, f->ca, NULL) != 1) {
		tls_err(err, errlen, "tls.ca", f->ca);
		goto out;
	}
	vp = SSL_CTX_get0_param(ctx);
	if (role == TLS_ROLE_RELAY) {
		if ((names = SSL_load_client_CA_file(f->ca)) == NULL) {
			tls_err(err, errlen, "tls.ca", f->ca);
			goto out;
		}
		SSL_CTX_set_client_CA_list(ctx, names);	/* takes names */
		names = NULL;
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | (f->cert_optional ?
		    0 : SSL_VERIFY_FAIL_IF_NO_PEER_CERT), tls_verify_cb);
		X509_VERIFY_PARAM_set_purpose(vp, X509_PURPOSE_SSL_CLIENT);
		if (f->crl != NULL && tls_load_crl(ctx, f->crl, err,
		    errlen) != 0)
			goto out;
	} else {
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, tls_verify_cb);
		X509_VERIFY_PARAM_set_purpose(vp, X509_PURPOSE_SSL_SERVER);
	}
	SSL_CTX_set_verify_depth(ctx, TLS_VERIFY_DEPTH);
	ret = ctx;
	ctx = NULL;
out:
	sk_X509_NAME_pop_free(names, X509_NAME_free);
	SSL_CTX_free(ctx);
	return ret;
}

SSL *
tls_ssl_new_client(SSL_CTX *ctx, const char *server_name, char *err,
    size_t errlen)
{
	SSL *ssl = NULL, *ret = NULL;
	unsigned char ip[16];
	int is_ip;

	is_ip = inet_pton(AF_INET, server_name, ip) == 1 ||
	    inet_pton(AF_INET6, server_name, ip) == 1;
	if ((ssl = SSL_new(ctx)) == NULL) {
		tls_err(err, errlen, "tls", "SSL_new");
		goto out;
	}
	if (is_ip) {
		/* An address is matched against the IP SANs. */
		if (!X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl),
		    server_name)) {
			tls_err(err, errlen, "tls.server_name", server_name);
			goto out;
		}
	} else if (SSL_set1_host(ssl, server_name) != 1 ||
	    SSL_set_tlsext_host_name(ssl, server_name) != 1) {
		tls_err(err, errlen, "tls.server_name", server_name);
		goto out;
	}
	ret = ssl;
	ssl = NULL;
out:
	SSL_free(ssl);
	return ret;
}

void
tls_sock_tune(int fd, uint64_t silence_ms)
{
	unsigned int uto, lowat = TLS_NOTSENT_LOWAT;
	int one = 1;

	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	/* Unacknowledged data older than the keepalive budget kills the
	 * socket even when the peer vanished without a trace. */
	uto = silence_ms > 0xffffffffULL ? 0xffffffffU : (unsigned int)silence_ms;
	(void)setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &uto, sizeof(uto));
	/* Keep the queue of a busy tunnel in the mux, where the scheduler is
	 * fair, not in the kernel's send buffer (megabytes once autotuned),
	 * where a 1-byte frame would wait behind a bulk stream's data. */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &lowat,
	    sizeof(lowat));
}

int
tls_peer_cn(SSL *ssl, char *buf, size_t len)
{
	X509 *peer;
	X509_NAME *name;
	X509_NAME_ENTRY *ent;
	unsigned char *utf8 = NULL;
	int i, n, r = -1;

	if (len == 0 || (peer = SSL_get0_peer_certificate(ssl)) == NULL)
		goto out;
	name = X509_get_subject_name(peer);
	if ((i = X509_NAME_get_index_by_NID(name, NID_commonName, -1)) < 0)
		goto out;
	/* Exactly one CN: two would make "the identity" ambiguous. */
	if (X509_NAME_get_index_by_NID(name, NID_commonName, i) >= 0)
		goto out;
	ent = X509_NAME_get_entry(name, i);
	n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(ent));
	if (n <= 0 || (size_t)n >= len || memchr(utf8, '\0', (size_t)n))
		goto out;
	memcpy(buf, utf8, (size_t)n);
	buf[n] = '\0';
	r = 0;
out:
	OPENSSL_free(utf8);
	return r;
}

char *
tls_failure(SSL *ssl, unsigned long e, char *buf, size_t len)
{
	long v = ssl != NULL ? SSL_get_verify_result(ssl) : X509_V_OK;
	const char *s;

	if (v != X509_V_OK)
		snprintf(buf, len, "%s", tls_verify_reason(v));
	else if (e != 0 && (s = ERR_reason_error_string(e)) != NULL)
		snprintf(buf, len, "%s", s);
	else if (e != 0)
		ERR_error_string_n(e, buf, len);
	else
		snprintf(buf, len, "connection closed during handshake");
	return buf;
}

int
tls_cert_still_valid(SSL_CTX *ctx, X509 *cert, STACK_OF(X509) *chain,
    char *why, size_t len)
{
	X509_STORE_CTX *sc = NULL;
	int r = -1;

	ERR_clear_error();
	if (cert == NULL) {
		snprintf(why, len, "no peer certificate");
		r = 0;
		goto out;
	}
	if ((sc = X509_STORE_CTX_new()) == NULL ||
	    X509_STORE_CTX_init(sc, SSL_CTX_get_cert_store(ctx), cert,
	    chain) != 1) {
		tls_err(why, len, "tls", "verify context");
		goto out;
	}
	/* What a handshake on ctx would check: the store's CRL flags come
	 * with the store, purpose and depth with the context's parameters
	 * (as libssl does it), and the leaf rule with the callback. */
	if (X509_VERIFY_PARAM_set1(X509_STORE_CTX_get0_param(sc),
	    SSL_CTX_get0_param(ctx)) != 1) {
		tls_err(why, len, "tls", "verify parameters");
		goto out;
	}
	X509_STORE_CTX_set_verify_cb(sc, tls_verify_cb);
	if (X509_verify_cert(sc) == 1)
		r = 1;
	else {
		snprintf(why, len, "%s",
		    tls_verify_reason(X509_STORE_CTX_get_error(sc)));
		r = 0;
	}
	ERR_clear_error();
out:
	X509_STORE_CTX_free(sc);
	return r;
}

/*
 * The CN of the certificate a peer presented, kept with its SSL while the
 * chain is verified: a refused certificate (revoked, expired) never becomes
 * the session's peer certificate, yet the relay's log should say whose it
 * was.  The index is made once, before any thread verifies anything.
 */
static int tls_leaf_idx = -1;
static pthread_once_t tls_leaf_once = PTHREAD_ONCE_INIT;

static void
tls_leaf_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx,
    long argl, void *argp)
{
	(void)parent;
	(void)ad;
	(void)idx;
	(void)argl;
	(void)argp;
	free(ptr);
}

static void
tls_leaf_init(void)
{
	tls_leaf_idx = SSL_get_ex_new_index(0, NULL, NULL, NULL,
	    tls_leaf_free);
}

static void
tls_note_leaf(X509_STORE_CTX *sc)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(sc,
	    SSL_get_ex_data_X509_STORE_CTX_idx());
	X509 *leaf = X509_STORE_CTX_get0_cert(sc);
	X509_NAME *name;
	unsigned char *utf8 = NULL;
	char *cn = NULL;
	int i, n;

	pthread_once(&tls_leaf_once, tls_leaf_init);
	if (ssl == NULL || leaf == NULL || tls_leaf_idx < 0 ||
	    SSL_get_ex_data(ssl, tls_leaf_idx) != NULL)
		return;
	name = X509_get_subject_name(leaf);
	if ((i = X509_NAME_get_index_by_NID(name, NID_commonName, -1)) < 0)
		return;
	n = ASN1_STRING_to_UTF8(&utf8,
	    X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i)));
	if (n > 0 && (cn = malloc((size_t)n + 1)) != NULL) {
		/* Peer-controlled: printable before it reaches a log. */
		log_sanitize(cn, (size_t)n + 1, (const char *)utf8, (size_t)n);
		if (SSL_set_ex_data(ssl, tls_leaf_idx, cn) != 1)
			free(cn);
	}
	OPENSSL_free(utf8);
}

const char *
tls_presented_cn(SSL *ssl)
{
	if (ssl == NULL || tls_leaf_idx < 0)
		return NULL;
	return SSL_get_ex_data(ssl, tls_leaf_idx);
}
