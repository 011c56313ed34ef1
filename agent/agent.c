/*
 * agent.c — struct agent: configuration and its reload, the reconnect loop
 * with backoff, signals and the garbage pass.  The tunnel itself is
 * agent_tunnel.c, the streams agent_stream.c.
 */
#include "agent.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#include <event2/dns.h>
#include <event2/event.h>

#include "evloop.h"
#include "log.h"
#include "mux.h"
#include "notify.h"
#include "preflight.h"
#include "service.h"
#include "tls.h"

uint64_t
agent_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

char *
agent_relay_str(const struct agent_config *cfg, char *buf, size_t len)
{
	if (strchr(cfg->relay.host, ':') != NULL)
		snprintf(buf, len, "[%s]:%u", cfg->relay.host, cfg->relay.port);
	else
		snprintf(buf, len, "%s:%u", cfg->relay.host, cfg->relay.port);
	return buf;
}

static SSL_CTX *
agent_ctx(const struct agent_config *cfg, char *err, size_t errlen)
{
	struct tls_files f;

	memset(&f, 0, sizeof(f));
	f.cert = cfg->tls_cert;	/* NULL: a token only */
	f.key = cfg->tls_key;
	f.ca = cfg->tls_ca;
	f.crl = NULL;
	return tls_ctx_new(TLS_ROLE_AGENT, &f, err, errlen);
}

/* Certificates run out while the agent runs: warn two weeks ahead, at
 * start, on each reload and once a day. */
static void
agent_expiry_check(struct agent *a)
{
	struct tls_files f;

	f.cert = a->cfg->tls_cert;
	f.key = a->cfg->tls_key;
	f.ca = a->cfg->tls_ca;
	f.crl = NULL;
	preflight_expiry(TLS_ROLE_AGENT, &f, time(NULL), preflight_log_cb,
	    (void *)"agent");
}

static void
agent_expiry_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	agent_expiry_check(arg);
}

void
agent_gc(struct agent *a)
{
	event_active(a->gc, EV_TIMEOUT, 0);
}

static void
agent_connect(struct agent *a)
{
	if (a->stopping || a->tunnel != NULL)
		return;
	a->tunnel = agent_tunnel_new(a);
	if (a->tunnel == NULL) {
		/* Out of memory: try again later rather than never. */
		struct timeval tv = { 5, 0 };

		log_warnx("agent", "cannot start a connection; retrying in 5 s");
		evtimer_add(a->retry, &tv);
	}
}

static void
agent_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	agent_connect(arg);
}

void
agent_tunnel_ended(struct agent *a, struct agent_tunnel *t)
{
	uint64_t delay, rnd = 0;
	struct timeval tv;

	if (t->up_ms != 0 && backoff_should_reset(&a->bo,
	    agent_now_ms() - t->up_ms))
		backoff_reset(&a->bo);
	agent_gc(a);
	if (a->stopping) {
		log_info("agent", "tunnel closed: %s", t->reason);
		return;
	}
	if (RAND_bytes((unsigned char *)&rnd, sizeof(rnd)) != 1)
		rnd = (uint64_t)random();
	delay = backoff_next(&a->bo, rnd);
	a->reconnects++;
	/* "tunnel lost" only for a tunnel that served: one that never got
	 * the relay's HELLO is a failure to connect, whatever the cause. */
	if (t->up_ms != 0)
		log_info("agent", "tunnel lost: %s; reconnecting in %llu ms",
		    t->reason, (unsigned long long)delay);
	else
		log_warnx("agent", "cannot connect to relay %s: %s; retrying "
		    "in %llu ms", t->relay, t->reason,
		    (unsigned long long)delay);
	tv.tv_sec = (time_t)(delay / 1000);
	tv.tv_usec = (suseconds_t)(delay % 1000) * 1000;
	evtimer_add(a->retry, &tv);
}

static void
agent_gc_cb(evutil_socket_t fd, short what, void *arg)
{
	struct agent *a = arg;

	(void)fd;
	(void)what;
	if (a->tunnel != NULL && agent_tunnel_gc(a->tunnel)) {
		agent_tunnel_free(a->tunnel);
		a->tunnel = NULL;
	}
	/* loopexit: the events of this iteration still run before the loop
	 * ends (see relay_worker.c). */
	if (a->stopping && a->tunnel == NULL)
		event_base_loopexit(a->base, NULL);
}

/* Registered the same way: name, port, public or private, group (and so
 * the same owner: the id of both configurations). */
static int
agent_same_reg(const struct agent_config *oc, const struct agent_service *o,
    const struct agent_config *nc, const struct agent_service *n)
{
	return o != NULL && n != NULL && n->remote_port == o->remote_port &&
	    n->private == o->private && strcmp(n->group, o->group) == 0 &&
	    (!n->private || strcmp(oc->id, nc->id) == 0);
}

/* Services: what changed between old and new, applied to a live tunnel. */
static void
agent_apply_services(struct agent *a, const struct agent_config *old)
{
	const struct agent_service *o, *n;
	struct agent_tunnel *t = a->tunnel;
	char reg[CFG_ID_MAX + CFG_NAME_MAX + 2];
	size_t i, added = 0, removed = 0;

	for (i = 0; i < old->nservices; i++) {
		o = &old->services[i];
		n = cfg_agent_service(a->cfg, o->name);
		if (agent_same_reg(old, o, a->cfg, n))
			continue;
		removed++;
		if (t != NULL && agent_tunnel_is_ready(t)) {
			cfg_agent_reg_name(old, o, reg, sizeof(reg));
			agent_tunnel_refused_forget(t, reg);
			agent_tunnel_unregister(t, reg);
		}
	}
	for (i = 0; i < a->cfg->nservices; i++) {
		n = &a->cfg->services[i];
		o = cfg_agent_service(old, n->name);
		if (agent_same_reg(old, o, a->cfg, n))
			continue;
		added++;
		if (t != NULL && agent_tunnel_is_ready(t)) {
			cfg_agent_reg_name(a->cfg, n, reg, sizeof(reg));
			agent_tunnel_refused_forget(t, reg);
			agent_tunnel_register(t, n);
		}
	}
	log_info("agent", "configuration reloaded from %s: %zu service(s) "
	    "added, %zu removed", a->path, added, removed);
}

static void
agent_reload(struct agent *a)
{
	struct agent_config *cfg = NULL, *old = NULL;
	char err[512], r1[300], r2[300];
	SSL_CTX *ctx;

	if (a->path == NULL) {
		/* `atlax-agent connect`: the command line cannot change. */
		log_info("agent", "no configuration file to reload");
		return;
	}
	if (cfg_agent_load(a->path, &cfg, err, sizeof(err)) != 0 ||
	    (ctx = agent_ctx(cfg, err, sizeof(err))) == NULL) {
		log_warnx("agent", "reload failed, keeping the old "
		    "configuration: %s", err);
		goto out;
	}
	old = a->cfg;
	if (strcmp(old->id, cfg->id) != 0 ||
	    strcmp(agent_relay_str(old, r1, sizeof(r1)),
	    agent_relay_str(cfg, r2, sizeof(r2))) != 0)
		log_info("agent", "id and relay changes apply from the next "
		    "connection");
	SSL_CTX_free(a->ctx);
	a->ctx = ctx;
	a->cfg = cfg;
	cfg = NULL;
	log_set_level(a->cfg->log_level);
	backoff_init(&a->bo, a->cfg->reconnect_initial_ms,
	    a->cfg->reconnect_max_ms);
	agent_apply_services(a, old);
	agent_forward_apply(a);
	agent_expiry_check(a);
out:
	cfg_agent_free(cfg);
	cfg_agent_free(old);
}

/* SIGHUP: an operator who just fixed the relay's side (a certificate, a
 * CRL, a port) should not wait out the backoff, up to reconnect.max. */
static void
agent_reconnect_now(struct agent *a)
{
	if (a->stopping)
		return;
	if (a->tunnel != NULL) {
		/* A dead one is freed in a moment; its timer stays. */
		if (!a->tunnel->dead)
			agent_tunnel_retry_now(a->tunnel);
		return;
	}
	if (!evtimer_pending(a->retry, NULL))
		return;
	evtimer_del(a->retry);
	backoff_reset(&a->bo);
	log_info("agent", "SIGHUP: reconnecting to the relay now");
	agent_connect(a);
}

static void
agent_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct agent *a = arg;

	(void)what;
	if (sig == SIGHUP) {
		notify_reloading();
		agent_reload(a);
		agent_reconnect_now(a);
		notify_ready();
		return;
	}
	if (a->stopping)
		return;
	a->stopping = 1;
	notify_stopping();
	log_info("agent", "%s: stopping (streams may finish)",
	    sig == SIGTERM ? "SIGTERM" : "SIGINT");
	evtimer_del(a->retry);
	agent_forward_stop(a);
	if (a->tunnel != NULL)
		agent_tunnel_drain(a->tunnel, MUX_CODE_SHUTDOWN,
		    "agent shutting down");
	agent_gc(a);
}

struct agent *
agent_new(struct agent_config *cfg, const char *path)
{
	static const int sigs[3] = { SIGTERM, SIGINT, SIGHUP };
	struct agent *a = NULL, *ret = NULL;
	char err[512];
	int i;

	evloop_process_init();
	if ((a = calloc(1, sizeof(*a))) == NULL)
		goto out;
	a->path = path;
	a->cfg = cfg;
	TAILQ_INIT(&a->fwds);
	TAILQ_INIT(&a->stat_svcs);
	TAILQ_INIT(&a->stat_streams);
	if ((a->ctx = agent_ctx(cfg, err, sizeof(err))) == NULL) {
		log_errorx("agent", "%s", err);
		goto out;
	}
	backoff_init(&a->bo, cfg->reconnect_initial_ms, cfg->reconnect_max_ms);
	if ((a->base = evloop_new()) == NULL)
		goto out;
	a->dns = evdns_base_new(a->base, EVDNS_BASE_INITIALIZE_NAMESERVERS |
	    EVDNS_BASE_DISABLE_WHEN_INACTIVE);
	if (a->dns == NULL && (a->dns = evdns_base_new(a->base,
	    EVDNS_BASE_DISABLE_WHEN_INACTIVE)) != NULL)
		(void)evdns_base_load_hosts(a->dns, NULL);
	if (a->dns == NULL)
		goto out;
	if ((a->retry = evtimer_new(a->base, agent_retry_cb, a)) == NULL ||
	    (a->gc = event_new(a->base, -1, 0, agent_gc_cb, a)) == NULL ||
	    (a->expiry_ev = event_new(a->base, -1, EV_PERSIST,
	    agent_expiry_cb, a)) == NULL)
		goto out;
	for (i = 0; i < 3; i++) {
		a->ev_sig[i] = evsignal_new(a->base, sigs[i], agent_signal_cb,
		    a);
		if (a->ev_sig[i] == NULL || evsignal_add(a->ev_sig[i],
		    NULL) != 0)
			goto out;
	}
	if (agent_forward_start(a) != 0)
		goto out;
	if (agent_admin_start(a, err, sizeof(err)) != 0) {
		log_warnx("agent", "%s", err);
		goto out;
	}
	ret = a;
	a = NULL;
out:
	if (ret == NULL) {
		if (a != NULL)
			a->cfg = NULL;
		cfg_agent_free(cfg);
		agent_free(a);
	}
	return ret;
}

/* The status line of STATUS= and SIGUSR1 (service.h). */
static void
agent_status(void *arg, char *buf, size_t len)
{
	struct agent *a = arg;
	char r[300];

	agent_relay_str(a->cfg, r, sizeof(r));
	/* up_ms is set when the relay accepted our HELLO. */
	if (a->tunnel != NULL && a->tunnel->up_ms != 0)
		snprintf(buf, len, "connected to relay %s for %llu s", r,
		    (unsigned long long)(agent_now_ms() - a->tunnel->up_ms) /
		    1000);
	else
		snprintf(buf, len, "connecting to relay %s", r);
}

int
agent_run(struct agent *a)
{
	struct timeval day = { 86400, 0 };
	struct service *svc;
	char r[300];

	log_info("agent", "%s: starting, relay %s", a->cfg->id,
	    agent_relay_str(a->cfg, r, sizeof(r)));
	agent_expiry_check(a);
	event_add(a->expiry_ev, &day);
	agent_connect(a);
	/* READY=1 as soon as the loop runs: the agent serves by trying to
	 * connect, and a relay that is down must not make systemd time the
	 * start out. */
	svc = service_start(a->base, "agent", a->cfg->id, agent_status, a);
	event_base_loop(a->base, EVLOOP_NO_EXIT_ON_EMPTY);
	service_stop(svc);
	log_info("agent", "stopped");
	return a->exit_code;
}

void
agent_free(struct agent *a)
{
	int i;

	if (a == NULL)
		return;
	agent_forward_stop(a);
	agent_tunnel_free(a->tunnel);
	agent_admin_stop(a);
	for (i = 0; i < 3; i++)
		if (a->ev_sig[i] != NULL)
			event_free(a->ev_sig[i]);
	if (a->retry != NULL)
		event_free(a->retry);
	if (a->gc != NULL)
		event_free(a->gc);
	if (a->expiry_ev != NULL)
		event_free(a->expiry_ev);
	if (a->dns != NULL)
		evdns_base_free(a->dns, 0);
	if (a->base != NULL)
		event_base_free(a->base);
	SSL_CTX_free(a->ctx);
	cfg_agent_free(a->cfg);
	free(a);
}
