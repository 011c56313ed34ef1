/*
 * preflight.c — see preflight.h.  The checks read the files themselves
 * rather than going through SSL_CTX loading first, because OpenSSL's own
 * errors for the usual mistakes ("system lib", "key values mismatch") do not
 * say which file or what to do.
 */
#include "preflight.h"

#include <sys/socket.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "log.h"

/* The caller's callback, with the errors counted on the way. */
struct preflight {
	preflight_say_cb	 say;
	void			*arg;
	int			 nerr;
	int			 nsaid;
};

static void LOG_PRINTF(3, 4)
preflight_say(struct preflight *p, enum preflight_level level,
    const char *fmt, ...)
{
	char msg[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (level == PREFLIGHT_ERROR)
		p->nerr++;
	p->nsaid++;
	p->say(level, msg, p->arg);
}

/* Days from now to t (negative once past, rounded towards now) and t's
 * date.  -1 when t cannot be read. */
static int
preflight_days(const ASN1_TIME *t, time_t now, int *days, int *past,
    char *date, size_t len)
{
	ASN1_TIME *from = NULL;
	struct tm tm;
	int d, s, r = -1;

	if (t == NULL || (from = ASN1_TIME_set(NULL, now)) == NULL ||
	    !ASN1_TIME_diff(&d, &s, from, t) || !ASN1_TIME_to_tm(t, &tm) ||
	    strftime(date, len, "%Y-%m-%d", &tm) == 0)
		goto out;
	*days = d;
	*past = d < 0 || s < 0 || (d == 0 && s == 0);
	r = 0;
out:
	ASN1_TIME_free(from);
	return r;
}

/* "relay certificate /etc/atlax/relay.crt expires in 9 days (2026-12-13)";
 * renew says how to make a new one. */
static void
preflight_when(struct preflight *p, const char *what, const ASN1_TIME *t,
    time_t now, const char *renew)
{
	char date[32];
	int days, past;

	if (preflight_days(t, now, &days, &past, date, sizeof(date)) != 0)
		return;
	if (past)
		preflight_say(p, PREFLIGHT_ERROR, "%s expired on %s%s", what,
		    date, renew);
	else if (days < PREFLIGHT_WARN_DAYS)
		preflight_say(p, PREFLIGHT_WARNING, "%s expires in %d day%s "
		    "(%s)%s", what, days, days == 1 ? "" : "s", date, renew);
}

static void
preflight_cert_expiry(struct preflight *p, const char *role,
    const char *path, time_t now)
{
	char what[600];
	FILE *fp;
	X509 *x;

	if ((fp = fopen(path, "r")) == NULL)
		return;
	/* The leaf only: the rest of a chain file is the CA's business. */
	if ((x = PEM_read_X509(fp, NULL, NULL, NULL)) != NULL) {
		snprintf(what, sizeof(what), "%s certificate %s", role, path);
		preflight_when(p, what, X509_get0_notAfter(x), now,
		    "; renew it with atlax-pki issue --force, then reload");
	}
	X509_free(x);
	fclose(fp);
}

static void
preflight_ca_expiry(struct preflight *p, const char *path, time_t now)
{
	char what[700], cn[128];
	FILE *fp;
	X509 *x;

	if ((fp = fopen(path, "r")) == NULL)
		return;
	/* A bundle holds two CAs during a CA change: each has its date. */
	while ((x = PEM_read_X509(fp, NULL, NULL, NULL)) != NULL) {
		if (X509_NAME_get_text_by_NID(X509_get_subject_name(x),
		    NID_commonName, cn, sizeof(cn)) < 0)
			snprintf(cn, sizeof(cn), "?");
		snprintf(what, sizeof(what), "CA certificate %s (CN %s)", path,
		    cn);
		preflight_when(p, what, X509_get0_notAfter(x), now,
		    "; see \"Replace the CA\" in OPERATIONS.md");
		X509_free(x);
	}
	ERR_clear_error();	/* the end of the file */
	fclose(fp);
}

static void
preflight_crl_expiry(struct preflight *p, const char *path, time_t now)
{
	char what[600];
	X509_CRL *crl;
	FILE *fp;

	if ((fp = fopen(path, "r")) == NULL)
		return;
	/* Past its next update OpenSSL refuses every peer it checks ("CRL
	 * has expired"), so this one matters most. */
	if ((crl = PEM_read_X509_CRL(fp, NULL, NULL, NULL)) != NULL) {
		snprintf(what, sizeof(what), "CRL %s (next update)", path);
		preflight_when(p, what, X509_CRL_get0_nextUpdate(crl), now,
		    "; renew it with atlax-pki crl, then reload");
	}
	X509_CRL_free(crl);
	ERR_clear_error();
	fclose(fp);
}

static int
preflight_run_expiry(struct preflight *p, enum tls_role role,
    const struct tls_files *f, time_t now)
{
	int before = p->nsaid;

	if (f->cert != NULL)
		preflight_cert_expiry(p, role == TLS_ROLE_RELAY ? "relay" :
		    "agent", f->cert, now);
	if (f->ca != NULL)
		preflight_ca_expiry(p, f->ca, now);
	if (f->crl != NULL)
		preflight_crl_expiry(p, f->crl, now);
	ERR_clear_error();
	return p->nsaid - before;
}

int
preflight_expiry(enum tls_role role, const struct tls_files *f, time_t now,
    preflight_say_cb say, void *arg)
{
	struct preflight p = { say, arg, 0, 0 };

	return preflight_run_expiry(&p, role, f, now);
}

/* Open path for reading, or say why not the way the shell would. */
static FILE *
preflight_open(struct preflight *p, const char *key, const char *path)
{
	char eb[128];
	FILE *fp;

	if ((fp = fopen(path, "r")) == NULL)
		preflight_say(p, PREFLIGHT_ERROR, "%s %s: %s", key, path,
		    log_strerror(errno, eb, sizeof(eb)));
	return fp;
}

/* A key with a passphrase would make OpenSSL ask on the terminal: refuse
 * it instead (the daemons cannot ask either). */
static int
preflight_no_pass(char *buf, int size, int rw, void *u)
{
	(void)buf;
	(void)size;
	(void)rw;
	(void)u;
	return -1;
}

/* The certificate's single CN, or "" */
static void
preflight_cn(X509 *x, char *buf, size_t len)
{
	X509_NAME *name = X509_get_subject_name(x);
	unsigned char *utf8 = NULL;
	int i, n;

	buf[0] = '\0';
	if ((i = X509_NAME_get_index_by_NID(name, NID_commonName, -1)) < 0)
		return;
	n = ASN1_STRING_to_UTF8(&utf8,
	    X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i)));
	if (n > 0 && (size_t)n < len)
		log_sanitize(buf, len, (const char *)utf8, (size_t)n);
	OPENSSL_free(utf8);
}

/* The certificate and its key: parse, match, role, identity. */
static void
preflight_pair(struct preflight *p, enum tls_role role,
    const struct tls_files *f, const char *id)
{
	const char *want = role == TLS_ROLE_RELAY ? "serverAuth" :
	    "clientAuth";
	FILE *cf = NULL, *kf = NULL;
	EVP_PKEY *key = NULL;
	X509 *x = NULL;
	char err[512], cn[256];
	int purpose;

	if ((cf = preflight_open(p, "tls.cert", f->cert)) != NULL &&
	    (x = PEM_read_X509(cf, NULL, NULL, NULL)) == NULL)
		preflight_say(p, PREFLIGHT_ERROR, "tls.cert %s: no PEM "
		    "certificate in it", f->cert);
	if (tls_check_key_file(f->key, err, sizeof(err)) != 0)
		preflight_say(p, PREFLIGHT_ERROR, "%s", err);
	else if ((kf = preflight_open(p, "tls.key", f->key)) != NULL &&
	    (key = PEM_read_PrivateKey(kf, NULL, preflight_no_pass,
	    NULL)) == NULL)
		preflight_say(p, PREFLIGHT_ERROR, "tls.key %s: no PEM private "
		    "key in it (or one with a passphrase)", f->key);
	ERR_clear_error();
	if (x == NULL)
		goto out;
	if (key != NULL && X509_check_private_key(x, key) != 1)
		preflight_say(p, PREFLIGHT_ERROR, "tls.key %s does not belong "
		    "to tls.cert %s (the key of another certificate?)", f->key,
		    f->cert);
	purpose = role == TLS_ROLE_RELAY ? X509_PURPOSE_SSL_SERVER :
	    X509_PURPOSE_SSL_CLIENT;
	if (X509_check_purpose(x, purpose, 0) != 1)
		preflight_say(p, PREFLIGHT_ERROR, "tls.cert %s: not %s "
		    "certificate: its extended key usage lacks %s (issue it "
		    "with atlax-pki issue --role %s)", f->cert,
		    role == TLS_ROLE_RELAY ? "a relay" : "an agent", want,
		    role == TLS_ROLE_RELAY ? "relay" : "agent");
	preflight_cn(x, cn, sizeof(cn));
	if (id != NULL && strcmp(id, cn) != 0)
		preflight_say(p, PREFLIGHT_ERROR, "id \"%s\" does not match the "
		    "CN \"%s\" of tls.cert %s (the relay would refuse it)", id,
		    cn, f->cert);
out:
	ERR_clear_error();
	EVP_PKEY_free(key);
	X509_free(x);
	if (kf != NULL)
		fclose(kf);
	if (cf != NULL)
		fclose(cf);
}

static void
preflight_ca_crl(struct preflight *p, const struct tls_files *f)
{
	X509_CRL *crl = NULL;
	X509 *x = NULL;
	FILE *fp;

	if ((fp = preflight_open(p, "tls.ca", f->ca)) != NULL) {
		if ((x = PEM_read_X509(fp, NULL, NULL, NULL)) == NULL)
			preflight_say(p, PREFLIGHT_ERROR, "tls.ca %s: no PEM "
			    "certificate in it", f->ca);
		fclose(fp);
	}
	if (f->crl != NULL &&
	    (fp = preflight_open(p, "tls.crl", f->crl)) != NULL) {
		if ((crl = PEM_read_X509_CRL(fp, NULL, NULL, NULL)) == NULL)
			preflight_say(p, PREFLIGHT_ERROR, "tls.crl %s: no PEM "
			    "CRL in it", f->crl);
		fclose(fp);
	}
	ERR_clear_error();
	X509_CRL_free(crl);
	X509_free(x);
}

int
preflight_tls(enum tls_role role, const struct tls_files *f, const char *id,
    time_t now, preflight_say_cb say, void *arg)
{
	struct preflight p = { say, arg, 0, 0 };
	SSL_CTX *ctx;
	char err[512];

	if (f->cert != NULL && f->key != NULL)
		preflight_pair(&p, role, f, id);
	preflight_ca_crl(&p, f);
	if (p.nerr == 0)
		preflight_run_expiry(&p, role, f, now);
	/* Whatever else OpenSSL would refuse at start. */
	if (p.nerr == 0 && f->cert != NULL && f->key != NULL) {
		if ((ctx = tls_ctx_new(role, f, err, sizeof(err))) == NULL)
			preflight_say(&p, PREFLIGHT_ERROR, "%s", err);
		SSL_CTX_free(ctx);
	}
	ERR_clear_error();
	return p.nerr;
}

int
preflight_server_name(const char *host, const char *server_name,
    preflight_say_cb say, void *arg)
{
	struct preflight p = { say, arg, 0, 0 };
	unsigned char ip[16];

	/* The configuration defaults server_name to the host of relay. */
	if ((server_name != NULL && strcmp(server_name, host) != 0) ||
	    (inet_pton(AF_INET, host, ip) != 1 &&
	    inet_pton(AF_INET6, host, ip) != 1))
		return 0;
	preflight_say(&p, PREFLIGHT_WARNING, "relay %s is an IP address and "
	    "tls.server_name is not set: the relay's certificate must carry "
	    "IP:%s as a subject alternative name (atlax-pki issue --role "
	    "relay --san IP:%s)", host, host, host);
	return 1;
}

void
preflight_log_cb(enum preflight_level level, const char *msg, void *arg)
{
	const char *sub = arg;

	if (level == PREFLIGHT_ERROR)
		log_errorx(sub, "%s", msg);
	else
		log_warnx(sub, "%s", msg);
}
