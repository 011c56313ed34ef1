/*
 * relay_stats.c — the counters the admin endpoint reads (relay_stats.h),
 * and the access log line of each stream.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "mux.h"
#include "relay.h"
#include "relay_stats.h"

static const char *const relay_stats_hs_names[RELAY_HS_COUNT] = {
	"tls", "no_certificate", "bad_hello", "limit", "timeout",
};

const char *
relay_stats_hs_name(enum relay_hs_fail f)
{
	return (unsigned)f < RELAY_HS_COUNT ? relay_stats_hs_names[f] : "?";
}

struct relay_stats *
relay_stats_new(void)
{
	struct relay_stats *s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	pthread_mutex_init(&s->lock, NULL);
	TAILQ_INIT(&s->agents);
	return s;
}

void
relay_stats_free(struct relay_stats *s)
{
	if (s == NULL)
		return;
	/* Every tunnel, and so every entry, is gone before the relay. */
	pthread_mutex_destroy(&s->lock);
	free(s);
}

void
relay_stats_refused(struct relay_stats *s, uint32_t code)
{
	if (code >= RELAY_STATS_CODES)
		code = MUX_CODE_INTERNAL;
	atomic_fetch_add(&s->refused[code], 1);
}

void
relay_stats_hs_failed(struct relay_stats *s, enum relay_hs_fail f)
{
	if ((unsigned)f < RELAY_HS_COUNT)
		atomic_fetch_add(&s->hs_fail[f], 1);
}

struct stats_agent *
relay_stats_agent_new(struct relay_stats *s, const char *id, const char *peer,
    const char *credential, uint64_t gen)
{
	struct stats_agent *a;

	if ((a = calloc(1, sizeof(*a))) == NULL)
		return NULL;
	snprintf(a->id, sizeof(a->id), "%s", id);
	snprintf(a->peer, sizeof(a->peer), "%s", peer);
	a->credential = credential;
	a->gen = gen;
	a->since = (int64_t)time(NULL);
	TAILQ_INIT(&a->svcs);
	TAILQ_INIT(&a->streams);
	pthread_mutex_lock(&s->lock);
	TAILQ_INSERT_TAIL(&s->agents, a, entry);
	a->listed = 1;
	pthread_mutex_unlock(&s->lock);
	return a;
}

void
relay_stats_agent_unlist(struct relay_stats *s, struct stats_agent *a)
{
	if (a == NULL)
		return;
	pthread_mutex_lock(&s->lock);
	if (a->listed) {
		TAILQ_REMOVE(&s->agents, a, entry);
		a->listed = 0;
	}
	pthread_mutex_unlock(&s->lock);
}

void
relay_stats_agent_free(struct relay_stats *s, struct stats_agent *a)
{
	struct stats_stream *st;
	struct stats_svc *svc;

	if (a == NULL)
		return;
	relay_stats_agent_unlist(s, a);
	/* Unlisted: no other thread reaches a any more. */
	while ((st = TAILQ_FIRST(&a->streams)) != NULL)
		relay_stats_stream_end(s, st);
	while ((svc = TAILQ_FIRST(&a->svcs)) != NULL) {
		TAILQ_REMOVE(&a->svcs, svc, entry);
		free(svc);
	}
	free(a);
}

/* The agent's entry for service, made on its first stream (lock held). */
static struct stats_svc *
relay_stats_svc(struct stats_agent *a, const char *service)
{
	struct stats_svc *svc;

	TAILQ_FOREACH(svc, &a->svcs, entry) {
		if (strcmp(svc->name, service) == 0)
			return svc;
	}
	/* An agent renaming services for ever must not grow this list for
	 * ever: past the cap, streams are counted per agent only. */
	if (a->nsvcs >= RELAY_STATS_SVC_MAX ||
	    (svc = calloc(1, sizeof(*svc))) == NULL)
		return NULL;
	snprintf(svc->name, sizeof(svc->name), "%s", service);
	TAILQ_INSERT_TAIL(&a->svcs, svc, entry);
	a->nsvcs++;
	return svc;
}

struct stats_stream *
relay_stats_stream_new(struct stats_agent *a, const char *service,
    const char *client, void *owner)
{
	struct stats_stream *st;

	if ((st = calloc(1, sizeof(*st))) == NULL)
		return NULL;
	atomic_init(&st->c.in, 0);
	atomic_init(&st->c.out, 0);
	atomic_init(&st->c.window, 0);
	/* Until the pump says otherwise: a pump freed with its tunnel never
	 * learns how its stream ended. */
	st->c.code = MUX_CODE_TUNNEL_LOST;
	st->agent = a;
	st->owner = owner;
	snprintf(st->service, sizeof(st->service), "%s", service);
	snprintf(st->client, sizeof(st->client), "%s", client);
	st->start_ms = relay_now_ms();
	return st;
}

void
relay_stats_stream_start(struct relay_stats *s, struct stats_stream *st)
{
	struct stats_agent *a = st->agent;

	atomic_fetch_add(&s->opened, 1);
	if (a == NULL)
		return;
	pthread_mutex_lock(&s->lock);
	st->svc = relay_stats_svc(a, st->service);
	TAILQ_INSERT_TAIL(&a->streams, st, entry);
	st->listed = 1;
	pthread_mutex_unlock(&s->lock);
	atomic_fetch_add(&a->open, 1);
	atomic_fetch_add(&a->total, 1);
	if (st->svc != NULL) {
		atomic_fetch_add(&st->svc->open, 1);
		atomic_fetch_add(&st->svc->total, 1);
	}
}

void
relay_stats_stream_end(struct relay_stats *s, struct stats_stream *st)
{
	struct stats_agent *a;
	uint64_t in, out, ms;
	uint32_t code;

	if (st == NULL)
		return;
	a = st->agent;
	in = atomic_load(&st->c.in);
	out = atomic_load(&st->c.out);
	code = st->c.code;
	ms = relay_now_ms() - st->start_ms;
	atomic_fetch_add(&s->ended[code < RELAY_STATS_CODES ? code :
	    MUX_CODE_INTERNAL], 1);
	/* One line per stream, bytes as the client saw them: in from it,
	 * out to it.  Addresses and names only, never payload. */
	log_info("access", "%s -> %s/%s duration=%llu.%03llus in=%llu "
	    "out=%llu reason=%s", st->client, a != NULL ? a->id : "?",
	    st->service, (unsigned long long)(ms / 1000),
	    (unsigned long long)(ms % 1000), (unsigned long long)in,
	    (unsigned long long)out, mux_code_name(code));
	if (st->listed) {
		pthread_mutex_lock(&s->lock);
		TAILQ_REMOVE(&a->streams, st, entry);
		if (st->svc != NULL) {
			st->svc->in += in;
			st->svc->out += out;
		}
		pthread_mutex_unlock(&s->lock);
		atomic_fetch_sub(&a->open, 1);
		if (st->svc != NULL)
			atomic_fetch_sub(&st->svc->open, 1);
	}
	free(st);
}
