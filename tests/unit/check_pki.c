/*
 * check_pki.c — the atlax-pki CA (pki.c, pki_index.c, pki_file.c) called
 * directly: real keys and certificates in a temporary folder, checked with
 * OpenSSL's own parsers and verifier.
 */
#include <sys/stat.h>

#include <check.h>
#include <ctype.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "jwt.h"
#include "pki.h"
#include "pki_file.h"
#include "pki_index.h"
#include "pki_jwt.h"

/* Short folder names, so that paths built from them provably fit PATH_MAX. */
#define DIR_MAX	256
static char top[DIR_MAX];	/* per-test temporary folder */
static char ca[DIR_MAX + 8];	/* top/ca: the CA folder */
static char err[1024];

static void
setup(void)
{
	snprintf(top, sizeof(top), "/tmp/check_pki.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(top));
	snprintf(ca, sizeof(ca), "%s/ca", top);
	err[0] = '\0';
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void
teardown(void)
{
	nftw(top, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static char *
path_in(char *buf, const char *dir, const char *name)
{
	snprintf(buf, PATH_MAX, "%s/%s", dir, name);
	return buf;
}

/* Whole file as a string (caller frees). */
static char *
slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	ck_assert_msg(f != NULL, "%s: cannot open", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = calloc(1, (size_t)n + 1);
	ck_assert_int_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return buf;
}

static X509 *
load_cert(const char *path)
{
	FILE *f = fopen(path, "r");
	X509 *x;

	ck_assert_msg(f != NULL, "%s: cannot open", path);
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	ck_assert_ptr_nonnull(x);
	return x;
}

static X509_CRL *
load_crl(const char *path)
{
	FILE *f = fopen(path, "r");
	X509_CRL *c;

	ck_assert_msg(f != NULL, "%s: cannot open", path);
	c = PEM_read_X509_CRL(f, NULL, NULL, NULL);
	fclose(f);
	ck_assert_ptr_nonnull(c);
	return c;
}

static mode_t
mode_of(const char *path)
{
	struct stat st;

	ck_assert_int_eq(stat(path, &st), 0);
	return st.st_mode & 07777;
}

/* Whole days between notBefore and notAfter. */
static int
validity_days(X509 *x)
{
	int days, secs;

	ck_assert_int_eq(ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(x),
	    X509_get0_notAfter(x)), 1);
	ck_assert_int_eq(secs, 0);
	return days;
}

static char *
serial_hex(X509 *x)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	char *hex = BN_bn2hex(bn);

	BN_free(bn);
	return hex;
}

/* 1 if leaf verifies against the CA in DIR/ca.crt (optionally with crl). */
static int
verifies(const char *leaf, X509_CRL *crl)
{
	char p[PATH_MAX];
	X509_STORE *st = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	X509 *cacert = load_cert(path_in(p, ca, "ca.crt"));
	X509 *x = load_cert(leaf);
	int ok;

	X509_STORE_add_cert(st, cacert);
	if (crl != NULL) {
		X509_STORE_add_crl(st, crl);
		X509_STORE_set_flags(st, X509_V_FLAG_CRL_CHECK);
	}
	X509_STORE_CTX_init(ctx, st, x, NULL);
	ok = X509_verify_cert(ctx) == 1;
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(st);
	X509_free(cacert);
	X509_free(x);
	return ok;
}

static void
init_ok(void)
{
	ck_assert_msg(pki_init(ca, NULL, PKI_CA_DAYS, 0, err, sizeof(err)) ==
	    PKI_OK, "init: %s", err);
}

static void
issue_ok(const char *cn, enum pki_role role, const char *const *sans,
    size_t nsans, struct pki_issued *out)
{
	struct pki_issue_req req = {
		.dir = ca, .cn = cn, .role = role, .sans = sans,
		.nsans = nsans, .days = PKI_LEAF_DAYS,
	};

	ck_assert_msg(pki_issue(&req, out, err, sizeof(err)) == PKI_OK,
	    "issue %s: %s", cn, err);
}

START_TEST(test_valid_cn)
{
	char cn[80];

	ck_assert_int_eq(pki_valid_cn("home-nas"), 1);
	ck_assert_int_eq(pki_valid_cn("relay.example.com"), 1);
	ck_assert_int_eq(pki_valid_cn("A_b-9.x"), 1);
	ck_assert_int_eq(pki_valid_cn("0"), 1);
	ck_assert_int_eq(pki_valid_cn(""), 0);
	ck_assert_int_eq(pki_valid_cn(NULL), 0);
	ck_assert_int_eq(pki_valid_cn("-lead"), 0);
	ck_assert_int_eq(pki_valid_cn(".lead"), 0);
	ck_assert_int_eq(pki_valid_cn("has space"), 0);
	ck_assert_int_eq(pki_valid_cn("a/b"), 0);
	ck_assert_int_eq(pki_valid_cn("a\nb"), 0);
	ck_assert_int_eq(pki_valid_cn("caf\xc3\xa9"), 0);
	memset(cn, 'a', 64);
	cn[64] = '\0';
	ck_assert_int_eq(pki_valid_cn(cn), 1);
	cn[64] = 'a';
	cn[65] = '\0';
	ck_assert_int_eq(pki_valid_cn(cn), 0);
}
END_TEST

START_TEST(test_role_parse)
{
	enum pki_role r;

	ck_assert_int_eq(pki_role_parse("agent", &r), PKI_OK);
	ck_assert_int_eq(r, PKI_ROLE_AGENT);
	ck_assert_int_eq(pki_role_parse("relay", &r), PKI_OK);
	ck_assert_int_eq(r, PKI_ROLE_RELAY);
	ck_assert_int_eq(pki_role_parse("Relay", &r), PKI_EUSAGE);
	ck_assert_int_eq(pki_role_parse("server", &r), PKI_EUSAGE);
	ck_assert_int_eq(pki_role_parse("", &r), PKI_EUSAGE);
	ck_assert_str_eq(pki_role_name(PKI_ROLE_AGENT), "agent");
	ck_assert_str_eq(pki_role_name(PKI_ROLE_RELAY), "relay");
}
END_TEST

START_TEST(test_san_check)
{
	static const char *good[] = {
		"DNS:relay.example.com", "DNS:localhost", "dns:x", "DNS:*.ex.org",
		"IP:127.0.0.1", "IP:::1", "IP:2001:db8::42", "ip:10.0.0.1",
	};
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		ck_assert_msg(pki_san_check(good[i], err, sizeof(err)) ==
		    PKI_OK, "%s: %s", good[i], err);
	ck_assert_int_eq(pki_san_check("FOO:x", err, sizeof(err)), PKI_EUSAGE);
	ck_assert_str_eq(err, "--san 'FOO:x': expected DNS:name or IP:address");
	ck_assert_int_eq(pki_san_check("relay", err, sizeof(err)), PKI_EUSAGE);
	ck_assert_str_eq(err, "--san 'relay': expected DNS:name or IP:address");
	ck_assert_int_eq(pki_san_check("DNS:", err, sizeof(err)), PKI_EUSAGE);
	ck_assert_str_eq(err, "--san 'DNS:': not a valid DNS name");
	ck_assert_int_eq(pki_san_check("DNS:a b", err, sizeof(err)),
	    PKI_EUSAGE);
	ck_assert_str_eq(err, "--san 'DNS:a b': not a valid DNS name");
	ck_assert_int_eq(pki_san_check("DNS:a..b", err, sizeof(err)),
	    PKI_EUSAGE);
	ck_assert_int_eq(pki_san_check("DNS:-a.b", err, sizeof(err)),
	    PKI_EUSAGE);
	ck_assert_int_eq(pki_san_check("DNS:a-.b", err, sizeof(err)),
	    PKI_EUSAGE);
	ck_assert_int_eq(pki_san_check("DNS:a,IP:1.2.3.4", err, sizeof(err)),
	    PKI_EUSAGE);
	ck_assert_int_eq(pki_san_check("IP:1.2.3", err, sizeof(err)),
	    PKI_EUSAGE);
	ck_assert_str_eq(err, "--san 'IP:1.2.3': not a valid IP address");
	ck_assert_int_eq(pki_san_check("IP:256.1.1.1", err, sizeof(err)),
	    PKI_EUSAGE);
	ck_assert_int_eq(pki_san_check("IP:::g", err, sizeof(err)),
	    PKI_EUSAGE);
	ck_assert_int_eq(pki_san_check("IP:", err, sizeof(err)), PKI_EUSAGE);
}
END_TEST

START_TEST(test_serial_parse)
{
	char out[PKI_SERIAL_HEX_MAX + 1];

	ck_assert_int_eq(pki_serial_parse("0x0a:bc", out, sizeof(out), err,
	    sizeof(err)), PKI_OK);
	ck_assert_str_eq(out, "0ABC");
	ck_assert_int_eq(pki_serial_parse("7498c7bb901a40c145978b0de5d4c676",
	    out, sizeof(out), err, sizeof(err)), PKI_OK);
	ck_assert_str_eq(out, "7498C7BB901A40C145978B0DE5D4C676");
	ck_assert_int_eq(pki_serial_parse("00ff", out, sizeof(out), err,
	    sizeof(err)), PKI_OK);
	ck_assert_str_eq(out, "FF");
	ck_assert_int_eq(pki_serial_parse("xyz", out, sizeof(out), err,
	    sizeof(err)), PKI_EUSAGE);
	ck_assert_str_eq(err, "--serial 'xyz': not a hexadecimal serial of at "
	    "most 20 octets");
	ck_assert_int_eq(pki_serial_parse("", out, sizeof(out), err,
	    sizeof(err)), PKI_EUSAGE);
	/* 21 octets */
	ck_assert_int_eq(pki_serial_parse(
	    "010203040506070809101112131415161718192021", out, sizeof(out),
	    err, sizeof(err)), PKI_EUSAGE);
}
END_TEST

START_TEST(test_init)
{
	char p[PATH_MAX], *idx;
	BASIC_CONSTRAINTS *bc;
	X509 *x;
	EVP_PKEY *pub;
	char group[32];
	int crit;

	init_ok();
	ck_assert_int_eq(mode_of(ca), 0700);
	ck_assert_int_eq(mode_of(path_in(p, ca, "ca.key")), 0600);
	ck_assert_int_eq(mode_of(path_in(p, ca, "ca.crt")), 0644);
	idx = slurp(path_in(p, ca, "index.txt"));
	ck_assert_str_eq(idx, "# atlax-pki index: role serial not-after "
	    "revoked-at cn (tab-separated, UTC)\n");
	free(idx);

	x = load_cert(path_in(p, ca, "ca.crt"));
	ck_assert_int_eq(X509_check_issued(x, x), X509_V_OK);
	ck_assert_int_eq(X509_check_ca(x), 1);
	bc = X509_get_ext_d2i(x, NID_basic_constraints, &crit, NULL);
	ck_assert_ptr_nonnull(bc);
	ck_assert_int_ne(bc->ca, 0);
	ck_assert_int_eq(crit, 1);
	BASIC_CONSTRAINTS_free(bc);
	ck_assert_int_eq(X509_get_key_usage(x), KU_KEY_CERT_SIGN | KU_CRL_SIGN);
	ck_assert_int_eq(X509_EXTENSION_get_critical(X509_get_ext(x,
	    X509_get_ext_by_NID(x, NID_key_usage, -1))), 1);
	ck_assert_ptr_nonnull(X509_get0_subject_key_id(x));
	ck_assert_int_eq(ASN1_OCTET_STRING_cmp(X509_get0_subject_key_id(x),
	    X509_get0_authority_key_id(x)), 0);
	ck_assert_int_eq(validity_days(x), PKI_CA_DAYS);
	ck_assert_int_eq(X509_NAME_get_text_by_NID(X509_get_subject_name(x),
	    NID_commonName, p, sizeof(p)), 8);
	ck_assert_str_eq(p, "atlax-ca");
	pub = X509_get0_pubkey(x);
	ck_assert_int_eq(EVP_PKEY_get_group_name(pub, group, sizeof(group),
	    NULL), 1);
	ck_assert_str_eq(group, "prime256v1");
	ck_assert_int_eq(X509_verify(x, pub), 1);
	X509_free(x);
}
END_TEST

START_TEST(test_init_cn_days)
{
	char p[PATH_MAX];
	X509 *x;

	ck_assert_int_eq(pki_init(ca, "Home-CA.1", 30, 0, err, sizeof(err)),
	    PKI_OK);
	x = load_cert(path_in(p, ca, "ca.crt"));
	X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, p,
	    sizeof(p));
	ck_assert_str_eq(p, "Home-CA.1");
	ck_assert_int_eq(validity_days(x), 30);
	X509_free(x);
}
END_TEST

START_TEST(test_init_refusals)
{
	char p[PATH_MAX], want[PATH_MAX + 64], *key1, *key2;

	ck_assert_int_eq(pki_init(ca, "bad cn", 10, 0, err, sizeof(err)),
	    PKI_EUSAGE);
	ck_assert_str_eq(err, "CN 'bad cn' is invalid: it must match "
	    "[A-Za-z0-9][A-Za-z0-9._-]{0,63}");
	ck_assert_int_eq(pki_file_exists(ca), 0);
	ck_assert_int_eq(pki_init(ca, NULL, 0, 0, err, sizeof(err)),
	    PKI_EUSAGE);
	ck_assert_str_eq(err, "--days 0: expected 1 to 36500");
	ck_assert_int_eq(pki_init(ca, NULL, 36501, 0, err, sizeof(err)),
	    PKI_EUSAGE);

	init_ok();
	key1 = slurp(path_in(p, ca, "ca.key"));
	ck_assert_int_eq(pki_init(ca, NULL, 10, 0, err, sizeof(err)), PKI_ERR);
	snprintf(want, sizeof(want), "%s/ca.key: already exists (use --force "
	    "to replace it)", ca);
	ck_assert_str_eq(err, want);
	key2 = slurp(path_in(p, ca, "ca.key"));
	ck_assert_str_eq(key1, key2);
	free(key2);

	/* Only the certificate left: still refused. */
	unlink(path_in(p, ca, "ca.key"));
	ck_assert_int_eq(pki_init(ca, NULL, 10, 0, err, sizeof(err)), PKI_ERR);
	snprintf(want, sizeof(want), "%s/ca.crt: already exists (use --force "
	    "to replace it)", ca);
	ck_assert_str_eq(err, want);

	/* A parent that does not exist. */
	snprintf(p, sizeof(p), "%s/no/such", top);
	ck_assert_int_eq(pki_init(p, NULL, 10, 0, err, sizeof(err)), PKI_ERR);
	snprintf(want, sizeof(want), "%s: No such file or directory", p);
	ck_assert_str_eq(err, want);
	free(key1);
}
END_TEST

START_TEST(test_init_force)
{
	struct pki_issued a;
	char p[PATH_MAX], *key1, *key2, *idx;

	init_ok();
	issue_ok("home-nas", PKI_ROLE_AGENT, NULL, 0, &a);
	ck_assert_int_eq(pki_revoke(ca, "home-nas", NULL, NULL, NULL, err,
	    sizeof(err)), PKI_OK);
	ck_assert_int_eq(pki_crl(ca, 5, NULL, NULL, err, sizeof(err)), PKI_OK);
	key1 = slurp(path_in(p, ca, "ca.key"));
	ck_assert_int_eq(pki_init(ca, NULL, 10, 1, err, sizeof(err)), PKI_OK);
	key2 = slurp(path_in(p, ca, "ca.key"));
	ck_assert_str_ne(key1, key2);
	ck_assert_int_eq(mode_of(path_in(p, ca, "ca.key")), 0600);
	idx = slurp(path_in(p, ca, "index.txt"));
	ck_assert_ptr_null(strchr(idx, '\t'));
	ck_assert_int_eq(pki_file_exists(path_in(p, ca, "ca.crl")), 0);
	ck_assert_int_eq(pki_file_exists(path_in(p, ca, "crlnumber")), 0);
	/* The old leaf no longer chains to the new CA. */
	ck_assert_int_eq(verifies(a.crt, NULL), 0);
	free(key1);
	free(key2);
	free(idx);
}
END_TEST

/* A leaf, never a CA: basicConstraints critical CA:FALSE, no certSign. */
static void
assert_leaf(X509 *x)
{
	BASIC_CONSTRAINTS *bc;
	int crit = -1;

	bc = X509_get_ext_d2i(x, NID_basic_constraints, &crit, NULL);
	ck_assert_ptr_nonnull(bc);
	ck_assert_int_eq(bc->ca, 0);
	ck_assert_int_eq(crit, 1);
	BASIC_CONSTRAINTS_free(bc);
	ck_assert_int_eq(X509_get_extension_flags(x) & EXFLAG_CA, 0);
	ck_assert_int_eq(X509_check_ca(x), 0);
	ck_assert_int_eq(X509_get_key_usage(x) & KU_KEY_CERT_SIGN, 0);
}

START_TEST(test_issue_agent)
{
	struct pki_issued a;
	char p[PATH_MAX], *hex;
	X509 *x;

	init_ok();
	issue_ok("home-nas", PKI_ROLE_AGENT, NULL, 0, &a);
	ck_assert_str_eq(a.crt, path_in(p, ca, "home-nas.crt"));
	ck_assert_str_eq(a.key, path_in(p, ca, "home-nas.key"));
	ck_assert_int_eq(mode_of(a.key), 0600);
	ck_assert_int_eq(mode_of(a.crt), 0644);
	ck_assert_int_eq(verifies(a.crt, NULL), 1);

	x = load_cert(a.crt);
	X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, p,
	    sizeof(p));
	ck_assert_str_eq(p, "home-nas");
	assert_leaf(x);
	ck_assert_int_eq(X509_get_extended_key_usage(x), XKU_SSL_CLIENT);
	ck_assert_int_eq(X509_get_key_usage(x), KU_DIGITAL_SIGNATURE);
	ck_assert_int_eq(X509_check_purpose(x, X509_PURPOSE_SSL_CLIENT, 0), 1);
	ck_assert_int_eq(X509_check_purpose(x, X509_PURPOSE_SSL_SERVER, 0), 0);
	ck_assert_int_lt(X509_get_ext_by_NID(x, NID_subject_alt_name, -1), 0);
	ck_assert_int_eq(validity_days(x), PKI_LEAF_DAYS);
	/* 128-bit positive serial: 32 hex digits, top bit clear. */
	hex = serial_hex(x);
	ck_assert_str_eq(hex, a.serial);
	ck_assert_uint_eq(strlen(hex), 32);
	ck_assert_int_eq(ASN1_STRING_type(X509_get0_serialNumber(x)),
	    V_ASN1_INTEGER);			/* not V_ASN1_NEG_INTEGER */
	ck_assert_int_eq(ASN1_STRING_length(X509_get0_serialNumber(x)), 16);
	ck_assert(strchr("4567", hex[0]) != NULL);
	OPENSSL_free(hex);
	X509_free(x);
}
END_TEST

START_TEST(test_issue_relay)
{
	static const char *sans[] = {
		"IP:127.0.0.1", "IP:::1", "DNS:localhost", "DNS:RELAY.example.com",
		"IP:127.0.0.1",
	};
	GENERAL_NAMES *gens;
	GENERAL_NAME *g;
	struct pki_issued a;
	X509 *x;
	unsigned char v4[4] = { 127, 0, 0, 1 }, v6[16] = { [15] = 1 };

	init_ok();
	issue_ok("relay.example.com", PKI_ROLE_RELAY, sans, 5, &a);
	ck_assert_int_eq(verifies(a.crt, NULL), 1);
	x = load_cert(a.crt);
	assert_leaf(x);
	ck_assert_int_eq(X509_get_extended_key_usage(x), XKU_SSL_SERVER);
	ck_assert_int_eq(X509_get_key_usage(x), KU_DIGITAL_SIGNATURE);
	ck_assert_int_eq(X509_check_purpose(x, X509_PURPOSE_SSL_SERVER, 0), 1);
	ck_assert_int_eq(X509_check_host(x, "relay.example.com", 0, 0, NULL),
	    1);
	ck_assert_int_eq(X509_check_host(x, "localhost", 0, 0, NULL), 1);
	ck_assert_int_eq(X509_check_host(x, "other.example.com", 0, 0, NULL),
	    0);
	ck_assert_int_eq(X509_check_ip_asc(x, "127.0.0.1", 0), 1);
	ck_assert_int_eq(X509_check_ip_asc(x, "::1", 0), 1);
	ck_assert_int_eq(X509_check_ip_asc(x, "127.0.0.2", 0), 0);

	/* In order, the default first, duplicates dropped. */
	gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	ck_assert_ptr_nonnull(gens);
	ck_assert_int_eq(sk_GENERAL_NAME_num(gens), 4);
	g = sk_GENERAL_NAME_value(gens, 0);
	ck_assert_int_eq(g->type, GEN_DNS);
	ck_assert_str_eq((const char *)ASN1_STRING_get0_data(g->d.dNSName),
	    "relay.example.com");
	g = sk_GENERAL_NAME_value(gens, 1);
	ck_assert_int_eq(g->type, GEN_IPADD);
	ck_assert_int_eq(ASN1_STRING_length(g->d.iPAddress), 4);
	ck_assert_mem_eq(ASN1_STRING_get0_data(g->d.iPAddress), v4, 4);
	g = sk_GENERAL_NAME_value(gens, 2);
	ck_assert_int_eq(ASN1_STRING_length(g->d.iPAddress), 16);
	ck_assert_mem_eq(ASN1_STRING_get0_data(g->d.iPAddress), v6, 16);
	g = sk_GENERAL_NAME_value(gens, 3);
	ck_assert_str_eq((const char *)ASN1_STRING_get0_data(g->d.dNSName),
	    "localhost");
	GENERAL_NAMES_free(gens);
	X509_free(x);
}
END_TEST

START_TEST(test_issue_out_days_backdate)
{
	struct pki_issue_req req = {
		.dir = ca, .cn = "old-agent", .role = PKI_ROLE_AGENT,
		.days = 1, .backdate = 2,
	};
	struct pki_issued a;
	char prefix[PATH_MAX], p[PATH_MAX], *list = NULL;
	size_t n = 0;
	FILE *f;
	X509 *x;

	init_ok();
	snprintf(prefix, sizeof(prefix), "%s/elsewhere", top);
	req.out = prefix;
	ck_assert_int_eq(pki_issue(&req, &a, err, sizeof(err)), PKI_OK);
	ck_assert_str_eq(a.crt, path_in(p, top, "elsewhere.crt"));
	ck_assert_str_eq(a.key, path_in(p, top, "elsewhere.key"));
	x = load_cert(a.crt);
	ck_assert_int_eq(validity_days(x), 1);
	ck_assert_int_lt(X509_cmp_current_time(X509_get0_notAfter(x)), 0);
	X509_free(x);
	ck_assert_int_eq(verifies(a.crt, NULL), 0);	/* expired */

	f = open_memstream(&list, &n);
	ck_assert_int_eq(pki_list(ca, f, err, sizeof(err)), PKI_OK);
	fclose(f);
	ck_assert_ptr_nonnull(strstr(list, " expired\n"));
	free(list);
}
END_TEST

START_TEST(test_issue_umask)
{
	struct pki_issued a;
	mode_t old;

	init_ok();
	old = umask(0);
	issue_ok("wide-open", PKI_ROLE_AGENT, NULL, 0, &a);
	umask(old);
	ck_assert_int_eq(mode_of(a.key), 0600);
	ck_assert_int_eq(mode_of(a.crt), 0644);
}
END_TEST

START_TEST(test_issue_refusals)
{
	static const char *bad_san[] = { "IP:300.1.1.1" };
	static const char *good_san[] = { "IP:10.0.0.1" };
	struct pki_issue_req req = {
		.dir = ca, .cn = "home-nas", .role = PKI_ROLE_AGENT,
		.days = 10,
	};
	struct pki_issued a;
	char want[2 * PATH_MAX], p[PATH_MAX], *crt1, *crt2, *idx1, *idx2;

	/* Before init. */
	ck_assert_int_eq(pki_issue(&req, NULL, err, sizeof(err)), PKI_ERR);
	snprintf(want, sizeof(want), "%s: no CA here (run 'atlax-pki init "
	    "--dir %s' first)", ca, ca);
	ck_assert_str_eq(err, want);

	init_ok();
	req.cn = "bad/cn";
	ck_assert_int_eq(pki_issue(&req, NULL, err, sizeof(err)), PKI_EUSAGE);
	ck_assert_str_eq(err, "CN 'bad/cn' is invalid: it must match "
	    "[A-Za-z0-9][A-Za-z0-9._-]{0,63}");
	req.cn = NULL;
	ck_assert_int_eq(pki_issue(&req, NULL, err, sizeof(err)), PKI_EUSAGE);
	ck_assert_str_eq(err, "--cn is required");

	req.cn = "home-nas";
	req.role = (enum pki_role)7;
	ck_assert_int_eq(pki_issue(&req, NULL, err, sizeof(err)), PKI_EUSAGE);
	ck_assert_str_eq(err, "unknown role (expected agent or relay)");

	req.role = PKI_ROLE_RELAY;
	req.sans = bad_san;
	req.nsans = 1;
	ck_assert_int_eq(pki_issue(&req, NULL, err, sizeof(err)), PKI_EUSAGE);
	ck_assert_str_eq(err, "--san 'IP:300.1.1.1': not a valid IP address");

	req.role = PKI_ROLE_AGENT;
	req.sans = good_san;
	ck_assert_int_eq(pki_issue(&req, NULL, err, sizeof(err)), PKI_EUSAGE);
	ck_assert_str_eq(err, "--san applies to relay certificates only");
	req.nsans = 0;

	req.days = 0;
	ck_assert_int_eq(pki_issue(&req, NULL, err, sizeof(err)), PKI_EUSAGE);
	ck_assert_str_eq(err, "--days 0: expected 1 to 36500");
	req.days = 3651;
	ck_assert_int_eq(pki_issue(&req, NULL, err, sizeof(err)), PKI_ERR);
	ck_assert_ptr_nonnull(strstr(err, "--days 3651: the certificate would "
	    "outlive the CA certificate (valid until "));
	req.days = 10;
	/* Nothing of the refused requests was written or recorded. */
	ck_assert_int_eq(pki_file_exists(path_in(p, ca, "home-nas.key")), 0);
	ck_assert_int_eq(pki_file_exists(path_in(p, ca, "home-nas.crt")), 0);

	ck_assert_int_eq(pki_issue(&req, &a, err, sizeof(err)), PKI_OK);
	crt1 = slurp(a.crt);
	idx1 = slurp(path_in(p, ca, "index.txt"));
	ck_assert_int_eq(pki_issue(&req, NULL, err, sizeof(err)), PKI_ERR);
	snprintf(want, sizeof(want), "%s: already exists (use --force to "
	    "replace it)", a.key);
	ck_assert_str_eq(err, want);
	/* Only the certificate there: refused too, key not created. */
	unlink(a.key);
	ck_assert_int_eq(pki_issue(&req, NULL, err, sizeof(err)), PKI_ERR);
	snprintf(want, sizeof(want), "%s: already exists (use --force to "
	    "replace it)", a.crt);
	ck_assert_str_eq(err, want);
	ck_assert_int_eq(pki_file_exists(a.key), 0);
	crt2 = slurp(a.crt);
	idx2 = slurp(path_in(p, ca, "index.txt"));
	ck_assert_str_eq(crt1, crt2);
	ck_assert_str_eq(idx1, idx2);
	free(crt1);
	free(crt2);
	free(idx1);
	free(idx2);
}
END_TEST

START_TEST(test_issue_force)
{
	struct pki_issue_req req = {
		.dir = ca, .cn = "home-nas", .role = PKI_ROLE_AGENT,
		.days = 10, .force = 1,
	};
	struct pki_issued a, b;
	char p[PATH_MAX], *k1, *k2;

	init_ok();
	ck_assert_int_eq(pki_issue(&req, &a, err, sizeof(err)), PKI_OK);
	k1 = slurp(a.key);
	ck_assert_int_eq(pki_issue(&req, &b, err, sizeof(err)), PKI_OK);
	k2 = slurp(b.key);
	ck_assert_str_ne(k1, k2);
	ck_assert_str_ne(a.serial, b.serial);
	ck_assert_int_eq(mode_of(b.key), 0600);

	/* --cn ca would land on the CA's own files: never, even forced. */
	req.cn = "ca";
	ck_assert_int_eq(pki_issue(&req, NULL, err, sizeof(err)), PKI_ERR);
	snprintf(p, sizeof(p), "%s/ca: refusing to replace the CA's own files",
	    ca);
	ck_assert_str_eq(err, p);
	free(k1);
	free(k2);
}
END_TEST

START_TEST(test_index_content)
{
	static const char *sans[] = { "IP:127.0.0.1" };
	struct pki_issued a, r;
	struct pki_index *idx;
	struct pki_entry *e;
	char p[PATH_MAX], want[1024], *got;
	ASN1_TIME *t;
	X509 *x;

	init_ok();
	issue_ok("home-nas", PKI_ROLE_AGENT, NULL, 0, &a);
	issue_ok("relay1", PKI_ROLE_RELAY, sans, 1, &r);
	/* not-after in the index is the certificate's. */
	x = load_cert(a.crt);
	t = ASN1_TIME_new();
	ck_assert_int_eq(ASN1_TIME_set_string_X509(t, a.not_after), 1);
	ck_assert_int_eq(ASN1_TIME_compare(X509_get0_notAfter(x), t), 0);
	ASN1_TIME_free(t);
	X509_free(x);
	snprintf(want, sizeof(want), "# atlax-pki index: role serial not-after "
	    "revoked-at cn (tab-separated, UTC)\n"
	    "agent\t%s\t%s\t-\thome-nas\n"
	    "relay\t%s\t%s\t-\trelay1\n", a.serial, a.not_after, r.serial,
	    r.not_after);
	got = slurp(path_in(p, ca, "index.txt"));
	ck_assert_str_eq(got, want);
	free(got);

	ck_assert_int_eq(pki_index_load(path_in(p, ca, "index.txt"), 0, &idx,
	    err, sizeof(err)), 0);
	ck_assert_uint_eq(pki_index_count(idx), 2);
	e = pki_index_find(idx, r.serial);
	ck_assert_ptr_nonnull(e);
	ck_assert_int_eq(e->role, PKI_ROLE_RELAY);
	ck_assert_str_eq(e->cn, "relay1");
	ck_assert_str_eq(e->revoked, "");
	pki_index_free(idx);
}
END_TEST

START_TEST(test_index_malformed)
{
	static const char *bad[] = {
		"agent\tABC\t20271123133858Z\t-\n",		/* 4 fields */
		"agent\tABC\t20271123133858Z\t-\thome nas\n",	/* CN */
		"admin\tABC\t20271123133858Z\t-\thome\n",	/* role */
		"agent\tabc\t20271123133858Z\t-\thome\n",	/* lowercase */
		"agent\tABC\t2027112313385Z\t-\thome\n",	/* time */
		"agent\tABC\t20271123133858Z\tyes\thome\n",	/* revoked */
		"agent ABC 20271123133858Z - home\n",		/* spaces */
		"agent\tABC\t20271123133858Z\t-\thome",		/* no \n */
	};
	struct pki_index *idx;
	char p[PATH_MAX], want[PATH_MAX + 64];
	size_t i;
	FILE *f;

	init_ok();
	path_in(p, ca, "index.txt");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		f = fopen(p, "w");
		fprintf(f, "# comment\n%s", bad[i]);
		fclose(f);
		ck_assert_int_eq(pki_index_load(p, 0, &idx, err, sizeof(err)),
		    -1);
		ck_assert_ptr_null(idx);
		snprintf(want, sizeof(want), i == 7 ? "%s:2: line too long "
		    "or not terminated" : "%s:2: malformed entry", p);
		ck_assert_msg(strcmp(err, want) == 0, "case %zu: %s", i, err);
	}
	/* The same serial twice. */
	f = fopen(p, "w");
	fprintf(f, "agent\tABC\t20271123133858Z\t-\ta\n"
	    "relay\tABC\t20271123133858Z\t20261123133858Z\tb\n");
	fclose(f);
	ck_assert_int_eq(pki_index_load(p, 0, &idx, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s:2: index: serial ABC is already "
	    "recorded", p);
	ck_assert_str_eq(err, want);
	/* Commands refuse to work on it. */
	ck_assert_int_eq(pki_list(ca, stdout, err, sizeof(err)), PKI_ERR);
	ck_assert_str_eq(err, want);
	ck_assert_int_eq(pki_crl(ca, 1, NULL, NULL, err, sizeof(err)), PKI_ERR);
	ck_assert_str_eq(err, want);
	unlink(p);
	ck_assert_int_eq(pki_index_load(p, 1, &idx, err, sizeof(err)), 0);
	ck_assert_uint_eq(pki_index_count(idx), 0);
	pki_index_free(idx);
	ck_assert_int_eq(pki_index_load(p, 0, &idx, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s: No such file or directory", p);
	ck_assert_str_eq(err, want);
}
END_TEST

START_TEST(test_list)
{
	struct pki_issued a, r;
	char *out = NULL, want[1024], t[32];
	size_t n = 0;
	FILE *f;

	init_ok();
	issue_ok("home-nas", PKI_ROLE_AGENT, NULL, 0, &a);
	issue_ok("relay", PKI_ROLE_RELAY, NULL, 0, &r);
	ck_assert_int_eq(pki_revoke(ca, NULL, r.serial, NULL, NULL, err,
	    sizeof(err)), PKI_OK);
	f = open_memstream(&out, &n);
	ck_assert_int_eq(pki_list(ca, f, err, sizeof(err)), PKI_OK);
	fclose(f);
	snprintf(t, sizeof(t), "%.4s-%.2s-%.2sT%.2s:%.2s:%.2sZ", a.not_after,
	    a.not_after + 4, a.not_after + 6, a.not_after + 8,
	    a.not_after + 10, a.not_after + 12);
	snprintf(want, sizeof(want),
	    "%-24s %-5s %-32s %-20s %s\n%-24s %-5s %-32s %-20s %s\n",
	    "CN", "ROLE", "SERIAL", "NOT-AFTER", "STATUS",
	    "home-nas", "agent", a.serial, t, "valid");
	ck_assert_int_eq(strncmp(out, want, strlen(want)), 0);
	ck_assert_ptr_nonnull(strstr(out + strlen(want), "relay"));
	ck_assert_ptr_nonnull(strstr(out + strlen(want), " revoked 20"));
	free(out);

	snprintf(want, sizeof(want), "%s/none", top);
	ck_assert_int_eq(pki_list(want, stdout, err, sizeof(err)), PKI_ERR);
	ck_assert_ptr_nonnull(strstr(err, ": no CA here (run 'atlax-pki init"));
}
END_TEST

START_TEST(test_revoke)
{
	struct pki_issued a1, a2, r;
	struct pki_index *idx;
	char p[PATH_MAX], want[256], *out = NULL;
	size_t n = 0, count;
	FILE *f;

	init_ok();
	issue_ok("home-nas", PKI_ROLE_AGENT, NULL, 0, &a1);
	ck_assert_int_eq(unlink(a1.crt), 0);
	ck_assert_int_eq(unlink(a1.key), 0);
	issue_ok("home-nas", PKI_ROLE_AGENT, NULL, 0, &a2);
	issue_ok("relay", PKI_ROLE_RELAY, NULL, 0, &r);

	/* Every unrevoked certificate of the CN. */
	f = open_memstream(&out, &n);
	ck_assert_int_eq(pki_revoke(ca, "home-nas", NULL, f, &count, err,
	    sizeof(err)), PKI_OK);
	fclose(f);
	ck_assert_uint_eq(count, 2);
	snprintf(want, sizeof(want), "revoked agent %s home-nas\n"
	    "revoked agent %s home-nas\n", a1.serial, a2.serial);
	ck_assert_str_eq(out, want);
	free(out);

	ck_assert_int_eq(pki_revoke(ca, "home-nas", NULL, NULL, &count, err,
	    sizeof(err)), PKI_ERR);
	ck_assert_str_eq(err, "every certificate of CN home-nas is already "
	    "revoked");
	ck_assert_uint_eq(count, 0);
	ck_assert_int_eq(pki_revoke(ca, "nobody", NULL, NULL, NULL, err,
	    sizeof(err)), PKI_ERR);
	ck_assert_str_eq(err, "no certificate with CN nobody");
	ck_assert_int_eq(pki_revoke(ca, NULL, "ABCDEF", NULL, NULL, err,
	    sizeof(err)), PKI_ERR);
	ck_assert_str_eq(err, "no certificate with serial ABCDEF");
	ck_assert_int_eq(pki_revoke(ca, NULL, NULL, NULL, NULL, err,
	    sizeof(err)), PKI_EUSAGE);
	ck_assert_str_eq(err, "give exactly one of --cn and --serial");
	ck_assert_int_eq(pki_revoke(ca, "relay", r.serial, NULL, NULL, err,
	    sizeof(err)), PKI_EUSAGE);
	ck_assert_int_eq(pki_revoke(ca, NULL, "12G", NULL, NULL, err,
	    sizeof(err)), PKI_EUSAGE);
	ck_assert_int_eq(pki_revoke(ca, "bad cn", NULL, NULL, NULL, err,
	    sizeof(err)), PKI_EUSAGE);

	/* By serial, in lowercase with colons as openssl prints it. */
	snprintf(want, sizeof(want), "%s", r.serial);
	for (n = 0; want[n] != '\0'; n++)
		want[n] = (char)tolower((unsigned char)want[n]);
	ck_assert_int_eq(pki_revoke(ca, NULL, want, NULL, &count, err,
	    sizeof(err)), PKI_OK);
	ck_assert_uint_eq(count, 1);
	ck_assert_int_eq(pki_revoke(ca, NULL, r.serial, NULL, NULL, err,
	    sizeof(err)), PKI_ERR);
	ck_assert_ptr_nonnull(strstr(err, "(CN relay) was already revoked at "));

	ck_assert_int_eq(pki_index_load(path_in(p, ca, "index.txt"), 0, &idx,
	    err, sizeof(err)), 0);
	ck_assert(pki_index_valid_time(pki_index_find(idx, a1.serial)->revoked));
	ck_assert(pki_index_valid_time(pki_index_find(idx, r.serial)->revoked));
	pki_index_free(idx);

	snprintf(p, sizeof(p), "%s/none", top);
	ck_assert_int_eq(pki_revoke(p, "x", NULL, NULL, NULL, err,
	    sizeof(err)), PKI_ERR);
	ck_assert_ptr_nonnull(strstr(err, ": no CA here (run 'atlax-pki init"));
}
END_TEST

/* 1 if crl lists serial (uppercase hex). */
static int
crl_has(X509_CRL *crl, const char *serial)
{
	STACK_OF(X509_REVOKED) *revs = X509_CRL_get_REVOKED(crl);
	BIGNUM *bn;
	char *hex;
	int i, found = 0;

	for (i = 0; i < sk_X509_REVOKED_num(revs); i++) {
		bn = ASN1_INTEGER_to_BN(X509_REVOKED_get0_serialNumber(
		    sk_X509_REVOKED_value(revs, i)), NULL);
		hex = BN_bn2hex(bn);
		if (strcmp(hex, serial) == 0)
			found = 1;
		OPENSSL_free(hex);
		BN_free(bn);
	}
	return found;
}

static long
crl_number(X509_CRL *crl)
{
	ASN1_INTEGER *n = X509_CRL_get_ext_d2i(crl, NID_crl_number, NULL, NULL);
	long v;

	ck_assert_ptr_nonnull(n);
	v = ASN1_INTEGER_get(n);
	ASN1_INTEGER_free(n);
	return v;
}

START_TEST(test_crl)
{
	struct pki_issued a, r;
	char p[PATH_MAX], *num;
	unsigned long number;
	size_t count;
	X509_CRL *crl;
	X509 *cacert;
	int days, secs;

	init_ok();
	issue_ok("home-nas", PKI_ROLE_AGENT, NULL, 0, &a);
	issue_ok("relay", PKI_ROLE_RELAY, NULL, 0, &r);

	/* An empty CRL first: number 1, no entries, still verifies. */
	ck_assert_int_eq(pki_crl(ca, 7, &number, &count, err, sizeof(err)),
	    PKI_OK);
	ck_assert_uint_eq(number, 1);
	ck_assert_uint_eq(count, 0);
	crl = load_crl(path_in(p, ca, "ca.crl"));
	ck_assert_int_le(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl)), 0);
	ck_assert_int_eq(verifies(a.crt, crl), 1);
	X509_CRL_free(crl);

	ck_assert_int_eq(pki_revoke(ca, "home-nas", NULL, NULL, NULL, err,
	    sizeof(err)), PKI_OK);
	ck_assert_int_eq(pki_crl(ca, 7, &number, &count, err, sizeof(err)),
	    PKI_OK);
	ck_assert_uint_eq(number, 2);
	ck_assert_uint_eq(count, 1);
	ck_assert_int_eq(mode_of(path_in(p, ca, "ca.crl")), 0644);
	num = slurp(path_in(p, ca, "crlnumber"));
	ck_assert_str_eq(num, "2\n");
	free(num);

	crl = load_crl(path_in(p, ca, "ca.crl"));
	cacert = load_cert(path_in(p, ca, "ca.crt"));
	ck_assert_int_eq(X509_CRL_get_version(crl), X509_CRL_VERSION_2);
	ck_assert_int_eq(X509_CRL_verify(crl, X509_get0_pubkey(cacert)), 1);
	ck_assert_int_eq(X509_NAME_cmp(X509_CRL_get_issuer(crl),
	    X509_get_subject_name(cacert)), 0);
	ck_assert_int_eq(crl_number(crl), 2);
	ck_assert_int_eq(ASN1_TIME_diff(&days, &secs,
	    X509_CRL_get0_lastUpdate(crl), X509_CRL_get0_nextUpdate(crl)), 1);
	ck_assert_int_eq(days, 7);
	ck_assert_int_eq(secs, 0);
	ck_assert_int_eq(crl_has(crl, a.serial), 1);
	ck_assert_int_eq(crl_has(crl, r.serial), 0);
	ck_assert_int_eq(verifies(a.crt, crl), 0);
	ck_assert_int_eq(verifies(r.crt, crl), 1);
	X509_CRL_free(crl);
	X509_free(cacert);

	ck_assert_int_eq(pki_crl(ca, 0, NULL, NULL, err, sizeof(err)),
	    PKI_EUSAGE);
	ck_assert_str_eq(err, "--days 0: expected 1 to 36500");
	/* A damaged crlnumber is an error, never a silent restart at 1. */
	ck_assert_int_eq(truncate(path_in(p, ca, "crlnumber"), 0), 0);
	ck_assert_int_eq(pki_crl(ca, 7, NULL, NULL, err, sizeof(err)), PKI_ERR);
	snprintf(p, sizeof(p), "%s/crlnumber: not a CRL number", ca);
	ck_assert_str_eq(err, p);
}
END_TEST

START_TEST(test_crl_before_init)
{
	char want[2 * PATH_MAX];

	ck_assert_int_eq(pki_crl(ca, 7, NULL, NULL, err, sizeof(err)), PKI_ERR);
	snprintf(want, sizeof(want), "%s: no CA here (run 'atlax-pki init "
	    "--dir %s' first)", ca, ca);
	ck_assert_str_eq(err, want);
}
END_TEST

START_TEST(test_ca_key_mismatch)
{
	char p[PATH_MAX], q[PATH_MAX], want[2 * PATH_MAX + 32];
	char other[DIR_MAX + 8];

	init_ok();
	snprintf(other, sizeof(other), "%s/other", top);
	ck_assert_int_eq(pki_init(other, NULL, 10, 0, err, sizeof(err)),
	    PKI_OK);
	ck_assert_int_eq(rename(path_in(p, other, "ca.key"),
	    path_in(q, ca, "ca.key")), 0);
	ck_assert_int_eq(pki_crl(ca, 7, NULL, NULL, err, sizeof(err)), PKI_ERR);
	snprintf(want, sizeof(want), "%s/ca.key does not match %s/ca.crt", ca,
	    ca);
	ck_assert_str_eq(err, want);
}
END_TEST

START_TEST(test_file_commit)
{
	struct pki_file pf;
	char p[PATH_MAX], want[PATH_MAX + 64], *s;

	path_in(p, top, "f");
	ck_assert_int_eq(pki_file_open(&pf, p, 0640, err, sizeof(err)), 0);
	fputs("one\n", pf.f);
	ck_assert_int_eq(pki_file_exists(p), 0);	/* not before commit */
	ck_assert_int_eq(pki_file_commit(&pf, 0, err, sizeof(err)), 0);
	ck_assert_int_eq(mode_of(p), 0640);
	ck_assert_int_eq(pki_file_open(&pf, p, 0640, err, sizeof(err)), 0);
	fputs("two\n", pf.f);
	ck_assert_int_eq(pki_file_commit(&pf, 0, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s: already exists (use --force to "
	    "replace it)", p);
	ck_assert_str_eq(err, want);
	s = slurp(p);
	ck_assert_str_eq(s, "one\n");
	free(s);
	ck_assert_int_eq(pki_file_open(&pf, p, 0640, err, sizeof(err)), 0);
	fputs("three\n", pf.f);
	ck_assert_int_eq(pki_file_commit(&pf, 1, err, sizeof(err)), 0);
	s = slurp(p);
	ck_assert_str_eq(s, "three\n");
	free(s);
	/* No temporary file left behind. */
	snprintf(want, sizeof(want), "%s.tmp.%ld", p, (long)getpid());
	ck_assert_int_eq(pki_file_exists(want), 0);
	/* An aborted write leaves nothing. */
	path_in(p, top, "g");
	ck_assert_int_eq(pki_file_open(&pf, p, 0600, err, sizeof(err)), 0);
	pki_file_abort(&pf);
	ck_assert_int_eq(pki_file_exists(p), 0);
	snprintf(want, sizeof(want), "%s.tmp.%ld", p, (long)getpid());
	ck_assert_int_eq(pki_file_exists(want), 0);
	pki_file_abort(NULL);
}
END_TEST

/* pki_jwt.c: keys written with their modes, tokens the verifier accepts. */
START_TEST(test_jwt_keygen)
{
	char sec[PATH_MAX], pre[PATH_MAX], key[PATH_MAX], pub[PATH_MAX];
	struct stat st;
	char *text;

	path_in(sec, top, "hs.secret");
	ck_assert_int_eq(pki_jwt_keygen_hs256(sec, 0, err, sizeof(err)),
	    PKI_OK);
	ck_assert_int_eq(stat(sec, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	text = slurp(sec);
	ck_assert_uint_eq(strlen(text), 45);
	ck_assert_int_eq(text[44], '\n');
	ck_assert_uint_eq(strspn(text, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmn"
	    "opqrstuvwxyz0123456789+/="), 44);
	ck_assert_int_eq(pki_jwt_keygen_hs256(sec, 0, err, sizeof(err)),
	    PKI_ERR);
	ck_assert_ptr_nonnull(strstr(err, "exists (--force replaces it)"));
	ck_assert_int_eq(pki_jwt_keygen_hs256(sec, 1, err, sizeof(err)),
	    PKI_OK);
	free(text);

	path_in(pre, top, "es");
	path_in(key, top, "es.key");
	path_in(pub, top, "es.pub");
	ck_assert_int_eq(pki_jwt_keygen_es256(pre, 0, err, sizeof(err)),
	    PKI_OK);
	ck_assert_int_eq(stat(key, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	ck_assert_int_eq(stat(pub, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0644);
	ck_assert_int_eq(pki_jwt_keygen_es256(pre, 0, err, sizeof(err)),
	    PKI_ERR);
}
END_TEST

START_TEST(test_jwt_ttl)
{
	static const struct { const char *s; uint64_t v; } good[] = {
		{ "1s", 1 }, { "90s", 90 }, { "15m", 900 }, { "24h", 86400 },
		{ "30d", 2592000 }, { "3650d", 3650ULL * 86400 },
	};
	static const char *bad[] = { "0", "0s", "0d", "1.5h", "90", "500ms",
	    "3651d", "d", "-1h", "1h30m", "" };
	uint64_t v;
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		ck_assert_int_eq(pki_jwt_parse_ttl(good[i].s, &v, err,
		    sizeof(err)), PKI_OK);
		ck_assert_uint_eq(v, good[i].v);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(pki_jwt_parse_ttl(bad[i], &v, err, sizeof(err)) ==
		    PKI_EUSAGE, "%s accepted", bad[i]);
}
END_TEST

START_TEST(test_jwt_token)
{
	static const char *expose[] = { "smb" };
	char sec[PATH_MAX], pre[PATH_MAX], key[PATH_MAX], pub[PATH_MAX];
	struct pki_token_req req;
	struct jwt_keys *k = jwt_keys_new();
	struct jwt_claims c;
	char *t = NULL, why[256];
	uint8_t buf[CFG_SECRET_BUF];
	size_t len;

	path_in(sec, top, "hs.secret");
	path_in(pre, top, "es");
	path_in(key, top, "es.key");
	path_in(pub, top, "es.pub");
	ck_assert_int_eq(pki_jwt_keygen_hs256(sec, 0, err, sizeof(err)), 0);
	ck_assert_int_eq(pki_jwt_keygen_es256(pre, 0, err, sizeof(err)), 0);
	ck_assert_int_eq(cfg_relay_secret_read(sec, buf, sizeof(buf), &len,
	    err, sizeof(err)), 0);
	ck_assert_uint_eq(len, 44);
	ck_assert_int_eq(jwt_keys_set_hs256(k, buf, len, why, sizeof(why)), 0);
	ck_assert_int_eq(jwt_keys_add_es256_file(k, pub, why, sizeof(why)), 0);

	memset(&req, 0, sizeof(req));
	req.secret_file = sec;
	req.sub = "home-nas";
	req.ttl = 3600;
	req.expose = expose;
	req.nexpose = 1;
	ck_assert_int_eq(pki_jwt_token(&req, 1800000000, &t, err, sizeof(err)),
	    PKI_OK);
	ck_assert_int_eq(jwt_verify(k, t, strlen(t), 1800000100, &c, why,
	    sizeof(why)), JWT_OK);
	ck_assert_str_eq(c.sub, "home-nas");
	ck_assert_uint_eq(c.exp, 1800003600);
	ck_assert_uint_eq(strlen(c.jti), 32);	/* the default random jti */
	ck_assert_int_eq(jwt_claims_may_expose(&c, "smb", 0), 1);
	jwt_claims_free(&c);
	ck_assert_int_eq(jwt_verify(k, t, strlen(t), 1800003660, &c, why,
	    sizeof(why)), JWT_E_EXPIRED);
	free(t);

	req.secret_file = NULL;
	req.key_file = key;
	req.jti = "fixed";
	ck_assert_int_eq(pki_jwt_token(&req, 1800000000, &t, err, sizeof(err)),
	    PKI_OK);
	ck_assert_int_eq(jwt_verify(k, t, strlen(t), 1800000100, &c, why,
	    sizeof(why)), JWT_OK);
	ck_assert_int_eq(c.alg, JWT_ALG_ES256);
	ck_assert_str_eq(c.jti, "fixed");
	jwt_claims_free(&c);
	free(t);

	req.sub = "bad sub";
	ck_assert_int_eq(pki_jwt_token(&req, 1800000000, &t, err, sizeof(err)),
	    PKI_EUSAGE);
	ck_assert_ptr_null(t);
	req.sub = "a";
	req.key_file = pub;
	ck_assert_int_eq(pki_jwt_token(&req, 1800000000, &t, err, sizeof(err)),
	    PKI_ERR);
	jwt_keys_free(k);
}
END_TEST

static Suite *
pki_suite(void)
{
	Suite *s = suite_create("pki");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_valid_cn);
	tcase_add_test(tc, test_role_parse);
	tcase_add_test(tc, test_san_check);
	tcase_add_test(tc, test_serial_parse);
	tcase_add_test(tc, test_init);
	tcase_add_test(tc, test_init_cn_days);
	tcase_add_test(tc, test_init_refusals);
	tcase_add_test(tc, test_init_force);
	tcase_add_test(tc, test_issue_agent);
	tcase_add_test(tc, test_issue_relay);
	tcase_add_test(tc, test_issue_out_days_backdate);
	tcase_add_test(tc, test_issue_umask);
	tcase_add_test(tc, test_issue_refusals);
	tcase_add_test(tc, test_issue_force);
	tcase_add_test(tc, test_index_content);
	tcase_add_test(tc, test_index_malformed);
	tcase_add_test(tc, test_list);
	tcase_add_test(tc, test_revoke);
	tcase_add_test(tc, test_crl);
	tcase_add_test(tc, test_crl_before_init);
	tcase_add_test(tc, test_ca_key_mismatch);
	tcase_add_test(tc, test_file_commit);
	tcase_add_test(tc, test_jwt_keygen);
	tcase_add_test(tc, test_jwt_ttl);
	tcase_add_test(tc, test_jwt_token);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(pki_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
