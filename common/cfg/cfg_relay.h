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
#include "cfg_admin.h"
#include "log.h"

/*
 * agents.<id>: what one identity may hold.  Its ports are its alone (no
 * other identity may claim them); auto_ports more come from the rest of
 * public.port_range when it asks for "any port".
 */
struct relay_policy {
	char	 id[CFG_ID_MAX + 1];	/* agent identity (certificate CN) */
	uint16_t *ports;		/* the only ports it may request */
	size_t	 nports;
	uint32_t auto_ports;		/* agents.<id>.auto: 0 */
	/* Private services, each "OWNER/SERVICE" (docs/SECURITY.md). */
	char	**connect;		/* agents.<id>.connect: may reach */
	size_t	 nconnect;
	char	**expose;		/* agents.<id>.expose: may serve */
	size_t	 nexpose;
	int	 expose_set;		/* expose: present (even empty) */
};

/*
 * auth.jwt: tokens accepted instead of client certificates (see jwt.h).
 * enabled when the section names at least one key.
 */
struct relay_jwt {
	int	 enabled;
	char	*hs256_secret_file;	/* auth.jwt.hs256_secret_file: NULL */
	char	**es256_keys;		/* auth.jwt.es256_public_keys: PEM */
	size_t	 nes256_keys;
	char	*issuer;		/* auth.jwt.issuer: NULL, not checked */
	char	*audience;		/* auth.jwt.audience: NULL */
	uint64_t leeway_ms;		/* auth.jwt.leeway: 60s */
	char	*denylist;		/* auth.jwt.denylist: NULL */
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
	uint8_t	*port_listed;		/* bitmap: ports some agents.<id>.ports
					 * names (NULL: none) */
	uint32_t max_streams_per_agent;	/* limits.max_streams_per_agent: 4096 */
	uint32_t streams_per_service;	/* limits.streams_per_service: 256 */
	uint32_t ports_per_agent;	/* limits.ports_per_agent: 16 */
	uint32_t auto_ports_per_agent;	/* limits.auto_ports_per_agent: 4 */
	uint32_t tunnel_buffer;		/* limits.tunnel_buffer: 8MiB */
	uint32_t stream_window_max;	/* limits.stream_window_max: 16MiB */
	uint32_t handshakes;		/* limits.handshakes: 64 */
	uint32_t connections_per_source; /* limits.connections_per_source: 32,
					 * 0 = no limit */
	uint32_t stream_window;		/* limits.stream_window: 512KiB */
	uint32_t tunnel_window;		/* limits.tunnel_window: 32MiB */
	uint32_t max_frame;		/* limits.max_frame: 128KiB */
	uint32_t max_agents;		/* limits.max_agents: 1024 */
	uint32_t forward_streams;	/* limits.forward_streams: 256, the
					 * streams an agent may open at once */
	uint64_t handshake_timeout_ms;	/* timeouts.handshake: 10s */
	uint64_t shutdown_timeout_ms;	/* timeouts.shutdown: 10s */
	uint64_t port_grace_ms;		/* timeouts.port_grace: 60s */
	uint64_t stall_timeout_ms;	/* timeouts.stall: 120s, 0 = off */
	uint64_t half_closed_timeout_ms; /* timeouts.half_closed: 60s, 0 = off */
	uint64_t idle_timeout_ms;	/* timeouts.idle: 0 = off */
	uint64_t ping_interval_ms;	/* keepalive.interval: 15s */
	uint32_t ping_misses;		/* keepalive.misses: 3 */
	int	 workers;		/* workers: auto (0) or 1..64 */
	enum log_level log_level;	/* log.level: info */
	struct relay_jwt jwt;		/* auth.jwt (optional) */
	struct cfg_admin admin;		/* admin: (optional, off) */
};

#define CFG_SECRET_MIN	32	/* bytes of an HS256 secret, RFC 7518 3.2 */
#define CFG_SECRET_MAX	4096
#define CFG_SECRET_BUF	(CFG_SECRET_MAX + 3)	/* room to read one */

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
/*
 * Read the HS256 secret file path into buf (size >= CFG_SECRET_BUF): its
 * bytes as they are, less one final "\n" or "\r\n" (so that a secret
 * written with echo works), *len set.  -1 with the reason in err when it
 * cannot be read, is not a regular file, or holds fewer than CFG_SECRET_MIN
 * or more than CFG_SECRET_MAX bytes.  The secret never appears in err.
 */
int	cfg_relay_secret_read(const char *path, uint8_t *buf, size_t size,
	    size_t *len, char *err, size_t errlen);
/* The policy entry for id, or NULL when the identity is not listed. */
const struct relay_policy *cfg_relay_policy(const struct relay_config *c,
	    const char *id);
/* 1 when some agents.<id>.ports names port (it is kept for that id). */
int	cfg_relay_port_listed(const struct relay_config *c, uint16_t port);
/*
 * 1 when identity id may request public port by number: one of its
 * agents.<id>.ports when it is listed, else a port of public.port_range
 * that no agents.<id>.ports names.
 */
int	cfg_relay_port_allowed(const struct relay_config *c, const char *id,
	    uint16_t port);
/*
 * How many ports id may get by asking for any port (remote_port 0):
 * agents.<id>.auto when listed, else limits.auto_ports_per_agent.
 */
uint32_t cfg_relay_auto_ports(const struct relay_config *c, const char *id);
/*
 * How many public ports id may hold at once, requested and automatic, live
 * and reserved: the length of agents.<id>.ports plus agents.<id>.auto when
 * listed, else limits.ports_per_agent.  0: the identity gets no port at all.
 */
uint32_t cfg_relay_port_cap(const struct relay_config *c, const char *id);
/*
 * Private services under the certificate policy.  1 when identity id may
 * open streams to "owner/service": agents.<id>.connect lists it (nobody
 * may by default).
 */
int	cfg_relay_may_connect(const struct relay_config *c, const char *id,
	    const char *owner, const char *service);
/*
 * 1 when identity id may serve the private service "owner/service": under
 * another owner (a group) only when agents.<id>.expose lists it; under its
 * own identity always, unless agents.<id>.expose is set and lists neither
 * "SERVICE" nor "ID/SERVICE".
 */
int	cfg_relay_may_expose(const struct relay_config *c, const char *id,
	    const char *owner, const char *service);

#endif
