#!/usr/bin/env bash
# A short measurement of the large-set reads (issue 12) against an already seeded database:
# starts the Release API as bench/run does, exports the scenario data as bench/run does, warms
# up (3 s per scenario, as bench/run), then runs search and barcode scan for SECONDS each and
# prints RPS, p99 and CPU per request of the API process and of PostgreSQL (from /proc, so the
# figures do not depend on what else the machine is doing as much as RPS does).
#   bench/large-reads.sh PG_PORT REDIS_PORT [SECONDS] [--cold]
# The barcode scenario is warmed 3 s as in bench/run; --cold skips that, so every scan of the
# short run meets a cold cache.
set -euo pipefail
cd "$(dirname "$0")/.."
pg_port=$1 redis_port=$2 seconds=${3:-8} cold=${4:-}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
work=$(mktemp -d /tmp/jowishop-reads.XXXXXX)
api_port=$(free_port)
db="Host=127.0.0.1;Port=$pg_port;Username=postgres;Database=bench;Maximum Pool Size=200"
api_dir="${API_DIR:-$(pwd)/src/ApiHost/bin/Release/net10.0}" # API_DIR: another build, e.g. of main, to compare
env ASPNETCORE_ENVIRONMENT=Production Jwt__SigningKey="$(head -c 48 /dev/urandom | base64 | tr -d '\n')" Jwt__AccessTokenLifetime=06:00:00 \
  ConnectionStrings__Postgres="$db" ConnectionStrings__Redis="127.0.0.1:$redis_port" \
  Orleans__ClusterId="reads-$(date +%s)" Orleans__SiloPort="$(free_port)" Orleans__GatewayPort="$(free_port)" \
  Logging__LogLevel__Default=Warning "Logging__LogLevel__Microsoft.AspNetCore.HttpLogging.HttpLoggingMiddleware=Warning" \
  dotnet "$api_dir/JowiShop.ApiHost.dll" --contentRoot "$api_dir" --urls "http://127.0.0.1:$api_port" > "$work/api.log" 2>&1 &
api_pid=$!
trap 'kill -TERM $api_pid 2>/dev/null; wait $api_pid 2>/dev/null; rm -rf "$work"' EXIT
api="http://127.0.0.1:$api_port"
for _ in $(seq 240); do curl -fs "$api/api/v1/health" >/dev/null 2>&1 && break; sleep 0.5; done
token=$(curl -fs "$api/api/v1/auth/login" -H 'content-type: application/json' \
  -d '{"login":"admin@jowi.shop","password":"Admin#12345"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["accessToken"])')
bench/export-data.sh "$work" 0a000000-0000-4000-8000-000000000001 -h 127.0.0.1 -p "$pg_port" -U postgres -d bench
: > "$work/deletes.txt"
python3 bench/make-data.py "$work"
export BENCH_DATA="$work/data.lua" BENCH_TOKEN="$token" BENCH_THREADS=2 BENCH_SCENARIO=x
pg_pids() { pgrep -d' ' -f "postgres.*-p $pg_port" ; pgrep -d' ' -P "$(pgrep -o -f "postgres.*-p $pg_port")" ; }
cpu() { # total utime+stime in clock ticks of the given pids
  local t=0; for p in "$@"; do [ -r /proc/$p/stat ] && t=$((t + $(awk '{print $14+$15}' /proc/$p/stat))); done; echo $t; }
hz=$(getconf CLK_TCK)
# The search index activation (the whole load) before anything is measured.
start=$(date +%s.%N)
# (a load past the 5 s call timeout answers 503 while the activation goes on: ask again)
for _ in $(seq 12); do curl -fs -m 120 "$api/api/v1/search?query=pom&limit=10" -H "authorization: Bearer $token" >/dev/null && break; done
echo "first search (index activation): $(python3 -c "import time;print(round(time.time()-$start,2))") s"
# bench/run measures search a minute after start-up; 15 s of it take the JIT and the load's garbage out of the figure.
wrk -t2 -c10 -d15s -s bench/scenarios/search.lua "$api" >/dev/null 2>&1 || true
[ "$cold" = --cold ] || wrk -t2 -c10 -d3s -s bench/scenarios/barcode.lua "$api" >/dev/null 2>&1 || true
for s in ${SCENARIOS:-search barcode}; do
  pgs=$(pg_pids | tr '\n' ' ')
  a0=$(cpu $api_pid); p0=$(cpu $pgs); s0=$(awk '{print $1+$2+$3+$4+$5+$6+$7}' <(head -1 /proc/stat | cut -d' ' -f2-))
  out=$(wrk -t2 -c10 -d"${seconds}s" --latency -s "bench/scenarios/$s.lua" "$api" | grep '^JSON:' | cut -c6-)
  pgs2=$(pg_pids | tr '\n' ' ')
  a1=$(cpu $api_pid); p1=$(cpu $pgs2)
  python3 -c "
import json,sys
d=json.loads(sys.argv[1]); n=d['requests']; hz=int(sys.argv[6])
api=(int(sys.argv[3])-int(sys.argv[2]))/hz; pg=(int(sys.argv[5])-int(sys.argv[4]))/hz
print(f\"{sys.argv[7]:8s} rps {d['rps']:8.0f}  p50 {d['p50Ms']:.2f} ms  p99 {d['p99Ms']:.2f} ms  errors {d['non2xx']+d['socketErrors']}  API CPU {api*1e6/max(n,1):6.0f} us/req  PostgreSQL CPU {pg*1e6/max(n,1):6.0f} us/req (approx.: backends that ended are not counted)\")
" "$out" "$a0" "$a1" "$p0" "$p1" "$hz" "$s"
done
echo "API memory: $(awk '/VmHWM|VmRSS/ {printf "%s %d MB  ", $1, $2/1024}' /proc/$api_pid/status)"
grep -iE "error|exception" "$work/api.log" | head -5 || true
