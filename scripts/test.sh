#!/bin/sh
# The test command: sets up what is missing, builds, runs every test.
set -eu
cd "$(dirname "$0")/.."
scripts/setup.sh debug
swift build --build-tests >&2
exec swift test --skip-build "$@"
