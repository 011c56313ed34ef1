/*
 * relay_stream.c — a tunnel's streams on the relay: each public connection
 * becomes a stream to the agent (authorisation re-checked first), glued to
 * its socket by a pump; the mux's stream callbacks land here.  A stream's
 * sarg is its struct relay_stream; a dead one waits for the worker's gc.
 */
#include "relay.h"

#include <sys/socket.h>

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "log.h"
#include "mux.h"
#include "pump.h"
#include "relay_registry.h"

/* Reset every stream's socket at once: the tunnel is gone. */
void
relay_stream_abort_all(struct tunnel *t)
{
	struct relay_stream *rs;

	TAILQ_FOREACH(rs, &t->streams, entry) {
		if (!rs->dead) {
			pump_abort(rs->pump);
			rs->dead = 1;
		}
	}
	relay_worker_gc(t->w);
}

void
relay_stream_on_open(struct mux *m, uint32_t sid, const char *service,
    const struct mux_peer *client, void *arg)
{
	(void)service;
	(void)client;
	(void)arg;
	(void)mux_stream_refuse(m, sid, MUX_CODE_REFUSED,
	    "the relay accepts no streams from agents");
}

void
relay_stream_on_accepted(struct mux *m, uint32_t sid, void *sarg)
{
	(void)m;
	(void)sarg;
	log_debug("tunnel", "stream %u accepted", sid);
}

void
relay_stream_on_data(struct mux *m, uint32_t sid, struct evbuffer *data,
    void *sarg)
{
	struct relay_stream *rs = sarg;
	size_t n;

	if (rs == NULL || rs->dead) {
		n = evbuffer_get_length(data);
		evbuffer_drain(data, n);
		(void)mux_stream_consumed(m, sid, n);
		return;
	}
	pump_stream_data(rs->pump, data);
}

void
relay_stream_on_eof(struct mux *m, uint32_t sid, void *sarg)
{
	struct relay_stream *rs = sarg;

	(void)m;
	(void)sid;
	if (rs != NULL && !rs->dead)
		pump_stream_eof(rs->pump);
}

void
relay_stream_on_closed(struct mux *m, uint32_t sid, uint32_t code, const char *text,
    void *sarg)
{
	struct relay_stream *rs = sarg;
	char why[600];

	(void)m;
	if (rs != NULL && text != NULL && code != MUX_CODE_NONE) {
		/* Why: the agent's refusal or reset, or the tunnel's end. */
		log_sanitize(why, sizeof(why), text, 512);
		log_info("tunnel", "%s: stream %u closed: %s: %s",
		    rs->label, sid, mux_code_name(code), why);
	} else
		log_debug("tunnel", "stream %u closed: %s", sid,
		    mux_code_name(code));
	if (rs != NULL && !rs->dead)
		pump_stream_closed(rs->pump, code);
}

void
relay_stream_on_writable(struct mux *m, uint32_t sid, void *sarg)
{
	struct relay_stream *rs = sarg;

	(void)m;
	(void)sid;
	if (rs != NULL && !rs->dead)
		pump_stream_writable(rs->pump);
}

static void
relay_stream_done(struct pump *p, void *arg)
{
	struct relay_stream *rs = arg;

	(void)p;
	rs->dead = 1;
	relay_worker_gc(rs->tunnel->w);
}

static void
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

void
relay_stream_open(struct tunnel *t, struct public_svc *svc, int fd,
    const struct sockaddr *client)
{
	struct relay *r = t->w->relay;
	struct relay_conf *conf = NULL;
	struct relay_stream *rs = NULL;
	struct bufferevent *bev;
	struct mux_peer mp;
	char who[80], text[256], label[256];
	uint32_t code, sid = 0;
	int e;

	relay_addr_str(client, who, sizeof(who));
	if (t->state != TUNNEL_READY) {
		snprintf(text, sizeof(text), "tunnel is %s",
		    tunnel_state_name(t->state));
		goto refuse;
	}
	/* Authorisation again, under the current policy. */
	conf = relay_conf_get(r);
	code = registry_check(r->reg, conf->cfg, t->id, t->gen, svc->port,
	    text, sizeof(text));
	if (code == MUX_CODE_NONE && mux_nstreams(t->mux) >=
	    conf->cfg->max_streams_per_agent) {
		snprintf(text, sizeof(text), "too many streams (limit %u)",
		    conf->cfg->max_streams_per_agent);
		code = MUX_CODE_LIMIT;
	}
	relay_conf_put(conf);
	if (code != MUX_CODE_NONE)
		goto refuse;
	if ((rs = calloc(1, sizeof(*rs))) == NULL ||
	    (bev = bufferevent_socket_new(t->w->base, fd,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		snprintf(text, sizeof(text), "out of memory");
		goto refuse;
	}
	fd = -1;
	rs->tunnel = t;
	snprintf(label, sizeof(label), "%s/%s %s", t->id, svc->name, who);
	snprintf(rs->label, sizeof(rs->label), "%s", label);
	if ((rs->pump = pump_new(bev, t->mux, label, relay_stream_done,
	    rs)) == NULL) {
		bufferevent_free(bev);
		snprintf(text, sizeof(text), "out of memory");
		goto refuse;
	}
	relay_stream_peer(client, &mp);
	if ((e = mux_stream_open(t->mux, svc->name, &mp, rs, &sid)) < 0) {
		snprintf(text, sizeof(text), "%s", mux_strerror(e));
		pump_abort(rs->pump);
		pump_free(rs->pump);
		goto refuse;
	}
	pump_set_stream(rs->pump, sid);
	TAILQ_INSERT_TAIL(&t->streams, rs, entry);
	/* The opener may send before the answer (PROTOCOL.md 3). */
	pump_start(rs->pump, 1);
	log_debug("tunnel", "%s: stream %u for %s from %s", t->name, sid,
	    svc->name, who);
	return;
refuse:
	log_info("public", "%s:%u: connection from %s refused: %s", svc->name,
	    svc->port, who, text);
	if (fd >= 0) {
		pump_set_rst(fd);
		close(fd);
	}
	free(rs);
}

/* Free the dead streams (all of them when all is set). */
void
relay_stream_gc(struct tunnel *t, int all)
{
	struct relay_stream *rs, *rt;

	TAILQ_FOREACH_SAFE(rs, &t->streams, entry, rt) {
		if (!rs->dead && !all)
			continue;
		TAILQ_REMOVE(&t->streams, rs, entry);
		pump_free(rs->pump);
		free(rs);
	}
}
