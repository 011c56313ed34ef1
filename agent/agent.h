/*
 * agent.h — the agent daemon's internals, shared by its modules.
 *
 * One thread, one event base.  struct agent owns the configuration, the
 * SSL_CTX, the DNS resolver, the reconnect backoff and at most one tunnel at
 * a time; the tunnel owns its streams.  A tunnel or a connect record that
 * ends inside a callback is marked dead and freed by the agent's gc event
 * after the callback returned; a stream's pump is freed by its tunnel's own
 * gc event (common/io/tunnel.c).
 */
#ifndef ATLAX_AGENT_H
#define ATLAX_AGENT_H


#include <stdint.h>

#include <openssl/ssl.h>

#include "backoff.h"
#include "cfg_agent.h"
#include "pump.h"
#include "queue.h"

struct agent_fwd;
struct admin;
struct mux_peer;
struct bufferevent;
struct event;
struct event_base;
struct evdns_base;
struct tunnel;

/* Keep at most this much TLS output queued; refill below half of it. */
#define AGENT_TLS_HIGH		(256 * 1024)
/* Plaintext the tunnel reads per loop turn before the targets get theirs. */
#define AGENT_READ_MAX		(256 * 1024)
#define AGENT_CLOSE_WAIT_MS	2000
/* Services itemised in the metrics: names come from our own
 * configuration, but reloads may rename them for ever. */
#define AGENT_STATS_SVC_MAX	256

/* Counts per service name (agent_admin.c); the agent's thread only. */
struct agent_stat_svc {
	TAILQ_ENTRY(agent_stat_svc) entry;
	char			 name[CFG_NAME_MAX + 1];
	uint64_t		 in, out;	/* of ended streams */
	uint64_t		 total;
	uint64_t		 connect_failures;
	unsigned		 open;
};

/* One stream with a pump: its tag, its counters, its access log line. */
struct agent_stat_stream {
	TAILQ_ENTRY(agent_stat_stream) entry;
	struct pump_counters	 c;
	struct agent_tunnel	*at;
	struct agent_stat_svc	*svc;	/* NULL: not itemised */
	char			 service[CFG_NAME_MAX + 1];
	char			 client[80];	/* as STREAM_OPEN named it */
	char			 target[CFG_HOST_MAX + 16];
	uint64_t		 start_ms;
};

struct agent {
	const char		*path;
	struct agent_config	*cfg;
	SSL_CTX			*ctx;
	struct event_base	*base;
	struct evdns_base	*dns;
	struct event		*ev_sig[3];	/* TERM, INT, HUP */
	struct event		*retry;		/* reconnect timer */
	struct event		*gc;
	struct event		*expiry_ev;	/* the daily expiry guard */
	struct backoff		 bo;
	struct agent_tunnel	*tunnel;	/* current, or NULL */
	TAILQ_HEAD(, agent_fwd)	 fwds;		/* forwards' listeners */
	struct admin		*admin;		/* NULL: off */
	uint64_t		 reconnects;	/* tunnels lost, redialled */
	uint64_t		 streams_total;
	unsigned		 nstat_svcs;
	TAILQ_HEAD(, agent_stat_svc) stat_svcs;
	TAILQ_HEAD(, agent_stat_stream) stat_streams;
	int			 stopping;
	int			 exit_code;
};

/* A stream the relay opened, while the agent connects to its target; once
 * connected, the tunnel's pump takes the socket and this record is done. */
struct agent_stream {
	TAILQ_ENTRY(agent_stream) entry;
	struct agent_tunnel	*at;
	uint32_t		 sid;
	char			 service[CFG_NAME_MAX + 1];
	char			 target[CFG_HOST_MAX + 16];
	char			 client[80];	/* the public client */
	uint64_t		 idle_ms;	/* the service's idle_timeout */
	int			 fd;	/* numeric target: connecting, or -1 */
	struct event		*wait;	/* its connect in progress */
	struct bufferevent	*resolve; /* host-name target: resolving and
					   connecting (the socket is ours) */
	int			 dead;
};
TAILQ_HEAD(agent_streams, agent_stream);

/* A service the relay refused (REGISTER_ERR): asked again with backoff
 * while the tunnel lives, since a reload on the relay may free or allow
 * its port. */
struct agent_refused {
	TAILQ_ENTRY(agent_refused) entry;
	char			 name[CFG_ADDR_NAME_MAX + 1];	/* as registered */
	char			 why[600];	/* the relay's last text */
};
TAILQ_HEAD(agent_refusals, agent_refused);

/* The agent's connection to the relay: dialling (TCP, resolver) until the
 * socket is connected, then the common tunnel (common/io/tunnel.h). */
struct agent_tunnel {
	struct agent		*agent;
	char			 relay[CFG_HOST_MAX + 16];	/* host:port */
	char			 peer[CFG_HOST_MAX + 32];	/* "relay host:port" */
	struct bufferevent	*conn;	/* dialling; the socket is ours */
	struct event		*dial_timer;	/* dialling deadline */
	SSL			*ssl;	/* until the tunnel takes it */
	struct tunnel		*tun;	/* once connected */
	struct agent_streams	 streams;	/* connecting to targets */
	char			*token;	/* tls.token_file's token, until sent */
	size_t			 token_len;
	struct agent_refusals	 refused;	/* services to register again */
	struct event		*reg_timer;	/* their next attempt */
	struct backoff		 reg_bo;
	uint64_t		 up_ms;	/* when READY, 0 before */
	int			 dead;	/* waiting for the gc */
	char			 reason[300];	/* why it ended */
};

/* agent.c */
struct agent *agent_new(struct agent_config *cfg, const char *path);
int	agent_run(struct agent *a);
void	agent_free(struct agent *a);
uint64_t agent_now_ms(void);
void	agent_gc(struct agent *a);
/* The tunnel ended (its reason is set): schedule a reconnect or exit. */
void	agent_tunnel_ended(struct agent *a, struct agent_tunnel *t);
/* "host:port" of the relay as configured ([v6] bracketed). */
char	*agent_relay_str(const struct agent_config *cfg, char *buf, size_t len);

/* agent_tunnel.c */
/* Start dialling the relay.  NULL when out of memory; otherwise failures
 * come back through agent_tunnel_ended(). */
struct agent_tunnel *agent_tunnel_new(struct agent *a);
void	agent_tunnel_register(struct agent_tunnel *t,
	    const struct agent_service *svc);
void	agent_tunnel_unregister(struct agent_tunnel *t, const char *name);
/* Graceful: GOAWAY, streams finish up to timeouts.shutdown, close. */
void	agent_tunnel_drain(struct agent_tunnel *t, uint32_t code,
	    const char *why);
/* Now: GOAWAY if possible, reset streams, close_notify, close. */
void	agent_tunnel_close(struct agent_tunnel *t, uint32_t code,
	    const char *why);
/* Free finished connect records; 1 if the tunnel itself is dead. */
int	agent_tunnel_gc(struct agent_tunnel *t);
void	agent_tunnel_free(struct agent_tunnel *t);
int	agent_tunnel_is_ready(const struct agent_tunnel *t);
/* Register every refused service again now (SIGHUP), not at the next
 * step of their backoff. */
void	agent_tunnel_retry_now(struct agent_tunnel *t);
/* The service is registered afresh (a reload changed it): its refusal,
 * if any, is history, and a new one is logged again. */
void	agent_tunnel_refused_forget(struct agent_tunnel *t, const char *name);

/* agent_forward.c */
/* Listen on every forward of the configuration (at start): 0, or -1 when
 * one cannot listen (logged; the caller gives up). */
int	agent_forward_start(struct agent *a);
/* After a reload: listeners follow the new forwards (a listener that
 * cannot be set up is logged and left out). */
void	agent_forward_apply(struct agent *a);
/* Close every listener (stopping); streams already open go on. */
void	agent_forward_stop(struct agent *a);

/* agent_stream.c */
/* The relay opened stream sid for service, for client (NULL: not said):
 * connect to the service's target (from our own configuration only), then
 * accept or refuse. */
void	agent_stream_open(struct agent_tunnel *t, uint32_t sid,
	    const char *service, const struct mux_peer *client);
/* Cancel a connect in progress (the tunnel is ending). */
void	agent_stream_abort(struct agent_stream *s);
void	agent_stream_free(struct agent_stream *s);

/* agent_admin.c */
/* The admin endpoint, when admin.listen is set: 0, or -1 with err. */
int	agent_admin_start(struct agent *a, char *err, size_t errlen);
void	agent_admin_stop(struct agent *a);
/* atlax-agent status: as relay_admin_status(). */
int	agent_admin_status(const struct agent_config *cfg, int json);
/* A stream's record before tunnel_stream_accept() (NULL: out of memory);
 * then start (counted; attach its counters to the pump) or free(). */
struct agent_stat_stream *agent_admin_stream_new(struct agent_tunnel *at,
	    const struct agent_stream *s);
void	agent_admin_stream_start(struct agent *a, struct agent_stat_stream *st);
/* The stream's pump is gone: the access log line, the record freed.
 * Accepts NULL. */
void	agent_admin_stream_end(struct agent *a, struct agent_stat_stream *st);
/* The tunnel at is freed: its streams that never said goodbye end. */
void	agent_admin_streams_lost(struct agent *a, struct agent_tunnel *at);
/* A connect to service's target failed or timed out. */
void	agent_admin_connect_failed(struct agent *a, const char *service);

#endif
