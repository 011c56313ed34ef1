/*
 * mux_int.h — internals shared by mux.c (tunnel: input, output, control),
 * mux_stream.c (stream table and stream calls) and mux_budget.c (the send
 * budget).  Not for the application.
 */
#ifndef ATLAX_MUX_INT_H
#define ATLAX_MUX_INT_H

#include <sys/queue.h>

#include "flow.h"
#include "frame.h"
#include "mux.h"

#define MUX_GLITCH_MAX	1000	/* flood budget, PROTOCOL.md section 6 */
#define MUX_ANSWERS_MAX	4096	/* provoked answers queued unsent */
/*
 * How long the minimum RTT stands without a sample as low.  Window tuning
 * needs the path's RTT without the queues a bulk stream fills itself, and
 * samples come with the heartbeat (15 s by default), most of them taken
 * under load: the minimum must outlive several.  The price: if the path's
 * RTT really grows, windows size for the old one this long.
 */
#define MUX_RTT_MIN_US	120000000U
/*
 * A stream that becomes ready with at most this much queued is sparse (an
 * interactive one: a keystroke, a request): it goes ahead of the streams
 * that keep a backlog, for one frame of at most this size, as fq_codel's
 * new flows do.  One TLS record.
 */
#define MUX_SPARSE_MAX	(16U * 1024)

/* Named stream states (PROTOCOL.md section 3), derived from the flags. */
enum mux_sstate {
	MUX_S_OPENING_OUT,
	MUX_S_OPENING_IN,
	MUX_S_OPEN,
	MUX_S_HALF_CLOSED_LOCAL,
	MUX_S_HALF_CLOSED_REMOTE,
	MUX_S_CLOSED,
	MUX_S_FREED,
};

/* Deferred events (run at the top of mux_output / end of mux_input). */
#define MUX_EV_DELIVER	0x1	/* hand buffered data (and EOF) to the app */
#define MUX_EV_DONE	0x2	/* check for a clean close */

struct mux_stream {
	/* Ordered so that nothing is padding: an idle stream costs what
	 * PROTOCOL.md section 9 says (120 bytes on x86-64). */
	uint32_t		 sid;
	unsigned		 local:1;	/* we opened it */
	unsigned		 accepted:1;	/* ACCEPT sent or received */
	unsigned		 fin_recv:1;	/* peer's FIN arrived */
	unsigned		 eof_pending:1;	/* fin_recv not yet told to app */
	unsigned		 fin_queued:1;	/* app called shutdown */
	unsigned		 fin_sent:1;	/* our FIN is out */
	unsigned		 blocked:1;	/* a write was cut short */
	unsigned		 ready:1;	/* on m->ready */
	unsigned		 dead:1;	/* freed, on m->graveyard */
	unsigned		 bwait:1;	/* on m->bwait */
	unsigned		 win_paid:1;	/* DATA sent since the peer's last
						   WINDOW_UPDATE for it */
	unsigned		 evflags:2;	/* MUX_EV_*, on m->evq if != 0 */
	unsigned		 sparse:1;	/* on m->ready ahead of the rest */
	void			*sarg;
	uint32_t		 send_credit;	/* peer's window for us */
	uint32_t		 woken;		/* == m->wake_gen: woken */
	struct flow_recv	 rxf;		/* our window for the peer */
	uint32_t		 held;		/* delivered, not consumed
						   (<= rxf.window) */
	struct evbuffer		*tx;		/* queued to send (lazy) */
	struct evbuffer		*rx;		/* received, left by app (lazy) */
	struct mux_stream	*hnext;		/* hash chain */
	TAILQ_ENTRY(mux_stream)	 rentry;	/* m->ready */
	TAILQ_ENTRY(mux_stream)	 eentry;	/* m->evq or m->dead */
	TAILQ_ENTRY(mux_stream)	 bentry;	/* m->bwait */
};
TAILQ_HEAD(mux_slist, mux_stream);

struct mux {
	enum mux_role		 role;
	struct mux_settings	 set;
	char			 identity[FRAME_NAME_MAX + 1];
	char			 label[MUX_LABEL_MAX + 1];
	struct mux_callbacks	 cb;
	void			*arg;

	/* What the peer told us in its HELLO. */
	int			 hello_recv;
	uint32_t		 peer_stream_window;
	uint32_t		 peer_max_frame;
	uint32_t		 peer_max_streams;

	uint32_t		 send_credit;	/* tunnel, peer's window */
	struct flow_recv	 rxf;		/* tunnel, our window */
	int			 win_paid;	/* DATA sent since the peer's last
						   tunnel WINDOW_UPDATE */
	uint32_t		 wmax;		/* stream windows grow to this */

	/* Clock and round-trip time (auto-tuning). */
	uint64_t		(*now_us)(void *);
	void			*now_arg;
	uint32_t		 rtt_us;	/* smoothed, 0 = unknown */
	uint32_t		 rtt_min_us;	/* windowed minimum, 0 = unknown */
	uint32_t		 rtt_min_at;	/* when rtt_min_us was taken */
	uint32_t		 rtt_next_us;	/* lowest sample since, 0: none */
	int			 ping_timed;	/* a PING of ours is timed */
	uint64_t		 ping_opaque;
	uint32_t		 ping_sent_us;

	uint32_t		 last_local_sid;
	uint32_t		 last_peer_sid;

	/* Stream table: chained hash, power-of-two buckets. */
	struct mux_stream	**buckets;
	uint32_t		 nbuckets;
	size_t			 count;
	size_t			 nlocal;	/* opened by us */
	size_t			 nremote;	/* opened by the peer */

	struct mux_slist	 ready;		/* streams with sendable data:
						   sparse ones first */
	struct mux_stream	*sparse_last;	/* last sparse one, or NULL */
	struct mux_slist	 evq;		/* deferred events */
	struct mux_slist	 graveyard;	/* freed after the callbacks */

	/* Send budget (set.send_budget != 0): bytes in every s->tx; streams
	 * cut short by the budget wait on bwait, in order; the ones woken
	 * and not yet written carry woken == wake_gen. */
	size_t			 tx_bytes;
	struct mux_slist	 bwait;
	size_t			 nwoken;
	uint32_t		 wake_gen;

	struct evbuffer		*ctlq;		/* encoded control frames */
	struct evbuffer		*rxbuf;		/* data being delivered */

	unsigned		 answers;	/* provoked answers in ctlq */
	unsigned		 pongs;		/* PONGs in ctlq */
	unsigned		 glitch;	/* flood budget used */
	unsigned		 pings_out;	/* our PINGs not yet answered */
	uint32_t		 goaway_last;	/* lowest last_sid received */

	int			 goaway_sent;
	int			 goaway_recv;
	int			 dead;		/* fatal error: no more I/O */
	int			 err;		/* the fatal error */
	int			 depth;		/* nesting of API calls */
	int			 want;		/* want_output signalled */
	int			 in_output;
	long			 alloc_fail;	/* test hook, -1 = off */
};

/* mux.c */
int	mux_alloc_ok(struct mux *);
int	mux_queue_ctl(struct mux *, const struct frame_ctl *);
int	mux_queue_answer(struct mux *, const struct frame_ctl *);
int	mux_queue_reset(struct mux *, uint32_t, uint32_t);
int	mux_queue_window(struct mux *, uint32_t, uint32_t);
int	mux_fatal(struct mux *, int, uint32_t, const char *, ...)
	    __attribute__((format(printf, 4, 5)));
void	mux_want(struct mux *);
void	mux_enter(struct mux *);
void	mux_leave(struct mux *);
int	mux_glitch(struct mux *, unsigned);
void	mux_progress(struct mux *);
int	mux_tunnel_consumed(struct mux *, size_t);
int	mux_sid_local(const struct mux *, uint32_t);
int	mux_sid_never_opened(const struct mux *, uint32_t);
uint32_t mux_now(const struct mux *);

/* mux_stream.c */
struct mux_stream *mux_stream_find(const struct mux *, uint32_t);
struct mux_stream *mux_stream_new(struct mux *, uint32_t, int);
void	mux_stream_close(struct mux *, struct mux_stream *, uint32_t,
	    const char *, int);
void	mux_stream_close_all(struct mux *, uint32_t, const char *);
int	mux_stream_abort(struct mux *, struct mux_stream *, uint32_t);
void	mux_stream_ready_update(struct mux *, struct mux_stream *);
void	mux_stream_ready_requeue(struct mux *, struct mux_stream *);
void	mux_stream_ready_remove(struct mux *, struct mux_stream *);
void	mux_stream_defer(struct mux *, struct mux_stream *, unsigned);
void	mux_stream_run_events(struct mux *);
void	mux_stream_reap(struct mux *);
void	mux_stream_deliver(struct mux *, struct mux_stream *);
void	mux_stream_check_done(struct mux *, struct mux_stream *);
enum mux_sstate mux_stream_state(const struct mux_stream *);
const char *mux_stream_state_name(enum mux_sstate);
void	mux_stream_log(struct mux *, struct mux_stream *, enum mux_sstate);
int	mux_stream_input(struct mux *, uint32_t, struct evbuffer *, uint32_t);
int	mux_stream_ctl(struct mux *, const struct frame_ctl *);
size_t	mux_stream_space(const struct mux *, const struct mux_stream *);
void	mux_stream_writable(struct mux *, struct mux_stream *);
size_t	mux_stream_room(const struct mux *, const struct mux_stream *);

/* mux_budget.c */
size_t	mux_budget_space(const struct mux *, const struct mux_stream *);
void	mux_budget_enqueue(struct mux *, struct mux_stream *);
void	mux_budget_leave(struct mux *, struct mux_stream *);
int	mux_budget_wants(const struct mux *);
void	mux_budget_wake(struct mux *);

#endif
