#!/bin/sh
# Installs those of the named Debian packages that are missing (apt-get, without recommends), with
# sudo when not root; says on stderr what it installs. Shared by setup.sh and packaging/.
# Usage: scripts/apt-install.sh PACKAGE ...
set -eu
need=""
for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need="$need $pkg"
done
[ -z "$need" ] && exit 0
echo "installing:$need" >&2
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
$SUDO apt-get update -qq >&2
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $need >&2
