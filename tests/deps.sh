#!/bin/sh
# Install the Debian packages atlax needs to build and test, only those that are
# missing.  Runs apt-get as root, or through sudo when we are not root.
set -eu

PKGS="gcc make pkg-config libssl-dev libevent-dev libyaml-dev check openssl
clang libclang-rt-14-dev curl python3 samba smbclient procps iproute2"

missing=""
for p in $PKGS; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$st" in
	*"install ok installed"*) ;;
	*) missing="$missing $p" ;;
	esac
done
[ -z "$missing" ] && exit 0

echo "deps: installing:$missing"
if [ "$(id -u)" -eq 0 ]; then
	SUDO=""
elif command -v sudo >/dev/null 2>&1; then
	SUDO="sudo"
else
	echo "deps: need root or sudo to install:$missing" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
# Debian starts smbd/nmbd when samba is installed; our tests run their own smbd.
for s in smbd nmbd samba-ad-dc; do
	$SUDO systemctl disable --now "$s" >/dev/null 2>&1 || true
done
echo "deps: done"
