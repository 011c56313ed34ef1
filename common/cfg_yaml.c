/*
 * cfg_yaml.c — the strict YAML reader (node tree with marks) and the
 * table-driven walk that both configuration loaders use.  See cfg_yaml.h.
 *
 * The tree is built from libyaml's events rather than yaml_parser_load() so
 * that an alias is refused the moment it is seen: nothing is ever expanded,
 * and the tree can hold no more nodes than the (capped) file has bytes.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <yaml.h>

#include "cfg.h"
#include "cfg_yaml.h"
#include "log.h"

/* State of the event-to-tree builder. */
struct cfg_build {
	const char	*name;
	const char	*buf;
	size_t		 len;
	struct cfg_node	*root;
	struct cfg_node	*cur;		/* open collection, or NULL */
	unsigned	 depth;
	unsigned	 ndocs;
	char		*err;
	size_t		 errlen;
};

static int
cfg_build_error(struct cfg_build *b, unsigned line, unsigned col,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int
cfg_build_error(struct cfg_build *b, unsigned line, unsigned col,
    const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(b->err, b->errlen, "%s:%u:%u: %s", b->name, line, col, msg);
	return -1;
}

void
cfg_node_free(struct cfg_node *n)
{
	size_t i;

	if (n == NULL)
		return;
	for (i = 0; i < n->nkids; i++)
		cfg_node_free(n->kids[i]);
	free(n->kids);
	free(n->str);
	free(n);
}

/* Append n to the open collection (or make it the root). */
static int
cfg_build_add(struct cfg_build *b, struct cfg_node *n)
{
	struct cfg_node *p = b->cur, **kids;
	size_t cap;

	if (p == NULL) {
		/* One document, so one root: the parser guarantees it. */
		b->root = n;
		return 0;
	}
	if (p->type == CFG_NODE_MAP && p->nkids % 2 == 0) {
		if (n->type != CFG_NODE_SCALAR)
			return cfg_build_error(b, n->line, n->col,
			    "a mapping key must be a plain value, not a %s",
			    cfg_node_type_name(n));
		if (p->nkids / 2 >= CFG_MAP_MAX)
			return cfg_build_error(b, n->line, n->col,
			    "too many entries in one mapping (max %d)",
			    CFG_MAP_MAX);
	}
	if (p->nkids == p->cap) {
		cap = p->cap == 0 ? 8 : p->cap * 2;
		kids = reallocarray(p->kids, cap, sizeof(*kids));
		if (kids == NULL)
			return cfg_build_error(b, n->line, n->col,
			    "out of memory");
		p->kids = kids;
		p->cap = cap;
	}
	p->kids[p->nkids++] = n;
	n->parent = p;
	return 0;
}

/* Turn one event into the tree.  1 at the end of the stream, 0, or -1. */
static int
cfg_build_event(struct cfg_build *b, yaml_event_t *ev)
{
	struct cfg_node *n = NULL;
	unsigned line = (unsigned)ev->start_mark.line + 1;
	unsigned col = (unsigned)ev->start_mark.column + 1;
	const yaml_char_t *anchor = NULL, *tag = NULL;
	int r = -1;

	switch (ev->type) {
	case YAML_STREAM_END_EVENT:
		r = 1;
		goto out;
	case YAML_DOCUMENT_START_EVENT:
		if (b->ndocs++ > 0) {
			cfg_build_error(b, line, col,
			    "only one YAML document is allowed");
			goto out;
		}
		r = 0;
		goto out;
	case YAML_ALIAS_EVENT:
		cfg_build_error(b, line, col,
		    "aliases (*name) are not allowed");
		goto out;
	case YAML_SCALAR_EVENT:
		anchor = ev->data.scalar.anchor;
		tag = ev->data.scalar.tag;
		break;
	case YAML_SEQUENCE_START_EVENT:
		anchor = ev->data.sequence_start.anchor;
		tag = ev->data.sequence_start.tag;
		break;
	case YAML_MAPPING_START_EVENT:
		anchor = ev->data.mapping_start.anchor;
		tag = ev->data.mapping_start.tag;
		break;
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		b->cur = b->cur->parent;
		b->depth--;
		r = 0;
		goto out;
	default:
		r = 0;
		goto out;
	}
	if (anchor != NULL) {
		cfg_build_error(b, line, col, "anchors (&name) are not allowed");
		goto out;
	}
	if (tag != NULL) {
		cfg_build_error(b, line, col, "tags (!name) are not allowed");
		goto out;
	}
	if ((n = calloc(1, sizeof(*n))) == NULL) {
		cfg_build_error(b, line, col, "out of memory");
		goto out;
	}
	n->line = line;
	n->col = col;
	if (ev->type == YAML_SCALAR_EVENT) {
		n->type = CFG_NODE_SCALAR;
		n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
		if (memchr(ev->data.scalar.value, '\0',
		    ev->data.scalar.length) != NULL) {
			cfg_build_error(b, line, col, "NUL byte in a value");
			goto out;
		}
		n->str = strndup((const char *)ev->data.scalar.value,
		    ev->data.scalar.length);
		if (n->str == NULL) {
			cfg_build_error(b, line, col, "out of memory");
			goto out;
		}
	} else {
		n->type = ev->type == YAML_MAPPING_START_EVENT ?
		    CFG_NODE_MAP : CFG_NODE_SEQ;
		if (b->depth >= CFG_DEPTH_MAX) {
			cfg_build_error(b, line, col,
			    "nested too deep (max %d levels)", CFG_DEPTH_MAX);
			goto out;
		}
	}
	if (cfg_build_add(b, n) != 0)
		goto out;
	if (n->type != CFG_NODE_SCALAR) {
		b->cur = n;
		b->depth++;
	}
	n = NULL;
	r = 0;
out:
	cfg_node_free(n);
	return r;
}

/* 1-based line and column of a byte offset (reader errors carry no mark). */
static void
cfg_build_offset(const struct cfg_build *b, size_t off, unsigned *line,
    unsigned *col)
{
	size_t i;

	*line = 1;
	*col = 1;
	for (i = 0; i < off && i < b->len; i++) {
		if (b->buf[i] == '\n') {
			(*line)++;
			*col = 1;
		} else
			(*col)++;
	}
}

static void
cfg_build_yaml_error(struct cfg_build *b, const yaml_parser_t *p)
{
	unsigned line, col;

	switch (p->error) {
	case YAML_MEMORY_ERROR:
		snprintf(b->err, b->errlen, "%s: out of memory", b->name);
		break;
	case YAML_READER_ERROR:
		cfg_build_offset(b, p->problem_offset, &line, &col);
		cfg_build_error(b, line, col, "syntax error: %s",
		    p->problem != NULL ? p->problem : "unreadable text");
		break;
	default:
		line = (unsigned)p->problem_mark.line + 1;
		col = (unsigned)p->problem_mark.column + 1;
		if (p->context != NULL)
			cfg_build_error(b, line, col,
			    "syntax error: %s (%s at line %u)",
			    p->problem != NULL ? p->problem : "?", p->context,
			    (unsigned)p->context_mark.line + 1);
		else
			cfg_build_error(b, line, col, "syntax error: %s",
			    p->problem != NULL ? p->problem : "?");
		break;
	}
}

int
cfg_yaml_parse(const char *name, const char *buf, size_t len,
    struct cfg_node **root, char *err, size_t errlen)
{
	struct cfg_build b;
	yaml_parser_t parser;
	yaml_event_t ev;
	int r = -1, done = 0, pinit = 0;

	*root = NULL;
	memset(&b, 0, sizeof(b));
	b.name = name;
	b.buf = buf;
	b.len = len;
	b.err = err;
	b.errlen = errlen;
	if (!yaml_parser_initialize(&parser)) {
		snprintf(err, errlen, "%s: out of memory", name);
		goto out;
	}
	pinit = 1;
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	while (!done) {
		if (!yaml_parser_parse(&parser, &ev)) {
			cfg_build_yaml_error(&b, &parser);
			r = -1;
			goto out;
		}
		r = cfg_build_event(&b, &ev);
		yaml_event_delete(&ev);
		if (r < 0)
			goto out;
		done = r == 1;
	}
	r = -1;
	if (b.root == NULL || cfg_node_is_null(b.root)) {
		cfg_build_error(&b, 1, 1, "empty configuration");
		goto out;
	}
	if (b.root->type != CFG_NODE_MAP) {
		cfg_build_error(&b, b.root->line, b.root->col,
		    "the top level must be a mapping of keys, not a %s",
		    cfg_node_type_name(b.root));
		goto out;
	}
	*root = b.root;
	b.root = NULL;
	r = 0;
out:
	if (pinit)
		yaml_parser_delete(&parser);
	cfg_node_free(b.root);
	return r;
}

int
cfg_yaml_load(const char *path, struct cfg_node **root, char *err,
    size_t errlen)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	ssize_t n;
	int fd = -1, r = -1;

	*root = NULL;
	/* O_NONBLOCK: opening a FIFO must not hang before we can refuse it. */
	if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		goto out;
	}
	if (st.st_size > CFG_FILE_MAX) {
		snprintf(err, errlen, "%s: file too large (%jd bytes, max %d)",
		    path, (intmax_t)st.st_size, CFG_FILE_MAX);
		goto out;
	}
	/* One byte more than the cap, to notice a file that grew. */
	if ((buf = malloc(CFG_FILE_MAX + 1)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto out;
	}
	while (len <= CFG_FILE_MAX) {
		n = read(fd, buf + len, CFG_FILE_MAX + 1 - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > CFG_FILE_MAX) {
		snprintf(err, errlen, "%s: file too large (max %d bytes)",
		    path, CFG_FILE_MAX);
		goto out;
	}
	r = cfg_yaml_parse(path, buf, len, root, err, errlen);
out:
	free(buf);
	if (fd != -1)
		close(fd);
	return r;
}

const struct cfg_node *
cfg_node_get(const struct cfg_node *map, const char *key)
{
	size_t i;

	if (map == NULL || map->type != CFG_NODE_MAP)
		return NULL;
	for (i = 0; i + 1 < map->nkids; i += 2) {
		if (strcmp(map->kids[i]->str, key) == 0)
			return map->kids[i + 1];
	}
	return NULL;
}

int
cfg_node_is_null(const struct cfg_node *n)
{
	static const char *nulls[] = { "", "~", "null", "Null", "NULL" };
	size_t i;

	if (n == NULL || n->type != CFG_NODE_SCALAR || !n->plain)
		return 0;
	for (i = 0; i < sizeof(nulls) / sizeof(nulls[0]); i++) {
		if (strcmp(n->str, nulls[i]) == 0)
			return 1;
	}
	return 0;
}

const char *
cfg_node_type_name(const struct cfg_node *n)
{
	switch (n->type) {
	case CFG_NODE_MAP:
		return "mapping";
	case CFG_NODE_SEQ:
		return "sequence";
	default:
		return "value";
	}
}

/* ---- the walk ---------------------------------------------------------- */

void
cfg_walk_init(struct cfg_walk *w, const char *file, const char *dir,
    char *err, size_t errlen)
{
	memset(w, 0, sizeof(*w));
	w->file = file;
	w->dir = dir;
	w->err = err;
	w->errlen = errlen;
}

size_t
cfg_walk_push(struct cfg_walk *w, const char *name)
{
	size_t saved = w->pathlen, room;
	char clean[CFG_PATH_MAX];

	log_sanitize(clean, sizeof(clean), name, strlen(name));
	room = sizeof(w->path) - w->pathlen;
	snprintf(w->path + w->pathlen, room, "%s%s",
	    w->pathlen == 0 ? "" : ".", clean);
	w->pathlen += strlen(w->path + w->pathlen);
	return saved;
}

size_t
cfg_walk_push_index(struct cfg_walk *w, size_t i)
{
	size_t saved = w->pathlen;

	snprintf(w->path + w->pathlen, sizeof(w->path) - w->pathlen, "[%zu]",
	    i);
	w->pathlen += strlen(w->path + w->pathlen);
	return saved;
}

void
cfg_walk_pop(struct cfg_walk *w, size_t saved)
{
	w->pathlen = saved;
	w->path[saved] = '\0';
}

int
cfg_walk_error(struct cfg_walk *w, const struct cfg_node *n,
    const char *fmt, ...)
{
	char msg[384], pos[32] = "";
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n != NULL)
		snprintf(pos, sizeof(pos), ":%u:%u", n->line, n->col);
	if (w->pathlen != 0)
		snprintf(w->err, w->errlen, "%s%s: %s: %s", w->file, pos,
		    w->path, msg);
	else
		snprintf(w->err, w->errlen, "%s%s: %s", w->file, pos, msg);
	return -1;
}

int
cfg_walk_scalar(struct cfg_walk *w, const struct cfg_node *n,
    const char *what, const char **text)
{
	if (n->type != CFG_NODE_SCALAR)
		return cfg_walk_error(w, n, "expected %s, not a %s", what,
		    cfg_node_type_name(n));
	if (cfg_node_is_null(n) || n->str[0] == '\0')
		return cfg_walk_error(w, n, "missing value");
	*text = n->str;
	return 0;
}

int
cfg_walk_expect(struct cfg_walk *w, const struct cfg_node *n,
    enum cfg_node_type type)
{
	const char *want = type == CFG_NODE_MAP ? "a mapping" : "a sequence";

	if (cfg_node_is_null(n) || n->type == type)
		return 0;
	return cfg_walk_error(w, n, "expected %s, not a %s", want,
	    cfg_node_type_name(n));
}

int
cfg_dirname(const char *path, char *dir, size_t len)
{
	char *real = NULL, *slash;
	int r = -1;

	if ((real = realpath(path, NULL)) == NULL)
		goto out;
	slash = strrchr(real, '/');
	if (slash == real)
		slash[1] = '\0';	/* a file in "/" */
	else if (slash != NULL)
		*slash = '\0';
	if ((size_t)snprintf(dir, len, "%s", real) >= len)
		goto out;
	r = 0;
out:
	free(real);
	return r;
}

/* A value as the file wrote it, or formatted when it is a default. */
static const char *
cfg_check_text(const struct cfg_node *n, uint64_t v, int size, char *buf,
    size_t len)
{
	if (n != NULL && n->type == CFG_NODE_SCALAR)
		return n->str;
	return size ? cfg_fmt_size(v, buf, len) : cfg_fmt_duration(v, buf,
	    len);
}

int
cfg_check_order(struct cfg_walk *w, const struct cfg_node *section,
    const char *sec, const char *lokey, uint64_t lo, const char *hikey,
    uint64_t hi, int size, int mark_hi)
{
	const struct cfg_node *nlo, *nhi;
	char a[32], b[32], name[64];
	size_t saved;
	int r = 0;

	if (lo <= hi)
		goto out;
	nlo = cfg_node_get(section, lokey);
	nhi = cfg_node_get(section, hikey);
	if (nlo == NULL || (mark_hi && nhi != NULL)) {
		snprintf(name, sizeof(name), "%s.%s", sec, hikey);
		saved = cfg_walk_push(w, name);
		r = cfg_walk_error(w, nhi, "%s is smaller than %s.%s %s",
		    cfg_check_text(nhi, hi, size, a, sizeof(a)), sec, lokey,
		    cfg_check_text(nlo, lo, size, b, sizeof(b)));
	} else {
		snprintf(name, sizeof(name), "%s.%s", sec, lokey);
		saved = cfg_walk_push(w, name);
		r = cfg_walk_error(w, nlo, "%s is greater than %s.%s %s",
		    cfg_check_text(nlo, lo, size, a, sizeof(a)), sec, hikey,
		    cfg_check_text(nhi, hi, size, b, sizeof(b)));
	}
	cfg_walk_pop(w, saved);
out:
	return r;
}

static const char *
cfg_type_what(enum cfg_type t)
{
	static const char *what[] = {
		[CFG_T_STRING] = "a string",
		[CFG_T_PATH] = "a path",
		[CFG_T_HOST] = "a host name",
		[CFG_T_IP] = "an IP address",
		[CFG_T_ID] = "an identity",
		[CFG_T_NAME] = "a name",
		[CFG_T_ADDR] = "an address (host:port)",
		[CFG_T_PORT] = "a port number",
		[CFG_T_UINT] = "a number",
		[CFG_T_SIZE] = "a size",
		[CFG_T_DURATION] = "a duration",
		[CFG_T_LOGLEVEL] = "a log level",
		[CFG_T_WORKERS] = "auto or a number",
		[CFG_T_MAP] = "a mapping",
		[CFG_T_FUNC] = "a value",
	};

	return what[t];
}

/* Replace the char * at p with a copy of s. */
static int
cfg_walk_setstr(struct cfg_walk *w, const struct cfg_node *n, char **p,
    const char *s)
{
	char *copy;

	if ((copy = strdup(s)) == NULL)
		return cfg_walk_error(w, n, "out of memory");
	free(*p);
	*p = copy;
	return 0;
}

static int
cfg_walk_path(struct cfg_walk *w, const struct cfg_node *n, char **p,
    const char *text)
{
	char buf[PATH_MAX];

	if (text[0] == '/')
		return cfg_walk_setstr(w, n, p, text);
	if ((size_t)snprintf(buf, sizeof(buf), "%s/%s", w->dir, text) >=
	    sizeof(buf))
		return cfg_walk_error(w, n, "path too long");
	return cfg_walk_setstr(w, n, p, buf);
}

/* Numbers with a range: integers, sizes, durations. */
static int
cfg_walk_number(struct cfg_walk *w, const struct cfg_key *k,
    const struct cfg_node *n, const char *text, uint64_t *v)
{
	char reason[256], q[80], lo[32], hi[32];
	int r;

	switch (k->type) {
	case CFG_T_SIZE:
		r = cfg_parse_size(text, v, reason, sizeof(reason));
		break;
	case CFG_T_DURATION:
		r = cfg_parse_duration(text, v, reason, sizeof(reason));
		break;
	default:
		r = cfg_parse_uint(text, UINT64_MAX, v, reason,
		    sizeof(reason));
		if (r != 0 && text[strspn(text, "0123456789")] == '\0') {
			/* All digits: it overflowed, so it is out of range. */
			*v = UINT64_MAX;
			r = 0;
		}
		break;
	}
	if (r != 0)
		return cfg_walk_error(w, n, "%s", reason);
	if (*v >= k->min && *v <= k->max)
		return 0;
	log_sanitize(q, sizeof(q), text, strlen(text));
	switch (k->type) {
	case CFG_T_SIZE:
		cfg_fmt_size(k->min, lo, sizeof(lo));
		cfg_fmt_size(k->max, hi, sizeof(hi));
		break;
	case CFG_T_DURATION:
		cfg_fmt_duration(k->min, lo, sizeof(lo));
		cfg_fmt_duration(k->max, hi, sizeof(hi));
		break;
	default:
		snprintf(lo, sizeof(lo), "%" PRIu64, k->min);
		snprintf(hi, sizeof(hi), "%" PRIu64, k->max);
		break;
	}
	return cfg_walk_error(w, n, "%s%s out of range %s..%s",
	    k->type == CFG_T_PORT ? "port " : "", q, lo, hi);
}

/* Convert text (from node n, or a default when n is NULL) into obj. */
static int
cfg_walk_text(struct cfg_walk *w, const struct cfg_key *k,
    const struct cfg_node *n, const char *text, void *obj)
{
	char reason[256], q[80];
	void *p = (char *)obj + k->off;
	enum log_level level;
	uint64_t v;

	cfg_quote(text, q, sizeof(q));
	switch (k->type) {
	case CFG_T_STRING:
		return cfg_walk_setstr(w, n, p, text);
	case CFG_T_PATH:
		return cfg_walk_path(w, n, p, text);
	case CFG_T_HOST:
		if (!cfg_valid_host(text))
			return cfg_walk_error(w, n, "bad host name %s", q);
		return cfg_walk_setstr(w, n, p, text);
	case CFG_T_IP:
		if (!cfg_valid_ip(text))
			return cfg_walk_error(w, n, "%s is not an IP address",
			    q);
		return cfg_walk_setstr(w, n, p, text);
	case CFG_T_ID:
	case CFG_T_NAME:
		if (!cfg_valid_id(text) || (k->type == CFG_T_NAME &&
		    strlen(text) > CFG_NAME_MAX))
			return cfg_walk_error(w, n, "bad %s %s (letters, "
			    "digits, '.', '_', '-', starting with a letter or "
			    "digit, at most %d)", k->type == CFG_T_ID ?
			    "identity" : "name", q, k->type == CFG_T_ID ?
			    CFG_ID_MAX : CFG_NAME_MAX);
		memcpy(p, text, strlen(text) + 1);
		return 0;
	case CFG_T_ADDR:
		if (cfg_parse_addr(text, p, 0, reason, sizeof(reason)) != 0)
			return cfg_walk_error(w, n, "%s", reason);
		return 0;
	case CFG_T_PORT:
	case CFG_T_UINT:
	case CFG_T_SIZE:
	case CFG_T_DURATION:
		if (cfg_walk_number(w, k, n, text, &v) != 0)
			return -1;
		if (k->type == CFG_T_PORT)
			*(uint16_t *)p = (uint16_t)v;
		else if (k->type == CFG_T_DURATION)
			*(uint64_t *)p = v;
		else
			*(uint32_t *)p = (uint32_t)v;	/* max <= UINT32_MAX */
		return 0;
	case CFG_T_LOGLEVEL:
		if (log_level_parse(text, &level) != 0)
			return cfg_walk_error(w, n, "%s is not a log level "
			    "(error, warn, info, debug)", q);
		*(enum log_level *)p = level;
		return 0;
	case CFG_T_WORKERS:
		if (strcmp(text, "auto") == 0) {
			*(int *)p = 0;
			return 0;
		}
		if (text[0] == '\0' || text[strspn(text, "0123456789")] != '\0')
			return cfg_walk_error(w, n, "%s is not auto or a number "
			    "%" PRIu64 "..%" PRIu64, q, k->min, k->max);
		if (cfg_walk_number(w, k, n, text, &v) != 0)
			return -1;
		*(int *)p = (int)v;
		return 0;
	default:
		return cfg_walk_error(w, n, "internal error: bad key type");
	}
}

static int
cfg_walk_value(struct cfg_walk *w, const struct cfg_key *k,
    const struct cfg_node *n, void *obj)
{
	const char *text;

	switch (k->type) {
	case CFG_T_MAP:
		return cfg_walk_map(w, n, n, k->sub, obj);
	case CFG_T_FUNC:
		return k->fn(w, k, n, obj);
	default:
		if (cfg_walk_scalar(w, n, cfg_type_what(k->type), &text) != 0)
			return -1;
		return cfg_walk_text(w, k, n, text, obj);
	}
}

int
cfg_walk_map(struct cfg_walk *w, const struct cfg_node *map,
    const struct cfg_node *where, const struct cfg_key *table, void *obj)
{
	const struct cfg_key *k;
	const struct cfg_node *key, *at;
	size_t i, j, saved;
	int r = -1;

	if (map != NULL && cfg_walk_expect(w, map, CFG_NODE_MAP) != 0)
		return -1;
	if (cfg_node_is_null(map))
		map = NULL;
	for (i = 0; map != NULL && i + 1 < map->nkids; i += 2) {
		key = map->kids[i];
		saved = cfg_walk_push(w, key->str);
		for (j = 0; j < i; j += 2) {
			if (strcmp(map->kids[j]->str, key->str) == 0) {
				cfg_walk_error(w, key, "duplicate key (first "
				    "at line %u)", map->kids[j]->line);
				goto out;
			}
		}
		for (k = table; k->name != NULL; k++) {
			if (strcmp(k->name, key->str) == 0)
				break;
		}
		if (k->name == NULL) {
			cfg_walk_error(w, key, "unknown key");
			goto out;
		}
		if (cfg_walk_value(w, k, map->kids[i + 1], obj) != 0)
			goto out;
		cfg_walk_pop(w, saved);
	}
	/* Fill defaults after parsing: absent keys only. */
	at = map != NULL ? map : where;
	for (k = table; k->name != NULL; k++) {
		if (cfg_node_get(map, k->name) != NULL)
			continue;
		saved = cfg_walk_push(w, k->name);
		if (k->flags & CFG_REQUIRED) {
			cfg_walk_error(w, at, "missing required key");
			goto out;
		}
		if (k->type == CFG_T_MAP &&
		    cfg_walk_map(w, NULL, at, k->sub, obj) != 0)
			goto out;
		if (k->type != CFG_T_MAP && k->def != NULL &&
		    cfg_walk_text(w, k, NULL, k->def, obj) != 0)
			goto out;
		cfg_walk_pop(w, saved);
	}
	r = 0;
out:
	return r;
}
