#!/bin/sh
# Builds Debian packages of ALICE-DB (release, Swift runtime linked statically):
#   agent (default): alicedb      alicedb-agent and the alicedb CLI, the agent's systemd unit and
#                                  /etc/alicedb/agent.toml
#   cloud:           alicedb-cloud alicedb-cloud, its unit and a root-only /etc/alicedb/cloud.toml
#   all:             both
# Each has manual pages and bash/zsh/fish completions generated from the commands' ArgumentParser
# definitions, Depends computed by dpkg-shlibdeps from the binaries, the DEP-5 copyright file
# (packaging/copyright), changelog.gz (packaging/changelog) and maintainer scripts as dh_installsystemd
# writes them (packaging/maintscripts). Check the result with lintian; packaging/install-test.sh
# builds, checks, installs into a fresh Debian root and purges.
# Usage: packaging/build-deb.sh [VERSION] [agent|cloud|all]
#   -> build/alicedb_VERSION_ARCH.deb, build/alicedb-cloud_VERSION_ARCH.deb (their paths on stdout)
# The Maintainer field (and a changelog entry made for a VERSION packaging/changelog lacks) comes from
# DEBFULLNAME and DEBEMAIL, as for dch; without them it is the placeholder of packaging/changelog.
set -eu
cd "$(dirname "$0")/.."
top_version="$(sed -n '1s/^[^(]*(\([^)]*\)).*/\1/p' packaging/changelog)"
version="${1:-$top_version}"
which="${2:-agent}"
case "$which" in
agent | cloud | all) ;;
*)
    echo "usage: packaging/build-deb.sh [VERSION] [agent|cloud|all]" >&2
    exit 2
    ;;
esac
arch="$(dpkg --print-architecture)"
placeholder="$(sed -n '0,/^ -- /s/^ -- \(.*>\)  .*/\1/p' packaging/changelog)"
if [ -n "${DEBEMAIL:-}" ]; then
    maintainer="${DEBFULLNAME:-ALICE-DB developers} <$DEBEMAIL>"
else
    maintainer="$placeholder"
fi
# File times in the packages, the manual pages' date and a generated changelog entry's: the last commit's.
SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}"
export SOURCE_DATE_EPOCH

# What the build and dpkg-shlibdeps need (the -dev packages give the linker its libraries).
scripts/apt-install.sh liblzma-dev zlib1g-dev pkg-config libmosquitto-dev dpkg-dev

products="alicedb alicedb-agent"
[ "$which" = cloud ] && products="alicedb-cloud"
[ "$which" = all ] && products="alicedb alicedb-agent alicedb-cloud"
for product in $products; do
    swift build -c release --static-swift-stdlib --product "$product" >&2
done
bindir="$(swift build -c release --static-swift-stdlib --show-bin-path)"

# swift-argument-parser's manual generator: its generate-manual plugin builds the tool (and, asked for
# --help only, nothing else); the tool runs a program with --experimental-dump-help and writes mdoc.
swift package plugin generate-manual --help >/dev/null
manual_tool="$(find .build -path '*/debug/generate-manual-tool' -type f -perm -u+x | head -n 1)"
[ -n "$manual_tool" ] || {
    echo "build-deb.sh: the generate-manual tool was not built" >&2
    exit 1
}
manual_date="$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%d)"

# The changelog: packaging/changelog, with an entry for VERSION on top if it has none.
changelog="build/deb/changelog"
mkdir -p build/deb
if [ "$version" = "$top_version" ]; then
    cp packaging/changelog "$changelog"
else
    commit="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
    {
        printf 'alicedb (%s) unstable; urgency=medium\n\n' "$version"
        printf '  * Built from git commit %s.\n\n' "$commit"
        printf ' -- %s  %s\n\n' "$maintainer" "$(date -u -R -d "@$SOURCE_DATE_EPOCH")"
        cat packaging/changelog
    } > "$changelog"
fi

# stage ROOT PACKAGE BINARY...: the binaries, their manual pages and completions, copyright, changelog.
stage() {
    root="$1" package="$2"
    shift 2
    rm -rf "$root"
    mkdir -p "$root/DEBIAN" "$root/usr/bin" "$root/usr/share/doc/$package" "$root/usr/share/man/man1" \
        "$root/usr/share/bash-completion/completions" "$root/usr/share/zsh/vendor-completions" \
        "$root/usr/share/fish/vendor_completions.d" "$root/etc/alicedb" "$root/lib/systemd/system"
    for b in "$@"; do
        install -m 0755 "$bindir/$b" "$root/usr/bin/$b"
        strip --remove-section=.comment --remove-section=.note "$root/usr/bin/$b"
        "$manual_tool" "$bindir/$b" --date "$manual_date" --output-directory "$root/usr/share/man/man1"
        gzip -9n "$root/usr/share/man/man1/$b.1"
        # bash-completion sources the file: no #! line (lintian: bash-completion-with-hashbang).
        "$bindir/$b" --generate-completion-script bash | sed '1{/^#!/d}' > "$root/usr/share/bash-completion/completions/$b"
        "$bindir/$b" --generate-completion-script zsh > "$root/usr/share/zsh/vendor-completions/_$b"
        "$bindir/$b" --generate-completion-script fish > "$root/usr/share/fish/vendor_completions.d/$b.fish"
    done
    chmod 0644 "$root"/usr/share/man/man1/* "$root"/usr/share/*/*completion*/*
    install -m 0644 packaging/copyright "$root/usr/share/doc/$package/copyright"
    # A native version (no Debian revision) has changelog.gz, a non-native one changelog.Debian.gz.
    case "$version" in
    *-*) gzip -9n < "$changelog" > "$root/usr/share/doc/$package/changelog.Debian.gz" ;;
    *) gzip -9n < "$changelog" > "$root/usr/share/doc/$package/changelog.gz" ;;
    esac
    chmod 0644 "$root/usr/share/doc/$package"/changelog*
    if [ -f "packaging/lintian/$package" ]; then
        mkdir -p "$root/usr/share/lintian/overrides"
        install -m 0644 "packaging/lintian/$package" "$root/usr/share/lintian/overrides/$package"
    fi
}

# maintscripts ROOT PACKAGE UNIT STATEDIR start|nostart: postinst, prerm, postrm from packaging/maintscripts,
# the unit started on installation or not (postinst-start, postinst-nostart).
maintscripts() {
    for script in postinst prerm postrm; do
        sed -e "/^#START#\$/{r packaging/maintscripts/postinst-$5" -e "d}" "packaging/maintscripts/$script" |
            sed -e "s|#PACKAGE#|$2|g" -e "s|#UNITFILE#|$3|g" -e "s|#STATEDIR#|$4|g" > "$1/DEBIAN/$script"
        chmod 0755 "$1/DEBIAN/$script"
    done
}

# shlibdeps ROOT: the Depends value dpkg-shlibdeps computes from the ELF files in ROOT/usr/bin.
shlibdeps() {
    work="$(mktemp -d)"
    mkdir "$work/debian"
    printf 'Source: alicedb\n\nPackage: alicedb\nArchitecture: any\n' > "$work/debian/control"
    abs="$(cd "$1" && pwd)"
    (cd "$work" && dpkg-shlibdeps -O "$abs"/usr/bin/*) | sed -n 's/^shlibs:Depends=//p'
    rm -rf "$work"
}

# control ROOT: DEBIAN/control from the fields on stdin plus Installed-Size (KiB, without DEBIAN/), and
# DEBIAN/md5sums of every file but the conffiles (as dh_md5sums writes it).
control() {
    size="$(du -sk --exclude=DEBIAN "$1" | cut -f1)"
    sed "/^Maintainer:/a Installed-Size: $size" > "$1/DEBIAN/control"
    conf="$(mktemp)"
    sed 's|^/||' "$1/DEBIAN/conffiles" > "$conf"
    (cd "$1" && find . -path ./DEBIAN -prune -o -type f -print | sed 's|^\./||' | LC_ALL=C sort |
        grep -v -x -F -f "$conf" | xargs md5sum) > "$1/DEBIAN/md5sums"
    rm "$conf"
}

if [ "$which" = cloud ] || [ "$which" = all ]; then
    root="build/deb/alicedb-cloud_${version}_${arch}"
    stage "$root" alicedb-cloud alicedb-cloud
    # The tokens live here: root-only; the unit hands it to its dynamic user with LoadCredential.
    sed 's|^path = .*|path = "/var/lib/alicedb-cloud"|' examples/cloud.toml > "$root/etc/alicedb/cloud.toml"
    chmod 0640 "$root/etc/alicedb/cloud.toml"
    install -m 0644 packaging/alicedb-cloud.service "$root/lib/systemd/system/alicedb-cloud.service"
    echo "/etc/alicedb/cloud.toml" > "$root/DEBIAN/conffiles"
    # Enabled, not started: the example tokens in cloud.toml are to be replaced first.
    maintscripts "$root" alicedb-cloud alicedb-cloud.service alicedb-cloud nostart
    install -m 0644 README.md docs/cloud.md docs/format.md "$root/usr/share/doc/alicedb-cloud/"
    control "$root" <<CONTROL
Package: alicedb-cloud
Source: alicedb
Version: $version
Architecture: $arch
Maintainer: $maintainer
Depends: $(shlibdeps "$root")
Section: database
Priority: optional
Description: ALICE-DB cloud node: gateways' model segments in, queries out
 alicedb-cloud receives verified segments from alicedb-agent gateways over
 HTTP(S) (per-gateway tokens, idempotent), stores them once per gateway and
 answers scans, aggregates and downsamples as JSON or CSV, and Grafana
 through a Prometheus API.
CONTROL
    dpkg-deb --root-owner-group -Zxz --build "$root" "build/alicedb-cloud_${version}_${arch}.deb" >&2
    echo "build/alicedb-cloud_${version}_${arch}.deb"
    [ "$which" = cloud ] && exit 0
fi

root="build/deb/alicedb_${version}_${arch}"
stage "$root" alicedb alicedb alicedb-agent
# The default configuration: the example with the packaged data directory.
sed 's|^path = .*|path = "/var/lib/alicedb"|' examples/agent.toml > "$root/etc/alicedb/agent.toml"
chmod 0644 "$root/etc/alicedb/agent.toml"
install -m 0644 packaging/alicedb-agent.service "$root/lib/systemd/system/alicedb-agent.service"
echo "/etc/alicedb/agent.toml" > "$root/DEBIAN/conffiles"
maintscripts "$root" alicedb alicedb-agent.service alicedb start
install -m 0644 README.md docs/format.md docs/semantics.md "$root/usr/share/doc/alicedb/"
control "$root" <<CONTROL
Package: alicedb
Version: $version
Architecture: $arch
Maintainer: $maintainer
Depends: $(shlibdeps "$root")
Suggests: mosquitto
Section: database
Priority: optional
Description: model-based time-series store for sensor data: gateway agent and CLI
 alicedb-agent subscribes to MQTT sensor topics and stores verified model
 segments with a per-series error bound (0 = lossless) under a hard memory
 budget; alicedb imports and exports CSV, queries, aggregates, downsamples,
 inspects and verifies.
CONTROL
dpkg-deb --root-owner-group -Zxz --build "$root" "build/alicedb_${version}_${arch}.deb" >&2
echo "build/alicedb_${version}_${arch}.deb"
