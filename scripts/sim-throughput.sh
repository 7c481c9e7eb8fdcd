#!/usr/bin/env bash
# sim-throughput.sh — measures `camload sim` against its ceiling, in one run:
#   1. snapshot responses/s of `camload sim --cameras 1000 --hosts 1 --latency 0
#      --fault-rate 0` over keep-alive loopback, with wrk rotating over all
#      1000 cameras;
#   2. the same client against a plain net/http server serving the same bytes
#      (scripts/sim-ceiling), the ceiling; then the ratio (goal: ≥ 20,000/s and
#      ≥ 70 % of the ceiling);
#   3. start-up time and RSS of a 10,000-camera fleet (idle, then after load).
#
# Measured 2026-11-25 on the shared 2-core machine (load average ~5 from
# other builds), `ROUNDS=3 scripts/sim-throughput.sh 10`:
#   sim 30,887 snapshots/s, ceiling 33,453/s (92.3 %); 10,000 cameras start
#   in 0.65 s, RSS 42 MB idle, 46 MB after load. Under load average 8–11 the
#   absolute numbers fall to 12–16k/s for both; the ratio stays 76–96 %.
#
# Usage: scripts/sim-throughput.sh [seconds per wrk run, default 10]
#        (env: CONNS=32 THREADS=2 ROUNDS=2)
# Needs: go, wrk (apt-get install -y wrk), curl.
set -euo pipefail
cd "$(dirname "$0")/.."
DUR=${1:-10}
CONNS=${CONNS:-32}   # ≤ the fleet's default capacity (32 in service + 64 queued)
THREADS=${THREADS:-2}
ROUNDS=${ROUNDS:-2}  # alternating sim/ceiling runs; the best of each counts
WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -INT "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

command -v wrk >/dev/null || { echo "wrk not found (apt-get install -y wrk)" >&2; exit 1; }
go build -o "$WORK/camload" ./cmd/camload
go build -o "$WORK/sim-ceiling" ./scripts/sim-ceiling

# wait_line FILE PATTERN: wait up to 30 s for PATTERN in FILE.
wait_line() {
  for _ in $(seq 300); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
  echo "timed out waiting for '$2' in $1:" >&2; cat "$1" >&2; exit 1
}

cat > "$WORK/rotate.lua" <<'LUA'
-- every request asks for the next of 1000 cameras, with a cache-buster
local i = 0
request = function()
  i = i % 1000 + 1
  return wrk.format("GET", string.format("/cameras/cam-%05d/snapshot.jpg?t=%d", i, i))
end
LUA

# run_wrk URL → prints "req/s non2xx"
run_wrk() {
  local out
  out=$(wrk -t"$THREADS" -c"$CONNS" -d"${DUR}s" --latency -s "$WORK/rotate.lua" "$1")
  echo "$out" >&2
  local rps non
  rps=$(echo "$out" | awk '/^Requests\/sec:/ {print $2}')
  non=$(echo "$out" | awk '/Non-2xx or 3xx responses:/ {print $5}')
  echo "$rps ${non:-0}"
}

echo "== camload sim --cameras 1000 --hosts 1 --latency 0 --fault-rate 0" >&2
"$WORK/camload" sim --cameras 1000 --hosts 1 --latency 0 --fault-rate 0 --listen 127.0.0.1:0 >"$WORK/sim.out" 2>&1 &
PIDS+=($!)
wait_line "$WORK/sim.out" '^hosts'
HOST=$(awk '/^hosts/ {print $2}' "$WORK/sim.out")
"$WORK/sim-ceiling" -from "$HOST" -cameras 1000 >"$WORK/ceiling.out" 2>&1 &
PIDS+=($!)
wait_line "$WORK/ceiling.out" '^listening'
CEIL=$(awk '/^listening/ {print $2}' "$WORK/ceiling.out")

# Alternate the two ROUNDS times and keep each one's best run, so a burst of
# load from other processes on the machine does not decide the ratio.
SIM_RPS=0 SIM_NON=0 CEIL_RPS=0 CEIL_NON=0
for _ in $(seq "$ROUNDS"); do
  read -r r n < <(run_wrk "$HOST")
  SIM_NON=$((SIM_NON + n))
  if awk -v a="$r" -v b="$SIM_RPS" 'BEGIN {exit !(a > b)}'; then SIM_RPS=$r; fi
  read -r r n < <(run_wrk "$CEIL")
  CEIL_NON=$((CEIL_NON + n))
  if awk -v a="$r" -v b="$CEIL_RPS" 'BEGIN {exit !(a > b)}'; then CEIL_RPS=$r; fi
done

echo "== 10,000 cameras: start-up and RSS" >&2
T0=$(date +%s.%N)
"$WORK/camload" sim --cameras 10000 --hosts 10 --listen 127.0.0.1:0 >"$WORK/big.out" 2>&1 &
BIG=$!
PIDS+=($BIG)
wait_line "$WORK/big.out" '^hosts'
CTL=$(awk '/^control/ {print $2}' "$WORK/big.out")
curl -fsS "$CTL/healthz" >/dev/null
T1=$(date +%s.%N)
RSS_IDLE=$(awk '/^VmRSS/ {print $2}' "/proc/$BIG/status")
BIGHOST=$(awk '/^hosts/ {print $2}' "$WORK/big.out")
wrk -t2 -c32 -d3s -s "$WORK/rotate.lua" "$BIGHOST" >/dev/null 2>&1 || true
RSS_LOAD=$(awk '/^VmRSS/ {print $2}' "/proc/$BIG/status")
RSS_PEAK=$(awk '/^VmHWM/ {print $2}' "/proc/$BIG/status")

awk -v s="$SIM_RPS" -v c="$CEIL_RPS" -v sn="$SIM_NON" -v cn="$CEIL_NON" -v d="$DUR" -v conns="$CONNS" -v rounds="$ROUNDS" \
    -v st="$(echo "$T1 - $T0" | bc)" -v ri="$RSS_IDLE" -v rl="$RSS_LOAD" -v rp="$RSS_PEAK" 'BEGIN {
  printf "sim throughput:   %10.0f snapshots/s (non-2xx: %d)  [best of %d × wrk %ss, %d conns, keep-alive, 1000 cameras]\n", s, sn, rounds, d, conns
  printf "ceiling:          %10.0f responses/s (non-2xx: %d)  [plain net/http, same bytes]\n", c, cn
  printf "ratio:            %10.1f %%   (goal ≥ 70 %%; ≥ 20,000/s: %s)\n", 100*s/c, (s >= 20000 ? "yes" : "no")
  printf "10k cameras:      start-up %.2f s (goal < 2 s); RSS idle %.0f MB, after load %.0f MB, peak %.0f MB (goal < 200 MB)\n", st, ri/1024, rl/1024, rp/1024
}'
