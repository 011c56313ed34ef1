/*
 * admin.c — the admin endpoint (evhttp), the Prometheus text writers and
 * the status subcommands' client.  See admin.h.
 *
 * evhttp of libevent 2.1 has no cap on connections.  Each connection's
 * bufferevent is made here (evhttp_set_bevcb) with one reference of ours:
 * when evhttp frees it, the callbacks are cleared but the object stays,
 * and a sweep a moment later drops our reference, which closes the socket.
 * So this module always knows how many connections are open, and pauses
 * the listener at the cap.
 */
#include <sys/socket.h>

#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "admin.h"
#include "cfg.h"
#include "cfg_admin.h"
#include "log.h"
#include "queue.h"

#define ADMIN_SWEEP_MS	200	/* closed connections are counted out */

struct admin_conn {
	TAILQ_ENTRY(admin_conn)	 entry;
	struct bufferevent	*bev;
};

struct admin {
	struct event_base	*base;
	struct evhttp		*http;
	struct evconnlistener	*lev;	/* evhttp's, paused at the cap */
	struct event		*sweep;
	TAILQ_HEAD(, admin_conn) conns;
	unsigned		 nconns;
	int			 paused;
	const struct admin_route *routes;
	void			*arg;
	char			 name[32];
	int			 has_token;
	unsigned char		 token_md[32];	/* SHA-256 of the token */
};

static int
admin_sha256(const void *p, size_t len, unsigned char md[32])
{
	unsigned int n = 0;

	return EVP_Digest(p, len, md, &n, EVP_sha256(), NULL) == 1 &&
	    n == 32 ? 0 : -1;
}

static void
admin_sweep_cb(evutil_socket_t fd, short what, void *arg)
{
	struct admin *a = arg;
	struct admin_conn *c, *next;
	bufferevent_event_cb ecb;
	struct timeval tv = { 0, ADMIN_SWEEP_MS * 1000 };

	(void)fd;
	(void)what;
	for (c = TAILQ_FIRST(&a->conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		ecb = NULL;
		bufferevent_getcb(c->bev, NULL, NULL, &ecb, NULL);
		if (ecb != NULL)
			continue;	/* still evhttp's */
		TAILQ_REMOVE(&a->conns, c, entry);
		bufferevent_decref(c->bev);	/* frees it, closes the fd */
		free(c);
		a->nconns--;
	}
	if (a->paused && a->nconns < ADMIN_CONNS_MAX) {
		a->paused = 0;
		evconnlistener_enable(a->lev);
	}
	if (a->nconns > 0)
		evtimer_add(a->sweep, &tv);
}

static struct bufferevent *
admin_bev_cb(struct event_base *base, void *arg)
{
	struct admin *a = arg;
	struct admin_conn *c;
	struct bufferevent *bev;
	struct timeval tv = { 0, ADMIN_SWEEP_MS * 1000 };

	if ((bev = bufferevent_socket_new(base, -1,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL)
		return NULL;	/* evhttp tries its own; it fails too */
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return bev;	/* served, not counted: memory is short */
	bufferevent_incref(bev);
	c->bev = bev;
	TAILQ_INSERT_TAIL(&a->conns, c, entry);
	if (++a->nconns >= ADMIN_CONNS_MAX && !a->paused) {
		a->paused = 1;
		evconnlistener_disable(a->lev);
	}
	if (!evtimer_pending(a->sweep, NULL))
		evtimer_add(a->sweep, &tv);
	return bev;
}

/* "Authorization: Bearer TOKEN", compared as SHA-256 digests so that the
 * time taken says nothing about the token, not even its length. */
static int
admin_authorized(struct admin *a, struct evhttp_request *req)
{
	const char *h;
	unsigned char md[32];

	if (!a->has_token)
		return 1;
	h = evhttp_find_header(evhttp_request_get_input_headers(req),
	    "Authorization");
	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
		return 0;
	if (admin_sha256(h + 7, strlen(h + 7), md) != 0)
		return 0;
	return CRYPTO_memcmp(md, a->token_md, sizeof(md)) == 0;
}

static void
admin_reply(struct evhttp_request *req, int code, const char *reason,
    const char *text)
{
	struct evbuffer *b = evbuffer_new();

	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "text/plain; charset=utf-8");
	if (b != NULL)
		evbuffer_add_printf(b, "%s\n", text);
	evhttp_send_reply(req, code, reason, b);
	if (b != NULL)
		evbuffer_free(b);
}

static void
admin_request_cb(struct evhttp_request *req, void *arg)
{
	struct admin *a = arg;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const struct admin_route *rt;
	struct evkeyvalq q;
	struct evbuffer *out = NULL;
	struct evkeyvalq *oh = evhttp_request_get_output_headers(req);
	const char *path, *query;
	int code;

	TAILQ_INIT(&q);
	if (evhttp_request_get_command(req) != EVHTTP_REQ_GET) {
		admin_reply(req, 405, "Method Not Allowed", "only GET");
		goto out;
	}
	if (!admin_authorized(a, req)) {
		evhttp_add_header(oh, "WWW-Authenticate", "Bearer");
		admin_reply(req, 401, "Unauthorized", "a bearer token is "
		    "needed (admin.token_file)");
		goto out;
	}
	path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
	for (rt = a->routes; path != NULL && rt->path != NULL; rt++) {
		if (strcmp(rt->path, path) == 0)
			break;
	}
	if (path == NULL || rt->path == NULL) {
		admin_reply(req, 404, "Not Found", "no such page");
		goto out;
	}
	query = evhttp_uri_get_query(uri);
	if (query != NULL && evhttp_parse_query_str(query, &q) != 0) {
		admin_reply(req, 400, "Bad Request", "bad query string");
		goto out;
	}
	if ((out = evbuffer_new()) == NULL) {
		admin_reply(req, 500, "Internal Server Error", "out of memory");
		goto out;
	}
	if ((code = rt->fn(out, &q, a->arg)) != 0) {
		admin_reply(req, code, "Error", "the page failed");
		goto out;
	}
	evhttp_add_header(oh, "Content-Type", rt->content_type);
	evhttp_add_header(oh, "Cache-Control", "no-store");
	evhttp_send_reply(req, 200, "OK", out);
out:
	evhttp_clear_headers(&q);
	if (out != NULL)
		evbuffer_free(out);
}

static int
admin_load_token(struct admin *a, const char *path, char *err, size_t errlen)
{
	char *tok = NULL;
	size_t len, size = CFG_ADMIN_TOKEN_MAX + 8;
	int r = -1;

	if ((tok = malloc(size)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (cfg_admin_token_read(path, tok, size, &len, err, errlen) != 0)
		goto out;
	if (admin_sha256(tok, len, a->token_md) != 0) {
		snprintf(err, errlen, "%s: cannot hash the token", path);
		goto out;
	}
	a->has_token = 1;
	r = 0;
out:
	if (tok != NULL) {
		explicit_bzero(tok, size);
		free(tok);
	}
	return r;
}

struct admin *
admin_new(struct event_base *base, const struct cfg_admin *cfg,
    const char *name, const struct admin_route *routes, void *arg, char *err,
    size_t errlen)
{
	struct evutil_addrinfo hints, *ai = NULL;
	struct evhttp_bound_socket *bound;
	struct evconnlistener *lev = NULL;
	struct admin *a = NULL, *ret = NULL;
	char port[8], where[300];
	int e;

	cfg_addr_str(&cfg->listen, where, sizeof(where));
	if ((a = calloc(1, sizeof(*a))) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	a->base = base;
	a->routes = routes;
	a->arg = arg;
	snprintf(a->name, sizeof(a->name), "%s", name);
	TAILQ_INIT(&a->conns);
	if (cfg->token_file != NULL &&
	    admin_load_token(a, cfg->token_file, err, errlen) != 0)
		goto out;
	if ((a->http = evhttp_new(base)) == NULL ||
	    (a->sweep = evtimer_new(base, admin_sweep_cb, a)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	evhttp_set_max_headers_size(a->http, ADMIN_HEADERS_MAX);
	evhttp_set_max_body_size(a->http, 0);
	evhttp_set_timeout(a->http, ADMIN_TIMEOUT_S);
	/* Every method reaches the callback, which answers 405 but to GET
	 * (evhttp's own refusal would be a bare 405 without a reason). */
	evhttp_set_allowed_methods(a->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
	    EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
	    EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH);
	evhttp_set_bevcb(a->http, admin_bev_cb, a);
	evhttp_set_gencb(a->http, admin_request_cb, a);

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	snprintf(port, sizeof(port), "%u", cfg->listen.port);
	if ((e = evutil_getaddrinfo(cfg->listen.any ? NULL : cfg->listen.host,
	    port, &hints, &ai)) != 0) {
		snprintf(err, errlen, "admin.listen %s: %s", where,
		    evutil_gai_strerror(e));
		goto out;
	}
	if ((lev = evconnlistener_new_bind(base, NULL, NULL,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC |
	    LEV_OPT_DISABLED, 16, ai->ai_addr, (int)ai->ai_addrlen)) == NULL) {
		snprintf(err, errlen, "admin.listen %s: %s", where,
		    strerror(errno));
		goto out;
	}
	if ((bound = evhttp_bind_listener(a->http, lev)) == NULL) {
		snprintf(err, errlen, "admin.listen %s: out of memory", where);
		goto out;
	}
	a->lev = lev;
	lev = NULL;	/* evhttp's now */
	evconnlistener_enable(a->lev);
	log_info(a->name, "admin endpoint on http://%s/ (%s)", where,
	    a->has_token ? "bearer token required" : "no token");
	ret = a;
	a = NULL;
out:
	if (ai != NULL)
		evutil_freeaddrinfo(ai);
	if (lev != NULL)
		evconnlistener_free(lev);
	admin_free(a);
	return ret;
}

void
admin_free(struct admin *a)
{
	struct admin_conn *c;

	if (a == NULL)
		return;
	if (a->http != NULL)
		evhttp_free(a->http);	/* its connections and listener */
	while ((c = TAILQ_FIRST(&a->conns)) != NULL) {
		TAILQ_REMOVE(&a->conns, c, entry);
		bufferevent_decref(c->bev);
		free(c);
	}
	if (a->sweep != NULL)
		event_free(a->sweep);
	explicit_bzero(a->token_md, sizeof(a->token_md));
	free(a);
}

unsigned
admin_nconns(const struct admin *a)
{
	return a->nconns;
}

/* Prometheus text format. */

char *
admin_prom_escape(char *dst, size_t len, const char *src)
{
	size_t o = 0;
	const char *rep;
	char one[2];

	if (len == 0)
		return dst;
	for (; *src != '\0'; src++) {
		switch (*src) {
		case '\\':
			rep = "\\\\";
			break;
		case '"':
			rep = "\\\"";
			break;
		case '\n':
			rep = "\\n";
			break;
		default:
			one[0] = *src;
			one[1] = '\0';
			rep = one;
			break;
		}
		if (o + strlen(rep) >= len)
			break;	/* cut whole: never half an escape */
		memcpy(dst + o, rep, strlen(rep));
		o += strlen(rep);
	}
	dst[o] = '\0';
	return dst;
}

void
admin_prom_family(struct evbuffer *out, const char *name, const char *type,
    const char *help)
{
	evbuffer_add_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help,
	    name, type);
}

/* name{k="v",...} : the labels of a sample. */
static void
admin_prom_labels(struct evbuffer *out, const char *name, va_list ap)
{
	const char *k, *v;
	char esc[1024];
	int first = 1;

	evbuffer_add_printf(out, "%s", name);
	while ((k = va_arg(ap, const char *)) != NULL) {
		v = va_arg(ap, const char *);
		evbuffer_add_printf(out, "%s%s=\"%s\"", first ? "{" : ",", k,
		    admin_prom_escape(esc, sizeof(esc), v != NULL ? v : ""));
		first = 0;
	}
	if (!first)
		evbuffer_add(out, "}", 1);
}

void
admin_prom_u64(struct evbuffer *out, const char *name, uint64_t v, ...)
{
	va_list ap;

	va_start(ap, v);
	admin_prom_labels(out, name, ap);
	va_end(ap);
	evbuffer_add_printf(out, " %" PRIu64 "\n", v);
}

void
admin_prom_f64(struct evbuffer *out, const char *name, double v, ...)
{
	va_list ap;

	va_start(ap, v);
	admin_prom_labels(out, name, ap);
	va_end(ap);
	evbuffer_add_printf(out, " %.9g\n", v);
}

char *
admin_time_str(int64_t t, char *buf, size_t len)
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "1970-01-01T00:00:00Z");
	return buf;
}

/* The client. */

static int64_t
admin_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for fd to be ready for events before the deadline: 0, or -1. */
static int
admin_wait(int fd, short events, int64_t deadline)
{
	struct pollfd pfd;
	int64_t left;
	int n;

	for (;;) {
		if ((left = deadline - admin_ms()) <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		pfd.fd = fd;
		pfd.events = events;
		pfd.revents = 0;
		if ((n = poll(&pfd, 1, (int)left)) > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return -1;
	}
}

static int
admin_connect(const struct cfg_admin *cfg, int64_t deadline, char *err,
    size_t errlen)
{
	struct addrinfo hints, *ai = NULL, *p;
	char port[8], where[300];
	socklen_t sl = sizeof(int);
	int fd = -1, e, soerr = 0;

	cfg_addr_str(&cfg->listen, where, sizeof(where));
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	snprintf(port, sizeof(port), "%u", cfg->listen.port);
	/* A wildcard listen is reached on loopback. */
	if ((e = getaddrinfo(cfg->listen.any ? "127.0.0.1" : cfg->listen.host,
	    port, &hints, &ai)) != 0) {
		snprintf(err, errlen, "admin endpoint %s: %s", where,
		    gai_strerror(e));
		return -1;
	}
	for (p = ai; p != NULL; p = p->ai_next) {
		if ((fd = socket(p->ai_family, p->ai_socktype | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, p->ai_protocol)) == -1)
			continue;
		if (connect(fd, p->ai_addr, p->ai_addrlen) == 0 ||
		    (errno == EINPROGRESS &&
		    admin_wait(fd, POLLOUT, deadline) == 0 &&
		    getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 &&
		    (errno = soerr) == 0))
			break;
		e = errno;
		close(fd);
		fd = -1;
		errno = e;
	}
	if (fd == -1)
		snprintf(err, errlen, "admin endpoint %s unreachable: %s",
		    where, strerror(errno));
	freeaddrinfo(ai);
	return fd;
}

static int
admin_send_all(int fd, const char *p, size_t len, int64_t deadline)
{
	ssize_t n;

	while (len > 0) {
		if ((n = send(fd, p, len, MSG_NOSIGNAL)) > 0) {
			p += n;
			len -= (size_t)n;
		} else if (n < 0 && errno != EAGAIN && errno != EINTR)
			return -1;
		else if (admin_wait(fd, POLLOUT, deadline) != 0)
			return -1;
	}
	return 0;
}

int
admin_fetch(const struct cfg_admin *cfg, const char *path, int timeout_ms,
    int *status, char **body, size_t *len, char *err, size_t errlen)
{
	char *tok = NULL, *req = NULL, *buf = NULL, *hdr_end;
	size_t toklen = 0, got = 0, cap = 0, size = CFG_ADMIN_TOKEN_MAX + 8;
	int64_t deadline = admin_ms() + timeout_ms;
	ssize_t n;
	int fd = -1, r = -1, code, rl;

	*body = NULL;
	*len = 0;
	if (!cfg->enabled) {
		snprintf(err, errlen, "the admin endpoint is off (no "
		    "admin.listen in the configuration)");
		goto out;
	}
	if (cfg->token_file != NULL) {
		if ((tok = malloc(size)) == NULL) {
			snprintf(err, errlen, "out of memory");
			goto out;
		}
		if (cfg_admin_token_read(cfg->token_file, tok, size, &toklen,
		    err, errlen) != 0)
			goto out;
	}
	if ((rl = asprintf(&req, "GET %s HTTP/1.0\r\nHost: atlax\r\n"
	    "%s%s%s\r\n", path, tok != NULL ? "Authorization: Bearer " : "",
	    tok != NULL ? tok : "", tok != NULL ? "\r\n" : "")) < 0) {
		req = NULL;
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if ((fd = admin_connect(cfg, deadline, err, errlen)) == -1)
		goto out;
	if (admin_send_all(fd, req, (size_t)rl, deadline) != 0) {
		snprintf(err, errlen, "admin endpoint: send: %s",
		    strerror(errno));
		goto out;
	}
	for (;;) {
		if (got + 1 >= cap) {
			if (cap >= ADMIN_BODY_MAX) {
				snprintf(err, errlen, "admin endpoint: reply "
				    "longer than %d bytes", ADMIN_BODY_MAX);
				goto out;
			}
			cap = cap == 0 ? 65536 : cap * 2;
			if ((buf = realloc(buf, cap)) == NULL) {
				snprintf(err, errlen, "out of memory");
				goto out;
			}
		}
		if ((n = recv(fd, buf + got, cap - 1 - got, 0)) > 0)
			got += (size_t)n;
		else if (n == 0)
			break;
		else if (errno != EAGAIN && errno != EINTR) {
			snprintf(err, errlen, "admin endpoint: receive: %s",
			    strerror(errno));
			goto out;
		} else if (admin_wait(fd, POLLIN, deadline) != 0) {
			snprintf(err, errlen, "admin endpoint: no reply in "
			    "%d ms", timeout_ms);
			goto out;
		}
	}
	if (buf == NULL || (buf[got] = '\0', sscanf(buf, "HTTP/1.%*1[01] %3d",
	    &code)) != 1 || (hdr_end = strstr(buf, "\r\n\r\n")) == NULL) {
		snprintf(err, errlen, "admin endpoint: not an HTTP reply");
		goto out;
	}
	*status = code;
	*len = got - (size_t)(hdr_end + 4 - buf);
	memmove(buf, hdr_end + 4, *len + 1);
	*body = buf;
	buf = NULL;
	r = 0;
out:
	if (tok != NULL) {
		explicit_bzero(tok, size);
		free(tok);
	}
	if (req != NULL) {
		explicit_bzero(req, strlen(req));
		free(req);
	}
	free(buf);
	if (fd != -1)
		close(fd);
	return r;
}
