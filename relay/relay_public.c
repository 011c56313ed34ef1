/*
 * relay_public.c — the public listeners of a tunnel's services: REGISTER
 * (claim a port in the registry, bind it, answer), UNREGISTER, and accepting
 * public clients into streams.  Listeners live on the tunnel's worker.
 */
#include "relay.h"

#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/util.h>

#include "jwt.h"
#include "log.h"
#include "mux.h"
#include "relay_registry.h"
#include "tunnel.h"

/* Auto-picked ports that turn out to be taken by another program. */
#define RELAY_PUBLIC_PICK_TRIES	16
/* A port the registry gave us but the kernel calls in use: retry this
 * long, this often (the replaced tunnel's listener is closing). */
#define RELAY_PUBLIC_REBIND_MS		2000
#define RELAY_PUBLIC_REBIND_STEP_MS	25

static void
relay_public_reply_err(struct relay_tunnel *rt, const char *name, uint32_t code,
    const char *text)
{
	struct mux_ctl c;

	memset(&c, 0, sizeof(c));
	c.type = MUX_CTL_REGISTER_ERR;
	c.name = name;
	c.code = code;
	c.text = text;
	(void)mux_send_ctl(tunnel_mux(rt->tun), &c);
	log_info("tunnel", "%s: service %s refused: %s", relay_tunnel_name(rt), name, text);
}

static void
relay_public_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct public_svc *svc = arg;

	(void)fd;
	(void)what;
	event_add(svc->lev, NULL);
}

static void
relay_public_svc_free(struct public_svc *svc)
{
	struct public_src *src;

	if (svc == NULL)
		return;
	while ((src = TAILQ_FIRST(&svc->srcs)) != NULL) {
		TAILQ_REMOVE(&svc->srcs, src, entry);
		free(src);
	}
	if (svc->lev != NULL)
		event_free(svc->lev);
	if (svc->pause != NULL)
		event_free(svc->pause);
	if (svc->retry != NULL)
		event_free(svc->retry);
	if (svc->fd >= 0)
		close(svc->fd);
	free(svc);
}

/*
 * One client per readiness event, as nginx does without multi_accept: the
 * listener is level-triggered, so clients still queued wake the next loop
 * turn (with the tunnel's own events in between), and the accept(2) that
 * would only say EAGAIN is never made.
 */
static void
relay_public_accept_cb(evutil_socket_t lfd, short what, void *arg)
{
	struct public_svc *svc = arg;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	struct timeval tv = { RELAY_ACCEPT_PAUSE_MS / 1000,
	    (RELAY_ACCEPT_PAUSE_MS % 1000) * 1000 };
	int fd;

	(void)what;
	fd = accept4(lfd, (struct sockaddr *)&ss, &len,
	    SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd >= 0) {
		relay_stream_open(svc->rt, svc, fd, (struct sockaddr *)&ss);
		return;
	}
	if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED ||
	    errno == EPROTO)
		return;	/* nobody left, or a client that already gave up */
	/* EMFILE and friends: pause, or the level-triggered listener spins
	 * (and logs) on every loop turn. */
	log_warn("public", "%s:%u: accept", svc->name, svc->port);
	event_del(svc->lev);
	evtimer_add(svc->pause, &tv);
}

/* Bind host:port for listening; -errno on failure. */
static int
relay_public_bind(const char *host, uint16_t port, int *fdp)
{
	struct evutil_addrinfo hints, *ai = NULL;
	char ports[8];
	int fd = -1, one = 1, r;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV;
	snprintf(ports, sizeof(ports), "%u", port);
	if (evutil_getaddrinfo(host, ports, &hints, &ai) != 0) {
		r = -EINVAL;
		goto out;
	}
	if ((fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) < 0) {
		r = -errno;
		goto out;
	}
	/* SO_REUSEADDR only: rebinding a port in TIME_WAIT after a restart
	 * works, while a second socket on a live port is refused.
	 * SO_REUSEPORT would let any process of our user bind the live
	 * public port and take half of its clients. */
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 ||
	    listen(fd, 128) != 0) {
		r = -errno;
		goto out;
	}
	*fdp = fd;
	fd = -1;
	r = 0;
out:
	if (fd >= 0)
		close(fd);
	if (ai != NULL)
		evutil_freeaddrinfo(ai);
	return r;
}

static struct public_svc *
relay_public_find(struct relay_tunnel *rt, const char *name)
{
	struct public_svc *svc;

	TAILQ_FOREACH(svc, &rt->svcs, entry)
		if (!svc->gone && strcmp(svc->name, name) == 0)
			return svc;
	return NULL;
}

/* Reply to the agent and forget svc: registration failed. */
static void
relay_public_fail(struct public_svc *svc, uint32_t code, const char *text)
{
	struct relay_tunnel *rt = svc->rt;

	relay_public_reply_err(rt, svc->name, code, text);
	TAILQ_REMOVE(&rt->svcs, svc, entry);
	relay_public_svc_free(svc);
}

/* Bound: accept clients and tell the agent where. */
static void
relay_public_listening(struct public_svc *svc, const char *bind_host)
{
	struct relay_tunnel *rt = svc->rt;
	struct mux_ctl ok;

	svc->binding = 0;
	if ((svc->lev = event_new(rt->w->base, svc->fd, EV_READ | EV_PERSIST,
	    relay_public_accept_cb, svc)) == NULL ||
	    event_add(svc->lev, NULL) != 0) {
		registry_release(rt->w->relay->reg, svc->port, rt->gen);
		relay_public_fail(svc, MUX_CODE_INTERNAL, "out of memory");
		return;
	}
	memset(&ok, 0, sizeof(ok));
	ok.type = MUX_CTL_REGISTER_OK;
	ok.name = svc->name;
	ok.port = svc->port;
	(void)mux_send_ctl(tunnel_mux(rt->tun), &ok);
	log_info("tunnel", "%s: service %s exposed on %s:%u",
	    relay_tunnel_name(rt), svc->name, bind_host, svc->port);
}

/*
 * Claim a port in the registry and bind it.  The registry decides who owns a
 * port; the kernel may still say EADDRINUSE for a port the registry gave us
 * when the tunnel this one replaces has not closed its listener yet (it does
 * so on another worker, a moment later).  Public listeners are exclusive
 * (no SO_REUSEPORT), so the bind is retried for a while rather than failed;
 * a port still in use after that belongs to another program: a requested
 * port is then refused, an automatic one is swapped for another.
 */
static void
relay_public_try_bind(struct public_svc *svc)
{
	struct relay_tunnel *rt = svc->rt;
	struct relay *r = rt->w->relay;
	struct relay_conf *conf = relay_conf_get(r);
	const struct relay_config *cfg = conf->cfg;
	struct timeval tv = { 0, RELAY_PUBLIC_REBIND_STEP_MS * 1000 };
	char text[256], eb[128];
	uint32_t code;
	int e;

	for (;;) {
		if (svc->port == 0) {
			code = registry_claim(r->reg, cfg, rt->id, rt->gen,
			    svc->name, svc->want, relay_now_ms(), &svc->port,
			    text, sizeof(text));
			if (code != MUX_CODE_NONE) {
				relay_public_fail(svc, code, text);
				break;
			}
		}
		if ((e = relay_public_bind(cfg->public_bind, svc->port,
		    &svc->fd)) == 0) {
			relay_public_listening(svc, cfg->public_bind);
			break;
		}
		if (e == -EADDRINUSE && relay_now_ms() < svc->rebind_until) {
			if (evtimer_add(svc->retry, &tv) == 0)
				break;	/* relay_public_retry_cb */
		}
		registry_release(r->reg, svc->port, rt->gen);
		if (e != -EADDRINUSE) {
			snprintf(text, sizeof(text), "cannot listen on %s:%u: "
			    "%s", cfg->public_bind, svc->port,
			    log_strerror(-e, eb, sizeof(eb)));
			relay_public_fail(svc, MUX_CODE_INTERNAL, text);
			break;
		}
		if (svc->want != 0 || ++svc->picks >= RELAY_PUBLIC_PICK_TRIES) {
			snprintf(text, sizeof(text), "port %u in use",
			    svc->port);
			relay_public_fail(svc, MUX_CODE_PORT_IN_USE, text);
			break;
		}
		svc->port = 0;	/* another program's: pick another, now */
		svc->rebind_until = 0;
	}
	relay_conf_put(conf);
}

static void
relay_public_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct public_svc *svc = arg;

	(void)fd;
	(void)what;
	if (tunnel_state(svc->rt->tun) != TUNNEL_READY)
		return;		/* withdrawn with the tunnel meanwhile */
	relay_public_try_bind(svc);
}

void
relay_public_register(struct relay_tunnel *rt, const char *name, uint16_t want)
{
	struct public_svc *svc = NULL;
	char text[256], sname[CFG_NAME_MAX + 1];

	log_sanitize(sname, sizeof(sname), name, CFG_NAME_MAX);
	if (strcmp(sname, name) != 0 || name[0] == '\0') {
		/* Names end up in logs and labels: printable ASCII only. */
		relay_public_reply_err(rt, sname, MUX_CODE_PROTOCOL,
		    "invalid service name");
		return;
	}
	if (tunnel_state(rt->tun) != TUNNEL_READY) {
		relay_public_reply_err(rt, sname, MUX_CODE_SHUTDOWN,
		    "tunnel is closing");
		return;
	}
	if (relay_public_find(rt, name) != NULL) {
		snprintf(text, sizeof(text), "service %s already registered",
		    sname);
		relay_public_reply_err(rt, sname, MUX_CODE_DUPLICATE, text);
		return;
	}
	if (rt->claims != NULL && !jwt_claims_may_expose(rt->claims, name,
	    want)) {
		snprintf(text, sizeof(text), "the token's expose claim does "
		    "not list %s", sname);
		relay_public_reply_err(rt, sname, MUX_CODE_AUTH, text);
		return;
	}
	if ((svc = calloc(1, sizeof(*svc))) == NULL ||
	    (svc->pause = evtimer_new(rt->w->base, relay_public_resume_cb,
	    svc)) == NULL ||
	    (svc->retry = evtimer_new(rt->w->base, relay_public_retry_cb,
	    svc)) == NULL) {
		relay_public_svc_free(svc);
		relay_public_reply_err(rt, sname, MUX_CODE_INTERNAL,
		    "out of memory");
		return;
	}
	svc->rt = rt;
	svc->fd = -1;
	svc->want = want;
	TAILQ_INIT(&svc->srcs);
	svc->binding = 1;
	svc->rebind_until = relay_now_ms() + RELAY_PUBLIC_REBIND_MS;
	snprintf(svc->name, sizeof(svc->name), "%s", name);
	TAILQ_INSERT_TAIL(&rt->svcs, svc, entry);
	relay_public_try_bind(svc);
}

/* Stop listening; the service itself lives on while streams tag it. */
static void
relay_public_withdraw(struct relay_tunnel *rt, struct public_svc *svc)
{
	if (svc->lev != NULL)
		event_del(svc->lev);
	if (svc->pause != NULL)
		event_del(svc->pause);
	if (svc->retry != NULL)
		event_del(svc->retry);
	if (svc->binding && svc->port != 0)
		registry_release(rt->w->relay->reg, svc->port, rt->gen);
	svc->binding = 0;
	if (svc->fd >= 0)
		close(svc->fd);
	svc->fd = -1;
	svc->gone = 1;
	if (svc->nstreams == 0) {
		TAILQ_REMOVE(&rt->svcs, svc, entry);
		relay_public_svc_free(svc);
	}
}

void
relay_public_unregister(struct relay_tunnel *rt, const char *name)
{
	struct public_svc *svc;
	char sname[CFG_NAME_MAX + 1];

	log_sanitize(sname, sizeof(sname), name, CFG_NAME_MAX);
	if ((svc = relay_public_find(rt, name)) == NULL) {
		log_info("tunnel", "%s: unregister of unknown service %s",
		    relay_tunnel_name(rt), sname);
		return;
	}
	if (!svc->binding)	/* else relay_public_withdraw releases */
		registry_release(rt->w->relay->reg, svc->port, rt->gen);
	log_info("tunnel", "%s: service %s withdrawn (port %u)",
	    relay_tunnel_name(rt), sname, svc->port);
	relay_public_withdraw(rt, svc);
}

void
relay_public_revoke(struct relay_tunnel *rt, uint16_t port, uint32_t code,
    const char *text)
{
	struct public_svc *svc;

	TAILQ_FOREACH(svc, &rt->svcs, entry)
		if (!svc->gone && svc->port == port)
			break;
	if (svc == NULL)
		return;
	log_warnx("tunnel", "%s: service %s (port %u) withdrawn by the new "
	    "configuration: %s", relay_tunnel_name(rt), svc->name, port, text);
	relay_public_reply_err(rt, svc->name, code, text);
	if (!svc->binding)
		registry_release(rt->w->relay->reg, svc->port, rt->gen);
	relay_public_withdraw(rt, svc);
}

void
relay_public_close_all(struct relay_tunnel *rt)
{
	struct public_svc *svc, *next;

	TAILQ_FOREACH_SAFE(svc, &rt->svcs, entry, next)
		if (!svc->gone)
			relay_public_withdraw(rt, svc);
}

void
relay_public_stream_gone(struct relay_tunnel *rt, struct public_svc *svc)
{
	if (svc == NULL || svc->nstreams == 0)
		return;
	if (--svc->nstreams == 0 && svc->gone) {
		TAILQ_REMOVE(&rt->svcs, svc, entry);
		relay_public_svc_free(svc);
	}
}

void
relay_public_free_all(struct relay_tunnel *rt)
{
	struct public_svc *svc;

	while ((svc = TAILQ_FIRST(&rt->svcs)) != NULL) {
		TAILQ_REMOVE(&rt->svcs, svc, entry);
		relay_public_svc_free(svc);
	}
}
