#!/bin/sh
# Installs lthub (the provincial hub) or ltnode (an agency's node) as a
# systemd service. Run as root from a checkout after `make build`:
#
#   deploy/install.sh hub  [--bin DIR]   # user lienthong, /var/lib/lienthong, lthub.service
#   deploy/install.sh node [--bin DIR]   # user vanthu, /var/lib/ltnode, ltnode-run.service
#
# It creates the system user, the data directories with their
# permissions, copies the binaries to /usr/local/bin and the unit to
# /etc/systemd/system, and reloads systemd. It starts nothing: the hub
# directory must be made first (`lthub init`, or a restored backup) and
# a node needs its identity; the lines printed at the end say how.
# Running it again upgrades the binaries and the unit and keeps the data.
#
# DESTDIR=/some/root installs into that tree instead (for packaging and
# tests): no user is created, nothing is chowned, systemd is not told.
set -eu

usage() { echo "usage: $0 hub|node [--bin DIR]" >&2; exit 2; }
[ $# -ge 1 ] || usage
role=$1; shift
here=$(cd "$(dirname "$0")" && pwd)
bin=$here/../bin
while [ $# -gt 0 ]; do
	case "$1" in
	--bin) [ $# -ge 2 ] || usage; bin=$2; shift 2 ;;
	*) usage ;;
	esac
done
dest=${DESTDIR:-}

case "$role" in
hub) user=lienthong; home=/var/lib/lienthong; unit=lthub.service; bins="lthub" ;;
node) user=vanthu; home=/var/lib/ltnode; unit=ltnode-run.service; bins="ltnode" ;;
*) usage ;;
esac

for b in $bins; do
	if [ ! -x "$bin/$b" ]; then
		echo "install: $bin/$b not found: run \`make build\` first, or give --bin DIR" >&2
		exit 1
	fi
done
if [ -z "$dest" ] && [ "$(id -u)" != 0 ]; then
	echo "install: run as root (or set DESTDIR to install into a staging tree)" >&2
	exit 1
fi

if [ -z "$dest" ] && ! id "$user" >/dev/null 2>&1; then
	useradd --system --home-dir "$home" --no-create-home --shell /usr/sbin/nologin \
		--comment "lienthong $role" "$user"
	echo "install: created system user $user"
fi

# The data directory is the service user's alone: it holds private keys
# (the hub's, the province CA's, or the agency's) and the database.
mkdir -p "$dest$home"
chmod 0700 "$dest$home"
if [ "$role" = node ]; then
	mkdir -p "$dest$home/den" "$dest$home/identity"
	chmod 0700 "$dest$home/identity"
	chmod 0750 "$dest$home/den"
fi
[ -z "$dest" ] && chown -R "$user:$user" "$home"

mkdir -p "$dest/usr/local/bin" "$dest/etc/systemd/system"
for b in $bins; do
	install -m 0755 "$bin/$b" "$dest/usr/local/bin/$b"
done
install -m 0644 "$here/$unit" "$dest/etc/systemd/system/$unit"

if [ -z "$dest" ] && command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
	systemctl daemon-reload
fi

echo "install: $role installed ($bins in /usr/local/bin, $unit, data in $home)"
if [ "$role" = hub ]; then
	cat <<EOT
Next (docs/operations.md, "Install"):
  sudo -u $user lthub init --dir $home ...        # or restore a backup into $home
  systemctl enable --now $unit
  curl -s http://127.0.0.1:9464/readyz            # {"status":"ready"}
EOT
else
	cat <<EOT
Next (docs/operations.md, "Install"):
  copy the agency's cert.pem, key.pem and ca.pem into $home/identity (owner $user, mode 0600 for key.pem)
  edit LTNODE_HUB in /etc/systemd/system/$unit (systemctl edit $unit), then
  systemctl enable --now $unit
EOT
fi
