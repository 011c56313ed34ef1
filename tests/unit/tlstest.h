/*
 * tlstest.h — helpers shared by the TLS suites (header only): certificates
 * minted with the pki library and contexts built by tls_ctx_new(), exactly
 * as the daemons build theirs.
 */
#ifndef ATLAX_TLSTEST_H
#define ATLAX_TLSTEST_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "pki.h"
#include "tls.h"

#define TLSTEST_UNUSED __attribute__((unused))

/* Issue cn in CA folder d, valid days (backdate: already that many days
 * old).  A relay certificate gets the SANs DNS:relay.test, IP:127.0.0.1. */
static TLSTEST_UNUSED void
tlstest_issue(const char *d, const char *cn, enum pki_role role, int days,
    int backdate)
{
	const char *sans[] = { "DNS:relay.test", "IP:127.0.0.1" };
	struct pki_issue_req req;
	char err[512];

	memset(&req, 0, sizeof(req));
	req.dir = d;
	req.cn = cn;
	req.role = role;
	req.days = days;
	req.backdate = backdate;
	if (role == PKI_ROLE_RELAY) {
		req.sans = sans;
		req.nsans = 2;
	}
	ck_assert_msg(pki_issue(&req, NULL, err, sizeof(err)) == PKI_OK,
	    "%s", err);
}

/* Make the folder dir (a mkdtemp template, replaced by the name), two CAs
 * in it, ca ("DIR/ca") and other ("DIR/other"), each buffer len bytes, and
 * the certificates every suite uses: relay.test (relay) and home (agent)
 * from ca, stranger (agent) from other.  The CAs last a year: pki_issue()
 * refuses a certificate that would outlive its CA, so with 30-day CAs a
 * clock second ticking between the CA and a 30-day certificate failed the
 * set-up (seen under ASan). */
static TLSTEST_UNUSED void
tlstest_pki(char *dir, char *ca, char *other, size_t len)
{
	char err[512];

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(ca, len, "%s/ca", dir);
	snprintf(other, len, "%s/other", dir);
	ck_assert_int_eq(pki_init(ca, PKI_CA_CN, 365, 0, err, sizeof(err)),
	    PKI_OK);
	ck_assert_int_eq(pki_init(other, PKI_CA_CN, 365, 0, err, sizeof(err)),
	    PKI_OK);
	tlstest_issue(ca, "relay.test", PKI_ROLE_RELAY, 30, 0);
	tlstest_issue(ca, "home", PKI_ROLE_AGENT, 30, 0);
	tlstest_issue(other, "stranger", PKI_ROLE_AGENT, 30, 0);
}

/* Remove what tlstest_pki() made. */
static TLSTEST_UNUSED void
tlstest_rm(const char *dir)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "tlstest: cannot remove %s\n", dir);
}

/* A context for role with certificate name from folder d, trusting the CA
 * of folder ca, with crl (a file) or none. */
static TLSTEST_UNUSED SSL_CTX *
tlstest_ctx(enum tls_role role, const char *ca, const char *d,
    const char *name, const char *crl)
{
	char cert[600], key[600], cafile[600], err[512];
	struct tls_files f;
	SSL_CTX *c;

	snprintf(cert, sizeof(cert), "%s/%s.crt", d, name);
	snprintf(key, sizeof(key), "%s/%s.key", d, name);
	snprintf(cafile, sizeof(cafile), "%s/ca.crt", ca);
	memset(&f, 0, sizeof(f));
	f.cert = cert;
	f.key = key;
	f.ca = cafile;
	f.crl = crl;
	c = tls_ctx_new(role, &f, err, sizeof(err));
	ck_assert_msg(c != NULL, "%s", err);
	return c;
}

#endif
