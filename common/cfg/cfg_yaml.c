/*
 * cfg_yaml.c — the strict YAML reader: a node tree that keeps each node's
 * mark, for cfg_walk.c to read.  See cfg_yaml.h.
 *
 * The tree is built from libyaml's events rather than yaml_parser_load() so
 * that an alias is refused the moment it is seen: nothing is ever expanded,
 * and the tree can hold no more nodes than the (capped) file has bytes.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <yaml.h>

#include "cfg_yaml.h"

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
	int r = -1;

	if (p == NULL) {
		/* One document, so one root: the parser guarantees it. */
		b->root = n;
		r = 0;
		goto out;
	}
	if (p->type == CFG_NODE_MAP && p->nkids % 2 == 0) {
		if (n->type != CFG_NODE_SCALAR) {
			cfg_build_error(b, n->line, n->col, "a mapping key "
			    "must be a plain value, not a %s",
			    cfg_node_type_name(n));
			goto out;
		}
		if (p->nkids / 2 >= CFG_MAP_MAX) {
			cfg_build_error(b, n->line, n->col, "too many entries "
			    "in one mapping (max %d)", CFG_MAP_MAX);
			goto out;
		}
	}
	if (p->nkids == p->cap) {
		cap = p->cap == 0 ? 8 : p->cap * 2;
		if ((kids = reallocarray(p->kids, cap, sizeof(*kids))) ==
		    NULL) {
			cfg_build_error(b, n->line, n->col, "out of memory");
			goto out;
		}
		p->kids = kids;
		p->cap = cap;
	}
	p->kids[p->nkids++] = n;
	n->parent = p;
	r = 0;
out:
	return r;
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
	const struct cfg_node *v = NULL;
	size_t i;

	if (map == NULL || map->type != CFG_NODE_MAP)
		goto out;
	for (i = 0; i + 1 < map->nkids && v == NULL; i += 2) {
		if (strcmp(map->kids[i]->str, key) == 0)
			v = map->kids[i + 1];
	}
out:
	return v;
}

int
cfg_node_is_null(const struct cfg_node *n)
{
	static const char *nulls[] = { "", "~", "null", "Null", "NULL" };
	size_t i;
	int null = 0;

	if (n == NULL || n->type != CFG_NODE_SCALAR || !n->plain)
		goto out;
	for (i = 0; i < sizeof(nulls) / sizeof(nulls[0]) && !null; i++)
		null = strcmp(n->str, nulls[i]) == 0;
out:
	return null;
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
