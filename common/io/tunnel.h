/*
 * tunnel.h — one TLS connection carrying a mux, the same on both daemons:
 * the TLS layer (tlsio), the mux and its output pacing, heartbeats and
 * liveness, the streams' pumps and their deadlines, close_notify, and the
 * state machine with its names and the reason it ended.
 *
 * What stays with the daemons: the relay checks identities, keeps the
 * registry and replaces an older tunnel of the same identity; the agent
 * dials, registers its services and reconnects.  They hook in through
 * struct tunnel_callbacks.
 *
 * States:
 *
 *   HANDSHAKE --TLS up--> HELLO --tunnel_ready()--> READY --drain--> DRAINING
 *        |                  |                         |                 |
 *        +------------------+------ close / error ----+-----------------+--> CLOSING --> DEAD
 *        +------------------+------ connection gone or timed out ---------------------> DEAD
 *
 *   HANDSHAKE  TLS handshake (the agent's TCP connect happens before).
 *   HELLO      TLS up, mux built, waiting for the peer's HELLO; the owner
 *              calls tunnel_ready() once it accepts it.
 *   READY      serving streams; heartbeats run.
 *   DRAINING   GOAWAY sent or received: streams finish, no new ones, until
 *              the shutdown deadline; then CLOSING.
 *   CLOSING    the last frames and close_notify are flushed; the peer's
 *              close_notify or EOF (or a short deadline) ends it.
 *   DEAD       no more I/O.  The owner frees the tunnel after the callback
 *              that announced DEAD returned.
 *
 * Output pacing: the ciphertext queue is refilled from mux_output() only
 * while it holds less than its high mark, so the mux's scheduler, not a
 * socket buffer, decides which stream goes next, and the frames of a loop
 * turn leave in one write.
 *
 * Memory per tunnel is bounded by configuration: the mux's receive window
 * and send budget, the TLS high mark, and per stream one window of output.
 *
 * Ownership: the tunnel owns the socket and the SSL from tunnel_new() on,
 * the mux and every stream's pump (and their sockets).  Callbacks get the
 * arg given to tunnel_new().  No callback runs inside tunnel_new().
 */
#ifndef ATLAX_TUNNEL_H
#define ATLAX_TUNNEL_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "mux.h"
#include "pump.h"

struct event_base;
struct tunnel;

enum tunnel_state {
	TUNNEL_HANDSHAKE,
	TUNNEL_HELLO,
	TUNNEL_READY,
	TUNNEL_DRAINING,
	TUNNEL_CLOSING,
	TUNNEL_DEAD,
};

struct tunnel_settings {
	int		 server;	/* 1: the accepting side (the relay) */
	enum mux_role	 role;
	struct mux_settings mux;	/* copied (identity too); the label is
					   the tunnel's name */
	const char	*peer_role;	/* "agent" or "relay", for messages */
	size_t		 tls_high;	/* ciphertext queue high mark */
	size_t		 tunnel_buffer;	/* bytes queued for the peer, send
					   queues and TLS output; 0: no cap
					   (mux.send_budget is derived) */
	size_t		 read_max;	/* plaintext per read callback */
	uint64_t	 handshake_ms;	/* TLS and HELLO */
	uint64_t	 ping_ms;	/* heartbeat interval, 0: none */
	unsigned	 ping_misses;	/* silent this many intervals: lost */
	uint64_t	 shutdown_ms;	/* DRAINING deadline */
	uint64_t	 close_wait_ms;	/* CLOSING: wait for the peer's close */
	struct pump_deadlines deadlines;	/* per stream */
};

struct tunnel_callbacks {
	/* TLS is up.  Return 0 to go on (the mux is built and our HELLO
	 * sent) or -1 to end the tunnel (the callee set the reason). */
	int	(*tls_up)(struct tunnel *t, void *arg);
	/* A control message (HELLO, REGISTER*, GOAWAY, ...). */
	void	(*control)(struct tunnel *t, const struct mux_ctl *ctl,
		    void *arg);
	/* The peer opened stream sid: answer with tunnel_stream_accept() or
	 * mux_stream_refuse(), now or later.  NULL: every open is refused. */
	void	(*stream_open)(struct tunnel *t, uint32_t sid,
		    const char *service, const struct mux_peer *client,
		    void *arg);
	/* The state changed from old to tunnel_state(t). */
	void	(*state)(struct tunnel *t, enum tunnel_state old, void *arg);
	/* A stream's pump was freed; tag is what tunnel_stream_*() got. */
	void	(*stream_gone)(struct tunnel *t, void *tag, void *arg);
};

/* A tunnel on the connected, non-blocking socket fd, with ssl (not yet
 * handshaken).  Takes fd and ssl in every case; NULL when out of memory.
 * peer names the other end in messages ("1.2.3.4:5555", "relay
 * example.net:443"), copied.  The handshake starts at once. */
struct tunnel *tunnel_new(struct event_base *base, int fd, SSL *ssl,
	    const struct tunnel_settings *s, const struct tunnel_callbacks *cb,
	    void *arg, const char *peer);
/* Never from inside one of the tunnel's callbacks.  Accepts NULL. */
void	tunnel_free(struct tunnel *t);

/* HELLO accepted: READY, heartbeats start. */
void	tunnel_ready(struct tunnel *t);
/* Graceful: GOAWAY(code, text) unless one was sent, no new streams, the
 * existing ones finish up to the shutdown deadline, then close.  Before
 * READY it is tunnel_close(). */
void	tunnel_drain(struct tunnel *t, uint32_t code, const char *text);
/* Now: GOAWAY(code, why) if the peer can still hear it, reset every
 * stream, flush, close_notify, close.  A peer found silent (TIMEOUT) will
 * not answer close_notify: the tunnel is DEAD at once. */
void	tunnel_close(struct tunnel *t, uint32_t code, const char *why);

/* Open a stream to the peer for a new connection on fd (taken in every
 * case) to service, from client (NULL: none).  tag is the owner's (see
 * stream_gone).  0, or -1 with the reason in err. */
int	tunnel_stream_open(struct tunnel *t, int fd, const char *service,
	    const struct mux_peer *client, const char *label, void *tag,
	    char *err, size_t errlen);
/* Accept the peer's stream sid with fd (taken in every case) as its
 * socket.  read_now: see pump_start(); idle_ms: this stream's idle
 * deadline (0: the tunnel's).  0, or -1 (the stream is gone; the socket
 * was closed). */
int	tunnel_stream_accept(struct tunnel *t, uint32_t sid, int fd,
	    const char *label, void *tag, int read_now, uint64_t idle_ms);

/* The first cause wins: later errors are consequences.  The owner may set
 * it (e.g. "relay refused this agent: ...") before closing. */
void	tunnel_set_reason(struct tunnel *t, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
const char *tunnel_reason(const struct tunnel *t);
/* 1 if the connection ended without an orderly close (peer vanished or
 * silent, TLS or protocol error): the owner logs "lost" rather than
 * "closed". */
int	tunnel_was_lost(const struct tunnel *t);
/* 1 once the TLS handshake succeeded. */
int	tunnel_tls_done(const struct tunnel *t);

enum tunnel_state tunnel_state(const struct tunnel *t);
const char *tunnel_state_name(enum tunnel_state s);
/* The name in log lines: the peer address until the owner names it. */
void	tunnel_set_name(struct tunnel *t, const char *name);
const char *tunnel_name(const struct tunnel *t);
const char *tunnel_peer(const struct tunnel *t);
struct mux *tunnel_mux(const struct tunnel *t);	/* NULL before TLS up */
SSL	*tunnel_ssl(const struct tunnel *t);
/* The pump the last successful tunnel_stream_open() or
 * tunnel_stream_accept() made (NULL before any): the owner's moment to
 * attach its counters (pump_set_counters).  Owned by the tunnel. */
struct pump *tunnel_last_pump(const struct tunnel *t);
/* Open streams with a pump (those being set up by the owner excluded). */
size_t	tunnel_nstreams(const struct tunnel *t);
/* Monotonic ms when it became READY, 0 before. */
uint64_t tunnel_up_ms(const struct tunnel *t);
/* Monotonic milliseconds (the tunnels' clock). */
uint64_t tunnel_now_ms(void);

#endif
