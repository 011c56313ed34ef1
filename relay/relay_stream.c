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
#include "tunnel.h"

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

/* May the tunnel open one more stream for svc?  MUX_CODE_NONE, or the
 * refusal's code with its text. */
static uint32_t
relay_stream_check(struct relay_tunnel *rt, struct public_svc *svc,
    char *text, size_t len)
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
	relay_conf_put(conf);
	return code;
}

void
relay_stream_open(struct relay_tunnel *rt, struct public_svc *svc, int fd,
    const struct sockaddr *client)
{
	struct mux_peer mp;
	char who[80], text[256], label[256];

	relay_addr_str(client, who, sizeof(who));
	if (relay_stream_check(rt, svc, text, sizeof(text)) != MUX_CODE_NONE)
		goto refuse;
	snprintf(label, sizeof(label), "%s/%s %s", rt->id, svc->name, who);
	relay_stream_peer(client, &mp);
	/* The fd is the tunnel's from here, refused or not. */
	if (tunnel_stream_open(rt->tun, fd, svc->name, &mp, label, svc, text,
	    sizeof(text)) != 0) {
		fd = -1;
		goto refuse;
	}
	svc->nstreams++;
	log_debug("tunnel", "%s: stream for %s from %s", rt->id, svc->name,
	    who);
	return;
refuse:
	log_info("public", "%s:%u: connection from %s refused: %s", svc->name,
	    svc->port, who, text);
	if (fd >= 0) {
		pump_set_rst(fd);
		close(fd);
	}
}
