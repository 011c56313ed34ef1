/*
 * jwt_denylist.h — revoked tokens, by their jti claim.
 *
 * The file holds one jti per line; leading and trailing blanks are ignored,
 * empty lines and lines starting with '#' are skipped.  Each entry is
 * printable ASCII without blanks, at most JWT_DENY_JTI_MAX characters; the
 * file is at most JWT_DENY_FILE_MAX bytes.  Lookups are a binary search.
 */
#ifndef ATLAX_JWT_DENYLIST_H
#define ATLAX_JWT_DENYLIST_H

#include <stddef.h>

#define JWT_DENY_JTI_MAX	128
#define JWT_DENY_FILE_MAX	(16 * 1024 * 1024)

struct jwt_denylist;	/* opaque */

/*
 * Read path.  On success (0) *out is a new list to free with
 * jwt_denylist_free().  Otherwise -1 (*out NULL) with "PATH:LINE: problem"
 * or "PATH: problem" in why.
 */
int	jwt_denylist_load(const char *path, struct jwt_denylist **out,
	    char *why, size_t whylen);
/* 1 when jti is on dl; dl may be NULL (an empty list). */
int	jwt_denylist_has(const struct jwt_denylist *dl, const char *jti);
size_t	jwt_denylist_count(const struct jwt_denylist *dl);
void	jwt_denylist_free(struct jwt_denylist *dl);	/* accepts NULL */

#endif
