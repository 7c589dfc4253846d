#!/bin/sh
# Coverage-guided fuzzing of the parsers of untrusted bytes (libFuzzer; docs/reliability.md).
#
#   scripts/fuzz.sh --list              the targets
#   scripts/fuzz.sh TARGET SECONDS      build if needed, then fuzz TARGET for SECONDS
#   scripts/fuzz.sh --replay [TARGET]   run each target once over its corpus and past crashes (no fuzzing)
#   scripts/fuzz.sh --build [TARGET]    build only
#   scripts/fuzz.sh --seeds             rewrite Fuzz/corpus/ from Tests/Fixtures/datasets (commit the result)
#   scripts/fuzz.sh --ci [SECONDS]      what .ci/run does: build, replay, then fuzz each target SECONDS (20)
#
# The targets are executables of the root package that exist only when ALICEDB_FUZZ is set, built in
# release with -sanitize=fuzzer into Fuzz/.build (FUZZ_ASAN=1: also AddressSanitizer, into
# Fuzz/.build-asan), so that `swift build` and the tests never compile them. A run seeds from
# Fuzz/corpus/TARGET (committed) and keeps what it finds in Fuzz/scratch/TARGET (not committed);
# crash, timeout and out-of-memory inputs land in Fuzz/crashes/TARGET/ (commit them, fix the bug).
set -eu
cd "$(dirname "$0")/.."
targets="segment batch payload segment-file wal query agent-config cloud-config"
# The targets CI builds and fuzzes (FUZZ_CI_TARGETS overrides): those whose instrumented build fits
# its time. payload, agent-config and cloud-config link the agent or the node (NIO, BoringSSL,
# Hummingbird, PostgresNIO, all instrumented): their fresh build alone is 15+ minutes.
ci_targets="segment batch segment-file wal query"
scratch=Fuzz/.build
sanitize="--sanitize=fuzzer"
# libFuzzer, not the Swift runtime's backtracer, must catch a trap: it saves the input.
export SWIFT_BACKTRACE=enable=no
if [ "${FUZZ_ASAN:-0}" = 1 ]; then
    scratch=Fuzz/.build-asan
    sanitize="--sanitize=fuzzer --sanitize=address"
fi

usage() {
    sed -n '4,9p' "$0" | sed 's/^# *//' >&2
    exit 2
}

known() {
    for t in $targets; do [ "$t" = "$1" ] && return 0; done
    echo "fuzz.sh: no target \"$1\" (scripts/fuzz.sh --list)" >&2
    exit 2
}

# A fresh scratch path starts from the root build's dependency checkouts when there are some (no network).
build() {
    if [ ! -d "$scratch/checkouts" ] && [ -d .build/checkouts ]; then
        mkdir -p "$scratch"
        cp -a .build/checkouts .build/repositories .build/workspace-state.json "$scratch/" 2>/dev/null || true
    fi
    for t in "$@"; do
        # shellcheck disable=SC2086
        ALICEDB_FUZZ=1 swift build -c release --scratch-path "$scratch" --manifest-cache local $sanitize \
            --product "fuzz-$t" >&2
    done
}

binary() { echo "$scratch/release/fuzz-$1"; }

# libFuzzer options every run shares: a hang past 10 s or 2 GiB of memory is a finding.
options() {
    dict="Fuzz/dict/$1.dict"
    echo "-timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=2048 -print_final_stats=1"
    [ -f "$dict" ] && echo "-dict=$dict"
    return 0
}

# Each target once over its corpus and past crashes; fails if any input fails.
replay() {
    status=0
    for t in "$@"; do
        mkdir -p "Fuzz/crashes/$t" Fuzz/scratch
        echo "== $t: $(ls "Fuzz/corpus/$t" | wc -l) seeds, $(ls "Fuzz/crashes/$t" | wc -l) past crashes" >&2
        # -runs=0: run every input of the directories once, then stop. An input that fails is
        # already committed: its copy goes under Fuzz/scratch (not into a corpus a run reads, nor
        # the working tree's root).
        # shellcheck disable=SC2046
        "$(binary "$t")" $(options "$t") -runs=0 -artifact_prefix="Fuzz/scratch/replay-$t-" \
            "Fuzz/corpus/$t" "Fuzz/crashes/$t" || status=1
    done
    return $status
}

# Fuzz target $1 for $2 seconds. New inputs go to the first directory (scratch); the committed
# corpus is read, never written.
fuzz() {
    mkdir -p "Fuzz/scratch/$1" "Fuzz/crashes/$1"
    # shellcheck disable=SC2046
    "$(binary "$1")" $(options "$1") -max_total_time="$2" -artifact_prefix="Fuzz/crashes/$1/" \
        "Fuzz/scratch/$1" "Fuzz/corpus/$1"
}

case "${1:-}" in
--list)
    for t in $targets; do echo "$t"; done
    ;;
--build)
    shift
    [ $# -gt 0 ] || set -- $targets
    for t in "$@"; do known "$t"; done
    build "$@"
    ;;
--seeds)
    seeds=Fuzz/.build-seeds
    if [ ! -d "$seeds/checkouts" ] && [ -d .build/checkouts ]; then
        mkdir -p "$seeds"
        cp -a .build/checkouts .build/repositories .build/workspace-state.json "$seeds/" 2>/dev/null || true
    fi
    ALICEDB_FUZZ=1 swift build --scratch-path "$seeds" --manifest-cache local --product fuzz-seeds >&2
    "$seeds/debug/fuzz-seeds" .
    ;;
--replay)
    shift
    [ $# -gt 0 ] || set -- $targets
    for t in "$@"; do known "$t"; done
    build "$@"
    replay "$@"
    ;;
--ci)
    seconds="${2:-20}"
    # shellcheck disable=SC2086
    set -- ${FUZZ_CI_TARGETS:-$ci_targets}
    for t in "$@"; do known "$t"; done
    start=$(date +%s)
    build "$@"
    echo "== fuzz targets built in $(($(date +%s) - start)) s" >&2
    replay "$@"
    for t in "$@"; do
        echo "== $t: fuzzing for $seconds s" >&2
        fuzz "$t" "$seconds"
    done
    echo "== fuzzing done in $(($(date +%s) - start)) s" >&2
    ;;
"" | -*)
    usage
    ;;
*)
    [ $# = 2 ] || usage
    known "$1"
    build "$1"
    fuzz "$1" "$2"
    ;;
esac
