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

struct admin;
struct event;
struct event_base;
struct evconnlistener;
struct evbuffer;
struct jwt_claims;
struct jwt_keys;
struct mux;
struct registry;
struct relay_stats;
struct stats_agent;
struct stats_stream;
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

/* A loaded configuration and what is built from it: the SSL_CTX and, with
 * auth.jwt, the token keys and deny list (so a reload swaps them too). */
struct relay_conf {
	struct relay_config	*cfg;
	SSL_CTX			*ctx;
	struct jwt_keys		*jwt;	/* NULL: tokens not accepted */
	atomic_int		 refs;
};

struct relay {
	const char		*path;		/* config file, for reloads */
	pthread_mutex_t		 lock;		/* guards conf */
	struct relay_conf	*conf;
	struct registry		*reg;
	struct relay_stats	*stats;		/* its own mutex */
	struct admin		*admin;		/* main thread; NULL: off */
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

/* relay_admin.c */
/* The admin endpoint on the main thread's base, when admin.listen is set:
 * 0, or -1 with the reason in err. */
int	relay_admin_start(struct relay *r, const struct relay_config *cfg,
	    char *err, size_t errlen);
/* atlax-relay status: ask a running relay (cfg's admin.listen) for its
 * status and print it, a table or the JSON as it came.  Returns the exit
 * status: 0, or 1 with a message on stderr. */
int	relay_admin_status(const struct relay_config *cfg, int json);

/* relay_worker.c */
enum relay_cmd_type {
	RELAY_CMD_CONN,		/* a new agent connection: fd, peer */
	RELAY_CMD_REPLACE,	/* tunnel gen was replaced: drain it */
	RELAY_CMD_SPLICE,	/* open a stream on tunnel gen for service
				   with fd, one end of a splice */
};

struct relay_cmd {
	TAILQ_ENTRY(relay_cmd)	 entry;
	enum relay_cmd_type	 type;
	int			 fd;
	struct sockaddr_storage	 ss;
	uint64_t		 gen;
	/* SPLICE: the serving agent's service name, the connecting agent
	 * (identity and address, for the STREAM_OPEN and the logs). */
	char			 service[CFG_NAME_MAX + 1];
	char			 who[CFG_ID_MAX + 1];
	struct mux_peer		 peer;
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
	char			 id[CFG_ID_MAX + 1];	/* verified CN or sub */
	char			 peer[80];		/* "addr:port" */
	struct mux_peer		 peer_addr;		/* the same */
	/* The credential's grants: a verified token's claims (expose,
	 * connect, exp, jti), or NULL for a certificate identity, whose
	 * grants come from relay.yaml's agents: policy. */
	struct jwt_claims	*claims;
	char			*token;	/* kept to re-verify it on reload */
	size_t			 token_len;
	struct event		*expiry;	/* the token's exp: end */
	char			 hello_id[CFG_ID_MAX + 1]; /* HELLO's id */
	int			 has_cert;	/* a verified certificate */
	int			 want_token;	/* HELLO said AUTH follows */
	struct tunnel		*tun;
	struct stats_agent	*stats;	/* once READY (relay_stats.h) */
	struct public_svcs	 svcs;
	uint64_t		 open_log_ms;	/* agent's open last refused */
	unsigned		 open_quiet;	/* refusals since, not logged */
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
 * unbound, and private registrations it no longer grants end. */
void	relay_tunnel_recheck(struct relay_tunnel *rt);

/* relay_stream.c */
/* A stream for a new public connection on svc (takes fd): authorisation
 * re-checked under the current policy, the stream caps (per agent, per
 * service, per source address), then the tunnel opens it; refused
 * connections are reset, and logged once per burst. */
void	relay_stream_open(struct relay_tunnel *rt, struct public_svc *svc,
	    int fd, const struct sockaddr *client);
/* A stream ended (st is the stream's tag): the access log line, and its
 * source's count drops. */
void	relay_stream_gone(struct relay_tunnel *rt, struct stats_stream *st);
/* A socket address as STREAM_OPEN carries it (family 0: neither v4 nor
 * v6). */
void	relay_stream_peer(const struct sockaddr *sa, struct mux_peer *mp);

/* relay_private.c */
/* REGISTER with the private flag: name is "OWNER/SERVICE" (or SERVICE,
 * owned by the agent's identity); checked against the expose grants, put
 * in the registry's private table, answered (REGISTER_OK port 0 or
 * REGISTER_ERR). */
void	relay_private_register(struct relay_tunnel *rt, const char *name);
/* UNREGISTER of a private service: 1 if name was one (done), else 0. */
int	relay_private_unregister(struct relay_tunnel *rt, const char *name);
/* The agent opened stream sid to "OWNER/SERVICE": the connect grant, a
 * live server, then the splice (relay_splice.c); else STREAM_REFUSE. */
void	relay_private_open(struct relay_tunnel *rt, uint32_t sid,
	    const char *name);
/* After a reload: registrations the new policy no longer grants end
 * (REGISTER_ERR AUTH); their open streams finish. */
void	relay_private_recheck(struct relay_tunnel *rt,
	    const struct relay_config *cfg);
/* The tunnel serves no private service any more (draining, gone). */
void	relay_private_close_all(struct relay_tunnel *rt);

/* relay_splice.c */
/* Accept the agent's stream sid on one end of a new socket pair and hand
 * the other end to worker (SPLICE), which opens a stream on tunnel gen for
 * service.  On failure the stream is refused. */
void	relay_splice_start(struct relay_tunnel *rt, uint32_t sid,
	    const char *owner, const char *service, uint64_t gen, int worker);
/* On the serving tunnel's worker: the SPLICE command (takes cmd->fd). */
void	relay_splice_serve(struct relay_worker *w, struct relay_cmd *cmd);

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
