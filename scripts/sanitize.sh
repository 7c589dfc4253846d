#!/bin/sh
# The test suite under a sanitizer (docs/reliability.md, "Sanitizers"; issue 24, item 3).
#
#   scripts/sanitize.sh address|thread [FILTER]   build the tests with the sanitizer, run them
#   scripts/sanitize.sh address --build            build only
#
# Each sanitizer builds into its own scratch path (.build-asan, .build-tsan), so the ordinary
# .build is untouched; a fresh one starts from .build's dependency checkouts (no network).
# FILTER (a `swift test --filter` pattern) picks suites; by default the format, engine and config
# suites (docs/reliability.md says what else was run and what is left out, and why).
# Suppressions, each with its reason, are in scripts/sanitizers/ (lsan.supp; tsan.supp if one is needed).
set -eu
cd "$(dirname "$0")/.."
kind="${1:-}"
case "$kind" in
address) scratch=.build-asan ;;
thread) scratch=.build-tsan ;;
*)
    sed -n '4,5p' "$0" | sed 's/^# *//' >&2
    exit 2
    ;;
esac
shift
scripts/apt-install.sh liblzma-dev zlib1g-dev pkg-config libmosquitto-dev mosquitto >&2
if [ ! -d "$scratch/checkouts" ] && [ -d .build/checkouts ]; then
    mkdir -p "$scratch"
    cp -a .build/checkouts .build/repositories .build/workspace-state.json "$scratch/" 2>/dev/null || true
fi
# A sanitizer's report, not the Swift backtracer, must say what happened and where.
export SWIFT_BACKTRACE=enable=no
# Leaks are not checked at exit by default (ALICEDB_LSAN=1 checks them): the crash tests leak their
# Database on purpose (Unmanaged.passRetained stands for a process that died), and TOMLKit leaks the
# strings and tables of every parse; docs/reliability.md has the figures.
export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=1:halt_on_error=1:detect_leaks=${ALICEDB_LSAN:-0}}"
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$PWD/scripts/sanitizers/lsan.supp:print_suppressions=0}"
supp=""
[ -f scripts/sanitizers/tsan.supp ] && supp=":suppressions=$PWD/scripts/sanitizers/tsan.supp"
export TSAN_OPTIONS="${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1$supp}"
swift build --build-tests --scratch-path "$scratch" --manifest-cache local --sanitize="$kind" >&2
[ "${1:-}" = --build ] && exit 0
# The format, engine and config suites by default; the agent, MQTT and cloud suites start brokers,
# processes, PostgreSQL and Prometheus and take longest (pass a FILTER to run them).
filter="${1:-AliceFormatTests\.|AliceDBTests\.|TOMLConfigTests\.}"
swift test --skip-build --scratch-path "$scratch" --manifest-cache local --sanitize="$kind" --filter "$filter"
