#!/usr/bin/env bash
# wall-check.sh [SCREENSHOT.png]
#
# Checks the camera wall (`camload sim --ui`, simulator/ui.go) in headless
# Chromium (Debian's `chromium`): simulator.TestWallChromium starts a fleet
# of 48 cameras on 4 hosts with the wall, overloads host 0 (16 clients
# against 2 slots and 6 queue places) and loads the page, then asserts from
# the DOM the page built:
#   1. no script error (#js-errors, body[data-errors]) and no console
#      message or failed load;
#   2. one tile per camera, each with its thumbnail (a rendered frame, or
#      the placeholder when offline), serving and offline cameras shown;
#   3. one row per host with its req/s sparkline; host 0's queue filled;
#   4. the screenshot is a PNG of at least 10000 bytes.
# The screenshot goes to SCREENSHOT.png (default docs/camera-wall.png).
# Exit 0 pass, 1 a check failed, 2 Chromium missing.
#
# Chromium: $CAMLOAD_CHROMIUM, else `chromium` on PATH
# (apt-get install -y chromium).
set -euo pipefail
cd "$(dirname "$0")/.."

chromium=${CAMLOAD_CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}
if [ -z "$chromium" ] || [ ! -x "$chromium" ]; then
  echo "wall-check: chromium not found (install it or set CAMLOAD_CHROMIUM)" >&2
  exit 2
fi
png=$(realpath -m "${1:-docs/camera-wall.png}")
mkdir -p "$(dirname "$png")"
log=$(mktemp /tmp/wall-check.XXXXXX.log)

if CAMLOAD_CHROMIUM=$chromium CAMLOAD_WALL_PNG=$png \
  timeout 600 go test -count=1 -run '^TestWallChromium$' -v ./simulator >"$log" 2>&1; then
  grep -E '^(--- |ok|PASS)' "$log"
  echo "wall-check: ok   screenshot: $png ($(stat -c %s "$png") bytes)"
  rm -f "$log"
  exit 0
fi
grep -vE 'dbus|WARNING:|ERROR:(dbus|gpu)' "$log" | tail -40
echo "wall-check: FAIL (full log: $log)"
exit 1
