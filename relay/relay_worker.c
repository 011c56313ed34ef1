/*
 * relay_worker.c — one thread, one event base, the tunnels it was handed.
 *
 * Other threads talk to a worker only through its command queue: they lock,
 * append, unlock and activate the wake event (thread-safe once
 * evthread_use_pthreads() ran).  The worker drains the queue on its own
 * thread, so a tunnel is only ever touched by the thread that owns it.
 */
#include "relay.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "evloop.h"
#include "log.h"
#include "mux.h"

static void
relay_worker_maybe_exit(struct relay_worker *w)
{
	/* loopexit, not loopbreak: the events of this iteration (a tunnel's
	 * last gc among them) still run before the loop ends. */
	if (w->stopping && TAILQ_EMPTY(&w->tunnels))
		event_base_loopexit(w->base, NULL);
}

static void
relay_worker_cmd(struct relay_worker *w, struct relay_cmd *cmd)
{
	struct relay_tunnel *rt;

	switch (cmd->type) {
	case RELAY_CMD_CONN:
		if (w->stopping) {
			close(cmd->fd);
			atomic_fetch_sub(&w->relay->handshaking, 1);
			break;
		}
		rt = relay_tunnel_new(w, cmd->fd, (struct sockaddr *)&cmd->ss);
		if (rt != NULL)
			TAILQ_INSERT_TAIL(&w->tunnels, rt, entry);
		break;
	case RELAY_CMD_REPLACE:
		TAILQ_FOREACH(rt, &w->tunnels, entry) {
			if (rt->gen != cmd->gen || rt->dead)
				continue;
			log_info("tunnel", "%s: replaced by a newer connection "
			    "of the same identity", relay_tunnel_name(rt));
			relay_tunnel_drain(rt, MUX_CODE_REPLACED, "replaced by "
			    "a newer connection of the same identity");
		}
		break;
	case RELAY_CMD_SPLICE:
		relay_splice_serve(w, cmd);
		break;
	}
}

static void
relay_worker_shutdown(struct relay_worker *w)
{
	struct relay_tunnel *rt;

	w->stopping = 1;
	TAILQ_FOREACH(rt, &w->tunnels, entry)
		if (!rt->dead)
			relay_tunnel_drain(rt, MUX_CODE_SHUTDOWN,
			    "relay shutting down");
	relay_worker_gc(w);
}

static void
relay_worker_wake_cb(evutil_socket_t fd, short what, void *arg)
{
	struct relay_worker *w = arg;
	struct relay_tunnel *rt;
	struct relay_cmd *cmd;

	(void)fd;
	(void)what;
	for (;;) {
		pthread_mutex_lock(&w->lock);
		if ((cmd = TAILQ_FIRST(&w->cmds)) != NULL)
			TAILQ_REMOVE(&w->cmds, cmd, entry);
		pthread_mutex_unlock(&w->lock);
		if (cmd == NULL)
			break;
		relay_worker_cmd(w, cmd);
		free(cmd);
	}
	if (atomic_exchange(&w->recheck, 0)) {
		TAILQ_FOREACH(rt, &w->tunnels, entry)
			if (!rt->dead)
				relay_tunnel_recheck(rt);
	}
	if (atomic_load(&w->stop) && !w->stopping)
		relay_worker_shutdown(w);
}

static void
relay_worker_gc_cb(evutil_socket_t fd, short what, void *arg)
{
	struct relay_worker *w = arg;
	struct relay_tunnel *rt, *next;

	(void)fd;
	(void)what;
	TAILQ_FOREACH_SAFE(rt, &w->tunnels, entry, next) {
		if (rt->dead) {
			TAILQ_REMOVE(&w->tunnels, rt, entry);
			relay_tunnel_free(rt);
		}
	}
	relay_worker_maybe_exit(w);
}

void
relay_worker_gc(struct relay_worker *w)
{
	event_active(w->gc, EV_TIMEOUT, 0);
}

struct relay_worker *
relay_worker_new(struct relay *r, int idx)
{
	struct relay_worker *w;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		return NULL;
	w->relay = r;
	w->idx = idx;
	pthread_mutex_init(&w->lock, NULL);
	TAILQ_INIT(&w->cmds);
	TAILQ_INIT(&w->tunnels);
	if ((w->base = evloop_new()) == NULL ||
	    (w->wake = event_new(w->base, -1, 0, relay_worker_wake_cb,
	    w)) == NULL ||
	    (w->gc = event_new(w->base, -1, 0, relay_worker_gc_cb,
	    w)) == NULL) {
		relay_worker_free(w);
		return NULL;
	}
	return w;
}

static void *
relay_worker_main(void *arg)
{
	struct relay_worker *w = arg;

	event_base_loop(w->base, EVLOOP_NO_EXIT_ON_EMPTY);
	return NULL;
}

int
relay_worker_start(struct relay_worker *w)
{
	if (pthread_create(&w->thread, NULL, relay_worker_main, w) != 0)
		return -1;
	w->started = 1;
	return 0;
}

void
relay_worker_post(struct relay_worker *w, struct relay_cmd *cmd)
{
	pthread_mutex_lock(&w->lock);
	TAILQ_INSERT_TAIL(&w->cmds, cmd, entry);
	pthread_mutex_unlock(&w->lock);
	event_active(w->wake, EV_TIMEOUT, 0);
}

void
relay_worker_stop(struct relay_worker *w)
{
	atomic_store(&w->stop, 1);
	event_active(w->wake, EV_TIMEOUT, 0);
}

void
relay_worker_recheck(struct relay_worker *w)
{
	atomic_store(&w->recheck, 1);
	event_active(w->wake, EV_TIMEOUT, 0);
}

void
relay_worker_join(struct relay_worker *w)
{
	if (w->started)
		pthread_join(w->thread, NULL);
	w->started = 0;
}

void
relay_worker_free(struct relay_worker *w)
{
	struct relay_cmd *cmd;
	struct relay_tunnel *rt;

	if (w == NULL)
		return;
	while ((rt = TAILQ_FIRST(&w->tunnels)) != NULL) {
		TAILQ_REMOVE(&w->tunnels, rt, entry);
		relay_tunnel_free(rt);
	}
	while ((cmd = TAILQ_FIRST(&w->cmds)) != NULL) {
		TAILQ_REMOVE(&w->cmds, cmd, entry);
		if (cmd->fd >= 0 && cmd->type == RELAY_CMD_CONN) {
			close(cmd->fd);
			atomic_fetch_sub(&w->relay->handshaking, 1);
		} else if (cmd->fd >= 0 && cmd->type == RELAY_CMD_SPLICE)
			close(cmd->fd);
		free(cmd);
	}
	if (w->wake != NULL)
		event_free(w->wake);
	if (w->gc != NULL)
		event_free(w->gc);
	if (w->base != NULL)
		event_base_free(w->base);
	pthread_mutex_destroy(&w->lock);
	free(w);
}
