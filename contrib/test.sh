#!/usr/bin/env bash
# Runs the whole test suite against real podman, git, inotify, caddy, sshd, systemd-analyze, Knot and Unbound.
# Needs root (rootful podman, as the guide). Installs what is missing first.
#   contrib/test.sh                                   everything
#   contrib/test.sh --filter MailroomTests.PureTests  only the in-memory tests (seconds)
set -euo pipefail
cd "$(dirname "$0")/.."
contrib/install-deps.sh test
mkdir -p /run/sshd
# The layout before the build: the target graph keeps data flowing one way (see Package.swift).
swift package describe --type json | python3 contrib/check-layout.py
swift format lint --strict --recursive --parallel --configuration .swift-format Package.swift Sources Tests
swift build --build-tests
# The shipped binary holds no test support or benchmark code.
if nm .build/debug/mailroom | grep -q MailroomTestSupport; then
  echo "test.sh: the mailroom executable links MailroomTestSupport" >&2
  exit 1
fi
swift test --skip-build "$@"
