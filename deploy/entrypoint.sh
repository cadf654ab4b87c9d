#!/bin/sh
# Entrypoint of the lienthong container image (Containerfile), also run
# as a plain process by test/e2e/container_test.go with the same
# environment. One argument chooses the role; the rest go to the command.
#
#   hub   lthub serve on the hub directory LTHUB_DIR (default /data/hub).
#         LTHUB_LISTEN (0.0.0.0:7443), LTHUB_METRICS_LISTEN (0.0.0.0:9464:
#         inside a container loopback would hide it from Prometheus; publish
#         it only on a private network), LTHUB_HTTP (unset: no dashboard).
#         With LTHUB_INIT=sample and no hub in LTHUB_DIR yet, first runs
#         `lthub init --sample` (the demo's sample province) with
#         LTHUB_INIT_FLAGS added.
#   node  ltnode run for the agency identity LTNODE_ID (D/agencies/CODE),
#         hub LTNODE_HUB, register LTNODE_DB, documents into LTNODE_OUT
#         (default /data/inbox).
#
# Only /data (and /tmp) is written: the image runs with a read-only root.
set -eu

role=${1:-hub}
[ $# -gt 0 ] && shift

case "$role" in
hub)
	dir=${LTHUB_DIR:-/data/hub}
	if [ ! -e "$dir/ca/ca.pem" ]; then
		if [ "${LTHUB_INIT:-}" != sample ]; then
			echo "lienthong: không có trục trong $dir: chạy \`lthub init --dir $dir\` (hoặc khôi phục bản sao lưu) vào volume dữ liệu trước (no hub directory in $dir)" >&2
			exit 78
		fi
		flags=${LTHUB_INIT_FLAGS:-}
		# Builds whose init makes a production province by default take
		# --sample for the demo's; earlier ones made the sample unasked.
		if lthub init -h 2>&1 | grep -q -- '-sample'; then
			flags="--sample $flags"
		fi
		# shellcheck disable=SC2086 # a list of flags
		lthub init --dir "$dir" $flags
	fi
	set -- serve --dir "$dir" --listen "${LTHUB_LISTEN:-0.0.0.0:7443}" \
		--metrics-listen "${LTHUB_METRICS_LISTEN:-0.0.0.0:9464}" \
		${LTHUB_HTTP:+--http "$LTHUB_HTTP"} "$@"
	exec lthub "$@"
	;;
node)
	: "${LTNODE_HUB:?LTNODE_HUB: địa chỉ trục HOST:PORT (hub address)}"
	: "${LTNODE_ID:?LTNODE_ID: thư mục định danh cơ quan D/agencies/CODE (agency identity)}"
	exec ltnode run --out "${LTNODE_OUT:-/data/inbox}" "$@"
	;;
*)
	exec "$role" "$@"
	;;
esac
