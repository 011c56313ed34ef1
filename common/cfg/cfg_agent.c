/*
 * cfg_agent.c — agent.yaml: the key table, the services: list and the checks
 * across keys.  The reading itself is cfg_yaml.c's.
 */
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "cfg_agent.h"
#include "cfg_walk.h"
#include "cfg_yaml.h"
#include "log.h"

#define AGENT_OFF(f)	offsetof(struct agent_config, f)
#define SERVICE_OFF(f)	offsetof(struct agent_service, f)
#define FORWARD_OFF(f)	offsetof(struct agent_forward, f)
#define AGENT_SERVICES_MAX	1024
#define AGENT_FORWARDS_MAX	256

static int cfg_agent_services(struct cfg_walk *, const struct cfg_key *,
    const struct cfg_node *, void *);
static int cfg_agent_forwards(struct cfg_walk *, const struct cfg_key *,
    const struct cfg_node *, void *);
static int cfg_agent_public(struct cfg_walk *, const struct cfg_key *,
    const struct cfg_node *, void *);
static int cfg_agent_to(struct cfg_walk *, const struct cfg_key *,
    const struct cfg_node *, void *);
static int cfg_agent_admin(struct cfg_walk *, const struct cfg_key *,
    const struct cfg_node *, void *);

/* The credential: cert and key, or token_file, or both (cfg_agent_creds). */
static const struct cfg_key cfg_agent_tls[] = {
	{ "cert", CFG_T_PATH, 0, NULL, 0, 0,
	    AGENT_OFF(tls_cert), NULL, NULL },
	{ "key", CFG_T_PATH, 0, NULL, 0, 0,
	    AGENT_OFF(tls_key), NULL, NULL },
	{ "token_file", CFG_T_PATH, 0, NULL, 0, 0,
	    AGENT_OFF(tls_token_file), NULL, NULL },
	{ "ca", CFG_T_PATH, CFG_REQUIRED, NULL, 0, 0,
	    AGENT_OFF(tls_ca), NULL, NULL },
	/* Default (the relay host) is set once relay: is known. */
	{ "server_name", CFG_T_HOST, 0, NULL, 0, 0,
	    AGENT_OFF(tls_server_name), NULL, NULL },
	{ NULL, 0, 0, NULL, 0, 0, 0, NULL, NULL },
};

static const struct cfg_key cfg_agent_reconnect[] = {
	{ "initial", CFG_T_DURATION, 0, "1s", 100, 3600 * 1000,
	    AGENT_OFF(reconnect_initial_ms), NULL, NULL },
	{ "max", CFG_T_DURATION, 0, "60s", 100, 24 * 3600 * 1000,
	    AGENT_OFF(reconnect_max_ms), NULL, NULL },
	{ NULL, 0, 0, NULL, 0, 0, 0, NULL, NULL },
};

static const struct cfg_key cfg_agent_keepalive[] = {
	{ "interval", CFG_T_DURATION, 0, "15s", 100, 3600 * 1000,
	    AGENT_OFF(ping_interval_ms), NULL, NULL },
	{ "misses", CFG_T_UINT, 0, "3", 1, 100,
	    AGENT_OFF(ping_misses), NULL, NULL },
	{ NULL, 0, 0, NULL, 0, 0, 0, NULL, NULL },
};

static const struct cfg_key cfg_agent_timeouts[] = {
	{ "connect", CFG_T_DURATION, 0, "5s", 100, 3600 * 1000,
	    AGENT_OFF(connect_timeout_ms), NULL, NULL },
	{ "handshake", CFG_T_DURATION, 0, "10s", 100, 3600 * 1000,
	    AGENT_OFF(handshake_timeout_ms), NULL, NULL },
	{ "shutdown", CFG_T_DURATION, 0, "10s", 0, 3600 * 1000,
	    AGENT_OFF(shutdown_timeout_ms), NULL, NULL },
	/* A client that stops reading pins its stream's buffers forever;
	 * so does a peer that half-closes and then goes quiet.  0: off. */
	{ "stall", CFG_T_DURATION, 0, "120s", 0, 24 * 3600 * 1000,
	    AGENT_OFF(stall_timeout_ms), NULL, NULL },
	{ "half_closed", CFG_T_DURATION, 0, "60s", 0, 24 * 3600 * 1000,
	    AGENT_OFF(half_closed_timeout_ms), NULL, NULL },
	{ NULL, 0, 0, NULL, 0, 0, 0, NULL, NULL },
};

static const struct cfg_key cfg_agent_limits[] = {
	{ "stream_window", CFG_T_SIZE, 0, "512KiB", 16 * 1024,
	    16 * 1024 * 1024, AGENT_OFF(stream_window), NULL, NULL },
	/* Auto-tuning grows a fast stream's window up to this, no further. */
	{ "stream_window_max", CFG_T_SIZE, 0, "16MiB", 16 * 1024,
	    1024 * 1024 * 1024, AGENT_OFF(stream_window_max), NULL, NULL },
	{ "tunnel_window", CFG_T_SIZE, 0, "32MiB", 16 * 1024,
	    1024 * 1024 * 1024, AGENT_OFF(tunnel_window), NULL, NULL },
	/* The memory the tunnel may pin in the agent, whatever the relay
	 * and the targets do: below 256KiB it could not keep a link busy. */
	{ "tunnel_buffer", CFG_T_SIZE, 0, "8MiB", 256 * 1024,
	    1024 * 1024 * 1024, AGENT_OFF(tunnel_buffer), NULL, NULL },
	{ "max_frame", CFG_T_SIZE, 0, "128KiB", 1024, 1024 * 1024,
	    AGENT_OFF(max_frame), NULL, NULL },
	{ "max_streams", CFG_T_UINT, 0, "4096", 1, 1000000,
	    AGENT_OFF(max_streams), NULL, NULL },
	{ NULL, 0, 0, NULL, 0, 0, 0, NULL, NULL },
};

static const struct cfg_key cfg_agent_log[] = {
	{ "level", CFG_T_LOGLEVEL, 0, "info", 0, 0,
	    AGENT_OFF(log_level), NULL, NULL },
	{ NULL, 0, 0, NULL, 0, 0, 0, NULL, NULL },
};

static const struct cfg_key cfg_agent_top[] = {
	{ "id", CFG_T_ID, CFG_REQUIRED, NULL, 0, 0, AGENT_OFF(id), NULL,
	    NULL },
	{ "relay", CFG_T_ADDR, CFG_REQUIRED, NULL, 0, 0, AGENT_OFF(relay),
	    NULL, NULL },
	{ "tls", CFG_T_MAP, CFG_REQUIRED, NULL, 0, 0, 0, cfg_agent_tls, NULL },
	{ "services", CFG_T_FUNC, 0, NULL, 0, 0, 0, NULL,
	    cfg_agent_services },
	{ "forwards", CFG_T_FUNC, 0, NULL, 0, 0, 0, NULL,
	    cfg_agent_forwards },
	{ "reconnect", CFG_T_MAP, 0, NULL, 0, 0, 0, cfg_agent_reconnect,
	    NULL },
	{ "keepalive", CFG_T_MAP, 0, NULL, 0, 0, 0, cfg_agent_keepalive,
	    NULL },
	{ "timeouts", CFG_T_MAP, 0, NULL, 0, 0, 0, cfg_agent_timeouts, NULL },
	{ "limits", CFG_T_MAP, 0, NULL, 0, 0, 0, cfg_agent_limits, NULL },
	{ "log", CFG_T_MAP, 0, NULL, 0, 0, 0, cfg_agent_log, NULL },
	{ "admin", CFG_T_FUNC, 0, NULL, 0, 0, 0, NULL, cfg_agent_admin },
	{ NULL, 0, 0, NULL, 0, 0, 0, NULL, NULL },
};

/* admin: the section both daemons share (cfg_admin.h). */
static int
cfg_agent_admin(struct cfg_walk *w, const struct cfg_key *k,
    const struct cfg_node *n, void *obj)
{
	(void)k;
	return cfg_admin_walk(w, n, &((struct agent_config *)obj)->admin);
}

/* services[i]: one local service. */
static const struct cfg_key cfg_agent_service_keys[] = {
	{ "name", CFG_T_NAME, CFG_REQUIRED, NULL, 0, 0, SERVICE_OFF(name),
	    NULL, NULL },
	{ "target", CFG_T_ADDR, CFG_REQUIRED, NULL, 0, 0,
	    SERVICE_OFF(target), NULL, NULL },
	/* 0 (or absent): the relay picks a port from its range. */
	{ "remote_port", CFG_T_PORT, 0, "0", 0, 65535,
	    SERVICE_OFF(remote_port), NULL, NULL },
	/* Per service: an idle ssh session is normal, an idle web request
	 * is not.  0: streams may stay idle for ever. */
	{ "idle_timeout", CFG_T_DURATION, 0, "0", 0, 24 * 3600 * 1000,
	    SERVICE_OFF(idle_timeout_ms), NULL, NULL },
	/* false: reached only through the relay by agents granted it. */
	{ "public", CFG_T_FUNC, 0, NULL, 0, 0, 0, NULL, cfg_agent_public },
	/* Several agents serve OWNER/NAME under one name (high
	 * availability); the relay must grant each of them. */
	{ "group", CFG_T_ID, 0, NULL, 0, 0, SERVICE_OFF(group), NULL, NULL },
	{ NULL, 0, 0, NULL, 0, 0, 0, NULL, NULL },
};

/* forwards[i]: one local listener. */
static const struct cfg_key cfg_agent_forward_keys[] = {
	{ "listen", CFG_T_ADDR, CFG_REQUIRED, NULL, 0, 0,
	    FORWARD_OFF(listen), NULL, NULL },
	{ "to", CFG_T_FUNC, CFG_REQUIRED, NULL, 0, 0, 0, NULL, cfg_agent_to },
	{ NULL, 0, 0, NULL, 0, 0, 0, NULL, NULL },
};

/* services[].public: true or false (YAML's other spellings are refused:
 * one spelling each). */
static int
cfg_agent_public(struct cfg_walk *w, const struct cfg_key *k,
    const struct cfg_node *n, void *obj)
{
	struct agent_service *svc = obj;
	const char *text;
	char q[80];

	(void)k;
	if (cfg_walk_scalar(w, n, "true or false", &text) != 0)
		return -1;
	if (strcmp(text, "true") == 0)
		svc->private = 0;
	else if (strcmp(text, "false") == 0)
		svc->private = 1;
	else
		return cfg_walk_error(w, n, "%s is not true or false",
		    cfg_quote(text, q, sizeof(q)));
	return 0;
}

/* forwards[].to: "OWNER/SERVICE". */
static int
cfg_agent_to(struct cfg_walk *w, const struct cfg_key *k,
    const struct cfg_node *n, void *obj)
{
	struct agent_forward *f = obj;
	const char *text;
	char q[80];

	(void)k;
	if (cfg_walk_scalar(w, n, "OWNER/SERVICE", &text) != 0)
		return -1;
	if (!cfg_valid_private(text))
		return cfg_walk_error(w, n, "%s is not OWNER/SERVICE (two "
		    "identities joined by '/', at most %d in all)",
		    cfg_quote(text, q, sizeof(q)), CFG_ADDR_NAME_MAX);
	snprintf(f->to, sizeof(f->to), "%s", text);
	return 0;
}

static int
cfg_agent_forwards(struct cfg_walk *w, const struct cfg_key *k,
    const struct cfg_node *n, void *obj)
{
	struct agent_config *c = obj;
	size_t i, saved;
	int r = -1;

	(void)k;
	if (cfg_walk_expect(w, n, CFG_NODE_SEQ) != 0)
		goto out;
	if (cfg_node_is_null(n) || n->nkids == 0) {
		r = 0;
		goto out;
	}
	if (n->nkids > AGENT_FORWARDS_MAX) {
		cfg_walk_error(w, n, "too many forwards (max %d)",
		    AGENT_FORWARDS_MAX);
		goto out;
	}
	if ((c->forwards = calloc(n->nkids, sizeof(*c->forwards))) == NULL) {
		cfg_walk_error(w, n, "out of memory");
		goto out;
	}
	for (i = 0; i < n->nkids; i++) {
		saved = cfg_walk_push_index(w, i);
		if (n->kids[i]->type != CFG_NODE_MAP) {
			cfg_walk_error(w, n->kids[i], "expected a mapping, not "
			    "a %s", cfg_node_type_name(n->kids[i]));
			goto out;
		}
		if (cfg_walk_map(w, n->kids[i], n->kids[i],
		    cfg_agent_forward_keys, &c->forwards[i]) != 0)
			goto out;
		c->nforwards++;
		cfg_walk_pop(w, saved);
	}
	r = 0;
out:
	return r;
}

static int
cfg_agent_services(struct cfg_walk *w, const struct cfg_key *k,
    const struct cfg_node *n, void *obj)
{
	struct agent_config *c = obj;
	size_t i, saved;
	int r = -1;

	(void)k;
	if (cfg_walk_expect(w, n, CFG_NODE_SEQ) != 0)
		goto out;
	if (cfg_node_is_null(n) || n->nkids == 0) {
		cfg_walk_error(w, n, "at least one service is needed");
		goto out;
	}
	if (n->nkids > AGENT_SERVICES_MAX) {
		cfg_walk_error(w, n, "too many services (max %d)",
		    AGENT_SERVICES_MAX);
		goto out;
	}
	if ((c->services = calloc(n->nkids, sizeof(*c->services))) == NULL) {
		cfg_walk_error(w, n, "out of memory");
		goto out;
	}
	for (i = 0; i < n->nkids; i++) {
		saved = cfg_walk_push_index(w, i);
		/* A null item is not a service: expect a real mapping. */
		if (n->kids[i]->type != CFG_NODE_MAP) {
			cfg_walk_error(w, n->kids[i], "expected a mapping, not "
			    "a %s", cfg_node_type_name(n->kids[i]));
			goto out;
		}
		if (cfg_walk_map(w, n->kids[i], n->kids[i],
		    cfg_agent_service_keys, &c->services[i]) != 0)
			goto out;
		c->nservices++;
		cfg_walk_pop(w, saved);
	}
	r = 0;
out:
	return r;
}

/* Error about services[i].key (its node, or the service's when absent). */
static int
cfg_agent_service_error(struct cfg_walk *w, const struct cfg_node *root,
    size_t i, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int
cfg_agent_service_error(struct cfg_walk *w, const struct cfg_node *root,
    size_t i, const char *key, const char *fmt, ...)
{
	const struct cfg_node *item, *n;
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	item = cfg_node_get(root, "services")->kids[i];
	if ((n = cfg_node_get(item, key)) == NULL)
		n = item;
	cfg_walk_pop(w, 0);
	cfg_walk_push(w, "services");
	cfg_walk_push_index(w, i);
	cfg_walk_push(w, key);
	return cfg_walk_error(w, n, "%s", msg);
}

/* Names unique; non-zero remote ports unique; targets dialable. */
static int
cfg_agent_check_services(struct cfg_walk *w, const struct cfg_node *root,
    const struct agent_config *c)
{
	const struct agent_service *s, *o;
	char reg[CFG_ID_MAX + CFG_NAME_MAX + 2];
	size_t i, j;
	int r = -1;

	/* At most AGENT_SERVICES_MAX services: quadratic is bounded. */
	for (i = 0; i < c->nservices; i++) {
		s = &c->services[i];
		if (s->target.any) {
			cfg_agent_service_error(w, root, i, "target", "a target "
			    "cannot be a wildcard (*)");
			goto out;
		}
		if (s->private && s->remote_port != 0) {
			cfg_agent_service_error(w, root, i, "remote_port",
			    "a private service (public: false) has no public "
			    "port");
			goto out;
		}
		if (!s->private && s->group[0] != '\0') {
			cfg_agent_service_error(w, root, i, "group", "a group "
			    "is for private services (add public: false)");
			goto out;
		}
		if (s->private && !cfg_valid_private(cfg_agent_reg_name(c, s,
		    reg, sizeof(reg)))) {
			cfg_agent_service_error(w, root, i, "name", "private "
			    "address %s/%s is longer than %d bytes",
			    s->group[0] ? s->group : c->id, s->name,
			    CFG_ADDR_NAME_MAX);
			goto out;
		}
		for (j = 0; j < i; j++) {
			o = &c->services[j];
			if (strcmp(o->name, s->name) == 0) {
				cfg_agent_service_error(w, root, i, "name",
				    "duplicate service name \"%s\" (also "
				    "services[%zu])", s->name, j);
				goto out;
			}
			if (s->remote_port != 0 &&
			    o->remote_port == s->remote_port) {
				cfg_agent_service_error(w, root, i,
				    "remote_port", "duplicate remote_port %u "
				    "(also services[%zu])", s->remote_port, j);
				goto out;
			}
		}
	}
	r = 0;
out:
	return r;
}

/* Something to do (a service or a forward); listen addresses unique. */
static int
cfg_agent_check_forwards(struct cfg_walk *w, const struct cfg_node *root,
    const struct agent_config *c)
{
	const struct cfg_node *fw = cfg_node_get(root, "forwards");
	const struct agent_forward *f, *o;
	char a[300];
	size_t i, j;

	if (c->nservices == 0 && c->nforwards == 0) {
		cfg_walk_push(w, "services");
		return cfg_walk_error(w, root, "missing: at least one service "
		    "or forward is needed");
	}
	/* At most AGENT_FORWARDS_MAX forwards: quadratic is bounded. */
	for (i = 0; i < c->nforwards; i++) {
		f = &c->forwards[i];
		/* A listener binds before any resolver runs: say so at -t
		 * rather than at start. */
		if (!f->listen.any && !cfg_valid_ip(f->listen.host)) {
			cfg_walk_pop(w, 0);
			cfg_walk_push(w, "forwards");
			cfg_walk_push_index(w, i);
			cfg_walk_push(w, "listen");
			return cfg_walk_error(w, cfg_node_get(fw->kids[i],
			    "listen"), "listen on a numeric address (e.g. "
			    "127.0.0.1:%u), not a host name", f->listen.port);
		}
		for (j = 0; j < i; j++) {
			o = &c->forwards[j];
			if (strcmp(o->listen.host, f->listen.host) != 0 ||
			    o->listen.port != f->listen.port ||
			    o->listen.any != f->listen.any)
				continue;
			cfg_walk_pop(w, 0);
			cfg_walk_push(w, "forwards");
			cfg_walk_push_index(w, i);
			cfg_walk_push(w, "listen");
			return cfg_walk_error(w, cfg_node_get(fw->kids[i],
			    "listen"), "duplicate listen address %s (also "
			    "forwards[%zu])", cfg_addr_str(&f->listen, a,
			    sizeof(a)), j);
		}
	}
	return 0;
}

/*
 * A certificate needs its key and the other way round; with neither, a
 * token must stand in, or the relay has nothing to authenticate.
 */
static int
cfg_agent_creds(struct cfg_walk *w, const struct cfg_node *root,
    const struct agent_config *c)
{
	const struct cfg_node *tls = cfg_node_get(root, "tls");
	const struct cfg_node *n;
	size_t saved;
	int r = 0;

	if (c->tls_cert != NULL && c->tls_key == NULL) {
		saved = cfg_walk_push(w, "tls.key");
		r = cfg_walk_error(w, tls, "missing (tls.cert needs its key)");
	} else if (c->tls_key != NULL && c->tls_cert == NULL) {
		saved = cfg_walk_push(w, "tls.cert");
		r = cfg_walk_error(w, tls, "missing (tls.key needs its "
		    "certificate)");
	} else if (c->tls_cert == NULL && c->tls_token_file == NULL) {
		n = cfg_node_is_null(tls) ? root : tls;
		saved = cfg_walk_push(w, "tls");
		r = cfg_walk_error(w, n, "no credential: set tls.cert and "
		    "tls.key, or tls.token_file");
	} else
		return 0;
	cfg_walk_pop(w, saved);
	return r;
}

/* Checks across keys, after every key has its value. */
static int
cfg_agent_check(struct cfg_walk *w, const struct cfg_node *root,
    struct agent_config *c)
{
	const struct cfg_node *limits = cfg_node_get(root, "limits");
	int r = -1;

	if (c->relay.any) {
		cfg_walk_push(w, "relay");
		cfg_walk_error(w, cfg_node_get(root, "relay"), "the relay "
		    "address cannot be a wildcard (*)");
		goto out;
	}
	if (cfg_walk_order(w, cfg_node_get(root, "reconnect"), "reconnect",
	    "initial", c->reconnect_initial_ms, "max", c->reconnect_max_ms,
	    CFG_ORDER_DURATION, 0) != 0 ||
	    cfg_walk_order(w, limits, "limits", "stream_window",
	    c->stream_window, "tunnel_window", c->tunnel_window,
	    CFG_ORDER_SIZE, 1) != 0 ||
	    cfg_walk_order(w, limits, "limits", "stream_window",
	    c->stream_window, "stream_window_max", c->stream_window_max,
	    CFG_ORDER_SIZE, 1) != 0 ||
	    cfg_walk_order(w, limits, "limits", "max_frame", c->max_frame,
	    "tunnel_buffer", c->tunnel_buffer, CFG_ORDER_SIZE, 1) != 0 ||
	    cfg_agent_check_services(w, root, c) != 0 ||
	    cfg_agent_check_forwards(w, root, c) != 0 ||
	    cfg_agent_creds(w, root, c) != 0)
		goto out;
	r = 0;
out:
	return r;
}

/* Walk a parsed document; name is the file name used in messages. */
static int
cfg_agent_tree(const char *name, const char *dir, const struct cfg_node *root,
    struct agent_config **out, char *err, size_t errlen)
{
	struct agent_config *c = NULL;
	struct cfg_walk w;
	int r = -1;

	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->path = strdup(name)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", name);
		goto out;
	}
	cfg_walk_init(&w, name, dir, err, errlen);
	if (cfg_walk_map(&w, root, root, cfg_agent_top, c) != 0 ||
	    cfg_agent_check(&w, root, c) != 0)
		goto out;
	if (c->tls_server_name == NULL &&
	    (c->tls_server_name = strdup(c->relay.host)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", name);
		goto out;
	}
	*out = c;
	c = NULL;
	r = 0;
out:
	cfg_agent_free(c);
	return r;
}

int
cfg_agent_load(const char *path, struct agent_config **out, char *err,
    size_t errlen)
{
	struct cfg_node *root = NULL;
	char dir[PATH_MAX];
	int r = -1;

	*out = NULL;
	if (cfg_yaml_load(path, &root, err, errlen) != 0)
		goto out;
	if (cfg_walk_dirname(path, dir, sizeof(dir)) != 0) {
		snprintf(err, errlen, "%s: cannot resolve its folder", path);
		goto out;
	}
	r = cfg_agent_tree(path, dir, root, out, err, errlen);
out:
	cfg_node_free(root);
	return r;
}

int
cfg_agent_parse(const char *name, const char *buf, size_t len,
    const char *dir, struct agent_config **out, char *err, size_t errlen)
{
	struct cfg_node *root = NULL;
	int r = -1;

	*out = NULL;
	if (cfg_yaml_parse(name, buf, len, &root, err, errlen) != 0)
		goto out;
	r = cfg_agent_tree(name, dir, root, out, err, errlen);
out:
	cfg_node_free(root);
	return r;
}

void
cfg_agent_free(struct agent_config *c)
{
	if (c == NULL)
		return;
	free(c->services);
	free(c->forwards);
	free(c->path);
	free(c->tls_cert);
	free(c->tls_key);
	free(c->tls_token_file);
	free(c->tls_ca);
	free(c->tls_server_name);
	cfg_admin_clear(&c->admin);
	free(c);
}

const struct agent_service *
cfg_agent_service(const struct agent_config *c, const char *name)
{
	const struct agent_service *s = NULL;
	size_t i;

	for (i = 0; i < c->nservices && s == NULL; i++) {
		if (strcmp(c->services[i].name, name) == 0)
			s = &c->services[i];
	}
	return s;
}

char *
cfg_agent_reg_name(const struct agent_config *c, const struct agent_service *s,
    char *buf, size_t len)
{
	if (!s->private)
		snprintf(buf, len, "%s", s->name);
	else
		snprintf(buf, len, "%s/%s", s->group[0] ? s->group : c->id,
		    s->name);
	return buf;
}

const struct agent_service *
cfg_agent_service_reg(const struct agent_config *c, const char *name)
{
	char reg[CFG_ID_MAX + CFG_NAME_MAX + 2];
	size_t i;

	for (i = 0; i < c->nservices; i++) {
		if (strcmp(cfg_agent_reg_name(c, &c->services[i], reg,
		    sizeof(reg)), name) == 0)
			return &c->services[i];
	}
	return NULL;
}
