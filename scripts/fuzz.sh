#!/usr/bin/env bash
# Runs every fuzz target of fuzz/ (cargo fuzz, libFuzzer) for a bounded time: the fuzz step of
# scripts/test.sh. docs/OPERATIONS.md, "Fuzzing", says how to run one target longer.
#
#   scripts/fuzz.sh                      every target, FUZZ_SECONDS each
#   scripts/fuzz.sh record packet        these targets only
#   FUZZ_SECONDS=600 scripts/fuzz.sh validate
#
# FUZZ_SECONDS   seconds of fuzzing per target (default 8: the whole step, build included,
#                stays under about 4 minutes on 2 cores)
# FUZZ_SANITIZER none (default) or address: the project's crates forbid unsafe code, so
#                AddressSanitizer finds little there and costs half the speed; with address
#                the build needs unstable rustc flags (RUSTC_BOOTSTRAP=1 is set for it)
# CARGO_TARGET_DIR  the build goes to $CARGO_TARGET_DIR/fuzz (default target/fuzz)
#
# cargo-fuzz is installed into .tools/cargo-fuzz when missing (cargo install --locked). It runs
# on the default (stable) toolchain: with no sanitizer it passes rustc no unstable flag, and a
# new machine of this kind has exactly one toolchain for sure (a nightly may be missing, or
# newer than the project was tried with). The seed corpus is rebuilt from tests/vectors by
# scripts/fuzz-corpus.py (what the fuzzer adds stays in fuzz/corpus/, ignored by git). A crash
# is written to fuzz/artifacts/<target>/ and fails the step, naming the file and the command
# that replays it.
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_FUZZ_VERSION=0.13.2
seconds=${FUZZ_SECONDS:-8}
sanitizer=${FUZZ_SANITIZER:-none}
target_dir=${CARGO_TARGET_DIR:-$PWD/target}/fuzz
case "$seconds" in '' | *[!0-9]*)
  echo "FUZZ_SECONDS must be a whole number of seconds, not '$seconds'" >&2
  exit 2
  ;;
esac
case "$sanitizer" in
  none) ;;
  address) export RUSTC_BOOTSTRAP=1 ;;
  *)
    echo "FUZZ_SANITIZER must be none or address, not '$sanitizer'" >&2
    exit 2
    ;;
esac

cargo_fuzz=.tools/cargo-fuzz/bin/cargo-fuzz
if ! "$cargo_fuzz" --version 2>/dev/null | grep -q " $CARGO_FUZZ_VERSION\$"; then
  echo "installing: cargo-fuzz $CARGO_FUZZ_VERSION into .tools/cargo-fuzz"
  CARGO_TARGET_DIR="$target_dir/cargo-fuzz-build" \
    cargo install --quiet --locked --root .tools/cargo-fuzz cargo-fuzz --version "$CARGO_FUZZ_VERSION"
fi

python3 scripts/fuzz-corpus.py

all=$(sed -n 's/^name = "\(.*\)"$/\1/p' fuzz/Cargo.toml | grep -v '^custody-fuzz$')
targets=("$@")
if [ "${#targets[@]}" -eq 0 ]; then
  read -r -a targets <<<"$(echo $all)"
fi
for t in "${targets[@]}"; do
  if ! grep -qx "$t" <<<"$all"; then
    echo "no fuzz target '$t': the targets are $(echo $all)" >&2
    exit 2
  fi
done

flags=(-s "$sanitizer" --target-dir "$target_dir")
start=$(date +%s)
"$cargo_fuzz" build "${flags[@]}"
echo "fuzz build: $(($(date +%s) - start)) s"

# Inputs libFuzzer left for a target (crash-, timeout-, oom-...).
artifacts() {
  local files
  shopt -s nullglob
  files=("fuzz/artifacts/$1"/*)
  shopt -u nullglob
  echo "${#files[@]}"
}

failed=()
for t in "${targets[@]}"; do
  before=$(artifacts "$t")
  echo "fuzzing $t for $seconds s"
  # -timeout: one input taking over 10 s is a hang; -rss_limit_mb: a runaway allocation is a
  # crash; -max_len: the packet seed is ~100 KB, the others far less.
  if ! "$cargo_fuzz" run "${flags[@]}" "$t" -- \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=262144 \
    -print_final_stats=1 >"fuzz/$t.log" 2>&1; then
    tail -n 40 "fuzz/$t.log" >&2
    failed+=("$t")
  fi
  grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb)' "fuzz/$t.log" |
    sed "s/^/  $t /" || true
  after=$(artifacts "$t")
  if [ "$after" -gt "$before" ]; then
    failed+=("$t")
  fi
done
echo "fuzz step: $(($(date +%s) - start)) s in all"
if [ "${#failed[@]}" -gt 0 ]; then
  for t in $(printf '%s\n' "${failed[@]}" | sort -u); do
    echo "fuzz target $t failed: see fuzz/$t.log; the input is in fuzz/artifacts/$t/;" \
      "replay with $cargo_fuzz run -s $sanitizer --target-dir $target_dir $t fuzz/artifacts/$t/<file>" >&2
  done
  exit 1
fi
echo "fuzz: ${#targets[@]} targets passed, $seconds s each"
