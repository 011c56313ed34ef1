/*
 * relay_stream.c — a public connection becomes a stream to the agent:
 * authorisation re-checked under the current policy and the stream caps
 * applied first; then the tunnel opens the stream and its pump carries the
 * bytes (common/io/tunnel.c, pump.c).  A refused connection is reset.
 */
#include "relay.h"

#include <sys/socket.h>

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "mux.h"
#include "pump.h"
#include "relay_registry.h"
#include "relay_stats.h"
#include "tunnel.h"

void
relay_stream_peer(const struct sockaddr *sa, struct mux_peer *mp)
{
	memset(mp, 0, sizeof(*mp));
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const void *)sa;

		mp->family = 4;
		memcpy(mp->addr, &s4->sin_addr, 4);
		mp->port = ntohs(s4->sin_port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)sa;

		mp->family = 6;
		memcpy(mp->addr, &s6->sin6_addr, 16);
		mp->port = ntohs(s6->sin6_port);
	}
}

/* Refusals are logged once per burst: the first at once, the rest of the
 * following second as a count with the next line. */
#define RELAY_STREAM_REFUSE_LOG_MS	1000

static void
relay_stream_log_refusal(struct public_svc *svc, const char *who,
    const char *text)
{
	uint64_t now = relay_now_ms();

	if (svc->refuse_log_ms != 0 &&
	    now - svc->refuse_log_ms < RELAY_STREAM_REFUSE_LOG_MS) {
		svc->refuse_quiet++;
		return;
	}
	if (svc->refuse_quiet > 0)
		log_info("public", "%s:%u: connection from %s refused: %s "
		    "(and %u more refused before it)", svc->name, svc->port,
		    who, text, svc->refuse_quiet);
	else
		log_info("public", "%s:%u: connection from %s refused: %s",
		    svc->name, svc->port, who, text);
	svc->refuse_log_ms = now;
	svc->refuse_quiet = 0;
}

static struct public_src *
relay_stream_src(struct public_svc *svc, const struct mux_peer *mp)
{
	struct public_src *src;

	TAILQ_FOREACH(src, &svc->srcs, entry)
		if (src->addr.family == mp->family &&
		    memcmp(src->addr.addr, mp->addr, 16) == 0)
			return src;
	return NULL;
}

/* May the tunnel open one more stream for svc?  MUX_CODE_NONE, or the
 * refusal's code with its text. */
static uint32_t
relay_stream_check(struct relay_tunnel *rt, struct public_svc *svc,
    const struct public_src *src, char *text, size_t len)
{
	struct relay *r = rt->w->relay;
	struct relay_conf *conf;
	const struct relay_config *cfg;
	uint32_t code;

	if (tunnel_state(rt->tun) != TUNNEL_READY) {
		snprintf(text, len, "tunnel is %s",
		    tunnel_state_name(tunnel_state(rt->tun)));
		return MUX_CODE_SHUTDOWN;
	}
	conf = relay_conf_get(r);
	cfg = conf->cfg;
	code = registry_check(r->reg, cfg, rt->id, rt->gen, svc->port, text,
	    len);
	if (code == MUX_CODE_NONE &&
	    mux_nstreams(tunnel_mux(rt->tun)) >= cfg->max_streams_per_agent) {
		snprintf(text, len, "too many streams (limit %u)",
		    cfg->max_streams_per_agent);
		code = MUX_CODE_LIMIT;
	}
	/* One flooded service must not starve the agent's others. */
	if (code == MUX_CODE_NONE && svc->nstreams >= cfg->streams_per_service) {
		snprintf(text, len, "too many streams for service %s (limit "
		    "%u)", svc->name, cfg->streams_per_service);
		code = MUX_CODE_LIMIT;
	}
	if (code == MUX_CODE_NONE && cfg->connections_per_source != 0 &&
	    src != NULL && src->n >= cfg->connections_per_source) {
		snprintf(text, len, "too many connections from this address "
		    "(limit %u)", cfg->connections_per_source);
		code = MUX_CODE_LIMIT;
	}
	relay_conf_put(conf);
	return code;
}

void
relay_stream_open(struct relay_tunnel *rt, struct public_svc *svc, int fd,
    const struct sockaddr *client)
{
	struct relay_stats *stats = rt->w->relay->stats;
	struct public_src *src, *fresh = NULL;
	struct stats_stream *st = NULL;
	struct mux_peer mp;
	char who[80], text[256], label[256];
	uint32_t code;

	relay_addr_str(client, who, sizeof(who));
	relay_stream_peer(client, &mp);
	src = relay_stream_src(svc, &mp);
	if ((code = relay_stream_check(rt, svc, src, text, sizeof(text))) !=
	    MUX_CODE_NONE)
		goto refuse;
	code = MUX_CODE_INTERNAL;
	if (src == NULL) {
		if ((fresh = calloc(1, sizeof(*fresh))) == NULL) {
			snprintf(text, sizeof(text), "out of memory");
			goto refuse;
		}
		fresh->svc = svc;
		fresh->addr = mp;
		fresh->addr.port = 0;
		src = fresh;
	}
	/* The stream's tag: its counters and access log record, which
	 * names its source. */
	if ((st = relay_stats_stream_new(rt->stats, svc->name, who,
	    src)) == NULL) {
		snprintf(text, sizeof(text), "out of memory");
		free(fresh);
		goto refuse;
	}
	snprintf(label, sizeof(label), "%s/%s %s", rt->id, svc->name, who);
	/* The fd is the tunnel's from here, refused or not. */
	if (tunnel_stream_open(rt->tun, fd, svc->name, &mp, label, st, text,
	    sizeof(text)) != 0) {
		fd = -1;
		free(fresh);
		free(st);
		goto refuse;
	}
	relay_stats_stream_start(stats, st);
	pump_set_counters(tunnel_last_pump(rt->tun), &st->c);
	if (fresh != NULL)
		TAILQ_INSERT_TAIL(&svc->srcs, fresh, entry);
	src->n++;
	svc->nstreams++;
	log_debug("tunnel", "%s: stream for %s from %s", rt->id, svc->name,
	    who);
	return;
refuse:
	relay_stats_refused(stats, code);
	relay_stream_log_refusal(svc, who, text);
	if (fd >= 0) {
		pump_set_rst(fd);
		close(fd);
	}
}

void
relay_stream_gone(struct relay_tunnel *rt, struct stats_stream *st)
{
	struct public_src *src;
	struct public_svc *svc;

	if (st == NULL)
		return;
	src = st->owner;
	relay_stats_stream_end(rt->w->relay->stats, st);
	if (src == NULL)
		return;	/* a private stream (relay_splice.c): no listener */
	svc = src->svc;
	if (src->n > 0 && --src->n == 0) {
		TAILQ_REMOVE(&svc->srcs, src, entry);
		free(src);
	}
	relay_public_stream_gone(rt, svc);
}
