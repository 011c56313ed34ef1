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

#include "log.h"
#include "mux.h"
#include "relay_registry.h"

/* Auto-picked ports that turn out to be taken by another program. */
#define PUBLIC_PICK_TRIES	16

static void
public_reply_err(struct tunnel *t, const char *name, uint32_t code,
    const char *text)
{
	struct mux_ctl c;

	memset(&c, 0, sizeof(c));
	c.type = MUX_CTL_REGISTER_ERR;
	c.name = name;
	c.code = code;
	c.text = text;
	(void)mux_send_ctl(t->mux, &c);
	log_info("tunnel", "%s: service %s refused: %s", t->name, name, text);
}

static void
public_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct public_svc *svc = arg;

	(void)fd;
	(void)what;
	event_add(svc->lev, NULL);
}

static void
public_svc_free(struct public_svc *svc)
{
	if (svc == NULL)
		return;
	if (svc->lev != NULL)
		event_free(svc->lev);
	if (svc->pause != NULL)
		event_free(svc->pause);
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
public_accept_cb(evutil_socket_t lfd, short what, void *arg)
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
		relay_stream_open(svc->tunnel, svc, fd, (struct sockaddr *)&ss);
		return;
	}
	if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED ||
	    errno == EPROTO)
		return;	/* nobody left, or a client that already gave up */
	/* EMFILE and friends: pause, or the level-triggered listener spins
	 * (and logs) on every loop turn. */
	log_warn("public", "%s:%u: accept: %s", svc->name, svc->port,
	    strerror(errno));
	event_del(svc->lev);
	evtimer_add(svc->pause, &tv);
}

/* Bind host:port for listening; -errno on failure. */
static int
public_bind(const char *host, uint16_t port, int *fdp)
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
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* A replaced tunnel's listener may linger for a moment on another
	 * worker; the registry, not the kernel, decides who owns a port. */
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
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
public_find(struct tunnel *t, const char *name)
{
	struct public_svc *svc;

	TAILQ_FOREACH(svc, &t->svcs, entry)
		if (strcmp(svc->name, name) == 0)
			return svc;
	return NULL;
}

void
public_register(struct tunnel *t, const char *name, uint16_t want)
{
	struct relay *r = t->w->relay;
	struct relay_conf *conf = relay_conf_get(r);
	const struct relay_config *cfg = conf->cfg;
	struct public_svc *svc = NULL;
	struct mux_ctl ok;
	char text[256], sname[CFG_NAME_MAX + 1];
	uint32_t code;
	uint16_t port = 0;
	int i, e, fd = -1;

	log_sanitize(sname, sizeof(sname), name, CFG_NAME_MAX);
	if (strcmp(sname, name) != 0 || name[0] == '\0') {
		/* Names end up in logs and labels: printable ASCII only. */
		public_reply_err(t, sname, MUX_CODE_PROTOCOL,
		    "invalid service name");
		goto out;
	}
	if (t->state != TUNNEL_READY) {
		public_reply_err(t, sname, MUX_CODE_SHUTDOWN,
		    "tunnel is closing");
		goto out;
	}
	if (public_find(t, name) != NULL) {
		snprintf(text, sizeof(text), "service %s already registered",
		    sname);
		public_reply_err(t, sname, MUX_CODE_DUPLICATE, text);
		goto out;
	}
	for (i = 0; i < PUBLIC_PICK_TRIES; i++) {
		code = registry_claim(r->reg, cfg, t->id, t->gen, name, want,
		    relay_now_ms(), &port, text, sizeof(text));
		if (code != MUX_CODE_NONE) {
			public_reply_err(t, sname, code, text);
			goto out;
		}
		if ((e = public_bind(cfg->public_bind, port, &fd)) == 0)
			break;
		registry_release(r->reg, port, t->gen);
		if (e != -EADDRINUSE || want != 0) {
			if (e == -EADDRINUSE)
				snprintf(text, sizeof(text), "port %u in use",
				    port);
			else
				snprintf(text, sizeof(text), "cannot listen "
				    "on %s:%u: %s", cfg->public_bind, port,
				    strerror(-e));
			public_reply_err(t, sname, e == -EADDRINUSE ?
			    MUX_CODE_PORT_IN_USE : MUX_CODE_INTERNAL, text);
			goto out;
		}
	}
	if (fd < 0) {
		snprintf(text, sizeof(text), "no free port in range %u-%u",
		    cfg->port_min, cfg->port_max);
		public_reply_err(t, sname, MUX_CODE_NO_PORTS, text);
		goto out;
	}
	if ((svc = calloc(1, sizeof(*svc))) == NULL)
		goto nomem;
	svc->tunnel = t;
	svc->port = port;
	svc->fd = fd;
	fd = -1;
	snprintf(svc->name, sizeof(svc->name), "%s", name);
	svc->lev = event_new(t->w->base, svc->fd, EV_READ | EV_PERSIST,
	    public_accept_cb, svc);
	svc->pause = evtimer_new(t->w->base, public_resume_cb, svc);
	if (svc->lev == NULL || svc->pause == NULL ||
	    event_add(svc->lev, NULL) != 0)
		goto nomem;
	TAILQ_INSERT_TAIL(&t->svcs, svc, entry);
	memset(&ok, 0, sizeof(ok));
	ok.type = MUX_CTL_REGISTER_OK;
	ok.name = name;
	ok.port = port;
	(void)mux_send_ctl(t->mux, &ok);
	log_info("tunnel", "%s: service %s exposed on %s:%u", t->name, sname,
	    cfg->public_bind, port);
	svc = NULL;
	goto out;
nomem:
	registry_release(r->reg, port, t->gen);
	public_reply_err(t, sname, MUX_CODE_INTERNAL, "out of memory");
out:
	if (fd >= 0)
		close(fd);
	public_svc_free(svc);
	relay_conf_put(conf);
}

void
public_unregister(struct tunnel *t, const char *name)
{
	struct public_svc *svc;
	char sname[CFG_NAME_MAX + 1];

	log_sanitize(sname, sizeof(sname), name, CFG_NAME_MAX);
	if ((svc = public_find(t, name)) == NULL) {
		log_info("tunnel", "%s: unregister of unknown service %s",
		    t->name, sname);
		return;
	}
	TAILQ_REMOVE(&t->svcs, svc, entry);
	registry_release(t->w->relay->reg, svc->port, t->gen);
	log_info("tunnel", "%s: service %s withdrawn (port %u)", t->name,
	    sname, svc->port);
	public_svc_free(svc);
}

void
public_close_all(struct tunnel *t)
{
	struct public_svc *svc;

	while ((svc = TAILQ_FIRST(&t->svcs)) != NULL) {
		TAILQ_REMOVE(&t->svcs, svc, entry);
		public_svc_free(svc);
	}
}
