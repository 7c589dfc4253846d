#!/bin/sh
# Installs the Debian packages the build, the agent and the tests need (only those missing), then builds.
# Usage: scripts/setup.sh [debug|release] [PRODUCT ...]   (default: every product)
# ALICEDB_APT_EXTRA names more packages (the tests add postgresql for the cloud node's shared store
# and prometheus for the PromQL conformance test).
# Without recommends: prometheus would pull in prometheus-node-exporter and its collectors (smartmontools,
# ipmitool, ...), postgresql sysstat; nothing here needs them.
set -eu
cd "$(dirname "$0")/.."
scripts/apt-install.sh liblzma-dev zlib1g-dev pkg-config libmosquitto-dev mosquitto mosquitto-clients openssl \
    ${ALICEDB_APT_EXTRA:-}
config="${1:-debug}"
[ $# -gt 0 ] && shift
if [ $# -eq 0 ]; then
    swift build -c "$config" >&2
else
    for product in "$@"; do swift build -c "$config" --product "$product" >&2; done
fi
