#!/usr/bin/env python3
"""Part 8 of bench_all.py: the watched connectors of a cluster refreshed together (src/batch.c,
the scheduler in src/metrics_service.c). Run it through bench_all so the figures land in its one
table:

    python3 test/bench/bench_all.py --only 8

(`python3 test/bench/bench_batch.py [--build DIR]` does the same.) What each figure means:
test/bench/README.md, part 8.

  a  1, 10, 150, 1,000 watched connectors (one raw SSE stream each; connect-sim --connectors
     max(N, 40), 3 workers, seed 11; default KC_BATCH_EXPAND_PERCENT): Connect status calls,
     expand lists, Jolokia POSTs per worker and split POSTs per TTL, next to what the same
     connectors would cost refreshed one by one (computed from the simulator's task placement).
  b  the expand-list crossover: clusters of 200, 1,000 and 2,000 connectors, 5 / 10 / 25 / 50 /
     100 % of them watched, each with KC_BATCH_EXPAND_PERCENT=101 (a status call each) and =0
     (ONE expand list): CPU seconds per TTL of the gateway and of connect-sim (Connect's side)
     and the batch's duration (the gateway's debug event batch_collected).

Everything runs on 127.0.0.1 (connect-sim's Jolokia agents on 127.0.0.x), the gateway with
METRICS_CACHE_TTL=2s; every wait is bounded, and every process and socket opened here is closed
in a finally block.
"""
import os
import json
import math
import selectors
import socket
import sys
import tempfile
import threading
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import kctest  # noqa: E402

TTL_S = 2.0
TTL_ENV = "2s"
A_WATCHED = (1, 10, 150, 1000)
A_MIN_CLUSTER = 40            # connect-sim --connectors max(N, 40)
A_SETTLE_TTLS = 2             # streams open, not measured: they fall into one batch
A_MEASURE_TTLS = 5
B_CLUSTERS = (200, 1000, 2000)
B_SHARES = (5, 10, 25, 50, 100)   # % of the cluster watched
B_SETTLE_TTLS = 2
B_MEASURE_TTLS = 3
B_MAX_TTLS = 6               # ... or until 3 batches of all n have ended
EXPAND_MIN = 32               # BATCH_EXPAND_MIN in src/metrics_service.c: fewer, never the list
PER_POST = 100                # KC_BATCH_MAX_PER_POST in include/kc/batch.h
DEFAULT_PERCENT = 25          # KC_BATCH_EXPAND_PERCENT's default (src/config.c)
OPEN_CHUNK = 200              # streams opened at once: each first document is its own collection
UPSTREAM_QUEUE = "100000"     # KC_UPSTREAM_QUEUE in part b (see README, part 8)
STATUS_ROUTE = "GET /connectors/{name}/status"
LIST_ROUTE = "GET /connectors"


class Streams:
    """Raw SSE connections to /api/default/connectors/{name}/metrics/stream, drained by one
    thread with a selector; counts `event: metrics` / `event: error` per stream."""

    def __init__(self, port):
        self.port = port
        self.sel = selectors.DefaultSelector()
        self.lock = threading.Lock()
        self.info = {}   # name -> {"metrics": n, "error": n, "tail": bytes, "closed": bool}
        self.socks = []
        self.stop_ev = threading.Event()
        self.t = threading.Thread(target=self._drain, daemon=True)
        self.t.start()

    def _drain(self):
        while not self.stop_ev.is_set():
            with self.lock:
                if not self.socks:
                    ready = []
                else:
                    ready = self.sel.select(timeout=0.05)
                for key, _ in ready:
                    try:
                        data = key.fileobj.recv(262144)
                    except BlockingIOError:
                        continue
                    except OSError:
                        data = b""
                    d = self.info[key.data]
                    if not data:
                        self.sel.unregister(key.fileobj)
                        d["closed"] = True
                        continue
                    buf = d["tail"] + data
                    for kind in ("metrics", "error"):
                        pat = b"event: " + kind.encode() + b"\n"
                        d[kind] += buf.count(pat) - d["tail"].count(pat)
                    d["tail"] = buf[-24:]
            if not ready:
                time.sleep(0.02)

    def open(self, names, time_limit):
        """Opens a stream for each name, OPEN_CHUNK at a time, each chunk once every stream of
        the one before has its first event; returns how many have one."""
        deadline = time.monotonic() + time_limit
        wanted, names = names, [n for n in names if n not in self.info]
        for i in range(0, len(names), OPEN_CHUNK):
            chunk = names[i:i + OPEN_CHUNK]
            for n in chunk:
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                # room for bursts while this thread is off the CPU: the gateway disconnects a
                # subscriber 1 MiB behind (stream_slow_subscriber)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
                s.settimeout(5)
                s.connect(("127.0.0.1", self.port))
                s.sendall(("GET /api/default/connectors/%s/metrics/stream HTTP/1.1\r\n"
                           "Host: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n"
                           % urllib.parse.quote(n, safe="")).encode())
                s.setblocking(False)
                with self.lock:
                    self.socks.append(s)
                    self.info[n] = {"metrics": 0, "error": 0, "tail": b"", "closed": False}
                    self.sel.register(s, selectors.EVENT_READ, n)
            while time.monotonic() < deadline and self.first_events(chunk) < len(chunk):
                time.sleep(0.05)
        return self.first_events(wanted)

    def first_events(self, names):
        with self.lock:
            return sum(1 for n in names if self.info[n]["metrics"] >= 1)

    def snapshot(self):
        with self.lock:
            return {n: (d["metrics"], d["error"], d["closed"]) for n, d in self.info.items()}

    def stop(self):
        self.stop_ev.set()
        self.t.join(10)
        with self.lock:
            for s in self.socks:
                try:
                    self.sel.unregister(s)
                except (KeyError, ValueError):
                    pass
                s.close()
            self.socks = []
        self.sel.close()


def names_and_placement(sim):
    """Connector names (sorted) and, per connector, the workers that run a task of it — what a
    collection of that connector alone POSTs to (README, part 2)."""
    d = kctest.http("GET", sim.url("connect") + "/connectors?expand=status", timeout=60).json()
    place = {}
    for n, v in d.items():
        place[n] = sorted({t["worker_id"] for t in v["status"].get("tasks", []) if t.get("worker_id")})
    return sorted(d), place


def debug_events(B, gw, start_line, end_line):
    """From the gateway's stderr lines [start_line, end_line): its batch_collected debug events
    and the wall times (s) of its `collected` events of a connector (one per document made)."""
    batches, docs = [], []
    for line in gw.stderr_lines[start_line:end_line]:
        if '"event":"collected"' in line and '"connector":' in line:
            try:
                docs.append(B.parse_rfc3339_ms(line[7:31]))
            except ValueError:
                pass
        elif '"event":"batch_collected"' in line:
            try:
                ev = json.loads(line[line.index("{"):])
                ev["end"] = B.parse_rfc3339_ms(ev["ts"])
                batches.append(ev)
            except (ValueError, KeyError):
                pass
    return batches, docs


class CpuSampler:
    """utime+stime of the gateway and connect-sim every 20 ms, with the wall time."""

    def __init__(self, B, pids):
        self.B, self.pids, self.samples = B, pids, []
        self.stop_ev = threading.Event()
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _run(self):
        while not self.stop_ev.is_set():
            try:
                self.samples.append((time.time(),) + tuple(self.B.cpu_seconds(p) for p in self.pids))
            except OSError:
                pass
            time.sleep(0.02)

    def stop(self):
        self.stop_ev.set()
        self.t.join(5)

    def at(self, wall):
        """The first sample at or after wall (a log line is written when its work is done)."""
        for smp in self.samples:
            if smp[0] >= wall:
                return smp
        return self.samples[-1]


def measure(B, sim, gw, ttls, n, max_ttls=None):
    """Counters, CPU and batch events over `ttls` TTL windows from a counter reset on (longer,
    up to max_ttls, until 3 batches of all n have ended: a batch of thousands can outlast a TTL).
    Counts are per TTL window. CPU is per round = per refresh of all n watched connectors: the
    CPU between the end of the first and of the last batch of all n in the window (sampled
    every 20 ms) ÷ (documents made in between ÷ n); rounds_per_ttl = documents ÷ n ÷ windows
    (1.00 when every watched connector is refreshed once per TTL)."""
    B.reset_counters(sim)
    time.sleep(0.2)  # the gateway's stderr reader catches up to the reset
    line0 = len(gw.stderr_lines)
    smp = CpuSampler(B, (gw.p.pid, sim.p.pid))
    t0, w0 = time.monotonic(), time.time()
    py0 = sum(os.times()[:2])
    try:
        time.sleep(ttls * TTL_S)
        while max_ttls and time.monotonic() - t0 < max_ttls * TTL_S:
            ev, _ = debug_events(B, gw, line0, len(gw.stderr_lines))
            if sum(1 for e in ev if e.get("connectors") == n) >= 3:
                break
            time.sleep(0.25)
        wall = time.monotonic() - t0
        c = B.counters(sim)
    finally:
        smp.stop()
    py1 = sum(os.times()[:2])
    time.sleep(0.2)
    w1 = w0 + wall
    ev, docs = debug_events(B, gw, line0, len(gw.stderr_lines))
    ev = [e for e in ev if e["end"] <= w1]
    docs = [d for d in docs if d <= w1]
    windows = wall / TTL_S
    full = [e["end"] for e in ev if e.get("connectors") == n]
    a, b = smp.samples[0], smp.samples[-1]
    made = len(docs)
    if len(full) >= 2:
        a, b = smp.at(full[0]), smp.at(full[-1])
        made = sum(1 for d in docs if full[0] < d <= full[-1])
    rounds = made / float(n)
    B.log("part 8: %.1f s measured, CPU s: gateway %.2f, connect-sim %.2f, this script %.2f; "
          "%d documents, %d batches (%d of all %d); CPU per round over %.1f s, %.2f rounds"
          % (wall, smp.samples[-1][1] - smp.samples[0][1], smp.samples[-1][2] - smp.samples[0][2],
             py1 - py0, len(docs), len(ev), len(full), n, b[0] - a[0], rounds))
    return {"counters": c, "windows": windows, "wall": wall,
            "rounds_per_ttl": len(docs) / float(n) / windows,
            "gw_round": (b[1] - a[1]) / rounds if rounds else float("nan"),
            "sim_round": (b[2] - a[2]) / rounds if rounds else float("nan"),
            "status": c["connect"]["routes"].get(STATUS_ROUTE, 0) / windows,
            "lists": c["connect"]["routes"].get(LIST_ROUTE, 0) / windows,
            "posts": {w: v["post"] / windows for w, v in c["jolokia"]["workers"].items()},
            "batches": ev}


def median(values):
    values = sorted(values)
    if not values:
        return float("nan")
    m = len(values) // 2
    return values[m] if len(values) % 2 else (values[m - 1] + values[m]) / 2.0


def batch_summary(ev):
    """'k batches of n (connect r, posts p, split s), median duration d ms'."""
    if not ev:
        return "no batch_collected event", float("nan")
    sizes = sorted({e.get("connectors") for e in ev})
    dur = median([e.get("duration_ms", 0) for e in ev])
    return ("%d batches of %s connectors, median %.0f ms (max %d)"
            % (len(ev), "/".join(str(s) for s in sizes), dur,
               max(e.get("duration_ms", 0) for e in ev))), dur


def start(B, st, connectors, percent=None, extra_env=None):
    sim = B.start_sim(st, ["--connectors", str(connectors)])
    env = {"LOG_LEVEL": "debug"}
    if percent is not None:
        env["KC_BATCH_EXPAND_PERCENT"] = str(percent)
    env.update(extra_env or {})
    gw = B.start_gw(st, sim, TTL_ENV, **env)
    return sim, gw


def stop_gw(st, gw):
    gw.stop(timeout=10)
    st.procs.remove(gw)


# ---------------------------------------------------------------------------------------------
# a: 1, 10, 150, 1,000 watched connectors


def part_a(B):
    for n in A_WATCHED:
        st = B.Stack()
        streams = None
        try:
            probe = os.path.join(kctest.BUILD_DIR, "test", "libkc_turnprobe.so")
            turns_file = os.path.join(tempfile.gettempdir(),
                                      "kc-turns-8a-%d-%d.json" % (os.getpid(), n))
            extra = {"LD_PRELOAD": probe, "KC_TURNPROBE_OUT": turns_file} \
                if os.path.exists(probe) else {}
            sim, gw = start(B, st, max(n, A_MIN_CLUSTER), extra_env=extra)
            names, place = names_and_placement(sim)
            watched = names[:n]
            streams = Streams(gw.listener()[1])
            B.log("part 8a: %d streams on a cluster of %d" % (n, len(names)))
            got = streams.open(watched, 60 + n * 0.1)
            time.sleep(A_SETTLE_TTLS * TTL_S)
            before = streams.snapshot()
            m = measure(B, sim, gw, A_MEASURE_TTLS, n)
            after = streams.snapshot()
            ev_per = sum(after[x][0] - before[x][0] for x in watched) / len(watched) / m["windows"]
            errors = sum(after[x][1] for x in watched)
            closed = sum(1 for x in watched if after[x][2])
            workers = sorted(m["posts"])
            # without batching: one status call per connector, one POST per worker with a task
            alone = {w: sum(1 for x in watched if w in place[x]) for w in workers}
            split_min = {w: max(0, math.ceil(alone[w] / PER_POST) - 1) for w in workers}
            split_seen = sum(e.get("split_posts", 0) for e in m["batches"]) / m["windows"]
            summ, _ = batch_summary(m["batches"])
            label = "%s watched (cluster %d)" % ("{:,}".format(n), len(names))
            B.row("8", "%s: streams with a first event, events per stream per TTL" % label,
                  "%d of %d, %.2f%s%s" % (got, n, ev_per,
                                          (", %d error events" % errors) if errors else "",
                                          (", %d closed" % closed) if closed else ""))
            conn_total = m["status"] + m["lists"]
            B.row("8", "%s: Connect per TTL — status calls · expand lists" % label,
                  "%.2f · %.2f (without batching, computed: %d status calls)"
                  % (m["status"], m["lists"], n),
                  "≤ %d (1 per watched connector), or 1 list" % n,
                  (m["lists"] == 0 and m["status"] <= n * 1.1) or
                  (m["status"] == 0 and m["lists"] <= 1.1))
            goal = {w: 1 + split_min[w] if alone[w] else 0 for w in workers}
            B.row("8", "%s: Jolokia POSTs per worker per TTL (.1·.2·.3)" % label,
                  "%s (without batching, computed: %s); split POSTs %.2f per TTL (all workers)"
                  % (" · ".join("%.2f" % m["posts"][w] for w in workers),
                     " · ".join(str(alone[w]) for w in workers), split_seen),
                  "%s (1 + splits above %d per worker)"
                  % (" · ".join(str(goal[w]) for w in workers), PER_POST),
                  all(m["posts"][w] <= goal[w] * 1.1 + 0.05 for w in workers))
            B.row("8", "%s: batches in the measured %.1f s" % (label, m["wall"]), summ)
        finally:
            if streams:
                streams.stop()
            st.stop_all()
        if extra:
            try:
                with open(turns_file) as f:
                    t = json.load(f)
                os.unlink(turns_file)
                B.row("8", "%s: longest loop turn (turnprobe, streams opening and %d TTLs)"
                      % (label, A_SETTLE_TTLS + A_MEASURE_TTLS),
                      "%.1f ms of loop-thread CPU, %.1f ms wall; %d turns, %d over 5 ms (CPU)"
                      % (t["max_cpu_us"] / 1e3, t["max_wall_us"] / 1e3, t["turns"],
                         t["over_bound_cpu"]),
                      "≤ 5 ms", t["max_cpu_us"] <= 5000)
            except (OSError, ValueError) as e:
                B.log("part 8a: no turn figures: %r" % e)


# ---------------------------------------------------------------------------------------------
# b: the expand-list crossover


def part_b(B):
    results = {}   # (C, share, percent) -> measure() dict + n
    for c in B_CLUSTERS:
        st = B.Stack()
        try:
            sim = B.start_sim(st, ["--connectors", str(c)])
            names, _ = names_and_placement(sim)
            for percent in (101, 0):
                streams = None
                gw = B.start_gw(st, sim, TTL_ENV, LOG_LEVEL="debug",
                                KC_BATCH_EXPAND_PERCENT=str(percent),
                                KC_UPSTREAM_QUEUE=UPSTREAM_QUEUE)
                try:
                    streams = Streams(gw.listener()[1])
                    for share in B_SHARES:
                        n = max(1, c * share // 100)
                        if percent == 0 and n < EXPAND_MIN:
                            continue  # below 32 a batch never asks for the list: same as 101
                        B.log("part 8b: cluster %d, %d%% watched (%d), KC_BATCH_EXPAND_PERCENT=%d"
                              % (c, share, n, percent))
                        got = streams.open(names[:n], 60 + n * 0.1)
                        time.sleep(B_SETTLE_TTLS * TTL_S)
                        m = measure(B, sim, gw, B_MEASURE_TTLS, n, B_MAX_TTLS)
                        m["n"], m["got"] = n, got
                        snap = streams.snapshot()
                        m["errors"] = sum(v[1] for v in snap.values())
                        m["closed"] = sum(1 for v in snap.values() if v[2])
                        results[(c, share, percent)] = m
                finally:
                    if streams:
                        streams.stop()
                    stop_gw(st, gw)
        finally:
            st.stop_all()
    report_b(B, results)


def fmt_way(m, way):
    _, dur = batch_summary(m["batches"])
    calls = ("%.0f status calls" % m["status"]) if way == "status" else \
        ("%.2f lists" % m["lists"])
    text = ("%s: gw %.0f + sim %.0f = %.0f ms CPU per round; %s and %.2f rounds per TTL, "
            "batch %.0f ms" % (way, m["gw_round"] * 1e3, m["sim_round"] * 1e3,
                               (m["gw_round"] + m["sim_round"]) * 1e3, calls,
                               m["rounds_per_ttl"], dur))
    if m["got"] < m["n"] or m["errors"] or m["closed"]:
        text += " (%d of %d streams started, %d error events, %d closed)" % (
            m["got"], m["n"], m["errors"], m["closed"])
    return text


def crossover(points):
    """points: [(share, list_cpu - status_cpu)], shares ascending. The share from which the
    list is cheaper at every measured share above: interpolated linearly between the last
    share where it was not and the first where it was; None if it never is at 100 %."""
    if not points or points[-1][1] >= 0:
        return None, None
    k = len(points) - 1
    while k > 0 and points[k - 1][1] < 0:
        k -= 1
    if k == 0:
        return points[0][0], "≤ %d %%" % points[0][0]
    (s0, d0), (s1, d1) = points[k - 1], points[k]
    x = s0 + (s1 - s0) * d0 / (d0 - d1)
    return x, "≈ %.0f %% (between %d and %d %%)" % (x, s0, s1)


def report_b(B, res):
    """One row per (cluster, share): both ways side by side; then the crossover per cluster."""
    found = {}
    for c in B_CLUSTERS:
        points = []
        for share in B_SHARES:
            s, e = res.get((c, share, 101)), res.get((c, share, 0))
            if not s:
                continue
            text = fmt_way(s, "status")
            if e:
                ts = s["gw_round"] + s["sim_round"]
                te = e["gw_round"] + e["sim_round"]
                text += " — " + fmt_way(e, "list") + " — list ÷ status %.2f×" % (te / ts)
                points.append((share, te - ts))
            else:
                text += " — list: never asked below %d connectors (status calls either way)" \
                    % EXPAND_MIN
            B.row("8", "status vs list, cluster %s, %d %% watched (%s)"
                  % ("{:,}".format(c), share, "{:,}".format(s["n"])), text)
        found[c] = crossover(points)
    text = "; ".join("cluster %s: %s" % ("{:,}".format(c), v[1] or "never up to 100 %")
                     for c, v in found.items())
    shares = [v[0] for v in found.values() if v[0] is not None]
    if shares:
        text += " (default KC_BATCH_EXPAND_PERCENT: %d %%)" % DEFAULT_PERCENT
    B.row("8", "crossover: the expand list costs less CPU (gateway + connect-sim) from", text)


def part8(args, B):
    B.raise_nofile()
    t0 = time.monotonic()
    part_a(B)
    B.log("part 8a took %.0f s" % (time.monotonic() - t0))
    part_b(B)


if __name__ == "__main__":
    sys.path.insert(0, HERE)
    import bench_all
    sys.argv = [sys.argv[0], "--only", "8"] + sys.argv[1:]
    bench_all.main()
