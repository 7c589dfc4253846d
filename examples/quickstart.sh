#!/bin/sh
# Quick start: import a real data set losslessly and within 1 % of its range, then query it.
# Usage: examples/quickstart.sh [ALICEDB_BINARY] [DATASET.csv]
set -eu
cd "$(dirname "$0")/.."
bin="${1:-.build/release/alicedb}"
# The shared data set beside the repository, else the slice of it committed for the tests.
csv="${2:-../shared/datasets/elf_dew_point_temp.csv}"
[ -f "$csv" ] || [ -n "${2:-}" ] || csv=Tests/Fixtures/datasets/elf_dew_point_temp.csv
[ -f "$csv" ] || { echo "no such file: $csv" >&2; exit 2; }
db="${TMPDIR:-/tmp}/alicedb-quickstart"
rm -rf "$db"

echo "== import $csv (lossless, then within ±0.5)"
"$bin" import "$csv" --db "$db" --series dew.lossless
"$bin" import "$csv" --db "$db" --series dew.bounded --max-error 0.5

echo; echo "== stats"
"$bin" stats --db "$db" --format table

echo; echo "== aggregate over the whole series (from exact segment summaries)"
"$bin" agg --db "$db" --series dew.bounded --format table

echo; echo "== downsample: mean per 10 000 samples"
"$bin" downsample --db "$db" --series dew.bounded --interval 10000 --fn avg --format table

echo; echo "== the segments of the bounded series"
"$bin" inspect --db "$db" --series dew.bounded --format table | head -8

echo; echo "== lossless round trip: every exported value equals the input value"
"$bin" export --db "$db" --series dew.lossless > "$db/export.csv"
if awk -F, 'NR == FNR { want[$1] = $2; next } FNR > 1 && ($2 + 0) != (want[$1] + 0) { bad++ } END { exit bad > 0 }' "$csv" "$db/export.csv"
then
    echo "$(($(wc -l < "$db/export.csv") - 1)) points, all equal"
else
    echo "MISMATCH"; exit 1
fi

echo; echo "== verify"
"$bin" verify --db "$db"
