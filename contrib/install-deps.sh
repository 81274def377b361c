#!/usr/bin/env bash
# Installs the Debian packages Mailroom needs, and only those missing (one apt-get update at most).
#   contrib/install-deps.sh build   libgit2 and ldns to build Mailroom
#   contrib/install-deps.sh test    everything the tests drive for real: podman, caddy, sshd, systemd-analyze, Knot and Unbound, …
set -euo pipefail
build=(libgit2-dev libldns-dev pkg-config git)
test=("${build[@]}" python3 binutils podman runc catatonit busybox-static caddy openssh-server openssh-client systemd curl tar iproute2 knot unbound iptables util-linux)
case "${1:-test}" in
  build) wanted=("${build[@]}") ;;
  test) wanted=("${test[@]}") ;;
  *) echo "usage: $0 build|test" >&2; exit 64 ;;
esac
missing=()
for package in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "installing: ${missing[*]}"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
