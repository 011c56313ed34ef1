/*
 * cfg_admin.c — the admin: section of relay.yaml and agent.yaml: its key
 * table, the loopback rule and the token file.
 */
#include <sys/stat.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg.h"
#include "cfg_admin.h"
#include "cfg_walk.h"
#include "cfg_yaml.h"

#define ADMIN_OFF(f)	offsetof(struct cfg_admin, f)

static int cfg_admin_bool(struct cfg_walk *, const struct cfg_key *,
    const struct cfg_node *, void *);

static const struct cfg_key cfg_admin_keys[] = {
	{ "listen", CFG_T_ADDR, CFG_REQUIRED, NULL, 0, 0,
	    ADMIN_OFF(listen), NULL, NULL },
	{ "token_file", CFG_T_PATH, 0, NULL, 0, 0,
	    ADMIN_OFF(token_file), NULL, NULL },
	{ "allow_remote", CFG_T_FUNC, 0, NULL, 0, 0, 0, NULL,
	    cfg_admin_bool },
	{ NULL, 0, 0, NULL, 0, 0, 0, NULL, NULL },
};

/* admin.allow_remote: YAML's true or false, nothing looser (a typo must
 * not open the endpoint). */
static int
cfg_admin_bool(struct cfg_walk *w, const struct cfg_key *k,
    const struct cfg_node *n, void *obj)
{
	struct cfg_admin *a = obj;
	const char *text;
	char q[80];
	int r = -1;

	(void)k;
	if (cfg_walk_scalar(w, n, "true or false", &text) != 0)
		goto out;
	if (strcmp(text, "true") == 0)
		a->allow_remote = 1;
	else if (strcmp(text, "false") == 0)
		a->allow_remote = 0;
	else {
		cfg_walk_error(w, n, "%s is not true or false",
		    cfg_quote(text, q, sizeof(q)));
		goto out;
	}
	r = 0;
out:
	return r;
}

int
cfg_admin_loopback(const char *host)
{
	struct in_addr a4;
	struct in6_addr a6;

	if (strcmp(host, "localhost") == 0)
		return 1;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, host, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6);
	return 0;
}

int
cfg_admin_token_read(const char *path, char *buf, size_t size, size_t *len,
    char *err, size_t errlen)
{
	struct stat st;
	ssize_t n;
	size_t got = 0;
	int fd = -1, r = -1;

	*len = 0;
	if (size <= CFG_ADMIN_TOKEN_MAX + 2) {
		snprintf(err, errlen, "%s: internal error: buffer too small",
		    path);
		goto out;
	}
	if ((fd = open(path, O_RDONLY | O_NOCTTY | O_CLOEXEC)) == -1 ||
	    fstat(fd, &st) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		goto out;
	}
	/* Whoever reads the token may read every tunnel's details. */
	if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
		snprintf(err, errlen, "%s: permissions %04o are too open "
		    "(group or others may access it); chmod 600 it", path,
		    (unsigned)(st.st_mode & 07777));
		goto out;
	}
	/* One byte more than a token and its "\r\n" tells "too long". */
	while (got < CFG_ADMIN_TOKEN_MAX + 3 && got < size - 1) {
		if ((n = read(fd, buf + got, size - 1 - got)) == -1) {
			if (errno == EINTR)
				continue;
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	if (got > 0 && buf[got - 1] == '\n')
		got--;
	if (got > 0 && buf[got - 1] == '\r')
		got--;
	buf[got] = '\0';
	if (got == 0 || got > CFG_ADMIN_TOKEN_MAX) {
		snprintf(err, errlen, "%s: a token of 1..%d bytes is needed",
		    path, CFG_ADMIN_TOKEN_MAX);
		goto out;
	}
	if (memchr(buf, '\0', got) != NULL || strpbrk(buf, "\r\n") != NULL) {
		snprintf(err, errlen, "%s: the token must be one line of "
		    "text", path);
		goto out;
	}
	*len = got;
	r = 0;
out:
	if (r != 0)
		explicit_bzero(buf, size);
	if (fd != -1)
		close(fd);
	return r;
}

int
cfg_admin_walk(struct cfg_walk *w, const struct cfg_node *n,
    struct cfg_admin *a)
{
	char *tok = NULL, reason[600], q[80];
	size_t len, saved;
	int r = -1;

	/* An empty admin: fails here too: listen is required. */
	if (cfg_walk_map(w, n, n, cfg_admin_keys, a) != 0)
		goto out;
	a->enabled = 1;
	if (!a->allow_remote && (a->listen.any ||
	    !cfg_admin_loopback(a->listen.host))) {
		saved = cfg_walk_push(w, "listen");
		cfg_walk_error(w, cfg_node_get(n, "listen"), "%s is not a "
		    "loopback address (the endpoint shows every tunnel: set "
		    "admin.allow_remote: true to listen there)",
		    cfg_quote(a->listen.any ? "*" : a->listen.host, q,
		    sizeof(q)));
		cfg_walk_pop(w, saved);
		goto out;
	}
	if (a->token_file != NULL) {
		if ((tok = malloc(CFG_ADMIN_TOKEN_MAX + 8)) == NULL) {
			cfg_walk_error(w, n, "out of memory");
			goto out;
		}
		if (cfg_admin_token_read(a->token_file, tok,
		    CFG_ADMIN_TOKEN_MAX + 8, &len, reason,
		    sizeof(reason)) != 0) {
			saved = cfg_walk_push(w, "token_file");
			cfg_walk_error(w, cfg_node_get(n, "token_file"), "%s",
			    reason);
			cfg_walk_pop(w, saved);
			goto out;
		}
	}
	r = 0;
out:
	if (tok != NULL) {
		explicit_bzero(tok, CFG_ADMIN_TOKEN_MAX + 8);
		free(tok);
	}
	return r;
}

void
cfg_admin_clear(struct cfg_admin *a)
{
	free(a->token_file);
	a->token_file = NULL;
}
