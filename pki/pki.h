/*
 * pki.h — the certificate authority behind atlax-pki: one ECDSA P-256 CA per
 * deployment, relay and agent certificates signed by it, an index of what was
 * issued, revocation and a CRL.  OpenSSL 3 C API only.
 *
 * The CA folder DIR holds:
 *   ca.key     CA private key, PKCS#8 PEM, mode 0600
 *   ca.crt     self-signed CA certificate
 *   index.txt  one line per issued certificate (see pki_index.h)
 *   crlnumber  the last CRL number used (decimal)
 *   ca.crl     the latest CRL (written by pki_crl)
 *   .lock      flock(2) target serialising commands that change the folder
 *
 * Every operation returns PKI_OK, PKI_ERR (operational: a file, OpenSSL, the
 * index) or PKI_EUSAGE (an argument is invalid), with one line describing the
 * problem in err (no trailing newline, never key material).  Nothing here
 * exits; main() maps PKI_ERR to exit 1 and PKI_EUSAGE to exit 2.  Strings
 * passed in are borrowed for the duration of the call.
 */
#ifndef ATLAX_PKI_H
#define ATLAX_PKI_H

#include <stddef.h>
#include <stdio.h>
#include <limits.h>

#define PKI_OK		0
#define PKI_ERR		(-1)
#define PKI_EUSAGE	(-2)

#define PKI_CN_MAX		64	/* CN length, as cfg.h's CFG_ID_MAX */
#define PKI_SERIAL_HEX_MAX	40	/* 20 octets, RFC 5280 4.1.2.2 */
#define PKI_TIME_LEN		15	/* "YYYYMMDDHHMMSSZ" */
#define PKI_DAYS_MAX		36500
#define PKI_CA_DAYS		3650	/* defaults */
#define PKI_LEAF_DAYS		365
#define PKI_CRL_DAYS		30
#define PKI_CA_CN		"atlax-ca"

enum pki_role {
	PKI_ROLE_AGENT,		/* EKU clientAuth */
	PKI_ROLE_RELAY,		/* EKU serverAuth, subjectAltName */
};

struct pki_issue_req {
	const char	 *dir;		/* CA folder */
	const char	 *cn;		/* subject CN; also the default SAN */
	enum pki_role	  role;
	const char *const *sans;	/* "DNS:name" / "IP:addr", relay only */
	size_t		  nsans;
	int		  days;		/* validity, 1..PKI_DAYS_MAX */
	int		  backdate;	/* shift the validity this many days
					   into the past (tests of expiry) */
	const char	 *out;		/* PREFIX of .crt/.key; NULL: DIR/CN */
	int		  force;	/* replace existing PREFIX.crt/.key */
};

struct pki_issued {
	char	serial[PKI_SERIAL_HEX_MAX + 1];	/* uppercase hex */
	char	not_after[PKI_TIME_LEN + 1];
	char	crt[PATH_MAX];
	char	key[PATH_MAX];
};

/* 1 if cn matches [A-Za-z0-9][A-Za-z0-9._-]{0,63}. */
int	pki_valid_cn(const char *cn);
/* "agent" / "relay" -> role: PKI_OK or PKI_EUSAGE. */
int	pki_role_parse(const char *name, enum pki_role *role);
const char *pki_role_name(enum pki_role role);
/* Check one --san value: PKI_OK or PKI_EUSAGE with the reason. */
int	pki_san_check(const char *san, char *err, size_t len);
/*
 * Parse a serial given as hex (case-insensitive, optional "0x", optional ':'
 * between octets as `openssl x509 -text` prints them) into the canonical
 * uppercase form the index uses.  PKI_OK or PKI_EUSAGE.
 */
int	pki_serial_parse(const char *s, char *out, size_t outlen, char *err,
	    size_t len);

/*
 * Create DIR (mode 0700) if missing, a P-256 CA key and a self-signed CA
 * certificate for days, and an empty index.  Refuses when ca.key or ca.crt
 * exists unless force; a forced init also empties the index and removes
 * ca.crl and crlnumber, as they belong to the replaced CA.
 */
int	pki_init(const char *dir, const char *cn, int days, int force,
	    char *err, size_t len);

/* Issue a key and certificate as req says, record it in the index, and
 * describe the result in *out (may be NULL). */
int	pki_issue(const struct pki_issue_req *req, struct pki_issued *out,
	    char *err, size_t len);

/* Print the index as a table on f: CN, role, serial, not-after, status. */
int	pki_list(const char *dir, FILE *f, char *err, size_t len);

/*
 * Mark as revoked every unrevoked certificate of cn, or the one with serial
 * (exactly one of the two non-NULL).  One line per revoked certificate goes
 * to f (may be NULL); *count (may be NULL) gets their number.  Revoking
 * nothing is an error.
 */
int	pki_revoke(const char *dir, const char *cn, const char *serial, FILE *f,
	    size_t *count, char *err, size_t len);

/*
 * Write DIR/ca.crl: every revoked serial of the index, signed by the CA, next
 * update in days, CRL number one above the last (kept in DIR/crlnumber).
 * *number and *count (may be NULL) get the CRL number and revoked entries.
 */
int	pki_crl(const char *dir, int days, unsigned long *number, size_t *count,
	    char *err, size_t len);

#endif
