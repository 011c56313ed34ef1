/*
 * agent_stream.c — one stream the relay opened: find the service in the
 * agent's OWN configuration (the relay names a service, never an address),
 * connect to its target without blocking and within timeouts.connect, then
 * accept the stream and hand both ends to a pump; or refuse it, so the relay
 * resets the public client at once.
 */
#include "agent.h"

#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/util.h>

#include "log.h"
#include "mux.h"
#include "pump.h"

static void
agent_stream_dead(struct agent_stream *s)
{
	s->dead = 1;
	agent_gc(s->tunnel->agent);
}

static void
agent_stream_pump_done(struct pump *p, void *arg)
{
	(void)p;
	agent_stream_dead(arg);
}

static void
agent_stream_refuse(struct agent_stream *s, uint32_t code, const char *text)
{
	struct mux *m = s->tunnel->mux;

	log_info("stream", "service %s: %s", s->service, text);
	if (m != NULL) {
		(void)mux_stream_set_arg(m, s->sid, NULL);
		(void)mux_stream_refuse(m, s->sid, code, text);
	}
	if (s->conn != NULL) {
		bufferevent_free(s->conn);
		s->conn = NULL;
	}
	agent_stream_dead(s);
}

/*
 * The target took the connection: accept the stream and pump.  read_now: the
 * target may have spoken already (a banner sent while we waited for the
 * connect to complete), so read it into this turn's STREAM_ACCEPT record.
 */
static void
agent_stream_connected(struct agent_stream *s, struct bufferevent *bev,
    int read_now)
{
	struct agent_tunnel *t = s->tunnel;
	char label[200];
	int r;

	s->conn = NULL;
	bufferevent_set_timeouts(bev, NULL, NULL);
	snprintf(label, sizeof(label), "%s stream %u", s->service, s->sid);
	if ((s->pump = pump_new(bev, t->mux, label, agent_stream_pump_done,
	    s)) == NULL) {
		s->conn = bev;
		agent_stream_refuse(s, MUX_CODE_INTERNAL, "out of memory");
		return;
	}
	pump_set_stream(s->pump, s->sid);
	if ((r = mux_stream_accept(t->mux, s->sid, s)) < 0) {
		log_debug("stream", "%s: accept: %s", label, mux_strerror(r));
		pump_abort(s->pump);
		agent_stream_dead(s);
		return;
	}
	pump_start(s->pump, read_now);
	log_debug("stream", "%s: connected to %s", label, s->target);
}

static void
agent_stream_connect_failed(struct agent_stream *s, int err)
{
	char text[300];

	snprintf(text, sizeof(text), "connect to %s: %s", s->target,
	    err != 0 ? evutil_socket_error_to_string(err) : "failed");
	agent_stream_refuse(s, err == ECONNREFUSED ? MUX_CODE_REFUSED :
	    MUX_CODE_UNREACHABLE, text);
}

static void
agent_stream_connect_cb(struct bufferevent *bev, short what, void *arg)
{
	struct agent_stream *s = arg;
	char text[300];
	int serr = EVUTIL_SOCKET_ERROR(), dnserr;

	if (what & BEV_EVENT_CONNECTED) {
		agent_stream_connected(s, bev, 1);
		return;
	}
	if ((dnserr = bufferevent_socket_get_dns_error(bev)) != 0) {
		snprintf(text, sizeof(text), "cannot resolve %s: %s",
		    s->target, evutil_gai_strerror(dnserr));
		agent_stream_refuse(s, MUX_CODE_UNREACHABLE, text);
	} else if (what & BEV_EVENT_TIMEOUT) {
		snprintf(text, sizeof(text), "connect to %s timed out",
		    s->target);
		agent_stream_refuse(s, MUX_CODE_UNREACHABLE, text);
	} else
		agent_stream_connect_failed(s, serr);
}

/* 1 if the handshake of fd is complete (TCP_INFO). */
static int
agent_sock_established(int fd)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0 ||
	    len < 1)
		return 0;
	return ti.tcpi_state == TCP_ESTABLISHED;
}

/*
 * Connect to a numeric target without a resolver round: our own socket and
 * connect(2).  To a target on this host the handshake has completed by the
 * time connect(2) returns EINPROGRESS (the kernel answers the SYN before the
 * call returns), so TCP_INFO lets the stream be accepted in this loop turn:
 * no wake-up for EV_WRITE, and three system calls fewer per stream.  A
 * remote target is waited for as before (bufferevent_socket_connect on the
 * fd, within timeouts.connect).  Returns 1 if the target is a name, for
 * agent_stream_open to resolve; 0 when s was handled (connected, waiting or
 * refused).
 */
static int
agent_stream_connect_numeric(struct agent_stream *s,
    const struct agent_service *svc, const struct timeval *tv)
{
	struct agent *a = s->tunnel->agent;
	struct addrinfo hints, *ai = NULL;
	struct bufferevent *bev = NULL;
	char port[8];
	int fd = -1, err;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	snprintf(port, sizeof(port), "%u", svc->target.port);
	if (getaddrinfo(svc->target.host, port, &hints, &ai) != 0)
		return 1;
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (fd < 0) {
		agent_stream_connect_failed(s, errno);
		goto out;
	}
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0 &&
	    errno != EINPROGRESS) {
		err = errno;
		close(fd);
		agent_stream_connect_failed(s, err);
		goto out;
	}
	if ((bev = bufferevent_socket_new(a->base, fd,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		close(fd);
		agent_stream_refuse(s, MUX_CODE_INTERNAL, "out of memory");
		goto out;
	}
	if (agent_sock_established(fd)) {
		agent_stream_connected(s, bev, 0);
		goto out;
	}
	s->conn = bev;
	bufferevent_setcb(bev, NULL, NULL, agent_stream_connect_cb, s);
	bufferevent_set_timeouts(bev, NULL, tv);
	/* With a socket set and no address, libevent waits for the connect
	 * in progress on it to finish. */
	if (bufferevent_socket_connect(bev, NULL, 0) != 0)
		agent_stream_connect_failed(s, EVUTIL_SOCKET_ERROR());
out:
	freeaddrinfo(ai);
	return 0;
}

void
agent_stream_open(struct agent_tunnel *t, uint32_t sid, const char *service)
{
	struct agent *a = t->agent;
	const struct agent_service *svc;
	struct agent_stream *s;
	struct timeval tv;
	char name[CFG_NAME_MAX + 1], text[300];

	log_sanitize(name, sizeof(name), service, CFG_NAME_MAX);
	if ((svc = cfg_agent_service(a->cfg, service)) == NULL) {
		snprintf(text, sizeof(text), "unknown service %s", name);
		log_info("stream", "stream %u refused: %s", sid, text);
		(void)mux_stream_refuse(t->mux, sid, MUX_CODE_UNKNOWN_SERVICE,
		    text);
		return;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		(void)mux_stream_refuse(t->mux, sid, MUX_CODE_INTERNAL,
		    "out of memory");
		return;
	}
	s->tunnel = t;
	s->sid = sid;
	snprintf(s->service, sizeof(s->service), "%s", svc->name);
	cfg_addr_str(&svc->target, s->target, sizeof(s->target));
	TAILQ_INSERT_TAIL(&t->streams, s, entry);
	(void)mux_stream_set_arg(t->mux, sid, s);
	tv.tv_sec = (time_t)(a->cfg->connect_timeout_ms / 1000);
	tv.tv_usec = (suseconds_t)(a->cfg->connect_timeout_ms % 1000) * 1000;
	if (agent_stream_connect_numeric(s, svc, &tv) == 0)
		return;
	if ((s->conn = bufferevent_socket_new(a->base, -1,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		agent_stream_refuse(s, MUX_CODE_INTERNAL, "out of memory");
		return;
	}
	bufferevent_setcb(s->conn, NULL, NULL, agent_stream_connect_cb, s);
	bufferevent_set_timeouts(s->conn, NULL, &tv);
	bufferevent_enable(s->conn, EV_WRITE);
	/* The callback may run before this returns (numeric address, or a
	 * connect that fails at once); s stays valid until the gc. */
	if (bufferevent_socket_connect_hostname(s->conn, a->dns, AF_UNSPEC,
	    svc->target.host, svc->target.port) != 0 && s->conn != NULL &&
	    !s->dead && s->pump == NULL) {
		snprintf(text, sizeof(text), "connect to %s failed", s->target);
		agent_stream_refuse(s, MUX_CODE_UNREACHABLE, text);
	}
}

void
agent_stream_data(struct agent_stream *s, struct evbuffer *data)
{
	if (s->pump != NULL && !s->dead)
		pump_stream_data(s->pump, data);
	/* else: left in data, the mux keeps it in the window */
}

void
agent_stream_eof(struct agent_stream *s)
{
	if (s->pump != NULL && !s->dead)
		pump_stream_eof(s->pump);
}

void
agent_stream_writable(struct agent_stream *s)
{
	if (s->pump != NULL && !s->dead)
		pump_stream_writable(s->pump);
}

void
agent_stream_closed(struct agent_stream *s, uint32_t code)
{
	if (s->dead)
		return;
	if (s->pump != NULL) {
		pump_stream_closed(s->pump, code);	/* done() follows */
		return;
	}
	/* Still connecting: the public client is gone, cancel. */
	if (s->conn != NULL) {
		bufferevent_free(s->conn);
		s->conn = NULL;
	}
	agent_stream_dead(s);
}

void
agent_stream_abort(struct agent_stream *s)
{
	if (s->dead && s->pump == NULL && s->conn == NULL)
		return;
	if (s->pump != NULL && !pump_is_done(s->pump))
		pump_abort(s->pump);
	if (s->conn != NULL) {
		bufferevent_free(s->conn);
		s->conn = NULL;
	}
	s->dead = 1;
}

void
agent_stream_free(struct agent_stream *s)
{
	if (s == NULL)
		return;
	if (s->conn != NULL)
		bufferevent_free(s->conn);
	pump_free(s->pump);
	free(s);
}
