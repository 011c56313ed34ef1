/*
 * agent.h — the agent daemon's internals, shared by its modules.
 *
 * One thread, one event base.  struct agent owns the configuration, the
 * SSL_CTX, the DNS resolver, the reconnect backoff and at most one tunnel at
 * a time; the tunnel owns its streams.  Tunnels and streams reachable from
 * callbacks are marked dead and freed by the agent's gc event after the
 * callback returned (STYLE rule 5).
 */
#ifndef ATLAX_AGENT_H
#define ATLAX_AGENT_H

#include <sys/queue.h>

#include <stdint.h>

#include <openssl/ssl.h>

#include "backoff.h"
#include "cfg_agent.h"

#ifndef TAILQ_FOREACH_SAFE	/* glibc's sys/queue.h lacks it */
#define TAILQ_FOREACH_SAFE(var, head, field, tvar)			\
	for ((var) = TAILQ_FIRST(head);					\
	    (var) != NULL && ((tvar) = TAILQ_NEXT(var, field), 1);	\
	    (var) = (tvar))
#endif

struct bufferevent;
struct evbuffer;
struct event;
struct event_base;
struct evdns_base;
struct mux;
struct pump;
struct tlsio;

/* Keep at most this much TLS output queued; refill below half of it. */
#define AGENT_TLS_HIGH		(256 * 1024)
/* Plaintext the tunnel reads per loop turn before the targets get theirs. */
#define AGENT_READ_MAX		(256 * 1024)
#define AGENT_CLOSE_WAIT_MS	2000
#define AGENT_TICK_MS		5000

struct agent {
	const char		*path;
	struct agent_config	*cfg;
	SSL_CTX			*ctx;
	struct event_base	*base;
	struct evdns_base	*dns;
	struct event		*ev_sig[3];	/* TERM, INT, HUP */
	struct event		*retry;		/* reconnect timer */
	struct event		*gc;
	struct event		*tick;		/* mux_tick() */
	struct backoff		 bo;
	struct agent_tunnel	*tunnel;	/* current, or NULL */
	int			 stopping;
	int			 exit_code;
};

enum atun_state {
	ATUN_CONNECTING,	/* TCP and TLS */
	ATUN_HELLO,		/* TLS up, waiting for the relay's HELLO */
	ATUN_READY,		/* registered services, serving streams */
	ATUN_DRAINING,		/* GOAWAY: streams finish, no new ones */
	ATUN_CLOSING,		/* flushing, close_notify, waiting for peer */
	ATUN_DEAD,		/* waiting for the gc */
};

struct agent_stream {
	TAILQ_ENTRY(agent_stream) entry;
	struct agent_tunnel	*tunnel;
	uint32_t		 sid;
	char			 service[CFG_NAME_MAX + 1];
	char			 target[CFG_HOST_MAX + 16];
	struct bufferevent	*conn;	/* while connecting to the target */
	struct pump		*pump;	/* once connected */
	int			 dead;
};
TAILQ_HEAD(agent_streams, agent_stream);

struct agent_tunnel {
	struct agent		*agent;
	enum atun_state		 state;
	char			 relay[CFG_HOST_MAX + 16];	/* host:port */
	struct bufferevent	*conn;	/* resolving and connecting */
	SSL			*ssl;	/* until the tlsio takes it */
	struct tlsio		*tio;	/* once connected; owns the fd */
	struct mux		*mux;
	struct event		*timer;
	struct event		*ping;
	struct event		*flush;
	struct evbuffer		*pack;	/* mux_output() before tlsio_write() */
	struct agent_streams	 streams;
	uint64_t		 last_rx_ms;
	uint64_t		 up_ms;		/* when READY, 0 before */
	uint64_t		 ping_seq;
	int			 close_sent;
	int			 lost_logged;
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
/* Free dead streams; 1 if the tunnel itself is dead. */
int	agent_tunnel_gc(struct agent_tunnel *t);
void	agent_tunnel_free(struct agent_tunnel *t);
int	agent_tunnel_ready(const struct agent_tunnel *t);

/* agent_stream.c */
void	agent_stream_open(struct agent_tunnel *t, uint32_t sid,
	    const char *service);
void	agent_stream_data(struct agent_stream *s, struct evbuffer *data);
void	agent_stream_eof(struct agent_stream *s);
void	agent_stream_writable(struct agent_stream *s);
void	agent_stream_closed(struct agent_stream *s, uint32_t code);
void	agent_stream_abort(struct agent_stream *s);
void	agent_stream_free(struct agent_stream *s);

#endif
