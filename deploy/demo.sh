#!/usr/bin/env bash
# make demo: one whole exchange on embedded defaults, on loopback.
# A commune sends a real PDF to its district and to the province; both
# receive it; the sender tracks the hub-signed receipts; the hub stops.
set -euo pipefail
BIN=${BIN:-$(pwd)/bin}
work=$(mktemp -d "${TMPDIR:-/tmp}/lienthong-demo.XXXXXX")
hub_pid=""
cleanup() {
  if [ -n "$hub_pid" ] && kill -0 "$hub_pid" 2>/dev/null; then kill -TERM "$hub_pid"; wait "$hub_pid" || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "lthub init: PKI thử nghiệm và danh bạ mẫu (dev PKI and sample province) in $work/hub"
"$BIN/lthub" init --sample --dir "$work/hub" | tee "$work/codes.txt"
province=$(sed -n 1p "$work/codes.txt")
district=000.00.31.H53
commune=000.01.31.H53

say "lthub serve on 127.0.0.1 (random port)"
port=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])' 2>/dev/null || echo 17443)
"$BIN/lthub" serve --dir "$work/hub" --listen "127.0.0.1:$port" --http 127.0.0.1:0 >"$work/hub.out" 2>"$work/hub.log" &
hub_pid=$!
for _ in $(seq 50); do grep -q serving "$work/hub.out" 2>/dev/null && break; sleep 0.1; done
cat "$work/hub.out"
export LTNODE_HUB=127.0.0.1:$port

say "A real PDF (văn bản mẫu), signed twice: the commune's leader, then the commune's seal"
"$BIN/samplepdf" -out "$work/draft.pdf"
ag=$work/hub/agencies/$commune
"$BIN/ltnode" sign "$work/draft.pdf" "$work/leader.pdf" --key "$ag/leader/key.pem" --cert "$ag/leader/cert.pem" --reason "Ký duyệt"
"$BIN/ltnode" sign "$work/leader.pdf" "$work/qd-12.pdf" --key "$ag/key.pem" --cert "$ag/cert.pem" --reason "Phát hành"
"$BIN/ltnode" verify "$work/qd-12.pdf" --trust "$work/hub/ca/ca.pem"

say "ltnode send: xã $commune → huyện $district và tỉnh $province"
LTNODE_ID=$work/hub/agencies/$commune "$BIN/ltnode" send \
  --to "$district,$province" --file "$work/qd-12.pdf" \
  --number 12 --notation QĐ-UBND --subject "Quyết định ban hành Kế hoạch chuyển đổi số năm 2027" \
  --json | tee "$work/sent.json"
echo "(the hub checked both PDF signatures and the envelope signature: see \"verification\" above)"
msg=$(python3 -c 'import json,sys;print(json.load(open(sys.argv[1]))["message_id"])' "$work/sent.json" 2>/dev/null \
  || sed -n 's/.*"message_id": "\([^"]*\)".*/\1/p' "$work/sent.json")

for who in "$district" "$province"; do
  say "ltnode inbox at $who"
  LTNODE_ID=$work/hub/agencies/$who "$BIN/ltnode" inbox --out "$work/inbox-$who"
  sha256sum "$work/qd-12.pdf" "$work/inbox-$who/$msg/qd-12.pdf"
done

say "The district reports processing steps (đã tiếp nhận → phân công → hoàn thành)"
for st in received assigned done; do
  LTNODE_ID=$work/hub/agencies/$district "$BIN/ltnode" status "$msg" "$st"
done

say "Group send: the province sends one decision to every commune of district $district"
prov=$work/hub/agencies/$province
"$BIN/samplepdf" -out "$work/draft2.pdf" -title "Quyet dinh giao chi tieu cho cac xa"
"$BIN/ltnode" sign "$work/draft2.pdf" "$work/qd-30.pdf" --key "$prov/key.pem" --cert "$prov/cert.pem" --reason "Phát hành" >/dev/null
LTNODE_ID=$prov "$BIN/ltnode" send --to "commune:$district" --file "$work/qd-30.pdf" \
  --number 30 --notation QĐ-UBND --subject "Giao chỉ tiêu năm 2027 cho các xã" --due "$(date -d "+30 days" +%F)"
for c in 000.01.31.H53 000.02.31.H53 000.03.31.H53; do
  LTNODE_ID=$work/hub/agencies/$c "$BIN/ltnode" inbox --out "$work/inbox-$c"
done

say "Timeline of 12/QĐ-UBND at the sender (the commune got the district's steps as signed notifications in its inbox above)"
LTNODE_ID=$work/hub/agencies/$commune "$BIN/ltnode" track "$msg"

say "Sổ văn bản đi of the commune (sent register)"
LTNODE_ID=$work/hub/agencies/$commune "$BIN/ltnode" register sent

say "Declarations: the commune issued 13/QĐ-UBND on paper and 14/QĐ-UBND secret (never sent over the hub)"
LTNODE_ID=$work/hub/agencies/$commune "$BIN/ltnode" declare --kind paper --number 13 --notation QĐ-UBND --date "$(date +%F)" --type "Quyết định"
LTNODE_ID=$work/hub/agencies/$commune "$BIN/ltnode" declare --kind secret --number 14 --notation QĐ-UBND --date "$(date +%F)"

say "lthub report: electronic rate this year, per agency and level (operator certificate, admin gRPC)"
"$BIN/lthub" report --dir "$work/hub" --hub "127.0.0.1:$port" --agency "$commune"
"$BIN/lthub" report --dir "$work/hub" --hub "127.0.0.1:$port" --format json | python3 -c '
import json,sys
r=json.load(sys.stdin)["province"]
print("toàn tỉnh: %d điện tử, %d giấy, %d mật (không tính); tỷ lệ điện tử %.1f%%" % (r["electronic"], r["paper"], r["secret"], 100*r["electronic_rate"]))' 2>/dev/null || true
"$BIN/lthub" counters check --dir "$work/hub" --hub "127.0.0.1:$port"
dash=$(sed -n 's|^lthub: dashboard on \(http://[^ ]*\)$|\1|p' "$work/hub.out")
echo "dashboard (Vietnamese, read-only): $dash"
curl -fsS "${dash}report.json" >/dev/null 2>&1 && echo "dashboard answers: ${dash}report.json" || true

say "stopping the hub (graceful)"
kill -TERM "$hub_pid"; wait "$hub_pid"; hub_pid=""
echo "done."
