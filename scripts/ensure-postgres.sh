#!/usr/bin/env bash
# Make sure a PostgreSQL server answers on 127.0.0.1:5432 for the tests: use the one that runs,
# start an installed one, or install Debian's package and start it. Never skip: fail loudly.
set -euo pipefail
HOST=127.0.0.1 PORT=5432

ready() { command -v pg_isready >/dev/null && pg_isready -q -h "$HOST" -p "$PORT"; }

if ready; then echo "postgres: running on $HOST:$PORT"; exit 0; fi

SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
  echo "postgres: not installed; installing Debian's postgresql package"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql >/dev/null
fi
VERSION=$(ls /etc/postgresql | sort -V | tail -n1)
CONF=/etc/postgresql/$VERSION/main
# Trust local connections from loopback: these are throwaway test databases.
if ! grep -q "attendance-bot tests" "$CONF/pg_hba.conf"; then
  $SUDO sh -c "printf '# attendance-bot tests\nhost all all 127.0.0.1/32 trust\nhost all all ::1/128 trust\nlocal all all trust\n' | cat - '$CONF/pg_hba.conf' > /tmp/pg_hba && mv /tmp/pg_hba '$CONF/pg_hba.conf'"
fi
$SUDO pg_ctlcluster --skip-systemctl-redirect "$VERSION" main start || true
# If the package's own install already started it, the trust lines need a reload.
$SUDO pg_ctlcluster --skip-systemctl-redirect "$VERSION" main reload || true
for _ in $(seq 1 30); do ready && { echo "postgres: started"; exit 0; }; sleep 1; done
echo "postgres: could not start a server on $HOST:$PORT" >&2
exit 1
