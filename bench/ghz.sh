#!/usr/bin/env bash
# make ghz: an external load tool against a real hub. Creates a hub with
# the dev PKI in a temp dir (lthub init), serves it on 127.0.0.1, and runs
# ghz (github.com/bojand/ghz) against ExchangeService.ListAgencies with an
# agency's mutual-TLS certificate, as an operator would against a
# deployment; prints ghz's summary and stops the hub.
#
# Environment: BIN (lthub), GHZ (the ghz binary), GHZ_CALL (default
# lienthong.v1.ExchangeService.ListAgencies), GHZ_DATA (request JSON,
# default {"under":"000.00.31.H53"}: one district's subtree), GHZ_N
# (requests, default 20000), GHZ_C (concurrent workers, default 50),
# GHZ_CONNS (connections, default 4), GHZ_AGENCY (the agency whose
# certificate ghz presents, default 000.01.31.H53, a commune).
set -euo pipefail
BIN=${BIN:-$(pwd)/bin}
GHZ=${GHZ:-ghz}
call=${GHZ_CALL:-lienthong.v1.ExchangeService.ListAgencies}
data=${GHZ_DATA:-'{"under":"000.00.31.H53"}'}
agency=${GHZ_AGENCY:-000.01.31.H53}
root=$(cd "$(dirname "$0")/.." && pwd)

work=$(mktemp -d "${TMPDIR:-/tmp}/lienthong-ghz.XXXXXX")
hub_pid=""
cleanup() {
  if [ -n "$hub_pid" ] && kill -0 "$hub_pid" 2>/dev/null; then kill -TERM "$hub_pid"; wait "$hub_pid" || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

"$BIN/lthub" init --sample --dir "$work/hub" >/dev/null
# Port 0: the hub picks a free port and prints "lthub: serving on ADDR".
"$BIN/lthub" serve --dir "$work/hub" --listen 127.0.0.1:0 >"$work/hub.out" 2>"$work/hub.log" &
hub_pid=$!
addr=""
for _ in $(seq 100); do
  addr=$(sed -n 's/^lthub: serving on \([^ ]*\).*/\1/p' "$work/hub.out" 2>/dev/null | head -1)
  [ -n "$addr" ] && break
  kill -0 "$hub_pid" 2>/dev/null || { cat "$work/hub.log" >&2; exit 1; }
  sleep 0.1
done
[ -n "$addr" ] || { echo "ghz.sh: the hub did not start; its log:" >&2; cat "$work/hub.log" >&2; exit 1; }

id=$work/hub/agencies/$agency
echo "ghz: $call $data against the hub on $addr as $agency (mutual TLS)"
cmd=("$GHZ" --cacert "$id/ca.pem" --cert "$id/cert.pem" --key "$id/key.pem"
  --proto "$root/proto/lienthong/v1/exchange.proto" --import-paths "$root/proto"
  --call "$call" -d "$data"
  -n "${GHZ_N:-20000}" -c "${GHZ_C:-50}" --connections "${GHZ_CONNS:-4}"
  "$addr")
printf '%q ' "${cmd[@]}"
echo
"${cmd[@]}"
