/*
 * agent_admin.c — what the agent's admin endpoint shows (common/io/admin.h
 * serves it on the agent's one event base): /metrics and /api/v1/status,
 * the per-service and per-stream counts behind them, the access log line
 * of each stream, and `atlax-agent status`.
 *
 * One thread: the pumps add to their stream's counters, the pages read
 * them, all on the agent's loop.  A stream's record lives from its accept
 * to its pump's end; a service's entry, once made, for the process (at
 * most AGENT_STATS_SVC_MAX of them).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <jansson.h>

#include "admin.h"
#include "agent.h"
#include "log.h"
#include "mux.h"
#include "tunnel.h"

static struct agent_stat_svc *
agent_admin_svc(struct agent *a, const char *name)
{
	struct agent_stat_svc *svc;

	TAILQ_FOREACH(svc, &a->stat_svcs, entry) {
		if (strcmp(svc->name, name) == 0)
			return svc;
	}
	if (a->nstat_svcs >= AGENT_STATS_SVC_MAX ||
	    (svc = calloc(1, sizeof(*svc))) == NULL)
		return NULL;
	snprintf(svc->name, sizeof(svc->name), "%s", name);
	TAILQ_INSERT_TAIL(&a->stat_svcs, svc, entry);
	a->nstat_svcs++;
	return svc;
}

void
agent_admin_connect_failed(struct agent *a, const char *service)
{
	struct agent_stat_svc *svc;

	if ((svc = agent_admin_svc(a, service)) != NULL)
		svc->connect_failures++;
}

struct agent_stat_stream *
agent_admin_stream_new(struct agent_tunnel *at, const struct agent_stream *s)
{
	struct agent_stat_stream *st;

	if ((st = calloc(1, sizeof(*st))) == NULL)
		return NULL;
	atomic_init(&st->c.in, 0);
	atomic_init(&st->c.out, 0);
	atomic_init(&st->c.window, 0);
	st->c.code = MUX_CODE_TUNNEL_LOST;	/* until the pump knows */
	st->at = at;
	snprintf(st->service, sizeof(st->service), "%s", s->service);
	snprintf(st->client, sizeof(st->client), "%s", s->client);
	snprintf(st->target, sizeof(st->target), "%s", s->target);
	st->start_ms = agent_now_ms();
	return st;
}

void
agent_admin_stream_start(struct agent *a, struct agent_stat_stream *st)
{
	TAILQ_INSERT_TAIL(&a->stat_streams, st, entry);
	a->streams_total++;
	if ((st->svc = agent_admin_svc(a, st->service)) != NULL) {
		st->svc->open++;
		st->svc->total++;
	}
}

void
agent_admin_stream_end(struct agent *a, struct agent_stat_stream *st)
{
	uint64_t in, out, ms;

	if (st == NULL)
		return;
	TAILQ_REMOVE(&a->stat_streams, st, entry);
	in = atomic_load(&st->c.in);
	out = atomic_load(&st->c.out);
	ms = agent_now_ms() - st->start_ms;
	if (st->svc != NULL) {
		st->svc->open--;
		st->svc->in += in;
		st->svc->out += out;
	}
	/* As the relay's line, seen from here: in is what the target sent
	 * (read from its socket), out what it was sent. */
	log_info("access", "%s -> %s (%s) duration=%llu.%03llus in=%llu "
	    "out=%llu reason=%s", st->client, st->service, st->target,
	    (unsigned long long)(ms / 1000), (unsigned long long)(ms % 1000),
	    (unsigned long long)in, (unsigned long long)out,
	    mux_code_name(st->c.code));
	free(st);
}

void
agent_admin_streams_lost(struct agent *a, struct agent_tunnel *at)
{
	struct agent_stat_stream *st, *next;

	for (st = TAILQ_FIRST(&a->stat_streams); st != NULL; st = next) {
		next = TAILQ_NEXT(st, entry);
		if (st->at == at)
			agent_admin_stream_end(a, st);
	}
}

static const char *
agent_admin_state(const struct agent *a)
{
	if (a->tunnel == NULL)
		return "DISCONNECTED";
	if (a->tunnel->tun == NULL)
		return "DIALING";
	return tunnel_state_name(tunnel_state(a->tunnel->tun));
}

/* The bytes of a service: its ended streams' and its live ones'. */
static void
agent_admin_svc_bytes(const struct agent *a, const struct agent_stat_svc *svc,
    uint64_t *in, uint64_t *out)
{
	const struct agent_stat_stream *st;

	*in = svc->in;
	*out = svc->out;
	TAILQ_FOREACH(st, &a->stat_streams, entry) {
		if (st->svc == svc) {
			*in += atomic_load(&st->c.in);
			*out += atomic_load(&st->c.out);
		}
	}
}

static int
agent_admin_metrics(struct evbuffer *b, const struct evkeyvalq *q, void *arg)
{
	static const char *states[] = { "DISCONNECTED", "DIALING",
	    "HANDSHAKE", "HELLO", "READY", "DRAINING", "CLOSING", "DEAD" };
	struct agent *a = arg;
	const struct agent_stat_svc *svc;
	const char *now = agent_admin_state(a);
	uint64_t in, out, open = 0;
	size_t i;

	(void)q;
	admin_prom_family(b, "atlax_agent_tunnel_up", "gauge",
	    "1 while the tunnel to the relay is READY.");
	admin_prom_u64(b, "atlax_agent_tunnel_up",
	    strcmp(now, "READY") == 0, NULL);
	admin_prom_family(b, "atlax_agent_tunnel_state", "gauge",
	    "1 for the state the tunnel is in.");
	for (i = 0; i < sizeof(states) / sizeof(states[0]); i++)
		admin_prom_u64(b, "atlax_agent_tunnel_state",
		    strcmp(now, states[i]) == 0, "state", states[i], NULL);
	admin_prom_family(b, "atlax_agent_tunnel_rtt_seconds", "gauge",
	    "Smoothed round-trip time to the relay, from PINGs (0: unknown).");
	admin_prom_f64(b, "atlax_agent_tunnel_rtt_seconds",
	    a->tunnel != NULL && a->tunnel->tun != NULL &&
	    tunnel_mux(a->tunnel->tun) != NULL ?
	    mux_rtt_us(tunnel_mux(a->tunnel->tun)) / 1e6 : 0.0, NULL);
	admin_prom_family(b, "atlax_agent_reconnects_total", "counter",
	    "Tunnels lost and dialled again.");
	admin_prom_u64(b, "atlax_agent_reconnects_total", a->reconnects, NULL);
	TAILQ_FOREACH(svc, &a->stat_svcs, entry)
		open += svc->open;
	admin_prom_family(b, "atlax_agent_streams_open", "gauge",
	    "Streams open to local targets.");
	admin_prom_u64(b, "atlax_agent_streams_open", open, NULL);
	admin_prom_family(b, "atlax_agent_streams_total", "counter",
	    "Streams accepted since the agent started.");
	admin_prom_u64(b, "atlax_agent_streams_total", a->streams_total, NULL);
	admin_prom_family(b, "atlax_agent_target_received_bytes_total",
	    "counter", "Bytes read from the service's target.");
	TAILQ_FOREACH(svc, &a->stat_svcs, entry) {
		agent_admin_svc_bytes(a, svc, &in, &out);
		admin_prom_u64(b, "atlax_agent_target_received_bytes_total", in,
		    "service", svc->name, NULL);
	}
	admin_prom_family(b, "atlax_agent_target_sent_bytes_total", "counter",
	    "Bytes written to the service's target.");
	TAILQ_FOREACH(svc, &a->stat_svcs, entry) {
		agent_admin_svc_bytes(a, svc, &in, &out);
		admin_prom_u64(b, "atlax_agent_target_sent_bytes_total", out,
		    "service", svc->name, NULL);
	}
	admin_prom_family(b, "atlax_agent_target_connect_failures_total",
	    "counter", "Connections to the service's target that failed or "
	    "timed out.");
	TAILQ_FOREACH(svc, &a->stat_svcs, entry)
		admin_prom_u64(b, "atlax_agent_target_connect_failures_total",
		    svc->connect_failures, "service", svc->name, NULL);
	return 0;
}

static int
agent_admin_status_page(struct evbuffer *b, const struct evkeyvalq *q,
    void *arg)
{
	struct agent *a = arg;
	const char *v = evhttp_find_header(q, "streams");
	const struct agent_stat_stream *st;
	const struct agent_service *cs;
	const struct agent_stat_svc *svc;
	json_t *root, *svcs, *streams, *o;
	uint64_t in, out, now = agent_now_ms();
	char *text = NULL, relay[CFG_HOST_MAX + 16];
	size_t i;
	int ret = 500;

	if ((root = json_object()) == NULL)
		return 500;
	json_object_set_new(root, "daemon", json_string("agent"));
	json_object_set_new(root, "version", json_string(ATLAX_VERSION));
	json_object_set_new(root, "id", json_string(a->cfg->id));
	json_object_set_new(root, "relay", json_string(agent_relay_str(a->cfg,
	    relay, sizeof(relay))));
	json_object_set_new(root, "tunnel", json_string(agent_admin_state(a)));
	json_object_set_new(root, "reconnects",
	    json_integer((json_int_t)a->reconnects));
	svcs = json_array();
	for (i = 0; svcs != NULL && i < a->cfg->nservices; i++) {
		cs = &a->cfg->services[i];
		o = json_object();
		json_object_set_new(o, "name", json_string(cs->name));
		json_object_set_new(o, "target", json_string(cfg_addr_str(
		    &cs->target, relay, sizeof(relay))));
		json_object_set_new(o, "remote_port",
		    json_integer(cs->remote_port));
		TAILQ_FOREACH(svc, &a->stat_svcs, entry) {
			if (strcmp(svc->name, cs->name) != 0)
				continue;
			agent_admin_svc_bytes(a, svc, &in, &out);
			json_object_set_new(o, "open_streams",
			    json_integer(svc->open));
			json_object_set_new(o, "bytes_in",
			    json_integer((json_int_t)in));
			json_object_set_new(o, "bytes_out",
			    json_integer((json_int_t)out));
			json_object_set_new(o, "connect_failures",
			    json_integer((json_int_t)svc->connect_failures));
		}
		json_array_append_new(svcs, o);
	}
	json_object_set_new(root, "services", svcs);
	if (v != NULL && strcmp(v, "1") == 0) {
		streams = json_array();
		TAILQ_FOREACH(st, &a->stat_streams, entry) {
			o = json_object();
			json_object_set_new(o, "client",
			    json_string(st->client));
			json_object_set_new(o, "service",
			    json_string(st->service));
			json_object_set_new(o, "age_seconds",
			    json_real((now - st->start_ms) / 1000.0));
			json_object_set_new(o, "bytes_in", json_integer(
			    (json_int_t)atomic_load(&st->c.in)));
			json_object_set_new(o, "bytes_out", json_integer(
			    (json_int_t)atomic_load(&st->c.out)));
			/* What the relay may send ahead for it: grows with
			 * an upload across a long path. */
			json_object_set_new(o, "window", json_integer(
			    (json_int_t)atomic_load(&st->c.window)));
			json_array_append_new(streams, o);
		}
		json_object_set_new(root, "streams", streams);
	}
	if ((text = json_dumps(root, JSON_INDENT(2))) == NULL)
		goto out;
	evbuffer_add_printf(b, "%s\n", text);
	ret = 0;
out:
	free(text);
	json_decref(root);
	return ret;
}

static const struct admin_route agent_admin_routes[] = {
	{ "/metrics", "text/plain; version=0.0.4; charset=utf-8",
	    agent_admin_metrics },
	{ "/api/v1/status", "application/json", agent_admin_status_page },
	{ NULL, NULL, NULL },
};

int
agent_admin_start(struct agent *a, char *err, size_t errlen)
{
	if (!a->cfg->admin.enabled)
		return 0;
	a->admin = admin_new(a->base, &a->cfg->admin, "agent",
	    agent_admin_routes, a, err, errlen);
	return a->admin != NULL ? 0 : -1;
}

void
agent_admin_stop(struct agent *a)
{
	struct agent_stat_svc *svc;

	admin_free(a->admin);
	a->admin = NULL;
	while ((svc = TAILQ_FIRST(&a->stat_svcs)) != NULL) {
		TAILQ_REMOVE(&a->stat_svcs, svc, entry);
		free(svc);
	}
	a->nstat_svcs = 0;
}

int
agent_admin_status(const struct agent_config *cfg, int json)
{
	char err[600], *body = NULL, in[32], out[32];
	json_error_t jerr;
	json_t *root = NULL, *svc;
	size_t len, i;
	int status = 0, rc = 1;

	if (admin_fetch(&cfg->admin, "/api/v1/status", 5000, &status, &body,
	    &len, err, sizeof(err)) != 0) {
		fprintf(stderr, "atlax-agent status: %s\n", err);
		goto out;
	}
	if (status != 200) {
		fprintf(stderr, "atlax-agent status: the admin endpoint "
		    "answered %d%s\n", status, status == 401 ? " (check "
		    "admin.token_file)" : "");
		goto out;
	}
	if (json) {
		fwrite(body, 1, len, stdout);
		rc = 0;
		goto out;
	}
	if ((root = json_loadb(body, len, 0, &jerr)) == NULL) {
		fprintf(stderr, "atlax-agent status: not JSON: %s\n",
		    jerr.text);
		goto out;
	}
	printf("agent %s, relay %s: tunnel %s, %lld reconnects\n",
	    json_string_value(json_object_get(root, "id")),
	    json_string_value(json_object_get(root, "relay")),
	    json_string_value(json_object_get(root, "tunnel")),
	    (long long)json_integer_value(json_object_get(root,
	    "reconnects")));
	printf("%-20s %-28s %7s %12s %12s %8s\n", "SERVICE", "TARGET",
	    "STREAMS", "IN", "OUT", "FAILURES");
	json_array_foreach(json_object_get(root, "services"), i, svc) {
		snprintf(in, sizeof(in), "%lld", (long long)json_integer_value(
		    json_object_get(svc, "bytes_in")));
		snprintf(out, sizeof(out), "%lld", (long long)
		    json_integer_value(json_object_get(svc, "bytes_out")));
		printf("%-20s %-28s %7lld %12s %12s %8lld\n",
		    json_string_value(json_object_get(svc, "name")),
		    json_string_value(json_object_get(svc, "target")),
		    (long long)json_integer_value(json_object_get(svc,
		    "open_streams")), in, out, (long long)json_integer_value(
		    json_object_get(svc, "connect_failures")));
	}
	rc = 0;
out:
	json_decref(root);
	free(body);
	return rc;
}
