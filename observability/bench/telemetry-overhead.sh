#!/usr/bin/env bash
# Telemetry overhead benchmark (loopback only, bounded in time):
#   GET /api/v1/items/ throughput at 32 connections with trace export off
#   vs. 100% sampling exported to a local OTLP receiver (alternating runs,
#   compared round by round, since a shared machine's speed drifts), and
#   the /metrics scrape time (5 per second) while the server is busy.
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

run() { # $1 = mode; prints requests/s and requests; scrape times go to a file
  read -r api admin <<<"${ports[$1]}"
  local other idle_admin
  other=$([ "$1" = on ] && echo off || echo on)
  read -r _ idle_admin <<<"${ports[$other]}"
  wrk -t2 -c32 -d"${secs}s" -H "Authorization: Bearer ${tokens[$1]}" \
    "http://127.0.0.1:$api/api/v1/items/" >"$work/wrk-$1.txt" &
  local w=$!
  sleep 1
  local end=$((SECONDS + secs - 2))
  while [ "$SECONDS" -lt "$end" ]; do
    curl -fs -o /dev/null -w '%{time_total}\n' -H 'accept: application/openmetrics-text' \
      "http://127.0.0.1:$admin/metrics" >>"$work/scrapes-$1.txt"
    # Control: the idle server on the same, equally loaded machine.
    curl -fs -o /dev/null -w '%{time_total}\n' -H 'accept: application/openmetrics-text' \
      "http://127.0.0.1:$idle_admin/metrics" >>"$work/scrapes-idle.txt"
    sleep 0.2
  done
  wait "$w"
  rps=$(awk '/Requests\/sec/ {print $2}' "$work/wrk-$1.txt")
  requests=$(awk '/requests in/ {print $1}' "$work/wrk-$1.txt")
  echo "$rps $requests"
}

cpu_seconds() { awk -v hz="$(getconf CLK_TCK)" '{printf "%.2f", ($14 + $15) / hz}' "/proc/$1/stat"; }
mapfile -t started <"$work/pids" # receiver, export-off server, export-on server
cpu_before=("$(cpu_seconds "${started[0]}")" "$(cpu_seconds "${started[1]}")" "$(cpu_seconds "${started[2]}")")
echo "round  export off (req/s)  export on (req/s)  on/off"
: >"$work/rounds.txt"
for r in $(seq "$rounds"); do
  read -r off_rps off_requests < <(run off)
  read -r on_rps on_requests < <(run on)
  echo "$r $off_rps $on_rps $off_requests $on_requests" >>"$work/rounds.txt"
  python3 -c "print(f'{$r:<6} {$off_rps:<19.0f} {$on_rps:<18.0f} {100*$on_rps/$off_rps:.1f}%')"
done
# The sink prints its count every 5 s; the exporter batches for up to 5 s.
sleep 11
received=$(tail -1 "$work/sink.log" | awk '{print $NF}')
python3 - "$work" "$received" \
  "$(cpu_seconds "${started[0]}")" "$(cpu_seconds "${started[1]}")" "$(cpu_seconds "${started[2]}")" \
  "${cpu_before[@]}" <<'PY'
import statistics, sys
work, received = sys.argv[1], int(sys.argv[2])
after, before = list(map(float, sys.argv[3:6])), list(map(float, sys.argv[6:9]))
cpu_sink, cpu_off, cpu_on = (a - b for a, b in zip(after, before))
rounds = [list(map(float, l.split())) for l in open(f"{work}/rounds.txt")]
ratios = [on / off for _, off, on, _, _ in rounds]
off_mean = statistics.mean(r[1] for r in rounds)
on_mean = statistics.mean(r[2] for r in rounds)
print(f"export on / off: median of rounds {100*statistics.median(ratios):.1f}%, "
      f"ratio of means {100*on_mean/off_mean:.1f}% ({off_mean:.0f} vs {on_mean:.0f} req/s)")
off_requests = sum(r[3] for r in rounds)
on_requests = sum(r[4] for r in rounds)
print(f"spans received {received} for {on_requests:.0f} export-on requests "
      f"(+ setup: 1 login, 20 creates)")
print(f"CPU per request: export off {1e3*cpu_off/off_requests:.3f} ms; export on "
      f"{1e3*cpu_on/on_requests:.3f} ms + receiver {1e3*cpu_sink/on_requests:.3f} ms")
for name, what in (("off", "busy server, export off"), ("on", "busy server, export on"),
                   ("idle", "control: the idle server, same machine")):
    ms = sorted(1000 * float(t) for t in open(f"{work}/scrapes-{name}.txt"))
    p95 = ms[min(len(ms) - 1, int(0.95 * len(ms)))]
    print(f"/metrics, {what}: {len(ms)} scrapes, median {statistics.median(ms):.1f} ms, "
          f"p95 {p95:.1f} ms, max {ms[-1]:.1f} ms")
PY
