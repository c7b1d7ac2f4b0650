#!/usr/bin/env bash
# Telemetry overhead benchmark (loopback only, bounded in time):
#   GET /api/v1/items/ throughput at 32 connections with trace export off
#   vs. 100% sampling exported to a local OTLP receiver, and the /metrics
#   scrape time while the server is busy.
# Needs: wrk, curl, and release builds of `userhub` and the `otlp_sink` example:
#   cargo build --release -p userhub --bin userhub
#   cargo build --release -p userhub-telemetry --features testing --example otlp_sink
# Usage: observability/bench/telemetry-overhead.sh [SECONDS_PER_RUN] [ROUNDS]
set -euo pipefail
secs=${1:-10}
rounds=${2:-3}
target=${CARGO_TARGET_DIR:-target}
bin="$target/release/userhub"
sink="$target/release/examples/otlp_sink"
for tool in wrk curl "$bin" "$sink"; do
  command -v "$tool" >/dev/null || { echo "missing: $tool" >&2; exit 1; }
done
work=$(mktemp -d)
# Servers start inside command substitutions (subshells): their pids go to a
# file, not an array, so the cleanup can see them.
cleanup() {
  [ -f "$work/pids" ] && while read -r p; do kill "$p" 2>/dev/null || true; done <"$work/pids"
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

sink_port=$(free_port)
"$sink" "$sink_port" >"$work/sink.log" 2>&1 &
echo $! >>"$work/pids"

start_server() { # $1 = off|on; prints "api_port admin_port"
  local api admin
  api=$(free_port); admin=$(free_port)
  local env=(SECRET_KEY=bench-secret-key-0123456789abcdefghijklmnop
    DATABASE_URL="sqlite://$work/$1.db" USERHUB_DATA_DIR="$work"
    FIRST_SUPERUSER=admin@example.com FIRST_SUPERUSER_PASSWORD=bench-password-123
    USERHUB_BIND="127.0.0.1:$api" USERHUB_ADMIN_BIND="127.0.0.1:$admin"
    RUST_LOG=warn USERHUB_LOG_FORMAT=json)
  if [ "$1" = on ]; then
    env+=(OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$sink_port" OTEL_TRACES_SAMPLER=always_on)
  fi
  env "${env[@]}" "$bin" api >"$work/server-$1.log" 2>&1 &
  echo $! >>"$work/pids"
  for _ in $(seq 100); do
    curl -fs "http://127.0.0.1:$admin/readyz" >/dev/null 2>&1 && break
    sleep 0.1
  done
  echo "$api $admin"
}

token_for() {
  curl -fs -X POST "http://127.0.0.1:$1/api/v1/login/access-token" \
    -d 'username=admin@example.com&password=bench-password-123' |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])'
}

declare -A ports tokens
for mode in off on; do
  read -r api admin < <(start_server "$mode")
  ports[$mode]="$api $admin"
  tokens[$mode]=$(token_for "$api")
  for i in $(seq 20); do
    curl -fs -X POST "http://127.0.0.1:$api/api/v1/items/" -H "Authorization: Bearer ${tokens[$mode]}" \
      -H 'content-type: application/json' -d "{\"title\":\"item $i\"}" >/dev/null
  done
done

run() { # $1 = mode; prints requests/s and the slowest of 20 /metrics scrapes (ms)
  read -r api admin <<<"${ports[$1]}"
  wrk -t2 -c32 -d"${secs}s" -H "Authorization: Bearer ${tokens[$1]}" \
    "http://127.0.0.1:$api/api/v1/items/" >"$work/wrk-$1.txt" &
  local w=$!
  sleep 1
  local worst=0
  for _ in $(seq 20); do
    t=$(curl -fs -o /dev/null -w '%{time_total}' -H 'accept: application/openmetrics-text' "http://127.0.0.1:$admin/metrics")
    worst=$(python3 -c "print(max($worst, $t*1000))")
    sleep 0.2
  done
  wait "$w"
  rps=$(awk '/Requests\/sec/ {print $2}' "$work/wrk-$1.txt")
  requests=$(awk '/requests in/ {print $1}' "$work/wrk-$1.txt")
  echo "$rps $worst $requests"
}

echo "mode  round  requests/s  worst /metrics scrape (ms, 20 scrapes under load)"
declare -A total
total[off]=0; total[on]=0
exported_requests=0
for r in $(seq "$rounds"); do
  for mode in off on; do
    read -r rps worst requests < <(run "$mode")
    [ "$mode" = on ] && exported_requests=$((exported_requests + requests))
    printf '%-5s %-6s %-11s %.1f\n' "$mode" "$r" "$rps" "$worst"
    total[$mode]=$(python3 -c "print(${total[$mode]} + $rps)")
  done
done
python3 -c "off=${total[off]}/$rounds; on=${total[on]}/$rounds; print(f'mean off {off:.0f} req/s, on {on:.0f} req/s: export on = {100*on/off:.1f}% of off')"
# The sink prints its count every 5 s; the exporter batches for up to 5 s.
sleep 11
echo "export-on requests under load: $exported_requests (plus setup: 1 login, 20 creates)"
tail -1 "$work/sink.log"
cpu_seconds() { awk -v hz="$(getconf CLK_TCK)" '{printf "%.1f", ($14 + $15) / hz}' "/proc/$1/stat"; }
mapfile -t started <"$work/pids" # receiver, export-off server, export-on server
echo "CPU seconds used: receiver $(cpu_seconds "${started[0]}"), server export off $(cpu_seconds "${started[1]}"), server export on $(cpu_seconds "${started[2]}")"
