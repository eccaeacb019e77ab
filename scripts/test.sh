#!/usr/bin/env bash
# README.md's test command, and what .ci/run runs: sets up what a fresh machine lacks, then
# checks formatting and lints and runs the whole test suite.
#
# Set-up: a C compiler (apt-get install gcc, for the build scripts of dependencies) when
# there is none; headless Chromium (apt-get install chromium) when /usr/bin/chromium is missing
# and CUSTODY_CHROMIUM names no other, for the test that prints the handover receipt on one A4
# page (tests/e2e/handover.rs); chromedriver (apt-get install chromium-driver) when
# /usr/bin/chromedriver is missing and CUSTODY_CHROMEDRIVER names no other, for the web desk's
# browser test (tests/e2e/desk.rs); faketime (apt-get install faketime) when /usr/bin/faketime is
# missing, for the tests of a field post whose clock is hours off (tests/e2e/clock.rs); and nats-server 2.10 or newer for the JetStream tests, found or
# unpacked from Debian 13 into .tools/nats-server/ by scripts/install-nats-server.sh (the system
# package is left alone); CUSTODY_NATS_SERVER is set to it for the tests. A second run installs
# nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo >/dev/null 2>&1; then
  echo "cargo is missing: this project needs a Rust toolchain (rustup)" >&2
  exit 2
fi
for component in fmt clippy; do
  if ! cargo "$component" --version >/dev/null 2>&1; then
    echo "cargo $component is missing: rustup component add rustfmt clippy" >&2
    exit 2
  fi
done
if ! command -v cc >/dev/null 2>&1; then
  echo "installing: gcc"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq gcc >/dev/null
fi
missing=()
if [ -z "${CUSTODY_CHROMIUM:-}" ] && [ ! -x /usr/bin/chromium ]; then
  missing+=(chromium)
fi
if [ -z "${CUSTODY_CHROMEDRIVER:-}" ] && [ ! -x /usr/bin/chromedriver ]; then
  missing+=(chromium-driver)
fi
if [ ! -x /usr/bin/faketime ]; then
  missing+=(faketime)
fi
if [ "${#missing[@]}" -gt 0 ]; then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi
CUSTODY_NATS_SERVER=$(scripts/install-nats-server.sh)
export CUSTODY_NATS_SERVER
echo "nats-server for the tests: $CUSTODY_NATS_SERVER ($("$CUSTODY_NATS_SERVER" --version))"

scripts/check-deploy.sh
cargo fmt --all --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --locked
scripts/fuzz.sh
