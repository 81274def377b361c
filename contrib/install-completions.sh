#!/usr/bin/env bash
# Installs the shell completions (bash, zsh, fish) and the man page shipped in contrib/.
#   contrib/install-completions.sh                 under /usr/local
#   PREFIX=/usr contrib/install-completions.sh     under /usr (as a package would)
#   DESTDIR=/tmp/stage contrib/install-completions.sh   staged, for packaging
set -euo pipefail
cd "$(dirname "$0")"
prefix="${DESTDIR:-}${PREFIX:-/usr/local}"
install -D -m 0644 completions/mailroom.bash "$prefix/share/bash-completion/completions/mailroom"
install -D -m 0644 completions/_mailroom "$prefix/share/zsh/vendor-completions/_mailroom"
install -D -m 0644 completions/mailroom.fish "$prefix/share/fish/vendor_completions.d/mailroom.fish"
install -D -m 0644 mailroom.1 "$prefix/share/man/man1/mailroom.1"
echo "install-completions.sh: bash, zsh and fish completions and mailroom(1) under $prefix/share"
