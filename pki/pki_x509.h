/*
 * pki_x509.h — the OpenSSL 3 objects atlax-pki makes: P-256 keys, serials,
 * certificates with their extensions, CRLs.  No files and no policy here
 * (pki.c decides what to issue); only non-deprecated OpenSSL 3.0 calls.
 *
 * Functions that fail return NULL or -1 and describe the failure in err,
 * with the OpenSSL error queue drained and appended; returned objects belong
 * to the caller (X509_free, EVP_PKEY_free, ...).  Key material never reaches
 * err.
 */
#ifndef ATLAX_PKI_X509_H
#define ATLAX_PKI_X509_H

#include <stddef.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "log.h"

struct pki_index;

/* Format err and append the drained OpenSSL error queue, if any. */
void	pki_x509_error(char *err, size_t len, const char *fmt, ...)
	    LOG_PRINTF(3, 4);

/* A new ECDSA P-256 key. */
EVP_PKEY *pki_x509_keygen(char *err, size_t len);

/*
 * A random positive 128-bit serial that idx (may be NULL) does not hold yet;
 * its canonical hex (BN_bn2hex, 32 digits) goes to hex.
 */
ASN1_INTEGER *pki_x509_serial(struct pki_index *idx, char *hex, size_t hexlen,
	    char *err, size_t len);

/* t as "YYYYMMDDHHMMSSZ" into buf; 0 or -1 (err untouched). */
int	pki_x509_time(const ASN1_TIME *t, char *buf, size_t len);

/*
 * An unsigned v3 certificate for subject CN cn and pkey, issued by issuer
 * (NULL: self-issued), valid from backdate days ago for days days.  Borrows
 * every argument.
 */
X509	*pki_x509_cert(const char *cn, EVP_PKEY *pkey, X509 *issuer,
	    ASN1_INTEGER *serial, int days, int backdate, char *err, size_t len);

/* Add one extension in openssl.cnf syntax ("critical,CA:TRUE") to x, with
 * issuer (may be x itself) for the authority key identifier. */
int	pki_x509_ext(X509 *x, X509 *issuer, int nid, const char *value,
	    char *err, size_t len);

/* subjectAltName: DNS:cn, then every san ("DNS:name" / "IP:addr", checked
 * beforehand with pki_san_check), duplicates dropped. */
int	pki_x509_sans(X509 *x, const char *cn, const char *const *sans,
	    size_t nsans, char *err, size_t len);

/* Read one PEM certificate / unencrypted private key (never prompts for a
 * passphrase). */
X509	*pki_x509_read_cert(const char *path, char *err, size_t len);
EVP_PKEY *pki_x509_read_key(const char *path, char *err, size_t len);

/*
 * A v2 CRL signed by ca/key listing every revoked entry of idx, lastUpdate
 * now, nextUpdate in days, with CRL number and authority key identifier.
 * *count gets the number of entries.
 */
X509_CRL *pki_x509_crl(X509 *ca, EVP_PKEY *key, struct pki_index *idx,
	    int days, unsigned long number, size_t *count, char *err,
	    size_t len);

#endif
