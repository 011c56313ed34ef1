/*
 * pki_x509.c — keys, serials, certificates and CRLs with OpenSSL 3's C API.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "log.h"
#include "pki.h"
#include "pki_index.h"
#include "pki_x509.h"

#define PKI_CURVE	"P-256"
#define PKI_SERIAL_LEN	16		/* 128-bit serials */

/* Format err and append the drained OpenSSL error queue, if any. */
void
pki_x509_error(char *err, size_t len, const char *fmt, ...)
{
	char errs[512];
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	log_ssl_errors(errs, sizeof(errs));
	n = strlen(err);
	if (errs[0] != '\0' && n < len)
		snprintf(err + n, len - n, ": %s", errs);
}

EVP_PKEY *
pki_x509_keygen(char *err, size_t len)
{
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL;

	if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) == NULL ||
	    EVP_PKEY_keygen_init(ctx) <= 0 ||
	    EVP_PKEY_CTX_set_group_name(ctx, PKI_CURVE) <= 0 ||
	    EVP_PKEY_generate(ctx, &pkey) <= 0) {
		pki_x509_error(err, len, "%s key generation failed", PKI_CURVE);
		EVP_PKEY_free(pkey);
		pkey = NULL;
	}
	EVP_PKEY_CTX_free(ctx);
	return pkey;
}

/*
 * A random positive 128-bit serial, not yet in idx (may be NULL).  The top
 * bit is cleared so the INTEGER is positive without a sign octet and the next
 * one set so every serial has the same 32-digit length: 126 random bits.
 */
ASN1_INTEGER *
pki_x509_serial(struct pki_index *idx, char *hex, size_t hexlen, char *err,
    size_t len)
{
	unsigned char b[PKI_SERIAL_LEN];
	ASN1_INTEGER *ai = NULL;
	BIGNUM *bn = NULL;
	char *s = NULL;
	int tries;

	for (tries = 0; tries < 8; tries++) {
		BN_free(bn);
		bn = NULL;
		OPENSSL_free(s);
		s = NULL;
		if (RAND_bytes(b, sizeof(b)) != 1)
			break;
		b[0] = (b[0] & 0x7f) | 0x40;
		if ((bn = BN_bin2bn(b, sizeof(b), NULL)) == NULL ||
		    (s = BN_bn2hex(bn)) == NULL)
			break;
		if (idx == NULL || pki_index_find(idx, s) == NULL) {
			ai = BN_to_ASN1_INTEGER(bn, NULL);
			break;
		}
	}
	if (ai == NULL)
		pki_x509_error(err, len, "serial number generation failed");
	else
		snprintf(hex, hexlen, "%s", s);
	OPENSSL_cleanse(b, sizeof(b));
	OPENSSL_free(s);
	BN_free(bn);
	return ai;
}

/* t as "YYYYMMDDHHMMSSZ". */
int
pki_x509_time(const ASN1_TIME *t, char *buf, size_t len)
{
	struct tm tm;

	if (ASN1_TIME_to_tm(t, &tm) != 1 ||
	    strftime(buf, len, "%Y%m%d%H%M%SZ", &tm) == 0)
		return -1;
	return 0;
}

/* Add one extension given in openssl.cnf syntax ("critical,CA:TRUE"). */
int
pki_x509_ext(X509 *x, X509 *issuer, int nid, const char *value, char *err,
    size_t len)
{
	X509_EXTENSION *ext = NULL;
	X509V3_CTX ctx;
	int r = PKI_ERR;

	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	if ((ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value)) == NULL ||
	    X509_add_ext(x, ext, -1) != 1) {
		pki_x509_error(err, len, "extension %s=%s", OBJ_nid2sn(nid),
		    value);
		goto out;
	}
	r = PKI_OK;
out:
	X509_EXTENSION_free(ext);
	return r;
}

/* Append DNS:name or IP:addr (already checked) to gens, skipping duplicates
 * so "--san DNS:NAME" next to the default SAN does not repeat it. */
static int
pki_x509_san_add(GENERAL_NAMES *gens, const char *san)
{
	GENERAL_NAME *gen = NULL, *other;
	ASN1_IA5STRING *dns = NULL;
	ASN1_OCTET_STRING *ip = NULL;
	int i, r = -1;

	if ((gen = GENERAL_NAME_new()) == NULL)
		goto out;
	if (strncasecmp(san, "DNS:", 4) == 0) {
		if ((dns = ASN1_IA5STRING_new()) == NULL ||
		    ASN1_STRING_set(dns, san + 4, -1) != 1)
			goto out;
		GENERAL_NAME_set0_value(gen, GEN_DNS, dns);
		dns = NULL;
	} else {
		if ((ip = a2i_IPADDRESS(san + 3)) == NULL)
			goto out;
		GENERAL_NAME_set0_value(gen, GEN_IPADD, ip);
		ip = NULL;
	}
	for (i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
		other = sk_GENERAL_NAME_value(gens, i);
		if (other->type == gen->type && (gen->type == GEN_DNS ?
		    strcasecmp((const char *)ASN1_STRING_get0_data(
		    other->d.dNSName), (const char *)ASN1_STRING_get0_data(
		    gen->d.dNSName)) == 0 :
		    ASN1_OCTET_STRING_cmp(other->d.iPAddress,
		    gen->d.iPAddress) == 0)) {
			r = 0;
			goto out;
		}
	}
	if (sk_GENERAL_NAME_push(gens, gen) <= 0)
		goto out;
	gen = NULL;
	r = 0;
out:
	GENERAL_NAME_free(gen);
	ASN1_IA5STRING_free(dns);
	ASN1_OCTET_STRING_free(ip);
	return r;
}

int
pki_x509_sans(X509 *x, const char *cn, const char *const *sans, size_t nsans,
    char *err, size_t len)
{
	GENERAL_NAMES *gens = NULL;
	char dflt[PKI_CN_MAX + 5];
	size_t i;
	int r = PKI_ERR;

	snprintf(dflt, sizeof(dflt), "DNS:%s", cn);
	if ((gens = sk_GENERAL_NAME_new_null()) == NULL ||
	    pki_x509_san_add(gens, dflt) != 0)
		goto fail;
	for (i = 0; i < nsans; i++) {
		if (pki_x509_san_add(gens, sans[i]) != 0)
			goto fail;
	}
	if (X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0,
	    X509V3_ADD_DEFAULT) != 1)
		goto fail;
	r = PKI_OK;
	goto out;
fail:
	pki_x509_error(err, len, "subjectAltName");
out:
	GENERAL_NAMES_free(gens);
	return r;
}

/*
 * A new unsigned certificate for cn and pkey, issued by issuer (NULL: self),
 * valid from backdate days ago for days days.
 */
X509 *
pki_x509_cert(const char *cn, EVP_PKEY *pkey, X509 *issuer, ASN1_INTEGER *serial,
    int days, int backdate, char *err, size_t len)
{
	X509_NAME *name = NULL;
	X509 *x = NULL;
	time_t now = time(NULL);	/* one instant for both bounds */
	int ok = 0;

	if ((x = X509_new()) == NULL || (name = X509_NAME_new()) == NULL ||
	    X509_set_version(x, X509_VERSION_3) != 1 ||
	    X509_set_serialNumber(x, serial) != 1 ||
	    X509_time_adj_ex(X509_getm_notBefore(x), -backdate, 0, &now) ==
	    NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(x), days - backdate, 0, &now) ==
	    NULL ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
	    (const unsigned char *)cn, -1, -1, 0) != 1 ||
	    X509_set_subject_name(x, name) != 1 ||
	    X509_set_issuer_name(x, issuer != NULL ?
	    X509_get_subject_name(issuer) : name) != 1 ||
	    X509_set_pubkey(x, pkey) != 1) {
		pki_x509_error(err, len, "certificate for %s", cn);
		goto out;
	}
	ok = 1;
out:
	X509_NAME_free(name);
	if (!ok) {
		X509_free(x);
		x = NULL;
	}
	return x;
}

/* Refuse to ask for a passphrase: the CA key is stored unencrypted (0600). */
static int
pki_x509_no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

/* Build and sign the CRL listing every revoked entry of idx. */
X509_CRL *
pki_x509_crl(X509 *ca, EVP_PKEY *key, struct pki_index *idx, int days,
    unsigned long number, size_t *count, char *err, size_t len)
{
	X509_EXTENSION *aki = NULL;
	X509_REVOKED *rev = NULL;
	ASN1_INTEGER *num = NULL, *sn = NULL;
	ASN1_TIME *last = NULL, *next = NULL, *when = NULL;
	struct pki_entry *e;
	X509_CRL *crl = NULL;
	BIGNUM *bn = NULL;
	X509V3_CTX ctx;
	time_t now = time(NULL);
	size_t i;
	int ok = 0;

	*count = 0;
	if ((crl = X509_CRL_new()) == NULL ||
	    X509_CRL_set_version(crl, X509_CRL_VERSION_2) != 1 ||
	    X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca)) != 1 ||
	    (last = X509_time_adj_ex(NULL, 0, 0, &now)) == NULL ||
	    (next = X509_time_adj_ex(NULL, days, 0, &now)) == NULL ||
	    X509_CRL_set1_lastUpdate(crl, last) != 1 ||
	    X509_CRL_set1_nextUpdate(crl, next) != 1)
		goto out;
	for (i = 0; i < pki_index_count(idx); i++) {
		e = pki_index_get(idx, i);
		if (e->revoked[0] == '\0')
			continue;
		if ((rev = X509_REVOKED_new()) == NULL ||
		    BN_hex2bn(&bn, e->serial) == 0 ||
		    (sn = BN_to_ASN1_INTEGER(bn, NULL)) == NULL ||
		    X509_REVOKED_set_serialNumber(rev, sn) != 1 ||
		    (when = ASN1_TIME_new()) == NULL ||
		    ASN1_TIME_set_string_X509(when, e->revoked) != 1 ||
		    X509_REVOKED_set_revocationDate(rev, when) != 1 ||
		    X509_CRL_add0_revoked(crl, rev) != 1)
			goto out;
		rev = NULL;	/* owned by crl now */
		ASN1_INTEGER_free(sn);
		sn = NULL;
		ASN1_TIME_free(when);
		when = NULL;
		BN_free(bn);
		bn = NULL;
		(*count)++;
	}
	X509V3_set_ctx(&ctx, ca, NULL, NULL, crl, 0);
	if (X509_CRL_sort(crl) != 1 || (num = ASN1_INTEGER_new()) == NULL ||
	    ASN1_INTEGER_set_uint64(num, number) != 1 ||
	    X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0, 0) != 1 ||
	    (aki = X509V3_EXT_conf_nid(NULL, &ctx,
	    NID_authority_key_identifier, "keyid:always")) == NULL ||
	    X509_CRL_add_ext(crl, aki, -1) != 1 ||
	    X509_CRL_sign(crl, key, EVP_sha256()) <= 0)
		goto out;
	ok = 1;
out:
	if (!ok) {
		pki_x509_error(err, len, "building the CRL");
		X509_CRL_free(crl);
		crl = NULL;
	}
	X509_EXTENSION_free(aki);
	X509_REVOKED_free(rev);
	ASN1_INTEGER_free(num);
	ASN1_INTEGER_free(sn);
	ASN1_TIME_free(last);
	ASN1_TIME_free(next);
	ASN1_TIME_free(when);
	BN_free(bn);
	return crl;
}

X509 *
pki_x509_read_cert(const char *path, char *err, size_t len)
{
	X509 *x = NULL;
	FILE *f;

	if ((f = fopen(path, "re")) == NULL) {
		snprintf(err, len, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if ((x = PEM_read_X509(f, NULL, pki_x509_no_passphrase, NULL)) == NULL)
		pki_x509_error(err, len, "%s: not a PEM certificate", path);
	fclose(f);
	return x;
}

EVP_PKEY *
pki_x509_read_key(const char *path, char *err, size_t len)
{
	EVP_PKEY *key = NULL;
	FILE *f;

	if ((f = fopen(path, "re")) == NULL) {
		snprintf(err, len, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if ((key = PEM_read_PrivateKey(f, NULL, pki_x509_no_passphrase,
	    NULL)) == NULL) {
		/* Not pki_x509_error: keep whatever the queue says about the
		 * file's contents out of the message. */
		ERR_clear_error();
		snprintf(err, len, "%s: not an unencrypted PEM private key",
		    path);
	}
	fclose(f);
	return key;
}
