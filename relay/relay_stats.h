/*
 * relay_stats.h — what the admin endpoint shows of the relay, shared by the
 * worker threads that count and the main thread that reads.
 *
 * Threads: an agent's entry, its services and its streams are created and
 * changed by the worker that owns the tunnel, always under the stats mutex
 * (an open, an end: never per byte); the main thread reads them under the
 * same mutex.  Bytes are counted by the streams' pumps in their own
 * struct pump_counters, one relaxed atomic add per read or write batch, no
 * lock.  RTT, open and total counts are atomics the worker updates.
 *
 * Memory: one entry per READY tunnel, per service it had streams on (at
 * most RELAY_STATS_SVC_MAX) and per open stream.  An agent's series vanish
 * from the pages at once when its tunnel leaves the registry (CLOSING); the
 * entry itself is freed with the tunnel.  The process-wide counters
 * (streams opened, refused and ended by reason, handshake failures) keep
 * counting across tunnels.
 */
#ifndef ATLAX_RELAY_STATS_H
#define ATLAX_RELAY_STATS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "cfg.h"
#include "pump.h"
#include "queue.h"

#define RELAY_STATS_SVC_MAX	256	/* itemised services per agent */
#define RELAY_STATS_CODES	32	/* mux codes counted by reason */

/* Why a TLS connection of an agent did not become a tunnel. */
enum relay_hs_fail {
	RELAY_HS_TLS,		/* the TLS handshake failed */
	RELAY_HS_NO_CERT,	/* no certificate, or one without a valid CN */
	RELAY_HS_BAD_HELLO,	/* HELLO missing or naming someone else */
	RELAY_HS_LIMIT,		/* limits.handshakes or max_agents */
	RELAY_HS_TIMEOUT,	/* timeouts.handshake passed */
	RELAY_HS_COUNT
};
const char *relay_stats_hs_name(enum relay_hs_fail f);

struct stats_agent;

/* One stream: the pump's counters, and what the access log names. */
struct stats_stream {
	TAILQ_ENTRY(stats_stream) entry;
	struct pump_counters	 c;
	struct stats_agent	*agent;
	struct stats_svc	*svc;	/* NULL: not itemised */
	void			*owner;	/* the worker's (relay: public_src) */
	char			 service[CFG_NAME_MAX + 1];
	char			 client[80];
	uint64_t		 start_ms;	/* monotonic */
	int			 listed;	/* started, in agent's list */
};

struct stats_svc {
	TAILQ_ENTRY(stats_svc)	 entry;
	char			 name[CFG_NAME_MAX + 1];
	uint64_t		 in, out;	/* of ended streams (lock) */
	atomic_uint		 open;
	atomic_uint_fast64_t	 total;
};

struct stats_agent {
	TAILQ_ENTRY(stats_agent) entry;
	char			 id[CFG_ID_MAX + 1];
	char			 peer[80];
	const char		*credential;	/* "certificate" | "token" */
	uint64_t		 gen;
	int64_t			 since;		/* wall clock, seconds */
	int			 listed;	/* in the stats' list */
	atomic_uint		 rtt_us;	/* smoothed, 0: unknown */
	atomic_uint		 open;
	atomic_uint_fast64_t	 total;
	unsigned		 nsvcs;
	TAILQ_HEAD(, stats_svc)	 svcs;
	TAILQ_HEAD(, stats_stream) streams;
};

struct relay_stats {
	pthread_mutex_t		 lock;
	TAILQ_HEAD(, stats_agent) agents;
	atomic_uint_fast64_t	 opened;
	atomic_uint_fast64_t	 refused[RELAY_STATS_CODES];
	atomic_uint_fast64_t	 ended[RELAY_STATS_CODES];
	atomic_uint_fast64_t	 hs_fail[RELAY_HS_COUNT];
};

struct relay_stats *relay_stats_new(void);
void	relay_stats_free(struct relay_stats *s);	/* accepts NULL */
void	relay_stats_refused(struct relay_stats *s, uint32_t code);
void	relay_stats_hs_failed(struct relay_stats *s, enum relay_hs_fail f);

/* A tunnel became READY: its entry, listed.  NULL when out of memory
 * (the tunnel then goes uncounted). */
struct stats_agent *relay_stats_agent_new(struct relay_stats *s,
	    const char *id, const char *peer, const char *credential,
	    uint64_t gen);
/* The tunnel left the registry: its series leave the pages. */
void	relay_stats_agent_unlist(struct relay_stats *s, struct stats_agent *a);
/* The tunnel is freed (no pump left): unlisted if need be, every stream
 * record still there freed (the access log names them, reason
 * TUNNEL_LOST), then a itself.  Accepts NULL. */
void	relay_stats_agent_free(struct relay_stats *s, struct stats_agent *a);

/* A record for a stream about to open on service for client (the tag of
 * its pump), or NULL when out of memory.  Nothing is counted yet: a stream
 * the tunnel cannot open is freed with free(). */
struct stats_stream *relay_stats_stream_new(struct stats_agent *a,
	    const char *service, const char *client, void *owner);
/* The stream opened: counted, listed; attach st->c to its pump. */
void	relay_stats_stream_start(struct relay_stats *s, struct stats_stream *st);
/* The stream is gone (its pump freed): the access log line, its bytes
 * folded into its service, the record freed.  Accepts NULL. */
void	relay_stats_stream_end(struct relay_stats *s, struct stats_stream *st);

#endif
