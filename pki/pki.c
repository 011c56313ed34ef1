/*
 * pki.c — CA operations for atlax-pki on a CA folder: init, issue, list,
 * revoke, crl.  The OpenSSL objects are made in pki_x509.c.
 *
 * Invariants:
 *   - a private key only ever exists on disk in a file created 0600 (see
 *     pki_file.c) and is never printed or put in an error message;
 *   - an existing key or certificate is never replaced without force, and
 *     the check is the atomic link(2) in pki_file_commit(), not just the
 *     friendly lstat() done first;
 *   - every command that changes DIR holds DIR/.lock from reading the index
 *     to saving it.
 */
#include <sys/stat.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "log.h"
#include "pki.h"
#include "pki_file.h"
#include "pki_index.h"
#include "pki_x509.h"

#define PKI_CN_SYNTAX	"[A-Za-z0-9][A-Za-z0-9._-]{0,63}"

/* Paths of one CA folder. */
struct pki_paths {
	char	key[PATH_MAX];
	char	crt[PATH_MAX];
	char	crl[PATH_MAX];
	char	index[PATH_MAX];
	char	crlnumber[PATH_MAX];
};

/* Arguments are echoed in errors: keep them to one printable line. */
static const char *
pki_safe(const char *s, char *buf, size_t len)
{
	return log_sanitize(buf, len, s, strlen(s));
}

int
pki_valid_cn(const char *cn)
{
	size_t i, n;

	if (cn == NULL || (n = strlen(cn)) == 0 || n > PKI_CN_MAX)
		return 0;
	if (!isalnum((unsigned char)cn[0]))
		return 0;
	for (i = 1; i < n; i++) {
		if (!isalnum((unsigned char)cn[i]) && cn[i] != '.' &&
		    cn[i] != '_' && cn[i] != '-')
			return 0;
	}
	return 1;
}

static const char *pki_role_names[] = {
	[PKI_ROLE_AGENT] = "agent",
	[PKI_ROLE_RELAY] = "relay",
};

int
pki_role_parse(const char *name, enum pki_role *role)
{
	size_t i;

	for (i = 0; i < sizeof(pki_role_names) / sizeof(pki_role_names[0]);
	    i++) {
		if (name != NULL && strcmp(name, pki_role_names[i]) == 0) {
			*role = (enum pki_role)i;
			return PKI_OK;
		}
	}
	return PKI_EUSAGE;
}

const char *
pki_role_name(enum pki_role role)
{
	if ((size_t)role >= sizeof(pki_role_names) / sizeof(pki_role_names[0]))
		return "?";
	return pki_role_names[role];
}

/* A host name: dot-separated labels of letters, digits, '-' and '_', each
 * 1..63 long and not starting or ending with '-'; "*." may lead. */
static int
pki_valid_dns(const char *s)
{
	size_t n = strlen(s), label = 0, i;

	if (strncmp(s, "*.", 2) == 0) {
		s += 2;
		n -= 2;
	}
	if (n == 0 || n > 253)
		return 0;
	for (i = 0; i <= n; i++) {
		if (i == n || s[i] == '.') {
			if (label == 0 || s[i - 1] == '-')
				return 0;
			label = 0;
			continue;
		}
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_')
			return 0;
		if (label == 0 && s[i] == '-')
			return 0;
		if (++label > 63)
			return 0;
	}
	return 1;
}

int
pki_san_check(const char *san, char *err, size_t len)
{
	unsigned char addr[16];
	char safe[300];

	if (strncasecmp(san, "DNS:", 4) == 0) {
		if (!pki_valid_dns(san + 4)) {
			snprintf(err, len, "--san '%s': not a valid DNS name",
			    pki_safe(san, safe, sizeof(safe)));
			return PKI_EUSAGE;
		}
		return PKI_OK;
	}
	if (strncasecmp(san, "IP:", 3) == 0) {
		if (inet_pton(AF_INET, san + 3, addr) != 1 &&
		    inet_pton(AF_INET6, san + 3, addr) != 1) {
			snprintf(err, len, "--san '%s': not a valid IP address",
			    pki_safe(san, safe, sizeof(safe)));
			return PKI_EUSAGE;
		}
		return PKI_OK;
	}
	snprintf(err, len, "--san '%s': expected DNS:name or IP:address",
	    pki_safe(san, safe, sizeof(safe)));
	return PKI_EUSAGE;
}

int
pki_serial_parse(const char *s, char *out, size_t outlen, char *err,
    size_t len)
{
	char digits[2 * PKI_SERIAL_HEX_MAX + 1], safe[128];
	const char *p = s;
	BIGNUM *bn = NULL;
	char *hex = NULL;
	size_t n = 0;
	int r = PKI_EUSAGE;

	if (strncasecmp(p, "0x", 2) == 0)
		p += 2;
	for (; *p != '\0'; p++) {
		if (*p == ':')
			continue;
		if (!isxdigit((unsigned char)*p) || n + 1 >= sizeof(digits))
			goto bad;
		digits[n++] = *p;
	}
	digits[n] = '\0';
	if (n == 0 || BN_hex2bn(&bn, digits) != (int)n)
		goto bad;
	if (BN_num_bytes(bn) > PKI_SERIAL_HEX_MAX / 2)
		goto bad;
	if ((hex = BN_bn2hex(bn)) == NULL) {
		pki_x509_error(err, len, "serial");
		r = PKI_ERR;
		goto out;
	}
	if (strlen(hex) >= outlen) {
		snprintf(err, len, "serial: buffer too small");
		r = PKI_ERR;
		goto out;
	}
	strcpy(out, hex);
	r = PKI_OK;
	goto out;
bad:
	snprintf(err, len, "--serial '%s': not a hexadecimal serial of at most "
	    "20 octets", pki_safe(s, safe, sizeof(safe)));
out:
	OPENSSL_free(hex);
	BN_free(bn);
	return r;
}

static int
pki_paths(struct pki_paths *p, const char *dir, char *err, size_t len)
{
	if (pki_file_join(p->key, sizeof(p->key), dir, "ca.key", err, len) ||
	    pki_file_join(p->crt, sizeof(p->crt), dir, "ca.crt", err, len) ||
	    pki_file_join(p->crl, sizeof(p->crl), dir, "ca.crl", err, len) ||
	    pki_file_join(p->index, sizeof(p->index), dir, PKI_INDEX_FILE, err,
	    len) ||
	    pki_file_join(p->crlnumber, sizeof(p->crlnumber), dir, "crlnumber",
	    err, len))
		return PKI_ERR;
	return PKI_OK;
}

static int
pki_check_days(const char *what, int days, int min, char *err, size_t len)
{
	if (days < min || days > PKI_DAYS_MAX) {
		snprintf(err, len, "%s %d: expected %d to %d", what, days, min,
		    PKI_DAYS_MAX);
		return PKI_EUSAGE;
	}
	return PKI_OK;
}

static int
pki_check_cn(const char *cn, char *err, size_t len)
{
	char safe[128];

	if (cn == NULL) {
		snprintf(err, len, "--cn is required");
		return PKI_EUSAGE;
	}
	if (!pki_valid_cn(cn)) {
		snprintf(err, len, "CN '%s' is invalid: it must match "
		    PKI_CN_SYNTAX, pki_safe(cn, safe, sizeof(safe)));
		return PKI_EUSAGE;
	}
	return PKI_OK;
}

/* "20271123133325Z" -> "2027-11-23T13:33:25Z" for people. */
static const char *
pki_time_human(const char *t, char *buf, size_t len)
{
	if (!pki_index_valid_time(t))
		return t;
	snprintf(buf, len, "%.4s-%.2s-%.2sT%.2s:%.2s:%.2sZ", t, t + 4, t + 6,
	    t + 8, t + 10, t + 12);
	return buf;
}

/* Load DIR's CA certificate and (if key != NULL) its matching key. */
static int
pki_ca_load(const char *dir, const struct pki_paths *p, X509 **crt,
    EVP_PKEY **key, char *err, size_t len)
{
	int r = PKI_ERR;

	*crt = NULL;
	if (key != NULL)
		*key = NULL;
	if (!pki_file_exists(p->crt) ||
	    (key != NULL && !pki_file_exists(p->key))) {
		snprintf(err, len, "%s: no CA here (run 'atlax-pki init --dir "
		    "%s' first)", dir, dir);
		goto out;
	}
	if ((*crt = pki_x509_read_cert(p->crt, err, len)) == NULL)
		goto out;
	if (key == NULL) {
		r = PKI_OK;
		goto out;
	}
	if ((*key = pki_x509_read_key(p->key, err, len)) == NULL)
		goto out;
	if (X509_check_private_key(*crt, *key) != 1) {
		ERR_clear_error();
		snprintf(err, len, "%s does not match %s", p->key, p->crt);
		goto out;
	}
	r = PKI_OK;
out:
	if (r != PKI_OK) {
		X509_free(*crt);
		*crt = NULL;
		if (key != NULL) {
			EVP_PKEY_free(*key);
			*key = NULL;
		}
	}
	return r;
}

/* Write key and cert to temporary files next to their final names. */
static int
pki_write_pair(struct pki_file *kf, const char *keypath, EVP_PKEY *key,
    struct pki_file *cf, const char *crtpath, X509 *crt, char *err,
    size_t len)
{
	if (pki_file_open(kf, keypath, PKI_MODE_KEY, err, len) != 0)
		return PKI_ERR;
	if (PEM_write_PrivateKey(kf->f, key, NULL, NULL, 0, NULL, NULL) != 1) {
		ERR_clear_error();
		snprintf(err, len, "%s: cannot write the key", keypath);
		return PKI_ERR;
	}
	if (pki_file_open(cf, crtpath, PKI_MODE_PUBLIC, err, len) != 0)
		return PKI_ERR;
	if (PEM_write_X509(cf->f, crt) != 1) {
		pki_x509_error(err, len, "%s: cannot write the certificate",
		    crtpath);
		return PKI_ERR;
	}
	return PKI_OK;
}

/* Publish both, key first; on failure neither stays (see pki_file.h). */
static int
pki_commit_pair(struct pki_file *kf, struct pki_file *cf, int force, char *err,
    size_t len)
{
	if (pki_file_commit(kf, force, err, len) != 0)
		return PKI_ERR;
	if (pki_file_commit(cf, force, err, len) != 0) {
		pki_file_unpublish(kf);
		return PKI_ERR;
	}
	return PKI_OK;
}

/* A friendly early refusal; the authoritative one is pki_file_commit(). */
static int
pki_refuse_existing(const char *a, const char *b, char *err, size_t len)
{
	const char *p = pki_file_exists(a) ? a : pki_file_exists(b) ? b : NULL;

	if (p == NULL)
		return PKI_OK;
	snprintf(err, len, "%s: already exists (use --force to replace it)", p);
	return PKI_ERR;
}

static int
pki_mkdir(const char *dir, char *err, size_t len)
{
	struct stat st;

	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		snprintf(err, len, "%s: %s", dir, strerror(errno));
		return PKI_ERR;
	}
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		snprintf(err, len, "%s: not a directory", dir);
		return PKI_ERR;
	}
	return PKI_OK;
}

int
pki_init(const char *dir, const char *cn, int days, int force, char *err,
    size_t len)
{
	struct pki_file kf = { .f = NULL }, cf = { .f = NULL };
	struct pki_index *idx = NULL;
	struct pki_paths p;
	ASN1_INTEGER *serial = NULL;
	EVP_PKEY *key = NULL;
	X509 *crt = NULL;
	char hex[PKI_SERIAL_HEX_MAX + 1];
	int lock = -1, r;

	if (cn == NULL)
		cn = PKI_CA_CN;
	if ((r = pki_check_cn(cn, err, len)) != PKI_OK ||
	    (r = pki_check_days("--days", days, 1, err, len)) != PKI_OK)
		goto out;
	r = PKI_ERR;
	if (pki_paths(&p, dir, err, len) != PKI_OK ||
	    pki_mkdir(dir, err, len) != PKI_OK ||
	    pki_file_lock(dir, &lock, err, len) != 0)
		goto out;
	if (!force && (pki_refuse_existing(p.key, p.crt, err, len) != PKI_OK ||
	    pki_refuse_existing(p.index, p.index, err, len) != PKI_OK))
		goto out;
	if ((key = pki_x509_keygen(err, len)) == NULL ||
	    (serial = pki_x509_serial(NULL, hex, sizeof(hex), err, len)) ==
	    NULL ||
	    (crt = pki_x509_cert(cn, key, NULL, serial, days, 0, err, len)) ==
	    NULL)
		goto out;
	/* SKI before AKI: the AKI of a self-signed cert copies its SKI. */
	if (pki_x509_ext(crt, crt, NID_basic_constraints, "critical,CA:TRUE",
	    err, len) != PKI_OK ||
	    pki_x509_ext(crt, crt, NID_key_usage, "critical,keyCertSign,cRLSign",
	    err, len) != PKI_OK ||
	    pki_x509_ext(crt, crt, NID_subject_key_identifier, "hash", err,
	    len) != PKI_OK ||
	    pki_x509_ext(crt, crt, NID_authority_key_identifier,
	    "keyid:always", err, len) != PKI_OK)
		goto out;
	if (X509_sign(crt, key, EVP_sha256()) <= 0) {
		pki_x509_error(err, len, "signing the CA certificate");
		goto out;
	}
	if ((idx = pki_index_new()) == NULL) {
		snprintf(err, len, "out of memory");
		goto out;
	}
	if (pki_write_pair(&kf, p.key, key, &cf, p.crt, crt, err, len) !=
	    PKI_OK || pki_commit_pair(&kf, &cf, force, err, len) != PKI_OK)
		goto out;
	if (pki_index_save(idx, p.index, err, len) != 0) {
		pki_file_unpublish(&kf);
		pki_file_unpublish(&cf);
		goto out;
	}
	/* What the replaced CA signed or numbered means nothing now. */
	if (force) {
		(void)unlink(p.crl);
		(void)unlink(p.crlnumber);
	}
	r = PKI_OK;
out:
	pki_file_abort(&kf);
	pki_file_abort(&cf);
	pki_file_unlock(lock);
	pki_index_free(idx);
	ASN1_INTEGER_free(serial);
	EVP_PKEY_free(key);
	X509_free(crt);
	return r;
}

static int
pki_issue_check(const struct pki_issue_req *req, char *err, size_t len)
{
	size_t i;
	int r;

	if ((r = pki_check_cn(req->cn, err, len)) != PKI_OK ||
	    (r = pki_check_days("--days", req->days, 1, err, len)) != PKI_OK ||
	    (r = pki_check_days("--backdate", req->backdate, 0, err, len)) !=
	    PKI_OK)
		return r;
	if (req->role != PKI_ROLE_AGENT && req->role != PKI_ROLE_RELAY) {
		snprintf(err, len, "unknown role (expected agent or relay)");
		return PKI_EUSAGE;
	}
	if (req->role != PKI_ROLE_RELAY && req->nsans > 0) {
		snprintf(err, len, "--san applies to relay certificates only");
		return PKI_EUSAGE;
	}
	for (i = 0; i < req->nsans; i++) {
		if ((r = pki_san_check(req->sans[i], err, len)) != PKI_OK)
			return r;
	}
	return PKI_OK;
}

/* 1 if a and b name the same existing file. */
static int
pki_same_file(const char *a, const char *b)
{
	struct stat sa, sb;

	return stat(a, &sa) == 0 && stat(b, &sb) == 0 &&
	    sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* The certificate as built, read back: basicConstraints present, critical
 * and CA:FALSE, whatever the code above it does one day. */
static int
pki_leaf_check(X509 *x, char *err, size_t len)
{
	BASIC_CONSTRAINTS *bc;
	int crit = -1, r = PKI_ERR;

	bc = X509_get_ext_d2i(x, NID_basic_constraints, &crit, NULL);
	if (bc == NULL || bc->ca || crit != 1)
		snprintf(err, len, "internal error: refusing to issue a leaf "
		    "certificate that is not critical CA:FALSE");
	else
		r = PKI_OK;
	BASIC_CONSTRAINTS_free(bc);
	return r;
}

/*
 * The leaf's extensions: a TLS client (agent) or server (relay) only, never
 * a CA.  Both daemons refuse a peer certificate with CA:TRUE (tls.c), so a
 * CA leaf from here would be useless as well as dangerous: its key could
 * sign certificates for any identity.
 */
static int
pki_leaf_exts(X509 *x, X509 *ca, const struct pki_issue_req *req, char *err,
    size_t len)
{
	const char *eku = req->role == PKI_ROLE_RELAY ? "serverAuth" :
	    "clientAuth";

	if (pki_x509_ext(x, ca, NID_basic_constraints, "critical,CA:FALSE", err,
	    len) != PKI_OK ||
	    pki_x509_ext(x, ca, NID_key_usage, "critical,digitalSignature", err,
	    len) != PKI_OK ||
	    pki_x509_ext(x, ca, NID_ext_key_usage, eku, err, len) != PKI_OK ||
	    pki_x509_ext(x, ca, NID_subject_key_identifier, "hash", err, len) !=
	    PKI_OK ||
	    pki_x509_ext(x, ca, NID_authority_key_identifier, "keyid:always",
	    err, len) != PKI_OK)
		return PKI_ERR;
	if (req->role == PKI_ROLE_RELAY &&
	    pki_x509_sans(x, req->cn, req->sans, req->nsans, err, len) !=
	    PKI_OK)
		return PKI_ERR;
	return pki_leaf_check(x, err, len);
}

int
pki_issue(const struct pki_issue_req *req, struct pki_issued *out, char *err,
    size_t len)
{
	struct pki_file kf = { .f = NULL }, cf = { .f = NULL };
	struct pki_index *idx = NULL;
	struct pki_entry e;
	struct pki_paths p;
	char prefix[PATH_MAX - 8], keypath[PATH_MAX], crtpath[PATH_MAX];
	char ca_end[PKI_TIME_LEN + 1], human[32];
	ASN1_INTEGER *serial = NULL;
	EVP_PKEY *cakey = NULL, *key = NULL;
	X509 *ca = NULL, *crt = NULL;
	int lock = -1, n, r;

	if ((r = pki_issue_check(req, err, len)) != PKI_OK)
		goto out;
	r = PKI_ERR;
	if (pki_paths(&p, req->dir, err, len) != PKI_OK)
		goto out;
	if (req->out != NULL)
		n = snprintf(prefix, sizeof(prefix), "%s", req->out);
	else
		n = snprintf(prefix, sizeof(prefix), "%s/%s", req->dir, req->cn);
	if (n < 0 || (size_t)n >= sizeof(prefix)) {
		snprintf(err, len, "--out: path too long");
		goto out;
	}
	snprintf(keypath, sizeof(keypath), "%s.key", prefix);
	snprintf(crtpath, sizeof(crtpath), "%s.crt", prefix);
	if (pki_ca_load(req->dir, &p, &ca, &cakey, err, len) != PKI_OK ||
	    pki_file_lock(req->dir, &lock, err, len) != 0 ||
	    pki_index_load(p.index, 1, &idx, err, len) != 0)
		goto out;
	if (!req->force &&
	    pki_refuse_existing(keypath, crtpath, err, len) != PKI_OK)
		goto out;
	if (pki_same_file(keypath, p.key) || pki_same_file(crtpath, p.crt) ||
	    pki_same_file(keypath, p.crt) || pki_same_file(crtpath, p.key)) {
		snprintf(err, len, "%s: refusing to replace the CA's own files",
		    prefix);
		goto out;
	}
	memset(&e, 0, sizeof(e));
	if ((key = pki_x509_keygen(err, len)) == NULL ||
	    (serial = pki_x509_serial(idx, e.serial, sizeof(e.serial), err,
	    len)) == NULL ||
	    (crt = pki_x509_cert(req->cn, key, ca, serial, req->days,
	    req->backdate, err, len)) == NULL ||
	    pki_leaf_exts(crt, ca, req, err, len) != PKI_OK)
		goto out;
	if (ASN1_TIME_compare(X509_get0_notAfter(crt),
	    X509_get0_notAfter(ca)) > 0) {
		if (pki_x509_time(X509_get0_notAfter(ca), ca_end,
		    sizeof(ca_end)) != 0)
			snprintf(ca_end, sizeof(ca_end), "?");
		snprintf(err, len, "--days %d: the certificate would outlive "
		    "the CA certificate (valid until %s)", req->days,
		    pki_time_human(ca_end, human, sizeof(human)));
		goto out;
	}
	if (X509_sign(crt, cakey, EVP_sha256()) <= 0) {
		pki_x509_error(err, len, "signing the certificate");
		goto out;
	}
	e.role = req->role;
	snprintf(e.cn, sizeof(e.cn), "%s", req->cn);
	if (pki_x509_time(X509_get0_notAfter(crt), e.not_after,
	    sizeof(e.not_after)) != 0 ||
	    pki_index_add(idx, &e, err, len) != 0)
		goto out;
	if (pki_write_pair(&kf, keypath, key, &cf, crtpath, crt, err, len) !=
	    PKI_OK || pki_commit_pair(&kf, &cf, req->force, err, len) != PKI_OK)
		goto out;
	/* Recorded only once the files exist; unrecorded files are undone. */
	if (pki_index_save(idx, p.index, err, len) != 0) {
		pki_file_unpublish(&kf);
		pki_file_unpublish(&cf);
		goto out;
	}
	if (out != NULL) {
		memset(out, 0, sizeof(*out));
		memcpy(out->serial, e.serial, sizeof(out->serial));
		memcpy(out->not_after, e.not_after, sizeof(out->not_after));
		memcpy(out->crt, crtpath, sizeof(out->crt));
		memcpy(out->key, keypath, sizeof(out->key));
	}
	r = PKI_OK;
out:
	pki_file_abort(&kf);
	pki_file_abort(&cf);
	pki_file_unlock(lock);
	pki_index_free(idx);
	ASN1_INTEGER_free(serial);
	EVP_PKEY_free(cakey);
	EVP_PKEY_free(key);
	X509_free(ca);
	X509_free(crt);
	return r;
}

int
pki_list(const char *dir, FILE *f, char *err, size_t len)
{
	struct pki_index *idx = NULL;
	struct pki_entry *e;
	struct pki_paths p;
	char now[PKI_TIME_LEN + 1], t1[32], t2[32], status[48];
	size_t i;
	int r = PKI_ERR;

	if (pki_paths(&p, dir, err, len) != PKI_OK)
		goto out;
	if (!pki_file_exists(p.crt)) {
		snprintf(err, len, "%s: no CA here (run 'atlax-pki init --dir "
		    "%s' first)", dir, dir);
		goto out;
	}
	if (pki_index_load(p.index, 0, &idx, err, len) != 0)
		goto out;
	pki_index_now(now, sizeof(now));
	fprintf(f, "%-24s %-5s %-32s %-20s %s\n", "CN", "ROLE", "SERIAL",
	    "NOT-AFTER", "STATUS");
	for (i = 0; i < pki_index_count(idx); i++) {
		e = pki_index_get(idx, i);
		if (e->revoked[0] != '\0')
			snprintf(status, sizeof(status), "revoked %s",
			    pki_time_human(e->revoked, t2, sizeof(t2)));
		else if (strcmp(e->not_after, now) < 0)
			snprintf(status, sizeof(status), "expired");
		else
			snprintf(status, sizeof(status), "valid");
		fprintf(f, "%-24s %-5s %-32s %-20s %s\n", e->cn,
		    pki_role_name(e->role), e->serial,
		    pki_time_human(e->not_after, t1, sizeof(t1)), status);
	}
	if (fflush(f) != 0 || ferror(f)) {
		snprintf(err, len, "output: %s", strerror(errno));
		goto out;
	}
	r = PKI_OK;
out:
	pki_index_free(idx);
	return r;
}

/* Which entries a revoke command selects; the reason when none is. */
static size_t
pki_revoke_mark(struct pki_index *idx, const char *cn, const char *serial,
    const char *now, FILE *f, char *err, size_t len)
{
	struct pki_entry *e;
	char t[32];
	size_t i, marked = 0, seen = 0;

	for (i = 0; i < pki_index_count(idx); i++) {
		e = pki_index_get(idx, i);
		if (cn != NULL ? strcmp(e->cn, cn) != 0 :
		    strcmp(e->serial, serial) != 0)
			continue;
		seen++;
		if (e->revoked[0] != '\0')
			continue;
		memcpy(e->revoked, now, sizeof(e->revoked));
		marked++;
		if (f != NULL)
			fprintf(f, "revoked %s %s %s\n", pki_role_name(e->role),
			    e->serial, e->cn);
	}
	if (marked > 0)
		return marked;
	if (cn != NULL && seen == 0)
		snprintf(err, len, "no certificate with CN %s", cn);
	else if (cn != NULL)
		snprintf(err, len, "every certificate of CN %s is already "
		    "revoked", cn);
	else if (seen == 0)
		snprintf(err, len, "no certificate with serial %s", serial);
	else {
		e = pki_index_find(idx, serial);
		snprintf(err, len, "certificate %s (CN %s) was already revoked "
		    "at %s", serial, e->cn,
		    pki_time_human(e->revoked, t, sizeof(t)));
	}
	return 0;
}

int
pki_revoke(const char *dir, const char *cn, const char *serial, FILE *f,
    size_t *count, char *err, size_t len)
{
	struct pki_index *idx = NULL;
	struct pki_paths p;
	char hex[PKI_SERIAL_HEX_MAX + 1], now[PKI_TIME_LEN + 1];
	size_t marked;
	X509 *ca = NULL;
	int lock = -1, r;

	if (count != NULL)
		*count = 0;
	if ((cn == NULL) == (serial == NULL)) {
		snprintf(err, len, "give exactly one of --cn and --serial");
		r = PKI_EUSAGE;
		goto out;
	}
	if ((cn != NULL && (r = pki_check_cn(cn, err, len)) != PKI_OK) ||
	    (serial != NULL && (r = pki_serial_parse(serial, hex, sizeof(hex),
	    err, len)) != PKI_OK))
		goto out;
	r = PKI_ERR;
	if (pki_paths(&p, dir, err, len) != PKI_OK ||
	    pki_ca_load(dir, &p, &ca, NULL, err, len) != PKI_OK ||
	    pki_file_lock(dir, &lock, err, len) != 0 ||
	    pki_index_load(p.index, 0, &idx, err, len) != 0)
		goto out;
	pki_index_now(now, sizeof(now));
	marked = pki_revoke_mark(idx, cn, serial != NULL ? hex : NULL, now, f,
	    err, len);
	if (marked == 0 || pki_index_save(idx, p.index, err, len) != 0)
		goto out;
	if (count != NULL)
		*count = marked;
	r = PKI_OK;
out:
	pki_file_unlock(lock);
	pki_index_free(idx);
	X509_free(ca);
	return r;
}

/* The last CRL number used (0 when none was issued yet). */
static int
pki_crlnumber_read(const char *path, unsigned long *n, char *err, size_t len)
{
	char buf[32], *end;
	FILE *f;
	int r = PKI_ERR;

	*n = 0;
	if ((f = fopen(path, "re")) == NULL) {
		if (errno == ENOENT)
			return PKI_OK;
		snprintf(err, len, "%s: %s", path, strerror(errno));
		return PKI_ERR;
	}
	if (fgets(buf, sizeof(buf), f) == NULL || !isdigit((unsigned char)buf[0]))
		goto bad;
	errno = 0;
	*n = strtoul(buf, &end, 10);
	if (errno != 0 || (*end != '\n' && *end != '\0') || *n >= ULONG_MAX)
		goto bad;
	r = PKI_OK;
	goto out;
bad:
	snprintf(err, len, "%s: not a CRL number", path);
out:
	fclose(f);
	return r;
}

int
pki_crl(const char *dir, int days, unsigned long *number, size_t *count,
    char *err, size_t len)
{
	struct pki_file nf = { .f = NULL }, lf = { .f = NULL };
	struct pki_index *idx = NULL;
	struct pki_paths p;
	unsigned long last;
	X509_CRL *crl = NULL;
	EVP_PKEY *key = NULL;
	X509 *ca = NULL;
	size_t n;
	int lock = -1, r;

	if ((r = pki_check_days("--days", days, 1, err, len)) != PKI_OK)
		goto out;
	r = PKI_ERR;
	if (pki_paths(&p, dir, err, len) != PKI_OK ||
	    pki_ca_load(dir, &p, &ca, &key, err, len) != PKI_OK ||
	    pki_file_lock(dir, &lock, err, len) != 0 ||
	    pki_index_load(p.index, 0, &idx, err, len) != 0 ||
	    pki_crlnumber_read(p.crlnumber, &last, err, len) != PKI_OK)
		goto out;
	if ((crl = pki_x509_crl(ca, key, idx, days, last + 1, &n, err,
	    len)) == NULL)
		goto out;
	/* The number first: a crash between the two skips a number, which is
	 * harmless, where reusing one would not be. */
	if (pki_file_open(&nf, p.crlnumber, PKI_MODE_PUBLIC, err, len) != 0)
		goto out;
	fprintf(nf.f, "%lu\n", last + 1);
	if (pki_file_commit(&nf, 1, err, len) != 0 ||
	    pki_file_open(&lf, p.crl, PKI_MODE_PUBLIC, err, len) != 0)
		goto out;
	if (PEM_write_X509_CRL(lf.f, crl) != 1) {
		pki_x509_error(err, len, "%s: cannot write the CRL", p.crl);
		goto out;
	}
	if (pki_file_commit(&lf, 1, err, len) != 0)
		goto out;
	if (number != NULL)
		*number = last + 1;
	if (count != NULL)
		*count = n;
	r = PKI_OK;
out:
	pki_file_abort(&nf);
	pki_file_abort(&lf);
	pki_file_unlock(lock);
	pki_index_free(idx);
	X509_CRL_free(crl);
	EVP_PKEY_free(key);
	X509_free(ca);
	return r;
}
