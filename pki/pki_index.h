/*
 * pki_index.h — the record of issued certificates, DIR/index.txt.
 *
 * A text file in the spirit of OpenSSL's index.txt, one certificate a line,
 * five fields separated by one tab:
 *
 *   role  serial  not-after  revoked-at  cn
 *   agent 5A3F...  20271123133325Z  -  home-nas
 *
 * role is "agent" or "relay"; serial is uppercase hex without leading zeros
 * (BN_bn2hex); times are UTC "YYYYMMDDHHMMSSZ"; revoked-at is "-" while the
 * certificate is valid.  Lines starting with '#' are comments.  Loading is
 * strict: a malformed line is an error naming the file and line number.
 * Saving replaces the file atomically (temp file + rename), so a crash leaves
 * the old index or the new one, never half of one.
 *
 * Functions return 0 or -1 with a one-line reason in err.
 */
#ifndef ATLAX_PKI_INDEX_H
#define ATLAX_PKI_INDEX_H

#include <stddef.h>

#include "pki.h"

#define PKI_INDEX_FILE	"index.txt"

struct pki_entry {
	enum pki_role	role;
	char		serial[PKI_SERIAL_HEX_MAX + 1];
	char		not_after[PKI_TIME_LEN + 1];
	char		revoked[PKI_TIME_LEN + 1];	/* "" if not revoked */
	char		cn[PKI_CN_MAX + 1];
};

struct pki_index;

/* A new empty index, or NULL when out of memory.  Caller frees. */
struct pki_index *pki_index_new(void);
void	pki_index_free(struct pki_index *idx);

/* Read path into a new index (*out, caller frees).  A missing file is an
 * error unless missing_ok, which yields an empty index. */
int	pki_index_load(const char *path, int missing_ok, struct pki_index **out,
	    char *err, size_t len);
/* Replace path with the index's contents (mode 0644). */
int	pki_index_save(const struct pki_index *idx, const char *path,
	    char *err, size_t len);

/* Append a copy of e after checking its fields (and that its serial is new). */
int	pki_index_add(struct pki_index *idx, const struct pki_entry *e,
	    char *err, size_t len);
size_t	pki_index_count(const struct pki_index *idx);
/* Entry i (< count), owned by the index, valid until the next add or free. */
struct pki_entry *pki_index_get(struct pki_index *idx, size_t i);
/* The entry with this canonical serial, or NULL. */
struct pki_entry *pki_index_find(struct pki_index *idx, const char *serial);

/* 1 if s is a "YYYYMMDDHHMMSSZ" time. */
int	pki_index_valid_time(const char *s);
/* The current UTC time as "YYYYMMDDHHMMSSZ" into buf[PKI_TIME_LEN + 1]. */
char	*pki_index_now(char *buf, size_t len);

#endif
