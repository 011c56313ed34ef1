/*
 * cfg_relay.c — relay.yaml: the key table, the agents: policy section and the
 * checks across keys.  The reading itself is cfg_yaml.c's.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg.h"
#include "cfg_relay.h"
#include "cfg_walk.h"
#include "cfg_yaml.h"
#include "log.h"

#define RELAY_OFF(f)	offsetof(struct relay_config, f)
#define RELAY_ES256_MAX	64	/* keys in auth.jwt.es256_public_keys */

static int cfg_relay_port_range(struct cfg_walk *, const struct cfg_key *,
    const struct cfg_node *, void *);
static int cfg_relay_agents(struct cfg_walk *, const struct cfg_key *,
    const struct cfg_node *, void *);
static int cfg_relay_connect(struct cfg_walk *, const struct cfg_key *,
    const struct cfg_node *, void *);
static int cfg_relay_expose(struct cfg_walk *, const struct cfg_key *,
    const struct cfg_node *, void *);
static int cfg_relay_ports(struct cfg_walk *, const struct cfg_key *,
    const struct cfg_node *, void *);
static int cfg_relay_es256_keys(struct cfg_walk *, const struct cfg_key *,
    const struct cfg_node *, void *);
static int cfg_relay_admin(struct cfg_walk *, const struct cfg_key *,
    const struct cfg_node *, void *);

static const struct cfg_key cfg_relay_tls[] = {
	{ "cert", CFG_T_PATH, CFG_REQUIRED, NULL, 0, 0,
	    RELAY_OFF(tls_cert), NULL, NULL },
	{ "key", CFG_T_PATH, CFG_REQUIRED, NULL, 0, 0,
	    RELAY_OFF(tls_key), NULL, NULL },
	{ "ca", CFG_T_PATH, CFG_REQUIRED, NULL, 0, 0,
	    RELAY_OFF(tls_ca), NULL, NULL },
	{ "crl", CFG_T_PATH, 0, NULL, 0, 0,
	    RELAY_OFF(tls_crl), NULL, NULL },
	{ NULL, 0, 0, NULL, 0, 0, 0, NULL, NULL },
};

static const struct cfg_key cfg_relay_public[] = {
	{ "bind", CFG_T_IP, 0, "0.0.0.0", 0, 0,
	    RELAY_OFF(public_bind), NULL, NULL },
	{ "port_range", CFG_T_FUNC, CFG_REQUIRED, NULL, 0, 0,
	    0, NULL, cfg_relay_port_range },
	{ NULL, 0, 0, NULL, 0, 0, 0, NULL, NULL },
};

static const struct cfg_key cfg_relay_limits[] = {
	{ "max_streams_per_agent", CFG_T_UINT, 0, "4096", 1, 1000000,
	    RELAY_OFF(max_streams_per_agent), NULL, NULL },
	/* One busy service cannot take every stream of its tunnel.  The
	 * default is lowered to max_streams_per_agent when that is smaller,
	 * so a file that sets only the older key still loads. */
	{ "streams_per_service", CFG_T_UINT, 0, "256", 1, 1000000,
	    RELAY_OFF(streams_per_service), NULL, NULL },
	/* Without a cap one identity could hold every port of the range. */
	{ "ports_per_agent", CFG_T_UINT, 0, "16", 0, 65535,
	    RELAY_OFF(ports_per_agent), NULL, NULL },
	{ "auto_ports_per_agent", CFG_T_UINT, 0, "4", 0, 65535,
	    RELAY_OFF(auto_ports_per_agent), NULL, NULL },
	{ "stream_window", CFG_T_SIZE, 0, "512KiB", 16 * 1024,
	    16 * 1024 * 1024, RELAY_OFF(stream_window), NULL, NULL },
	/* Auto-tuning grows a fast stream's window up to this, no further. */
	{ "stream_window_max", CFG_T_SIZE, 0, "16MiB", 16 * 1024,
	    1024 * 1024 * 1024, RELAY_OFF(stream_window_max), NULL, NULL },
	{ "tunnel_window", CFG_T_SIZE, 0, "32MiB", 16 * 1024,
	    1024 * 1024 * 1024, RELAY_OFF(tunnel_window), NULL, NULL },
	/* The memory one tunnel may pin in the relay, whatever its peers
	 * do: below 256KiB a single tunnel could not keep a link busy. */
	{ "tunnel_buffer", CFG_T_SIZE, 0, "8MiB", 256 * 1024,
	    1024 * 1024 * 1024, RELAY_OFF(tunnel_buffer), NULL, NULL },
	{ "max_frame", CFG_T_SIZE, 0, "128KiB", 1024, 1024 * 1024,
	    RELAY_OFF(max_frame), NULL, NULL },
	{ "max_agents", CFG_T_UINT, 0, "1024", 1, 100000,
	    RELAY_OFF(max_agents), NULL, NULL },
	/* Streams an agent may open at once (forwards to private services):
	 * what the relay's HELLO advertises as max_streams. */
	{ "forward_streams", CFG_T_UINT, 0, "256", 0, 1000000,
	    RELAY_OFF(forward_streams), NULL, NULL },
	/* Handshakes cost CPU before anyone is authenticated: cap them, as
	 * sshd's MaxStartups does. */
	{ "handshakes", CFG_T_UINT, 0, "64", 1, 100000,
	    RELAY_OFF(handshakes), NULL, NULL },
	{ "connections_per_source", CFG_T_UINT, 0, "32", 0, 1000000,
	    RELAY_OFF(connections_per_source), NULL, NULL },
	{ NULL, 0, 0, NULL, 0, 0, 0, NULL, NULL },
};

static const struct cfg_key cfg_relay_timeouts[] = {
	{ "handshake", CFG_T_DURATION, 0, "10s", 100, 3600 * 1000,
	    RELAY_OFF(handshake_timeout_ms), NULL, NULL },
	{ "shutdown", CFG_T_DURATION, 0, "10s", 0, 3600 * 1000,
	    RELAY_OFF(shutdown_timeout_ms), NULL, NULL },
	{ "port_grace", CFG_T_DURATION, 0, "60s", 0, 24 * 3600 * 1000,
	    RELAY_OFF(port_grace_ms), NULL, NULL },
	/* A reader that stops reading pins its stream's buffers forever;
	 * so does a peer that half-closes and then goes quiet.  0: off. */
	{ "stall", CFG_T_DURATION, 0, "120s", 0, 24 * 3600 * 1000,
	    RELAY_OFF(stall_timeout_ms), NULL, NULL },
	{ "half_closed", CFG_T_DURATION, 0, "60s", 0, 24 * 3600 * 1000,
	    RELAY_OFF(half_closed_timeout_ms), NULL, NULL },
	/* Idle streams are legitimate (ssh, databases): off by default. */
	{ "idle", CFG_T_DURATION, 0, "0", 0, 24 * 3600 * 1000,
	    RELAY_OFF(idle_timeout_ms), NULL, NULL },
	{ NULL, 0, 0, NULL, 0, 0, 0, NULL, NULL },
};

static const struct cfg_key cfg_relay_keepalive[] = {
	{ "interval", CFG_T_DURATION, 0, "15s", 100, 3600 * 1000,
	    RELAY_OFF(ping_interval_ms), NULL, NULL },
	{ "misses", CFG_T_UINT, 0, "3", 1, 100,
	    RELAY_OFF(ping_misses), NULL, NULL },
	{ NULL, 0, 0, NULL, 0, 0, 0, NULL, NULL },
};

static const struct cfg_key cfg_relay_log[] = {
	{ "level", CFG_T_LOGLEVEL, 0, "info", 0, 0,
	    RELAY_OFF(log_level), NULL, NULL },
	{ NULL, 0, 0, NULL, 0, 0, 0, NULL, NULL },
};

/* auth.jwt: tokens instead of client certificates (common/auth/jwt.h). */
static const struct cfg_key cfg_relay_jwt[] = {
	{ "hs256_secret_file", CFG_T_PATH, 0, NULL, 0, 0,
	    RELAY_OFF(jwt.hs256_secret_file), NULL, NULL },
	{ "es256_public_keys", CFG_T_FUNC, 0, NULL, 0, 0, 0, NULL,
	    cfg_relay_es256_keys },
	{ "issuer", CFG_T_STRING, 0, NULL, 0, 0,
	    RELAY_OFF(jwt.issuer), NULL, NULL },
	{ "audience", CFG_T_STRING, 0, NULL, 0, 0,
	    RELAY_OFF(jwt.audience), NULL, NULL },
	/* Clocks of issuer and relay disagree a little; an hour would make
	 * exp meaningless for short-lived tokens. */
	{ "leeway", CFG_T_DURATION, 0, "60s", 0, 3600 * 1000,
	    RELAY_OFF(jwt.leeway_ms), NULL, NULL },
	{ "denylist", CFG_T_PATH, 0, NULL, 0, 0,
	    RELAY_OFF(jwt.denylist), NULL, NULL },
	{ NULL, 0, 0, NULL, 0, 0, 0, NULL, NULL },
};

static const struct cfg_key cfg_relay_auth[] = {
	{ "jwt", CFG_T_MAP, 0, NULL, 0, 0, 0, cfg_relay_jwt, NULL },
	{ NULL, 0, 0, NULL, 0, 0, 0, NULL, NULL },
};

static const struct cfg_key cfg_relay_top[] = {
	{ "listen", CFG_T_ADDR, CFG_REQUIRED, NULL, 0, 0,
	    RELAY_OFF(listen), NULL, NULL },
	{ "tls", CFG_T_MAP, CFG_REQUIRED, NULL, 0, 0, 0, cfg_relay_tls, NULL },
	{ "public", CFG_T_MAP, CFG_REQUIRED, NULL, 0, 0, 0, cfg_relay_public,
	    NULL },
	{ "agents", CFG_T_FUNC, 0, NULL, 0, 0, 0, NULL, cfg_relay_agents },
	{ "limits", CFG_T_MAP, 0, NULL, 0, 0, 0, cfg_relay_limits, NULL },
	{ "timeouts", CFG_T_MAP, 0, NULL, 0, 0, 0, cfg_relay_timeouts, NULL },
	{ "keepalive", CFG_T_MAP, 0, NULL, 0, 0, 0, cfg_relay_keepalive,
	    NULL },
	{ "workers", CFG_T_WORKERS, 0, "auto", 1, 64,
	    RELAY_OFF(workers), NULL, NULL },
	{ "log", CFG_T_MAP, 0, NULL, 0, 0, 0, cfg_relay_log, NULL },
	{ "auth", CFG_T_MAP, 0, NULL, 0, 0, 0, cfg_relay_auth, NULL },
	{ "admin", CFG_T_FUNC, 0, NULL, 0, 0, 0, NULL, cfg_relay_admin },
	{ NULL, 0, 0, NULL, 0, 0, 0, NULL, NULL },
};

/* admin: the section both daemons share (cfg_admin.h). */
static int
cfg_relay_admin(struct cfg_walk *w, const struct cfg_key *k,
    const struct cfg_node *n, void *obj)
{
	(void)k;
	return cfg_admin_walk(w, n, &((struct relay_config *)obj)->admin);
}

/* agents.<id>: the policy of one identity. */
static const struct cfg_key cfg_relay_policy_keys[] = {
	{ "ports", CFG_T_FUNC, CFG_REQUIRED, NULL, 0, 0, 0, NULL,
	    cfg_relay_ports },
	/* A listed identity gets no port it was not given: automatic ones
	 * only when granted here. */
	{ "auto", CFG_T_UINT, 0, "0", 0, 65535,
	    offsetof(struct relay_policy, auto_ports), NULL, NULL },
	/* Private services: none may be reached without a grant. */
	{ "connect", CFG_T_FUNC, 0, NULL, 0, 0, 0, NULL, cfg_relay_connect },
	{ "expose", CFG_T_FUNC, 0, NULL, 0, 0, 0, NULL, cfg_relay_expose },
	{ NULL, 0, 0, NULL, 0, 0, 0, NULL, NULL },
};

static int
cfg_relay_port_range(struct cfg_walk *w, const struct cfg_key *k,
    const struct cfg_node *n, void *obj)
{
	struct relay_config *c = obj;
	const char *text;
	char reason[256];
	int r = -1;

	(void)k;
	if (cfg_walk_scalar(w, n, "a port range (start-end)", &text) != 0)
		goto out;
	if (cfg_parse_port_range(text, &c->port_min, &c->port_max, reason,
	    sizeof(reason)) != 0) {
		cfg_walk_error(w, n, "%s", reason);
		goto out;
	}
	r = 0;
out:
	return r;
}

#define PORT_SET(set, p)	((set)[(p) / 8] |= (uint8_t)(1U << ((p) % 8)))
#define PORT_ISSET(set, p)	(((set)[(p) / 8] >> ((p) % 8)) & 1U)

/* agents.<id>.ports: a sequence of distinct ports 1..65535. */
static int
cfg_relay_ports(struct cfg_walk *w, const struct cfg_key *k,
    const struct cfg_node *n, void *obj)
{
	struct relay_policy *p = obj;
	const struct cfg_node *item;
	uint8_t seen[65536 / 8];
	const char *text;
	char q[80];
	uint64_t v;
	size_t i, saved;
	int r = -1;

	(void)k;
	if (cfg_walk_expect(w, n, CFG_NODE_SEQ) != 0)
		goto out;
	if (cfg_node_is_null(n) || n->nkids == 0) {
		r = 0;
		goto out;
	}
	if ((p->ports = calloc(n->nkids, sizeof(*p->ports))) == NULL) {
		cfg_walk_error(w, n, "out of memory");
		goto out;
	}
	memset(seen, 0, sizeof(seen));
	for (i = 0; i < n->nkids; i++) {
		item = n->kids[i];
		saved = cfg_walk_push_index(w, i);
		if (cfg_walk_scalar(w, item, "a port number", &text) != 0)
			goto out;
		if (text[strspn(text, "0123456789")] != '\0') {
			cfg_walk_error(w, item, "%s is not a port number",
			    cfg_quote(text, q, sizeof(q)));
			goto out;
		}
		/* All digits: a failure can only be an overflow. */
		if (cfg_parse_uint(text, 65535, &v, NULL, 0) != 0 || v == 0) {
			cfg_walk_error(w, item, "port %.20s out of range "
			    "1..65535", text);
			goto out;
		}
		if (PORT_ISSET(seen, v)) {
			cfg_walk_error(w, item, "port %u listed twice",
			    (unsigned)v);
			goto out;
		}
		PORT_SET(seen, v);
		p->ports[p->nports++] = (uint16_t)v;
		cfg_walk_pop(w, saved);
	}
	r = 0;
out:
	return r;
}

#define CFG_RELAY_GRANTS_MAX	1024

/* A list of private services: "OWNER/SERVICE" (or, for expose, a bare
 * SERVICE of the identity itself), each once. */
static int
cfg_relay_grants(struct cfg_walk *w, const struct cfg_node *n, int bare_ok,
    char ***list, size_t *nlist)
{
	const struct cfg_node *item;
	const char *text;
	char q[80];
	size_t i, j, saved;
	int r = -1;

	if (cfg_walk_expect(w, n, CFG_NODE_SEQ) != 0)
		goto out;
	if (cfg_node_is_null(n) || n->nkids == 0) {
		r = 0;
		goto out;
	}
	if (n->nkids > CFG_RELAY_GRANTS_MAX) {
		cfg_walk_error(w, n, "too many entries (max %d)",
		    CFG_RELAY_GRANTS_MAX);
		goto out;
	}
	if ((*list = calloc(n->nkids, sizeof(**list))) == NULL) {
		cfg_walk_error(w, n, "out of memory");
		goto out;
	}
	for (i = 0; i < n->nkids; i++) {
		item = n->kids[i];
		saved = cfg_walk_push_index(w, i);
		if (cfg_walk_scalar(w, item, "OWNER/SERVICE", &text) != 0)
			goto out;
		if (!cfg_valid_private(text) && !(bare_ok &&
		    strchr(text, '/') == NULL && cfg_valid_id(text) &&
		    strlen(text) <= CFG_NAME_MAX)) {
			cfg_walk_error(w, item, "%s is not OWNER/SERVICE (two "
			    "identities joined by '/', at most %d in all)",
			    cfg_quote(text, q, sizeof(q)), CFG_ADDR_NAME_MAX);
			goto out;
		}
		for (j = 0; j < *nlist; j++) {
			if (strcmp((*list)[j], text) == 0) {
				cfg_walk_error(w, item, "%s listed twice",
				    cfg_quote(text, q, sizeof(q)));
				goto out;
			}
		}
		if (((*list)[*nlist] = strdup(text)) == NULL) {
			cfg_walk_error(w, item, "out of memory");
			goto out;
		}
		(*nlist)++;
		cfg_walk_pop(w, saved);
	}
	r = 0;
out:
	return r;
}

/* agents.<id>.connect: the private services the identity may reach. */
static int
cfg_relay_connect(struct cfg_walk *w, const struct cfg_key *k,
    const struct cfg_node *n, void *obj)
{
	struct relay_policy *p = obj;

	(void)k;
	return cfg_relay_grants(w, n, 0, &p->connect, &p->nconnect);
}

/* agents.<id>.expose: the private services the identity may serve. */
static int
cfg_relay_expose(struct cfg_walk *w, const struct cfg_key *k,
    const struct cfg_node *n, void *obj)
{
	struct relay_policy *p = obj;

	(void)k;
	p->expose_set = 1;
	return cfg_relay_grants(w, n, 1, &p->expose, &p->nexpose);
}

/*
 * auth.jwt.es256_public_keys: a sequence of PEM files, made absolute like
 * every path (the keys are parsed when the relay starts, as certificates).
 */
static int
cfg_relay_es256_keys(struct cfg_walk *w, const struct cfg_key *k,
    const struct cfg_node *n, void *obj)
{
	struct relay_config *c = obj;
	const struct cfg_node *item;
	const char *text;
	char buf[PATH_MAX];
	size_t i, saved;
	int r = -1;

	(void)k;
	if (cfg_walk_expect(w, n, CFG_NODE_SEQ) != 0)
		goto out;
	if (cfg_node_is_null(n) || n->nkids == 0) {
		cfg_walk_error(w, n, "at least one key file is needed");
		goto out;
	}
	if (n->nkids > RELAY_ES256_MAX) {
		cfg_walk_error(w, n, "too many keys (max %d)", RELAY_ES256_MAX);
		goto out;
	}
	if ((c->jwt.es256_keys = calloc(n->nkids,
	    sizeof(*c->jwt.es256_keys))) == NULL) {
		cfg_walk_error(w, n, "out of memory");
		goto out;
	}
	for (i = 0; i < n->nkids; i++) {
		item = n->kids[i];
		saved = cfg_walk_push_index(w, i);
		if (cfg_walk_scalar(w, item, "a path", &text) != 0)
			goto out;
		if (text[0] != '/' && (size_t)snprintf(buf, sizeof(buf),
		    "%s/%s", w->dir, text) >= sizeof(buf)) {
			cfg_walk_error(w, item, "path too long");
			goto out;
		}
		if ((c->jwt.es256_keys[i] = strdup(text[0] == '/' ? text :
		    buf)) == NULL) {
			cfg_walk_error(w, item, "out of memory");
			goto out;
		}
		c->jwt.nes256_keys++;
		cfg_walk_pop(w, saved);
	}
	r = 0;
out:
	return r;
}

int
cfg_relay_secret_read(const char *path, uint8_t *buf, size_t size,
    size_t *len, char *err, size_t errlen)
{
	struct stat st;
	ssize_t n;
	size_t got = 0, raw;
	int fd = -1, r = -1;

	*len = 0;
	if ((fd = open(path, O_RDONLY | O_NOCTTY | O_CLOEXEC)) == -1 ||
	    fstat(fd, &st) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		goto out;
	}
	/* Whoever reads the secret can mint tokens: as strict as a key. */
	if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
		snprintf(err, errlen, "%s: permissions %04o are too open "
		    "(group or others may access it); chmod 600 it", path,
		    (unsigned)(st.st_mode & 07777));
		goto out;
	}
	/* Room for a newline and one byte more than allowed tells "too
	 * long" from "just right". */
	if (size < CFG_SECRET_BUF) {
		snprintf(err, errlen, "%s: internal error: buffer too small",
		    path);
		goto out;
	}
	while (got < size) {
		if ((n = read(fd, buf + got, size - got)) == -1) {
			if (errno == EINTR)
				continue;
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	raw = got;
	if (got > 0 && buf[got - 1] == '\n')
		got--;
	if (got > 0 && buf[got - 1] == '\r')
		got--;
	if (raw == size || got > CFG_SECRET_MAX) {
		snprintf(err, errlen, "%s: secret longer than %d bytes", path,
		    CFG_SECRET_MAX);
		goto out;
	}
	if (got < CFG_SECRET_MIN) {
		snprintf(err, errlen, "%s: secret of %zu bytes, at least %d "
		    "are needed (atlax-pki keygen --hs256 makes one)", path,
		    got, CFG_SECRET_MIN);
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

/* auth.jwt: at least one key, and a secret long enough to resist guessing. */
static int
cfg_relay_check_jwt(struct cfg_walk *w, const struct cfg_node *root,
    struct relay_config *c)
{
	const struct cfg_node *jwt, *n;
	uint8_t *secret = NULL;
	char reason[PATH_MAX + 128];
	size_t len, saved;
	int r = -1;

	jwt = cfg_node_get(cfg_node_get(root, "auth"), "jwt");
	if (jwt == NULL || cfg_node_is_null(jwt)) {
		r = 0;
		goto out;
	}
	if (c->jwt.hs256_secret_file == NULL && c->jwt.nes256_keys == 0) {
		saved = cfg_walk_push(w, "auth.jwt");
		cfg_walk_error(w, jwt, "needs hs256_secret_file or "
		    "es256_public_keys");
		cfg_walk_pop(w, saved);
		goto out;
	}
	if (c->jwt.hs256_secret_file != NULL) {
		if ((secret = malloc(CFG_SECRET_BUF)) == NULL) {
			cfg_walk_error(w, NULL, "out of memory");
			goto out;
		}
		if (cfg_relay_secret_read(c->jwt.hs256_secret_file, secret,
		    CFG_SECRET_BUF, &len, reason, sizeof(reason)) != 0) {
			n = cfg_node_get(jwt, "hs256_secret_file");
			saved = cfg_walk_push(w, "auth.jwt.hs256_secret_file");
			cfg_walk_error(w, n, "%s", reason);
			cfg_walk_pop(w, saved);
			goto out;
		}
	}
	c->jwt.enabled = 1;
	r = 0;
out:
	if (secret != NULL) {
		explicit_bzero(secret, CFG_SECRET_BUF);
		free(secret);
	}
	return r;
}

/* agents: a mapping from identity to policy. */
static int
cfg_relay_agents(struct cfg_walk *w, const struct cfg_key *k,
    const struct cfg_node *n, void *obj)
{
	struct relay_config *c = obj;
	struct relay_policy *p;
	const struct cfg_node *key;
	char q[80];
	size_t i, saved;
	int r = -1;

	(void)k;
	if (cfg_walk_expect(w, n, CFG_NODE_MAP) != 0)
		goto out;
	if (cfg_node_is_null(n) || n->nkids == 0) {
		r = 0;
		goto out;
	}
	if ((c->agents = calloc(n->nkids / 2, sizeof(*c->agents))) == NULL) {
		cfg_walk_error(w, n, "out of memory");
		goto out;
	}
	for (i = 0; i + 1 < n->nkids; i += 2) {
		key = n->kids[i];
		saved = cfg_walk_push(w, key->str);
		if (cfg_walk_dup(w, n, i) != 0)
			goto out;
		if (!cfg_valid_id(key->str)) {
			cfg_walk_error(w, key, "bad identity %s (letters, "
			    "digits, '.', '_', '-', starting with a letter or "
			    "digit, at most %d)", cfg_quote(key->str, q,
			    sizeof(q)), CFG_ID_MAX);
			goto out;
		}
		p = &c->agents[c->nagents++];
		memcpy(p->id, key->str, strlen(key->str) + 1);
		if (cfg_walk_map(w, n->kids[i + 1], key, cfg_relay_policy_keys,
		    p) != 0)
			goto out;
		cfg_walk_pop(w, saved);
	}
	r = 0;
out:
	return r;
}

static int
cfg_relay_has_port(const struct relay_policy *p, uint16_t port)
{
	size_t i;

	for (i = 0; i < p->nports; i++) {
		if (p->ports[i] == port)
			return 1;
	}
	return 0;
}

/*
 * Each policy port inside public.port_range, and given to one identity at
 * most (a bitmap keeps this linear: a file may list thousands).
 */
static int
cfg_relay_check_ports(struct cfg_walk *w, const struct cfg_node *root,
    struct relay_config *c)
{
	const struct cfg_node *ports;
	const struct relay_policy *p;
	uint8_t *claimed;
	uint16_t port;
	size_t i, j, o;
	int r = -1;

	/* Kept in the config: the registry asks "is it listed" per port. */
	if (c->nagents != 0 &&
	    (c->port_listed = calloc(1, 65536 / 8)) == NULL) {
		cfg_walk_error(w, NULL, "out of memory");
		goto out;
	}
	claimed = c->port_listed;
	for (i = 0; i < c->nagents; i++) {
		p = &c->agents[i];
		ports = cfg_node_get(cfg_node_get(cfg_node_get(root, "agents"),
		    p->id), "ports");
		for (j = 0; j < p->nports; j++) {
			port = p->ports[j];
			cfg_walk_pop(w, 0);
			cfg_walk_push(w, "agents");
			cfg_walk_push(w, p->id);
			cfg_walk_push(w, "ports");
			cfg_walk_push_index(w, j);
			if (port < c->port_min || port > c->port_max) {
				cfg_walk_error(w, ports->kids[j], "port %u is "
				    "outside public.port_range %u-%u", port,
				    c->port_min, c->port_max);
				goto out;
			}
			if (PORT_ISSET(claimed, port)) {
				for (o = 0; o < i; o++) {
					if (cfg_relay_has_port(&c->agents[o],
					    port))
						break;
				}
				cfg_walk_error(w, ports->kids[j], "port %u is "
				    "also given to agents.%s", port,
				    c->agents[o].id);
				goto out;
			}
			PORT_SET(claimed, port);
		}
	}
	r = 0;
out:
	if (r == 0)
		cfg_walk_pop(w, 0);
	return r;
}

/* Checks across keys, after every key has its value. */
static int
cfg_relay_check(struct cfg_walk *w, const struct cfg_node *root,
    struct relay_config *c)
{
	const struct cfg_node *limits = cfg_node_get(root, "limits");
	int r = -1;

	/* Defaults that would contradict a smaller value the file sets give
	 * way to it; two values the file sets must agree. */
	if (cfg_node_get(limits, "streams_per_service") == NULL &&
	    c->streams_per_service > c->max_streams_per_agent)
		c->streams_per_service = c->max_streams_per_agent;
	if (cfg_node_get(limits, "auto_ports_per_agent") == NULL &&
	    c->auto_ports_per_agent > c->ports_per_agent)
		c->auto_ports_per_agent = c->ports_per_agent;
	if (cfg_walk_order(w, limits, "limits", "stream_window",
	    c->stream_window, "tunnel_window", c->tunnel_window,
	    CFG_ORDER_SIZE, 1) != 0 ||
	    cfg_walk_order(w, limits, "limits", "stream_window",
	    c->stream_window, "stream_window_max", c->stream_window_max,
	    CFG_ORDER_SIZE, 1) != 0 ||
	    cfg_walk_order(w, limits, "limits", "max_frame", c->max_frame,
	    "tunnel_buffer", c->tunnel_buffer, CFG_ORDER_SIZE, 1) != 0 ||
	    cfg_walk_order(w, limits, "limits", "streams_per_service",
	    c->streams_per_service, "max_streams_per_agent",
	    c->max_streams_per_agent, CFG_ORDER_UINT, 0) != 0 ||
	    cfg_walk_order(w, limits, "limits", "auto_ports_per_agent",
	    c->auto_ports_per_agent, "ports_per_agent", c->ports_per_agent,
	    CFG_ORDER_UINT, 0) != 0)
		goto out;
	if (cfg_relay_check_ports(w, root, c) != 0 ||
	    cfg_relay_check_jwt(w, root, c) != 0)
		goto out;
	r = 0;
out:
	return r;
}

/* Walk a parsed document; name is the file name used in messages. */
static int
cfg_relay_tree(const char *name, const char *dir, const struct cfg_node *root,
    struct relay_config **out, char *err, size_t errlen)
{
	struct relay_config *c = NULL;
	struct cfg_walk w;
	int r = -1;

	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->path = strdup(name)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", name);
		goto out;
	}
	cfg_walk_init(&w, name, dir, err, errlen);
	if (cfg_walk_map(&w, root, root, cfg_relay_top, c) != 0 ||
	    cfg_relay_check(&w, root, c) != 0)
		goto out;
	*out = c;
	c = NULL;
	r = 0;
out:
	cfg_relay_free(c);
	return r;
}

int
cfg_relay_load(const char *path, struct relay_config **out, char *err,
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
	r = cfg_relay_tree(path, dir, root, out, err, errlen);
out:
	cfg_node_free(root);
	return r;
}

int
cfg_relay_parse(const char *name, const char *buf, size_t len,
    const char *dir, struct relay_config **out, char *err, size_t errlen)
{
	struct cfg_node *root = NULL;
	int r = -1;

	*out = NULL;
	if (cfg_yaml_parse(name, buf, len, &root, err, errlen) != 0)
		goto out;
	r = cfg_relay_tree(name, dir, root, out, err, errlen);
out:
	cfg_node_free(root);
	return r;
}

void
cfg_relay_free(struct relay_config *c)
{
	size_t i, j;

	if (c == NULL)
		return;
	for (i = 0; i < c->nagents; i++) {
		free(c->agents[i].ports);
		for (j = 0; j < c->agents[i].nconnect; j++)
			free(c->agents[i].connect[j]);
		free(c->agents[i].connect);
		for (j = 0; j < c->agents[i].nexpose; j++)
			free(c->agents[i].expose[j]);
		free(c->agents[i].expose);
	}
	free(c->agents);
	free(c->port_listed);
	free(c->path);
	free(c->tls_cert);
	free(c->tls_key);
	free(c->tls_ca);
	free(c->tls_crl);
	free(c->public_bind);
	for (i = 0; i < c->jwt.nes256_keys; i++)
		free(c->jwt.es256_keys[i]);
	free(c->jwt.es256_keys);
	free(c->jwt.hs256_secret_file);
	free(c->jwt.issuer);
	free(c->jwt.audience);
	free(c->jwt.denylist);
	cfg_admin_clear(&c->admin);
	free(c);
}

const struct relay_policy *
cfg_relay_policy(const struct relay_config *c, const char *id)
{
	const struct relay_policy *p = NULL;
	size_t i;

	for (i = 0; i < c->nagents && p == NULL; i++) {
		if (strcmp(c->agents[i].id, id) == 0)
			p = &c->agents[i];
	}
	return p;
}

int
cfg_relay_port_listed(const struct relay_config *c, uint16_t port)
{
	return c->port_listed != NULL && PORT_ISSET(c->port_listed, port);
}

int
cfg_relay_port_allowed(const struct relay_config *c, const char *id,
    uint16_t port)
{
	const struct relay_policy *p;

	if ((p = cfg_relay_policy(c, id)) != NULL)
		return cfg_relay_has_port(p, port);
	/* A listed port is its identity's even while that one is away. */
	return port >= c->port_min && port <= c->port_max &&
	    !cfg_relay_port_listed(c, port);
}

uint32_t
cfg_relay_auto_ports(const struct relay_config *c, const char *id)
{
	const struct relay_policy *p;

	if ((p = cfg_relay_policy(c, id)) != NULL)
		return p->auto_ports;
	return c->auto_ports_per_agent;
}

uint32_t
cfg_relay_port_cap(const struct relay_config *c, const char *id)
{
	const struct relay_policy *p;

	if ((p = cfg_relay_policy(c, id)) != NULL)
		return (uint32_t)p->nports + p->auto_ports;	/* <= 131070 */
	return c->ports_per_agent;
}

/* Does list name owner/service? */
static int
cfg_relay_lists(char **list, size_t n, const char *owner, const char *service)
{
	size_t i, olen = strlen(owner);

	for (i = 0; i < n; i++) {
		if (strncmp(list[i], owner, olen) == 0 &&
		    list[i][olen] == '/' &&
		    strcmp(list[i] + olen + 1, service) == 0)
			return 1;
	}
	return 0;
}

int
cfg_relay_may_connect(const struct relay_config *c, const char *id,
    const char *owner, const char *service)
{
	const struct relay_policy *p;

	if ((p = cfg_relay_policy(c, id)) == NULL)
		return 0;
	return cfg_relay_lists(p->connect, p->nconnect, owner, service);
}

int
cfg_relay_may_expose(const struct relay_config *c, const char *id,
    const char *owner, const char *service)
{
	const struct relay_policy *p = cfg_relay_policy(c, id);
	size_t i;

	if (p != NULL && cfg_relay_lists(p->expose, p->nexpose, owner, service))
		return 1;
	if (strcmp(owner, id) != 0)
		return 0;	/* a group: only with its grant */
	if (p == NULL || !p->expose_set)
		return 1;
	for (i = 0; i < p->nexpose; i++)
		if (strcmp(p->expose[i], service) == 0)
			return 1;
	return 0;
}
