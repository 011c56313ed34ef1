/*
 * jwt_denylist.c — the jti values of revoked tokens: read once, sorted, and
 * searched in O(log n) for every token verified.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jwt_denylist.h"

struct jwt_denylist {
	char	**jti;		/* sorted, distinct */
	size_t	  n;
};

static int
jwt_denylist_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Trim blanks at both ends in place; returns the start. */
static char *
jwt_denylist_trim(char *s)
{
	size_t n;

	s += strspn(s, " \t");
	n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' ||
	    s[n - 1] == '\r' || s[n - 1] == '\n'))
		s[--n] = '\0';
	return s;
}

/* Printable ASCII, no blanks. */
static int
jwt_denylist_valid(const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s <= ' ' || *s > '~')
			return 0;
	}
	return 1;
}

/* Append one entry; -1 when out of memory. */
static int
jwt_denylist_add(struct jwt_denylist *dl, size_t *cap, const char *jti)
{
	char **grown;

	if (dl->n == *cap) {
		*cap = *cap == 0 ? 64 : *cap * 2;
		if ((grown = reallocarray(dl->jti, *cap,
		    sizeof(*grown))) == NULL)
			return -1;
		dl->jti = grown;
	}
	if ((dl->jti[dl->n] = strdup(jti)) == NULL)
		return -1;
	dl->n++;
	return 0;
}

int
jwt_denylist_load(const char *path, struct jwt_denylist **out, char *why,
    size_t whylen)
{
	struct jwt_denylist *dl = NULL;
	FILE *f = NULL;
	char *line = NULL, *s;
	size_t linecap = 0, cap = 0, lineno = 0, total = 0, i, o;
	ssize_t n;
	int r = -1;

	*out = NULL;
	if ((dl = calloc(1, sizeof(*dl))) == NULL) {
		snprintf(why, whylen, "%s: out of memory", path);
		goto out;
	}
	if ((f = fopen(path, "re")) == NULL) {
		snprintf(why, whylen, "%s: %s", path, strerror(errno));
		goto out;
	}
	while ((n = getline(&line, &linecap, f)) != -1) {
		lineno++;
		if ((total += (size_t)n) > JWT_DENY_FILE_MAX) {
			snprintf(why, whylen, "%s: larger than %d bytes", path,
			    JWT_DENY_FILE_MAX);
			goto out;
		}
		if (strlen(line) != (size_t)n) {
			snprintf(why, whylen, "%s:%zu: NUL byte", path, lineno);
			goto out;
		}
		s = jwt_denylist_trim(line);
		if (*s == '\0' || *s == '#')
			continue;
		if (strlen(s) > JWT_DENY_JTI_MAX) {
			snprintf(why, whylen, "%s:%zu: jti longer than %d", path,
			    lineno, JWT_DENY_JTI_MAX);
			goto out;
		}
		if (!jwt_denylist_valid(s)) {
			snprintf(why, whylen, "%s:%zu: jti with a blank or a "
			    "character that is not printable ASCII", path,
			    lineno);
			goto out;
		}
		if (jwt_denylist_add(dl, &cap, s) != 0) {
			snprintf(why, whylen, "%s: out of memory", path);
			goto out;
		}
	}
	if (ferror(f)) {
		snprintf(why, whylen, "%s: read error", path);
		goto out;
	}
	if (dl->n != 0)
		qsort(dl->jti, dl->n, sizeof(*dl->jti), jwt_denylist_cmp);
	/* Drop repeats: an entry listed twice is harmless. */
	for (i = 0, o = 0; i < dl->n; i++) {
		if (o != 0 && strcmp(dl->jti[o - 1], dl->jti[i]) == 0)
			free(dl->jti[i]);
		else
			dl->jti[o++] = dl->jti[i];
	}
	dl->n = o;
	*out = dl;
	dl = NULL;
	r = 0;
out:
	free(line);
	if (f != NULL)
		fclose(f);
	jwt_denylist_free(dl);
	return r;
}

int
jwt_denylist_has(const struct jwt_denylist *dl, const char *jti)
{
	if (dl == NULL || dl->n == 0 || jti == NULL || *jti == '\0')
		return 0;
	return bsearch(&jti, dl->jti, dl->n, sizeof(*dl->jti),
	    jwt_denylist_cmp) != NULL;
}

size_t
jwt_denylist_count(const struct jwt_denylist *dl)
{
	return dl == NULL ? 0 : dl->n;
}

void
jwt_denylist_free(struct jwt_denylist *dl)
{
	size_t i;

	if (dl == NULL)
		return;
	for (i = 0; i < dl->n; i++)
		free(dl->jti[i]);
	free(dl->jti);
	free(dl);
}
