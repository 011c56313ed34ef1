/*
 * relay_splice.c — a stream one agent opened, carried to a stream on the
 * serving agent's tunnel, which may live on another worker thread.
 *
 * Nothing of a tunnel is touched from another thread (relay.h), so the two
 * streams meet through a socket pair: the connecting tunnel accepts its
 * stream with a pump on one end, and the other end travels to the serving
 * tunnel's worker in a SPLICE command, where it becomes the socket of a new
 * stream exactly as a public client's would.  Each side keeps its own flow
 * control; between them the kernel's socket buffers are the only queue, so
 * memory stays bounded by the two windows and those buffers.  The cost is
 * one more copy of every byte (docs/PERFORMANCE.md); a direct mux-to-mux
 * splice when both tunnels share a worker would save it.
 */
#include "relay.h"

#include <sys/socket.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "mux.h"
#include "pump.h"
#include "relay_stats.h"
#include "tunnel.h"

void
relay_splice_start(struct relay_tunnel *rt, uint32_t sid, const char *owner,
    const char *service, uint64_t gen, int worker)
{
	struct relay *r = rt->w->relay;
	struct relay_cmd *cmd = NULL;
	char label[256];
	int sv[2] = { -1, -1 };

	if ((cmd = calloc(1, sizeof(*cmd))) == NULL ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
	    sv) != 0) {
		log_warn("tunnel", "%s: stream %u to %s/%s: socketpair",
		    relay_tunnel_name(rt), sid, owner, service);
		(void)mux_stream_refuse(tunnel_mux(rt->tun), sid,
		    MUX_CODE_INTERNAL, "out of resources");
		free(cmd);
		return;
	}
	snprintf(label, sizeof(label), "%s -> %s/%s", rt->id, owner, service);
	/* Takes sv[0] in every case. */
	if (tunnel_stream_accept(rt->tun, sid, sv[0], label, NULL, 0, 0) != 0) {
		close(sv[1]);
		free(cmd);
		return;
	}
	cmd->type = RELAY_CMD_SPLICE;
	cmd->fd = sv[1];
	cmd->gen = gen;
	snprintf(cmd->service, sizeof(cmd->service), "%s", service);
	snprintf(cmd->who, sizeof(cmd->who), "%s", rt->id);
	cmd->peer = rt->peer_addr;
	relay_worker_post(r->workers[worker], cmd);
}

void
relay_splice_serve(struct relay_worker *w, struct relay_cmd *cmd)
{
	struct relay_tunnel *rt;
	struct relay_conf *conf;
	struct stats_stream *st;
	char label[256], text[256], client[CFG_ID_MAX + 8];
	int fd = cmd->fd;

	cmd->fd = -1;
	TAILQ_FOREACH(rt, &w->tunnels, entry)
		if (rt->gen == cmd->gen && !rt->dead)
			break;
	/* Gone meanwhile: closing our end is the connecting client's
	 * close. */
	if (w->stopping || rt == NULL ||
	    tunnel_state(rt->tun) != TUNNEL_READY) {
		log_debug("tunnel", "stream of %s for %s: serving tunnel gone",
		    cmd->who, cmd->service);
		close(fd);
		return;
	}
	conf = relay_conf_get(w->relay);
	if (tunnel_nstreams(rt->tun) >= conf->cfg->max_streams_per_agent) {
		log_info("tunnel", "%s: stream of %s for %s refused: too many "
		    "streams (limit %u)", relay_tunnel_name(rt), cmd->who,
		    cmd->service, conf->cfg->max_streams_per_agent);
		relay_conf_put(conf);
		close(fd);
		return;
	}
	relay_conf_put(conf);
	/* Counted and logged as the serving agent's stream, like a public
	 * client's; the client is the connecting agent, by identity. */
	snprintf(client, sizeof(client), "agent:%s", cmd->who);
	if ((st = relay_stats_stream_new(rt->stats, cmd->service, client,
	    NULL)) == NULL) {
		log_warnx("tunnel", "%s: stream of %s for %s refused: out of "
		    "memory", relay_tunnel_name(rt), cmd->who, cmd->service);
		close(fd);
		return;
	}
	snprintf(label, sizeof(label), "%s/%s from %s", rt->id, cmd->service,
	    cmd->who);
	/* Takes fd in every case. */
	if (tunnel_stream_open(rt->tun, fd, cmd->service, &cmd->peer, label,
	    st, text, sizeof(text)) != 0) {
		log_info("tunnel", "%s: stream of %s for %s refused: %s",
		    relay_tunnel_name(rt), cmd->who, cmd->service, text);
		free(st);
		return;
	}
	relay_stats_stream_start(w->relay->stats, st);
	pump_set_counters(tunnel_last_pump(rt->tun), &st->c);
}
