#!/bin/bash
# bench.sh — atlax beside what users would run instead, in one run.
#
#   make bench            full run: 3 repetitions, 10 s iperf3, 20k round trips;
#                         the table goes to docs/PERFORMANCE.md
#   make bench QUICK=1    a short pass (under 2 minutes); the table goes to
#                         build/bench/quick.md
#   make bench WAN=1      plain TCP, ssh -R and atlax with the tunnel across an
#                         emulated WAN link (tests/bench/linkem.c) at RTT 20,
#                         50 and 100 ms: about 9 minutes (QUICK=1: about 5);
#                         see tests/bench/bench_wan.sh
#
# Paths, all on 127.0.0.1, each forwarding the same three services (iperf3,
# the echo/bulk service of loadgen.c, nginx serving a 1 KiB page):
#   direct   client -> service
#   socat    socat TCP-LISTEN,fork -> service
#   stunnel  stunnel client -> TLS 1.3 (client certificate) -> stunnel server
#   ssh      ssh -N -R over one SSH connection, aes128-gcm@openssh.com, as
#            users run it (sshd is a private instance: own port, keys, config)
#   sshnd    the same with TCP_NODELAY forced by nodelay.so (LD_PRELOAD) in
#            both ssh and sshd
#   atlax    atlax-relay + atlax-agent, mTLS, certificates from atlax-pki
#
# The paths are interleaved (every path for one metric, then the next metric,
# and the whole sequence again for each repetition); the table gives the median
# and min-max over repetitions and ratios to direct and to the stronger ssh -R.
#
# Environment (all optional):
#   QUICK=1               short pass
#   BENCH_PATHS="..."     subset of: direct socat stunnel ssh sshnd atlax
#   BENCH_REPS=N          repetitions (default 3, QUICK 1)
#   BENCH_GROUPS="..."    subset of: mem iperf rtt conn http (default: all)
#   BENCH_HOLD="N..."     idle stream counts for mem (default 1000 10000,
#                         QUICK 1000)
#   BENCH_KEEP=1          keep the work folder (logs, configs) for a look
#   BENCH_PROFILE=1       perf profile of BENCH_PROFILE_PATHS (default atlax)
#                         during one iperf3 stream (default in full runs)
#   BENCH_PIDLOG=FILE     append "pid starttime" of every process stopped
#   BENCH_OUT=FILE        where the table is written
#   BENCH_INSTALL=0       never run apt-get; metrics whose tool is missing are
#                         skipped (shown as "-")
#   BENCH_SMOKE=1         the tiniest pass (tests/regress/bench_smoke.sh)
#   BENCH_TAG=STRING      value of ATLAX_BENCH_RUN in every child's environment
#                         (lets a test prove that nothing was left behind)
#   ATLAX_BIN=DIR         the atlax binaries (default: bin/ of this tree)
#   BENCH_ATLAX_LIMITS="k: v; ..."  extra limits: keys for both atlax
#                         daemons, e.g. "stream_window_max: 256KiB", to compare
#                         settings without a rebuild
#
# Every process is started here, remembered by PID and stopped at exit with its
# descendants; every client runs under timeout(1).

# `make bench` runs us with sh: this line is plain sh, the rest is bash.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN=${ATLAX_BIN:-$TOP/bin}
HERE=$TOP/tests/bench
BUILD=$TOP/build/bench
QUICK=${QUICK:-}
SMOKE=${BENCH_SMOKE:-}
[ "$QUICK" = 0 ] && QUICK=
INSTALL=${BENCH_INSTALL:-1}

# ---- knobs ----------------------------------------------------------------
if [ -n "$SMOKE" ]; then
	MODE=smoke; REPS=1; IPERF_T=1; RTT_N=500; LRTT_T=1; CONN_T=0.3
	HTTP_T=1; HOLD_COUNTS=""; INSTALL=0
	DEF_PATHS="direct"
elif [ -n "$QUICK" ]; then
	MODE=quick; REPS=1; IPERF_T=1; RTT_N=2000; LRTT_T=1.5; CONN_T=0.5
	HTTP_T=1; HOLD_COUNTS="1000"
	DEF_PATHS="direct socat stunnel ssh sshnd atlax"
else
	MODE=full; REPS=3; IPERF_T=10; RTT_N=20000; LRTT_T=15; CONN_T=3
	HTTP_T=5; HOLD_COUNTS="1000 10000"
	DEF_PATHS="direct socat stunnel ssh sshnd atlax"
fi
REPS=${BENCH_REPS:-$REPS}
HOLD_COUNTS=${BENCH_HOLD-$HOLD_COUNTS}
GROUPS_=${BENCH_GROUPS:-"mem iperf rtt conn http"}
PROFILE=${BENCH_PROFILE-$([ "$MODE" = full ] && echo 1)}
[ "$PROFILE" = 0 ] && PROFILE=
PROFILE_PATHS=${BENCH_PROFILE_PATHS:-"atlax"}
PATHS=${BENCH_PATHS:-$DEF_PATHS}
if [ -n "${BENCH_OUT:-}" ]; then
	OUT=$BENCH_OUT
elif [ "$MODE" = full ]; then
	OUT=$TOP/docs/PERFORMANCE.md
else
	OUT=$BUILD/$MODE.md
fi
MEM_PATHS="stunnel ssh atlax"	# the multiplexers worth a memory figure

W=$(mktemp -d /tmp/atlax-bench.XXXXXX)
export ATLAX_BENCH_RUN=${BENCH_TAG:-$W}
RESULTS=$W/results
NOTES=$W/notes
: >"$RESULTS"
: >"$NOTES"
declare -a PIDS=()
declare -A BORN=()	# BORN[pid] = start time of a process we started
declare -A PORT=()	# PORT[path.svc] = public port of svc through path
declare -A TPIDS=()	# processes that carry a path (CPU seconds)
declare -A PUBPID=()	# public-side process of a path (RSS)
declare -A SVCPID=()	# service-side process of a path (RSS)
SVCS="iperf echo http"

say() { printf 'bench: %s\n' "$*" >&2; }
note() { printf '%s\n' "$*" >>"$NOTES"; say "note: $*"; }
have() { command -v "$1" >/dev/null 2>&1; }

# ---- process bookkeeping --------------------------------------------------
start() {	# name cmd... : run in the background, log in $W/name.log
	local name=$1; shift
	"$@" >"$W/$name.log" 2>&1 &
	LAST=$!
	PIDS+=("$LAST")
	BORN[$LAST]=$(starttime "$LAST")
}

starttime() {	# pid : start time in clock ticks since boot (field 22 of stat)
	local s
	s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	s=${s##*) }
	# shellcheck disable=SC2086
	set -- $s
	echo "${20}"
}

descendants() {	# pid... : the pids and every descendant, from ps
	ps -e -o pid=,ppid= | awk -v roots="$*" '
		BEGIN { n = split(roots, r, " "); for (i = 1; i <= n; i++) in_[r[i]] = 1 }
		{ par[$1] = $2 }
		END {
			do {
				ch = 0
				for (p in par)
					if (!(p in in_) && (par[p] in in_)) { in_[p] = 1; ch = 1 }
			} while (ch)
			for (p in in_) print p
		}'
}

# Ours: a PID we started whose start time has not changed (so the PID has not
# been reused by someone else's process), or a descendant of one.  Programs
# that rewrite their process title (sshd, nginx) hide their environment, so the
# start time is the proof, not ATLAX_BENCH_RUN.
ours() {	# pid
	[ -n "${BORN[$1]:-}" ] && [ "$(starttime "$1")" = "${BORN[$1]}" ]
}

forget() {	# pid... : drop from PIDS
	local p q keep=()
	for p in "${PIDS[@]}"; do
		for q in "$@"; do [ "$p" = "$q" ] && continue 2; done
		keep+=("$p")
	done
	PIDS=("${keep[@]}")
}

running() {	# pid : exists and is not a zombie waiting for its parent
	local s
	s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	s=${s##*) }
	[ "${s%% *}" != Z ]
}

stop_pids() {	# pid... : TERM, then KILL what is left, trees included
	local all="" p i
	[ $# -gt 0 ] || return 0
	local roots=""
	for p in "$@"; do
		ours "$p" && roots="$roots $p"
	done
	# shellcheck disable=SC2086
	[ -n "$roots" ] && all=$(descendants $roots)
	if [ -n "${BENCH_PIDLOG:-}" ]; then
		for p in $all; do
			echo "$p $(starttime "$p")" >>"$BENCH_PIDLOG"
		done
	fi
	for p in $all; do kill -TERM "$p" 2>/dev/null; done
	for ((i = 0; i < 30; i++)); do
		local alive=0
		for p in $all; do
			running "$p" && alive=1
		done
		[ $alive = 0 ] && break
		sleep 0.1
	done
	for p in $all; do kill -KILL "$p" 2>/dev/null; done
	wait "$@" 2>/dev/null
	forget "$@"
	return 0
}

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	stop_pids "${PIDS[@]}"
	if [ -n "${BENCH_KEEP:-}" ] || [ "$rc" != 0 ]; then
		say "kept $W (logs and configs of the run)"
	else
		rm -rf "$W"
	fi
}
trap cleanup EXIT
trap 'say interrupted; exit 130' INT TERM

free_ports() {	# n : n distinct free ports on 127.0.0.1
	python3 - "$1" <<'PY'
import socket, sys
ss = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    ss.append(s)
print(" ".join(str(s.getsockname()[1]) for s in ss))
PY
}

# Waits for a listener without connecting to it (a probe would show up in the
# TLS daemons' logs as a failed handshake) when ss(8) is there.
wait_port() {	# port [seconds]
	local i n=$(( ${2:-10} * 10 ))
	for ((i = 0; i < n; i++)); do
		if have ss; then
			[ -n "$(ss -Hltn "sport = :$1" 2>/dev/null)" ] && return 0
		else
			(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		fi
		sleep 0.1
	done
	return 1
}

# ---- set-up ---------------------------------------------------------------
install_missing() {	# [packages]: default, what every path needs
	local want="" p pkgs=${1:-"iperf3 openssh-server openssh-client stunnel4 socat wrk python3"}
	[ $# -eq 0 ] && ! have nginx && pkgs="$pkgs nginx-light"
	for p in $pkgs; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
		    grep -q "install ok installed" || want="$want $p"
	done
	[ -z "$want" ] && return 0
	if [ "$INSTALL" != 1 ]; then
		note "not installed (BENCH_INSTALL=0):$want"
		return 0
	fi
	say "installing:$want"
	local sudo=""
	[ "$(id -u)" -eq 0 ] || sudo=sudo
	export DEBIAN_FRONTEND=noninteractive
	$sudo apt-get update -qq >/dev/null 2>&1
	# shellcheck disable=SC2086
	$sudo apt-get install -y -qq --no-install-recommends $want >/dev/null 2>&1 ||
	    note "apt-get install failed:$want"
	# Debian starts the daemons of the packages it has just installed; we
	# run private instances, so stop those again (only those: an sshd that
	# was already there may be how the user logs in).
	for p in $want; do
		case $p in
		openssh-server) p=ssh ;;
		nginx-light) p=nginx ;;
		stunnel4) ;;
		*) continue ;;
		esac
		$sudo systemctl disable --now "$p" >/dev/null 2>&1 || true
	done
}

build_tools() {
	local cf="-std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Werror -Wshadow
	    -Wpointer-arith -Wformat=2 -Wmissing-prototypes"
	mkdir -p "$BUILD"
	# Built in the run's own folder: parallel runs (make check and make asan
	# in one tree) never share a half-written binary.
	# shellcheck disable=SC2086
	cc $cf -o "$W/loadgen" "$HERE/loadgen.c" -lpthread &&
	    cc $cf -shared -fPIC -o "$W/nodelay.so" "$HERE/nodelay.c" -ldl ||
	    { say "cannot build the bench tools"; exit 1; }
	LOADGEN=$W/loadgen
	NODELAY=$W/nodelay.so
}

raise_fd_limit() {
	ulimit -Hn 65536 2>/dev/null
	ulimit -n "$(ulimit -Hn)" 2>/dev/null
	FDMAX=$(ulimit -n)
}

start_services() {
	local p
	read -r S_IPERF S_ECHO S_HTTP <<<"$(free_ports 3)"
	start echo-service "$LOADGEN" serve -p "$S_ECHO"
	wait_port "$S_ECHO" 5 || { say "echo service did not start"; exit 1; }
	if have iperf3; then
		start iperf3-service iperf3 -s -B 127.0.0.1 -p "$S_IPERF"
		wait_port "$S_IPERF" 5 || { note "iperf3 server did not start"; S_IPERF=""; }
	else
		S_IPERF=""
	fi
	S_HTTP_OK=""
	if have nginx || [ -x /usr/sbin/nginx ]; then
		mkdir -p "$W/nginx/www" "$W/nginx/tmp"
		head -c 1024 /dev/zero | tr '\0' 'a' >"$W/nginx/www/1k.html"
		cat >"$W/nginx/nginx.conf" <<EOF
user root;
worker_processes 1;
pid $W/nginx/nginx.pid;
error_log $W/nginx/error.log warn;
events { worker_connections 16384; }
http {
	access_log off;
	keepalive_requests 100000000;
	keepalive_timeout 65;
	client_body_temp_path $W/nginx/tmp;
	server {
		listen 127.0.0.1:$S_HTTP backlog=4096;
		root $W/nginx/www;
	}
}
EOF
		p=$(command -v nginx || echo /usr/sbin/nginx)
		start nginx "$p" -e "$W/nginx/error.log" -p "$W/nginx" \
		    -c "$W/nginx/nginx.conf" -g 'daemon off;'
		wait_port "$S_HTTP" 5 && S_HTTP_OK=1 || note "nginx did not start"
	fi
}

# The port a tunnel's client side dials to reach its server side (ssh to
# sshd, the agent to the relay): the port itself here; WAN mode
# (bench_wan.sh) puts a link emulator in between.  Sets VIA.
via() {	# port
	VIA=$1
}

# A path works when a 1-byte echo goes through it.
path_ok() {	# path
	timeout -k 1 10 "$LOADGEN" conn -p "${PORT[$1.echo]}" -T 1 -d 0.2 \
	    >/dev/null 2>&1
}

setup_direct() {
	PORT[direct.iperf]=$S_IPERF; PORT[direct.echo]=$S_ECHO
	PORT[direct.http]=$S_HTTP
}

setup_socat() {
	have socat || { note "socat: not installed"; return 1; }
	local pub s tgt svc pids=""
	read -r -a pub <<<"$(free_ports 3)"
	set -- $SVCS
	for s in 0 1 2; do
		svc=$1; shift
		case $svc in iperf) tgt=$S_IPERF ;; echo) tgt=$S_ECHO ;; http) tgt=$S_HTTP ;; esac
		[ -n "$tgt" ] || continue
		start "socat-$svc" socat "TCP-LISTEN:${pub[$s]},bind=127.0.0.1,reuseaddr,fork,backlog=4096" \
		    "TCP:127.0.0.1:$tgt"
		PORT[socat.$svc]=${pub[$s]}
		pids="$pids $LAST"
		wait_port "${pub[$s]}" 5 || return 1
	done
	TPIDS[socat]=$pids
}

# A throwaway CA, a server and a client certificate for stunnel (EC P-256).
stunnel_pki() {
	local d=$W/stunnel
	mkdir -p "$d"
	(
		cd "$d" || exit 1
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		    -keyout ca.key -out ca.crt -days 2 -subj /CN=bench-ca \
		    -addext basicConstraints=critical,CA:TRUE \
		    -addext keyUsage=keyCertSign,cRLSign &&
		for n in server client; do
			openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
			    -keyout $n.key -out $n.csr -subj /CN=bench-$n &&
			openssl x509 -req -in $n.csr -CA ca.crt -CAkey ca.key \
			    -CAcreateserial -days 2 -out $n.crt \
			    -extfile <(printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=%s\n' \
				"$([ $n = server ] && echo serverAuth || echo clientAuth)") ||
			exit 1
		done
		chmod 600 ./*.key
	) >"$W/stunnel-pki.log" 2>&1
}

setup_stunnel() {
	local st
	st=$(command -v stunnel4 || command -v stunnel) || { note "stunnel: not installed"; return 1; }
	stunnel_pki || { note "stunnel: cannot mint certificates"; return 1; }
	local d=$W/stunnel pub tls s svc tgt
	read -r -a pub <<<"$(free_ports 3)"
	read -r -a tls <<<"$(free_ports 3)"
	printf 'foreground = yes\npid =\ndebug = 3\n' >"$d/server.conf"
	printf 'foreground = yes\npid =\ndebug = 3\n' >"$d/client.conf"
	s=0
	for svc in $SVCS; do
		case $svc in iperf) tgt=$S_IPERF ;; echo) tgt=$S_ECHO ;; http) tgt=$S_HTTP ;; esac
		cat >>"$d/server.conf" <<EOF
[$svc]
accept = 127.0.0.1:${tls[$s]}
connect = 127.0.0.1:${tgt:-9}
cert = $d/server.crt
key = $d/server.key
CAfile = $d/ca.crt
verifyChain = yes
sslVersionMin = TLSv1.3
EOF
		cat >>"$d/client.conf" <<EOF
[$svc]
client = yes
accept = 127.0.0.1:${pub[$s]}
connect = 127.0.0.1:${tls[$s]}
cert = $d/client.crt
key = $d/client.key
CAfile = $d/ca.crt
verifyChain = yes
checkIP = 127.0.0.1
sslVersionMin = TLSv1.3
EOF
		PORT[stunnel.$svc]=${pub[$s]}
		s=$((s + 1))
	done
	start stunnel-server "$st" "$d/server.conf"
	SVCPID[stunnel]=$LAST
	start stunnel-client "$st" "$d/client.conf"
	PUBPID[stunnel]=$LAST
	TPIDS[stunnel]="${SVCPID[stunnel]} ${PUBPID[stunnel]}"
	wait_port "${tls[1]}" 5 && wait_port "${pub[1]}" 5
}

ssh_keys() {
	[ -f "$W/ssh/hostkey" ] && return 0
	mkdir -p "$W/ssh"
	ssh-keygen -q -t ed25519 -N '' -C bench-host -f "$W/ssh/hostkey" &&
	    ssh-keygen -q -t ed25519 -N '' -C bench-user -f "$W/ssh/userkey" &&
	    cp "$W/ssh/userkey.pub" "$W/ssh/authorized_keys"
}

# ssh or sshnd: a private sshd (the "relay" side) and ssh -N -R (the "agent").
setup_ssh() {	# path
	local path=$1 port pub pre="" s svc tgt rs="" user
	[ -x /usr/sbin/sshd ] && have ssh || { note "$path: OpenSSH not installed"; return 1; }
	ssh_keys || { note "$path: ssh-keygen failed"; return 1; }
	# sshd refuses to start without its privilege separation directory.
	[ -d /run/sshd ] || mkdir -p -m 0755 /run/sshd
	[ "$path" = sshnd ] && pre="LD_PRELOAD=$NODELAY"
	read -r port <<<"$(free_ports 1)"
	read -r -a pub <<<"$(free_ports 3)"
	user=$(id -un)
	cat >"$W/ssh/$path.conf" <<EOF
Port $port
ListenAddress 127.0.0.1
HostKey $W/ssh/hostkey
PidFile none
AuthorizedKeysFile $W/ssh/authorized_keys
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
AllowTcpForwarding yes
X11Forwarding no
PrintMotd no
Ciphers aes128-gcm@openssh.com
LogLevel ERROR
EOF
	start "$path-sshd" env $pre /usr/sbin/sshd -D -e -f "$W/ssh/$path.conf"
	local sshd=$LAST
	wait_port "$port" 5 || { note "$path: sshd did not start"; return 1; }
	via "$port" || { note "$path: no link to sshd"; return 1; }
	s=0
	for svc in $SVCS; do
		case $svc in iperf) tgt=$S_IPERF ;; echo) tgt=$S_ECHO ;; http) tgt=$S_HTTP ;; esac
		rs="$rs -R 127.0.0.1:${pub[$s]}:127.0.0.1:${tgt:-9}"
		PORT[$path.$svc]=${pub[$s]}
		s=$((s + 1))
	done
	# shellcheck disable=SC2086
	start "$path-ssh" env $pre ssh -N -T -F /dev/null -i "$W/ssh/userkey" \
	    -p "$VIA" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
	    -o BatchMode=yes -o ExitOnForwardFailure=yes -o LogLevel=ERROR \
	    -o Compression=no -c aes128-gcm@openssh.com $rs "$user@127.0.0.1"
	SVCPID[$path]=$LAST
	PUBPID[$path]=$sshd
	TPIDS[$path]="$sshd $LAST"
	wait_port "${pub[1]}" 10
}

atlax_limits() {	# BENCH_ATLAX_LIMITS as YAML lines under limits:
	local IFS=';' kv
	for kv in ${BENCH_ATLAX_LIMITS:-}; do
		kv=${kv#"${kv%%[![:space:]]*}"}
		[ -n "$kv" ] && printf '  %s\n' "$kv"
	done
	return 0
}

setup_atlax() {
	local d=$W/atlax${ATLAX_RUN:-} rp pub i svc tgt
	for i in atlax-relay atlax-agent atlax-pki; do
		[ -x "$BIN/$i" ] || { note "atlax: $BIN/$i not built"; return 1; }
	done
	mkdir -p "$d"
	{
		"$BIN/atlax-pki" init --dir "$d/pki" &&
		"$BIN/atlax-pki" issue --dir "$d/pki" --cn bench-relay --role relay \
		    --san IP:127.0.0.1 &&
		"$BIN/atlax-pki" issue --dir "$d/pki" --cn bench-agent --role agent
	} >"$W/atlax-pki.log" 2>&1 || { note "atlax: atlax-pki failed"; return 1; }
	read -r rp <<<"$(free_ports 1)"
	read -r -a pub <<<"$(free_ports 3)"
	local lo=${pub[0]} hi=${pub[0]}
	for i in 1 2; do
		[ "${pub[$i]}" -lt "$lo" ] && lo=${pub[$i]}
		[ "${pub[$i]}" -gt "$hi" ] && hi=${pub[$i]}
	done
	cat >"$d/relay.yaml" <<EOF
listen: "127.0.0.1:$rp"
tls:
  cert: pki/bench-relay.crt
  key: pki/bench-relay.key
  ca: pki/ca.crt
public:
  bind: "127.0.0.1"
  port_range: "$lo-$hi"
agents:
  bench-agent:
    ports: [$(IFS=,; echo "${pub[*]}")]
limits:
  max_streams_per_agent: 20000
  # The idle-stream and connection-rate metrics open thousands of
  # connections from 127.0.0.1: the per-source and per-service caps that
  # protect a public relay would refuse them.
  streams_per_service: 20000
  connections_per_source: 0
$(atlax_limits)
log:
  level: warn
EOF
	# A link emulator, if any, may start before the relay: it dials
	# the relay only when the agent connects.
	via "$rp" || { note "atlax: no link to the relay"; return 1; }
	cat >"$d/agent.yaml" <<EOF
id: bench-agent
relay: "127.0.0.1:$VIA"
tls:
  cert: pki/bench-agent.crt
  key: pki/bench-agent.key
  ca: pki/ca.crt
  server_name: bench-relay
services:
EOF
	i=0
	for svc in $SVCS; do
		case $svc in iperf) tgt=$S_IPERF ;; echo) tgt=$S_ECHO ;; http) tgt=$S_HTTP ;; esac
		printf '  - name: %s\n    target: "127.0.0.1:%s"\n    remote_port: %s\n' \
		    "$svc" "${tgt:-9}" "${pub[$i]}" >>"$d/agent.yaml"
		i=$((i + 1))
	done
	printf 'limits:\n  max_streams: 20000\n%s\nlog:\n  level: info\n' \
	    "$(atlax_limits)" >>"$d/agent.yaml"
	start atlax-relay "$BIN/atlax-relay" -c "$d/relay.yaml"
	PUBPID[atlax]=$LAST
	wait_port "$rp" 5 || { note "atlax: relay did not listen"; return 1; }
	start atlax-agent "$BIN/atlax-agent" -c "$d/agent.yaml"
	SVCPID[atlax]=$LAST
	TPIDS[atlax]="${PUBPID[atlax]} ${SVCPID[atlax]}"
	# The agent logs "service NAME (TARGET) exposed at HOST:PORT".
	for ((i = 0; i < 100; i++)); do
		[ "$(grep -c 'exposed at' "$W/atlax-agent.log")" -ge 3 ] && break
		sleep 0.1
	done
	for svc in $SVCS; do
		local p
		p=$(sed -n "s/.*service $svc (.*) exposed at .*:\([0-9]*\).*/\1/p" \
		    "$W/atlax-agent.log" | tail -n 1)
		[ -n "$p" ] || { note "atlax: service $svc not exposed"; return 1; }
		PORT[atlax.$svc]=$p
	done
}

setup_paths() {
	local p ok=""
	for p in $PATHS; do
		case $p in
		direct) setup_direct ;;
		socat) setup_socat ;;
		stunnel) setup_stunnel ;;
		ssh|sshnd) setup_ssh "$p" ;;
		atlax) setup_atlax ;;
		*) note "unknown path $p"; false ;;
		esac
		if [ $? -eq 0 ] && path_ok "$p"; then
			ok="$ok $p"
		else
			note "path $p unavailable (see above); left out of this run"
		fi
	done
	PATHS=${ok# }
	[ -n "$PATHS" ] || { say "no path works"; exit 1; }
	say "paths: $PATHS"
}

# ---- measurements ----------------------------------------------------------
record() {	# metric path value
	[ -n "$3" ] || return 0
	echo "$1 $2 $3" >>"$RESULTS"
	say "rep $REP/$REPS $1 $2: $3"
}

cpu_of() {	# path : CPU seconds of the processes that carry it ("" for direct)
	[ -n "${TPIDS[$1]:-}" ] || return 0
	# shellcheck disable=SC2086
	"$LOADGEN" cpu ${TPIDS[$1]} 2>/dev/null
}

declare -A CPU_ACC=() BYTES_ACC=()

iperf_run() {	# path metric args...
	local path=$1 m=$2 c0 c1 res gbps bytes try
	shift 2
	[ -n "$S_IPERF" ] || return 0
	for try in 1 2; do
		c0=$(cpu_of "$path")
		timeout -k 2 $((IPERF_T + 20)) iperf3 -c 127.0.0.1 -p "${PORT[$path.iperf]}" \
		    -t "$IPERF_T" --connect-timeout 3000 -J "$@" >"$W/iperf.json" \
		    2>>"$W/iperf-client.log"
		c1=$(cpu_of "$path")
		res=$(python3 - "$W/iperf.json" <<'PY' 2>/dev/null
import json, sys
d = json.load(open(sys.argv[1]))
s = d["end"]["sum_received"]
print("%.3f %d" % (s["bits_per_second"] / 1e9, s["bytes"]))
PY
		) && break
		say "iperf3 $m $path failed (try $try)"
		sed -n 's/.*"error":\s*"\(.*\)".*/\1/p' "$W/iperf.json" >&2
		res=""
		sleep 1
	done
	sleep 0.2	# let the iperf3 server close the test
	[ -n "$res" ] || return 0
	read -r gbps bytes <<<"$res"
	record "$m" "$path" "$gbps"
	if [ -n "$c0" ] && [ -n "$c1" ]; then
		CPU_ACC[$path]=$(echo "${CPU_ACC[$path]:-0} $c0 $c1" | awk '{print $1 + $3 - $2}')
		BYTES_ACC[$path]=$(( ${BYTES_ACC[$path]:-0} + bytes ))
	fi
}

rtt_run() {	# path metric-prefix [loaded]
	local path=$1 m=$2 out bpid="" t n
	t=$([ -n "${3:-}" ] && echo "$LRTT_T" || echo "${RTT_T:-30}")
	n=$RTT_N
	if [ -n "${3:-}" ]; then
		# The bulk stream outlives the round trips (warm-up: t/5, then t).
		start bulk timeout -k 1 "$(awk -v t="$LRTT_T" 'BEGIN{print int(t * 1.25) + 8}')" \
		    "$LOADGEN" bulk -p "${PORT[$path.echo]}" \
		    -d "$(awk -v t="$LRTT_T" 'BEGIN{print t * 1.25 + 3}')"
		bpid=$LAST
		sleep 0.5
	fi
	out=$(timeout -k 1 60 "$LOADGEN" rtt -p "${PORT[$path.echo]}" -n "$n" -t "$t" 2>>"$W/rtt.log")
	if [ -n "$bpid" ]; then
		stop_pids "$bpid"
		record "${m}_bulk" "$path" "$(sed -n 's/.*gbit=\([0-9.]*\).*/\1/p' "$W/bulk.log")"
	fi
	[ -n "$out" ] || { say "rtt $m $path failed"; return 0; }
	record "${m}_p50" "$path" "$(sed -n 's/.*p50_us=\([0-9.]*\).*/\1/p' <<<"$out")"
	record "${m}_p99" "$path" "$(sed -n 's/.*p99_us=\([0-9.]*\).*/\1/p' <<<"$out")"
	[ -n "$bpid" ] && record "${m}_n" "$path" "$(sed -n 's/.*n=\([0-9]*\).*/\1/p' <<<"$out")"
	return 0
}

conn_run() {	# path threads
	local out
	out=$(timeout -k 1 30 "$LOADGEN" conn -p "${PORT[$1.echo]}" -T "$2" -d "$CONN_T" 2>>"$W/conn.log")
	[ -n "$out" ] || { say "conn $1 failed"; return 0; }
	record "conn$2" "$1" "$(sed -n 's/.*rate=\([0-9.]*\).*/\1/p' <<<"$out")"
	local err
	err=$(sed -n 's/.* err=\([0-9]*\).*/\1/p' <<<"$out")
	[ "${err:-0}" = 0 ] || note "conn$2 $1: $err failed connections in one repetition"
}

http_run() {	# path metric [header]
	local path=$1 m=$2 out rps p99
	[ -n "$S_HTTP_OK" ] && have wrk || return 0
	shift 2
	out=$(timeout -k 2 $((HTTP_T + 30)) wrk -t2 -c16 -d"${HTTP_T}s" --latency "$@" \
	    "http://127.0.0.1:${PORT[$path.http]}/1k.html" 2>&1)
	echo "$out" >>"$W/wrk.log"
	rps=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")
	p99=$(awk '/^ +99%/ { v = $2
		if (v ~ /us$/) { sub(/us$/, "", v); v /= 1000 }
		else if (v ~ /ms$/) { sub(/ms$/, "", v); v += 0 }
		else if (v ~ /s$/) { sub(/s$/, "", v); v *= 1000 }
		print v }' <<<"$out")
	grep -q 'Non-2xx' <<<"$out" && note "$m $path: non-2xx responses"
	record "${m}_rps" "$path" "$rps"
	record "${m}_p99" "$path" "$p99"
}

# How many idle streams a path may hold: ssh, sshd, relay and agent need one
# descriptor per stream.
hold_cap() {	# path n
	local max=$((FDMAX - 100))
	# stunnel runs a thread per connection: 10,000 streams would be 20,000
	# threads on a shared machine; its per-stream cost shows at 1,000.
	[ "$1" = stunnel ] && max=1000
	echo $(($2 < max ? $2 : max))
}

# RSS of each side with N idle streams held open, as bytes per stream over the
# RSS measured before the first hold.
mem_phase() {
	local path n nominal out base_pub base_svc pub svc hold_t
	for path in $MEM_PATHS; do
		[[ " $PATHS " == *" $path "* ]] || continue
		base_pub=$("$LOADGEN" rss "${PUBPID[$path]}")
		base_svc=$("$LOADGEN" rss "${SVCPID[$path]}")
		for nominal in $HOLD_COUNTS; do
			n=$(hold_cap "$path" "$nominal")
			if [ "$n" -lt "$nominal" ] && [ "$path" = stunnel ]; then
				note "mem stunnel: not held at $nominal streams (a" \
				    "thread per connection); its cost per stream shows" \
				    "at 1,000"
				continue
			fi
			[ "$n" -lt "$nominal" ] && note "mem $path: $n idle streams" \
			    "instead of $nominal: RLIMIT_NOFILE is $FDMAX here"
			hold_t=$((30 + n / 40))	# ssh opens 10,000 channels in ~100 s
			start "hold-$path-$n" "$LOADGEN" hold -p "${PORT[$path.echo]}" -n "$n" \
			    -c 100 -t "$hold_t"
			local hp=$LAST i
			for ((i = 0; i < hold_t * 10; i++)); do
				grep -q '^ready' "$W/hold-$path-$n.log" 2>/dev/null && break
				kill -0 "$hp" 2>/dev/null || break
				sleep 0.1
			done
			out=$(grep '^ready' "$W/hold-$path-$n.log")
			sleep 0.5	# let both sides settle
			pub=$("$LOADGEN" rss "${PUBPID[$path]}")
			svc=$("$LOADGEN" rss "${SVCPID[$path]}")
			stop_pids "$hp"
			say "mem $path $n: $out"
			if [[ "$out" != *"held=$n "* ]]; then
				note "mem $path $n: not every stream opened ($out)"
				continue
			fi
			REP=1 record "mem${nominal}_pub" "$path" $(( (pub - base_pub) / n ))
			REP=1 record "mem${nominal}_svc" "$path" $(( (svc - base_svc) / n ))
			REP=1 record "rss${nominal}_pub" "$path" "$pub"
			REP=1 record "rss${nominal}_svc" "$path" "$svc"
			sleep 1	# the streams close on every hop
		done
	done
}

group() { [[ " $GROUPS_ " == *" $1 "* ]]; }

run_reps() {
	local p
	for ((REP = 1; REP <= REPS; REP++)); do
		if group iperf; then
			for p in $PATHS; do CPU_ACC[$p]=0; BYTES_ACC[$p]=0; done
			for p in $PATHS; do iperf_run "$p" up; done
			for p in $PATHS; do iperf_run "$p" down -R; done
			for p in $PATHS; do iperf_run "$p" p8 -P 8; done
			for p in $PATHS; do
				[ "${BYTES_ACC[$p]:-0}" -gt 0 ] && [ -n "${TPIDS[$p]:-}" ] &&
				    record cpu_gb "$p" "$(awk -v c="${CPU_ACC[$p]}" \
					-v b="${BYTES_ACC[$p]}" 'BEGIN { printf "%.3f", c / (b / 1e9) }')"
			done
		fi
		if group rtt; then
			for p in $PATHS; do rtt_run "$p" rtt; done
			for p in $PATHS; do rtt_run "$p" lrtt loaded; done
		fi
		if group conn; then
			for p in $PATHS; do conn_run "$p" 1; done
			for p in $PATHS; do conn_run "$p" 8; done
		fi
		if group http; then
			for p in $PATHS; do http_run "$p" ka; done
			for p in $PATHS; do http_run "$p" close -H "Connection: close"; done
		fi
	done
}

# Where the CPU goes in each profiled path while one iperf3 stream runs
# client -> service: perf(1) on the processes that carry the path, the top
# symbols by self time.  Off in QUICK runs unless BENCH_PROFILE=1.
profile_phase() {
	local path pids
	have perf && [ -n "$S_IPERF" ] || { note "profile: perf or iperf3 missing"; return 0; }
	for path in $PROFILE_PATHS; do
		[[ " $PATHS " == *" $path "* ]] && [ -n "${TPIDS[$path]:-}" ] || continue
		pids=$(echo ${TPIDS[$path]} | tr ' ' ',')
		start "perf-$path" perf record -F 499 -g -o "$W/perf-$path.data" \
		    -p "$pids" -- sleep $((IPERF_T + 1))
		local pp=$LAST
		sleep 0.3
		timeout -k 2 $((IPERF_T + 20)) iperf3 -c 127.0.0.1 -p "${PORT[$path.iperf]}" \
		    -t "$IPERF_T" --connect-timeout 3000 >>"$W/iperf-client.log" 2>&1
		wait "$pp" 2>/dev/null
		forget "$pp"
		timeout 120 perf report -i "$W/perf-$path.data" --stdio --no-children \
		    --sort comm,dso,symbol --percent-limit 1 -g none 2>/dev/null |
		    grep -v '^#' | grep -v '^ *$' | sed -E 's/( +-)+ *$//; s/ +$//' |
		    head -n 40 >"$W/profile-$path.txt"
		[ -s "$W/profile-$path.txt" ] || note "profile $path: perf recorded nothing"
		say "profile of $path in $W/profile-$path.txt"
	done
}

write_meta() {
	local commit dirty
	commit=$(git -C "$TOP" rev-parse --short HEAD 2>/dev/null || echo unknown)
	dirty=$(git -C "$TOP" status --porcelain --untracked-files=no 2>/dev/null | head -c1)
	[ -n "$dirty" ] && commit="$commit (with uncommitted changes)"
	{
		echo "date=$(date -u '+%Y-%m-%d %H:%M UTC')"
		echo "mode=$MODE"
		echo "reps=$REPS"
		echo "nproc=$(nproc)"
		echo "cpu=$(sed -n 's/^model name[^:]*: *//p' /proc/cpuinfo | head -n1)"
		echo "kernel=$(uname -r)"
		echo "commit=$commit"
		echo "load_start=$LOAD_START"
		echo "load_end=$(cut -d' ' -f1-3 /proc/loadavg)"
		echo "paths=$PATHS"
		echo "iperf_t=$IPERF_T"
		echo "rtt_n=$RTT_N"
		echo "lrtt_t=$LRTT_T"
		echo "conn_t=$CONN_T"
		echo "http_t=$HTTP_T"
		echo "hold=$HOLD_COUNTS"
		echo "openssh=$(ssh -V 2>&1 | cut -d, -f1)"
		echo "stunnel=$( (stunnel4 -version 2>&1 || stunnel -version 2>&1) | sed -n 's/^stunnel \([0-9.]*\).*/\1/p' | head -n1)"
		echo "profile_dir=$W"
		echo "profile_paths=$PROFILE_PATHS"
		echo "elapsed=$SECONDS"
	} >"$W/meta"
}

main() {
	LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
	say "mode $MODE, $REPS repetition(s), work dir $W"
	install_missing
	have python3 || { say "python3 is required"; exit 1; }
	build_tools
	raise_fd_limit
	start_services
	setup_paths
	REP=1
	[ -n "$HOLD_COUNTS" ] && group mem && mem_phase
	run_reps
	[ -n "$PROFILE" ] && profile_phase
	write_meta
	mkdir -p "$(dirname "$OUT")"
	python3 "$HERE/table.py" "$W/meta" "$RESULTS" "$NOTES" "$OUT" ||
	    { say "table failed"; exit 1; }
	say "table written to $OUT (${SECONDS}s)"
}

if [ -n "${WAN:-}" ] && [ "$WAN" != 0 ]; then
	. "$HERE/bench_wan.sh"
	wan_main "$@"
	exit
fi
main "$@"
