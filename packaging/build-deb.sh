#!/bin/sh
# Builds a Debian package of the alicedb CLI (release, Swift runtime linked statically).
# Usage: packaging/build-deb.sh [VERSION]   -> build/alicedb_VERSION_ARCH.deb
# (The gateway agent and its systemd unit join this package with the agent issue.)
set -eu
cd "$(dirname "$0")/.."
version="${1:-0.1.0}"
arch="$(dpkg --print-architecture)"
scripts/setup.sh debug >/dev/null 2>&1 || true
swift build -c release --static-swift-stdlib --product alicedb >&2
bin="$(swift build -c release --static-swift-stdlib --show-bin-path)/alicedb"
root="build/deb/alicedb_${version}_${arch}"
rm -rf "$root"
mkdir -p "$root/DEBIAN" "$root/usr/bin" "$root/usr/share/doc/alicedb"
install -m 0755 "$bin" "$root/usr/bin/alicedb"
strip "$root/usr/bin/alicedb" 2>/dev/null || true
install -m 0644 README.md docs/format.md docs/semantics.md "$root/usr/share/doc/alicedb/"
size="$(du -sk "$root/usr" | cut -f1)"
cat > "$root/DEBIAN/control" <<CONTROL
Package: alicedb
Version: $version
Architecture: $arch
Maintainer: ALICE-DB developers <alicedb@localhost>
Depends: liblzma5, libc6, libstdc++6, libgcc-s1
Installed-Size: $size
Section: database
Priority: optional
Description: model-based time-series store for sensor data (CLI)
 Stores verified model segments with a per-series error bound (0 = lossless);
 import/export CSV, query, aggregate, downsample, inspect, verify and benchmark.
CONTROL
dpkg-deb --root-owner-group --build "$root" "build/alicedb_${version}_${arch}.deb" >&2
echo "build/alicedb_${version}_${arch}.deb"
