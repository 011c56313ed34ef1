/*
 * pump.c — see pump.h.  The pump is a small state machine over flags per
 * direction:
 *
 *   socket -> stream:  reading --(EOF, all handed over)--> fin_sent
 *   stream -> socket:  writing --(peer FIN, queue drained)--> wr_shut
 *   the stream:        open --(stream_closed / reset / abort)--> gone
 *
 * The pump is finished when the stream is gone and the socket closed.  A
 * clean end waits for the queue to drain before closing; every other end
 * closes with a reset at once and drops what was queued.
 *
 * Read interest is on only while the stream has send space.  A blocked
 * pump's socket is still checked for a reset on every tick (pump_tick), by
 * its pending error: not with EV_CLOSED, because libevent 2.1's epoll
 * backend turns EPOLLHUP and EPOLLERR into EV_READ|EV_WRITE, so an event
 * waiting only for EV_CLOSED never fires on a reset while epoll keeps
 * reporting the socket - the loop would spin.
 *
 * Invariant: out holds at most one stream window, because the mux delivers
 * no more than our window and credit returns only for the bytes the kernel
 * took (pump_flush).  in holds at most one read, bounded by the stream's
 * send space at the time of the read.
 */
#include "pump.h"

#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "log.h"
#include "mux.h"
#include "sockread.h"

#define PUMP_MAX_IO	(128 * 1024)

struct pump {
	TAILQ_ENTRY(pump)	 entry;
	int			 fd;	/* -1 once closed */
	struct event		*rev;	/* EV_READ: read the socket */
	struct event		*wev;	/* EV_WRITE: the kernel refused bytes */
	struct event		*fev;	/* the first write of a loop turn */
	struct evbuffer		*in;	/* read, not yet taken by the stream */
	struct evbuffer		*out;	/* stream data, not yet taken by the kernel */
	struct sockread		 rd;	/* the socket's read size */
	struct mux		*mux;	/* NULL once the stream is gone */
	uint32_t		 sid;
	int			 reading;	/* rev pending */
	int			 started;
	int			 blocked;	/* no send space: not reading */
	int			 writing;	/* wev pending */
	int			 sock_eof;	/* EOF read from the socket */
	int			 fin_sent;	/* mux_stream_shutdown() done */
	int			 peer_fin;	/* stream_eof seen */
	int			 wr_shut;	/* shutdown(SHUT_WR) done */
	int			 clean;		/* stream ended with NONE */
	int			 done;
	uint64_t		 nin, nout;	/* bytes read, written */
	uint64_t		 seen_in, seen_out;	/* at the last tick */
	uint64_t		 idle_ms;	/* no byte moved */
	uint64_t		 stall_ms;	/* out waiting, none written */
	uint64_t		 idle_limit;	/* overrides the idle deadline */
	pump_done_cb		 done_cb;
	void			*arg;
	void			*tag;
	struct pump_counters	*ctr;	/* the owner's, or NULL */
	char			 label[200];
};

static void	pump_read_cb(evutil_socket_t, short, void *);
static void	pump_write_cb(evutil_socket_t, short, void *);
static void	pump_close(struct pump *, int);
static void	pump_fail(struct pump *, uint32_t);
static void	pump_flush(struct pump *);

void
pump_set_rst(int fd)
{
	struct linger l = { 1, 0 };

	if (fd >= 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
}

struct pump *
pump_new(struct event_base *base, int fd, struct mux *m, const char *label,
    pump_done_cb done, void *arg)
{
	struct pump *p;
	int one = 1;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		goto fail;
	p->fd = fd;
	p->mux = m;
	p->done_cb = done;
	p->arg = arg;
	snprintf(p->label, sizeof(p->label), "%s", label);
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	p->rev = event_new(base, fd, EV_READ | EV_PERSIST, pump_read_cb, p);
	p->wev = event_new(base, fd, EV_WRITE | EV_PERSIST, pump_write_cb, p);
	p->fev = event_new(base, -1, 0, pump_write_cb, p);
	p->in = evbuffer_new();
	p->out = evbuffer_new();
	if (p->rev == NULL || p->wev == NULL ||
	    p->fev == NULL || p->in == NULL || p->out == NULL)
		goto fail;
	return p;
fail:
	if (p != NULL) {
		p->done = 1;
		pump_free(p);	/* closes fd */
	} else
		close(fd);
	return NULL;
}

void
pump_set_stream(struct pump *p, uint32_t sid)
{
	p->sid = sid;
}

uint32_t
pump_sid(const struct pump *p)
{
	return p->sid;
}

int
pump_is_done(const struct pump *p)
{
	return p->done;
}

void
pump_set_idle_limit(struct pump *p, uint64_t ms)
{
	p->idle_limit = ms;
}

void
pump_set_tag(struct pump *p, void *tag)
{
	p->tag = tag;
}

void *
pump_tag(const struct pump *p)
{
	return p->tag;
}

uint64_t
pump_bytes_in(const struct pump *p)
{
	return p->nin;
}

uint64_t
pump_bytes_out(const struct pump *p)
{
	return p->nout;
}

/* The receive window into the owner's counters: one lookup per stream
 * and tick, off the data path. */
static void
pump_window_gauge(struct pump *p)
{
	if (p->ctr != NULL && p->mux != NULL)
		atomic_store_explicit(&p->ctr->window,
		    mux_stream_recv_window(p->mux, p->sid),
		    memory_order_relaxed);
}

void
pump_set_counters(struct pump *p, struct pump_counters *c)
{
	/* A pump may have read before its owner saw it (a client that spoke
	 * first): those bytes count too. */
	if (c != NULL) {
		atomic_fetch_add(&c->in, p->nin);
		atomic_fetch_add(&c->out, p->nout);
	}
	p->ctr = c;
	pump_window_gauge(p);
}

size_t
pump_pending(const struct pump *p)
{
	if (p->fd < 0)
		return 0;
	return evbuffer_get_length(p->out);
}

/* Read interest on or off; a failed event_add ends the stream rather than
 * leaving it silently deaf. */
static void
pump_reading(struct pump *p, int on)
{
	if (p->fd < 0 || p->reading == on)
		return;
	if (!on) {
		event_del(p->rev);
		p->reading = 0;
		return;
	}
	if (event_add(p->rev, NULL) != 0) {
		log_warnx("pump", "%s: cannot watch the socket", p->label);
		pump_fail(p, MUX_CODE_INTERNAL);
		return;
	}
	p->reading = 1;
}

/* No send space: stop reading where we cannot send. */
static void
pump_block(struct pump *p)
{
	p->blocked = 1;
	pump_reading(p, 0);
}

/* Hand what the socket gave us to the stream, as far as its space goes. */
static void
pump_feed(struct pump *p)
{
	size_t moved = 0;
	int r;

	if (p->fd < 0 || p->mux == NULL || !p->started || p->fin_sent)
		return;
	if (evbuffer_get_length(p->in) > 0) {
		r = mux_stream_write(p->mux, p->sid, p->in, &moved);
		if (r < 0) {
			log_debug("pump", "%s: stream write: %s", p->label,
			    mux_strerror(r));
			pump_fail(p, MUX_CODE_INTERNAL);
			return;
		}
	}
	if (evbuffer_get_length(p->in) > 0) {
		pump_block(p);
		return;
	}
	p->blocked = 0;
	if (p->sock_eof) {
		p->fin_sent = 1;
		pump_reading(p, 0);
		r = mux_stream_shutdown(p->mux, p->sid);
		if (r < 0)
			log_debug("pump", "%s: shutdown: %s", p->label,
			    mux_strerror(r));
		return;
	}
	pump_reading(p, 1);
}

void
pump_start(struct pump *p, int read_now)
{
	if (p->done || p->started)
		return;
	p->started = 1;
	pump_feed(p);
	/* A client usually speaks right after connecting (and a server may
	 * have sent its banner while we waited for the connect): read now,
	 * so the first bytes leave with the STREAM_OPEN or STREAM_ACCEPT of
	 * this loop turn instead of a turn and a TLS record later. */
	if (read_now && p->fd >= 0 && p->reading)
		pump_read_cb(p->fd, EV_READ, p);
}

static void
pump_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct pump *p = arg;
	char eb[128];
	size_t max;
	ssize_t n;

	(void)what;
	if (p->mux == NULL) {
		/* Nowhere to send to: never spin on a readable socket. */
		pump_reading(p, 0);
		return;
	}
	/* No more than the stream can take: what the socket gave us beyond
	 * its space would wait here, outside every bound.  With no space at
	 * all one byte is read: the write the mux then cuts short is what
	 * makes it say when the stream is writable again. */
	max = mux_stream_send_space(p->mux, p->sid);
	if (max > PUMP_MAX_IO)
		max = PUMP_MAX_IO;
	n = sockread_fill(p->in, (int)fd, max, &p->rd);
	if (n > 0) {
		p->nin += (uint64_t)n;
		if (p->ctr != NULL)
			atomic_fetch_add_explicit(&p->ctr->in, (uint64_t)n,
			    memory_order_relaxed);
		pump_feed(p);
		return;
	}
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return;
	if (n == 0) {
		p->sock_eof = 1;
		pump_reading(p, 0);
		pump_feed(p);
		return;
	}
	log_debug("pump", "%s: socket read: %s", p->label,
	    log_strerror(errno, eb, sizeof(eb)));
	pump_fail(p, MUX_CODE_CANCEL);
}

/* 1 if the socket's peer reset the connection (or it failed otherwise):
 * the kernel records the reset as the socket's pending error.  (TCP_INFO's
 * state cannot tell: after an orderly close both ways it is TCP_CLOSE
 * too.) */
static int
pump_sock_failed(int fd)
{
	socklen_t len = sizeof(int);
	int err = 0;

	return getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 &&
	    err != 0;
}

/* The queue drained: finish a half-close or a clean close. */
static void
pump_drained(struct pump *p)
{
	if (p->peer_fin && !p->wr_shut) {
		p->wr_shut = 1;
		(void)shutdown(p->fd, SHUT_WR);
	}
	if (p->clean && p->mux == NULL)
		pump_close(p, 0);
}

/* Write what is queued, as far as the kernel takes it; credit exactly what
 * it took (credit goes back when bytes leave the process). */
static void
pump_flush(struct pump *p)
{
	char eb[128];
	int w;

	if (p->fd < 0)
		return;
	if (evbuffer_get_length(p->out) > 0) {
		w = evbuffer_write_atmost(p->out, p->fd, -1);
		if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
		    errno != EINTR) {
			log_debug("pump", "%s: socket write: %s", p->label,
			    log_strerror(errno, eb, sizeof(eb)));
			pump_fail(p, MUX_CODE_CANCEL);
			return;
		}
		if (w > 0) {
			p->nout += (uint64_t)w;
			if (p->ctr != NULL)
				atomic_fetch_add_explicit(&p->ctr->out,
				    (uint64_t)w, memory_order_relaxed);
			if (p->mux != NULL)
				(void)mux_stream_consumed(p->mux, p->sid,
				    (size_t)w);
		}
	}
	if (evbuffer_get_length(p->out) > 0) {
		if (!p->writing) {
			if (event_add(p->wev, NULL) != 0) {
				log_warnx("pump", "%s: cannot watch the "
				    "socket", p->label);
				pump_fail(p, MUX_CODE_INTERNAL);
				return;
			}
			p->writing = 1;
		}
		return;
	}
	if (p->writing) {
		event_del(p->wev);
		p->writing = 0;
	}
	pump_drained(p);
}

static void
pump_write_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	pump_flush(arg);
}

void
pump_mux_accepted(struct mux *m, uint32_t sid, void *sarg)
{
	struct pump *p = sarg;

	(void)m;
	if (p != NULL)
		log_debug("pump", "%s: stream %u accepted", p->label, sid);
}

void
pump_mux_data(struct mux *m, uint32_t sid, struct evbuffer *data, void *sarg)
{
	struct pump *p = sarg;
	size_t n;

	if (p == NULL || p->fd < 0 || p->wr_shut) {
		/* Nowhere to go: still consumed, or the tunnel deadlocks. */
		n = evbuffer_get_length(data);
		evbuffer_drain(data, n);
		if (n > 0)
			(void)mux_stream_consumed(m, sid, n);
		return;
	}
	/* The socket has taken everything so far: gather what this loop turn
	 * delivers (one frame per call) and write it once, before the loop
	 * polls again.  Otherwise the write event is on and will take it. */
	if (evbuffer_get_length(p->out) == 0 && !p->writing)
		event_active(p->fev, EV_TIMEOUT, 0);
	if (evbuffer_add_buffer(p->out, data) != 0) {
		log_warnx("pump", "%s: out of memory", p->label);
		pump_fail(p, MUX_CODE_INTERNAL);
	}
}

void
pump_mux_eof(struct mux *m, uint32_t sid, void *sarg)
{
	struct pump *p = sarg;

	(void)m;
	(void)sid;
	if (p == NULL)
		return;
	p->peer_fin = 1;
	if (p->fd >= 0 && evbuffer_get_length(p->out) == 0)
		pump_drained(p);
}

void
pump_mux_writable(struct mux *m, uint32_t sid, void *sarg)
{
	struct pump *p = sarg;

	(void)m;
	(void)sid;
	if (p != NULL && p->blocked)
		pump_feed(p);
}

void
pump_mux_closed(struct mux *m, uint32_t sid, uint32_t code, const char *text,
    void *sarg)
{
	struct pump *p = sarg;
	char why[600];

	(void)m;
	if (p == NULL || p->mux == NULL)
		return;
	p->mux = NULL;
	if (p->ctr != NULL)
		p->ctr->code = code;
	if (code != MUX_CODE_NONE && text != NULL) {
		/* Why: the peer's refusal or reset text. */
		log_sanitize(why, sizeof(why), text, 512);
		log_info("tunnel", "%s: stream %u closed: %s: %s", p->label,
		    sid, mux_code_name(code), why);
	} else
		log_debug("pump", "%s: stream %u closed: %s", p->label, sid,
		    mux_code_name(code));
	if (code != MUX_CODE_NONE || p->fd < 0) {
		pump_close(p, code != MUX_CODE_NONE);
		return;
	}
	p->clean = 1;
	p->peer_fin = 1;
	/* Close once the last bytes are out. */
	if (evbuffer_get_length(p->out) == 0)
		pump_drained(p);
}

/* Reset the stream and the socket: an abnormal end on our side. */
static void
pump_fail(struct pump *p, uint32_t code)
{
	struct mux *m = p->mux;

	p->mux = NULL;
	if (p->ctr != NULL)
		p->ctr->code = code;
	if (m != NULL) {
		/* The mux must not hand the pump back after this. */
		(void)mux_stream_set_arg(m, p->sid, NULL);
		(void)mux_stream_reset(m, p->sid, code);
	}
	pump_close(p, 1);
}

static void
pump_close(struct pump *p, int rst)
{
	if (p->fd >= 0) {
		/* Some events may be missing: pump_new() failed half-way. */
		if (p->rev != NULL)
			event_del(p->rev);
		if (p->wev != NULL)
			event_del(p->wev);
		if (p->fev != NULL)
			event_del(p->fev);
		p->reading = 0;
		p->writing = 0;
		if (rst)
			pump_set_rst(p->fd);
		close(p->fd);
		p->fd = -1;
		if (p->in != NULL)
			evbuffer_drain(p->in, evbuffer_get_length(p->in));
		if (p->out != NULL)
			evbuffer_drain(p->out, evbuffer_get_length(p->out));
	}
	if (p->mux == NULL && !p->done) {
		p->done = 1;
		if (p->done_cb != NULL)
			p->done_cb(p, p->arg);
	}
}

void
pump_abort(struct pump *p)
{
	if (p->mux != NULL)
		(void)mux_stream_set_arg(p->mux, p->sid, NULL);
	p->mux = NULL;
	p->done = 1;	/* the owner is tearing down: no done() */
	pump_close(p, 1);
}

int
pump_tick(struct pump *p, uint64_t elapsed_ms, const struct pump_deadlines *d)
{
	const char *what = NULL;
	uint64_t limit = 0;

	if (p->done || p->fd < 0 || p->mux == NULL)
		return 0;
	pump_window_gauge(p);
	/* Reading is off for want of send space: a client that reset is
	 * noticed here, not when the stream next has room (its bytes would
	 * never be wanted, and its memory and descriptor would be held). */
	if (p->blocked && pump_sock_failed(p->fd)) {
		log_debug("pump", "%s: reset by the peer while blocked",
		    p->label);
		pump_fail(p, MUX_CODE_CANCEL);
		return 1;
	}
	if (p->nin != p->seen_in || p->nout != p->seen_out) {
		p->seen_in = p->nin;
		p->seen_out = p->nout;
		p->idle_ms = p->stall_ms = 0;
		return 0;
	}
	p->idle_ms += elapsed_ms;
	if (evbuffer_get_length(p->out) > 0)
		p->stall_ms += elapsed_ms;
	else
		p->stall_ms = 0;
	if (d->stall_ms != 0 && p->stall_ms >= d->stall_ms) {
		what = "the socket took no byte";
		limit = p->stall_ms;
	} else if (d->half_closed_ms != 0 && (p->fin_sent || p->peer_fin) &&
	    p->idle_ms >= d->half_closed_ms) {
		what = "half-closed and idle";
		limit = p->idle_ms;
	} else if ((p->idle_limit != 0 || d->idle_ms != 0) &&
	    p->idle_ms >= (p->idle_limit != 0 ? p->idle_limit : d->idle_ms)) {
		what = "idle";
		limit = p->idle_ms;
	}
	if (what == NULL)
		return 0;
	log_info("tunnel", "%s: stream %u reset: %s for %llu ms", p->label,
	    p->sid, what, (unsigned long long)limit);
	pump_fail(p, MUX_CODE_TIMEOUT);
	return 1;
}

void
pump_free(struct pump *p)
{
	if (p == NULL)
		return;
	if (p->fd >= 0) {
		p->done = 1;
		pump_close(p, 1);
	}
	if (p->rev != NULL)
		event_free(p->rev);
	if (p->wev != NULL)
		event_free(p->wev);
	if (p->fev != NULL)
		event_free(p->fev);
	if (p->in != NULL)
		evbuffer_free(p->in);
	if (p->out != NULL)
		evbuffer_free(p->out);
	free(p);
}

void
pump_list_insert(struct pump_list *l, struct pump *p)
{
	TAILQ_INSERT_TAIL(l, p, entry);
}

void
pump_list_remove(struct pump_list *l, struct pump *p)
{
	TAILQ_REMOVE(l, p, entry);
}

struct pump *
pump_list_next(struct pump *p)
{
	return TAILQ_NEXT(p, entry);
}
