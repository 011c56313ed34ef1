/*
 * check_preflight.c — common/io/preflight.c with certificates minted by the
 * pki library: the expiry guard names the file and the date, two weeks
 * ahead and once past (the clock is a parameter, so the dates are exact);
 * the `-t` checks say which file is wrong and why (missing, mode, a key of
 * another certificate, the wrong role, an id that is not the CN), and a
 * sound set passes.
 */
#include <sys/stat.h>

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "preflight.h"
#include "tlstest.h"

#define DAY	86400

static char dir[] = "/tmp/check_preflight.XXXXXX";
static char ca[512], other[512];
static char said[8192];	/* every finding, "E " or "W " first, one a line */

static void
setup(void)
{
	char err[512];

	tlstest_pki(dir, ca, other, sizeof(ca));
	tlstest_issue(ca, "soon", PKI_ROLE_AGENT, 9, 0);
	ck_assert_int_eq(pki_crl(ca, 30, NULL, NULL, err, sizeof(err)),
	    PKI_OK);
}

static void
teardown(void)
{
	tlstest_rm(dir);
}

static void
collect(enum preflight_level level, const char *msg, void *arg)
{
	size_t n = strlen(said);

	(void)arg;
	snprintf(said + n, sizeof(said) - n, "%s %s\n",
	    level == PREFLIGHT_ERROR ? "E" : "W", msg);
}

static char *
path(const char *folder, const char *name)
{
	static char p[4][600];
	static int i;

	i = (i + 1) % 4;
	snprintf(p[i], sizeof(p[i]), "%s/%s", folder, name);
	return p[i];
}

/* A time in a PEM file (a certificate's notAfter or a CRL's nextUpdate) as
 * time_t, and its date as the messages print it. */
static time_t
file_time(const char *file, int is_crl, char *date, size_t len)
{
	const ASN1_TIME *t;
	X509_CRL *crl = NULL;
	X509 *x = NULL;
	struct tm tm;
	FILE *fp;

	ck_assert_ptr_nonnull(fp = fopen(file, "r"));
	if (is_crl) {
		ck_assert_ptr_nonnull(crl = PEM_read_X509_CRL(fp, NULL, NULL,
		    NULL));
		t = X509_CRL_get0_nextUpdate(crl);
	} else {
		ck_assert_ptr_nonnull(x = PEM_read_X509(fp, NULL, NULL, NULL));
		t = X509_get0_notAfter(x);
	}
	fclose(fp);
	ck_assert_int_eq(ASN1_TIME_to_tm(t, &tm), 1);
	strftime(date, len, "%Y-%m-%d", &tm);
	X509_free(x);
	X509_CRL_free(crl);
	return timegm(&tm);
}

static void
files(struct tls_files *f, const char *leaf, const char *crl)
{
	f->cert = path(ca, leaf);
	f->key = NULL;
	f->ca = path(ca, "ca.crt");
	f->crl = crl;
	if (strstr(leaf, ".crt") != NULL) {
		static char key[600];

		snprintf(key, sizeof(key), "%s", f->cert);
		memcpy(key + strlen(key) - 3, "key", 3);
		f->key = key;
	}
}

START_TEST(test_expiry_dates)
{
	struct tls_files f;
	char want[1200], date[32];
	time_t na;

	files(&f, "soon.crt", NULL);
	na = file_time(f.cert, 0, date, sizeof(date));
	/* Nine days ahead: a warning with the file, the count, the date. */
	said[0] = '\0';
	ck_assert_int_eq(preflight_expiry(TLS_ROLE_AGENT, &f, na - 9 * DAY,
	    collect, NULL), 1);
	snprintf(want, sizeof(want), "W agent certificate %s expires in 9 "
	    "days (%s); renew it with atlax-pki issue --force, then reload\n",
	    f.cert, date);
	ck_assert_str_eq(said, want);
	/* Twenty days ahead: nothing to say. */
	said[0] = '\0';
	ck_assert_int_eq(preflight_expiry(TLS_ROLE_AGENT, &f, na - 20 * DAY,
	    collect, NULL), 0);
	ck_assert_str_eq(said, "");
	/* A day late: an error, with the date it ran out. */
	said[0] = '\0';
	ck_assert_int_eq(preflight_expiry(TLS_ROLE_RELAY, &f, na + DAY,
	    collect, NULL), 1);
	snprintf(want, sizeof(want), "E relay certificate %s expired on %s; "
	    "renew it with atlax-pki issue --force, then reload\n", f.cert,
	    date);
	ck_assert_str_eq(said, want);
	/* One day and less. */
	said[0] = '\0';
	preflight_expiry(TLS_ROLE_AGENT, &f, na - DAY - 60, collect, NULL);
	ck_assert_ptr_nonnull(strstr(said, "expires in 1 day ("));
	said[0] = '\0';
	preflight_expiry(TLS_ROLE_AGENT, &f, na - 60, collect, NULL);
	ck_assert_ptr_nonnull(strstr(said, "expires in 0 days ("));
}
END_TEST

START_TEST(test_expiry_ca_and_crl)
{
	struct tls_files f;
	char want[1200], date[32], cdate[32], *crl = path(ca, "ca.crl");
	time_t ca_na, crl_nu;

	files(&f, "home.crt", crl);
	ca_na = file_time(f.ca, 0, date, sizeof(date));
	crl_nu = file_time(crl, 1, cdate, sizeof(cdate));
	/* The CRL past its next update: the error every agent would meet. */
	said[0] = '\0';
	ck_assert_int_ge(preflight_expiry(TLS_ROLE_RELAY, &f, crl_nu + 10,
	    collect, NULL), 1);
	snprintf(want, sizeof(want), "E CRL %s (next update) expired on %s; "
	    "renew it with atlax-pki crl, then reload\n", crl, cdate);
	ck_assert_ptr_nonnull(strstr(said, want));
	/* The CA, named by its file and CN. */
	said[0] = '\0';
	preflight_expiry(TLS_ROLE_RELAY, &f, ca_na - 3 * DAY, collect, NULL);
	snprintf(want, sizeof(want), "W CA certificate %s (CN %s) expires in "
	    "3 days (%s)", f.ca, PKI_CA_CN, date);
	ck_assert_msg(strstr(said, want) != NULL, "%s", said);
	/* A file that cannot be read is not the guard's business. */
	f.cert = path(ca, "missing.crt");
	f.ca = path(ca, "missing.crt");
	f.crl = NULL;
	said[0] = '\0';
	ck_assert_int_eq(preflight_expiry(TLS_ROLE_RELAY, &f, time(NULL),
	    collect, NULL), 0);
}
END_TEST

START_TEST(test_tls_sound)
{
	struct tls_files f;

	files(&f, "relay.test.crt", path(ca, "ca.crl"));
	said[0] = '\0';
	ck_assert_int_eq(preflight_tls(TLS_ROLE_RELAY, &f, NULL, time(NULL),
	    collect, NULL), 0);
	ck_assert_str_eq(said, "");
	files(&f, "home.crt", NULL);
	ck_assert_int_eq(preflight_tls(TLS_ROLE_AGENT, &f, "home", time(NULL),
	    collect, NULL), 0);
	ck_assert_str_eq(said, "");
	/* Nine days left: a warning, not an error. */
	files(&f, "soon.crt", NULL);
	ck_assert_int_eq(preflight_tls(TLS_ROLE_AGENT, &f, "soon", time(NULL),
	    collect, NULL), 0);
	ck_assert_ptr_nonnull(strstr(said, "W agent certificate "));
}
END_TEST

START_TEST(test_tls_wrong)
{
	struct tls_files f;
	char want[1200];

	/* Missing: the system's reason, with the key and the path. */
	files(&f, "home.crt", NULL);
	f.ca = path(ca, "nope.crt");
	said[0] = '\0';
	ck_assert_int_eq(preflight_tls(TLS_ROLE_AGENT, &f, "home", time(NULL),
	    collect, NULL), 1);
	snprintf(want, sizeof(want), "E tls.ca %s: No such file or "
	    "directory\n", f.ca);
	ck_assert_str_eq(said, want);
	/* A key group and others may read. */
	files(&f, "home.crt", NULL);
	ck_assert_int_eq(chmod(f.key, 0644), 0);
	said[0] = '\0';
	ck_assert_int_eq(preflight_tls(TLS_ROLE_AGENT, &f, "home", time(NULL),
	    collect, NULL), 1);
	snprintf(want, sizeof(want), "E tls.key %s: permissions 0644 are too "
	    "open (group or others may access it); chmod 600 it\n", f.key);
	ck_assert_str_eq(said, want);
	ck_assert_int_eq(chmod(f.key, 0600), 0);
	/* Another agent's key. */
	files(&f, "home.crt", NULL);
	f.key = path(ca, "soon.key");
	said[0] = '\0';
	ck_assert_int_eq(preflight_tls(TLS_ROLE_AGENT, &f, "home", time(NULL),
	    collect, NULL), 1);
	ck_assert_ptr_nonnull(strstr(said, "does not belong to tls.cert"));
	/* An agent certificate on the relay, and an id that is not the CN. */
	files(&f, "home.crt", NULL);
	said[0] = '\0';
	ck_assert_int_eq(preflight_tls(TLS_ROLE_RELAY, &f, NULL, time(NULL),
	    collect, NULL), 1);
	ck_assert_ptr_nonnull(strstr(said, "not a relay certificate: its "
	    "extended key usage lacks serverAuth"));
	said[0] = '\0';
	ck_assert_int_eq(preflight_tls(TLS_ROLE_AGENT, &f, "bob", time(NULL),
	    collect, NULL), 1);
	snprintf(want, sizeof(want), "E id \"bob\" does not match the CN "
	    "\"home\" of tls.cert %s", f.cert);
	ck_assert_ptr_nonnull(strstr(said, want));
	/* Expired (by the clock given): an error for -t. */
	files(&f, "home.crt", NULL);
	said[0] = '\0';
	ck_assert_int_eq(preflight_tls(TLS_ROLE_AGENT, &f, "home",
	    time(NULL) + 40 * DAY, collect, NULL), 1);
	ck_assert_ptr_nonnull(strstr(said, "E agent certificate "));
}
END_TEST

START_TEST(test_server_name)
{
	said[0] = '\0';
	ck_assert_int_eq(preflight_server_name("203.0.113.10", NULL, collect,
	    NULL), 1);
	ck_assert_ptr_nonnull(strstr(said, "W relay 203.0.113.10 is an IP "
	    "address and tls.server_name is not set: the relay's certificate "
	    "must carry IP:203.0.113.10"));
	ck_assert_int_eq(preflight_server_name("2001:db8::10",
	    "2001:db8::10", collect, NULL), 1);
	ck_assert_int_eq(preflight_server_name("203.0.113.10",
	    "relay.example.com", collect, NULL), 0);
	ck_assert_int_eq(preflight_server_name("relay.example.com", NULL,
	    collect, NULL), 0);
}
END_TEST

static Suite *
preflight_suite(void)
{
	Suite *s = suite_create("preflight");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 30);
	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_expiry_dates);
	tcase_add_test(tc, test_expiry_ca_and_crl);
	tcase_add_test(tc, test_tls_sound);
	tcase_add_test(tc, test_tls_wrong);
	tcase_add_test(tc, test_server_name);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(preflight_suite());
	int nf;

	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
