#!/usr/bin/env bash
# Runs the whole test suite against real podman, git, inotify, caddy, sshd and systemd-analyze.
# Needs root (rootful podman, as the guide). Installs what is missing first.
set -euo pipefail
cd "$(dirname "$0")/.."
contrib/install-deps.sh test
mkdir -p /run/sshd
swift build --build-tests
swift test --skip-build "$@"
