#!/usr/bin/env python3
"""Part 6 of bench_all.py: fleet mode (KC_REDIS_URL) — upstream collections per TTL for 1, 2, 3
and 5 replicas with and without Redis, and the cache-hit req/s of one replica in fleet mode vs
local mode. Run it through bench_all so the figures land in its one table:

    python3 test/bench/bench_all.py --only 6

(`python3 test/bench/bench_fleet.py [options]` does the same.) What each figure means and the
fairness notes: test/bench/README.md, part 6.

Everything runs on 127.0.0.1: one redis-server per fleet configuration (test_redis.RedisServer,
on a free port, no persistence), connect-sim (3 workers, seed 11, --connectors 10) and the
gateways (LOG_LEVEL=warn); client threads and wrk are bounded in count and time, and every
process started here is stopped in a finally block.
"""
import http.client
import os
import shutil
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import kctest  # noqa: E402

REDIS = shutil.which("redis-server")
TTL_S = 1.0                       # METRICS_CACHE_TTL of the collection runs
TTL_ENV = "1s"
WARM_TTL_ENV = "5s"               # the cache-hit runs: as in parts 1 and 2's wrk figures
REPLICAS = (1, 2, 3, 5)
CONNECTOR = "orders-src"
SIM_CONNECTORS = 10               # connect-sim --connectors 10: orders-src and 9 others
MEASURE_TTLS = 6                  # measured TTL windows per load
WARM_TTLS = 1                     # same load, not measured, before the counters are reset
PAUSE_TTLS = 2                    # idle between loads: refreshes ahead of the previous one end
CLIENT_SLEEP_S = 0.02             # each client thread: one request, then this pause
STATUS_ROUTE = "GET /connectors/{name}/status"
EXPAND_ROUTE = "GET /connectors"
FLEET_KEYS = ("hits", "leaseWins", "leaseLosses", "leaseExpiredWaits", "published", "received",
              "applied", "localFallbacks", "errors")


# ---------------------------------------------------------------------------------------------
# helpers


def health_redis(url):
    return kctest.http("GET", url + "/api/gateway/health", timeout=10).json()["redis"]


def fleet_counters(gws):
    """Sum of every replica's redis.fleet counters (zeros for a replica in local mode)."""
    out = dict.fromkeys(FLEET_KEYS, 0)
    for g in gws:
        f = health_redis(g.url()).get("fleet") or {}
        for k in FLEET_KEYS:
            out[k] += int(f.get(k, 0) or 0)
    return out


def fleet_delta(a, b):
    return {k: b[k] - a[k] for k in FLEET_KEYS}


def fmt_fleet(d):
    return ("hits %d, leaseWins %d, leaseLosses %d, expiredWaits %d, published %d, received %d, "
            "applied %d, localFallbacks %d, errors %d"
            % tuple(d[k] for k in FLEET_KEYS))


def redis_info_stat(port, field):
    """One integer field of INFO stats (total_commands_processed, ...) from the redis-server."""
    from test_fleet import redis_cmd  # imports pytest; only needed here
    text = redis_cmd(port, "INFO", "stats")
    text = text.decode() if isinstance(text, bytes) else str(text)
    for line in text.splitlines():
        if line.startswith(field + ":"):
            return int(line.split(":", 1)[1])
    return -1


def start_redis(st):
    from test_redis import RedisServer, free_port  # imports pytest; only needed here
    r = RedisServer(free_port())
    st.add(r.p)  # Stack.stop_all terminates it (and kctest kills it at exit in any case)
    return r


def start_replicas(B, st, sim, n, ttl, redis_port=None):
    env = {"KC_REDIS_URL": "redis://127.0.0.1:%d" % redis_port} if redis_port else {}
    gws = [B.start_gw(st, sim, ttl, **env) for _ in range(n)]
    if redis_port:
        for g in gws:
            kctest.wait_until(lambda g=g: health_redis(g.url())["mode"] == "fleet", timeout=10,
                              what="fleet mode on %s" % g.url())
    return gws


def client(ports, offset, path, stop, deadline, statuses, lock):
    """One client: keep-alive connections to every replica, requests round robin over them
    (starting at `offset`), CLIENT_SLEEP_S between requests."""
    conns = [None] * len(ports)
    i = offset
    local = {}
    while not stop.is_set() and time.monotonic() < deadline:
        k = i % len(ports)
        i += 1
        try:
            if conns[k] is None:
                conns[k] = http.client.HTTPConnection("127.0.0.1", ports[k], timeout=15)
            conns[k].request("GET", path)
            r = conns[k].getresponse()
            r.read()
            code = r.status
        except Exception:
            if conns[k] is not None:
                conns[k].close()
            conns[k] = None
            code = "error"
        local[code] = local.get(code, 0) + 1
        time.sleep(CLIENT_SLEEP_S)
    for c in conns:
        if c is not None:
            c.close()
    with lock:
        for code, n in local.items():
            statuses[code] = statuses.get(code, 0) + n


def measure_load(B, sim, gws, paths, clients_per_path):
    """Clients spread round robin over the replicas (client j starts at replica j), for
    WARM_TTLS unmeasured and then MEASURE_TTLS measured TTL windows of one continuous load.
    Returns (sim counters of the measured window, its wall time, statuses, fleet Δ)."""
    ports = [g.listener()[1] for g in gws]
    stop, lock, statuses = threading.Event(), threading.Lock(), {}
    deadline = time.monotonic() + (WARM_TTLS + MEASURE_TTLS) * TTL_S + 60
    threads = []
    j = 0
    for p in paths:
        for _ in range(clients_per_path):
            threads.append(threading.Thread(target=client, args=(ports, j, p, stop, deadline,
                                                                 statuses, lock)))
            j += 1
    try:
        for t in threads:
            t.start()
        time.sleep(WARM_TTLS * TTL_S)
        f0 = fleet_counters(gws)
        B.reset_counters(sim)
        t0 = time.monotonic()
        time.sleep(MEASURE_TTLS * TTL_S)
        cn = B.counters(sim)
        wall = time.monotonic() - t0
        f1 = fleet_counters(gws)
    finally:
        stop.set()
        for t in threads:
            t.join(30)
    return cn, wall, statuses, fleet_delta(f0, f1)


def report_exits(B, procs):
    """After a failed request: which of our processes had exited, and its last stderr."""
    for name, p in procs:
        rc = p.p.poll()
        if rc is not None:
            B.log("%s (pid %d) exited with %s; stderr tail:\n%s"
                  % (name, p.p.pid, rc, p.stderr()[-2000:]))


def per_worker(cn, workers, windows):
    posts = cn["jolokia"]["workers"]
    return [posts.get(w, {}).get("post", 0) / windows for w in workers]


# ---------------------------------------------------------------------------------------------
# the loads of the collection runs: (key, label, paths, clients per path, upstream route)


def loads(names):
    enc = kctest.enc
    return [
        ("one", "%s (8 clients)" % CONNECTOR,
         ["/api/default/connectors/%s/metrics" % CONNECTOR], 8, STATUS_ROUTE),
        ("watched", "%d watched connectors (3 clients each)" % len(names),
         ["/api/default/connectors/%s/metrics" % enc(n) for n in names], 3, STATUS_ROUTE),
        ("summary", "cluster summary /api/default/metrics (8 clients)",
         ["/api/default/metrics"], 8, EXPAND_ROUTE),
    ]


def collections(B, args, out):
    """Fills out["plan"], out["workers"], out["res"] as it goes (a failure keeps what ran)."""
    st = B.Stack()
    results = out["res"]   # (load key, mode, n) -> dict
    try:
        sim = B.start_sim(st, ["--connectors", str(SIM_CONNECTORS)])
        names = kctest.http("GET", sim.url("connect") + "/connectors").json()
        names = sorted(names, key=lambda n: (n != CONNECTOR, n))
        workers = sorted(B.counters(sim)["jolokia"]["workers"])
        plan = loads(names)
        out["plan"], out["workers"] = plan, workers
        for n in REPLICAS:
            for mode in ("local", "fleet"):
                sub = B.Stack()
                try:
                    rport = start_redis(sub).port if mode == "fleet" else None
                    gws = start_replicas(B, sub, sim, n, TTL_ENV, rport)
                    for key, label, paths, cpp, route in plan:
                        B.log("part 6: %d replica(s), %s mode, %s, %d+%d TTLs of %.0f s"
                              % (n, mode, label, WARM_TTLS, MEASURE_TTLS, TTL_S))
                        try:
                            cn, wall, statuses, fd = measure_load(B, sim, gws, paths, cpp)
                        except Exception:
                            report_exits(B, [("connect-sim", sim)] +
                                         [("gateway %d" % i, g) for i, g in enumerate(gws)])
                            raise
                        windows = wall / TTL_S
                        calls = cn["connect"]["routes"].get(route, 0)
                        results[(key, mode, n)] = {
                            "calls": calls, "per_ttl": calls / windows, "windows": windows,
                            "posts": per_worker(cn, workers, windows),
                            "posts_total": B.jolokia_posts(cn),
                            "other": cn["connect"]["total"] - calls,
                            "statuses": statuses, "fleet": fd}
                        time.sleep(PAUSE_TTLS * TTL_S)
                finally:
                    sub.stop_all()
    finally:
        st.stop_all()


def within(value, base):
    """'The same as one replica': at most 10 % (and at least 0.1 per window) above it."""
    return value <= max(base * 1.10, base + 0.10)


def report_collections(B, plan, workers, res):
    wnames = "/".join(w.split(":")[0].split(".")[-1] for w in workers)  # 1/2/3
    for key, label, _, _, route in plan:
        what = ("Connect status calls" if route == STATUS_ROUTE
                else "Connect expand lists (%s)" % route)
        base = res.get((key, "local", 1))
        if base is None:
            continue
        for mode in ("local", "fleet"):
            vals = [res.get((key, mode, n)) for n in REPLICAS]
            text = " / ".join("%.2f" % v["per_ttl"] if v else "—" for v in vals)
            text += " (%s)" % ", ".join("%d in %.1f windows" % (v["calls"], v["windows"])
                                        for v in vals if v)
            bad = ["%d: %s" % (n, v["statuses"]) for n, v in zip(REPLICAS, vals)
                   if v and set(v["statuses"]) != {200}]
            if bad:
                text += "; answers not all 200 — " + "; ".join(bad)
            if mode == "local":
                B.row("6", "%s: %s per TTL window, 1 / 2 / 3 / 5 replicas, without Redis"
                      % (label, what), text, "(N × the 1-replica figure expected)")
            else:
                ok = all(v and within(v["per_ttl"], base["per_ttl"]) for v in vals)
                B.row("6", "%s: %s per TTL window, 1 / 2 / 3 / 5 replicas, with Redis"
                      % (label, what), text,
                      "≤ 1 replica without Redis (%.2f) + 10 %%" % base["per_ttl"], ok)
        for mode in ("local", "fleet"):
            vals = [res.get((key, mode, n)) for n in REPLICAS]
            text = " / ".join(("·".join("%.2f" % p for p in v["posts"]) if v else "—")
                              for v in vals)
            base_posts = base["posts"]
            goal, ok = "", None
            if mode == "fleet":
                goal = "each worker ≤ 1 replica without Redis (%s) + 10 %%" % "·".join(
                    "%.2f" % p for p in base_posts)
                ok = all(v and all(within(p, bp) for p, bp in zip(v["posts"], base_posts))
                         for v in vals)
            B.row("6", "%s: Jolokia POSTs per worker (.%s) per TTL window, 1 / 2 / 3 / 5 "
                  "replicas, %s Redis" % (label, wnames, "with" if mode == "fleet" else "without"),
                  text, goal, ok)
        vals = [res.get((key, "fleet", n)) for n in REPLICAS]
        B.row("6", "%s: fleet counters Δ over the measured window (all replicas), 1 / 2 / 3 / 5 "
              "replicas" % label,
              " / ".join("{%s}" % fmt_fleet(v["fleet"]) if v else "—" for v in vals))


# ---------------------------------------------------------------------------------------------
# cache hits: one replica, fleet mode vs local mode


def cache_hits(B, args):
    st = B.Stack()
    try:
        sim = B.start_sim(st, ["--connectors", str(SIM_CONNECTORS)])
        redis = start_redis(st)
        fgw = start_replicas(B, st, sim, 1, WARM_TTL_ENV, redis.port)[0]
        lgw = start_replicas(B, st, sim, 1, WARM_TTL_ENV)[0]
        path = "/api/default/connectors/%s/metrics" % CONNECTOR
        urls = {"fleet": fgw.url() + path, "local": lgw.url() + path}
        server_cpus, wrk_cpus = ({0}, {1}) if args.pin and os.cpu_count() >= 2 else (None, None)
        if server_cpus:
            for g in (fgw, lgw):
                os.sched_setaffinity(g.p.pid, server_cpus)
            B.log("part 6: gateways %d (fleet) and %d (local) on CPU 0, wrk on CPU 1"
                  % (fgw.p.pid, lgw.p.pid))
        docs = {}
        for who, url in urls.items():
            kctest.http("GET", url)
            r = kctest.http("GET", url)
            if r.status != 200:
                raise RuntimeError("warm-up failed: %s HTTP %d" % (who, r.status))
            docs[who] = (len(r.body), r.header("X-Cache"))
        B.row("6", "cache hit: document served (fleet / local replica), TTL %s"
              % WARM_TTL_ENV, "%d B (X-Cache %s) / %d B (X-Cache %s)"
              % (docs["fleet"][0], docs["fleet"][1], docs["local"][0], docs["local"][1]))
        for who in ("fleet", "local"):
            B.log("part 6: %s replica, 100 connections, 2 s warm-up" % who)
            B.wrk(urls[who], 100, 2, args.wrk_threads, wrk_cpus)
        res = {"fleet": [], "local": []}
        f0 = fleet_counters([fgw])
        cmds_fleet = 0
        for rnd in range(args.rounds):
            for who in ("fleet", "local"):  # strictly alternating: fleet, local, fleet, ...
                B.log("part 6: %s replica, 100 connections, %d s, round %d"
                      % (who, args.duration, rnd + 1))
                c0 = redis_info_stat(redis.port, "total_commands_processed")
                res[who].append(B.wrk(urls[who], 100, args.duration, args.wrk_threads, wrk_cpus))
                c1 = redis_info_stat(redis.port, "total_commands_processed")
                if who == "fleet":
                    cmds_fleet += c1 - c0 - 1  # minus the first INFO itself
        fd = fleet_delta(f0, fleet_counters([fgw]))
        mode = health_redis(fgw.url())["mode"]
        f, l = B.median_run(res["fleet"]), B.median_run(res["local"])
        B.row("6", "cache hit, 100 conns, one replica: fleet mode (KC_REDIS_URL)", B.fmt_wrk(f))
        B.row("6", "cache hit, 100 conns, one replica: local mode", B.fmt_wrk(l))
        pairs = ", ".join("%.2f" % (a["rps"] / b["rps"])
                          for a, b in zip(res["fleet"], res["local"]))
        fleet_reqs = sum(r["requests"] for r in res["fleet"])
        ratio = f["rps"] / l["rps"]
        B.row("6", "cache hit req/s, fleet ÷ local (medians)",
              "%.2f× (per round: %s)" % (ratio, pairs), "≥ 0.9×", ratio >= 0.9)
        B.row("6", "cache hit, fleet replica during its rounds: Redis commands / "
              "fleet counters Δ",
              "%d Redis commands for %s requests (mode %s); {%s}"
              % (cmds_fleet, "{:,}".format(fleet_reqs), mode, fmt_fleet(fd)))
    finally:
        st.stop_all()


# ---------------------------------------------------------------------------------------------


def part6(args, B):
    """B: the bench_all module (row, log, Stack, start_sim, start_gw, wrk, counters, ...)."""
    if REDIS is None:
        raise RuntimeError("part 6 needs redis-server (deploy/install-deps.sh installs it)")
    B.raise_nofile()
    out = {"plan": [], "workers": [], "res": {}}
    try:
        collections(B, args, out)
    finally:
        report_collections(B, out["plan"], out["workers"], out["res"])
    cache_hits(B, args)


if __name__ == "__main__":
    sys.path.insert(0, HERE)
    import bench_all
    sys.argv = [sys.argv[0], "--only", "6"] + sys.argv[1:]
    bench_all.main()
