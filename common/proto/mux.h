/*
 * mux.h — the tunnel's stream multiplexer, free of sockets and event loops.
 *
 * Bytes from the tunnel go in with mux_input(); bytes for the tunnel come out of
 * mux_output(); everything else is calls from the application and callbacks to
 * it.  The wire format is docs/PROTOCOL.md.  No globals: two muxes in one
 * process (the tests) never meet.
 *
 * Ownership:
 *  - the mux owns its streams' send queues and control queue; the application
 *    owns the evbuffers it passes in and out (the mux moves bytes, never keeps a
 *    pointer to them past the call);
 *  - a stream's application pointer (sarg) is the application's; the mux hands
 *    it back in callbacks and forgets it after stream_closed.
 *
 * Re-entrancy: callbacks run inside mux_input(), mux_output() and mux_free();
 * the stream calls and the tunnel-level calls fire at most want_output (data
 * left over at accept time, EOF and clean closes found by
 * mux_stream_consumed() are delivered from the next mux_output(), which
 * want_output asks for) - except a call that ends the tunnel (mux_goaway()
 * with an error code, an allocation failure), inside which every stream
 * gets its stream_closed.  A callback may call any mux function, including
 * mux_stream_reset() on its own stream, except mux_input() (refused with
 * MUX_EINVAL) and mux_free().  A stream freed inside a callback stays valid
 * memory until the outermost mux call returns.
 *
 * Typical use with libevent (one tunnel, see relay_tunnel.c):
 *  - tunnel input callback: mux_input(m, plaintext); on a fatal error flush
 *    mux_output() and close once the output has drained;
 *  - want_output, and the TLS layer's "queue drained" callback: while the
 *    ciphertext queue is below its high mark, mux_output(m, buf, room) and
 *    encrypt buf - mux_output() stops at room and does not ask again
 *    (want_output) for what it left, so loop while mux_has_output(); large
 *    pulls batch many frames into large TLS records;
 *  - stream socket read callback: mux_stream_write(m, sid, input, &moved);
 *    if input still holds bytes, disable EV_READ until stream_writable;
 *  - stream_data: evbuffer_add_buffer(socket output, data); report the bytes
 *    the kernel took with mux_stream_consumed() (evbuffer_add_cb() on the
 *    socket's output gives n_deleted);
 *  - stream_eof: shutdown(fd, SHUT_WR) once the socket output is empty;
 *  - stream_closed: code NONE: close(); otherwise reset the socket
 *    (SO_LINGER 0) so the client sees the stream was incomplete;
 *  - a timer every few seconds: mux_ping() as the heartbeat, mux_tick();
 *  - after mux_new(): mux_set_clock() with the loop's monotonic clock, and a
 *    mux_ping() as soon as the tunnel is READY, so that stream windows can
 *    grow to the path's bandwidth-delay product (stream_window_max).
 *
 * Errors: functions return 0 (or a count) on success and a negative MUX_E*
 * value on failure; mux_strerror() names it.  mux_is_fatal() tells whether the
 * error ends the tunnel (the mux has then queued a GOAWAY: flush mux_output()
 * and close) or only a stream.
 */
#ifndef ATLAX_MUX_H
#define ATLAX_MUX_H

#include <stddef.h>
#include <stdint.h>

struct evbuffer;
struct mux;

/* Reason codes on the wire (RESET, REFUSE, REGISTER_ERR, GOAWAY); the table
 * with each code's meaning and the reaction it calls for is in PROTOCOL.md. */
enum mux_code {
	MUX_CODE_NONE = 0,		/* no error: clean close, plain goaway */
	MUX_CODE_PROTOCOL = 1,		/* malformed or out-of-state frame */
	MUX_CODE_INTERNAL = 2,		/* the sender hit an internal error */
	MUX_CODE_FLOW = 3,		/* data beyond a window, window overflow */
	MUX_CODE_FRAME_SIZE = 4,	/* frame longer than the negotiated max */
	MUX_CODE_VERSION = 5,		/* protocol version not supported */
	MUX_CODE_FLOOD = 6,		/* too many frames that carry nothing */
	MUX_CODE_LIMIT = 7,		/* too many streams */
	MUX_CODE_CANCEL = 8,		/* stream no longer wanted */
	MUX_CODE_REFUSED = 9,		/* target refused the connection */
	MUX_CODE_UNREACHABLE = 10,	/* target unreachable / timed out */
	MUX_CODE_UNKNOWN_SERVICE = 11,	/* no such service */
	MUX_CODE_PORT_IN_USE = 12,	/* requested port taken */
	MUX_CODE_PORT_RANGE = 13,	/* requested port outside the range */
	MUX_CODE_PORT_DENIED = 14,	/* port not allowed for this identity */
	MUX_CODE_NO_PORTS = 15,		/* range exhausted */
	MUX_CODE_AUTH = 16,		/* identity mismatch / not authorised */
	MUX_CODE_SHUTDOWN = 17,		/* peer is shutting down */
	MUX_CODE_REPLACED = 18,		/* a newer tunnel for the identity */
	MUX_CODE_TIMEOUT = 19,		/* peer silent too long */
	MUX_CODE_TUNNEL_LOST = 20,	/* local only: the tunnel died */
	MUX_CODE_DUPLICATE = 21,	/* service name registered twice */
};

/* REGISTER flags. */
#define MUX_REG_PRIVATE	0x1		/* a private service: no public port */

/* Negative error values returned by mux functions. */
enum mux_err {
	MUX_EPROTO = -1,	/* tunnel-fatal: protocol violation */
	MUX_EFLOW = -2,		/* tunnel-fatal: flow control violated */
	MUX_EFRAMESIZE = -3,	/* tunnel-fatal: frame too long */
	MUX_EVERSION = -4,	/* tunnel-fatal: version mismatch */
	MUX_EFLOOD = -5,	/* tunnel-fatal: flood of empty frames */
	MUX_ENOMEM = -6,	/* tunnel-fatal: allocation failed */
	MUX_EGOAWAY = -7,	/* tunnel-fatal: peer sent GOAWAY with error */
	MUX_ELIMIT = -8,	/* stream: too many streams, cannot open */
	MUX_ENOSTREAM = -9,	/* stream: no such stream */
	MUX_ESTATE = -10,	/* stream: call not valid in stream's state */
	MUX_EINVAL = -11,	/* bad argument */
	MUX_ECLOSING = -12,	/* tunnel going away: no new streams */
	MUX_ECLOSED = -13,	/* tunnel-fatal: we ended it (mux_goaway with
				   an error code) */
};

enum mux_role {
	MUX_ROLE_RELAY,		/* opens odd stream IDs */
	MUX_ROLE_AGENT,		/* opens even stream IDs */
};

/*
 * What this side advertises in its HELLO and enforces on the peer (the first
 * five), and local policy the peer never sees (the rest).  A zeroed field of
 * the local part keeps the behaviour of a mux without it, so callers that
 * memset the struct and fill the first five still work.
 */
struct mux_settings {
	uint32_t stream_window;	/* initial receive window per stream, bytes */
	uint32_t tunnel_window;	/* receive window for the whole tunnel, bytes */
	uint32_t max_frame;	/* largest DATA payload we accept */
	uint32_t max_streams;	/* streams the peer may hold open at once */
	const char *identity;	/* agent: its configured id (sent in HELLO) */
	/* Prefix of every log line of this mux, e.g. "tunnel home-nas"
	 * (copied, at most MUX_LABEL_MAX bytes kept; the caller sanitises
	 * it).  NULL or "": "tunnel". */
	const char *label;
	/* Bytes the send queues of all streams together may hold; 0: no cap
	 * but the per-stream one (streams x stream_window). */
	size_t	 send_budget;
	/* Receive windows grow per stream from stream_window up to this
	 * (and at most tunnel_window / 4) when the consumer keeps up and the
	 * window limits the rate (PROTOCOL.md section 4); it needs a clock
	 * (mux_set_clock()) and an RTT.  0 or <= stream_window: no growth. */
	uint32_t stream_window_max;
	/* HELLO flags we send (MUX_HELLO_*); the relay sends 0. */
	uint16_t hello_flags;
};

/* HELLO flags. */
#define MUX_HELLO_AUTH	0x1	/* agent: a token (AUTH) follows the HELLO */

#define MUX_LABEL_MAX	80

/* A public client's address as carried in STREAM_OPEN. */
struct mux_peer {
	uint8_t family;		/* 4 or 6 */
	uint8_t addr[16];	/* network order; first 4 bytes for IPv4 */
	uint16_t port;		/* host order */
};

/* Control messages the application sees (PING/PONG/WINDOW are internal). */
enum mux_ctl_type {
	MUX_CTL_HELLO,		/* peer's HELLO accepted: tunnel usable */
	MUX_CTL_REGISTER,	/* agent -> relay: expose a service */
	MUX_CTL_REGISTER_OK,	/* relay -> agent: bound at port */
	MUX_CTL_REGISTER_ERR,	/* relay -> agent: refused, code + text */
	MUX_CTL_UNREGISTER,	/* agent -> relay: stop exposing a service */
	MUX_CTL_GOAWAY,		/* peer is shutting the tunnel down */
	MUX_CTL_PONG,		/* answer to our mux_ping() */
	MUX_CTL_AUTH,		/* agent -> relay: a token (JWT) */
};

struct mux_ctl {
	enum mux_ctl_type type;
	const char *name;	/* HELLO: peer identity; REGISTER*: service */
	uint16_t port;		/* REGISTER: requested (0 = any); _OK: bound */
	uint32_t flags;		/* REGISTER: MUX_REG_*; HELLO: MUX_HELLO_* */
	uint32_t code;		/* REGISTER_ERR, GOAWAY: MUX_CODE_* reason */
	const char *text;	/* REGISTER_ERR, GOAWAY: human text, sanitised */
	uint32_t last_sid;	/* GOAWAY: last peer stream ID processed */
	uint64_t opaque;	/* PONG: the value given to mux_ping() */
	const char *token;	/* AUTH: the token, token_len bytes, not */
	size_t	 token_len;	/* NUL-terminated; JWT characters only */
};

struct mux_callbacks {
	/* A control message arrived (strings valid only during the call). */
	void	(*control)(struct mux *m, const struct mux_ctl *ctl, void *arg);
	/* The peer opened stream sid for service, from client (family 0 if
	 * the peer gave none).  Answer with mux_stream_accept() or
	 * mux_stream_refuse(), now or later; until then the stream may be
	 * closed by the peer (stream_closed with the sarg set by
	 * mux_stream_set_arg(), NULL by default). */
	void	(*stream_open)(struct mux *m, uint32_t sid, const char *service,
		    const struct mux_peer *client, void *arg);
	/* The peer accepted a stream we opened. */
	void	(*stream_accepted)(struct mux *m, uint32_t sid, void *sarg);
	/* Data for the stream: the callee moves what it takes out of data
	 * (normally all of it, into a socket's output buffer) and later reports
	 * with mux_stream_consumed() when the bytes have left the process.  The
	 * mux keeps whatever the callee leaves in data, counted in the window. */
	void	(*stream_data)(struct mux *m, uint32_t sid, struct evbuffer *data,
		    void *sarg);
	/* The peer will send no more on this stream (FIN), and every byte
	 * before the FIN was handed over with stream_data. */
	void	(*stream_eof)(struct mux *m, uint32_t sid, void *sarg);
	/* The stream has ended: cleanly (code MUX_CODE_NONE, after FIN both
	 * ways and every received byte reported with mux_stream_consumed()),
	 * reset or refused by the peer (its code, text NULL for RESET), reset
	 * by the mux for a peer's protocol error on the stream (PROTOCOL), or
	 * torn down with the tunnel (the fatal error's code; TUNNEL_LOST from
	 * mux_free()).  Not called after the application's own
	 * mux_stream_reset() or mux_stream_refuse().  Last callback for sid;
	 * sarg may be freed by the callee.  A code other than NONE means the
	 * stream is incomplete: close the socket with a TCP reset. */
	void	(*stream_closed)(struct mux *m, uint32_t sid, uint32_t code,
		    const char *text, void *sarg);
	/* Send space opened again on a stream whose mux_stream_write() had
	 * been cut short: resume reading its socket. */
	void	(*stream_writable)(struct mux *m, uint32_t sid, void *sarg);
	/* The mux has output ready: the application should arrange a call to
	 * mux_output() (e.g. enable the tunnel's write side). */
	void	(*want_output)(struct mux *m, void *arg);
};

/* Defaults of the library (the daemons' configuration has its own): 256 KiB
 * stream window growing up to 16 MiB, 16 MiB tunnel window, 32 KiB frames,
 * 16384 streams, empty identity, label "tunnel", no send budget. */
void	mux_settings_default(struct mux_settings *s);

/* A new mux with our HELLO already queued (flush mux_output()).  s NULL means
 * defaults; s is copied (identity too).  NULL if a setting is out of range
 * (windows 1..2^31-1, max_frame 1024..16 MiB, identity <= 64 bytes) or out of
 * memory.  cb is copied; any callback may be NULL. */
struct mux *mux_new(enum mux_role role, const struct mux_settings *s,
	    const struct mux_callbacks *cb, void *arg);
/* Closes every remaining stream (stream_closed, TUNNEL_LOST), frees all.
 * Accepts NULL. */
void	mux_free(struct mux *m);

/* Feed tunnel bytes.  Consumes every complete frame in `in` (partial frames
 * stay there).  Returns 0, or a negative error; if mux_is_fatal() the tunnel is
 * over (a GOAWAY is queued).  */
int	mux_input(struct mux *m, struct evbuffer *in);

/* Append frames to `out` until about `max` bytes were added or nothing is
 * left to send: control frames first, then DATA round-robin across streams
 * with queued bytes and credit, each frame at most the peer's max_frame.
 * Returns the number of bytes appended.  When it stopped at max, call again
 * (e.g. from the tunnel's write callback): want_output is signalled only for
 * output that appears after a mux_output() call.  Runs deferred events
 * first (buffered data, EOF, clean closes); streams waiting for room in
 * the send budget get their stream_writable from here. */
size_t	mux_output(struct mux *m, struct evbuffer *out, size_t max);
int	mux_has_output(const struct mux *m);

/* Tunnel-level control. */
int	mux_send_ctl(struct mux *m, const struct mux_ctl *ctl);	/* REGISTER*, AUTH */
int	mux_ping(struct mux *m, uint64_t opaque);
/* Graceful (code NONE or SHUTDOWN): no new streams either way, existing
 * ones finish; close the tunnel when mux_nstreams() is 0 or at a deadline.
 * Any other code ends the tunnel now: GOAWAY queued (flush it), every stream
 * closed with that code, later calls get MUX_ECLOSED / MUX_ECLOSING. */
int	mux_goaway(struct mux *m, uint32_t code, const char *text);
int	mux_is_ready(const struct mux *m);	/* both HELLOs exchanged */
int	mux_is_dead(const struct mux *m);	/* a fatal error happened */
/* Call every few seconds: halves the flood counter (PROTOCOL.md section 6),
 * so that legitimate bursts of pings, window updates or resets decay. */
void	mux_tick(struct mux *m);
/* Replace the log prefix given in the settings (e.g. once the relay knows
 * the agent's identity); NULL or "" means "tunnel".  Copied. */
void	mux_set_label(struct mux *m, const char *label);
const char *mux_label(const struct mux *m);
/* Bytes queued in the send queues of all streams (the send budget's use). */
size_t	mux_send_queued(const struct mux *m);
/*
 * Time, for window auto-tuning: now_us(arg) returns a monotonic clock in
 * microseconds: on a LAN or loopback the RTT is well below a millisecond, and
 * a coarser clock would size windows for a millisecond path; the mux calls
 * it only when it sends a PING, receives a PONG or returns credit.  NULL:
 * no clock (the default), no RTT from pings, no auto-tuning.
 */
void	mux_set_clock(struct mux *m, uint64_t (*now_us)(void *arg), void *arg);
/*
 * The tunnel's round-trip time (smoothed, µs; 0 while unknown).  With a
 * clock, the mux times the first of its PINGs outstanding (mux_ping()) to
 * its PONG; an application that measures RTT itself can feed samples.
 * Send a PING as soon as the tunnel is READY so that windows can grow
 * from the first seconds.
 */
uint32_t mux_rtt_us(const struct mux *m);
/* The lowest RTT sample (µs; 0 while unknown), kept two minutes, then
 * replaced by the lowest taken since: the path without the queues our own
 * streams fill; window tuning uses it. */
uint32_t mux_rtt_min_us(const struct mux *m);
void	mux_rtt_sample(struct mux *m, uint32_t rtt_us);
/* A stream's current receive window (grows by auto-tuning); 0 if none. */
uint32_t mux_stream_recv_window(const struct mux *m, uint32_t sid);
/* Tests: the allocation after n successful ones fails (once); -1: off. */
void	mux_set_alloc_fail(struct mux *m, long n);
int	mux_is_going_away(const struct mux *m);	/* GOAWAY sent or received */
/* The application refused an open the peer had no right to make (e.g. no
 * grant for its service): it costs the peer one glitch, as an open beyond
 * max_streams does (PROTOCOL.md section 6), so a peer looping such opens
 * ends its own tunnel.  0, or MUX_EFLOOD once the budget is spent (the
 * tunnel is over: GOAWAY FLOOD queued). */
int	mux_peer_glitch(struct mux *m);
size_t	mux_nstreams(const struct mux *m);	/* incl. closing ones */

/* Streams. */
int	mux_stream_open(struct mux *m, const char *service,
	    const struct mux_peer *client, void *sarg, uint32_t *sid);
int	mux_stream_accept(struct mux *m, uint32_t sid, void *sarg);
int	mux_stream_refuse(struct mux *m, uint32_t sid, uint32_t code,
	    const char *text);
/* Move up to the stream's send space from src into its queue; *moved says
 * how much.  Less than all means: stop reading the source until
 * stream_writable.  The space is the peer's credit (capped by our own
 * stream_window) minus what is queued, and, with a send_budget, at most the
 * budget's free room: when the budget is short, streams cut short by it are
 * woken in turn (stream_writable, round robin), each allowed about one
 * frame while others wait. */
int	mux_stream_write(struct mux *m, uint32_t sid, struct evbuffer *src,
	    size_t *moved);
size_t	mux_stream_send_space(const struct mux *m, uint32_t sid);
int	mux_stream_shutdown(struct mux *m, uint32_t sid);	/* FIN after queue */
int	mux_stream_reset(struct mux *m, uint32_t sid, uint32_t code);
/* n bytes handed over by stream_data have left the process: credit returns
 * to the peer (once a modest amount is due, PROTOCOL.md section 4).  MUX_EINVAL if more than was handed;
 * MUX_ENOSTREAM once the stream is closed (ignore it: the mux already
 * returned that stream's credit to the tunnel). */
int	mux_stream_consumed(struct mux *m, uint32_t sid, size_t n);
/* Bytes the callee left in stream_data's buffer are offered again (and a
 * pending EOF) from the next mux_output().  0 or MUX_ENOSTREAM. */
int	mux_stream_redeliver(struct mux *m, uint32_t sid);
void	*mux_stream_arg(const struct mux *m, uint32_t sid);
int	mux_stream_set_arg(struct mux *m, uint32_t sid, void *sarg);

const char *mux_strerror(int err);
int	mux_is_fatal(int err);
const char *mux_code_name(uint32_t code);

#endif
