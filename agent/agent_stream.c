/*
 * agent_stream.c — one stream the relay opened: find the service in the
 * agent's OWN configuration (the relay names a service, never an address),
 * connect to its target without blocking and within timeouts.connect, then
 * accept the stream, whose socket the tunnel's pump takes; or refuse it, so
 * the relay resets the public client at once.
 */
#include "agent.h"

#include <sys/socket.h>

#include <arpa/inet.h>
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
#include "tunnel.h"

static void
agent_stream_dead(struct agent_stream *s)
{
	s->dead = 1;
	agent_gc(s->at->agent);
}

/* Drop what is still connecting: the resolver's bufferevent and our socket
 * (closed with a reset: the target sees the attempt was abandoned). */
static void
agent_stream_release(struct agent_stream *s)
{
	int fd;

	if (s->resolve != NULL) {
		if ((fd = (int)bufferevent_getfd(s->resolve)) >= 0)
			evutil_closesocket(fd);
		bufferevent_free(s->resolve);
		s->resolve = NULL;
	}
	if (s->wait != NULL) {
		event_free(s->wait);
		s->wait = NULL;
	}
	if (s->fd >= 0) {
		pump_set_rst(s->fd);
		close(s->fd);
		s->fd = -1;
	}
}

static void
agent_stream_refuse(struct agent_stream *s, uint32_t code, const char *text)
{
	struct mux *m = s->at->tun != NULL ? tunnel_mux(s->at->tun) : NULL;

	log_info("stream", "service %s: %s", s->service, text);
	if (code == MUX_CODE_REFUSED || code == MUX_CODE_UNREACHABLE)
		agent_admin_connect_failed(s->at->agent, s->service);
	if (m != NULL)
		(void)mux_stream_refuse(m, s->sid, code, text);
	agent_stream_release(s);
	agent_stream_dead(s);
}

/*
 * The target took the connection: the tunnel accepts the stream and its
 * pump takes the socket.  read_now: the target may have spoken already (a
 * banner sent while we waited for the connect to complete), so read it into
 * this turn's STREAM_ACCEPT record.
 */
static void
agent_stream_connected(struct agent_stream *s, int fd, int read_now)
{
	struct agent_stat_stream *st;
	char label[200];

	snprintf(label, sizeof(label), "%s stream %u", s->service, s->sid);
	/* Without memory for its record the stream still runs, uncounted. */
	st = agent_admin_stream_new(s->at, s);
	if (tunnel_stream_accept(s->at->tun, s->sid, fd, label, st,
	    read_now, s->idle_ms) == 0) {
		log_debug("stream", "%s: connected to %s", label, s->target);
		if (st != NULL) {
			agent_admin_stream_start(s->at->agent, st);
			pump_set_counters(tunnel_last_pump(s->at->tun), &st->c);
		}
	} else
		free(st);
	agent_stream_dead(s);
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
agent_stream_timed_out(struct agent_stream *s)
{
	char text[300];

	snprintf(text, sizeof(text), "connect to %s timed out", s->target);
	agent_stream_refuse(s, MUX_CODE_UNREACHABLE, text);
}

/* A host-name target: the resolver's bufferevent ended. */
static void
agent_stream_resolve_cb(struct bufferevent *bev, short what, void *arg)
{
	struct agent_stream *s = arg;
	char text[300];
	int serr = EVUTIL_SOCKET_ERROR(), dnserr, fd;

	if (what & BEV_EVENT_CONNECTED) {
		/* Without BEV_OPT_CLOSE_ON_FREE the socket outlives the
		 * bufferevent. */
		fd = (int)bufferevent_getfd(bev);
		bufferevent_disable(bev, EV_READ | EV_WRITE);
		bufferevent_free(bev);
		s->resolve = NULL;
		agent_stream_connected(s, fd, 1);
		return;
	}
	if ((dnserr = bufferevent_socket_get_dns_error(bev)) != 0) {
		snprintf(text, sizeof(text), "cannot resolve %s: %s",
		    s->target, evutil_gai_strerror(dnserr));
		agent_stream_refuse(s, MUX_CODE_UNREACHABLE, text);
	} else if (what & BEV_EVENT_TIMEOUT)
		agent_stream_timed_out(s);
	else
		agent_stream_connect_failed(s, serr);
}

/* A numeric target: the connect in progress finished or timed out. */
static void
agent_stream_wait_cb(evutil_socket_t fd, short what, void *arg)
{
	struct agent_stream *s = arg;
	socklen_t len = sizeof(int);
	int err = 0;

	if (what & EV_TIMEOUT) {
		agent_stream_timed_out(s);
		return;
	}
	if (getsockopt((int)fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
		err = errno;
	if (err != 0) {
		agent_stream_connect_failed(s, err);
		return;
	}
	event_free(s->wait);
	s->wait = NULL;
	s->fd = -1;	/* the tunnel's from here */
	agent_stream_connected(s, (int)fd, 1);
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
 * remote target is waited for with an EV_WRITE event, within
 * timeouts.connect.  Returns 1 if the target is a name, for
 * agent_stream_open to resolve; 0 when s was handled (connected, waiting or
 * refused).
 */
static int
agent_stream_connect_numeric(struct agent_stream *s,
    const struct agent_service *svc, const struct timeval *tv)
{
	struct agent *a = s->at->agent;
	struct addrinfo hints, *ai = NULL;
	char port[8];
	int fd;

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
		agent_stream_connect_failed(s, errno);
		close(fd);
		goto out;
	}
	if (agent_sock_established(fd)) {
		agent_stream_connected(s, fd, 0);
		goto out;
	}
	s->fd = fd;
	if ((s->wait = event_new(a->base, fd, EV_WRITE, agent_stream_wait_cb,
	    s)) == NULL || event_add(s->wait, tv) != 0)
		agent_stream_refuse(s, MUX_CODE_INTERNAL, "out of memory");
out:
	freeaddrinfo(ai);
	return 0;
}

/* "addr:port" of the public client, as STREAM_OPEN gave it. */
static void
agent_stream_client(const struct mux_peer *mp, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN];

	if (mp != NULL && mp->family == 4 &&
	    inet_ntop(AF_INET, mp->addr, host, sizeof(host)) != NULL)
		snprintf(buf, len, "%s:%u", host, mp->port);
	else if (mp != NULL && mp->family == 6 &&
	    inet_ntop(AF_INET6, mp->addr, host, sizeof(host)) != NULL)
		snprintf(buf, len, "[%s]:%u", host, mp->port);
	else
		snprintf(buf, len, "-");
}

void
agent_stream_open(struct agent_tunnel *at, uint32_t sid, const char *service,
    const struct mux_peer *client)
{
	struct agent *a = at->agent;
	struct mux *m = tunnel_mux(at->tun);
	const struct agent_service *svc;
	struct agent_stream *s;
	struct timeval tv;
	char name[CFG_NAME_MAX + 1], text[300];

	log_sanitize(name, sizeof(name), service, CFG_NAME_MAX);
	if ((svc = cfg_agent_service(a->cfg, service)) == NULL) {
		snprintf(text, sizeof(text), "unknown service %s", name);
		log_info("stream", "stream %u refused: %s", sid, text);
		(void)mux_stream_refuse(m, sid, MUX_CODE_UNKNOWN_SERVICE, text);
		return;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		(void)mux_stream_refuse(m, sid, MUX_CODE_INTERNAL,
		    "out of memory");
		return;
	}
	s->at = at;
	s->sid = sid;
	s->fd = -1;
	agent_stream_client(client, s->client, sizeof(s->client));
	snprintf(s->service, sizeof(s->service), "%s", svc->name);
	s->idle_ms = svc->idle_timeout_ms;
	cfg_addr_str(&svc->target, s->target, sizeof(s->target));
	TAILQ_INSERT_TAIL(&at->streams, s, entry);
	tv.tv_sec = (time_t)(a->cfg->connect_timeout_ms / 1000);
	tv.tv_usec = (suseconds_t)(a->cfg->connect_timeout_ms % 1000) * 1000;
	if (agent_stream_connect_numeric(s, svc, &tv) == 0)
		return;
	if ((s->resolve = bufferevent_socket_new(a->base, -1, 0)) == NULL) {
		agent_stream_refuse(s, MUX_CODE_INTERNAL, "out of memory");
		return;
	}
	bufferevent_setcb(s->resolve, NULL, NULL, agent_stream_resolve_cb, s);
	bufferevent_set_timeouts(s->resolve, NULL, &tv);
	bufferevent_enable(s->resolve, EV_WRITE);
	/* The callback may run before this returns (a connect that fails at
	 * once); s stays valid until the gc. */
	if (bufferevent_socket_connect_hostname(s->resolve, a->dns, AF_UNSPEC,
	    svc->target.host, svc->target.port) != 0 && !s->dead) {
		snprintf(text, sizeof(text), "connect to %s failed", s->target);
		agent_stream_refuse(s, MUX_CODE_UNREACHABLE, text);
	}
}

void
agent_stream_abort(struct agent_stream *s)
{
	if (s->dead)
		return;
	agent_stream_release(s);
	s->dead = 1;
}

void
agent_stream_free(struct agent_stream *s)
{
	if (s == NULL)
		return;
	agent_stream_release(s);
	free(s);
}
