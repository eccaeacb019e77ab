#!/usr/bin/env bash
# Checks deploy/ as CI does (one line of scripts/test.sh):
# - every NATS configuration under deploy/nats/ (single node, the 3 cluster nodes, the field
#   post's leaf node) with `nats-server -t` (2.10.27: $CUSTODY_NATS_SERVER, or the one
#   scripts/install-nats-server.sh finds or unpacks), on a copy whose TLS files are throwaway
#   certificates made here with openssl and whose store directory is temporary;
# - every systemd unit under deploy/systemd/ with `systemd-analyze verify`, on a copy whose
#   binaries are stubs in a temporary directory (the units' syntax and settings are checked,
#   not the installed binaries), and that each runs as a dedicated user with LimitNOFILE and
#   UMask=0077.
# Exit status 0 when all pass; otherwise 1, naming each file that failed.
set -euo pipefail
cd "$(dirname "$0")/.."

nats=${CUSTODY_NATS_SERVER:-$(scripts/install-nats-server.sh)}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=0
fail() { echo "check-deploy: FAILED: $*" >&2; failed=1; }

# Throwaway TLS: a CA and a server certificate for localhost, for server and client use.
tls="$work/tls"
mkdir -p "$tls"
(
  cd "$tls"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
    -subj /CN=custody-check-ca -keyout ca-key.pem -out ca.pem 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=localhost \
    -keyout server-key.pem -out server.csr 2>/dev/null
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n' >ext.cnf
  openssl x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 1 \
    -extfile ext.cnf -out server.pem 2>/dev/null
  cp ca.pem hub-ca.pem
)

# NATS configurations, with the site's paths replaced.
cp -r deploy/nats deploy/policy "$work/"
mkdir -p "$work/store"
find "$work/nats" "$work/policy" -name '*.conf' -exec sed -i \
  -e "s#/etc/custody/nats/tls/#$tls/#g" -e "s#/var/lib/custody-nats#$work/store#g" {} +
export CUSTODY_GATEWAY_NATS_PASSWORD=check CUSTODY_READER_NATS_PASSWORD=check \
  CUSTODY_MONITOR_NATS_PASSWORD=check CUSTODY_POST_NATS_PASSWORD=check \
  CUSTODY_HUB_LEAF_URL=tls://custody-post:check@localhost:7422
version=$("$nats" --version)
count=0
while IFS= read -r conf; do
  rel=${conf#"$work/nats/"}
  grep -q '^jetstream {' "$conf" || continue # accounts.conf: included by the others
  if out=$("$nats" -t -c "$conf" 2>&1) && grep -q 'is valid' <<<"$out"; then
    echo "ok: deploy/nats/$rel ($version -t)"
  else
    fail "deploy/nats/$rel: $out"
  fi
  if [ "$(grep -Ec '^\s*sync_interval: always\s*(#.*)?$' "$conf")" != 1 ]; then
    fail "deploy/nats/$rel: needs exactly one 'sync_interval: always'"
  fi
  count=$((count + 1))
done < <(find "$work/nats" -name '*.conf' | sort)
[ "$count" -ge 5 ] || fail "expected 5 NATS configurations (single, 3 cluster nodes, leaf), found $count"

# systemd units, with stub binaries.
if ! command -v systemd-analyze >/dev/null 2>&1; then
  fail "systemd-analyze is missing (apt-get install systemd)"
else
  mkdir -p "$work/bin" "$work/units"
  for b in custody custody-witness nats-server kill; do
    printf '#!/bin/sh\nexit 0\n' >"$work/bin/$b"
    chmod 755 "$work/bin/$b"
  done
  for unit in deploy/systemd/*.service; do
    name=$(basename "$unit")
    sed -e "s#/usr/local/bin/#$work/bin/#g" -e "s#/usr/sbin/nats-server#$work/bin/nats-server#g" \
      -e "s#/bin/kill#$work/bin/kill#g" "$unit" >"$work/units/$name"
    # verify exits 0 on unknown keys and bad values (it ignores them): any output fails.
    if out=$(systemd-analyze verify --man=no "$work/units/$name" 2>&1) && [ -z "$out" ]; then
      echo "ok: deploy/systemd/$name (systemd-analyze verify)"
    else
      fail "deploy/systemd/$name: $out"
    fi
    for want in '^User=custody' '^LimitNOFILE=[0-9]' '^UMask=0077$'; do
      grep -Eq "$want" "$unit" || fail "deploy/systemd/$name: no line matching $want"
    done
    if grep -Eq '^User=(root)?$' "$unit"; then fail "deploy/systemd/$name: runs as root"; fi
  done
fi

if [ "$failed" != 0 ]; then exit 1; fi
echo "check-deploy: all deploy files pass"
