/*
 * relay.c — struct relay: configuration (and its reload), the agent listener
 * on the main thread, signals, and the workers' life.  See relay.h for the
 * thread model.
 */
#include "relay.h"

#include <sys/socket.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>
#include <event2/thread.h>

#include "evloop.h"
#include "jwt.h"
#include "log.h"
#include "notify.h"
#include "preflight.h"
#include "service.h"
#include "admin.h"
#include "relay_registry.h"
#include "relay_stats.h"
#include "tls.h"

uint64_t
relay_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

char *
relay_addr_str(const struct sockaddr *sa, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN] = "?";
	const struct sockaddr_in *s4;
	const struct sockaddr_in6 *s6;

	if (sa->sa_family == AF_INET) {
		s4 = (const struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
		snprintf(buf, len, "%s:%u", host, ntohs(s4->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		s6 = (const struct sockaddr_in6 *)sa;
		inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
		snprintf(buf, len, "[%s]:%u", host, ntohs(s6->sin6_port));
	} else
		snprintf(buf, len, "?");
	return buf;
}

/* A conf from a loaded cfg (taken on success). */
static struct relay_conf *
relay_conf_new(struct relay_config *cfg, char *err, size_t errlen)
{
	struct relay_conf *c = NULL;
	struct jwt_keys *jwt = NULL;
	struct tls_files f;
	SSL_CTX *ctx = NULL;

	memset(&f, 0, sizeof(f));
	f.cert = cfg->tls_cert;
	f.key = cfg->tls_key;
	f.ca = cfg->tls_ca;
	f.crl = cfg->tls_crl;
	f.cert_optional = cfg->jwt.enabled;
	if (cfg->jwt.enabled && jwt_keys_load(&cfg->jwt, &jwt, err,
	    errlen) != JWT_OK)
		goto out;
	if ((ctx = tls_ctx_new(TLS_ROLE_RELAY, &f, err, errlen)) == NULL)
		goto out;
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	c->cfg = cfg;
	c->ctx = ctx;
	c->jwt = jwt;
	ctx = NULL;
	jwt = NULL;
	atomic_init(&c->refs, 1);
out:
	SSL_CTX_free(ctx);
	jwt_keys_free(jwt);
	return c;
}

struct relay_conf *
relay_conf_get(struct relay *r)
{
	struct relay_conf *c;

	pthread_mutex_lock(&r->lock);
	c = r->conf;
	atomic_fetch_add(&c->refs, 1);
	pthread_mutex_unlock(&r->lock);
	return c;
}

void
relay_conf_put(struct relay_conf *c)
{
	if (c == NULL || atomic_fetch_sub(&c->refs, 1) != 1)
		return;
	SSL_CTX_free(c->ctx);
	jwt_keys_free(c->jwt);
	cfg_relay_free(c->cfg);
	free(c);
}

/* Certificates and CRLs run out while the relay runs: warn two weeks
 * ahead, at start, on each reload and once a day (relay_expiry_cb). */
static void
relay_expiry_check(struct relay *r)
{
	struct relay_conf *c = relay_conf_get(r);
	struct tls_files f;

	f.cert = c->cfg->tls_cert;
	f.key = c->cfg->tls_key;
	f.ca = c->cfg->tls_ca;
	f.crl = c->cfg->tls_crl;
	preflight_expiry(TLS_ROLE_RELAY, &f, time(NULL), preflight_log_cb,
	    (void *)"relay");
	relay_conf_put(c);
}

static void
relay_expiry_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	relay_expiry_check(arg);
}

/* SIGHUP: policy, certificates and CRL apply to new connections; a config
 * that does not load leaves the old one in force. */
static void
relay_reload(struct relay *r)
{
	struct relay_config *cfg = NULL;
	struct relay_conf *c = NULL, *old = NULL;
	char err[512], a[300], b[300];
	int i;

	if (cfg_relay_load(r->path, &cfg, err, sizeof(err)) != 0)
		goto fail;
	if ((c = relay_conf_new(cfg, err, sizeof(err))) == NULL)
		goto fail;
	cfg = NULL;	/* c owns it */
	pthread_mutex_lock(&r->lock);
	old = r->conf;
	r->conf = c;
	pthread_mutex_unlock(&r->lock);
	if (strcmp(cfg_addr_str(&old->cfg->listen, a, sizeof(a)),
	    cfg_addr_str(&c->cfg->listen, b, sizeof(b))) != 0 ||
	    old->cfg->workers != c->cfg->workers)
		log_warnx("relay", "listen and workers changes need a "
		    "restart; still listening on %s", a);
	log_set_level(c->cfg->log_level);
	log_info("relay", "configuration reloaded from %s", r->path);
	relay_expiry_check(r);
	/* Connected tunnels answer to the new CRL and policy too. */
	for (i = 0; i < r->nworkers; i++)
		relay_worker_recheck(r->workers[i]);
	goto out;
fail:
	log_warnx("relay", "reload failed, keeping the old configuration: %s",
	    err);
out:
	cfg_relay_free(cfg);
	relay_conf_put(old);
}

int
relay_noise_may_log(struct relay *r)
{
	if (atomic_fetch_add(&r->noise_logged, 1) < RELAY_NOISE_LOGGED)
		return 1;
	atomic_fetch_add(&r->noise_quiet, 1);
	return 0;
}

/* The end of a window: what was left out, in one line. */
static void
relay_noise_cb(evutil_socket_t fd, short what, void *arg)
{
	struct relay *r = arg;
	unsigned n = atomic_exchange(&r->noise_quiet, 0);

	(void)fd;
	(void)what;
	atomic_store(&r->noise_logged, 0);
	if (n > 0)
		log_warnx("tls", "%u more handshake failures suppressed in the "
		    "last %us", n, RELAY_NOISE_WINDOW_MS / 1000);
}

static struct relay_flap *
relay_flap_slot(struct relay *r, const char *id, uint64_t now)
{
	struct relay_flap *f, *oldest = &r->flaps[0];
	int i;

	for (i = 0; i < RELAY_FLAP_IDS; i++) {
		f = &r->flaps[i];
		if (strcmp(f->id, id) == 0)
			return f;
		if (f->since_ms < oldest->since_ms)
			oldest = f;
	}
	memset(oldest, 0, sizeof(*oldest));
	snprintf(oldest->id, sizeof(oldest->id), "%s", id);
	oldest->since_ms = now;
	return oldest;
}

void
relay_flap_note(struct relay *r, const char *id, const char *addr,
    int replaced)
{
	struct relay_flap *f;
	uint64_t now = relay_now_ms();
	char a[80], b[80];
	int warn = 0;

	pthread_mutex_lock(&r->flap_lock);
	f = relay_flap_slot(r, id, now);
	if (now - f->since_ms > RELAY_FLAP_WINDOW_MS) {
		f->since_ms = now;
		f->replaces = 0;
	}
	snprintf(f->prev, sizeof(f->prev), "%s", f->last);
	snprintf(f->last, sizeof(f->last), "%s", addr);
	if (replaced && ++f->replaces > RELAY_FLAP_REPLACES &&
	    (f->warned_ms == 0 || now - f->warned_ms >= RELAY_FLAP_WINDOW_MS)) {
		f->warned_ms = now;
		snprintf(a, sizeof(a), "%s", f->prev);
		snprintf(b, sizeof(b), "%s", f->last);
		warn = 1;
	}
	pthread_mutex_unlock(&r->flap_lock);
	/* Each agent reconnects as soon as the other replaced it, so the
	 * two keep taking turns until one of them is stopped. */
	if (warn)
		log_warnx("tunnel", "identity %s is used by two agents: %s and "
		    "%s; each replaces the other", id, a, b);
}

/* Handshakes in progress are capped (limits.handshakes), as sshd's
 * MaxStartups does: a burst of connections that never finish their TLS
 * handshake must not hold every descriptor and all the CPU.  Beyond the cap
 * a new connection is closed at once; the refusals are logged once per
 * second with a count. */
static int
relay_handshake_full(struct relay *r, struct sockaddr *sa, char *who,
    size_t len)
{
	struct relay_conf *conf = relay_conf_get(r);
	unsigned limit = conf->cfg->handshakes;
	uint64_t now = relay_now_ms();

	relay_conf_put(conf);
	if (limit == 0 || (unsigned)atomic_load(&r->handshaking) < limit)
		return 0;
	relay_stats_hs_failed(r->stats, RELAY_HS_LIMIT);
	if (now - r->hs_refuse_log_ms >= 1000) {
		relay_addr_str(sa, who, len);
		log_warnx("relay", "refusing %s: %u TLS handshakes in progress "
		    "(limits.handshakes)%s", who, limit,
		    r->hs_refuse_quiet > 0 ? "; more refused before it" : "");
		r->hs_refuse_log_ms = now;
		r->hs_refuse_quiet = 0;
	} else
		r->hs_refuse_quiet++;
	return 1;
}

static void
relay_accept_cb(struct evconnlistener *lev, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct relay *r = arg;
	struct relay_cmd *cmd;
	struct relay_worker *w;
	char who[80];

	(void)lev;
	if (r->stopping || relay_handshake_full(r, sa, who, sizeof(who)) ||
	    (cmd = calloc(1, sizeof(*cmd))) == NULL)
		goto fail;
	atomic_fetch_add(&r->handshaking, 1);	/* the tunnel gives it back */
	cmd->type = RELAY_CMD_CONN;
	cmd->fd = (int)fd;
	if ((size_t)salen <= sizeof(cmd->ss))
		memcpy(&cmd->ss, sa, (size_t)salen);
	w = r->workers[r->rr++ % (unsigned)r->nworkers];
	relay_worker_post(w, cmd);
	return;
fail:
	evutil_closesocket(fd);
}

/* Ask every worker to drain its tunnels and end its thread. */
static void
relay_stop_workers(struct relay *r)
{
	int i;

	for (i = 0; i < r->nworkers; i++)
		relay_worker_stop(r->workers[i]);
}

static void
relay_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct relay *r = arg;

	(void)fd;
	(void)what;
	if (r->listener != NULL)
		evconnlistener_enable(r->listener);
}

/* EMFILE and friends: pause, or the level-triggered listener spins. */
static void
relay_listen_error_cb(struct evconnlistener *lev, void *arg)
{
	struct relay *r = arg;
	struct timeval tv = { RELAY_ACCEPT_PAUSE_MS / 1000,
	    (RELAY_ACCEPT_PAUSE_MS % 1000) * 1000 };

	log_warn("relay", "accepting agents");
	evconnlistener_disable(lev);
	evtimer_add(r->listen_pause, &tv);
}

static int
relay_listen(struct relay *r, const struct relay_config *cfg)
{
	struct evutil_addrinfo hints, *ai = NULL;
	char port[8], a[300];
	const char *host;
	int ret = -1, e;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV;
	host = cfg->listen.any ? NULL : cfg->listen.host;
	snprintf(port, sizeof(port), "%u", cfg->listen.port);
	if ((e = evutil_getaddrinfo(host, port, &hints, &ai)) != 0) {
		log_errorx("relay", "listen %s: %s", cfg_addr_str(&cfg->listen,
		    a, sizeof(a)), evutil_gai_strerror(e));
		goto out;
	}
	r->listener = evconnlistener_new_bind(r->base, relay_accept_cb, r,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
	    128, ai->ai_addr, (int)ai->ai_addrlen);
	if (r->listener == NULL) {
		log_error("relay", "listen %s", cfg_addr_str(&cfg->listen, a,
		    sizeof(a)));
		goto out;
	}
	evconnlistener_set_error_cb(r->listener, relay_listen_error_cb);
	log_info("relay", "listening for agents on %s",
	    cfg_addr_str(&cfg->listen, a, sizeof(a)));
	ret = 0;
out:
	if (ai != NULL)
		evutil_freeaddrinfo(ai);
	return ret;
}

static void
relay_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct relay *r = arg;

	(void)what;
	if (sig == SIGHUP) {
		notify_reloading();
		relay_reload(r);
		notify_ready();
		return;
	}
	if (r->stopping)
		return;
	r->stopping = 1;
	notify_stopping();
	/* Nothing to show of a relay going away; the port is free at once
	 * for the next one. */
	admin_free(r->admin);
	r->admin = NULL;
	log_info("relay", "%s: stopping (streams may finish)",
	    sig == SIGTERM ? "SIGTERM" : "SIGINT");
	if (r->listener != NULL)
		evconnlistener_free(r->listener);
	r->listener = NULL;
	relay_stop_workers(r);
	event_base_loopexit(r->base, NULL);
}

struct relay *
relay_new(struct relay_config *cfg, const char *path)
{
	static const int sigs[3] = { SIGTERM, SIGINT, SIGHUP };
	struct relay *r = NULL, *ret = NULL;
	char err[512];
	long n;
	int i;

	if (evthread_use_pthreads() != 0) {
		log_errorx("relay", "libevent threads unavailable");
		goto out;
	}
	evloop_process_init();
	if ((r = calloc(1, sizeof(*r))) == NULL)
		goto out;
	pthread_mutex_init(&r->lock, NULL);
	pthread_mutex_init(&r->flap_lock, NULL);
	r->path = path;
	atomic_init(&r->next_gen, 1);
	atomic_init(&r->handshaking, 0);
	if ((r->conf = relay_conf_new(cfg, err, sizeof(err))) == NULL) {
		log_errorx("relay", "%s", err);
		goto out;
	}
	if ((r->reg = registry_new()) == NULL ||
	    (r->stats = relay_stats_new()) == NULL ||
	    (r->base = evloop_new()) == NULL ||
	    (r->listen_pause = evtimer_new(r->base, relay_resume_cb,
	    r)) == NULL ||
	    (r->expiry_ev = event_new(r->base, -1, EV_PERSIST,
	    relay_expiry_cb, r)) == NULL ||
	    (r->noise_ev = event_new(r->base, -1, EV_PERSIST,
	    relay_noise_cb, r)) == NULL)
		goto out;
	n = cfg->workers;
	if (n <= 0 && (n = sysconf(_SC_NPROCESSORS_ONLN)) < 1)
		n = 1;
	if (n > 64)
		n = 64;
	if ((r->workers = calloc((size_t)n, sizeof(*r->workers))) == NULL)
		goto out;
	for (i = 0; i < n; i++) {
		if ((r->workers[i] = relay_worker_new(r, i)) == NULL)
			goto out;
		r->nworkers++;
	}
	for (i = 0; i < 3; i++) {
		r->ev_sig[i] = evsignal_new(r->base, sigs[i], relay_signal_cb,
		    r);
		if (r->ev_sig[i] == NULL || evsignal_add(r->ev_sig[i],
		    NULL) != 0)
			goto out;
	}
	if (relay_listen(r, cfg) != 0)
		goto out;
	if (relay_admin_start(r, cfg, err, sizeof(err)) != 0) {
		log_warnx("relay", "%s", err);
		goto out;
	}
	ret = r;
	r = NULL;
out:
	if (ret == NULL) {
		if (r == NULL || r->conf == NULL)
			cfg_relay_free(cfg);	/* not taken by a conf */
		relay_free(r);
	}
	return ret;
}

/* The status line of STATUS= and SIGUSR1 (service.h). */
static void
relay_status(void *arg, char *buf, size_t len)
{
	struct relay *r = arg;
	size_t n = registry_nagents(r->reg);

	snprintf(buf, len, "%zu agent%s connected, %d worker%s", n,
	    n == 1 ? "" : "s", r->nworkers, r->nworkers == 1 ? "" : "s");
}

int
relay_run(struct relay *r)
{
	struct timeval day = { 86400, 0 };
	struct timeval noise = { RELAY_NOISE_WINDOW_MS / 1000, 0 };
	struct service *svc;
	int i, ret = 0;

	for (i = 0; i < r->nworkers; i++) {
		if (relay_worker_start(r->workers[i]) != 0) {
			log_errorx("relay", "cannot start worker %d", i);
			/* The ones already running must stop before
			 * relay_free() frees their event bases. */
			relay_stop_workers(r);
			for (i = 0; i < r->nworkers; i++)
				relay_worker_join(r->workers[i]);
			return -1;
		}
	}
	log_info("relay", "running with %d worker%s", r->nworkers,
	    r->nworkers == 1 ? "" : "s");
	relay_expiry_check(r);
	event_add(r->expiry_ev, &day);
	event_add(r->noise_ev, &noise);
	if (r->conf->jwt != NULL)
		log_info("relay", "agents may authenticate with a client "
		    "certificate or a token (auth.jwt)");
	/* READY=1 once listening with every worker running. */
	svc = service_start(r->base, "relay", NULL, relay_status, r);
	if (event_base_dispatch(r->base) < 0)
		ret = -1;
	service_stop(svc);
	for (i = 0; i < r->nworkers; i++)
		relay_worker_join(r->workers[i]);
	log_info("relay", "stopped");
	return ret;
}

void
relay_free(struct relay *r)
{
	int i;

	if (r == NULL)
		return;
	admin_free(r->admin);
	if (r->listener != NULL)
		evconnlistener_free(r->listener);
	if (r->listen_pause != NULL)
		event_free(r->listen_pause);
	if (r->expiry_ev != NULL)
		event_free(r->expiry_ev);
	if (r->noise_ev != NULL)
		event_free(r->noise_ev);
	for (i = 0; i < 3; i++)
		if (r->ev_sig[i] != NULL)
			event_free(r->ev_sig[i]);
	for (i = 0; i < r->nworkers; i++)
		relay_worker_free(r->workers[i]);
	free(r->workers);
	registry_free(r->reg);
	relay_stats_free(r->stats);
	relay_conf_put(r->conf);
	if (r->base != NULL)
		event_base_free(r->base);
	pthread_mutex_destroy(&r->lock);
	pthread_mutex_destroy(&r->flap_lock);
	free(r);
}
