/*
 * pki_file.c — crash-safe writes (temp file + link/rename) and the folder lock.
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "pki_file.h"

int
pki_file_join(char *buf, size_t size, const char *dir, const char *name,
    char *err, size_t len)
{
	int n;

	n = snprintf(buf, size, "%s/%s", dir, name);
	if (n < 0 || (size_t)n >= size) {
		snprintf(err, len, "%s/%s: path too long", dir, name);
		return -1;
	}
	return 0;
}

int
pki_file_exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

int
pki_file_open(struct pki_file *pf, const char *path, mode_t mode, char *err,
    size_t len)
{
	int fd = -1, n, r = -1;

	memset(pf, 0, sizeof(*pf));
	n = snprintf(pf->path, sizeof(pf->path), "%s", path);
	if (n < 0 || (size_t)n >= sizeof(pf->path)) {
		snprintf(err, len, "%s: path too long", path);
		goto out;
	}
	n = snprintf(pf->tmp, sizeof(pf->tmp), "%s.tmp.%ld", path,
	    (long)getpid());
	if (n < 0 || (size_t)n >= sizeof(pf->tmp)) {
		snprintf(err, len, "%s: path too long", path);
		goto out;
	}
	/* O_EXCL|O_NOFOLLOW: never write through someone else's file or link;
	 * the mode is final from creation on (umask can only narrow it). */
	fd = open(pf->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    mode);
	if (fd == -1) {
		/* Name the file the user asked for, unless the temporary
		 * name itself is the problem (a leftover of a crash). */
		snprintf(err, len, "%s: %s", errno == EEXIST ? pf->tmp : path,
		    strerror(errno));
		pf->tmp[0] = '\0';
		goto out;
	}
	if ((pf->f = fdopen(fd, "w")) == NULL) {
		snprintf(err, len, "%s: %s", pf->tmp, strerror(errno));
		goto out;
	}
	fd = -1;
	r = 0;
out:
	if (fd != -1)
		close(fd);
	if (r != 0)
		pki_file_abort(pf);
	return r;
}

/* Make a rename or link durable: sync the folder holding path. */
static void
pki_file_sync_dir(const char *path)
{
	char copy[PATH_MAX];
	int fd;

	snprintf(copy, sizeof(copy), "%s", path);
	if ((fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) ==
	    -1)
		return;
	(void)fsync(fd);
	close(fd);
}

int
pki_file_commit(struct pki_file *pf, int replace, char *err, size_t len)
{
	FILE *f = pf->f;
	int r = -1;

	pf->f = NULL;
	if (f == NULL) {
		snprintf(err, len, "%s: not open", pf->path);
		goto out;
	}
	if (fflush(f) != 0 || ferror(f) || fsync(fileno(f)) != 0) {
		snprintf(err, len, "%s: %s", pf->tmp, strerror(errno));
		fclose(f);
		goto out;
	}
	if (fclose(f) != 0) {
		snprintf(err, len, "%s: %s", pf->tmp, strerror(errno));
		goto out;
	}
	if (replace) {
		if (rename(pf->tmp, pf->path) != 0) {
			snprintf(err, len, "%s: %s", pf->path, strerror(errno));
			goto out;
		}
	} else {
		if (link(pf->tmp, pf->path) != 0) {
			if (errno == EEXIST)
				snprintf(err, len, "%s: already exists (use "
				    "--force to replace it)", pf->path);
			else
				snprintf(err, len, "%s: %s", pf->path,
				    strerror(errno));
			goto out;
		}
		(void)unlink(pf->tmp);
	}
	pf->tmp[0] = '\0';
	pf->committed = 1;
	pki_file_sync_dir(pf->path);
	r = 0;
out:
	if (r != 0)
		pki_file_abort(pf);
	return r;
}

void
pki_file_abort(struct pki_file *pf)
{
	if (pf == NULL)
		return;
	if (pf->f != NULL) {
		fclose(pf->f);
		pf->f = NULL;
	}
	if (pf->tmp[0] != '\0') {
		(void)unlink(pf->tmp);
		pf->tmp[0] = '\0';
	}
}

void
pki_file_unpublish(struct pki_file *pf)
{
	if (pf == NULL)
		return;
	pki_file_abort(pf);
	if (pf->committed) {
		(void)unlink(pf->path);
		pf->committed = 0;
	}
}

int
pki_file_lock(const char *dir, int *fd, char *err, size_t len)
{
	char path[PATH_MAX];
	int r = -1;

	*fd = -1;
	if (pki_file_join(path, sizeof(path), dir, ".lock", err, len) != 0)
		goto out;
	*fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
	    PKI_MODE_KEY);
	if (*fd == -1) {
		snprintf(err, len, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (flock(*fd, LOCK_EX) != 0) {
		snprintf(err, len, "%s: %s", path, strerror(errno));
		goto out;
	}
	r = 0;
out:
	if (r != 0) {
		pki_file_unlock(*fd);
		*fd = -1;
	}
	return r;
}

void
pki_file_unlock(int fd)
{
	if (fd != -1)
		close(fd);
}
