/*
 * pump.c — see pump.h.  The pump is a small state machine over two flags per
 * direction:
 *
 *   socket -> stream:  reading --(EOF, all handed over)--> fin_sent
 *   stream -> socket:  writing --(peer FIN, output drained)--> wr_shut
 *   the stream:        open --(stream_closed / reset / abort)--> gone
 *
 * The pump is finished when the stream is gone and the socket closed.  A
 * clean end waits for the socket's output to drain before closing; every
 * other end closes with a reset at once and drops what was queued.
 *
 * Invariant: the socket's output holds at most one stream window, because the
 * mux delivers no more than our window and credit returns only when bytes
 * leave for the kernel (pump_output_cb).
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
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "log.h"
#include "mux.h"
#include "sockread.h"

#define PUMP_MAX_IO	(128 * 1024)

struct pump {
	struct bufferevent	*bev;	/* NULL once the socket is closed */
	struct event		*rev;	/* reads the socket (sockread.h) */
	struct sockread		 rd;	/* its read size */
	struct event		*wev;	/* deferred write of pend */
	struct evbuffer		*pend;	/* stream data not yet written */
	struct evbuffer_cb_entry *ocb;
	struct mux		*mux;	/* NULL once the stream is gone */
	uint32_t		 sid;
	int			 started;
	int			 blocked;	/* reading off: no send space */
	int			 sock_eof;	/* EOF read from the socket */
	int			 fin_sent;	/* mux_stream_shutdown() done */
	int			 peer_fin;	/* stream_eof seen */
	int			 wr_shut;	/* shutdown(SHUT_WR) done */
	int			 clean;		/* stream ended with NONE */
	int			 done;
	pump_done_cb		 done_cb;
	void			*arg;
	char			 label[64];
};

static void	pump_read_cb(evutil_socket_t, short, void *);
static void	pump_flush_cb(evutil_socket_t, short, void *);
static void	pump_write_cb(struct bufferevent *, void *);
static void	pump_event_cb(struct bufferevent *, short, void *);
static void	pump_output_cb(struct evbuffer *,
		    const struct evbuffer_cb_info *, void *);
static void	pump_close(struct pump *, int);
static void	pump_fail(struct pump *, uint32_t);

void
pump_set_rst(int fd)
{
	struct linger l = { 1, 0 };

	if (fd >= 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
}

struct pump *
pump_new(struct bufferevent *bev, struct mux *m, const char *label,
    pump_done_cb done, void *arg)
{
	struct pump *p;
	int one = 1, fd;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	p->bev = bev;
	p->mux = m;
	p->done_cb = done;
	p->arg = arg;
	snprintf(p->label, sizeof(p->label), "%s", label);
	fd = (int)bufferevent_getfd(bev);
	if (fd >= 0)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof(one));
	p->ocb = evbuffer_add_cb(bufferevent_get_output(bev), pump_output_cb,
	    p);
	/* The bufferevent writes; reading is ours, in bites larger than
	 * libevent 2.1's 4 KiB (sockread.h). */
	p->rev = event_new(bufferevent_get_base(bev), fd, EV_READ | EV_PERSIST,
	    pump_read_cb, p);
	p->wev = event_new(bufferevent_get_base(bev), -1, 0, pump_flush_cb, p);
	p->pend = evbuffer_new();
	if (p->rev == NULL || p->wev == NULL || p->pend == NULL) {
		evbuffer_remove_cb_entry(bufferevent_get_output(bev), p->ocb);
		if (p->rev != NULL)
			event_free(p->rev);
		if (p->wev != NULL)
			event_free(p->wev);
		if (p->pend != NULL)
			evbuffer_free(p->pend);
		free(p);
		return NULL;
	}
	bufferevent_setcb(bev, NULL, pump_write_cb, pump_event_cb, p);
	bufferevent_setwatermark(bev, EV_WRITE, 0, 0);
	/* Bigger bites than libevent's 16 KiB: fewer loop turns per MB. */
	bufferevent_set_max_single_write(bev, PUMP_MAX_IO);
	/* Write interest only once the kernel refuses bytes (pump_flush_cb):
	 * enabled now, an empty output would cost a wake-up and two
	 * epoll_ctl per stream. */
	bufferevent_disable(bev, EV_READ | EV_WRITE);
	return p;
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

size_t
pump_pending(const struct pump *p)
{
	if (p->bev == NULL)
		return 0;
	return evbuffer_get_length(bufferevent_get_output(p->bev)) +
	    evbuffer_get_length(p->pend);
}

/* Hand what the socket gave us to the stream, as far as its space goes. */
static void
pump_feed(struct pump *p)
{
	struct evbuffer *in;
	size_t moved = 0;
	int r;

	if (p->bev == NULL || p->mux == NULL || !p->started || p->fin_sent)
		return;
	in = bufferevent_get_input(p->bev);
	if (evbuffer_get_length(in) > 0) {
		r = mux_stream_write(p->mux, p->sid, in, &moved);
		if (r < 0) {
			log_debug("pump", "%s: stream write: %s", p->label,
			    mux_strerror(r));
			pump_fail(p, MUX_CODE_INTERNAL);
			return;
		}
	}
	if (evbuffer_get_length(in) > 0) {
		/* Stop reading where we cannot send (STYLE rule 9). */
		p->blocked = 1;
		event_del(p->rev);
		return;
	}
	p->blocked = 0;
	if (p->sock_eof) {
		p->fin_sent = 1;
		r = mux_stream_shutdown(p->mux, p->sid);
		if (r < 0)
			log_debug("pump", "%s: shutdown: %s", p->label,
			    mux_strerror(r));
		return;
	}
	event_add(p->rev, NULL);
}

void
pump_start(struct pump *p, int read_now)
{
	int fd;

	if (p->done || p->started)
		return;
	p->started = 1;
	pump_feed(p);
	/* A client usually speaks right after connecting (and a server may
	 * have sent its banner while we waited for the connect): read now,
	 * so the first bytes leave with the STREAM_OPEN or STREAM_ACCEPT of
	 * this loop turn instead of a turn and a TLS record later. */
	if (read_now && p->bev != NULL && p->mux != NULL && !p->blocked &&
	    !p->sock_eof && (fd = (int)bufferevent_getfd(p->bev)) >= 0)
		pump_read_cb(fd, EV_READ, p);
}

static void
pump_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct pump *p = arg;
	size_t max;
	ssize_t n;

	(void)what;
	if (p->mux == NULL) {
		/* Nowhere to send to: never spin on a readable socket. */
		event_del(p->rev);
		return;
	}
	/* No more than the stream can take: what the socket gave us beyond
	 * the window would wait here, outside every bound. */
	max = mux_stream_send_space(p->mux, p->sid);
	if (max > PUMP_MAX_IO)
		max = PUMP_MAX_IO;
	n = sockread_fill(bufferevent_get_input(p->bev), (int)fd, max, &p->rd);
	if (n > 0) {
		pump_feed(p);
		return;
	}
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return;
	/* As libevent would: no more reading, then the event callback. */
	event_del(p->rev);
	pump_event_cb(p->bev, BEV_EVENT_READING |
	    (n == 0 ? BEV_EVENT_EOF : BEV_EVENT_ERROR), p);
}

/* The output drained: finish a half-close or a clean close. */
static void
pump_write_cb(struct bufferevent *bev, void *arg)
{
	struct pump *p = arg;
	int fd;

	if (evbuffer_get_length(bufferevent_get_output(bev)) != 0 ||
	    evbuffer_get_length(p->pend) != 0)
		return;
	if (p->peer_fin && !p->wr_shut) {
		p->wr_shut = 1;
		fd = (int)bufferevent_getfd(bev);
		if (fd >= 0)
			(void)shutdown(fd, SHUT_WR);
	}
	if (p->clean && p->mux == NULL)
		pump_close(p, 0);
}

static void
pump_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct pump *p = arg;

	(void)bev;
	if (what & BEV_EVENT_EOF) {
		p->sock_eof = 1;
		if (p->mux == NULL) {
			/* Stream already gone; only the socket was left. */
			pump_close(p, !p->clean);
			return;
		}
		pump_feed(p);
		return;
	}
	if (what & (BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)) {
		log_debug("pump", "%s: socket %s: %s", p->label,
		    (what & BEV_EVENT_WRITING) ? "write" : "read",
		    (what & BEV_EVENT_TIMEOUT) ? "timeout" :
		    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
		pump_fail(p, MUX_CODE_CANCEL);
	}
}

/* Credit goes back when bytes leave the process (STYLE rule 8). */
static void
pump_output_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info,
    void *arg)
{
	struct pump *p = arg;

	(void)buf;
	if (info->n_deleted > 0 && p->mux != NULL)
		(void)mux_stream_consumed(p->mux, p->sid, info->n_deleted);
}

void
pump_stream_data(struct pump *p, struct evbuffer *data)
{
	struct evbuffer *out;
	size_t n;

	if (p->bev == NULL || p->wr_shut) {
		/* Nowhere to go: still consumed, or the tunnel deadlocks. */
		n = evbuffer_get_length(data);
		evbuffer_drain(data, n);
		if (p->mux != NULL && n > 0)
			(void)mux_stream_consumed(p->mux, p->sid, n);
		return;
	}
	out = bufferevent_get_output(p->bev);
	if (evbuffer_get_length(out) > 0) {
		evbuffer_add_buffer(out, data);
		return;
	}
	/* The socket has taken everything so far: gather what this loop turn
	 * delivers (one frame per call) and write it once, from
	 * pump_flush_cb, before the loop polls again.  Through the
	 * bufferevent the bytes would wait for the next turn and cost two
	 * epoll_ctl calls (write interest on, then off). */
	if (evbuffer_get_length(p->pend) == 0)
		event_active(p->wev, EV_TIMEOUT, 0);
	evbuffer_add_buffer(p->pend, data);
}

/* Write what pump_stream_data() gathered; what the socket does not take goes
 * to the bufferevent, which waits for EV_WRITE and reports errors. */
static void
pump_flush_cb(evutil_socket_t unused, short what, void *arg)
{
	struct pump *p = arg;
	int fd, w;

	(void)unused;
	(void)what;
	if (p->bev == NULL || evbuffer_get_length(p->pend) == 0)
		return;
	fd = (int)bufferevent_getfd(p->bev);
	if (fd >= 0 && (w = evbuffer_write_atmost(p->pend, fd, -1)) > 0 &&
	    p->mux != NULL)
		(void)mux_stream_consumed(p->mux, p->sid, (size_t)w);
	if (evbuffer_get_length(p->pend) > 0) {
		evbuffer_add_buffer(bufferevent_get_output(p->bev), p->pend);
		bufferevent_enable(p->bev, EV_WRITE);
	} else if (p->peer_fin || p->clean)
		pump_write_cb(p->bev, p);
}

void
pump_stream_eof(struct pump *p)
{
	p->peer_fin = 1;
	if (p->bev != NULL)
		pump_write_cb(p->bev, p);
}

void
pump_stream_writable(struct pump *p)
{
	if (p->blocked)
		pump_feed(p);
}

void
pump_stream_closed(struct pump *p, uint32_t code)
{
	if (p->mux == NULL)
		return;
	p->mux = NULL;
	if (code != MUX_CODE_NONE || p->bev == NULL) {
		log_debug("pump", "%s: stream closed: %s", p->label,
		    mux_code_name(code));
		pump_close(p, code != MUX_CODE_NONE);
		return;
	}
	p->clean = 1;
	p->peer_fin = 1;
	/* Close once the last bytes are out; pump_write_cb does it. */
	pump_write_cb(p->bev, p);
}

/* Reset the stream and the socket: an abnormal end on our side. */
static void
pump_fail(struct pump *p, uint32_t code)
{
	struct mux *m = p->mux;

	p->mux = NULL;
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
	if (p->bev != NULL) {
		if (rst)
			pump_set_rst((int)bufferevent_getfd(p->bev));
		if (p->ocb != NULL)
			evbuffer_remove_cb_entry(bufferevent_get_output(p->bev),
			    p->ocb);
		p->ocb = NULL;
		if (p->rev != NULL)
			event_free(p->rev);
		p->rev = NULL;
		if (p->wev != NULL)
			event_free(p->wev);
		p->wev = NULL;
		evbuffer_drain(p->pend, evbuffer_get_length(p->pend));
		bufferevent_free(p->bev);
		p->bev = NULL;
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

void
pump_free(struct pump *p)
{
	if (p == NULL)
		return;
	if (p->bev != NULL) {
		p->done = 1;
		pump_close(p, 1);
	}
	if (p->pend != NULL)
		evbuffer_free(p->pend);
	free(p);
}
