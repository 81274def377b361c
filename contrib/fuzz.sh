#!/usr/bin/env bash
# Fuzzes the spec compiler for a bounded time: builds mailroom-fuzz with libFuzzer (in the Swift
# toolchain: nothing to install) and feeds it mutated specs, starting from a copy of
# Tests/Fuzz/corpus with Tests/Fuzz/mailroom.dict. A crash, a hang (over 5 s for one input), a
# memory blow-up or a control character accepted into the rendered desired state fails the run
# (see Sources/mailroom-fuzz/FuzzTarget.swift for the oracle).
#
#   contrib/fuzz.sh [SECONDS]        fuzz for SECONDS (default 60); non-zero exit on a finding
#   contrib/fuzz.sh replay [FILE…]   run inputs once (default: the corpus and Tests/Fuzz/findings)
#
# The target is only in the package with MAILROOM_FUZZ=1 (it has no main of its own, so a
# plain `swift build` could not link it); this script sets it and builds with
# `--sanitize fuzzer` into its own scratch directory, so the normal build is left alone:
#
#   MAILROOM_FUZZ=1 swift build -c debug --product mailroom-fuzz --scratch-path .build-fuzz --sanitize fuzzer
#
# Environment:
#   MAILROOM_FUZZ_ORACLE=c0|lines  forbidden characters: every C0 control but TAB (default), or
#                                  only "\n", "\r" and NUL
#   FUZZ_KEEP_GOING=1              keep fuzzing after a finding (libFuzzer -fork=1 -ignore_crashes=1),
#                                  to collect several in one run
#   FUZZ_SCRATCH=DIR               build directory (default .build-fuzz)
set -euo pipefail
shopt -s nullglob
cd "$(dirname "$0")/.."
scratch="${FUZZ_SCRATCH:-.build-fuzz}"
# Swift's crash backtracer installs its signal handlers first, and libFuzzer does not replace
# them: without this, a trap kills the process before libFuzzer saves the input.
export SWIFT_BACKTRACE=enable=no
fuzzer="$scratch/debug/mailroom-fuzz"

MAILROOM_FUZZ=1 swift build -c debug --product mailroom-fuzz --scratch-path "$scratch" --sanitize fuzzer

if [ "${1:-}" = "replay" ]; then
  shift
  if [ "$#" -eq 0 ]; then
    set -- Tests/Fuzz/corpus/*
    for finding in Tests/Fuzz/findings/*; do [ "$finding" = Tests/Fuzz/findings/README.md ] || set -- "$@" "$finding"; done
  fi
  failed=0
  for input in "$@"; do
    if output="$("$fuzzer" "$input" 2>&1)"; then
      echo "ok      $input"
    else
      failed=1
      echo "FAILS   $input: $(grep -m1 -E 'mailroom-fuzz: ORACLE|ERROR: libFuzzer|Fatal error' <<<"$output" || echo 'crashed')"
    fi
  done
  exit "$failed"
fi

seconds="${1:-60}"
case "$seconds" in '' | *[!0-9]*) echo "usage: $0 [SECONDS] | replay [FILE…]" >&2; exit 64 ;; esac
work="$(mktemp -d "${TMPDIR:-/tmp}/mailroom-fuzz.XXXXXX")"
mkdir -p "$work/corpus" "$work/artifacts"
cp Tests/Fuzz/corpus/* "$work/corpus/"
seeds=$(ls "$work/corpus" | wc -l)

options=(-dict=Tests/Fuzz/mailroom.dict -max_total_time="$seconds" -timeout=5 -rss_limit_mb=2048 -max_len=8192
  -print_final_stats=1 -artifact_prefix="$work/artifacts/")
if [ "${FUZZ_KEEP_GOING:-0}" = 1 ]; then
  options+=(-fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1)
fi
echo "fuzz.sh: $seconds s, oracle ${MAILROOM_FUZZ_ORACLE:-c0}, $seeds seeds, work directory $work"
start=$(date +%s)
status=0
"$fuzzer" "${options[@]}" "$work/corpus" >"$work/fuzz.log" 2>&1 || status=$?
elapsed=$(($(date +%s) - start))

# The figures: libFuzzer's last status line (runs, coverage, corpus, exec/s) and its final stats.
last=$(grep -E '^#[0-9]+:?[[:space:]].*cov: ' "$work/fuzz.log" | tail -1 || true)
runs=$(grep -oP '^stat::number_of_executed_units:\s+\K[0-9]+' "$work/fuzz.log" || grep -oP '^#\K[0-9]+' <<<"$last" || echo "?")
rate=$(grep -oP '^stat::average_exec_per_sec:\s+\K[0-9]+' "$work/fuzz.log" || grep -oP 'exec/s: \K[0-9]+' <<<"$last" || echo "?")
edges=$(grep -oP 'Loaded 1 modules\s+\(\K[0-9]+' "$work/fuzz.log" | head -1 || echo "?")
echo "fuzz.sh: ran ${elapsed} s: $runs executions, $rate exec/s"
echo "fuzz.sh: coverage: $(grep -oP 'cov: \K[0-9]+' <<<"$last" || echo '?') of $edges instrumented edges," \
  "$(grep -oP 'ft: \K[0-9]+' <<<"$last" || echo '?') features;" \
  "corpus: $(ls "$work/corpus" | wc -l) inputs, $(du -sh "$work/corpus" | cut -f1) ($seeds seeds)"
grep -E '^stat::(new_units_added|slowest_unit_time_sec|peak_rss_mb)' "$work/fuzz.log" | sed -E 's/^stat::/fuzz.sh: /; s/:[[:space:]]+/: /' || true

findings=("$work"/artifacts/*)
if [ "${#findings[@]}" -gt 0 ] || [ "$status" -ne 0 ]; then
  echo "fuzz.sh: FAILED (libFuzzer exit $status); log: $work/fuzz.log" >&2
  for input in "${findings[@]}"; do
    reason=$("$fuzzer" "$input" 2>&1 | grep -m1 -E 'mailroom-fuzz: ORACLE|ERROR: libFuzzer|Fatal error' || echo 'no longer fails alone')
    echo "  $input: $reason" >&2
  done
  echo "fuzz.sh: keep an input with: cp INPUT Tests/Fuzz/findings/NAME.yaml (and a line in Tests/Fuzz/findings/README.md)" >&2
  exit 1
fi
rm -rf "$work"
echo "fuzz.sh: no finding"
