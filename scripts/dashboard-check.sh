#!/usr/bin/env bash
# dashboard-check.sh [SCREENSHOT.png]
#
# Checks the live dashboard (package dashboard) in headless Chromium
# (Debian's `chromium`): dashboard.TestChromium serves a Hub on loopback
# with a synthetic run stopped in its last cell's capacity search, loads
# the page (/?once: the stream ends after the history, so Chromium's
# virtual time can finish), and asserts from the DOM the page built:
#   1. no script error (the page writes errors into #js-errors and
#      body[data-errors]) and no console message or failed load;
#   2. the plan (one button per cell, one running), the 9 charts drawn,
#      the finished cells' table with links into the run folder;
#   3. after the run ends: every cell in the table and report.html linked;
#   4. the screenshot is a PNG of at least 10000 bytes.
# The screenshot goes to SCREENSHOT.png (default docs/dashboard.png).
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

# Bounded in time: each Chromium run is bounded by the test, the whole by this.
if CAMLOAD_CHROMIUM=$chromium CAMLOAD_DASHBOARD_PNG=$png \
  timeout 600 go test -count=1 -run '^TestChromium$' -v ./dashboard >/tmp/dashboard-check.$$.log 2>&1; then
  grep -E '^(--- |ok|PASS)' /tmp/dashboard-check.$$.log
  echo "dashboard-check: ok   screenshot: $png ($(stat -c %s "$png") bytes)"
  rm -f /tmp/dashboard-check.$$.log
  exit 0
fi
grep -vE 'dbus|WARNING:|ERROR:(dbus|gpu)' /tmp/dashboard-check.$$.log | tail -40
echo "dashboard-check: FAIL (full log: /tmp/dashboard-check.$$.log)"
exit 1
