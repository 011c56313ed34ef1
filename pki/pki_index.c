/*
 * pki_index.c — load, edit and atomically save DIR/index.txt.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pki.h"
#include "pki_file.h"
#include "pki_index.h"

/* Longest valid line: 5 + 40 + 15 + 15 + 64 + 4 tabs + newline, rounded up. */
#define PKI_INDEX_LINE_MAX	256
/* A deployment's CA issues a few thousand certificates, not millions; the
 * cap keeps a corrupted or hostile index from exhausting memory. */
#define PKI_INDEX_MAX_ENTRIES	1000000

struct pki_index {
	struct pki_entry	*entries;
	size_t			 n;
	size_t			 cap;
};

struct pki_index *
pki_index_new(void)
{
	return calloc(1, sizeof(struct pki_index));
}

void
pki_index_free(struct pki_index *idx)
{
	if (idx == NULL)
		return;
	free(idx->entries);
	free(idx);
}

size_t
pki_index_count(const struct pki_index *idx)
{
	return idx->n;
}

struct pki_entry *
pki_index_get(struct pki_index *idx, size_t i)
{
	return i < idx->n ? &idx->entries[i] : NULL;
}

struct pki_entry *
pki_index_find(struct pki_index *idx, const char *serial)
{
	size_t i;

	for (i = 0; i < idx->n; i++) {
		if (strcmp(idx->entries[i].serial, serial) == 0)
			return &idx->entries[i];
	}
	return NULL;
}

int
pki_index_valid_time(const char *s)
{
	size_t i;

	if (strlen(s) != PKI_TIME_LEN || s[PKI_TIME_LEN - 1] != 'Z')
		return 0;
	for (i = 0; i < PKI_TIME_LEN - 1; i++) {
		if (!isdigit((unsigned char)s[i]))
			return 0;
	}
	return 1;
}

char *
pki_index_now(char *buf, size_t len)
{
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	if (strftime(buf, len, "%Y%m%d%H%M%SZ", &tm) == 0 && len > 0)
		buf[0] = '\0';
	return buf;
}

/* Canonical serial: uppercase hex, no leading zero, 1..40 digits. */
static int
pki_index_valid_serial(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > PKI_SERIAL_HEX_MAX || (s[0] == '0' && n > 1))
		return 0;
	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]) && (s[i] < 'A' || s[i] > 'F'))
			return 0;
	}
	return 1;
}

static const char *
pki_index_check(const struct pki_entry *e)
{
	if (e->role != PKI_ROLE_AGENT && e->role != PKI_ROLE_RELAY)
		return "bad role";
	if (!pki_index_valid_serial(e->serial))
		return "bad serial";
	if (!pki_index_valid_time(e->not_after))
		return "bad not-after time";
	if (e->revoked[0] != '\0' && !pki_index_valid_time(e->revoked))
		return "bad revocation time";
	if (!pki_valid_cn(e->cn))
		return "bad CN";
	return NULL;
}

int
pki_index_add(struct pki_index *idx, const struct pki_entry *e, char *err,
    size_t len)
{
	struct pki_entry *grown;
	const char *why;
	size_t cap;

	if ((why = pki_index_check(e)) != NULL) {
		snprintf(err, len, "index entry: %s", why);
		return -1;
	}
	if (pki_index_find(idx, e->serial) != NULL) {
		snprintf(err, len, "index: serial %s is already recorded",
		    e->serial);
		return -1;
	}
	if (idx->n == idx->cap) {
		if (idx->cap >= PKI_INDEX_MAX_ENTRIES) {
			snprintf(err, len, "index: more than %d entries",
			    PKI_INDEX_MAX_ENTRIES);
			return -1;
		}
		cap = idx->cap == 0 ? 16 : idx->cap * 2;
		grown = reallocarray(idx->entries, cap, sizeof(*grown));
		if (grown == NULL) {
			snprintf(err, len, "index: out of memory");
			return -1;
		}
		idx->entries = grown;
		idx->cap = cap;
	}
	idx->entries[idx->n++] = *e;
	return 0;
}

/* Copy one tab-separated field of at most max bytes; advance *p past it. */
static int
pki_index_field(char **p, char *dst, size_t max, int last)
{
	char *s = *p, *end;
	size_t n;

	if (s == NULL)
		return -1;
	end = strchr(s, '\t');
	if (last ? end != NULL : end == NULL)
		return -1;
	n = end != NULL ? (size_t)(end - s) : strlen(s);
	if (n == 0 || n > max)
		return -1;
	memcpy(dst, s, n);
	dst[n] = '\0';
	*p = end != NULL ? end + 1 : NULL;
	return 0;
}

static int
pki_index_parse(char *line, struct pki_entry *e)
{
	char role[8], revoked[PKI_TIME_LEN + 1];
	char *p = line;

	memset(e, 0, sizeof(*e));
	if (pki_index_field(&p, role, sizeof(role) - 1, 0) != 0 ||
	    pki_index_field(&p, e->serial, PKI_SERIAL_HEX_MAX, 0) != 0 ||
	    pki_index_field(&p, e->not_after, PKI_TIME_LEN, 0) != 0 ||
	    pki_index_field(&p, revoked, PKI_TIME_LEN, 0) != 0 ||
	    pki_index_field(&p, e->cn, PKI_CN_MAX, 1) != 0)
		return -1;
	if (pki_role_parse(role, &e->role) != PKI_OK)
		return -1;
	if (strcmp(revoked, "-") != 0)
		memcpy(e->revoked, revoked, sizeof(revoked));
	return pki_index_check(e) == NULL ? 0 : -1;
}

int
pki_index_load(const char *path, int missing_ok, struct pki_index **out,
    char *err, size_t len)
{
	struct pki_index *idx = NULL;
	struct pki_entry e;
	char line[PKI_INDEX_LINE_MAX], sub[200];
	FILE *f = NULL;
	size_t n, lineno = 0;
	int r = -1;

	*out = NULL;
	if ((idx = pki_index_new()) == NULL) {
		snprintf(err, len, "%s: out of memory", path);
		goto out;
	}
	if ((f = fopen(path, "re")) == NULL) {
		if (errno == ENOENT && missing_ok)
			r = 0;
		else
			snprintf(err, len, "%s: %s", path, strerror(errno));
		goto out;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		n = strlen(line);
		if (n == 0 || line[n - 1] != '\n') {
			snprintf(err, len, "%s:%zu: line too long or not "
			    "terminated", path, lineno);
			goto out;
		}
		line[n - 1] = '\0';
		if (line[0] == '#')
			continue;
		if (pki_index_parse(line, &e) != 0) {
			snprintf(err, len, "%s:%zu: malformed entry", path,
			    lineno);
			goto out;
		}
		if (pki_index_add(idx, &e, sub, sizeof(sub)) != 0) {
			snprintf(err, len, "%s:%zu: %s", path, lineno, sub);
			goto out;
		}
	}
	if (ferror(f)) {
		snprintf(err, len, "%s: read error", path);
		goto out;
	}
	r = 0;
out:
	if (f != NULL)
		fclose(f);
	if (r == 0)
		*out = idx;
	else
		pki_index_free(idx);
	return r;
}

int
pki_index_save(const struct pki_index *idx, const char *path, char *err,
    size_t len)
{
	struct pki_file pf;
	const struct pki_entry *e;
	size_t i;
	int r = -1;

	if (pki_file_open(&pf, path, PKI_MODE_PUBLIC, err, len) != 0)
		return -1;
	fprintf(pf.f, "# atlax-pki index: role serial not-after revoked-at "
	    "cn (tab-separated, UTC)\n");
	for (i = 0; i < idx->n; i++) {
		e = &idx->entries[i];
		fprintf(pf.f, "%s\t%s\t%s\t%s\t%s\n", pki_role_name(e->role),
		    e->serial, e->not_after,
		    e->revoked[0] != '\0' ? e->revoked : "-", e->cn);
	}
	if (pki_file_commit(&pf, 1, err, len) != 0)
		goto out;
	r = 0;
out:
	pki_file_abort(&pf);
	return r;
}
