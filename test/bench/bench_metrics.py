#!/usr/bin/env python3
"""Benchmark of the metrics endpoint against connect-sim (run by hand, prints figures).

1,000 concurrent keep-alive clients (wrk) on one connector for DURATION seconds while a probe
sends 100 requests/s and notes each latency and the document's lastUpdated. Prints upstream
requests per TTL window (goal: 1 Connect status + 1 Jolokia POST per worker involved),
cache-hit req/s, p50/p99, and the probe's p99 in the second after each refresh vs the rest.

    python3 test/bench/bench_metrics.py [--build build/release] [--duration 10] [--clients 1000]
"""
import argparse
import http.client
import json
import os
import re
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import kctest  # noqa: E402


def start(build, ttl):
    kctest.BUILD_DIR = build
    sim = kctest.Proc([kctest.binary("connect-sim"), "--connect-port", "0", "--jolokia-port", "0",
                       "--control-port", "0", "--workers", "3", "--seed", "11"], listeners=5)
    _, jport = sim.listener("jolokia")
    gw = kctest.Proc([kctest.binary("kconnect-console")], listeners=1, env={
        "LISTEN_ADDR": "127.0.0.1:0", "LOG_LEVEL": "warn", "METRICS_CACHE_TTL": ttl,
        "KAFKA_CONNECT_URL": sim.url("connect"),
        "JOLOKIA_URL": "http://{host}:%d/jolokia" % jport, "KC_MAX_CONNECTIONS": "20000"})
    return sim, gw


def percentile(values, p):
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p / 100.0))]


def probe(port, path, stop, out):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    while not stop.is_set():
        t0 = time.monotonic()
        conn.request("GET", path)
        r = conn.getresponse()
        body = r.read()
        dt = (time.monotonic() - t0) * 1000
        updated = json.loads(body).get("lastUpdated")
        out.append((t0, dt, updated))
        time.sleep(0.01)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(HERE, "..", "..", "build", "release"))
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--clients", type=int, default=1000)
    ap.add_argument("--ttl", default="5s")
    args = ap.parse_args()
    ttl_s = float(args.ttl.rstrip("s"))
    sim, gw = start(os.path.abspath(args.build), args.ttl)
    try:
        _, port = gw.listener()
        control = sim.url("control")
        path = "/api/default/connectors/orders-src/metrics"
        kctest.http("GET", "http://127.0.0.1:%d%s" % (port, path))  # warm the cache
        truth = kctest.http("GET", control + "/truth/orders-src").json()
        workers = len({t["worker_id"] for t in truth["tasks"]})
        kctest.http("POST", control + "/counters/reset")
        samples, stop = [], threading.Event()
        t = threading.Thread(target=probe, args=(port, path, stop, samples))
        t.start()
        wrk = subprocess.run(["wrk", "-t2", "-c%d" % args.clients, "-d%ds" % args.duration,
                              "--latency", "http://127.0.0.1:%d%s" % (port, path)],
                             capture_output=True, text=True)
        stop.set()
        t.join()
        c = kctest.http("GET", control + "/counters").json()
        status = sum(v for k, v in c["connect"]["routes"].items() if k.endswith("/status"))
        posts = sum(w["post"] for w in c["jolokia"]["workers"].values())
        windows = args.duration / ttl_s
        rps = re.search(r"Requests/sec:\s+([\d.]+)", wrk.stdout)
        lat = dict(re.findall(r"\s+(50|99)%\s+([\d.]+\w+)", wrk.stdout))
        errors = re.search(r"Socket errors:.*|Non-2xx.*", wrk.stdout)
        # Probe samples in the second after the document changed vs all the others.
        after, rest, last, changed_at = [], [], None, []
        for t0, dt, updated in samples:
            if last is not None and updated != last:
                changed_at.append(t0)
            last = updated
        for t0, dt, _ in samples:
            (after if any(0 <= t0 - ch < 1.0 for ch in changed_at) else rest).append(dt)
        print("| figure | value |")
        print("|---|---|")
        print("| clients, duration, TTL | %d, %d s, %s |" % (args.clients, args.duration, args.ttl))
        print("| Connect status requests per TTL window (goal 1) | %.2f (%d in %.1f windows) |"
              % (status / windows, status, windows))
        print("| Jolokia POSTs per TTL window (goal %d = workers involved) | %.2f (%d) |"
              % (workers, posts / windows, posts))
        print("| cache-hit req/s (wrk) | %s |" % (rps.group(1) if rps else "?"))
        print("| p50 / p99 (wrk) | %s / %s |" % (lat.get("50", "?"), lat.get("99", "?")))
        print("| probe p99 in the second after a refresh | %.2f ms (%d samples, %d refreshes) |"
              % (percentile(after, 99), len(after), len(changed_at)))
        print("| probe p99 otherwise | %.2f ms (%d samples) |" % (percentile(rest, 99), len(rest)))
        if errors:
            print("| wrk errors | %s |" % errors.group(0).strip())
    finally:
        gw.stop()
        sim.stop()


if __name__ == "__main__":
    main()
