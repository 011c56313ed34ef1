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
 * returns: a dead tunnel stays on its worker's list, marked dead, until the
 * worker's gc event frees it; a finished stream's pump is freed by its
 * tunnel's own gc event (common/io/tunnel.c).
 */
#ifndef ATLAX_RELAY_H
#define ATLAX_RELAY_H

#include <sys/socket.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "cfg_relay.h"
#include "mux.h"
#include "queue.h"

struct event;
struct event_base;
struct evconnlistener;
struct evbuffer;
struct jwt_claims;
struct mux;
struct registry;
struct tunnel;
struct public_src;
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

/* Handshake failures with no certificate behind them (scanners, port
 * probes, TLS without a client certificate, silence): this many logged per
 * RELAY_NOISE_WINDOW_MS, the rest counted and summed up once per window. */
#define RELAY_NOISE_LOGGED	5
#define RELAY_NOISE_WINDOW_MS	10000
/* One identity replaced more than RELAY_FLAP_REPLACES times within
 * RELAY_FLAP_WINDOW_MS: two agents share it.  Said at most once a window;
 * RELAY_FLAP_IDS identities are followed at once (the oldest gives way). */
#define RELAY_FLAP_REPLACES	3
#define RELAY_FLAP_WINDOW_MS	60000
#define RELAY_FLAP_IDS		32

struct relay_flap {
	char		 id[CFG_ID_MAX + 1];	/* "" = free */
	uint64_t	 since_ms;	/* start of the window */
	uint64_t	 warned_ms;	/* last warning, 0 = none */
	unsigned	 replaces;	/* within the window */
	char		 last[80];	/* the newest tunnel's address */
	char		 prev[80];	/* the one it replaced */
};

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
	atomic_int		 handshaking;	/* tunnels not yet READY */
	uint64_t		 hs_refuse_log_ms;	/* main thread only */
	unsigned		 hs_refuse_quiet;
	struct event_base	*base;		/* main thread */
	struct evconnlistener	*listener;
	struct event		*listen_pause;	/* accept(2) failing */
	struct event		*expiry_ev;	/* the daily expiry guard */
	struct event		*noise_ev;	/* every RELAY_NOISE_WINDOW_MS */
	atomic_uint		 noise_logged;	/* in this window */
	atomic_uint		 noise_quiet;	/* suppressed in this window */
	pthread_mutex_t		 flap_lock;	/* guards flaps */
	struct relay_flap	 flaps[RELAY_FLAP_IDS];
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
/* Whether a handshake failure without a certificate may be logged now
 * (any thread); if not, it is counted for the window's summary line. */
int	relay_noise_may_log(struct relay *r);
/* Tunnel id from address now replaced an older one from the address of
 * id's previous tunnel (any thread): warns when two agents take turns. */
void	relay_flap_note(struct relay *r, const char *id, const char *addr,
	    int replaced);

/* relay_worker.c */
enum relay_cmd_type {
	RELAY_CMD_CONN,		/* a new agent connection: fd, peer */
	RELAY_CMD_REPLACE,	/* tunnel gen was replaced: drain it */
};

struct relay_cmd {
	TAILQ_ENTRY(relay_cmd)	 entry;
	enum relay_cmd_type	 type;
	int			 fd;
	struct sockaddr_storage	 ss;
	uint64_t		 gen;
};

TAILQ_HEAD(relay_tunnels, relay_tunnel);

struct relay_worker {
	struct relay		*relay;
	int			 idx;
	pthread_t		 thread;
	int			 started;
	struct event_base	*base;
	struct event		*wake;
	struct event		*gc;
	pthread_mutex_t		 lock;		/* guards cmds */
	TAILQ_HEAD(, relay_cmd)	 cmds;
	struct relay_tunnels	 tunnels;
	atomic_int		 stop;		/* relay_worker_stop() asked */
	atomic_int		 recheck;	/* relay_worker_recheck() asked */
	int			 stopping;
};

struct relay_worker *relay_worker_new(struct relay *r, int idx);
int	relay_worker_start(struct relay_worker *w);
/* Queue a command (any thread); takes cmd.  Cannot fail: the queue is a
 * list and the wake-up an event_active(). */
void	relay_worker_post(struct relay_worker *w, struct relay_cmd *cmd);
/* Drain every tunnel, then end the thread (any thread; never fails, so a
 * stopping relay needs no memory). */
void	relay_worker_stop(struct relay_worker *w);
/* The configuration was reloaded: re-check every tunnel against it (any
 * thread; never fails). */
void	relay_worker_recheck(struct relay_worker *w);
void	relay_worker_join(struct relay_worker *w);
void	relay_worker_free(struct relay_worker *w);	/* accepts NULL */
void	relay_worker_gc(struct relay_worker *w);	/* schedule a gc pass */

/* relay_tunnel.c */
struct public_svc {
	TAILQ_ENTRY(public_svc)	 entry;
	struct relay_tunnel	*rt;
	char			 name[CFG_NAME_MAX + 1];
	uint16_t		 port;
	int			 fd;	/* the listening socket, or -1 */
	struct event		*lev;	/* its EV_READ: accept one client */
	struct event		*pause;	/* accept(2) failing: retry later */
	struct event		*retry;	/* bind: the port is not free yet */
	uint16_t		 want;	/* the port asked for, 0: any */
	int			 binding;	/* claimed, not yet listening */
	unsigned		 picks;	/* automatic ports found in use */
	uint64_t		 rebind_until;	/* retry the bind until then */
	unsigned		 nstreams;	/* open streams (pumps tagged) */
	TAILQ_HEAD(, public_src) srcs;	/* their source addresses */
	uint64_t		 refuse_log_ms;	/* last refusal logged */
	unsigned		 refuse_quiet;	/* refusals since, not logged */
	int			 gone;	/* withdrawn: freed with its last stream */
};
TAILQ_HEAD(public_svcs, public_svc);

/* One source address with streams open on a service (the streams' tag). */
struct public_src {
	TAILQ_ENTRY(public_src)	 entry;
	struct public_svc	*svc;
	struct mux_peer		 addr;	/* port 0: the address alone */
	unsigned		 n;	/* its open streams */
};

/* One agent's tunnel on a worker: the common tunnel (common/io/tunnel.h)
 * plus what only the relay knows: the verified identity, the registry
 * entry, the public listeners. */
struct relay_tunnel {
	TAILQ_ENTRY(relay_tunnel) entry;
	struct relay_worker	*w;
	struct relay_conf	*conf;	/* the config it was accepted under */
	uint64_t		 gen;
	char			 id[CFG_ID_MAX + 1];	/* verified CN */
	char			 peer[80];		/* "addr:port" */
	/* The credential's grants: a verified token's claims (expose,
	 * connect, exp, jti), or NULL for a certificate identity, whose
	 * grants come from relay.yaml's agents: policy. */
	struct jwt_claims	*claims;
	struct tunnel		*tun;
	struct public_svcs	 svcs;
	int			 attached;	/* in the registry */
	int			 refused;	/* the refusal was logged */
	int			 handshaking;	/* counted in relay->handshaking */
	int			 dead;		/* waiting for the worker's gc */
};

struct relay_tunnel *relay_tunnel_new(struct relay_worker *w, int fd,
	    const struct sockaddr *peer);
/* Graceful: GOAWAY(code), stop accepting, streams finish up to the
 * shutdown timeout, then close. */
void	relay_tunnel_drain(struct relay_tunnel *rt, uint32_t code,
	    const char *text);
/* Free after the callback that made it dead returned.  Accepts NULL. */
void	relay_tunnel_free(struct relay_tunnel *rt);
/* The tunnel's name in log lines: its identity once known. */
const char *relay_tunnel_name(const struct relay_tunnel *rt);
/* After a reload: a certificate the new CRL or CA no longer accepts ends
 * the tunnel (GOAWAY AUTH); ports the new policy no longer grants are
 * unbound. */
void	relay_tunnel_recheck(struct relay_tunnel *rt);

/* relay_stream.c */
/* A stream for a new public connection on svc (takes fd): authorisation
 * re-checked under the current policy, the stream caps (per agent, per
 * service, per source address), then the tunnel opens it; refused
 * connections are reset, and logged once per burst. */
void	relay_stream_open(struct relay_tunnel *rt, struct public_svc *svc,
	    int fd, const struct sockaddr *client);
/* A stream ended: its source's count drops (src is the stream's tag). */
void	relay_stream_gone(struct relay_tunnel *rt, struct public_src *src);

/* relay_public.c */
void	relay_public_register(struct relay_tunnel *rt, const char *name,
	    uint16_t want);
void	relay_public_unregister(struct relay_tunnel *rt, const char *name);
/* Stop accepting: listeners closed (ports stay in the registry). */
void	relay_public_close_all(struct relay_tunnel *rt);
/* A stream of svc ended (svc may be freed). */
void	relay_public_stream_gone(struct relay_tunnel *rt,
	    struct public_svc *svc);
/* The new policy no longer grants port: unbind it and tell the agent. */
void	relay_public_revoke(struct relay_tunnel *rt, uint16_t port,
	    uint32_t code, const char *text);
/* Free every service, listening or withdrawn (the tunnel is freed). */
void	relay_public_free_all(struct relay_tunnel *rt);

#endif
