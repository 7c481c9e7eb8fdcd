#!/usr/bin/env bash
# dashboard-check.sh [SCREENSHOT.png]
#
# Checks the live dashboard (package dashboard, `camload run --dashboard`)
# in headless Chromium (Debian's `chromium`), in two stages.
#
# 1. The page's logic: dashboard.TestChromium serves a Hub on loopback with
#    a synthetic run stopped in its last cell's capacity search, loads the
#    page (/?once: the stream ends after the history, so Chromium's virtual
#    time can finish), and asserts from the DOM the page built: no script
#    error (#js-errors, body[data-errors]) and no console message or failed
#    load; the plan (one button per cell, one running), the 9 charts drawn,
#    the finished cells' table with links into the run folder; after the
#    run ends every cell in the table and report.html linked.
# 2. A real run: builds camload, runs `camload run scenarios/smoke.yaml
#    --dashboard 127.0.0.1:0` (embedded backends, 4 cells), loads the page
#    while the second cell runs and after the run ends, asserts the same
#    (no script error or console message, a plan button per cell, one
#    running, then every cell's row and report.html linked) and takes the
#    screenshot of the finished run: SCREENSHOT.png (default
#    docs/dashboard.png), a PNG of at least 10000 bytes.
# Exit 0 pass, 1 a check failed, 2 Chromium missing.
#
# Chromium: $CAMLOAD_CHROMIUM, else `chromium` on PATH
# (apt-get install -y chromium).
set -euo pipefail
cd "$(dirname "$0")/.."

chromium=${CAMLOAD_CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}
if [ -z "$chromium" ] || [ ! -x "$chromium" ]; then
  echo "dashboard-check: chromium not found (install it or set CAMLOAD_CHROMIUM)" >&2
  exit 2
fi
png=$(realpath -m "${1:-docs/dashboard.png}")
mkdir -p "$(dirname "$png")"

tmp=$(mktemp -d /tmp/dashboard-check.XXXXXX)
log=$tmp/test.log
fail() { echo "dashboard-check: FAIL: $*  (logs in $tmp)"; exit 1; }

# 1. Bounded in time: each Chromium run is bounded by the test, the whole by this.
if CAMLOAD_CHROMIUM=$chromium CAMLOAD_DASHBOARD_PNG=$tmp/synthetic.png \
  timeout 600 go test -count=1 -run '^TestChromium$' -v ./dashboard >"$log" 2>&1; then
  grep -E '^(--- |ok|PASS)' "$log"
else
  grep -vE 'dbus|WARNING:|ERROR:(dbus|gpu)' "$log" | tail -40
  fail "dashboard.TestChromium (full log: $log)"
fi

# 2. A real smoke run with the dashboard.
go build -o "$tmp/camload" ./cmd/camload
: >"$tmp/run.err" # exists before the background job opens it
"$tmp/camload" run --out "$tmp/run" --dashboard 127.0.0.1:0 --dashboard-linger 600s -q \
  scenarios/smoke.yaml >"$tmp/run.out" 2>"$tmp/run.err" &
pid=$!
trap 'kill -INT $pid 2>/dev/null || true' EXIT
url=
for _ in $(seq 1 300); do
  url=$(sed -n 's/^dashboard: \(http[^ ]*\)$/\1/p' "$tmp/run.err" | head -1 || true)
  [ -n "$url" ] && break
  kill -0 $pid 2>/dev/null || fail "camload run ended before serving the dashboard: $(cat "$tmp/run.err")"
  sleep 0.1
done
[ -n "$url" ] || fail "no dashboard URL on camload run's stderr"
wait_for() { # wait_for PATTERN SECONDS: until /history.json matches
  for _ in $(seq 1 $(($2 * 5))); do
    curl -fsS "${url}history.json" 2>/dev/null | grep -q "$1" && return 0
    kill -0 $pid 2>/dev/null || fail "camload run ended early: $(tail -5 "$tmp/run.err")"
    sleep 0.2
  done
  fail "no $1 in the history within $2 s"
}
chrome() { # chrome OUT ARGS…: headless Chromium on the snapshot page
  local out=$1; shift
  timeout 120 "$chromium" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --enable-logging=stderr --v=0 --user-data-dir="$tmp/profile" --virtual-time-budget=10000 \
    "$@" "${url}?once" >"$out" 2>"$out.log" || fail "chromium $*: $(tail -5 "$out.log")"
  if grep -E 'CONSOLE|Uncaught|net::ERR_' "$out.log"; then fail "console messages ($out.log)"; fi
}
count() { grep -o "$1" "$2" | wc -l; }
check() { # check FILE PATTERN N
  local n; n=$(count "$2" "$1")
  [ "$n" -eq "$3" ] || fail "$(basename "$1"): $n × '$2', want $3"
}
cells=4 # scenarios/smoke.yaml: 2 camera counts × 2 modes

wait_for '"cell":2,"cell_started"' 240
chrome "$tmp/running.html" --dump-dom
check "$tmp/running.html" '<body data-errors="0">' 1
check "$tmp/running.html" '<button type="button" id="plan-cell-' $cells
check "$tmp/running.html" 'class="running' 1
echo "dashboard-check: running page ok (second cell of $cells)"

wait_for '"kind":"run_finished"' 600
chrome "$tmp/finished.html" --dump-dom
check "$tmp/finished.html" '<body data-errors="0">' 1
check "$tmp/finished.html" '<tr id="cell-row-' $cells
check "$tmp/finished.html" 'href="files/report.html"' 1
check "$tmp/finished.html" 'href="files/cells/sync-10-r0/cpu.pb.gz"' 1
[ "$(count '<polyline' "$tmp/finished.html")" -ge 4 ] || fail "finished page: charts not drawn"
chrome "$tmp/shot.out" --window-size=1280,2300 --hide-scrollbars --screenshot="$png"
head -c 8 "$png" | grep -q PNG && [ "$(stat -c %s "$png")" -ge 10000 ] || fail "screenshot $png"
kill -INT $pid 2>/dev/null || true
wait $pid 2>/dev/null || true
trap - EXIT
echo "dashboard-check: ok   screenshot of a real smoke run: $png ($(stat -c %s "$png") bytes)"
rm -rf "$tmp"
