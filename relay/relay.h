/*
 * relay.h — the relay daemon's internals, shared by its modules.
 *
 * Threads and ownership:
 *  - the main thread owns struct relay, its event base, the agent listener
 *    and the signal events; it accepts agents' TCP connections and hands each
 *    fd to a worker, round robin (relay_worker_post);
 *  - each worker thread owns an event base and every tunnel it was handed,
 *    with that tunnel's public listeners and streams: nothing of a tunnel is
 *    touched from another thread;
 *  - shared between threads: the registry (its own mutex), the current
 *    configuration (struct relay_conf, refcounted, swapped on SIGHUP under
 *    relay->lock) and the workers' command queues (their own mutexes).
 *
 * Objects reachable from libevent callbacks are freed after the callback
 * returns: a dead tunnel or stream goes on its worker's garbage list and the
 * worker's gc event frees it (STYLE rule 5).
 */
#ifndef ATLAX_RELAY_H
#define ATLAX_RELAY_H

#include <sys/queue.h>
#include <sys/socket.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "cfg_relay.h"

#ifndef TAILQ_FOREACH_SAFE	/* glibc's sys/queue.h lacks it */
#define TAILQ_FOREACH_SAFE(var, head, field, tvar)			\
	for ((var) = TAILQ_FIRST(head);					\
	    (var) != NULL && ((tvar) = TAILQ_NEXT(var, field), 1);	\
	    (var) = (tvar))
#endif

struct bufferevent;
struct tlsio;
struct event;
struct event_base;
struct evconnlistener;
struct evbuffer;
struct mux;
struct mux_peer;
struct pump;
struct registry;
struct relay_worker;

/* accept(2) failing (EMFILE...): pause the listener this long instead of
 * spinning on a readable socket that cannot be accepted. */
#define RELAY_ACCEPT_PAUSE_MS	1000
/* Keep at most this much TLS output queued; refill below half of it. */
#define RELAY_TLS_HIGH	(256 * 1024)
/* Plaintext a tunnel reads per loop turn before other sockets get theirs. */
#define RELAY_READ_MAX	(256 * 1024)
/* After close_notify, how long to wait for the peer's. */
#define RELAY_CLOSE_WAIT_MS	2000
/* After a failed handshake, read and drop at most this much. */
#define RELAY_LINGER_MAX	(256 * 1024)

/* A loaded configuration and the SSL_CTX built from it. */
struct relay_conf {
	struct relay_config	*cfg;
	SSL_CTX			*ctx;
	atomic_int		 refs;
};

struct relay {
	const char		*path;		/* config file, for reloads */
	pthread_mutex_t		 lock;		/* guards conf */
	struct relay_conf	*conf;
	struct registry		*reg;
	atomic_uint_fast64_t	 next_gen;
	struct event_base	*base;		/* main thread */
	struct evconnlistener	*listener;
	struct event		*listen_pause;	/* accept(2) failing */
	struct event		*ev_sig[3];	/* TERM, INT, HUP */
	struct relay_worker	**workers;
	int			 nworkers;
	unsigned		 rr;
	int			 stopping;
};

/* relay.c */
struct relay *relay_new(struct relay_config *cfg, const char *path);
int	relay_run(struct relay *r);
void	relay_free(struct relay *r);
struct relay_conf *relay_conf_get(struct relay *r);	/* +1 ref */
void	relay_conf_put(struct relay_conf *c);		/* accepts NULL */
uint64_t relay_now_ms(void);				/* monotonic */
char	*relay_addr_str(const struct sockaddr *sa, char *buf, size_t len);

/* relay_worker.c */
enum relay_cmd_type {
	RELAY_CMD_CONN,		/* a new agent connection: fd, peer */
	RELAY_CMD_REPLACE,	/* tunnel gen was replaced: drain it */
	RELAY_CMD_SHUTDOWN,	/* drain everything, then exit the thread */
};

struct relay_cmd {
	TAILQ_ENTRY(relay_cmd)	 entry;
	enum relay_cmd_type	 type;
	int			 fd;
	struct sockaddr_storage	 ss;
	uint64_t		 gen;
};

TAILQ_HEAD(relay_tunnels, tunnel);

struct relay_worker {
	struct relay		*relay;
	int			 idx;
	pthread_t		 thread;
	int			 started;
	struct event_base	*base;
	struct event		*wake;
	struct event		*gc;
	struct event		*tick;
	pthread_mutex_t		 lock;		/* guards cmds */
	TAILQ_HEAD(, relay_cmd)	 cmds;
	struct relay_tunnels	 tunnels;
	int			 stopping;
};

struct relay_worker *relay_worker_new(struct relay *r, int idx);
int	relay_worker_start(struct relay_worker *w);
/* Queue a command (any thread); takes cmd.  Returns -1 if it cannot. */
int	relay_worker_post(struct relay_worker *w, struct relay_cmd *cmd);
void	relay_worker_join(struct relay_worker *w);
void	relay_worker_free(struct relay_worker *w);	/* accepts NULL */
void	relay_worker_gc(struct relay_worker *w);	/* schedule a gc pass */

/* relay_tunnel.c */
enum tunnel_state {
	TUNNEL_HANDSHAKE,	/* TLS, then waiting for the agent's HELLO */
	TUNNEL_READY,		/* registered, serving */
	TUNNEL_DRAINING,	/* GOAWAY sent: streams finish, no new ones */
	TUNNEL_CLOSING,		/* flushing, close_notify, waiting for peer */
	TUNNEL_DEAD,		/* waiting for the gc */
};

struct relay_stream {
	TAILQ_ENTRY(relay_stream) entry;
	struct tunnel		*tunnel;
	struct pump		*pump;
	int			 dead;
	char			 label[256];	/* "id/service client" */
};
TAILQ_HEAD(relay_streams, relay_stream);

struct public_svc {
	TAILQ_ENTRY(public_svc)	 entry;
	struct tunnel		*tunnel;
	char			 name[CFG_NAME_MAX + 1];
	uint16_t		 port;
	int			 fd;	/* the listening socket, or -1 */
	struct event		*lev;	/* its EV_READ: accept one client */
	struct event		*pause;	/* accept(2) failing: retry later */
};
TAILQ_HEAD(public_svcs, public_svc);

struct tunnel {
	TAILQ_ENTRY(tunnel)	 entry;
	struct relay_worker	*w;
	struct relay_conf	*conf;	/* the config it was accepted under */
	uint64_t		 gen;
	enum tunnel_state	 state;
	char			 id[CFG_ID_MAX + 1];	/* verified CN */
	char			 peer[80];		/* "addr:port" */
	char			 name[CFG_ID_MAX + 90];	/* for log lines */
	struct tlsio		*tio;	/* the TLS connection, owns the fd */
	struct mux		*mux;
	struct event		*timer;	/* handshake / drain / close deadline */
	struct event		*ping;
	struct event		*flush;
	struct evbuffer		*pack;	/* mux_output() before tlsio_write() */
	struct event		*linger;	/* failed handshake */
	size_t			 lingered;
	struct relay_streams	 streams;
	struct public_svcs	 svcs;
	int			 attached;	/* in the registry */
	int			 close_sent;	/* SSL_shutdown() done */
	uint64_t		 last_rx_ms;
	uint64_t		 ping_seq;
	uint64_t		 up_ms;
};

struct tunnel *tunnel_new(struct relay_worker *w, int fd,
	    const struct sockaddr *peer);
/* Graceful: GOAWAY(code), stop accepting, streams finish up to the
 * shutdown timeout, then close. */
void	tunnel_drain(struct tunnel *t, uint32_t code, const char *text);
/* Now: GOAWAY(code) if the peer can still hear it, reset every stream,
 * close_notify, close. */
void	tunnel_close(struct tunnel *t, uint32_t code, const char *why);
void	tunnel_free(struct tunnel *t);
/* Garbage pass: free dead streams; 1 if the tunnel itself is dead. */
int	tunnel_gc(struct tunnel *t);
const char *tunnel_state_name(enum tunnel_state s);

/* relay_stream.c */
/* A stream for a new public connection on svc (takes fd). */
void	relay_stream_open(struct tunnel *t, struct public_svc *svc, int fd,
	    const struct sockaddr *client);
/* Reset every stream's socket now: the tunnel is gone. */
void	relay_stream_abort_all(struct tunnel *t);
/* Free dead streams, or every stream when all is set. */
void	relay_stream_gc(struct tunnel *t, int all);
/* The mux's stream callbacks (sarg: struct relay_stream, or NULL). */
void	relay_stream_on_open(struct mux *, uint32_t, const char *,
	    const struct mux_peer *, void *);
void	relay_stream_on_accepted(struct mux *, uint32_t, void *);
void	relay_stream_on_data(struct mux *, uint32_t, struct evbuffer *,
	    void *);
void	relay_stream_on_eof(struct mux *, uint32_t, void *);
void	relay_stream_on_closed(struct mux *, uint32_t, uint32_t, const char *,
	    void *);
void	relay_stream_on_writable(struct mux *, uint32_t, void *);

/* relay_public.c */
void	public_register(struct tunnel *t, const char *name, uint16_t want);
void	public_unregister(struct tunnel *t, const char *name);
/* Stop accepting (listeners closed, ports stay in the registry). */
void	public_close_all(struct tunnel *t);

#endif
