/*
 * pki_file.h — crash-safe file writes and the CA folder lock for atlax-pki.
 *
 * A file is written to "PATH.tmp.PID", created with O_EXCL and its final mode
 * (keys 0600 from the first byte: never chmod afterwards), flushed and synced,
 * then committed under its real name:
 *   - replace = 0: link(2), which fails with EEXIST instead of overwriting, so
 *     two runs racing for the same name cannot both win;
 *   - replace = 1: rename(2), atomic replacement.
 * Readers therefore only ever see a complete file or none.
 *
 * Every function returns 0, or -1 with a one-line reason in err (the path
 * and strerror).  A struct pki_file is owned by the caller; pki_file_abort()
 * releases it in any state (never opened, open, committed).
 */
#ifndef ATLAX_PKI_FILE_H
#define ATLAX_PKI_FILE_H

#include <sys/types.h>
#include <limits.h>
#include <stdio.h>

#define PKI_MODE_KEY	0600
#define PKI_MODE_PUBLIC	0644

struct pki_file {
	char	 path[PATH_MAX];
	char	 tmp[PATH_MAX];
	FILE	*f;		/* write here between open and commit */
	int	 committed;	/* 1 once the real name exists */
};

/* Create the temporary file for path with the given mode. */
int	pki_file_open(struct pki_file *pf, const char *path, mode_t mode,
	    char *err, size_t len);
/* Flush, fsync and publish under the real name (see above). */
int	pki_file_commit(struct pki_file *pf, int replace, char *err,
	    size_t len);
/* Close and remove the temporary file if it is still there.  Keeps a
 * committed file. */
void	pki_file_abort(struct pki_file *pf);
/* Remove a file committed by this run (rollback of a multi-file write). */
void	pki_file_unpublish(struct pki_file *pf);

/* 1 if path exists (any type, symlinks not followed), 0 if not. */
int	pki_file_exists(const char *path);
/* Join dir and name into buf; -1 with err if it does not fit. */
int	pki_file_join(char *buf, size_t size, const char *dir, const char *name,
	    char *err, size_t len);

/*
 * Take the exclusive lock of the CA folder (DIR/.lock, flock), so that two
 * commands changing the index do not lose each other's update.  Returns the
 * lock's fd in *fd; pki_file_unlock() accepts -1.
 */
int	pki_file_lock(const char *dir, int *fd, char *err, size_t len);
void	pki_file_unlock(int fd);

#endif
