#!/usr/bin/env bash
# The main job on the bundled example: build Mailroom and preview the guide's deployment
# (examples/seed-guide) on this host. Changes nothing. Exit 0 whether or not changes are pending.
#
# It builds the debug configuration, the one contrib/test.sh builds its tests against, so the
# tests after it compile only the test targets instead of every module again (a plan takes about a
# second either way). MAILROOM_CONFIGURATION=release builds the optimised binary to install; it
# shares nothing with the debug build.
set -euo pipefail
cd "$(dirname "$0")/.."
contrib/install-deps.sh build
configuration="${MAILROOM_CONFIGURATION:-debug}"
swift build -c "$configuration" --product mailroom
status=0
".build/$configuration/mailroom" plan examples/seed-guide "$@" || status=$?
# plan exits 2 when changes are pending, which is the expected answer on a fresh host.
[ "$status" -eq 0 ] || [ "$status" -eq 2 ]
