/*
 * cfg_agent.h — agent.yaml, parsed strictly (see docs/CONFIG.md).
 *
 * Same contract as cfg_relay_load(): -1 and "FILE:LINE:COLUMN: KEY: problem"
 * in err, or 0 and a config to free with cfg_agent_free().
 */
#ifndef ATLAX_CFG_AGENT_H
#define ATLAX_CFG_AGENT_H

#include <stddef.h>
#include <stdint.h>

#include "cfg.h"
#include "cfg_admin.h"
#include "log.h"

struct agent_service {
	char	 name[CFG_NAME_MAX + 1];	/* services[].name (required) */
	struct cfg_addr target;		/* services[].target (required) */
	uint16_t remote_port;		/* services[].remote_port, 0 = any */
	uint64_t idle_timeout_ms;	/* services[].idle_timeout: 0 = off */
	int	 private;		/* services[].public: false */
	char	 group[CFG_ID_MAX + 1];	/* services[].group: "" = none */
};

/* forwards[]: a local listener whose connections become streams to the
 * private service "OWNER/SERVICE" through the relay. */
struct agent_forward {
	struct cfg_addr listen;		/* forwards[].listen (required) */
	char	 to[CFG_ADDR_NAME_MAX + 1];	/* forwards[].to (required) */
};

struct agent_config {
	char	*path;
	char	 id[CFG_ID_MAX + 1];	/* id (required) */
	struct cfg_addr relay;		/* relay (required) */
	char	*tls_cert, *tls_key;	/* both or neither; NULL: none */
	char	*tls_token_file;	/* tls.token_file: a JWT; NULL: none.
					 * cert+key, token_file or both */
	char	*tls_ca;		/* required */
	char	*tls_server_name;	/* default: relay host */
	struct agent_service *services;	/* services and forwards: */
	size_t	 nservices;
	struct agent_forward *forwards;	/* at least one of either */
	size_t	 nforwards;
	uint64_t reconnect_initial_ms;	/* reconnect.initial: 1s */
	uint64_t reconnect_max_ms;	/* reconnect.max: 60s */
	uint64_t ping_interval_ms;	/* keepalive.interval: 15s */
	uint32_t ping_misses;		/* keepalive.misses: 3 */
	uint64_t connect_timeout_ms;	/* timeouts.connect: 5s (to targets) */
	uint64_t handshake_timeout_ms;	/* timeouts.handshake: 10s */
	uint64_t shutdown_timeout_ms;	/* timeouts.shutdown: 10s */
	uint64_t stall_timeout_ms;	/* timeouts.stall: 120s, 0 = off */
	uint64_t half_closed_timeout_ms; /* timeouts.half_closed: 60s, 0 = off */
	uint32_t stream_window;		/* limits.stream_window: 512KiB */
	uint32_t stream_window_max;	/* limits.stream_window_max: 16MiB */
	uint32_t tunnel_window;		/* limits.tunnel_window: 32MiB */
	uint32_t tunnel_buffer;		/* limits.tunnel_buffer: 8MiB */
	uint32_t max_frame;		/* limits.max_frame: 128KiB */
	uint32_t max_streams;		/* limits.max_streams: 4096 */
	enum log_level log_level;	/* log.level: info */
	struct cfg_admin admin;		/* admin: (optional, off) */
};

int	cfg_agent_load(const char *path, struct agent_config **out,
	    char *err, size_t errlen);
/* From memory, as cfg_relay_parse(). */
int	cfg_agent_parse(const char *name, const char *buf, size_t len,
	    const char *dir, struct agent_config **out, char *err,
	    size_t errlen);
void	cfg_agent_free(struct agent_config *c);		/* accepts NULL */
/* The name a service registers under: "NAME" for a public one, "OWNER/NAME"
 * for a private one (OWNER: its group, else the agent's id). */
char	*cfg_agent_reg_name(const struct agent_config *c,
	    const struct agent_service *s, char *buf, size_t len);
/* The service registered as name (cfg_agent_reg_name()), or NULL. */
const struct agent_service *cfg_agent_service_reg(const struct agent_config *c,
	    const char *name);
const struct agent_service *cfg_agent_service(const struct agent_config *c,
	    const char *name);

#endif
