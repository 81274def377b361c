#!/usr/bin/env bash
# Fuzzes the spec compiler for a bounded time: builds mailroom-fuzz with libFuzzer (in the Swift
# toolchain: nothing to install) and feeds it mutated specs, starting from a copy of
# Tests/Fuzz/corpus with Tests/Fuzz/mailroom.dict. A crash, a hang (over 5 s for one input), a
# memory blow-up or a control character accepted into the rendered desired state fails the run
# (see Sources/mailroom-fuzz/FuzzTarget.swift for the oracle).
#
#   contrib/fuzz.sh [SECONDS]        fuzz for SECONDS (default 60); non-zero exit on a finding
#   contrib/fuzz.sh replay [FILE…]   run inputs once (default: the corpus, Tests/Fuzz/findings and
#                                    findings/open, whose inputs are expected to fail until fixed)
#
# The target is only in the package with MAILROOM_FUZZ=1 (it has no main of its own: built
# without `--sanitize fuzzer` it would do nothing); this script sets it and builds with
# `--sanitize fuzzer` into its own scratch directory, so the normal build is left alone:
#
#   MAILROOM_FUZZ=1 swift build -c release --product mailroom-fuzz --scratch-path .build-fuzz --sanitize fuzzer
#
# Release runs about 2.7 times as many inputs a second as debug (1450 against 530 here), and
# the compile path has no assert() that only debug would check; the first build of either
# takes about 7 minutes on 2 cores (swift-crypto's C), later ones seconds.
#
# Environment:
#   MAILROOM_FUZZ_ORACLE=cc|c0|lines  forbidden characters: every control character the validator
#                                  refuses (C0, DEL, C1; default), every C0 but TAB, or only
#                                  "\n", "\r" and NUL
#   FUZZ_KEEP_GOING=1              after an oracle violation, fuzz on (the rest of the time) with its
#                                  signature ignored, to collect one finding of each kind in a run
#   MAILROOM_FUZZ_IGNORE=FILE      signatures (one a line, as printed with each finding) not to report,
#                                  e.g. known findings while they are being fixed
#   FUZZ_SCRATCH=DIR               build directory (default .build-fuzz)
#   FUZZ_CONFIG=debug              build the fuzzer in debug (default release)
set -euo pipefail
shopt -s nullglob
cd "$(dirname "$0")/.."
scratch="${FUZZ_SCRATCH:-.build-fuzz}"
# Swift's crash backtracer installs its signal handlers first, and libFuzzer does not replace
# them: without this, a trap kills the process before libFuzzer saves the input.
export SWIFT_BACKTRACE=enable=no
config="${FUZZ_CONFIG:-release}"
fuzzer="$scratch/$config/mailroom-fuzz"

MAILROOM_FUZZ=1 swift build -c "$config" --product mailroom-fuzz --scratch-path "$scratch" --sanitize fuzzer

if [ "${1:-}" = "replay" ]; then
  shift
  if [ "$#" -eq 0 ]; then
    set -- Tests/Fuzz/corpus/*
    for finding in Tests/Fuzz/findings/*.yaml Tests/Fuzz/findings/open/*.yaml; do set -- "$@" "$finding"; done
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
mkdir -p "$work/corpus" "$work/artifacts" "$work/findings"
cp Tests/Fuzz/corpus/* "$work/corpus/"
seeds=$(ls "$work/corpus" | wc -l)
# Signatures the oracle no longer traps on: those given (known findings), then each one found.
known="${MAILROOM_FUZZ_IGNORE:-}"
export MAILROOM_FUZZ_IGNORE="$work/ignored"
if [ -n "$known" ]; then cp "$known" "$MAILROOM_FUZZ_IGNORE"; else : >"$MAILROOM_FUZZ_IGNORE"; fi

echo "fuzz.sh: $seconds s, oracle ${MAILROOM_FUZZ_ORACLE:-cc}, $seeds seeds, work directory $work"
[ ! -s "$MAILROOM_FUZZ_IGNORE" ] || echo "fuzz.sh: ignoring $(paste -sd' ' "$MAILROOM_FUZZ_IGNORE")"
start=$(date +%s)
deadline=$((start + seconds))
round=0 runs=0 findings=0 stop=0
while remaining=$((deadline - $(date +%s))); [ "$stop" = 0 ] && [ "$remaining" -gt 0 ]; do
  round=$((round + 1))
  log="$work/fuzz-$round.log"
  status=0
  "$fuzzer" -dict=Tests/Fuzz/mailroom.dict -max_total_time="$remaining" -timeout=5 -rss_limit_mb=2048 \
    -max_len=8192 -print_final_stats=1 -artifact_prefix="$work/artifacts/" "$work/corpus" >"$log" 2>&1 || status=$?
  executed=$(grep -oP '^stat::number_of_executed_units:\s+\K[0-9]+' "$log" || true)
  runs=$((runs + ${executed:-0}))
  [ "$status" -ne 0 ] || break
  # A finding: libFuzzer wrote the input to artifacts/. The oracle's line names its signature.
  findings=$((findings + 1))
  reason=$(grep -m1 -E 'mailroom-fuzz: ORACLE|ERROR: libFuzzer|==ERROR|SUMMARY' "$log" || echo "libFuzzer exit $status")
  signature=$(grep -oP -m1 'mailroom-fuzz: ORACLE \([a-z0-9]+\) <\K[^>]+' "$log" || true)
  for input in "$work"/artifacts/*; do
    name=$(printf %02d-%s "$findings" "${signature:-crash}" | tr -c 'A-Za-z0-9._\n-' '-')
    mv "$input" "$work/findings/$name-$(basename "$input")"
  done
  echo "fuzz.sh: finding $findings after $(($(date +%s) - start)) s: $reason" >&2
  # Go on past an oracle violation when asked; a crash, hang or memory blow-up ends the run.
  if [ "${FUZZ_KEEP_GOING:-0}" = 1 ] && [ -n "$signature" ]; then echo "$signature" >>"$MAILROOM_FUZZ_IGNORE"; else stop=1; fi
done
elapsed=$(($(date +%s) - start))

# The figures: libFuzzer's last status line (coverage, corpus) and the executions of every round.
last=$(grep -hE '^#[0-9]+[[:space:]].*cov: ' "$work"/fuzz-*.log | tail -1 || true)
edges=$(grep -ohP 'Loaded 1 modules\s+\(\K[0-9]+' "$work/fuzz-1.log" | head -1 || echo "?")
echo "fuzz.sh: ran ${elapsed} s in $round round(s): $runs executions, $((runs / (elapsed > 0 ? elapsed : 1))) exec/s"
echo "fuzz.sh: coverage: $(grep -oP 'cov: \K[0-9]+' <<<"$last" || echo '?') of $edges instrumented edges," \
  "$(grep -oP 'ft: \K[0-9]+' <<<"$last" || echo '?') features;" \
  "corpus: $(ls "$work/corpus" | wc -l) inputs, $(du -sh "$work/corpus" | cut -f1) ($seeds seeds)"
grep -hE '^stat::(slowest_unit_time_sec|peak_rss_mb)' "$work/fuzz-$round.log" | sed -E 's/:[[:space:]]+/: /; s/^stat::/fuzz.sh: /' || true

if [ "$findings" -gt 0 ]; then
  echo "fuzz.sh: FAILED: $findings finding(s) in $work/findings (logs: $work/fuzz-*.log):" >&2
  ls "$work/findings" | sed 's/^/  /' >&2
  echo "fuzz.sh: keep one with: cp INPUT Tests/Fuzz/findings/NAME.yaml, and a line in Tests/Fuzz/findings/README.md" >&2
  exit 1
fi
rm -rf "$work"
echo "fuzz.sh: no finding"
