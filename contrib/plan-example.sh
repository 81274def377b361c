#!/usr/bin/env bash
# The main job on the bundled example: build Mailroom and preview the guide's deployment
# (examples/seed-guide) on this host. Changes nothing. Exit 0 whether or not changes are pending.
set -euo pipefail
cd "$(dirname "$0")/.."
contrib/install-deps.sh build
swift build -c release --product mailroom
status=0
.build/release/mailroom plan examples/seed-guide "$@" || status=$?
# plan exits 2 when changes are pending, which is the expected answer on a fresh host.
[ "$status" -eq 0 ] || [ "$status" -eq 2 ]
