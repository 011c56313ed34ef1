/*
 * agent_forward.c — forwards: a local listener per agent.yaml forwards[]
 * entry; each accepted connection becomes a stream the agent opens on its
 * tunnel to the private service "OWNER/SERVICE", and the tunnel's pump owns
 * the socket from then on.  The relay checks the connect grant and finds a
 * server; its refusal ("not authorised to reach X", "agent offline") comes
 * back as the stream's close, logged by the pump, and the local client
 * sees its connection reset.
 *
 * While the tunnel is not READY a connection has nowhere to go: it is
 * closed at once (a reset, so the client does not mistake it for an empty
 * answer), and logged once per burst.
 */
#include "agent.h"

#include <sys/socket.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>

#include "log.h"
#include "pump.h"
#include "tunnel.h"

/* Refusals are logged once per burst: the first at once, the rest of the
 * following second as a count with the next line. */
#define AGENT_FORWARD_LOG_MS	1000

struct agent_fwd {
	TAILQ_ENTRY(agent_fwd)	 entry;
	struct agent		*agent;
	struct agent_forward	 f;	/* a copy: reloads free the config */
	char			 name[CFG_HOST_MAX + 96];	/* addr -> to */
	struct evconnlistener	*lev;
	uint64_t		 refuse_log_ms;
	unsigned		 refuse_quiet;
};

static void
agent_forward_refused(struct agent_fwd *fw, const char *why)
{
	uint64_t now = agent_now_ms();

	if (fw->refuse_log_ms != 0 &&
	    now - fw->refuse_log_ms < AGENT_FORWARD_LOG_MS) {
		fw->refuse_quiet++;
		return;
	}
	if (fw->refuse_quiet > 0)
		log_info("forward", "%s: connection closed: %s (and %u more "
		    "before it)", fw->name, why, fw->refuse_quiet);
	else
		log_info("forward", "%s: connection closed: %s", fw->name, why);
	fw->refuse_log_ms = now;
	fw->refuse_quiet = 0;
}

static void
agent_forward_accept_cb(struct evconnlistener *lev, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct agent_fwd *fw = arg;
	struct agent_tunnel *at = fw->agent->tunnel;
	char err[256], label[CFG_HOST_MAX + 128];

	(void)lev;
	(void)sa;
	(void)salen;
	if (at == NULL || at->dead || !agent_tunnel_is_ready(at)) {
		agent_forward_refused(fw, "not connected to the relay");
		pump_set_rst(fd);
		close(fd);
		return;
	}
	snprintf(label, sizeof(label), "forward %s", fw->name);
	/* Takes fd in every case; the relay's answer comes later. */
	if (tunnel_stream_open(at->tun, fd, fw->f.to, NULL, label, NULL, err,
	    sizeof(err)) != 0)
		agent_forward_refused(fw, err);
	else
		log_debug("forward", "%s: stream opened", fw->name);
}

static void
agent_forward_error_cb(struct evconnlistener *lev, void *arg)
{
	struct agent_fwd *fw = arg;
	int e = EVUTIL_SOCKET_ERROR();

	/* EMFILE and friends: the listener stays; libevent retries on the
	 * next readable event.  Say it, once per burst. */
	(void)lev;
	agent_forward_refused(fw, evutil_socket_error_to_string(e));
}

static void
agent_forward_free(struct agent_fwd *fw)
{
	if (fw == NULL)
		return;
	if (fw->lev != NULL)
		evconnlistener_free(fw->lev);
	free(fw);
}

/* A listener for f; NULL (logged) when it cannot listen. */
static struct agent_fwd *
agent_forward_new(struct agent *a, const struct agent_forward *f)
{
	struct agent_fwd *fw = NULL;
	struct sockaddr_storage ss;
	int sslen = sizeof(ss);
	char addr[CFG_HOST_MAX + 16], spec[CFG_HOST_MAX + 16];

	cfg_addr_str(&f->listen, addr, sizeof(addr));
	if ((fw = calloc(1, sizeof(*fw))) == NULL) {
		log_warnx("forward", "%s: out of memory", addr);
		goto fail;
	}
	fw->agent = a;
	fw->f = *f;
	snprintf(fw->name, sizeof(fw->name), "%s -> %s", addr, f->to);
	memset(&ss, 0, sizeof(ss));
	if (f->listen.any)
		snprintf(spec, sizeof(spec), "0.0.0.0:%u", f->listen.port);
	else
		snprintf(spec, sizeof(spec), "%s", addr);
	if (evutil_parse_sockaddr_port(spec, (struct sockaddr *)&ss,
	    &sslen) != 0) {
		log_warnx("forward", "%s: listen address must be numeric",
		    fw->name);
		goto fail;
	}
	fw->lev = evconnlistener_new_bind(a->base, agent_forward_accept_cb, fw,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC |
	    LEV_OPT_REUSEABLE, 128, (struct sockaddr *)&ss, sslen);
	if (fw->lev == NULL) {
		log_warn("forward", "%s: cannot listen", fw->name);
		goto fail;
	}
	evconnlistener_set_error_cb(fw->lev, agent_forward_error_cb);
	log_info("forward", "%s: listening", fw->name);
	return fw;
fail:
	agent_forward_free(fw);
	return NULL;
}

int
agent_forward_start(struct agent *a)
{
	struct agent_fwd *fw;
	size_t i;

	for (i = 0; i < a->cfg->nforwards; i++) {
		if ((fw = agent_forward_new(a, &a->cfg->forwards[i])) == NULL)
			return -1;
		TAILQ_INSERT_TAIL(&a->fwds, fw, entry);
	}
	return 0;
}

static int
agent_forward_same(const struct agent_forward *x, const struct agent_forward *y)
{
	return strcmp(x->listen.host, y->listen.host) == 0 &&
	    x->listen.port == y->listen.port && x->listen.any == y->listen.any &&
	    strcmp(x->to, y->to) == 0;
}

void
agent_forward_apply(struct agent *a)
{
	struct agent_fwd *fw, *next;
	size_t i;
	int found;

	/* Listeners the new configuration no longer has close first, so
	 * that a forward moved to another target can take its address. */
	TAILQ_FOREACH_SAFE(fw, &a->fwds, entry, next) {
		for (i = 0, found = 0; i < a->cfg->nforwards && !found; i++)
			found = agent_forward_same(&fw->f, &a->cfg->forwards[i]);
		if (found)
			continue;
		log_info("forward", "%s: closed by the new configuration",
		    fw->name);
		TAILQ_REMOVE(&a->fwds, fw, entry);
		agent_forward_free(fw);
	}
	for (i = 0; i < a->cfg->nforwards; i++) {
		found = 0;
		TAILQ_FOREACH(fw, &a->fwds, entry)
			if (agent_forward_same(&fw->f, &a->cfg->forwards[i]))
				found = 1;
		if (found || (fw = agent_forward_new(a,
		    &a->cfg->forwards[i])) == NULL)
			continue;
		TAILQ_INSERT_TAIL(&a->fwds, fw, entry);
	}
}

void
agent_forward_stop(struct agent *a)
{
	struct agent_fwd *fw;

	while ((fw = TAILQ_FIRST(&a->fwds)) != NULL) {
		TAILQ_REMOVE(&a->fwds, fw, entry);
		agent_forward_free(fw);
	}
}
