#!/usr/bin/env bash
# Local PostgreSQL 15 and Redis 7 on loopback, under a data folder of the caller's choice.
# Used by ./start, the test fixtures, bench/run and deploy/cluster, so that one piece of
# code knows how to run them (no system service configuration, works as root or not).
#
#   services.sh install                 install postgresql-15 / redis-server / wrk if missing (apt)
#   services.sh pg-start DIR PORT       initdb DIR if empty, start PostgreSQL on 127.0.0.1:PORT
#                                       (PG_PASSWORD set at initdb: user postgres gets it, TCP logins need it)
#   services.sh pg-stop DIR             stop it (fast shutdown)
#   services.sh pg-kill DIR             stop it abruptly (immediate shutdown: crash semantics)
#   services.sh redis-start DIR PORT    start Redis with AOF persistence in DIR on 127.0.0.1:PORT
#                                       (REDIS_PASSWORD set: clients must AUTH with it)
#   services.sh redis-stop DIR          stop it
#   services.sh watch PID DIR...        in the background, stop the services in DIRs when PID exits
set -euo pipefail

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}

as_postgres() {
  # PostgreSQL refuses to run as root: run it as the postgres system user when we are root.
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

need_install() {
  local missing=()
  [ -x "$PG_BIN/postgres" ] || missing+=(postgresql-15)
  command -v redis-server >/dev/null || missing+=(redis-server)
  [ "${WITH_WRK:-0}" = 1 ] && ! command -v wrk >/dev/null && missing+=(wrk)
  [ "${WITH_WRK:-0}" = 1 ] && ! [ -x "$PG_BIN/pgbench" ] && ! command -v pgbench >/dev/null && missing+=(postgresql-contrib)
  echo "${missing[@]:-}"
}

cmd=${1:-}; shift || true
case "$cmd" in
  install)
    pkgs=$(need_install)
    if [ -n "${pkgs// /}" ]; then
      echo "installing from Debian packages: $pkgs" >&2
      SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
      $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $pkgs >&2 \
        || { $SUDO apt-get update >&2 && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $pkgs >&2; }
    fi
    ;;
  pg-start)
    dir=$1; port=$2
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    if [ "$(id -u)" = 0 ]; then chown postgres: "$dir"; chmod 700 "$dir"; fi
    if [ ! -f "$dir/PG_VERSION" ]; then
      auth=(--auth=trust)
      if [ -n "${PG_PASSWORD:-}" ]; then
        # The socket (in the data folder, owner-only) stays trusted; TCP logins need the password.
        pwfile=$(mktemp) # mode 0600; in /tmp, which the postgres user can reach when we are root
        printf '%s\n' "$PG_PASSWORD" > "$pwfile"
        if [ "$(id -u)" = 0 ]; then chown postgres: "$pwfile"; fi
        auth=(--auth-local=trust --auth-host=scram-sha-256 "--pwfile=$pwfile")
      fi
      as_postgres "$PG_BIN/initdb" -D "$dir" -U postgres "${auth[@]}" --encoding=UTF8 --locale=C.UTF-8 >"$dir.initdb.log" 2>&1 \
        || { rm -f "${pwfile:-}"; cat "$dir.initdb.log" >&2; exit 1; }
      rm -f "${pwfile:-}"
    fi
    # Loopback only, socket in the data folder; synchronous_commit stays on (the default):
    # a receipt is acknowledged only after its commit is durable. Checkpoints spaced out (the
    # defaults, 1 GB of WAL or 5 minutes, checkpoint a busy till day every few minutes, and each
    # checkpoint makes the next write of every page carry the whole page): durability unchanged,
    # only the crash-recovery replay gets longer (seconds).
    as_postgres "$PG_BIN/pg_ctl" -D "$dir" -l "$dir/server.log" -w -t 60 \
      -o "-p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories=$dir -c max_connections=300 -c shared_buffers=256MB -c max_wal_size=4GB -c min_wal_size=1GB -c checkpoint_timeout=15min ${PG_EXTRA_OPTS:-}" start >/dev/null
    ;;
  pg-stop)
    dir=$1
    [ -f "$dir/postmaster.pid" ] && as_postgres "$PG_BIN/pg_ctl" -D "$dir" -m fast -w stop >/dev/null || true
    ;;
  pg-kill)
    dir=$1
    [ -f "$dir/postmaster.pid" ] && as_postgres "$PG_BIN/pg_ctl" -D "$dir" -m immediate -w stop >/dev/null || true
    ;;
  redis-start)
    dir=$1; port=$2
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    # The password goes in a config file (owner-only), not on the command line where ps shows it.
    conf="$dir/redis.conf"
    (umask 077; : > "$conf"; [ -z "${REDIS_PASSWORD:-}" ] || printf 'requirepass %s\n' "$REDIS_PASSWORD" > "$conf")
    # AOF on: Redis that forgets membership on restart leaves silos retrying forever.
    redis-server "$conf" --bind 127.0.0.1 --port "$port" --dir "$dir" --appendonly yes --save "" \
      --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" --protected-mode no
    for _ in $(seq 100); do
      if [ -n "${REDIS_PASSWORD:-}" ]; then
        REDISCLI_AUTH="$REDIS_PASSWORD" redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null | grep -q PONG && exit 0
      else
        redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null | grep -q PONG && exit 0
      fi
      sleep 0.1
    done
    echo "redis did not start on port $port" >&2; exit 1
    ;;
  redis-stop)
    dir=$1
    if [ -f "$dir/redis.pid" ]; then
      pid=$(cat "$dir/redis.pid")
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      rm -f "$dir/redis.pid"
    fi
    ;;
  watch)
    # Tests may be killed without running their clean-up; this outlives them and cleans up after.
    owner=$1; shift
    self=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
    (
      while kill -0 "$owner" 2>/dev/null; do sleep 1; done
      for dir in "$@"; do
        [ -f "$dir/redis.pid" ] && "$self" redis-stop "$dir"
        [ -f "$dir/postmaster.pid" ] && "$self" pg-stop "$dir"
      done
    ) </dev/null >/dev/null 2>&1 &
    ;;
  *)
    sed -n '2,12p' "$0" >&2; exit 2 ;;
esac
