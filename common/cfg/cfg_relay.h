/*
 * cfg_relay.h — relay.yaml, parsed strictly (see docs/CONFIG.md).
 *
 * cfg_relay_load() reads and validates the whole file: on failure it returns
 * -1 and writes one line "FILE:LINE:COLUMN: KEY: problem" into err; on success
 * *out is a new config the caller frees with cfg_relay_free().  Paths are made
 * absolute (relative ones are taken from the config file's folder).  Defaults
 * are filled in after parsing.
 */
#ifndef ATLAX_CFG_RELAY_H
#define ATLAX_CFG_RELAY_H

#include <stddef.h>
#include <stdint.h>

#include "cfg.h"
#include "log.h"

struct relay_policy {
	char	 id[CFG_ID_MAX + 1];	/* agent identity (certificate CN) */
	uint16_t *ports;		/* the only ports it may claim */
	size_t	 nports;
};

struct relay_config {
	char	*path;			/* the file loaded, as given */
	struct cfg_addr listen;		/* listen: (required) */
	char	*tls_cert;		/* tls.cert (required) */
	char	*tls_key;		/* tls.key (required) */
	char	*tls_ca;		/* tls.ca (required) */
	char	*tls_crl;		/* tls.crl (optional, NULL) */
	char	*public_bind;		/* public.bind, default "0.0.0.0" */
	uint16_t port_min, port_max;	/* public.port_range (required) */
	struct relay_policy *agents;	/* agents: (optional) */
	size_t	 nagents;
	uint32_t max_streams_per_agent;	/* limits.max_streams_per_agent: 4096 */
	uint32_t stream_window;		/* limits.stream_window: 1MiB */
	uint32_t tunnel_window;		/* limits.tunnel_window: 16MiB */
	uint32_t max_frame;		/* limits.max_frame: 128KiB */
	uint32_t max_agents;		/* limits.max_agents: 1024 */
	uint64_t handshake_timeout_ms;	/* timeouts.handshake: 10s */
	uint64_t shutdown_timeout_ms;	/* timeouts.shutdown: 10s */
	uint64_t port_grace_ms;		/* timeouts.port_grace: 60s */
	uint64_t ping_interval_ms;	/* keepalive.interval: 15s */
	uint32_t ping_misses;		/* keepalive.misses: 3 */
	int	 workers;		/* workers: auto (0) or 1..64 */
	enum log_level log_level;	/* log.level: info */
};

int	cfg_relay_load(const char *path, struct relay_config **out,
	    char *err, size_t errlen);
/*
 * The same from memory (tests, fuzzing): name is used in messages, relative
 * paths are taken from dir (absolute).  The file checks (regular, size cap)
 * are the caller's.
 */
int	cfg_relay_parse(const char *name, const char *buf, size_t len,
	    const char *dir, struct relay_config **out, char *err,
	    size_t errlen);
void	cfg_relay_free(struct relay_config *c);	/* accepts NULL */
/* The policy entry for id, or NULL when the identity is not listed. */
const struct relay_policy *cfg_relay_policy(const struct relay_config *c,
	    const char *id);
/*
 * 1 when identity id may claim public port (a non-zero request): one of its
 * agents.<id>.ports when it has a policy, else inside public.port_range.
 */
int	cfg_relay_port_allowed(const struct relay_config *c, const char *id,
	    uint16_t port);

#endif
