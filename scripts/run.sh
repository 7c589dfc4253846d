#!/bin/sh
# The main job: sets up what is missing, builds (release), runs the quick start on a shared
# data set. (The MQTT gateway agent will take this place when it lands.)
set -eu
cd "$(dirname "$0")/.."
scripts/setup.sh release
exec examples/quickstart.sh .build/release/alicedb "${1:-../shared/datasets/elf_dew_point_temp.csv}"
