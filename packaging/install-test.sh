#!/bin/sh
# Install test of the Debian packages, as an administrator would meet them:
#  1. build both (packaging/build-deb.sh VERSION all);
#  2. lintian: no error and no warning (each one fixed, or overridden in packaging/lintian/ with its reason);
#  3. a fresh Debian 12 root from debootstrap: dpkg -i both, apt-get -f install for their dependencies;
#  4. there: alicedb-agent --config /etc/alicedb/agent.toml --check, alicedb-cloud ... --check,
#     alicedb --help, man alicedb-agent, the completions, the enabled units;
#  5. an upgrade (dpkg -i over the installed packages), remove (configuration and state stay), then
#     purge (both go) and list every file the root has then that it did not have before the install:
#     only what Debian policy allows may be left. Stubs of systemctl and deb-systemd-invoke record
#     what the maintainer scripts ask of systemd at each step (start, restart, stop).
# Usage (as root): packaging/install-test.sh [VERSION]
# The pristine root is cached as a tarball in ALICEDB_TEST_CACHE (default /var/cache/alicedb-install-test),
# so only the first run downloads; every run unpacks a fresh copy and unmounts and deletes it at the end.
# ALICEDB_SKIP_BUILD=1 tests the .debs already in build/ (built by packaging/build-deb.sh VERSION all).
# ALICEDB_MIRROR: the Debian mirror (default http://deb.debian.org/debian).
set -eu
cd "$(dirname "$0")/.."
[ "$(id -u)" -eq 0 ] || {
    echo "install-test.sh: run as root (debootstrap, chroot, mounts)" >&2
    exit 2
}
version="${1:-$(sed -n '1s/^[^(]*(\([^)]*\)).*/\1/p' packaging/changelog)}"
arch="$(dpkg --print-architecture)"
cache="${ALICEDB_TEST_CACHE:-/var/cache/alicedb-install-test}"
mirror="${ALICEDB_MIRROR:-http://deb.debian.org/debian}"
suite=bookworm

step() { printf '\n=== %s\n' "$*"; }
fail() {
    printf 'FAIL: %s\n' "$*"
    exit 1
}

scripts/apt-install.sh lintian debootstrap

debs="build/alicedb_${version}_${arch}.deb build/alicedb-cloud_${version}_${arch}.deb"
if [ "${ALICEDB_SKIP_BUILD:-0}" != 1 ]; then
    step "build: packaging/build-deb.sh $version all"
    packaging/build-deb.sh "$version" all
fi
for deb in $debs; do [ -f "$deb" ] || fail "$deb is missing"; done

step "lintian $debs"
# As root lintian says so on stderr; its findings are on stdout. Overrides are shown (O:) with their reason.
lintian_out="$(lintian --display-info --show-overrides $debs 2>/dev/null || true)"
printf '%s\n' "$lintian_out"
for deb in $debs; do
    p="$(dpkg-deb -f "$deb" Package)"
    errors="$(printf '%s\n' "$lintian_out" | grep -c "^E: $p[: ]" || true)"
    warnings="$(printf '%s\n' "$lintian_out" | grep -c "^W: $p[: ]" || true)"
    infos="$(printf '%s\n' "$lintian_out" | grep -c "^I: $p[: ]" || true)"
    overridden="$(printf '%s\n' "$lintian_out" | grep -c "^O: $p[: ]" || true)"
    echo "lintian summary $p: $errors errors, $warnings warnings, $infos info, $overridden overridden"
    [ "$errors" -eq 0 ] && [ "$warnings" -eq 0 ] || lintian_failed=1
done
[ -z "${lintian_failed:-}" ] || fail "lintian reports errors or warnings"

step "fresh Debian root ($suite, debootstrap --variant=minbase --include=man-db)"
tarball="$cache/$suite-$arch-minbase.tar"
mkdir -p "$cache"
if [ ! -f "$tarball" ]; then
    rm -rf "$cache/bootstrap"
    debootstrap --variant=minbase --include=man-db "$suite" "$cache/bootstrap" "$mirror" > "$cache/debootstrap.log" 2>&1 ||
        fail "debootstrap (log: $cache/debootstrap.log)"
    tar -C "$cache/bootstrap" -cf "$tarball.part" . && mv "$tarball.part" "$tarball"
    rm -rf "$cache/bootstrap"
    echo "cached $tarball"
else
    echo "cached root: $tarball"
fi
work="$(mktemp -d "$cache/run.XXXXXX")"
target="$work/root"
mkdir "$target"
mounted=""
cleanup() {
    for m in $mounted; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true; done
    # Only once nothing is mounted below it any more.
    grep -q " $work/" /proc/mounts || rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
tar -C "$target" -xf "$tarball"
# /dev/pts first: cleanup unmounts in reverse order of this list.
mount --bind /dev "$target/dev" && mounted="$target/dev $mounted"
mount -t devpts devpts "$target/dev/pts" -o newinstance,ptmxmode=0666 && mounted="$target/dev/pts $mounted"
mount -t proc proc "$target/proc" && mounted="$target/proc $mounted"
cp /etc/resolv.conf "$target/etc/resolv.conf"
path=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
in_root() { chroot "$target" env -i PATH="$path" LANG=C.UTF-8 HOME=/root DEBIAN_FRONTEND=noninteractive "$@"; }
# apt runs dpkg with its own PATH (DPkg::Path, without /usr/local): give it ours, for the stubs below.
apt_get() { in_root apt-get -o DPkg::Path="$path" "$@"; }
apt_get update -qq
# Files of the root before the install, for the comparison after the purge.
listing() {
    (cd "$target" && find . -xdev \( -path ./proc -o -path ./dev -o -path ./tmp -o -path ./run \) -prune -o -print) |
        sort
}
listing > "$work/before"

# No systemd runs in the root, so the maintainer scripts would skip starting and stopping. Make them
# believe it does (/run/systemd/system) and log what they ask of it: stubs of systemctl and
# deb-systemd-invoke in /usr/local/sbin (deb-systemd-helper is the real one). Gone before the purge check.
mkdir -p "$target/run/systemd/system"
for tool in systemctl deb-systemd-invoke; do
    printf '#!/bin/sh\necho "%s $*" >> /run/systemd-calls\n' "$tool" > "$target/usr/local/sbin/$tool"
    chmod 0755 "$target/usr/local/sbin/$tool"
done
# calls PHASE PATTERN...: print the calls the maintainer scripts made since the last phase; each PATTERN
# (a whole line) must be among them.
calls() {
    phase="$1"
    shift
    touch "$target/run/systemd-calls"
    echo "systemd calls of the maintainer scripts ($phase):"
    sed 's/^/  /' "$target/run/systemd-calls"
    for want in "$@"; do
        grep -q -x -F -- "$want" "$target/run/systemd-calls" || fail "$phase: no \"$want\""
    done
    mv "$target/run/systemd-calls" "$target/run/systemd-calls.$phase"
}

step "install: dpkg -i, then apt-get -f install"
cp $debs "$target/tmp/"
in_root sh -c 'dpkg -i /tmp/*.deb' || echo "(dpkg -i left dependencies to apt-get -f install)"
apt_get -f install -y -q --no-install-recommends
for p in alicedb alicedb-cloud; do
    status="$(in_root dpkg-query -W -f='${Status} ${Version}' "$p")"
    echo "$p: $status"
    case "$status" in "install ok installed $version") ;; *) fail "$p is not installed" ;; esac
done
echo "Depends: $(dpkg-deb -f build/alicedb_${version}_${arch}.deb Depends)"
echo "Depends (cloud): $(dpkg-deb -f build/alicedb-cloud_${version}_${arch}.deb Depends)"
if in_root sh -c 'ldd /usr/bin/alicedb /usr/bin/alicedb-agent /usr/bin/alicedb-cloud' | grep 'not found'; then
    fail "a library is missing"
fi
echo "every library the binaries need is there (ldd)"
calls install "deb-systemd-invoke start alicedb-agent.service"
grep -q 'alicedb-cloud' "$target/run/systemd-calls.install" && fail "alicedb-cloud was started on installation"
echo "alicedb-agent started, alicedb-cloud (example tokens) not"

step "upgrade: dpkg -i over the installed packages"
in_root sh -c 'dpkg -i /tmp/*.deb'
calls upgrade "deb-systemd-invoke restart alicedb-agent.service" "deb-systemd-invoke try-restart alicedb-cloud.service"
grep -q ' stop ' "$target/run/systemd-calls.upgrade" && fail "an upgrade stopped a service"

step "run: alicedb-agent --config /etc/alicedb/agent.toml --check"
in_root alicedb-agent --config /etc/alicedb/agent.toml --check || fail "agent --check"
step "run: alicedb-cloud --config /etc/alicedb/cloud.toml --check"
in_root alicedb-cloud --config /etc/alicedb/cloud.toml --check || fail "cloud --check"
step "run: alicedb --help"
in_root alicedb --help || fail "alicedb --help"
step "run: man alicedb-agent"
in_root sh -c 'MANWIDTH=80 man -P cat alicedb-agent' > "$work/man" || fail "man alicedb-agent"
cat "$work/man"
grep -q -- '--config' "$work/man" || fail "the manual page does not document --config"
for page in alicedb alicedb-cloud; do
    in_root man -w "$page" || fail "no manual page $page"
done
step "completions and units"
for b in alicedb alicedb-agent alicedb-cloud; do
    for f in /usr/share/bash-completion/completions/$b /usr/share/zsh/vendor-completions/_$b \
        /usr/share/fish/vendor_completions.d/$b.fish; do
        [ -s "$target$f" ] || fail "missing $f"
    done
done
echo "bash, zsh and fish completions for alicedb, alicedb-agent, alicedb-cloud"
in_root bash -c '. /usr/share/bash-completion/completions/alicedb-agent && complete -p alicedb-agent' ||
    fail "the bash completion does not load"
for unit in alicedb-agent alicedb-cloud; do
    link="/etc/systemd/system/multi-user.target.wants/$unit.service"
    [ -L "$target$link" ] || fail "$unit.service is not enabled"
    echo "enabled by deb-systemd-helper: $link -> $(readlink "$target$link")"
done

step "remove: configuration and state stay"
# What the services would have made: StateDirectory= with DynamicUser=yes. /var/lib/private itself is
# systemd's (no package owns it); the test makes it here and deletes it after the purge if empty.
[ -d "$target/var/lib/private" ] || made_private=1
for s in alicedb alicedb-cloud; do
    mkdir -p "$target/var/lib/private/$s"
    [ -e "$target/var/lib/$s" ] || ln -s "private/$s" "$target/var/lib/$s"
    touch "$target/var/lib/private/$s/data" "$target/var/lib/$s/data-seen-through-the-link"
done
apt_get remove -y -q alicedb alicedb-cloud
calls remove "deb-systemd-invoke stop alicedb-agent.service" "deb-systemd-invoke stop alicedb-cloud.service"
for f in /etc/alicedb/agent.toml /etc/alicedb/cloud.toml /var/lib/private/alicedb/data /var/lib/private/alicedb-cloud/data; do
    [ -e "$target$f" ] || fail "remove deleted $f"
done
echo "kept: /etc/alicedb/agent.toml /etc/alicedb/cloud.toml /var/lib/alicedb /var/lib/alicedb-cloud"

step "purge (and the dependencies apt-get -f install brought)"
apt_get purge -y -q alicedb alicedb-cloud
apt_get autoremove --purge -y -q
calls purge
rm -f "$target/usr/local/sbin/systemctl" "$target/usr/local/sbin/deb-systemd-invoke"
for s in alicedb alicedb-cloud; do
    [ ! -e "$target/var/lib/$s" ] && [ ! -L "$target/var/lib/$s" ] || fail "purge left /var/lib/$s"
    [ ! -e "$target/var/lib/private/$s" ] || fail "purge left /var/lib/private/$s"
done
[ ! -e "$target/etc/alicedb" ] || fail "purge left /etc/alicedb"
echo "purged: /etc/alicedb, /var/lib/alicedb, /var/lib/alicedb-cloud and their data in /var/lib/private"
[ -z "${made_private:-}" ] || rmdir "$target/var/lib/private"
listing > "$work/after"
# Left on purpose by Debian policy and its tools: logs, dpkg's and apt's databases and caches, man-db's
# index cache (rebuilt by its own trigger), debconf's cache.
allowed='^\./var/(log|lib/dpkg|lib/apt|cache/apt|cache/man|cache/debconf)(/|$)'
left="$(comm -13 "$work/before" "$work/after" | grep -E -v "$allowed" || true)"
gone="$(comm -23 "$work/before" "$work/after" | grep -E -v "$allowed" || true)"
echo "new files since before the install, outside logs and package databases: ${left:-none}"
echo "files gone since before the install: ${gone:-none}"
echo "left in allowed places:"
comm -13 "$work/before" "$work/after" | grep -E "$allowed" | sed 's/^/  /' || true
[ -z "$left" ] || fail "the purge left files behind"
[ -z "$gone" ] || fail "the install or purge deleted files it did not own"
in_root dpkg-query -W alicedb alicedb-cloud 2>/dev/null && fail "dpkg still knows the packages"

step "PASS: build, lintian, install, --check, --help, man, upgrade, remove, purge"
