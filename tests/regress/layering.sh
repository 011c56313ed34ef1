# layering.sh — the build keeps the protocol core free of I/O.
#
# common/ is four libraries (Makefile).  The protocol core (frame, flow, mux)
# may use libevent's evbuffer (its byte queue) and libc, never an event loop,
# a socket call or OpenSSL; the config library never touches libevent or
# OpenSSL either.  Checked on the built archives' undefined symbols, so a new
# call that breaks the layering fails here, whoever adds it.
. "$(dirname "$0")/lib.sh"

libs=$(cd "${ATLAX_UNITS:?}/.." && pwd)
for a in libatlax_util.a libatlax_proto.a libatlax_cfg.a libatlax_io.a \
    libatlax_auth.a; do
	[ -f "$libs/$a" ] || fail "$libs/$a: not built"
done

undefined() {	# archive -> its undefined symbols, one per line
	nm -u "$1" | awk 'NF == 2 { print $2 }' | sort -u
}

# The core: evbuffer_* and nothing else of libevent; no OpenSSL, no sockets.
bad=$(undefined "$libs/libatlax_proto.a" |
    grep -E '^(event_|bufferevent_|evconn|evdns|evutil_|SSL_|BIO_|ERR_|EVP_|X509|yaml_|socket$|connect$|accept|send|recv|read$|write$|readv|writev|epoll|poll$)' || true)
[ -z "$bad" ] || fail "libatlax_proto.a needs I/O symbols: $(echo $bad)"
undefined "$libs/libatlax_proto.a" | grep -q '^evbuffer_add_buffer$' ||
    fail "the nm check sees no evbuffer use in proto: is the archive empty?"
ok "proto: evbuffer and libc only"

bad=$(undefined "$libs/libatlax_cfg.a" |
    grep -E '^(event_|evbuffer_|bufferevent_|SSL_|BIO_|EVP_|X509|mux_|frame_|flow_)' || true)
[ -z "$bad" ] || fail "libatlax_cfg.a needs symbols outside its layer: $(echo $bad)"
ok "cfg: no libevent, no OpenSSL, no protocol"

bad=$(undefined "$libs/libatlax_util.a" |
    grep -E '^(event_|evbuffer_|SSL_|yaml_|mux_|cfg_|tlsio_|pump_)' || true)
[ -z "$bad" ] || fail "libatlax_util.a depends on an upper layer: $(echo $bad)"
ok "util: libc only"

# Token verification needs OpenSSL and jansson, never the event loop.
bad=$(undefined "$libs/libatlax_auth.a" |
    grep -E '^(event_|evbuffer_|bufferevent_|mux_|tlsio_|pump_|tunnel_)' || true)
[ -z "$bad" ] || fail "libatlax_auth.a needs I/O symbols: $(echo $bad)"
ok "auth: no event loop"
