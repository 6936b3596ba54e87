#!/usr/bin/env python3
"""soak.py — long mixed load on the gateway with faults toggling; RSS and open fds must stay flat.

Not part of CI. Starts connect-sim and the gateway on loopback (port 0), then for --duration
seconds runs clients that ask for connector metrics, the cluster summary, history, Prometheus
/metrics, proxied Connect GETs and short SSE streams, while a toggler sets a random simulator
fault (connect | jolokia | jolokia:<i> × down slow garbage 500 401 409) every few seconds.
Every --interval seconds it samples the gateway's VmRSS and open fd count from /proc and prints
them as a table. Exits 1 if, after --warmup, either grew by more than its threshold (or the
gateway died, or it exited non-zero / with a sanitizer report).

  python3 test/bench/soak.py                       # 10 minutes, release build in build/
  KC_BUILD_DIR=build-rel python3 test/bench/soak.py --duration 120 --warmup 30

Use a release build for the RSS verdict: under ASan, freed memory sits in the quarantine
(256 MB by default), so RSS climbs for minutes without any leak; an ASan build is still useful
for the exit-time leak check and the fd count.
"""
import argparse
import os
import random
import socket
import sys
import threading
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import kctest  # noqa: E402
from kctest import http  # noqa: E402

FAULTS = ["down", "slow", "garbage", "500", "401", "409"]
NAMES = ["orders-src", "orders-sink", "payments-jdbc", "my conn.v2", "eu:orders", "say \"hi\"*",
         "café-sink", "inventory-datagen", "no-such-connector"]


def enc(name):
    return urllib.parse.quote(name, safe="")


def start_sim(workers):
    argv = [kctest.binary("connect-sim"), "--connect-port", "0", "--jolokia-port", "0",
            "--control-port", "0", "--workers", str(workers), "--seed", "5"]
    return kctest.Proc(argv, listeners=2 + workers)


def start_gateway(sim, ttl):
    _, jport = sim.listener("jolokia")
    env = {"LISTEN_ADDR": "127.0.0.1:0", "LOG_LEVEL": "warn",
           "KAFKA_CONNECT_URL": sim.url("connect"),
           "JOLOKIA_URL": "http://{host}:%d/jolokia" % jport,
           "METRICS_CACHE_TTL": ttl, "KC_NEGATIVE_TTL": "300ms",
           "KC_REQUEST_TIMEOUT_MS": "800", "JOLOKIA_TIMEOUT_MS": "800",
           "KC_KEEPALIVE_TIMEOUT": "5s"}
    return kctest.Proc([kctest.binary("kconnect-console")], env=env, listeners=1)


def proc_sample(pid):
    rss_kb = 0
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss_kb = int(line.split()[1])
    fds = len(os.listdir("/proc/%d/fd" % pid))
    return rss_kb, fds


class Load:
    def __init__(self, gw, stop):
        self.gw = gw
        self.base = gw.url()
        self.stop = stop
        self.lock = threading.Lock()
        self.counts = {}

    def note(self, kind, status):
        key = "%s %s" % (kind, status)
        with self.lock:
            self.counts[key] = self.counts.get(key, 0) + 1

    def one(self, rnd):
        name = enc(rnd.choice(NAMES))
        kind = rnd.choices(["metrics", "summary", "history", "prom", "proxy_list", "proxy_get",
                            "proxy_status", "stream"], weights=[30, 10, 8, 5, 10, 10, 10, 3])[0]
        path = {
            "metrics": "/api/default/connectors/%s/metrics" % name,
            "summary": "/api/default/metrics",
            "history": "/api/default/connectors/%s/metrics/history" % name,
            "prom": "/metrics",
            "proxy_list": "/api/default/connectors?expand=status&expand=info",
            "proxy_get": "/api/default/connectors/%s" % name,
            "proxy_status": "/api/default/connectors/%s/status" % name,
        }.get(kind)
        if kind == "stream":
            self.stream(name, rnd)
            return
        try:
            r = http("GET", self.base + path, timeout=10)
            self.note(kind, r.status)
        except Exception as e:  # noqa: BLE001 — counted, the soak goes on
            self.note(kind, type(e).__name__)

    def stream(self, name, rnd):
        """An SSE client that reads for a moment, then leaves (sometimes abruptly)."""
        host, port = self.gw.listener()
        try:
            s = socket.create_connection((host, port), timeout=5)
            s.sendall(b"GET /api/default/connectors/%s/metrics/stream HTTP/1.1\r\nHost: x\r\n"
                      b"Accept: text/event-stream\r\n\r\n" % name.encode())
            end = time.monotonic() + rnd.uniform(0.2, 3.0)
            got = b""
            while time.monotonic() < end and not self.stop.is_set():
                s.settimeout(max(0.05, end - time.monotonic()))
                try:
                    chunk = s.recv(65536)
                except socket.timeout:
                    break
                if not chunk:
                    break
                got += chunk[:256]
            if rnd.random() < 0.5:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                             b"\x01\x00\x00\x00\x00\x00\x00\x00")
            s.close()
            self.note("stream", got[9:12].decode(errors="replace") or "empty")
        except OSError as e:
            self.note("stream", type(e).__name__)

    def worker(self, seed):
        rnd = random.Random(seed)
        while not self.stop.is_set():
            self.one(rnd)


def toggler(sim, stop, every, workers, log):
    rnd = random.Random(99)
    ctl = sim.url("control") + "/faults"
    while not stop.wait(every):
        if rnd.random() < 0.3:
            http("DELETE", ctl)
            log.append("none")
            continue
        target = rnd.choice(["connect", "jolokia"] + ["jolokia:%d" % i for i in range(workers)])
        fault = rnd.choice(FAULTS)
        http("PUT", ctl, body={"target": target, "fault": fault, "delay_ms": 1200})
        log.append("%s=%s" % (target, fault))
    http("DELETE", ctl)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--duration", type=float, default=600, help="seconds of load (default 600)")
    ap.add_argument("--interval", type=float, default=10, help="sampling period, s")
    ap.add_argument("--warmup", type=float, default=60, help="seconds before the baseline sample")
    ap.add_argument("--clients", type=int, default=16, help="concurrent client threads")
    ap.add_argument("--fault-every", type=float, default=4, help="seconds between fault changes")
    ap.add_argument("--workers", type=int, default=3)
    ap.add_argument("--ttl", default="1s", help="METRICS_CACHE_TTL of the gateway")
    ap.add_argument("--rss-growth-mb", type=float, default=16.0,
                    help="allowed VmRSS growth after warm-up (MB)")
    ap.add_argument("--fd-growth", type=int, default=32, help="allowed open-fd growth after warm-up")
    args = ap.parse_args()
    if args.warmup >= args.duration:
        ap.error("--warmup must be shorter than --duration")

    sim = start_sim(args.workers)
    gw = start_gateway(sim, args.ttl)
    pid = gw.p.pid
    stop = threading.Event()
    load = Load(gw, stop)
    faults = []
    threads = [threading.Thread(target=load.worker, args=(i,), daemon=True)
               for i in range(args.clients)]
    threads.append(threading.Thread(target=toggler, args=(sim, stop, args.fault_every,
                                                          args.workers, faults), daemon=True))
    for t in threads:
        t.start()

    samples = []  # (t, rss_kb, fds, requests so far)
    t0 = time.monotonic()
    print("%8s %10s %6s %10s  %s" % ("t[s]", "rss[MB]", "fds", "requests", "faults since last"))
    died = False
    next_at = t0
    seen_faults = 0
    try:
        while True:
            now = time.monotonic()
            if now >= next_at:
                if gw.p.poll() is not None:
                    died = True
                    break
                rss, fds = proc_sample(pid)
                with load.lock:
                    reqs = sum(load.counts.values())
                samples.append((now - t0, rss, fds, reqs))
                print("%8.0f %10.1f %6d %10d  %s" % (now - t0, rss / 1024.0, fds, reqs,
                                                     " ".join(faults[seen_faults:])[-60:]),
                      flush=True)
                seen_faults = len(faults)
                next_at += args.interval
            if now - t0 >= args.duration:
                break
            time.sleep(min(0.5, max(0.0, next_at - time.monotonic())))
    finally:
        stop.set()
        for t in threads:
            t.join(15)

    # a last sample once the load has stopped and in-flight calls have settled
    time.sleep(2.0)
    if gw.p.poll() is None:
        rss, fds = proc_sample(pid)
        samples.append((time.monotonic() - t0, rss, fds, sum(load.counts.values())))
        print("%8.0f %10.1f %6d %10d  (idle after load)" % (samples[-1][0], rss / 1024.0, fds,
                                                            samples[-1][3]))

    print("\nresults:")
    for k in sorted(load.counts):
        print("  %-28s %d" % (k, load.counts[k]))

    problems = []
    if died:
        problems.append("the gateway died (exit %s)" % gw.p.returncode)
    base = [s for s in samples if s[0] >= args.warmup]
    if len(base) >= 2 and not died:
        b, last = base[0], base[-1]
        peak_rss = max(s[1] for s in base)
        peak_fds = max(s[2] for s in base)
        rss_growth = (last[1] - b[1]) / 1024.0
        fd_growth = last[2] - b[2]
        print("\nafter warm-up (t=%.0fs): rss %.1f → %.1f MB (peak %.1f), fds %d → %d (peak %d)"
              % (b[0], b[1] / 1024.0, last[1] / 1024.0, peak_rss / 1024.0, b[2], last[2], peak_fds))
        if rss_growth > args.rss_growth_mb:
            problems.append("RSS grew %.1f MB after warm-up (limit %.1f)"
                            % (rss_growth, args.rss_growth_mb))
        if fd_growth > args.fd_growth:
            problems.append("open fds grew by %d after warm-up (limit %d)"
                            % (fd_growth, args.fd_growth))
    elif not died:
        problems.append("not enough samples after warm-up; lengthen --duration")

    code = gw.stop(30)
    sim.stop(10)
    report = gw.sanitizer_report()
    if report:
        problems.append("sanitizer report:\n" + report[-4000:])
    if code != 0 and not died:
        problems.append("gateway exited %s; stderr tail:\n%s" % (code, gw.stderr()[-2000:]))
    if problems:
        print("\nSOAK FAILED:\n  " + "\n  ".join(problems))
        return 1
    print("\nsoak ok: RSS and fd count flat")
    return 0


if __name__ == "__main__":
    sys.exit(main())
