#!/bin/sh
# The test command: sets up what is missing, builds, runs every test.
# The MQTT/agent tests run in their own pass: they wait on a real broker and the network, and
# the CPU-heavy property tests would otherwise hold every thread of the concurrency pool.
set -eu
cd "$(dirname "$0")/.."
# postgresql: the cloud tests start throw-away PostgreSQL servers (initdb, pg_ctl) on loopback.
# prometheus: the PromQL conformance test backfills a real Prometheus (promtool) and compares answers.
# python3, python3-venv: the Python client's tests (scripts/python-test.sh).
# Debian's postinst may start a system prometheus on :9090; the tests never use that port.
ALICEDB_APT_EXTRA="postgresql postgresql-client prometheus python3 python3-venv" scripts/setup.sh debug
swift build --build-tests >&2
# The house format (.swift-format: 4 spaces, 120 columns): `swift format -i -r Sources Tests` fixes most.
swift format lint --strict -r Sources Tests >&2
# No folder of AliceFormat, AliceDB or ReadAPI may use a type of a folder above it (docs/architecture.md).
python3 scripts/check-layers.py >&2
swift test --skip-build --filter 'AgentTests\.|CloudTests\.|MQTTTests\.' "$@"
swift test --skip-build --skip 'AgentTests\.|CloudTests\.|MQTTTests\.' "$@"
# The Python client (python/) against the debug alicedb-cloud and alicedb-agent built above.
scripts/python-test.sh
# Bounded fuzzing (docs/reliability.md): replay every committed seed and past crash, then fuzz each
# target CI builds for ALICEDB_FUZZ_SECONDS (default 20; 0 skips all of it).
if [ "${ALICEDB_FUZZ_SECONDS:-20}" != 0 ]; then
    scripts/fuzz.sh --ci "${ALICEDB_FUZZ_SECONDS:-20}"
fi
