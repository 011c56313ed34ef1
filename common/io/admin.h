/*
 * admin.h — the daemons' admin endpoint: a small HTTP server (libevent's
 * evhttp) on the daemon's own event base, with a route table of callbacks,
 * an optional bearer token, and hard bounds; the Prometheus text format
 * (0.0.4) writers the /metrics pages are made with; and the tiny blocking
 * HTTP/1.0 client the status subcommands use.
 *
 * Bounds: requests of at most ADMIN_HEADERS_MAX bytes of headers and no
 * body, ADMIN_TIMEOUT_S seconds per connection, at most ADMIN_CONNS_MAX
 * connections at once (beyond that accepting pauses: the kernel's backlog
 * holds the rest).  GET only (405 otherwise); an unknown path is 404; a
 * missing or wrong token 401.  The token is compared in constant time (its
 * SHA-256 and the header's are compared with CRYPTO_memcmp).
 */
#ifndef ATLAX_ADMIN_H
#define ATLAX_ADMIN_H

#include <stddef.h>
#include <stdint.h>

#include "cfg_admin.h"

struct admin;
struct event_base;
struct evbuffer;
struct evkeyvalq;

#define ADMIN_HEADERS_MAX	8192
#define ADMIN_TIMEOUT_S		10
#define ADMIN_CONNS_MAX		16
#define ADMIN_BODY_MAX		(16 * 1024 * 1024)	/* client: reply cap */

/* One page: fn writes the body into out.  query holds the decoded query
 * string's pairs (evhttp_find_header() reads them).  Returns 0 (200), or
 * an HTTP status to answer instead (its body is dropped). */
struct admin_route {
	const char	*path;
	const char	*content_type;
	int		(*fn)(struct evbuffer *out,
			    const struct evkeyvalq *query, void *arg);
};

/*
 * Serve cfg (enabled) on base: listen, read the token file if one is
 * named.  routes ends with a NULL path and must outlive the server; arg
 * goes to every callback; name prefixes log lines ("relay").  NULL with
 * the reason in err (the address is in use, the token is unreadable...).
 * Everything runs on base's thread.
 */
struct admin *admin_new(struct event_base *base, const struct cfg_admin *cfg,
	    const char *name, const struct admin_route *routes, void *arg,
	    char *err, size_t errlen);
void	admin_free(struct admin *a);	/* accepts NULL; closes everything */
/* Connections being served (tests). */
unsigned admin_nconns(const struct admin *a);

/*
 * Prometheus text exposition format 0.0.4.  A family starts with its HELP
 * and TYPE lines (admin_prom_family), then its samples.  Label values are
 * escaped (\\, \" and \n); names are the caller's constants.  Samples take
 * their labels as name, value pairs ending with NULL.
 */
void	admin_prom_family(struct evbuffer *out, const char *name,
	    const char *type, const char *help);
void	admin_prom_u64(struct evbuffer *out, const char *name, uint64_t v,
	    ...) __attribute__((sentinel));
void	admin_prom_f64(struct evbuffer *out, const char *name, double v,
	    ...) __attribute__((sentinel));
/* Escape a label value into dst (always NUL-terminated, cut to fit).
 * Returns dst. */
char	*admin_prom_escape(char *dst, size_t len, const char *src);
/* RFC 3339 UTC ("2026-12-04T18:42:42Z") of a wall-clock time. */
char	*admin_time_str(int64_t t, char *buf, size_t len);

/*
 * The client: GET path from the endpoint cfg describes (with its token,
 * if one is set), HTTP/1.0, blocking, timeout_ms for the whole exchange.
 * 0 with *status and the body (NUL-terminated, at most ADMIN_BODY_MAX
 * bytes; the caller frees it); -1 with the reason in err when the endpoint
 * is off, unreachable, or answers something that is not HTTP.
 */
int	admin_fetch(const struct cfg_admin *cfg, const char *path,
	    int timeout_ms, int *status, char **body, size_t *len, char *err,
	    size_t errlen);

#endif
