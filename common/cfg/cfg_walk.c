/*
 * cfg_walk.c — the table-driven walk over a configuration's node tree: keys
 * are looked up in a struct cfg_key table (tmux options-table.c, OpenSSH
 * readconf.c), values converted by type, defaults filled in afterwards, and
 * the first error written as "FILE:LINE:COLUMN: KEY: problem".
 */
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "cfg_walk.h"
#include "cfg_yaml.h"
#include "log.h"

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
	int r = -1;

	if (n->type != CFG_NODE_SCALAR)
		cfg_walk_error(w, n, "expected %s, not a %s", what,
		    cfg_node_type_name(n));
	else if (cfg_node_is_null(n) || n->str[0] == '\0')
		cfg_walk_error(w, n, "missing value");
	else {
		*text = n->str;
		r = 0;
	}
	return r;
}

int
cfg_walk_expect(struct cfg_walk *w, const struct cfg_node *n,
    enum cfg_node_type type)
{
	const char *want = type == CFG_NODE_MAP ? "a mapping" : "a sequence";
	int r = 0;

	if (!cfg_node_is_null(n) && n->type != type)
		r = cfg_walk_error(w, n, "expected %s, not a %s", want,
		    cfg_node_type_name(n));
	return r;
}

int
cfg_walk_dup(struct cfg_walk *w, const struct cfg_node *map, size_t i)
{
	const struct cfg_node *key = map->kids[i];
	size_t j;
	int r = 0;

	/* Mappings hold at most CFG_MAP_MAX keys: quadratic is bounded. */
	for (j = 0; j < i && r == 0; j += 2) {
		if (strcmp(map->kids[j]->str, key->str) == 0)
			r = cfg_walk_error(w, key, "duplicate key (first at "
			    "line %u)", map->kids[j]->line);
	}
	return r;
}

int
cfg_walk_dirname(const char *path, char *dir, size_t len)
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
cfg_walk_order_text(const struct cfg_node *n, uint64_t v,
    enum cfg_order_kind kind, char *buf, size_t len)
{
	if (n != NULL && n->type == CFG_NODE_SCALAR)
		snprintf(buf, len, "%s", n->str);
	else if (kind == CFG_ORDER_SIZE)
		cfg_fmt_size(v, buf, len);
	else if (kind == CFG_ORDER_DURATION)
		cfg_fmt_duration(v, buf, len);
	else
		snprintf(buf, len, "%" PRIu64, v);
	return buf;
}

int
cfg_walk_order(struct cfg_walk *w, const struct cfg_node *section,
    const char *sec, const char *lokey, uint64_t lo, const char *hikey,
    uint64_t hi, enum cfg_order_kind kind, int mark_hi)
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
		    cfg_walk_order_text(nhi, hi, kind, a, sizeof(a)), sec, lokey,
		    cfg_walk_order_text(nlo, lo, kind, b, sizeof(b)));
	} else {
		snprintf(name, sizeof(name), "%s.%s", sec, lokey);
		saved = cfg_walk_push(w, name);
		r = cfg_walk_error(w, nlo, "%s is greater than %s.%s %s",
		    cfg_walk_order_text(nlo, lo, kind, a, sizeof(a)), sec, hikey,
		    cfg_walk_order_text(nhi, hi, kind, b, sizeof(b)));
	}
	cfg_walk_pop(w, saved);
out:
	return r;
}

static const char *
cfg_walk_what(enum cfg_type t)
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
	int r = -1;

	if ((copy = strdup(s)) == NULL)
		cfg_walk_error(w, n, "out of memory");
	else {
		free(*p);
		*p = copy;
		r = 0;
	}
	return r;
}

static int
cfg_walk_path(struct cfg_walk *w, const struct cfg_node *n, char **p,
    const char *text)
{
	char buf[PATH_MAX];
	int r = -1;

	if (text[0] == '/')
		r = cfg_walk_setstr(w, n, p, text);
	else if ((size_t)snprintf(buf, sizeof(buf), "%s/%s", w->dir, text) >=
	    sizeof(buf))
		cfg_walk_error(w, n, "path too long");
	else
		r = cfg_walk_setstr(w, n, p, buf);
	return r;
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
		cfg_fmt_size(k->min, lo, sizeof(lo));
		cfg_fmt_size(k->max, hi, sizeof(hi));
		break;
	case CFG_T_DURATION:
		r = cfg_parse_duration(text, v, reason, sizeof(reason));
		cfg_fmt_duration(k->min, lo, sizeof(lo));
		cfg_fmt_duration(k->max, hi, sizeof(hi));
		break;
	default:
		r = cfg_parse_uint(text, UINT64_MAX, v, reason,
		    sizeof(reason));
		if (r != 0 && text[strspn(text, "0123456789")] == '\0') {
			/* All digits: it overflowed, so it is out of range. */
			*v = UINT64_MAX;
			r = 0;
		}
		snprintf(lo, sizeof(lo), "%" PRIu64, k->min);
		snprintf(hi, sizeof(hi), "%" PRIu64, k->max);
		break;
	}
	if (r != 0)
		goto out;
	if (*v < k->min || *v > k->max) {
		log_sanitize(q, sizeof(q), text, strlen(text));
		snprintf(reason, sizeof(reason), "%s%s out of range %s..%s",
		    k->type == CFG_T_PORT ? "port " : "", q, lo, hi);
		r = -1;
	}
out:
	if (r != 0)
		cfg_walk_error(w, n, "%s", reason);
	return r;
}

/* CFG_T_ID and CFG_T_NAME: identity syntax into a fixed array. */
static int
cfg_walk_id(struct cfg_walk *w, const struct cfg_key *k,
    const struct cfg_node *n, const char *text, char *p)
{
	size_t max = k->type == CFG_T_ID ? CFG_ID_MAX : CFG_NAME_MAX;
	char q[80];
	int r = -1;

	if (!cfg_valid_id(text) || strlen(text) > max) {
		cfg_walk_error(w, n, "bad %s %s (letters, digits, '.', '_', "
		    "'-', starting with a letter or digit, at most %zu)",
		    k->type == CFG_T_ID ? "identity" : "name",
		    cfg_quote(text, q, sizeof(q)), max);
		goto out;
	}
	memcpy(p, text, strlen(text) + 1);
	r = 0;
out:
	return r;
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
	int r = -1;

	cfg_quote(text, q, sizeof(q));
	switch (k->type) {
	case CFG_T_STRING:
		r = cfg_walk_setstr(w, n, p, text);
		break;
	case CFG_T_PATH:
		r = cfg_walk_path(w, n, p, text);
		break;
	case CFG_T_HOST:
		if (!cfg_valid_host(text))
			cfg_walk_error(w, n, "bad host name %s", q);
		else
			r = cfg_walk_setstr(w, n, p, text);
		break;
	case CFG_T_IP:
		if (!cfg_valid_ip(text))
			cfg_walk_error(w, n, "%s is not an IP address", q);
		else
			r = cfg_walk_setstr(w, n, p, text);
		break;
	case CFG_T_ID:
	case CFG_T_NAME:
		r = cfg_walk_id(w, k, n, text, p);
		break;
	case CFG_T_ADDR:
		if (cfg_parse_addr(text, p, 0, reason, sizeof(reason)) != 0)
			cfg_walk_error(w, n, "%s", reason);
		else
			r = 0;
		break;
	case CFG_T_PORT:
	case CFG_T_UINT:
	case CFG_T_SIZE:
	case CFG_T_DURATION:
		if (cfg_walk_number(w, k, n, text, &v) != 0)
			break;
		if (k->type == CFG_T_PORT)
			*(uint16_t *)p = (uint16_t)v;
		else if (k->type == CFG_T_DURATION)
			*(uint64_t *)p = v;
		else
			*(uint32_t *)p = (uint32_t)v;	/* max <= UINT32_MAX */
		r = 0;
		break;
	case CFG_T_LOGLEVEL:
		if (log_level_parse(text, &level) != 0)
			cfg_walk_error(w, n, "%s is not a log level (error, "
			    "warn, info, debug)", q);
		else {
			*(enum log_level *)p = level;
			r = 0;
		}
		break;
	case CFG_T_WORKERS:
		if (strcmp(text, "auto") == 0) {
			*(int *)p = 0;
			r = 0;
		} else if (text[strspn(text, "0123456789")] != '\0')
			cfg_walk_error(w, n, "%s is not auto or a number "
			    "%" PRIu64 "..%" PRIu64, q, k->min, k->max);
		else if (cfg_walk_number(w, k, n, text, &v) == 0) {
			*(int *)p = (int)v;
			r = 0;
		}
		break;
	default:
		cfg_walk_error(w, n, "internal error: bad key type");
		break;
	}
	return r;
}

static int
cfg_walk_value(struct cfg_walk *w, const struct cfg_key *k,
    const struct cfg_node *n, void *obj)
{
	const char *text;
	int r = -1;

	switch (k->type) {
	case CFG_T_MAP:
		r = cfg_walk_map(w, n, n, k->sub, obj);
		break;
	case CFG_T_FUNC:
		r = k->fn(w, k, n, obj);
		break;
	default:
		if (cfg_walk_scalar(w, n, cfg_walk_what(k->type), &text) == 0)
			r = cfg_walk_text(w, k, n, text, obj);
		break;
	}
	return r;
}

int
cfg_walk_map(struct cfg_walk *w, const struct cfg_node *map,
    const struct cfg_node *where, const struct cfg_key *table, void *obj)
{
	const struct cfg_key *k;
	const struct cfg_node *key, *at;
	size_t i, saved;
	int r = -1;

	if (map != NULL && cfg_walk_expect(w, map, CFG_NODE_MAP) != 0)
		goto out;
	if (cfg_node_is_null(map))
		map = NULL;
	for (i = 0; map != NULL && i + 1 < map->nkids; i += 2) {
		key = map->kids[i];
		saved = cfg_walk_push(w, key->str);
		if (cfg_walk_dup(w, map, i) != 0)
			goto out;
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
