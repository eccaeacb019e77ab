#!/usr/bin/env bash
# Finds a nats-server 2.10 or newer for the tests, installing Debian 13's when there is none,
# and prints its path (one line on stdout, nothing else unless it installs or fails).
#
# Which binary, in the order the testkit uses (crates/custody-testkit):
#   1. $CUSTODY_NATS_SERVER, when set (it must be 2.10 or newer: nothing is installed);
#   2. .tools/nats-server/usr/sbin/nats-server in this repository;
#   3. nats-server on PATH.
# When neither 2 nor 3 is 2.10 or newer (Debian 12 ships 2.9.10), the script downloads
# nats-server from Debian 13 "trixie" (2.10.27) and unpacks it into .tools/nats-server/:
# an apt configuration made from the machine's own Debian sources with the suite set to
# trixie, kept in a private, temporary apt directory (`apt-get update`, then
# `apt-get download nats-server`: apt checks the archive's signature and the package's
# hash), then `dpkg -x`. The system's package, apt state and dpkg database are not touched,
# and root is not needed. A second run finds the binary and does nothing.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
dest="$root/.tools/nats-server"
local_bin="$dest/usr/sbin/nats-server"
suite=trixie

# "MAJOR MINOR" of a nats-server binary ("nats-server: v2.10.27"), or nothing.
version_of() {
  "$1" --version 2>/dev/null | sed -nE 's/^nats-server: v([0-9]+)\.([0-9]+)\..*/\1 \2/p'
}

# Whether the binary runs and is 2.10 or newer.
recent_enough() {
  local v major minor
  v=$(version_of "$1") || return 1
  [ -n "$v" ] || return 1
  read -r major minor <<<"$v"
  [ "$major" -gt 2 ] || { [ "$major" -eq 2 ] && [ "$minor" -ge 10 ]; }
}

if [ -n "${CUSTODY_NATS_SERVER:-}" ]; then
  if recent_enough "$CUSTODY_NATS_SERVER"; then
    echo "$CUSTODY_NATS_SERVER"
    exit 0
  fi
  echo "CUSTODY_NATS_SERVER=$CUSTODY_NATS_SERVER is not a nats-server 2.10 or newer" \
    "($("$CUSTODY_NATS_SERVER" --version 2>&1 || true)); unset it to install Debian 13's" >&2
  exit 1
fi
if [ -x "$local_bin" ] && recent_enough "$local_bin"; then
  echo "$local_bin"
  exit 0
fi
if system_bin=$(command -v nats-server) && recent_enough "$system_bin"; then
  echo "$system_bin"
  exit 0
fi

# Installing. Everything apt says goes to a log, shown only on failure.
for tool in apt-get dpkg; do
  command -v "$tool" >/dev/null 2>&1 || {
    echo "nats-server 2.10 or newer is needed and $tool is missing: install nats-server 2.10+" \
      "yourself and set CUSTODY_NATS_SERVER to its path" >&2
    exit 1
  }
done
work=$(mktemp -d "${TMPDIR:-/tmp}/custody-nats-apt.XXXXXX")
trap 'rm -rf "$work"' EXIT
log="$work/log"
fail() {
  echo "cannot install nats-server from Debian $suite: $1" >&2
  [ -s "$log" ] && sed 's/^/  /' "$log" >&2
  exit 1
}

# The machine's Debian sources with the suite set to trixie: deb822 stanzas (*.sources) and
# one-line entries (sources.list, *.list) that name the release's own suite (e.g. bookworm,
# not bookworm-updates or bookworm-security).
codename=$(. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}")
[ -n "$codename" ] || fail "no VERSION_CODENAME in /etc/os-release (is this Debian?)"
mkdir -p "$work/sources.list.d" "$work/lists/partial" "$work/cache/archives/partial" "$work/deb"
shopt -s nullglob
for f in /etc/apt/sources.list.d/*.sources; do
  awk -v codename="$codename" -v suite="$suite" '
    BEGIN { RS = ""; ORS = "\n\n"; FS = "\n" }
    {
      keep = 0; out = ""
      for (i = 1; i <= NF; i++) {
        line = $i
        if (line ~ /^[ \t]*#/) continue
        if (tolower(line) ~ /^suites:/) {
          n = split(substr(line, 8), s, /[ \t]+/)
          for (j = 1; j <= n; j++) if (s[j] == codename) keep = 1
          line = "Suites: " suite
        }
        if (tolower(line) ~ /^enabled:[ \t]*no/) { keep = 0; break }
        if (tolower(line) ~ /^types:/) {
          if (line !~ /[ \t]deb([ \t]|$)/) { keep = 0; break }
          line = "Types: deb"
        }
        out = out line "\n"
      }
      if (keep) printf "%s\n", out
    }' "$f" >>"$work/sources.list.d/$suite.sources"
done
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
  [ -f "$f" ] || continue
  # deb [options] URI SUITE COMPONENTS...
  awk -v codename="$codename" -v suite="$suite" '
    $1 == "deb" {
      i = 2
      if ($i ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
      if ($(i + 1) == codename) { $(i + 1) = suite; print }
    }' "$f" >>"$work/sources.list"
done
touch "$work/sources.list"
[ -s "$work/sources.list" ] || [ -s "$work/sources.list.d/$suite.sources" ] ||
  fail "no Debian source for suite $codename in /etc/apt to derive a $suite source from"

# A private apt: its own sources, lists and cache; no hooks of the machine's apt.conf.d.
printf '%s\n' '#clear APT::Update::Pre-Invoke;' '#clear APT::Update::Post-Invoke;' \
  '#clear APT::Update::Post-Invoke-Success;' >"$work/apt.conf"
apt=(apt-get -q -c "$work/apt.conf"
  -o "Dir::Etc::sourcelist=$work/sources.list"
  -o "Dir::Etc::sourceparts=$work/sources.list.d"
  -o "Dir::State=$work"
  -o "Dir::Cache=$work/cache"
  -o "Acquire::IndexTargets::deb::DEP-11::DefaultEnabled=false"
  -o "Acquire::IndexTargets::deb::DEP-11-icons::DefaultEnabled=false"
  -o "Acquire::IndexTargets::deb::DEP-11-icons-small::DefaultEnabled=false"
  -o "Acquire::IndexTargets::deb::DEP-11-icons-hidpi::DefaultEnabled=false")
# As root, apt downloads as the unprivileged user _apt: let it write where it downloads.
if [ "$(id -u)" -eq 0 ] && id _apt >/dev/null 2>&1; then
  chmod 0755 "$work"
  chown _apt "$work/lists/partial" "$work/cache/archives/partial" "$work/deb"
fi
"${apt[@]}" update >"$log" 2>&1 || fail "apt-get update failed"
(cd "$work/deb" && "${apt[@]}" download nats-server) >>"$log" 2>&1 ||
  fail "apt-get download nats-server failed"
debs=("$work"/deb/nats-server_*.deb)
[ ${#debs[@]} -eq 1 ] || fail "apt-get download left no single nats-server package"

# Unpack next to the destination, check, then move into place (no half-installed folder).
rm -rf "$dest.new"
mkdir -p "$(dirname "$dest")"
dpkg -x "${debs[0]}" "$dest.new" 2>>"$log" || fail "dpkg -x failed"
recent_enough "$dest.new/usr/sbin/nats-server" ||
  fail "the unpacked binary is not 2.10 or newer: $("$dest.new/usr/sbin/nats-server" --version 2>&1 || true)"
rm -rf "$dest"
mv "$dest.new" "$dest"
echo "installed $("$local_bin" --version) from Debian $suite ($(basename "${debs[0]}")) into" \
  "${dest#"$root"/}" >&2
echo "$local_bin"
