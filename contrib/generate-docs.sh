#!/usr/bin/env bash
# Regenerates the shell completions (contrib/completions/) and the man page (contrib/mailroom.1)
# from the built CLI, with swift-argument-parser's generators. Run it after changing a command,
# an option or a help text; the CLI tests fail while the shipped files differ from what the
# binary generates.
#   contrib/generate-docs.sh            uses .build/debug/mailroom (builds it when missing)
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .build/debug/mailroom ] || swift build --product mailroom
# The generator behind `swift package generate-manual`, built without the plugin's release build
# (the product is `generate-manual`; the plugin builds it as `generate-manual-tool`).
generator=.build/debug/generate-manual
[ -x "$generator" ] || { [ -x .build/debug/generate-manual-tool ] && generator=.build/debug/generate-manual-tool; }
[ -x "$generator" ] || swift build --product generate-manual
mkdir -p contrib/completions
.build/debug/mailroom --generate-completion-script bash >contrib/completions/mailroom.bash
.build/debug/mailroom --generate-completion-script zsh >contrib/completions/_mailroom
.build/debug/mailroom --generate-completion-script fish >contrib/completions/mailroom.fish
# Dated by the last change to the CLI (its author date, which a rebase keeps), so that
# regenerating an unchanged CLI changes nothing.
date=$(git log -1 --format=%as -- Sources/mailroom 2>/dev/null || date +%F)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"$generator" .build/debug/mailroom --date "$date" --output-directory "$out"
cp "$out/mailroom.1" contrib/mailroom.1
echo "generate-docs.sh: contrib/completions/{mailroom.bash,_mailroom,mailroom.fish} and contrib/mailroom.1"
