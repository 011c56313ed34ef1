/*
 * relay_admin.c — what the relay's admin endpoint shows (common/io/admin.h
 * serves it): /metrics in Prometheus' text format and /api/v1/status in
 * JSON, both from one snapshot of the shared state taken under the stats
 * and registry mutexes on the main thread; no worker-owned tunnel is ever
 * touched.  And `atlax-relay status`, which asks a running relay.
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
#include "log.h"
#include "mux.h"
#include "relay.h"
#include "relay_registry.h"
#include "relay_stats.h"

/* Streams listed by ?streams=1 at most: a full relay holds millions
 * (limits.max_agents x max_streams_per_agent), and one page must not copy
 * them all under the mutex.  The page says when it left some out. */
#define RELAY_ADMIN_STREAMS_MAX	10000

/* What the pages show, copied out under the mutexes. */
struct snap_svc {
	size_t		 agent;		/* index into agents */
	char		 name[CFG_NAME_MAX + 1];
	unsigned	 open;
	uint64_t	 total, in, out;
};

struct snap_stream {
	size_t		 agent;
	char		 service[CFG_NAME_MAX + 1];
	char		 client[80];
	uint64_t	 age_ms, in, out;
	uint32_t	 window;	/* the relay's receive window */
};

struct snap_agent {
	char		 id[CFG_ID_MAX + 1];
	char		 peer[80];
	const char	*credential;
	uint64_t	 gen;
	int64_t		 since;
	unsigned	 rtt_us, open;
	uint64_t	 total, in, out;
};

struct snap {
	struct snap_agent	*agents;
	size_t			 nagents;
	struct snap_svc		*svcs;
	size_t			 nsvcs;
	struct snap_stream	*streams;
	size_t			 nstreams;
	int			 truncated;	/* streams left out */
	struct registry_port	*ports;
	size_t			 nports;
};

static void
relay_admin_snap_free(struct snap *sn)
{
	free(sn->agents);
	free(sn->svcs);
	free(sn->streams);
	free(sn->ports);
	memset(sn, 0, sizeof(*sn));
}

/* The live ports; the table may change between the count and the copy,
 * so the copy keeps what fits. */
static int
relay_admin_snap_ports(struct relay *r, struct snap *sn)
{
	size_t n = registry_ports(r->reg, NULL, 0) + 16;

	if ((sn->ports = calloc(n, sizeof(*sn->ports))) == NULL)
		return -1;
	sn->nports = registry_ports(r->reg, sn->ports, n);
	if (sn->nports > n)
		sn->nports = n;
	return 0;
}

/* Copy one agent's entry, its services and (want_streams) streams, with
 * the live streams' bytes added to their service and agent. */
static void
relay_admin_snap_agent(struct snap *sn, const struct stats_agent *a,
    int want_streams, uint64_t now)
{
	struct snap_agent *sa = &sn->agents[sn->nagents];
	const struct stats_svc *svc;
	const struct stats_stream *st;
	struct snap_stream *ss;
	size_t first = sn->nsvcs, i;
	uint64_t in, out;

	snprintf(sa->id, sizeof(sa->id), "%s", a->id);
	snprintf(sa->peer, sizeof(sa->peer), "%s", a->peer);
	sa->credential = a->credential;
	sa->gen = a->gen;
	sa->since = a->since;
	sa->rtt_us = atomic_load(&a->rtt_us);
	sa->open = atomic_load(&a->open);
	sa->total = atomic_load(&a->total);
	TAILQ_FOREACH(svc, &a->svcs, entry) {
		struct snap_svc *s = &sn->svcs[sn->nsvcs++];

		s->agent = sn->nagents;
		snprintf(s->name, sizeof(s->name), "%s", svc->name);
		s->open = atomic_load(&svc->open);
		s->total = atomic_load(&svc->total);
		s->in = svc->in;
		s->out = svc->out;
		sa->in += svc->in;
		sa->out += svc->out;
	}
	TAILQ_FOREACH(st, &a->streams, entry) {
		in = atomic_load_explicit(&st->c.in, memory_order_relaxed);
		out = atomic_load_explicit(&st->c.out, memory_order_relaxed);
		sa->in += in;
		sa->out += out;
		for (i = first; i < sn->nsvcs; i++) {
			if (strcmp(sn->svcs[i].name, st->service) == 0) {
				sn->svcs[i].in += in;
				sn->svcs[i].out += out;
				break;
			}
		}
		if (!want_streams)
			continue;
		if (sn->nstreams >= RELAY_ADMIN_STREAMS_MAX) {
			sn->truncated = 1;
			continue;
		}
		ss = &sn->streams[sn->nstreams++];
		ss->agent = sn->nagents;
		snprintf(ss->service, sizeof(ss->service), "%s", st->service);
		snprintf(ss->client, sizeof(ss->client), "%s", st->client);
		ss->age_ms = now - st->start_ms;
		ss->in = in;
		ss->out = out;
		ss->window = atomic_load_explicit(&st->c.window,
		    memory_order_relaxed);
	}
	sn->nagents++;
}

static int
relay_admin_snap(struct relay *r, struct snap *sn, int want_streams)
{
	struct relay_stats *s = r->stats;
	const struct stats_agent *a;
	const struct stats_stream *st;
	size_t na = 0, nsvc = 0, nst = 0;
	uint64_t now = relay_now_ms();
	int ret = -1;

	memset(sn, 0, sizeof(*sn));
	if (relay_admin_snap_ports(r, sn) != 0)
		return -1;
	pthread_mutex_lock(&s->lock);
	TAILQ_FOREACH(a, &s->agents, entry) {
		na++;
		nsvc += a->nsvcs;
		if (want_streams)
			TAILQ_FOREACH(st, &a->streams, entry)
				if (nst < RELAY_ADMIN_STREAMS_MAX)
					nst++;
	}
	if ((sn->agents = calloc(na + 1, sizeof(*sn->agents))) == NULL ||
	    (sn->svcs = calloc(nsvc + 1, sizeof(*sn->svcs))) == NULL ||
	    (sn->streams = calloc(nst + 1, sizeof(*sn->streams))) == NULL)
		goto out;
	TAILQ_FOREACH(a, &s->agents, entry)
		relay_admin_snap_agent(sn, a, want_streams, now);
	ret = 0;
out:
	pthread_mutex_unlock(&s->lock);
	if (ret != 0)
		relay_admin_snap_free(sn);
	return ret;
}

/* /metrics */

static void
relay_admin_metrics_agents(struct evbuffer *b, const struct snap *sn)
{
	const struct snap_svc *sv;
	const struct registry_port *p;
	char port[8];
	size_t i, cert = 0, token = 0;

	for (i = 0; i < sn->nagents; i++) {
		if (strcmp(sn->agents[i].credential, "token") == 0)
			token++;
		else
			cert++;
	}
	admin_prom_family(b, "atlax_relay_agents_connected", "gauge",
	    "Agents with a READY tunnel.");
	admin_prom_u64(b, "atlax_relay_agents_connected", sn->nagents, NULL);
	admin_prom_family(b, "atlax_relay_tunnels", "gauge",
	    "READY tunnels by the credential the agent proved itself with.");
	admin_prom_u64(b, "atlax_relay_tunnels", cert, "credential",
	    "certificate", NULL);
	admin_prom_u64(b, "atlax_relay_tunnels", token, "credential", "token",
	    NULL);
	admin_prom_family(b, "atlax_relay_tunnel_rtt_seconds", "gauge",
	    "Smoothed round-trip time of the tunnel, from its PINGs.");
	for (i = 0; i < sn->nagents; i++)
		admin_prom_f64(b, "atlax_relay_tunnel_rtt_seconds",
		    sn->agents[i].rtt_us / 1e6, "agent", sn->agents[i].id,
		    NULL);
	admin_prom_family(b, "atlax_relay_tunnel_start_time_seconds", "gauge",
	    "When the tunnel became READY, seconds since the Unix epoch.");
	for (i = 0; i < sn->nagents; i++)
		admin_prom_u64(b, "atlax_relay_tunnel_start_time_seconds",
		    (uint64_t)sn->agents[i].since, "agent", sn->agents[i].id,
		    NULL);
	admin_prom_family(b, "atlax_relay_services", "gauge",
	    "Public services listening (one port each).");
	admin_prom_u64(b, "atlax_relay_services", sn->nports, NULL);
	admin_prom_family(b, "atlax_relay_service_port", "gauge",
	    "1 for each public port, labelled with its agent and service.");
	for (i = 0; i < sn->nports; i++) {
		p = &sn->ports[i];
		snprintf(port, sizeof(port), "%u", p->port);
		admin_prom_u64(b, "atlax_relay_service_port", 1, "agent",
		    p->id, "service", p->service, "port", port, NULL);
	}
	admin_prom_family(b, "atlax_relay_streams_open", "gauge",
	    "Streams open, by agent and service.");
	for (i = 0; i < sn->nsvcs; i++) {
		sv = &sn->svcs[i];
		admin_prom_u64(b, "atlax_relay_streams_open", sv->open, "agent",
		    sn->agents[sv->agent].id, "service", sv->name, NULL);
	}
	admin_prom_family(b, "atlax_relay_streams_total", "counter",
	    "Streams opened on the agent's current tunnel, by service.");
	for (i = 0; i < sn->nsvcs; i++) {
		sv = &sn->svcs[i];
		admin_prom_u64(b, "atlax_relay_streams_total", sv->total,
		    "agent", sn->agents[sv->agent].id, "service", sv->name,
		    NULL);
	}
	admin_prom_family(b, "atlax_relay_received_bytes_total", "counter",
	    "Bytes read from clients (public, or agents using a "
	    "private service), by agent and service.");
	for (i = 0; i < sn->nsvcs; i++) {
		sv = &sn->svcs[i];
		admin_prom_u64(b, "atlax_relay_received_bytes_total", sv->in,
		    "agent", sn->agents[sv->agent].id, "service", sv->name,
		    NULL);
	}
	admin_prom_family(b, "atlax_relay_sent_bytes_total", "counter",
	    "Bytes written to clients (public, or agents using a "
	    "private service), by agent and service.");
	for (i = 0; i < sn->nsvcs; i++) {
		sv = &sn->svcs[i];
		admin_prom_u64(b, "atlax_relay_sent_bytes_total", sv->out,
		    "agent", sn->agents[sv->agent].id, "service", sv->name,
		    NULL);
	}
}

/* A counter family by mux code name, the codes that occurred. */
static void
relay_admin_by_code(struct evbuffer *b, const char *name, const char *help,
    atomic_uint_fast64_t *v)
{
	uint64_t n;
	uint32_t c;

	admin_prom_family(b, name, "counter", help);
	for (c = 0; c < RELAY_STATS_CODES; c++) {
		if ((n = atomic_load(&v[c])) != 0)
			admin_prom_u64(b, name, n, "reason", mux_code_name(c),
			    NULL);
	}
}

static int
relay_admin_metrics(struct evbuffer *b, const struct evkeyvalq *q, void *arg)
{
	struct relay *r = arg;
	struct relay_stats *s = r->stats;
	struct snap sn;
	int f;

	(void)q;
	if (relay_admin_snap(r, &sn, 0) != 0)
		return 500;
	relay_admin_metrics_agents(b, &sn);
	admin_prom_family(b, "atlax_relay_streams_opened_total", "counter",
	    "Streams opened since the relay started, all agents.");
	admin_prom_u64(b, "atlax_relay_streams_opened_total",
	    atomic_load(&s->opened), NULL);
	relay_admin_by_code(b, "atlax_relay_streams_refused_total",
	    "Public connections the relay refused, by reason.", s->refused);
	relay_admin_by_code(b, "atlax_relay_streams_ended_total",
	    "Streams ended, by how (NONE: a clean close).", s->ended);
	admin_prom_family(b, "atlax_relay_handshake_failures_total", "counter",
	    "Agent connections that did not become a tunnel, by reason.");
	for (f = 0; f < RELAY_HS_COUNT; f++)
		admin_prom_u64(b, "atlax_relay_handshake_failures_total",
		    atomic_load(&s->hs_fail[f]), "reason",
		    relay_stats_hs_name((enum relay_hs_fail)f), NULL);
	relay_admin_snap_free(&sn);
	return 0;
}

/* /api/v1/status */

static json_t *
relay_admin_json_agent(const struct snap *sn, size_t i, int want_streams)
{
	const struct snap_agent *a = &sn->agents[i];
	json_t *o, *svcs, *streams, *svc;
	char since[32];
	size_t k, j;

	if ((o = json_object()) == NULL)
		return NULL;
	json_object_set_new(o, "id", json_string(a->id));
	json_object_set_new(o, "remote", json_string(a->peer));
	json_object_set_new(o, "connected_since",
	    json_string(admin_time_str(a->since, since, sizeof(since))));
	json_object_set_new(o, "credential", json_string(a->credential));
	json_object_set_new(o, "rtt_seconds", a->rtt_us == 0 ? json_null() :
	    json_real(a->rtt_us / 1e6));
	json_object_set_new(o, "open_streams", json_integer(a->open));
	json_object_set_new(o, "streams_total", json_integer(
	    (json_int_t)a->total));
	json_object_set_new(o, "bytes_in", json_integer((json_int_t)a->in));
	json_object_set_new(o, "bytes_out", json_integer((json_int_t)a->out));
	svcs = json_array();
	/* The services are the ports it holds; their counts, if any. */
	for (k = 0; svcs != NULL && k < sn->nports; k++) {
		if (sn->ports[k].gen != a->gen)
			continue;
		svc = json_object();
		json_object_set_new(svc, "name",
		    json_string(sn->ports[k].service));
		json_object_set_new(svc, "port",
		    json_integer(sn->ports[k].port));
		for (j = 0; j < sn->nsvcs; j++) {
			if (sn->svcs[j].agent != i || strcmp(sn->svcs[j].name,
			    sn->ports[k].service) != 0)
				continue;
			json_object_set_new(svc, "open_streams",
			    json_integer(sn->svcs[j].open));
			json_object_set_new(svc, "bytes_in", json_integer(
			    (json_int_t)sn->svcs[j].in));
			json_object_set_new(svc, "bytes_out", json_integer(
			    (json_int_t)sn->svcs[j].out));
		}
		json_array_append_new(svcs, svc);
	}
	json_object_set_new(o, "services", svcs);
	if (!want_streams)
		return o;
	streams = json_array();
	for (k = 0; streams != NULL && k < sn->nstreams; k++) {
		if (sn->streams[k].agent != i)
			continue;
		svc = json_object();
		json_object_set_new(svc, "client",
		    json_string(sn->streams[k].client));
		json_object_set_new(svc, "service",
		    json_string(sn->streams[k].service));
		json_object_set_new(svc, "age_seconds",
		    json_real(sn->streams[k].age_ms / 1000.0));
		json_object_set_new(svc, "bytes_in",
		    json_integer((json_int_t)sn->streams[k].in));
		json_object_set_new(svc, "bytes_out",
		    json_integer((json_int_t)sn->streams[k].out));
		json_object_set_new(svc, "window",
		    json_integer((json_int_t)sn->streams[k].window));
		json_array_append_new(streams, svc);
	}
	json_object_set_new(o, "streams", streams);
	return o;
}

static int
relay_admin_status_page(struct evbuffer *b, const struct evkeyvalq *q,
    void *arg)
{
	struct relay *r = arg;
	const char *v = evhttp_find_header(q, "streams");
	int want_streams = v != NULL && strcmp(v, "1") == 0;
	json_t *root = NULL, *agents;
	struct snap sn;
	char *text = NULL;
	size_t i;
	int ret = 500;

	if (relay_admin_snap(r, &sn, want_streams) != 0)
		return 500;
	if ((root = json_object()) == NULL || (agents = json_array()) == NULL)
		goto out;
	json_object_set_new(root, "daemon", json_string("relay"));
	json_object_set_new(root, "version", json_string(ATLAX_VERSION));
	json_object_set_new(root, "agents", agents);
	if (want_streams)
		json_object_set_new(root, "streams_truncated",
		    json_boolean(sn.truncated));
	for (i = 0; i < sn.nagents; i++)
		json_array_append_new(agents, relay_admin_json_agent(&sn, i,
		    want_streams));
	if ((text = json_dumps(root, JSON_INDENT(2))) == NULL)
		goto out;
	evbuffer_add_printf(b, "%s\n", text);
	ret = 0;
out:
	free(text);
	json_decref(root);
	relay_admin_snap_free(&sn);
	return ret;
}

static const struct admin_route relay_admin_routes[] = {
	{ "/metrics", "text/plain; version=0.0.4; charset=utf-8",
	    relay_admin_metrics },
	{ "/api/v1/status", "application/json", relay_admin_status_page },
	{ NULL, NULL, NULL },
};

int
relay_admin_start(struct relay *r, const struct relay_config *cfg, char *err,
    size_t errlen)
{
	if (!cfg->admin.enabled)
		return 0;
	r->admin = admin_new(r->base, &cfg->admin, "relay", relay_admin_routes,
	    r, err, errlen);
	return r->admin != NULL ? 0 : -1;
}

/* atlax-relay status */

static void
relay_admin_human_bytes(json_int_t v, char *buf, size_t len)
{
	static const char *units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double d = (double)v;
	int u = 0;

	while (d >= 1024 && u < 4) {
		d /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%lld B", (long long)v);
	else
		snprintf(buf, len, "%.1f %s", d, units[u]);
}

static void
relay_admin_print(json_t *root)
{
	json_t *agents = json_object_get(root, "agents"), *a, *svc;
	size_t i, j;
	char in[32], out[32], rtt[32], svcs[512];
	size_t o;

	printf("%-20s %-22s %-20s %-11s %8s %7s %10s %10s %s\n", "AGENT",
	    "REMOTE", "SINCE", "CREDENTIAL", "RTT", "STREAMS", "IN", "OUT",
	    "SERVICES");
	json_array_foreach(agents, i, a) {
		relay_admin_human_bytes(json_integer_value(json_object_get(a,
		    "bytes_in")), in, sizeof(in));
		relay_admin_human_bytes(json_integer_value(json_object_get(a,
		    "bytes_out")), out, sizeof(out));
		if (json_is_real(json_object_get(a, "rtt_seconds")))
			snprintf(rtt, sizeof(rtt), "%.1fms", 1000 *
			    json_real_value(json_object_get(a,
			    "rtt_seconds")));
		else
			snprintf(rtt, sizeof(rtt), "-");
		svcs[0] = '\0';
		o = 0;
		json_array_foreach(json_object_get(a, "services"), j, svc) {
			o += (size_t)snprintf(svcs + o, o < sizeof(svcs) ?
			    sizeof(svcs) - o : 0, "%s%s:%lld", j ? "," : "",
			    json_string_value(json_object_get(svc, "name")),
			    (long long)json_integer_value(json_object_get(svc,
			    "port")));
			if (o >= sizeof(svcs))
				break;
		}
		printf("%-20s %-22s %-20s %-11s %8s %7lld %10s %10s %s\n",
		    json_string_value(json_object_get(a, "id")),
		    json_string_value(json_object_get(a, "remote")),
		    json_string_value(json_object_get(a, "connected_since")),
		    json_string_value(json_object_get(a, "credential")), rtt,
		    (long long)json_integer_value(json_object_get(a,
		    "open_streams")), in, out, svcs);
	}
	if (json_array_size(agents) == 0)
		printf("(no agent connected)\n");
}

int
relay_admin_status(const struct relay_config *cfg, int json)
{
	char err[600], *body = NULL;
	json_error_t jerr;
	json_t *root = NULL;
	size_t len;
	int status = 0, rc = 1;

	if (admin_fetch(&cfg->admin, "/api/v1/status", 5000, &status, &body,
	    &len, err, sizeof(err)) != 0) {
		fprintf(stderr, "atlax-relay status: %s\n", err);
		goto out;
	}
	if (status != 200) {
		fprintf(stderr, "atlax-relay status: the admin endpoint "
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
		fprintf(stderr, "atlax-relay status: not JSON: %s\n",
		    jerr.text);
		goto out;
	}
	relay_admin_print(root);
	rc = 0;
out:
	json_decref(root);
	free(body);
	return rc;
}
