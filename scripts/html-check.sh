#!/usr/bin/env bash
# html-check.sh REPORT.html [OUT_DIR]
#
# Renders a camload HTML report in headless Chromium (Debian's `chromium`)
# and checks that it works with no network:
#   1. the charts render: the DOM Chromium built holds as many <svg> charts
#      as the file, each with drawn marks (rect/polyline);
#   2. no console output and no script error: the report has no script, so
#      any console message ("Uncaught …", console.error, a failed load) is
#      a fault;
#   3. the screenshot is a non-empty PNG.
# The DOM, console log and screenshot are left in OUT_DIR (default: a new
# temporary folder), printed at the end. Exit 0 pass, 1 a check failed,
# 2 usage error or Chromium missing.
#
# Chromium: $CAMLOAD_CHROMIUM, else `chromium` on PATH
# (apt-get install -y chromium).
set -euo pipefail

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
  echo "usage: $0 REPORT.html [OUT_DIR]" >&2
  exit 2
fi
html=$1
if [ ! -f "$html" ]; then
  echo "html-check: $html: no such file" >&2
  exit 2
fi
chromium=${CAMLOAD_CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}
if [ -z "$chromium" ] || [ ! -x "$chromium" ]; then
  echo "html-check: chromium not found (install it or set CAMLOAD_CHROMIUM)" >&2
  exit 2
fi
out=${2:-$(mktemp -d)}
mkdir -p "$out"
profile_dom=$(mktemp -d)
profile_shot=$(mktemp -d)
trap 'rm -rf "$profile_dom" "$profile_shot"' EXIT

url="file://$(realpath "$html")"
flags=(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run
  --disable-background-networking --disable-component-update --disable-sync
  --enable-logging=stderr --v=0)

# Bounded in time: a hung browser fails the check rather than the CI job.
timeout 120 "$chromium" "${flags[@]}" --user-data-dir="$profile_dom" \
  --dump-dom "$url" >"$out/dom.html" 2>"$out/console.log" || {
  echo "html-check: chromium --dump-dom failed (log: $out/console.log)" >&2
  exit 1
}
timeout 120 "$chromium" "${flags[@]}" --user-data-dir="$profile_shot" \
  --window-size=1280,2400 --hide-scrollbars --screenshot="$out/screenshot.png" "$url" \
  >/dev/null 2>>"$out/console.log" || {
  echo "html-check: chromium --screenshot failed (log: $out/console.log)" >&2
  exit 1
}

fail=0
want_svg=$(grep -o '<svg' "$html" | wc -l)
got_svg=$(grep -o '<svg' "$out/dom.html" | wc -l)
marks=$(grep -oE '<(rect|polyline)' "$out/dom.html" | wc -l)
if [ "$got_svg" -lt 1 ] || [ "$got_svg" -ne "$want_svg" ]; then
  echo "html-check: FAIL charts: $got_svg <svg> in the rendered DOM, $want_svg in the file"
  fail=1
elif [ "$marks" -lt "$got_svg" ]; then
  echo "html-check: FAIL charts: only $marks bars/lines drawn in $got_svg charts"
  fail=1
else
  echo "html-check: ok   charts: $got_svg svg charts rendered, $marks bars/lines"
fi

# Chromium logs every console message (log, error, uncaught exceptions) as
# INFO:CONSOLE; failed loads as net::ERR_.
if grep -E 'CONSOLE|Uncaught|console error|net::ERR_' "$out/console.log" >"$out/console-errors.txt"; then
  echo "html-check: FAIL console: $(wc -l <"$out/console-errors.txt") message(s):"
  sed 's/^/  /' "$out/console-errors.txt"
  fail=1
else
  echo "html-check: ok   console: no messages, no errors"
fi

size=$(stat -c %s "$out/screenshot.png" 2>/dev/null || echo 0)
magic=$(head -c 8 "$out/screenshot.png" 2>/dev/null | od -An -tx1 | tr -d ' \n')
if [ "$magic" != "89504e470d0a1a0a" ] || [ "$size" -lt 10000 ]; then
  echo "html-check: FAIL screenshot: $out/screenshot.png is $size bytes (want a PNG of at least 10000)"
  fail=1
else
  echo "html-check: ok   screenshot: $size bytes"
fi
echo "html-check: artifacts in $out"
exit $fail
