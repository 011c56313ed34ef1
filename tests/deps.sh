#!/bin/sh
# Install the Debian packages atlax needs to build and test, only those that
# are missing, after saying which.  Runs apt-get as root, or through sudo
# when we are not root.  DEPS_DRY_RUN=1 lists what is missing and installs
# nothing (exit 1 when something is missing).  DEPS_EXTRA="pkg ..." adds
# packages a single make target needs beyond these (soak-wan: iperf3).
#
# System services are never stopped, disabled or reconfigured here.  Debian
# starts smbd when the samba package is installed; the tests run their own
# smbd with their own configuration, state folders and a free port, so a
# system smbd on 139/445 is no obstacle.
set -eu

# Why each package is here:
#   gcc make pkg-config libssl-dev libevent-dev libyaml-dev   the build
#   check                   unit tests
#   openssl curl python3 procps iproute2   end-to-end tests (ss, ps, HTTP)
#   clang libclang-rt-14-dev   fuzz targets (libFuzzer)
#   samba smbclient         regress/samba.sh
#   mandoc                  regress/install.sh lints the man pages
#   systemd                 regress/install.sh scores the units with
#                           systemd-analyze (nothing is started)
#   redis-server redis-tools   regress/private.sh: a real client (redis-cli)
#                           through `atlax-agent connect` to a redis-server
#                           the script starts on a free port (Debian also
#                           starts its own on 6379; it is left alone)
#   prometheus              regress/admin.sh checks /metrics with promtool
#                           (Debian enables its service on install; the
#                           tests never use it)
PKGS="gcc make pkg-config libssl-dev libevent-dev libyaml-dev check openssl
clang libclang-rt-14-dev curl python3 samba smbclient procps iproute2 mandoc
systemd libjansson-dev jq redis-server redis-tools prometheus
${DEPS_EXTRA:-}"

missing=""
for p in $PKGS; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$st" in
	*"install ok installed"*) ;;
	*) missing="$missing $p" ;;
	esac
done
[ -z "$missing" ] && exit 0

echo "deps: missing Debian packages:$missing"
if [ -n "${DEPS_DRY_RUN:-}" ]; then
	echo "deps: DEPS_DRY_RUN is set, nothing installed"
	exit 1
fi
if [ "$(id -u)" -eq 0 ]; then
	SUDO=""
elif command -v sudo >/dev/null 2>&1; then
	SUDO="sudo"
else
	echo "deps: need root or sudo to install:$missing" >&2
	exit 1
fi
echo "deps: installing them with: ${SUDO:+$SUDO }apt-get install --no-install-recommends$missing"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
echo "deps: done"
