/*
 * check_tls.c — the TLS policy of common/io/tls.c, with real certificates from
 * the pki library and real handshakes over an in-memory BIO pair: TLS 1.3
 * only, the client certificate required and checked (CA, expiry, CRL,
 * purpose, a CA certificate posing as a leaf, in both directions), the
 * relay's host name checked, the CN extracted, key file modes enforced, and
 * a running tunnel's certificate re-checked against a new CRL.
 */
#include <sys/stat.h>

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "pki.h"
#include "pki_x509.h"
#include "tls.h"
#include "tlstest.h"

static char dir[] = "/tmp/check_tls.XXXXXX";
static char ca[512], other[512], crl[512];

static void
setup(void)
{
	char err[512];

	tlstest_pki(dir, ca, other, sizeof(ca));
	snprintf(crl, sizeof(crl), "%s/ca/ca.crl", dir);
	tlstest_issue(ca, "gone", PKI_ROLE_AGENT, 30, 0);
	tlstest_issue(ca, "old", PKI_ROLE_AGENT, 1, 10);
	ck_assert_int_eq(pki_revoke(ca, "gone", NULL, NULL, NULL, err,
	    sizeof(err)), PKI_OK);
	ck_assert_int_eq(pki_crl(ca, 30, NULL, NULL, err, sizeof(err)),
	    PKI_OK);
}

static void
teardown(void)
{
	tlstest_rm(dir);
}

/*
 * A certificate the CA of folder ca signs with basicConstraints CA:TRUE but
 * otherwise fit for role (EKU, key usage, the relay's SANs): what a CA that
 * signs too liberally, or a stolen intermediate, would present.  Written to
 * ca/cn.crt and ca/cn.key (0600) so tlstest_ctx() loads it.
 */
static void
mint_ca_leaf(const char *cn, enum pki_role role)
{
	const char *sans[] = { "DNS:relay.test", "IP:127.0.0.1" };
	char path[600], hex[64], err[512];
	ASN1_INTEGER *serial;
	EVP_PKEY *cakey, *key;
	X509 *cacrt, *x;
	FILE *f;

	snprintf(path, sizeof(path), "%s/ca.crt", ca);
	ck_assert_ptr_nonnull(cacrt = pki_x509_read_cert(path, err,
	    sizeof(err)));
	snprintf(path, sizeof(path), "%s/ca.key", ca);
	ck_assert_ptr_nonnull(cakey = pki_x509_read_key(path, err,
	    sizeof(err)));
	ck_assert_ptr_nonnull(key = pki_x509_keygen(err, sizeof(err)));
	ck_assert_ptr_nonnull(serial = pki_x509_serial(NULL, hex, sizeof(hex),
	    err, sizeof(err)));
	ck_assert_ptr_nonnull(x = pki_x509_cert(cn, key, cacrt, serial, 30, 0,
	    err, sizeof(err)));
	ck_assert_int_eq(pki_x509_ext(x, cacrt, NID_basic_constraints,
	    "critical,CA:TRUE", err, sizeof(err)), PKI_OK);
	ck_assert_int_eq(pki_x509_ext(x, cacrt, NID_key_usage,
	    "critical,digitalSignature,keyCertSign", err, sizeof(err)), PKI_OK);
	ck_assert_int_eq(pki_x509_ext(x, cacrt, NID_ext_key_usage,
	    role == PKI_ROLE_RELAY ? "serverAuth" : "clientAuth", err,
	    sizeof(err)), PKI_OK);
	if (role == PKI_ROLE_RELAY)
		ck_assert_int_eq(pki_x509_sans(x, cn, sans, 2, err,
		    sizeof(err)), PKI_OK);
	ck_assert_int_gt(X509_sign(x, cakey, EVP_sha256()), 0);
	ck_assert_int_eq(X509_check_ca(x), 1);

	snprintf(path, sizeof(path), "%s/%s.key", ca, cn);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	ck_assert_int_eq(fchmod(fileno(f), 0600), 0);
	ck_assert_int_eq(PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL,
	    NULL), 1);
	ck_assert_int_eq(fclose(f), 0);
	snprintf(path, sizeof(path), "%s/%s.crt", ca, cn);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	ck_assert_int_eq(PEM_write_X509(f, x), 1);
	ck_assert_int_eq(fclose(f), 0);
	X509_free(x);
	X509_free(cacrt);
	ASN1_INTEGER_free(serial);
	EVP_PKEY_free(key);
	EVP_PKEY_free(cakey);
}

/* The certificate in ca/name.crt. */
static X509 *
cert_of(const char *d, const char *name)
{
	char path[600], err[512];
	X509 *x;

	snprintf(path, sizeof(path), "%s/%s.crt", d, name);
	x = pki_x509_read_cert(path, err, sizeof(err));
	ck_assert_msg(x != NULL, "%s", err);
	return x;
}

/* Drive both ends; 0 = both done, 1 = the server failed, 2 = the client
 * failed; why = the failing side's tls_failure(). */
static int
handshake(SSL_CTX *sctx, SSL_CTX *cctx, const char *server_name, char *cn,
    size_t cnlen, char *why, size_t whylen)
{
	SSL *s, *c;
	BIO *b1, *b2;
	char err[512];
	int i, rs = 0, rc = 0, es, ec, ret = -1;

	ERR_clear_error();
	s = SSL_new(sctx);
	c = tls_ssl_new_client(cctx, server_name, err, sizeof(err));
	ck_assert_ptr_nonnull(s);
	ck_assert_msg(c != NULL, "%s", err);
	ck_assert_int_eq(BIO_new_bio_pair(&b1, 0, &b2, 0), 1);
	SSL_set_bio(c, b1, b1);
	SSL_set_bio(s, b2, b2);
	SSL_set_connect_state(c);
	SSL_set_accept_state(s);
	for (i = 0; i < 50 && ret < 0; i++) {
		if (rc != 1) {
			rc = SSL_do_handshake(c);
			ec = SSL_get_error(c, rc);
			if (rc != 1 && ec != SSL_ERROR_WANT_READ &&
			    ec != SSL_ERROR_WANT_WRITE) {
				tls_failure(c, ERR_get_error(), why, whylen);
				ret = 2;
				break;
			}
		}
		if (rs != 1) {
			rs = SSL_do_handshake(s);
			es = SSL_get_error(s, rs);
			if (rs != 1 && es != SSL_ERROR_WANT_READ &&
			    es != SSL_ERROR_WANT_WRITE) {
				tls_failure(s, ERR_get_error(), why, whylen);
				ret = 1;
				break;
			}
		}
		if (rs == 1 && rc == 1)
			ret = 0;
	}
	ck_assert_int_ge(ret, 0);
	if (ret == 0) {
		ck_assert_int_eq(SSL_version(s), TLS1_3_VERSION);
		if (cn != NULL)
			ck_assert_int_eq(tls_peer_cn(s, cn, cnlen), 0);
		else
			ck_assert_ptr_null(SSL_get0_peer_certificate(s));
	}
	SSL_free(s);
	SSL_free(c);
	return ret;
}

START_TEST(test_good_handshake)
{
	SSL_CTX *r = tlstest_ctx(TLS_ROLE_RELAY, ca, ca, "relay.test", crl);
	SSL_CTX *a = tlstest_ctx(TLS_ROLE_AGENT, ca, ca, "home", NULL);
	char cn[65], why[256];

	ck_assert_int_eq(handshake(r, a, "relay.test", cn, sizeof(cn), why,
	    sizeof(why)), 0);
	ck_assert_str_eq(cn, "home");
	/* An IP SAN works as a server name too. */
	ck_assert_int_eq(handshake(r, a, "127.0.0.1", cn, sizeof(cn), why,
	    sizeof(why)), 0);
	/* Full handshakes only, TLS 1.3 only. */
	ck_assert_int_eq(SSL_CTX_get_min_proto_version(r), TLS1_3_VERSION);
	ck_assert_int_eq(SSL_CTX_get_min_proto_version(a), TLS1_3_VERSION);
	ck_assert((SSL_CTX_get_options(r) & SSL_OP_NO_TICKET) != 0);
	ck_assert_uint_eq(SSL_CTX_get_num_tickets(r), 0);
	ck_assert_int_eq(SSL_CTX_get_session_cache_mode(r), SSL_SESS_CACHE_OFF);
	ck_assert_uint_eq(SSL_CTX_get_max_early_data(r), 0);
	SSL_CTX_free(r);
	SSL_CTX_free(a);
}
END_TEST

static void
refused(const char *d, const char *name, enum tls_role crole,
    const char *server_name, int side, const char *want)
{
	SSL_CTX *r = tlstest_ctx(TLS_ROLE_RELAY, ca, ca, "relay.test", crl);
	SSL_CTX *a = tlstest_ctx(crole, ca, d, name, NULL);
	char cn[65], why[256];
	SSL_CTX *client = a;

	if (crole == TLS_ROLE_RELAY) {
		/* A server context cannot connect: load the same files into a
		 * client context instead. */
		char cert[600], key[600];

		snprintf(cert, sizeof(cert), "%s/%s.crt", d, name);
		snprintf(key, sizeof(key), "%s/%s.key", d, name);
		client = tlstest_ctx(TLS_ROLE_AGENT, ca, ca, "home", NULL);
		ck_assert_int_eq(SSL_CTX_use_certificate_chain_file(client,
		    cert), 1);
		ck_assert_int_eq(SSL_CTX_use_PrivateKey_file(client, key,
		    SSL_FILETYPE_PEM), 1);
	}
	ck_assert_int_eq(handshake(r, client, server_name, cn, sizeof(cn), why,
	    sizeof(why)), side);
	ck_assert_str_eq(why, want);
	if (client != a)
		SSL_CTX_free(client);
	SSL_CTX_free(r);
	SSL_CTX_free(a);
}

START_TEST(test_other_ca)
{
	refused(other, "stranger", TLS_ROLE_AGENT, "relay.test", 1,
	    "unable to get local issuer certificate");
}
END_TEST

START_TEST(test_revoked)
{
	refused(ca, "gone", TLS_ROLE_AGENT, "relay.test", 1,
	    "certificate revoked");
}
END_TEST

START_TEST(test_expired)
{
	refused(ca, "old", TLS_ROLE_AGENT, "relay.test", 1,
	    "certificate has expired");
}
END_TEST

START_TEST(test_wrong_purpose)
{
	/* The relay's serverAuth certificate presented as a client one. */
	refused(ca, "relay.test", TLS_ROLE_RELAY, "relay.test", 1,
	    "unsuitable certificate purpose");
}
END_TEST

START_TEST(test_host_name)
{
	refused(ca, "home", TLS_ROLE_AGENT, "relay.example.com", 2,
	    "hostname mismatch");
}
END_TEST

/* An agent certificate with CA:TRUE, signed by the right CA, fit for
 * clientAuth: the relay refuses it and says why. */
START_TEST(test_agent_ca_leaf)
{
	mint_ca_leaf("caagent", PKI_ROLE_AGENT);
	refused(ca, "caagent", TLS_ROLE_AGENT, "relay.test", 1,
	    TLS_LEAF_CA_REASON);
}
END_TEST

/* The same for the relay's certificate, at the agent. */
START_TEST(test_relay_ca_leaf)
{
	SSL_CTX *r, *a;
	char cn[65], why[256];

	mint_ca_leaf("carelay", PKI_ROLE_RELAY);
	r = tlstest_ctx(TLS_ROLE_RELAY, ca, ca, "carelay", crl);
	a = tlstest_ctx(TLS_ROLE_AGENT, ca, ca, "home", NULL);
	ck_assert_int_eq(handshake(r, a, "relay.test", cn, sizeof(cn), why,
	    sizeof(why)), 2);
	ck_assert_str_eq(why, TLS_LEAF_CA_REASON);
	SSL_CTX_free(r);
	SSL_CTX_free(a);
}
END_TEST

/* SIGHUP: a running tunnel's certificate against the new configuration. */
START_TEST(test_still_valid)
{
	char newcrl[600], why[256], err[512];
	SSL_CTX *before, *after, *a;
	X509 *late, *cacrt;
	STACK_OF(X509) *chain;

	tlstest_issue(ca, "late", PKI_ROLE_AGENT, 30, 0);
	before = tlstest_ctx(TLS_ROLE_RELAY, ca, ca, "relay.test", crl);
	late = cert_of(ca, "late");
	why[0] = '\0';
	ck_assert_int_eq(tls_cert_still_valid(before, late, NULL, why,
	    sizeof(why)), 1);
	ck_assert_str_eq(why, "");
	/* A chain that carries the CA as well changes nothing. */
	cacrt = cert_of(ca, "ca");
	ck_assert_ptr_nonnull(chain = sk_X509_new_null());
	ck_assert_int_gt(sk_X509_push(chain, cacrt), 0);
	ck_assert_int_eq(tls_cert_still_valid(before, late, chain, why,
	    sizeof(why)), 1);

	/* Revoked and a new CRL published: the new context refuses it, the
	 * old one (loaded before) still accepts it. */
	ck_assert_int_eq(pki_revoke(ca, "late", NULL, NULL, NULL, err,
	    sizeof(err)), PKI_OK);
	ck_assert_int_eq(pki_crl(ca, 30, NULL, NULL, err, sizeof(err)),
	    PKI_OK);
	snprintf(newcrl, sizeof(newcrl), "%s/ca.crl", ca);
	after = tlstest_ctx(TLS_ROLE_RELAY, ca, ca, "relay.test", newcrl);
	ck_assert_int_eq(tls_cert_still_valid(after, late, chain, why,
	    sizeof(why)), 0);
	ck_assert_str_eq(why, "certificate revoked");
	ck_assert_int_eq(tls_cert_still_valid(before, late, NULL, why,
	    sizeof(why)), 1);
	X509_free(late);

	/* Expired since, another CA, a CA posing as a leaf, none at all. */
	late = cert_of(ca, "old");
	ck_assert_int_eq(tls_cert_still_valid(after, late, NULL, why,
	    sizeof(why)), 0);
	ck_assert_str_eq(why, "certificate has expired");
	X509_free(late);
	late = cert_of(other, "stranger");
	ck_assert_int_eq(tls_cert_still_valid(after, late, NULL, why,
	    sizeof(why)), 0);
	ck_assert_str_eq(why, "unable to get local issuer certificate");
	X509_free(late);
	mint_ca_leaf("caagent2", PKI_ROLE_AGENT);
	late = cert_of(ca, "caagent2");
	ck_assert_int_eq(tls_cert_still_valid(after, late, NULL, why,
	    sizeof(why)), 0);
	ck_assert_str_eq(why, TLS_LEAF_CA_REASON);
	X509_free(late);
	ck_assert_int_eq(tls_cert_still_valid(after, NULL, NULL, why,
	    sizeof(why)), 0);
	ck_assert_str_eq(why, "no peer certificate");
	/* The purpose is the role's: the relay's own certificate is no
	 * agent's. */
	late = cert_of(ca, "relay.test");
	ck_assert_int_eq(tls_cert_still_valid(after, late, NULL, why,
	    sizeof(why)), 0);
	ck_assert_str_eq(why, "unsuitable certificate purpose");
	X509_free(late);
	/* And at the agent, the relay's certificate verifies. */
	a = tlstest_ctx(TLS_ROLE_AGENT, ca, ca, "home", NULL);
	late = cert_of(ca, "relay.test");
	ck_assert_int_eq(tls_cert_still_valid(a, late, NULL, why,
	    sizeof(why)), 1);
	X509_free(late);

	sk_X509_pop_free(chain, X509_free);
	SSL_CTX_free(a);
	SSL_CTX_free(before);
	SSL_CTX_free(after);
}
END_TEST

START_TEST(test_no_client_cert)
{
	SSL_CTX *r = tlstest_ctx(TLS_ROLE_RELAY, ca, ca, "relay.test", NULL);
	SSL_CTX *c = SSL_CTX_new(TLS_client_method());
	char cn[65], why[256], cafile[600];

	snprintf(cafile, sizeof(cafile), "%s/ca.crt", ca);
	ck_assert_int_eq(SSL_CTX_load_verify_locations(c, cafile, NULL), 1);
	ck_assert_int_eq(handshake(r, c, "relay.test", cn, sizeof(cn), why,
	    sizeof(why)), 1);
	ck_assert_str_eq(why, "peer did not return a certificate");
	SSL_CTX_free(c);
	SSL_CTX_free(r);
}
END_TEST

/* With tokens accepted a client may come without a certificate (and must
 * then show a token inside the tunnel), but a certificate it presents is
 * verified as before; an agent with a token only has none. */
START_TEST(test_cert_optional)
{
	struct tls_files f;
	SSL_CTX *r, *a, *stranger;
	char cert[600], key[600], cafile[600], err[512], cn[65], why[256];

	snprintf(cert, sizeof(cert), "%s/relay.test.crt", ca);
	snprintf(key, sizeof(key), "%s/relay.test.key", ca);
	snprintf(cafile, sizeof(cafile), "%s/ca.crt", ca);
	memset(&f, 0, sizeof(f));
	f.cert = cert;
	f.key = key;
	f.ca = cafile;
	f.cert_optional = 1;
	r = tls_ctx_new(TLS_ROLE_RELAY, &f, err, sizeof(err));
	ck_assert_msg(r != NULL, "%s", err);
	memset(&f, 0, sizeof(f));
	f.ca = cafile;
	a = tls_ctx_new(TLS_ROLE_AGENT, &f, err, sizeof(err));
	ck_assert_msg(a != NULL, "%s", err);
	ck_assert_int_eq(handshake(r, a, "relay.test", NULL, 0, why,
	    sizeof(why)), 0);
	/* Optional is not unchecked: another CA's certificate fails. */
	stranger = tlstest_ctx(TLS_ROLE_AGENT, ca, other, "stranger", NULL);
	ck_assert_int_eq(handshake(r, stranger, "relay.test", cn, sizeof(cn),
	    why, sizeof(why)), 1);
	/* The relay itself always needs its certificate. */
	ck_assert_ptr_null(tls_ctx_new(TLS_ROLE_RELAY, &f, err, sizeof(err)));
	ck_assert_str_eq(err, "tls.cert: missing");
	SSL_CTX_free(stranger);
	SSL_CTX_free(a);
	SSL_CTX_free(r);
}
END_TEST

START_TEST(test_tls12_refused)
{
	SSL_CTX *r = tlstest_ctx(TLS_ROLE_RELAY, ca, ca, "relay.test", NULL);
	SSL_CTX *a = tlstest_ctx(TLS_ROLE_AGENT, ca, ca, "home", NULL);
	char cn[65], why[256];

	ck_assert_int_eq(SSL_CTX_set_min_proto_version(a, TLS1_2_VERSION), 1);
	ck_assert_int_eq(SSL_CTX_set_max_proto_version(a, TLS1_2_VERSION), 1);
	ck_assert_int_eq(handshake(r, a, "relay.test", cn, sizeof(cn), why,
	    sizeof(why)), 1);
	ck_assert_str_eq(why, "unsupported protocol");
	SSL_CTX_free(r);
	SSL_CTX_free(a);
}
END_TEST

START_TEST(test_key_mode)
{
	char key[600], err[512], want[700];
	struct stat st;

	snprintf(key, sizeof(key), "%s/home.key", ca);
	ck_assert_int_eq(stat(key, &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0600);
	ck_assert_int_eq(tls_check_key_file(key, err, sizeof(err)), 0);
	ck_assert_int_eq(chmod(key, 0640), 0);
	ck_assert_int_eq(tls_check_key_file(key, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "tls.key %s: permissions 0640 are too "
	    "open (group or others may access it); chmod 600 it", key);
	ck_assert_str_eq(err, want);
	ck_assert_int_eq(chmod(key, 0600), 0);
	ck_assert_int_eq(tls_check_key_file(dir, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "tls.key %s: not a regular file", dir);
	ck_assert_str_eq(err, want);
	snprintf(key, sizeof(key), "%s/nope.key", dir);
	ck_assert_int_eq(tls_check_key_file(key, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "tls.key %s: No such file or directory",
	    key);
	ck_assert_str_eq(err, want);
}
END_TEST

START_TEST(test_bad_files)
{
	struct tls_files f;
	char cert[600], key[600], cafile[600], err[512];

	snprintf(cert, sizeof(cert), "%s/home.crt", ca);
	snprintf(key, sizeof(key), "%s/gone.key", ca);	/* not home's key */
	snprintf(cafile, sizeof(cafile), "%s/ca.crt", ca);
	memset(&f, 0, sizeof(f));
	f.cert = cert;
	f.key = key;
	f.ca = cafile;
	f.crl = NULL;
	ck_assert_ptr_null(tls_ctx_new(TLS_ROLE_AGENT, &f, err, sizeof(err)));
	ck_assert_msg(strncmp(err, "tls.key ", 8) == 0, "%s", err);
	f.key = cert;	/* a certificate is no key, and mode 0644 anyway */
	ck_assert_ptr_null(tls_ctx_new(TLS_ROLE_AGENT, &f, err, sizeof(err)));
	ck_assert_msg(strncmp(err, "tls.key ", 8) == 0, "%s", err);
}
END_TEST

static Suite *
tls_suite(void)
{
	Suite *s = suite_create("tls");
	TCase *tc = tcase_create("core");

	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_good_handshake);
	tcase_add_test(tc, test_other_ca);
	tcase_add_test(tc, test_revoked);
	tcase_add_test(tc, test_expired);
	tcase_add_test(tc, test_wrong_purpose);
	tcase_add_test(tc, test_host_name);
	tcase_add_test(tc, test_agent_ca_leaf);
	tcase_add_test(tc, test_relay_ca_leaf);
	tcase_add_test(tc, test_still_valid);
	tcase_add_test(tc, test_no_client_cert);
	tcase_add_test(tc, test_cert_optional);
	tcase_add_test(tc, test_tls12_refused);
	tcase_add_test(tc, test_key_mode);
	tcase_add_test(tc, test_bad_files);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(tls_suite());
	int nf;

	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
