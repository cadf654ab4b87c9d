#!/usr/bin/env bash
# make compose-demo: build the image, start deploy/compose.yaml (a hub and
# three nodes), send a signed document from the commune to the district
# and the province, check both nodes stored it and the hub's /metrics
# counted it, then stop and remove the demo's containers and volumes.
# Needs a container engine (docker or podman with compose); without one it
# says so and exits 2. test/e2e/container_test.go runs the same entrypoint
# and environment as plain processes where no engine is available.
set -euo pipefail
cd "$(dirname "$0")/.."

engine=""
for e in docker podman; do
  if command -v "$e" >/dev/null 2>&1 && "$e" info >/dev/null 2>&1; then engine=$e; break; fi
done
if [ -z "$engine" ]; then
  echo "compose-demo: không có công cụ chạy container (no container engine available):" >&2
  if command -v docker >/dev/null 2>&1; then
    echo "  the docker CLI is installed but no engine answers (docker info fails: is dockerd running?)." >&2
  else
    echo "  neither docker nor podman is installed." >&2
  fi
  echo "  Install and start Docker Engine or Podman, or run the image's start-up as plain processes:" >&2
  echo "  go test -count=1 -run TestContainerEntrypoint ./test/e2e/" >&2
  exit 2
fi
compose=("$engine" compose -f deploy/compose.yaml)
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
cleanup() { "${compose[@]}" down -v --remove-orphans >/dev/null 2>&1 || true; }
trap cleanup EXIT

say "$engine compose build + up"
"${compose[@]}" up -d --build

say "waiting for the hub (/readyz)"
for i in $(seq 60); do
  if curl -fsS http://127.0.0.1:9464/readyz 2>/dev/null; then break; fi
  [ "$i" = 60 ] && { "${compose[@]}" logs hub; echo "compose-demo: the hub did not become ready" >&2; exit 1; }
  sleep 1
done

district=000.00.31.H53
province=000.00.00.H53
say "the commune signs and sends 12/QĐ-UBND to the district and the province"
"${compose[@]}" exec -T commune sh -ec '
  samplepdf -out /tmp/draft.pdf
  ltnode sign /tmp/draft.pdf /tmp/qd-12.pdf --key "$LTNODE_ID/key.pem" --cert "$LTNODE_ID/cert.pem" --reason "Phát hành"
  LTNODE_DB=/data/send.db ltnode send --to '"$district,$province"' --file /tmp/qd-12.pdf \
    --number 12 --notation QĐ-UBND --subject "Thử nghiệm triển khai bằng container" --json' | tee /tmp/lienthong-compose-sent.json
msg=$(sed -n 's/.*"message_id": *"\([^"]*\)".*/\1/p' /tmp/lienthong-compose-sent.json | head -1)

for node in district province; do
  say "ltnode run at the $node stored it"
  for i in $(seq 60); do
    if "${compose[@]}" exec -T "$node" sh -c "ls /data/inbox/$msg/qd-12.pdf" 2>/dev/null; then break; fi
    [ "$i" = 60 ] && { "${compose[@]}" logs "$node"; echo "compose-demo: $node did not receive $msg" >&2; exit 1; }
    sleep 1
  done
done

say "the hub's /metrics"
curl -fsS http://127.0.0.1:9464/metrics | grep -E '^lienthong_(documents_accepted_total|acknowledgements_total|queue_pending|ready)[ {]'
say "compose-demo: OK"
