#!/bin/sh
# Builds a Debian package of alicedb-agent and the alicedb CLI (release, Swift runtime linked
# statically), with the systemd unit and a default configuration in /etc/alicedb/agent.toml;
# with "cloud" (or "all") also one of alicedb-cloud with its unit and /etc/alicedb/cloud.toml.
# Usage: packaging/build-deb.sh [VERSION] [agent|cloud|all]
#   -> build/alicedb_VERSION_ARCH.deb, build/alicedb-cloud_VERSION_ARCH.deb
set -eu
cd "$(dirname "$0")/.."
version="${1:-0.1.0}"
which="${2:-agent}"
arch="$(dpkg --print-architecture)"
scripts/setup.sh debug alicedb >/dev/null 2>&1 || true
if [ "$which" = cloud ] || [ "$which" = all ]; then
    swift build -c release --static-swift-stdlib --product alicedb-cloud >&2
    bindir="$(swift build -c release --static-swift-stdlib --show-bin-path)"
    root="build/deb/alicedb-cloud_${version}_${arch}"
    rm -rf "$root"
    mkdir -p "$root/DEBIAN" "$root/usr/bin" "$root/usr/share/doc/alicedb-cloud" "$root/etc/alicedb" "$root/lib/systemd/system"
    install -m 0755 "$bindir/alicedb-cloud" "$root/usr/bin/alicedb-cloud"
    strip "$root/usr/bin/alicedb-cloud" 2>/dev/null || true
    # The tokens live here: root-only; the unit hands it to its dynamic user with LoadCredential.
    sed 's|^path = .*|path = "/var/lib/alicedb-cloud"|' examples/cloud.toml > "$root/etc/alicedb/cloud.toml"
    chmod 0640 "$root/etc/alicedb/cloud.toml"
    install -m 0644 packaging/alicedb-cloud.service "$root/lib/systemd/system/alicedb-cloud.service"
    echo "/etc/alicedb/cloud.toml" > "$root/DEBIAN/conffiles"
    printf '#!/bin/sh\nset -e\nif [ "$1" = configure ] && command -v systemctl >/dev/null 2>&1; then systemctl daemon-reload >/dev/null 2>&1 || true; fi\n' > "$root/DEBIAN/postinst"
    printf '#!/bin/sh\nset -e\nif [ "$1" = remove ] && command -v systemctl >/dev/null 2>&1; then systemctl stop alicedb-cloud.service >/dev/null 2>&1 || true; fi\n' > "$root/DEBIAN/prerm"
    chmod 0755 "$root/DEBIAN/postinst" "$root/DEBIAN/prerm"
    install -m 0644 README.md docs/cloud.md docs/format.md "$root/usr/share/doc/alicedb-cloud/"
    size="$(du -sk "$root/usr" | cut -f1)"
    cat > "$root/DEBIAN/control" <<CONTROL
Package: alicedb-cloud
Version: $version
Architecture: $arch
Maintainer: ALICE-DB developers <alicedb@localhost>
Depends: liblzma5, libc6, libstdc++6, libgcc-s1
Installed-Size: $size
Section: database
Priority: optional
Description: ALICE-DB cloud node: collects gateways' model segments, answers queries
 alicedb-cloud receives verified segments from alicedb-agent gateways over HTTP(S)
 (per-gateway tokens, idempotent), stores them once per gateway and answers scans,
 aggregates and downsamples as JSON or CSV, and Grafana through a Prometheus API.
CONTROL
    dpkg-deb --root-owner-group --build "$root" "build/alicedb-cloud_${version}_${arch}.deb" >&2
    echo "build/alicedb-cloud_${version}_${arch}.deb"
    [ "$which" = cloud ] && exit 0
fi
swift build -c release --static-swift-stdlib --product alicedb >&2
swift build -c release --static-swift-stdlib --product alicedb-agent >&2
bindir="$(swift build -c release --static-swift-stdlib --show-bin-path)"
root="build/deb/alicedb_${version}_${arch}"
rm -rf "$root"
mkdir -p "$root/DEBIAN" "$root/usr/bin" "$root/usr/share/doc/alicedb" "$root/etc/alicedb" "$root/lib/systemd/system"
for b in alicedb alicedb-agent; do
    install -m 0755 "$bindir/$b" "$root/usr/bin/$b"
    strip "$root/usr/bin/$b" 2>/dev/null || true
done
# The default configuration: the example with the packaged data directory.
sed 's|^path = .*|path = "/var/lib/alicedb"|' examples/agent.toml > "$root/etc/alicedb/agent.toml"
install -m 0644 packaging/alicedb-agent.service "$root/lib/systemd/system/alicedb-agent.service"
echo "/etc/alicedb/agent.toml" > "$root/DEBIAN/conffiles"
cat > "$root/DEBIAN/postinst" <<'POSTINST'
#!/bin/sh
set -e
if [ "$1" = configure ] && command -v systemctl >/dev/null 2>&1; then
    systemctl daemon-reload >/dev/null 2>&1 || true
    systemctl enable alicedb-agent.service >/dev/null 2>&1 || true
fi
POSTINST
cat > "$root/DEBIAN/prerm" <<'PRERM'
#!/bin/sh
set -e
if [ "$1" = remove ] && command -v systemctl >/dev/null 2>&1; then
    systemctl stop alicedb-agent.service >/dev/null 2>&1 || true
fi
PRERM
chmod 0755 "$root/DEBIAN/postinst" "$root/DEBIAN/prerm"
install -m 0644 README.md docs/format.md docs/semantics.md "$root/usr/share/doc/alicedb/"
size="$(du -sk "$root/usr" | cut -f1)"
cat > "$root/DEBIAN/control" <<CONTROL
Package: alicedb
Version: $version
Architecture: $arch
Maintainer: ALICE-DB developers <alicedb@localhost>
Depends: liblzma5, libmosquitto1, libc6, libstdc++6, libgcc-s1
Installed-Size: $size
Section: database
Priority: optional
Description: model-based time-series store for sensor data: gateway agent and CLI
 alicedb-agent subscribes to MQTT sensor topics and stores verified model segments
 with a per-series error bound (0 = lossless) under a hard memory budget; alicedb
 imports/exports CSV, queries, aggregates, downsamples, inspects and verifies.
CONTROL
dpkg-deb --root-owner-group --build "$root" "build/alicedb_${version}_${arch}.deb" >&2
echo "build/alicedb_${version}_${arch}.deb"
