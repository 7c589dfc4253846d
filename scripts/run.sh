#!/bin/sh
# The main job: sets up what is missing, builds (release), starts a local MQTT broker (unless one
# already listens on 127.0.0.1:1883), runs alicedb-agent with its embedded default configuration,
# replays a real data set over MQTT (QoS 1), stops the agent with SIGTERM and queries what it stored.
# Usage: scripts/run.sh [DATASET.csv] [POINTS]
set -eu
cd "$(dirname "$0")/.."
# The shared data set beside the repository, else the slice of it committed for the tests.
csv="${1:-../shared/datasets/elf_dew_point_temp.csv}"
[ -f "$csv" ] || [ -n "${1:-}" ] || csv=Tests/Fixtures/datasets/elf_dew_point_temp.csv
[ -f "$csv" ] || { echo "no such file: $csv" >&2; exit 2; }
points="${2:-100000}"
# Only what the main job runs (the cloud node and its benchmark are not needed here).
scripts/setup.sh release alicedb-agent alicedb alicedb-agent-bench
bin=.build/release
work="${TMPDIR:-/tmp}/alicedb-run"
rm -rf "$work" ./alicedb-data
mkdir -p "$work"
cleanup() { [ -n "${broker:-}" ] && kill "$broker" 2>/dev/null || true; [ -n "${agent:-}" ] && kill "$agent" 2>/dev/null || true; }
trap cleanup EXIT INT TERM

if mosquitto_sub -h 127.0.0.1 -p 1883 -t '$SYS/#' -C 1 -W 1 >/dev/null 2>&1; then
    echo "== using the broker already on 127.0.0.1:1883"
else
    printf 'listener 1883 127.0.0.1\nallow_anonymous true\nmax_queued_messages 100000\n' > "$work/mosquitto.conf"
    mosquitto -c "$work/mosquitto.conf" > "$work/mosquitto.log" 2>&1 &
    broker=$!
    sleep 0.5
    echo "== started mosquitto on 127.0.0.1:1883 (log: $work/mosquitto.log)"
fi

echo "== alicedb-agent (embedded config: sensors/# -> series named after the topic, lossless, ./alicedb-data)"
$bin/alicedb-agent --check
$bin/alicedb-agent 2> "$work/agent.log" &
agent=$!
sleep 1

echo "== replaying $points values of $csv to sensors/demo/dew_point (QoS 1)"
# Not `mosquitto_pub -l`: at the end of its input it disconnects with QoS 1 messages unacknowledged.
$bin/alicedb-agent-bench replay "$csv" --port 1883 --topic sensors/demo/dew_point --qos 1 --count "$points"
sleep 1

echo "== while the agent runs, alicedb reads its data (segments + WAL):"
$bin/alicedb agg --db ./alicedb-data --series sensors.demo.dew_point --format table

echo "== SIGTERM: the agent flushes every buffer to verified segments and exits"
kill -TERM "$agent"
wait "$agent" || true
agent=""
tail -n 3 "$work/agent.log"

echo; echo "== stats"
$bin/alicedb stats --db ./alicedb-data --format table
echo; echo "== first points"
$bin/alicedb scan --db ./alicedb-data --series sensors.demo.dew_point --limit 5 --format table
echo; $bin/alicedb verify --db ./alicedb-data
published=$(tail -n +2 "$csv" | head -n "$points" | grep -c .)
stored=$($bin/alicedb export --db ./alicedb-data --series sensors.demo.dew_point | tail -n +2 | grep -c .)
echo "== published $published values at QoS 1, stored $stored"
[ "$published" -eq "$stored" ] || { echo "points were lost" >&2; exit 1; }
