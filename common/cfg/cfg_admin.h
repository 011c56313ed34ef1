/*
 * cfg_admin.h — the admin: section both daemons share (docs/CONFIG.md):
 *
 *	admin:
 *	  listen: "127.0.0.1:9190"	# the HTTP endpoint; absent: off
 *	  token_file: admin.token	# optional bearer token, mode 0600/0400
 *	  allow_remote: false		# a non-loopback listen needs true
 *
 * The endpoint shows who is connected and from where: it stays on loopback
 * unless the operator says otherwise, and a token file that others can
 * read is refused like a private key.
 */
#ifndef ATLAX_CFG_ADMIN_H
#define ATLAX_CFG_ADMIN_H

#include <stddef.h>

#include "cfg.h"
#include "cfg_walk.h"

#define CFG_ADMIN_TOKEN_MAX	4096	/* bytes of a bearer token */

struct cfg_admin {
	int		 enabled;	/* admin.listen given */
	struct cfg_addr	 listen;	/* admin.listen */
	char		*token_file;	/* admin.token_file: NULL, no token */
	int		 allow_remote;	/* admin.allow_remote: false */
};

/*
 * Read the admin: node n (never NULL) into a: the keys, then the checks
 * (loopback unless allow_remote, the token file's mode and length).
 * 0, or -1 with "FILE:LINE:COLUMN: admin.KEY: problem" in the walk's err.
 * The daemons' key tables call it from their CFG_T_FUNC entry "admin".
 */
int	cfg_admin_walk(struct cfg_walk *w, const struct cfg_node *n,
	    struct cfg_admin *a);
void	cfg_admin_clear(struct cfg_admin *a);	/* frees what a holds */
/*
 * Read the token file path into buf (size > CFG_ADMIN_TOKEN_MAX): its bytes
 * less one final "\n" or "\r\n", NUL-terminated, *len set.  -1 with the
 * reason in err when it cannot be read, is not a regular file, group or
 * others may access it, or it is empty or longer than CFG_ADMIN_TOKEN_MAX.
 * The token never appears in err.
 */
int	cfg_admin_token_read(const char *path, char *buf, size_t size,
	    size_t *len, char *err, size_t errlen);
/* 1 when host (of a listen address) is a loopback address: 127.0.0.0/8,
 * ::1 or "localhost". */
int	cfg_admin_loopback(const char *host);

#endif
