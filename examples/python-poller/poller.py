#!/usr/bin/env python3
"""A minimal camera poller: an external system for camload.

It follows the contract of docs/external-systems.md with the Python standard
library only (urllib + threads):

  * CAMLOAD_FLEET_URL is the fleet's control URL; GET /cameras lists every
    camera with its snapshotUrl.
  * It polls every camera continuously, one sweep after another, with
    POLLER_WORKERS threads (default 8), keeping the latest snapshot's hash
    per camera and skipping unchanged frames (the image changes only every
    few seconds).
  * It serves its API on CAMLOAD_API_ADDR (or --listen):
      GET  /healthz                        200 once the camera list is loaded
      GET  /api/v1/cameras?page=N&limit=M  the cameras, one page
      GET  /api/v1/cameras/{id}/latest     the latest observation (404 before)
      POST /cycle                          one sweep, answered when done
                                           (only with POLLER_MODE=triggered)
  * It exits when its stdin closes (the runner died) or on SIGTERM.

Run it by hand against `camload sim`:

  camload sim --cameras 100 &            # control API on 127.0.0.1:8700
  CAMLOAD_FLEET_URL=http://127.0.0.1:8700 CAMLOAD_API_ADDR=127.0.0.1:9000 \\
      python3 examples/python-poller/poller.py
"""

import argparse
import hashlib
import json
import os
import signal
import stat
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Store:
    """The latest observation of every camera, guarded by one lock."""

    def __init__(self):
        self.lock = threading.Lock()
        self.latest = {}

    def put(self, cam_id, obs):
        with self.lock:
            self.latest[cam_id] = obs

    def get(self, cam_id):
        with self.lock:
            return self.latest.get(cam_id)


class Poller:
    def __init__(self, fleet_url, workers, timeout):
        self.fleet_url = fleet_url.rstrip("/")
        self.workers = workers
        self.timeout = timeout
        self.cameras = []
        self.store = Store()
        self.sweeps = 0
        self.stop = threading.Event()
        self.cycle_lock = threading.Lock()

    def load_cameras(self, patience=30.0):
        """GET /cameras, retrying while the fleet starts."""
        deadline = time.monotonic() + patience
        while True:
            try:
                with urllib.request.urlopen(self.fleet_url + "/cameras", timeout=10) as resp:
                    self.cameras = json.load(resp)
                return
            except (urllib.error.URLError, OSError):
                if time.monotonic() > deadline or self.stop.is_set():
                    raise
                time.sleep(0.5)

    def fetch(self, cam):
        """Fetch one snapshot (a new connection each time: urllib does not
        keep connections alive) and store what came back."""
        url = cam["snapshotUrl"] + "?t=%d" % int(time.time() * 1000)
        obs = {"cameraId": cam["id"], "fetchedAt": time.time()}
        try:
            with urllib.request.urlopen(url, timeout=self.timeout) as resp:
                body = resp.read()
                obs["status"] = resp.status
        except urllib.error.HTTPError as e:
            obs["status"], obs["error"] = e.code, "http %d" % e.code
            body = None
        except (urllib.error.URLError, OSError) as e:
            obs["status"], obs["error"] = 0, str(getattr(e, "reason", e))
            body = None
        if body is not None:
            digest = hashlib.sha256(body).hexdigest()
            prev = self.store.get(cam["id"])
            obs["bytes"] = len(body)
            obs["sha256"] = digest
            obs["changed"] = prev is None or prev.get("sha256") != digest
        self.store.put(cam["id"], obs)
        return "error" not in obs

    def sweep(self):
        """Fetch every camera once with the worker threads."""
        t0 = time.monotonic()
        pending = list(reversed(self.cameras))
        lock = threading.Lock()
        errors = [0]

        def work():
            while not self.stop.is_set():
                with lock:
                    if not pending:
                        return
                    cam = pending.pop()
                if not self.fetch(cam):
                    with lock:
                        errors[0] += 1

        threads = [threading.Thread(target=work, daemon=True) for _ in range(self.workers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.sweeps += 1
        took = time.monotonic() - t0
        print("poller: sweep %d: %d cameras in %.3fs, %d errors"
              % (self.sweeps, len(self.cameras), took, errors[0]), flush=True)
        return took, errors[0]

    def run_continuously(self, interval):
        while not self.stop.is_set():
            took, _ = self.sweep()
            if interval > took:
                self.stop.wait(interval - took)


def make_handler(poller, triggered):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out at once

        def log_message(self, fmt, *args):  # quiet: load tests send thousands
            pass

        def send_json(self, code, obj):
            body = json.dumps(obj).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            u = urllib.parse.urlsplit(self.path)
            parts = [p for p in u.path.split("/") if p]
            if u.path == "/healthz":
                self.send_json(200, {"cameras": len(poller.cameras), "sweeps": poller.sweeps})
            elif parts == ["api", "v1", "cameras"]:
                q = urllib.parse.parse_qs(u.query)
                try:
                    page = max(int(q.get("page", ["1"])[0]), 1)
                    limit = min(max(int(q.get("limit", ["20"])[0]), 1), 1000)
                except ValueError:
                    self.send_json(400, {"error": "page and limit must be integers"})
                    return
                items = poller.cameras[(page - 1) * limit: page * limit]
                self.send_json(200, {"page": page, "limit": limit, "total": len(poller.cameras), "items": items})
            elif len(parts) == 5 and parts[:3] == ["api", "v1", "cameras"] and parts[4] == "latest":
                obs = poller.store.get(parts[3])
                if obs is None:
                    self.send_json(404, {"error": "no observation yet"})
                else:
                    self.send_json(200, obs)
            else:
                self.send_json(404, {"error": "not found"})

        def do_POST(self):
            if self.path != "/cycle" or not triggered:
                self.send_json(404, {"error": "not found (POST /cycle needs POLLER_MODE=triggered)"})
                return
            with poller.cycle_lock:
                took, errors = poller.sweep()
            self.send_json(200, {"cameras": len(poller.cameras), "seconds": took, "errors": errors})

    return Handler


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--listen", default=os.environ.get("CAMLOAD_API_ADDR", "127.0.0.1:9000"))
    ap.add_argument("--fleet", default=os.environ.get("CAMLOAD_FLEET_URL", "http://127.0.0.1:8700"))
    ap.add_argument("--workers", type=int, default=int(os.environ.get("POLLER_WORKERS", "8")))
    ap.add_argument("--timeout", type=float, default=float(os.environ.get("POLLER_TIMEOUT", "5")))
    ap.add_argument("--interval", type=float, default=float(os.environ.get("POLLER_INTERVAL", "0")),
                    help="least seconds from one sweep's start to the next (0 = back to back)")
    ap.add_argument("--mode", default=os.environ.get("POLLER_MODE", "continuous"),
                    choices=["continuous", "triggered"])
    args = ap.parse_args()

    poller = Poller(args.fleet, args.workers, args.timeout)
    host, _, port = args.listen.rpartition(":")
    server = ThreadingHTTPServer((host or "127.0.0.1", int(port)), make_handler(poller, args.mode == "triggered"))
    server.daemon_threads = True

    def shutdown(*_):
        poller.stop.set()
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)

    def watch_stdin():  # the runner holds our stdin; EOF means it is gone
        try:
            while sys.stdin.buffer.read(4096):
                pass
        except (OSError, ValueError):
            pass
        shutdown()

    if stat.S_ISFIFO(os.fstat(0).st_mode):  # a pipe: camload's runner
        threading.Thread(target=watch_stdin, daemon=True).start()

    poller.load_cameras()
    print("poller: %d cameras from %s, api on %s, %d workers, %s"
          % (len(poller.cameras), args.fleet, args.listen, args.workers, args.mode), flush=True)
    if args.mode == "continuous":
        threading.Thread(target=poller.run_continuously, args=(args.interval,), daemon=True).start()
    server.serve_forever()
    print("poller: stopped after %d sweeps" % poller.sweeps, flush=True)


if __name__ == "__main__":
    main()
