#!/usr/bin/env bash
# soak.sh — `make soak`: the system under test (camload serve --mode batched,
# embedded backends) cycling continuously against a 1000-camera fleet with 2 %
# faults, sampled every SOAK_EVERY seconds for SOAK_DURATION: resident memory
# (VmRSS), goroutines (go_goroutines), open file descriptors (/proc/PID/fd)
# and cycles completed. Prints a Markdown table and the RSS slope (least
# squares over the samples after the first 20 %, the warm-up) in MiB/hour;
# the trend of goroutines and FDs is their first vs last value after warm-up.
#
# Usage: scripts/soak.sh                          # 10 minutes
#        SOAK_DURATION=3600 scripts/soak.sh       # an hour (make soak SOAK_DURATION=3600)
# Env: SOAK_DURATION (seconds, default 600), SOAK_EVERY (30), SOAK_CAMERAS
#      (1000), SOAK_HOSTS (10), SOAK_FAULT_RATE (0.02), SOAK_INTERVAL (5s,
#      one cycle started every INTERVAL), SOAK_PORT (18700: the fleet's
#      control port; its hosts take the next SOAK_HOSTS ports), BIN
#      (bin/camload), SOAK_OUT (a directory for the logs; default a temp dir).
# Everything listens on 127.0.0.1 and is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${SOAK_DURATION:-600}
EVERY=${SOAK_EVERY:-30}
CAMERAS=${SOAK_CAMERAS:-1000}
HOSTS=${SOAK_HOSTS:-10}
FAULTS=${SOAK_FAULT_RATE:-0.02}
INTERVAL=${SOAK_INTERVAL:-5s}
PORT=${SOAK_PORT:-18700}
BIN=${BIN:-bin/camload}
OUT=${SOAK_OUT:-$(mktemp -d)}
mkdir -p "$OUT"
[ -x "$BIN" ] || { echo "soak: $BIN missing (make build)" >&2; exit 2; }

PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT

"$BIN" sim --cameras "$CAMERAS" --hosts "$HOSTS" --listen "127.0.0.1:$PORT" \
  --fault-rate "$FAULTS" --fetch-log 0 >"$OUT/sim.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do
  curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done

"$BIN" serve --mode batched --fleet "http://127.0.0.1:$PORT" --listen 127.0.0.1:0 --admin 127.0.0.1:0 \
  --interval "$INTERVAL" --ready-file "$OUT/ready.json" --log-level warn >"$OUT/serve.log" 2>&1 &
SERVE=$!
PIDS+=($SERVE)
for _ in $(seq 600); do
  [ -s "$OUT/ready.json" ] && break
  kill -0 "$SERVE" 2>/dev/null || { echo "soak: serve exited:" >&2; tail -20 "$OUT/serve.log" >&2; exit 1; }
  sleep 0.1
done
[ -s "$OUT/ready.json" ] || { echo "soak: serve not ready within 60s" >&2; exit 1; }
ADMIN=$(sed -E 's/.*"admin":"([^"]+)".*/\1/' "$OUT/ready.json")

metric() { # metric NAME: the sum of NAME's samples on /metrics
  curl -fsS "$ADMIN/metrics" 2>/dev/null | awk -v n="$1" '$1 == n || index($1, n "{") == 1 { s += $2 } END { printf "%d", s }'
}
echo "soak: batched, $CAMERAS cameras on $HOSTS hosts, faults $FAULTS, a cycle every $INTERVAL, ${DURATION}s sampled every ${EVERY}s; logs in $OUT" >&2
echo "soak: load average at start: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores" >&2
SAMPLES="$OUT/samples.tsv"
: >"$SAMPLES"
START=$(date +%s)
while :; do
  now=$(date +%s)
  t=$((now - START))
  kill -0 "$SERVE" 2>/dev/null || { echo "soak: serve died at ${t}s:" >&2; tail -20 "$OUT/serve.log" >&2; exit 1; }
  rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$SERVE/status")
  fds=$(ls "/proc/$SERVE/fd" | wc -l)
  printf '%d\t%d\t%d\t%d\t%d\t%d\n' "$t" "$rss" "$(metric go_goroutines)" "$fds" \
    "$(metric camload_cycle_seconds_count)" "$(metric camload_errors_total)" >>"$SAMPLES"
  [ "$t" -ge "$DURATION" ] && break
  sleep $((EVERY - ($(date +%s) - now) > 0 ? EVERY - ($(date +%s) - now) : 1))
done
echo "soak: load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

echo "| time | RSS MiB | goroutines | FDs | cycles | camera errors |"
echo "|---:|---:|---:|---:|---:|---:|"
awk -F'\t' '{ printf "| %dm%02ds | %.1f | %d | %d | %d | %d |\n", $1/60, $1%60, $2/1024, $3, $4, $5, $6 }' "$SAMPLES"
awk -F'\t' '
  { t[NR] = $1; r[NR] = $2 / 1024; g[NR] = $3; f[NR] = $4 }
  END {
    from = int(NR * 0.2) + 1
    n = NR - from + 1
    for (i = from; i <= NR; i++) { h = t[i] / 3600; sx += h; sy += r[i]; sxx += h * h; sxy += h * r[i] }
    d = n * sxx - sx * sx
    slope = d > 0 ? (n * sxy - sx * sy) / d : 0
    printf "\nRSS slope after warm-up: %+.1f MiB/hour over %d samples (%.1f → %.1f MiB); goroutines %d → %d; FDs %d → %d\n",
      slope, n, r[from], r[NR], g[from], g[NR], f[from], f[NR]
  }' "$SAMPLES"
