/*
 * pump.h — the glue between one plain TCP socket (a bufferevent) and one mux
 * stream.  The relay uses it for public clients, the agent for connections to
 * its targets.
 *
 *  socket -> stream: the read callback moves bytes with mux_stream_write();
 *    when the stream's send space runs out, reading stops until
 *    pump_stream_writable().  Socket EOF becomes mux_stream_shutdown() once
 *    every byte read has been handed over.
 *  stream -> socket: pump_stream_data() moves the bytes into the socket's
 *    output (no copy); as they leave for the kernel, an evbuffer callback
 *    returns the credit with mux_stream_consumed(), so the output never holds
 *    more than one window.  Peer FIN becomes shutdown(SHUT_WR) once drained.
 *  endings: a clean close (FIN both ways) closes the socket after its output
 *    drained; anything else (reset, refusal, tunnel lost, socket error) closes
 *    it at once with SO_LINGER {1, 0}, so the peer sees a TCP reset and never
 *    mistakes a cut stream for a complete one.
 *
 * Ownership: the pump owns the bufferevent (and its socket) from pump_new()
 * on.  The caller owns the pump: when the pump has nothing left to do it calls
 * done(pump, arg) once; the caller then frees it with pump_free() after the
 * current callback returned (a deferred free), never from inside done().
 * The mux stream's sarg is the caller's business; the caller forwards the
 * stream callbacks to the pump_stream_*() functions below.
 */
#ifndef ATLAX_PUMP_H
#define ATLAX_PUMP_H

#include <stddef.h>
#include <stdint.h>

struct bufferevent;
struct evbuffer;
struct mux;
struct pump;

typedef void (*pump_done_cb)(struct pump *p, void *arg);

/* Take bev (a connected plain socket bufferevent, callbacks are replaced),
 * for stream sid of m (set later with pump_set_stream when not known yet).
 * Reading stays off until pump_start().  label names the pump in debug logs
 * (copied). */
struct pump *pump_new(struct bufferevent *bev, struct mux *m, const char *label,
	    pump_done_cb done, void *arg);
void	pump_set_stream(struct pump *p, uint32_t sid);
/* The stream is open both ways: start reading the socket.  read_now: try
 * a read at once (a client that just connected has usually spoken); else
 * the first read waits for the socket to be readable (a connection this
 * side opened a moment ago has nothing to read yet). */
void	pump_start(struct pump *p, int read_now);

/* Mux stream callbacks, forwarded by the owner. */
void	pump_stream_data(struct pump *p, struct evbuffer *data);
void	pump_stream_eof(struct pump *p);
void	pump_stream_writable(struct pump *p);
/* Last callback for the stream: code MUX_CODE_NONE is a clean end. */
void	pump_stream_closed(struct pump *p, uint32_t code);

/* Tear down now: the stream is forgotten without another mux call (the
 * tunnel is gone or going) and the socket is reset.  done() is not called. */
void	pump_abort(struct pump *p);

/* Bytes waiting in the socket's output (for memory accounting, tests). */
size_t	pump_pending(const struct pump *p);
int	pump_is_done(const struct pump *p);
uint32_t pump_sid(const struct pump *p);
void	pump_free(struct pump *p);	/* accepts NULL */

/* Set SO_LINGER {1, 0} on fd so the next close(2) sends a TCP reset. */
void	pump_set_rst(int fd);

#endif
