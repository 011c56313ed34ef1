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

#define RELAY_TICK_MS	5000

static void
relay_worker_maybe_exit(struct relay_worker *w)
{
	/* loopexit, not loopbreak: a tunnel freed in this iteration has queued
	 * its bufferevent's finalizers, which must run before the loop ends
	 * or the bufferevent, its SSL and the SSL_CTX it holds are lost. */
	if (w->stopping && TAILQ_EMPTY(&w->tunnels))
		event_base_loopexit(w->base, NULL);
}

static void
relay_worker_cmd(struct relay_worker *w, struct relay_cmd *cmd)
{
	struct tunnel *t;

	switch (cmd->type) {
	case RELAY_CMD_CONN:
		if (w->stopping) {
			close(cmd->fd);
			break;
		}
		t = tunnel_new(w, cmd->fd, (struct sockaddr *)&cmd->ss);
		if (t != NULL)
			TAILQ_INSERT_TAIL(&w->tunnels, t, entry);
		break;
	case RELAY_CMD_REPLACE:
		TAILQ_FOREACH(t, &w->tunnels, entry) {
			if (t->gen != cmd->gen)
				continue;
			log_info("tunnel", "%s: replaced by a newer connection "
			    "of the same identity", t->name);
			tunnel_drain(t, MUX_CODE_REPLACED, "replaced by a newer "
			    "connection of the same identity");
		}
		break;
	case RELAY_CMD_SHUTDOWN:
		w->stopping = 1;
		TAILQ_FOREACH(t, &w->tunnels, entry)
			tunnel_drain(t, MUX_CODE_SHUTDOWN, "relay shutting down");
		relay_worker_gc(w);
		break;
	}
}

static void
relay_worker_wake_cb(evutil_socket_t fd, short what, void *arg)
{
	struct relay_worker *w = arg;
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
}

static void
relay_worker_gc_cb(evutil_socket_t fd, short what, void *arg)
{
	struct relay_worker *w = arg;
	struct tunnel *t, *tt;

	(void)fd;
	(void)what;
	TAILQ_FOREACH_SAFE(t, &w->tunnels, entry, tt) {
		if (tunnel_gc(t)) {
			TAILQ_REMOVE(&w->tunnels, t, entry);
			tunnel_free(t);
		}
	}
	relay_worker_maybe_exit(w);
}

static void
relay_worker_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct relay_worker *w = arg;
	struct tunnel *t;

	(void)fd;
	(void)what;
	/* The flood counter decays (PROTOCOL.md 6). */
	TAILQ_FOREACH(t, &w->tunnels, entry)
		if (t->mux != NULL && t->state != TUNNEL_DEAD)
			mux_tick(t->mux);
	relay_worker_gc(w);
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
	struct timeval tv = { RELAY_TICK_MS / 1000, 0 };

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
	    w)) == NULL ||
	    (w->tick = event_new(w->base, -1, EV_PERSIST,
	    relay_worker_tick_cb, w)) == NULL ||
	    event_add(w->tick, &tv) != 0) {
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

int
relay_worker_post(struct relay_worker *w, struct relay_cmd *cmd)
{
	pthread_mutex_lock(&w->lock);
	TAILQ_INSERT_TAIL(&w->cmds, cmd, entry);
	pthread_mutex_unlock(&w->lock);
	event_active(w->wake, EV_TIMEOUT, 0);
	return 0;
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
	struct tunnel *t;

	if (w == NULL)
		return;
	while ((t = TAILQ_FIRST(&w->tunnels)) != NULL) {
		TAILQ_REMOVE(&w->tunnels, t, entry);
		tunnel_free(t);
	}
	/* Run the finalizers bufferevent_free() queued (thread joined). */
	if (w->base != NULL)
		event_base_loop(w->base, EVLOOP_NONBLOCK);
	while ((cmd = TAILQ_FIRST(&w->cmds)) != NULL) {
		TAILQ_REMOVE(&w->cmds, cmd, entry);
		if (cmd->fd >= 0 && cmd->type == RELAY_CMD_CONN)
			close(cmd->fd);
		free(cmd);
	}
	if (w->wake != NULL)
		event_free(w->wake);
	if (w->gc != NULL)
		event_free(w->gc);
	if (w->tick != NULL)
		event_free(w->tick);
	if (w->base != NULL)
		event_base_free(w->base);
	pthread_mutex_destroy(&w->lock);
	free(w);
}
