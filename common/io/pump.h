/*
 * pump.h — one plain TCP socket glued to one mux stream, on the pump's own
 * events.  The relay uses it for public clients, the agent for connections
 * to its targets; common/io/tunnel.c owns the pumps of a tunnel.
 *
 *  socket -> stream: the read event moves bytes with mux_stream_write(), at
 *    most the stream's send space per read; when the space runs out, reading
 *    stops until the mux says the stream is writable.  While reading is off
 *    the owner's tick (pump_tick) still checks the socket for a reset, so a
 *    client that gives up is freed within a tick, not when its stream would
 *    next have had room.  Socket EOF becomes
 *    mux_stream_shutdown() once every byte read has been handed over.
 *  stream -> socket: stream data goes into one output queue (no copy); the
 *    first write of a loop turn happens before the loop polls again, and
 *    write interest is on only while the kernel refuses bytes.  Credit goes
 *    back with mux_stream_consumed() for exactly the bytes the kernel took,
 *    so the queue never holds more than the stream's window.  Peer FIN
 *    becomes shutdown(SHUT_WR) once the queue is empty.
 *  endings: a clean close (FIN both ways) closes the socket after its queue
 *    drained; anything else (reset, refusal, tunnel lost, socket error, a
 *    deadline) closes it at once with SO_LINGER {1, 0}, so the peer sees a
 *    TCP reset and never mistakes a cut stream for a complete one.
 *
 * Stream callbacks: the pump_mux_*() functions below are the mux's stream
 * callbacks themselves, with the pump as the stream's sarg (NULL is fine:
 * data is then dropped and credited, the rest ignored).  No trampoline
 * stands between the mux and the pump.
 *
 * Ownership: the pump owns the socket from pump_new() on (closed by the pump
 * in every case).  The caller owns the pump: when the pump has nothing left
 * to do it calls done(pump, arg) once; the caller frees it with pump_free()
 * after the current callback returned, never from inside done().
 */
#ifndef ATLAX_PUMP_H
#define ATLAX_PUMP_H

#include "queue.h"

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct evbuffer;
struct mux;
struct pump;

typedef void (*pump_done_cb)(struct pump *p, void *arg);

/* Deadlines of a stream, checked by pump_tick(); 0 turns one off. */
struct pump_deadlines {
	uint64_t stall_ms;	/* bytes queued for the socket, none taken */
	uint64_t half_closed_ms;/* FIN one way, no byte moved either way */
	uint64_t idle_ms;	/* no byte moved either way */
};

TAILQ_HEAD(pump_list, pump);

/* A pump on the connected, non-blocking socket fd (taken in every case:
 * closed on failure) for stream sid of m (set later with pump_set_stream
 * when not known yet).  Reading stays off until pump_start().  label names
 * the pump in log lines (copied).  NULL when out of memory. */
struct pump *pump_new(struct event_base *base, int fd, struct mux *m,
	    const char *label, pump_done_cb done, void *arg);
void	pump_set_stream(struct pump *p, uint32_t sid);
/* The stream is open both ways: start reading the socket.  read_now: try
 * a read at once (a client that just connected has usually spoken); else
 * the first read waits for the socket to be readable. */
void	pump_start(struct pump *p, int read_now);

/* The mux's stream callbacks (sarg: the pump, or NULL). */
void	pump_mux_accepted(struct mux *m, uint32_t sid, void *sarg);
void	pump_mux_data(struct mux *m, uint32_t sid, struct evbuffer *data,
	    void *sarg);
void	pump_mux_eof(struct mux *m, uint32_t sid, void *sarg);
void	pump_mux_closed(struct mux *m, uint32_t sid, uint32_t code,
	    const char *text, void *sarg);
void	pump_mux_writable(struct mux *m, uint32_t sid, void *sarg);

/* Tear down now: the stream is forgotten without another mux call (the
 * tunnel is gone or going) and the socket is reset.  done() is not called. */
void	pump_abort(struct pump *p);
/* Call every tick (e.g. each second): a blocked pump whose socket was reset
 * ends; elapsed_ms without progress is counted against d, and past a
 * deadline the stream and the socket are reset (the log says which
 * deadline).  1 when the pump ended (done() follows). */
int	pump_tick(struct pump *p, uint64_t elapsed_ms,
	    const struct pump_deadlines *d);

/* Bytes waiting for the socket (memory accounting, tests). */
size_t	pump_pending(const struct pump *p);
int	pump_is_done(const struct pump *p);
uint32_t pump_sid(const struct pump *p);
/* This stream's own idle deadline (e.g. a service's), 0: the owner's. */
void	pump_set_idle_limit(struct pump *p, uint64_t ms);
/* The owner's tag (e.g. the public service of a relay stream). */
void	pump_set_tag(struct pump *p, void *tag);
void	*pump_tag(const struct pump *p);
/* Bytes read from and written to the socket so far. */
uint64_t pump_bytes_in(const struct pump *p);
uint64_t pump_bytes_out(const struct pump *p);
/*
 * The owner's view of a stream's bytes, for metrics: the pump adds to in
 * and out once per read or write batch (atomics, so another thread may
 * read them while the pump runs), and sets code to the stream's end
 * (MUX_CODE_NONE for a clean close) when the stream ends.  The bytes
 * moved before the call are added at once.  window is the stream's receive
 * window (mux_stream_recv_window()), set then and on every pump_tick(): a
 * gauge of flow control for status pages, at most a tick old.  The owner
 * keeps c alive until the pump is freed; NULL stops the counting.
 */
struct pump_counters {
	atomic_uint_fast64_t	 in;	/* read from the socket */
	atomic_uint_fast64_t	 out;	/* written to the socket */
	atomic_uint		 window;	/* receive window, bytes */
	uint32_t		 code;	/* the pump's thread only */
};
void	pump_set_counters(struct pump *p, struct pump_counters *c);
void	pump_free(struct pump *p);	/* accepts NULL */

/* A list of pumps (the tunnel's streams). */
void	pump_list_insert(struct pump_list *l, struct pump *p);
void	pump_list_remove(struct pump_list *l, struct pump *p);
struct pump *pump_list_next(struct pump *p);

/* Set SO_LINGER {1, 0} on fd so the next close(2) sends a TCP reset. */
void	pump_set_rst(int fd);

#endif
