#!/bin/sh
# The Python client's tests (python/tests) against the debug binaries `swift build` made: a venv in
# .build/python-venv that sees the system's packages, with numpy and pytest (installed from PyPI when
# the system lacks them), pandas when PyPI has it (without it the DataFrame tests are skipped), and
# the client installed from ./python as a user would (pip install ./python).
# Usage: scripts/python-test.sh [PYTEST ARGS]
set -eu
cd "$(dirname "$0")/.."
venv=.build/python-venv
[ -x "$venv/bin/python" ] || python3 -m venv --system-site-packages "$venv" >&2
py="$venv/bin/python"
pip="$py -m pip --disable-pip-version-check -q"
$py -c 'import numpy' 2>/dev/null || $pip install numpy >&2
$py -c 'import pytest' 2>/dev/null || $pip install pytest >&2
$py -c 'import pandas' 2>/dev/null || $pip install pandas >&2 ||
    echo "python-test: pandas could not be installed; the DataFrame tests will be skipped" >&2
# The build backend (setuptools, wheel) from the system when it has both, else pip fetches them.
if $py -c 'import setuptools, wheel' 2>/dev/null; then
    $pip install --no-deps --no-build-isolation --force-reinstall ./python >&2
else
    $pip install --no-deps --force-reinstall ./python >&2
fi
# Run from the tests' folder, so that `alicedb` is the installed package, not python/src.
cd python/tests
exec "../../$py" -m pytest -q -p no:cacheprovider "$@"
