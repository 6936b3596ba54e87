#!/usr/bin/env python3
"""Part 9 (issue #14 §3): instructions per cached request, gateway vs nginx, counted by
valgrind's callgrind — a figure that the machine's noise does not move, where part 1's p99
moves from round to round.

    python3 test/bench/bench_instructions.py [--build build/release]
    python3 test/bench/bench_all.py --only 9

Each server runs alone under callgrind (the gateway; nginx as in part 1, one process,
`master_process off`, in front of a second gateway). After a warm-up its counters are zeroed
(callgrind_control -z), wrk -t1 -c10 sends cache hits of GET
/api/default/connectors/orders-src/metrics for 5 s, the counters are dumped (callgrind_control
-d), and the figure is the instructions the server executed (user space: libc, the libraries,
its own code; not the kernel) divided by the requests wrk completed. The same loop turns,
parsing and replying that part 1 measures in time, counted.
"""
import argparse
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import kctest  # noqa: E402

WRK_SECONDS = 5
WRK_CONNECTIONS = 10


def wait_ok(url, deadline_s=120):
    t_end = time.monotonic() + deadline_s
    while time.monotonic() < t_end:
        try:
            if kctest.http("GET", url, timeout=10).status == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError("%s did not answer 200 under callgrind" % url)


def control(*argv):
    r = subprocess.run(["callgrind_control"] + list(argv), capture_output=True, text=True,
                       timeout=60)
    if r.returncode != 0:
        raise RuntimeError("callgrind_control %s: %s" % (" ".join(argv), r.stderr.strip()))


def count(proc, outbase, url, log):
    """Zero, load, dump: (instructions, requests)."""
    wait_ok(url)
    for _ in range(50):  # warm-up: caches, parser pools, pages
        kctest.http("GET", url, timeout=10)
    control("-z", str(proc.pid))
    r = subprocess.run(["wrk", "-t1", "-c%d" % WRK_CONNECTIONS, "-d%ds" % WRK_SECONDS, url],
                       capture_output=True, text=True, timeout=WRK_SECONDS + 120)
    m = re.search(r"(\d+) requests in", r.stdout)
    if not m:
        raise RuntimeError("wrk output unexpected: %s %s" % (r.stdout, r.stderr))
    requests = int(m.group(1))
    before = set(glob.glob(outbase + "*"))
    control("-d", str(proc.pid))
    dumps = []
    for _ in range(100):
        dumps = sorted(set(glob.glob(outbase + "*")) - before)
        if dumps and os.path.getsize(dumps[-1]) > 0:
            break
        time.sleep(0.1)
    total = None
    for path in dumps:
        with open(path) as f:
            for line in f:
                if line.startswith(("summary:", "totals:")):
                    total = int(line.split()[1])
    if total is None:
        raise RuntimeError("no callgrind dump with totals in %s" % dumps)
    log("callgrind: %d instructions, %d requests" % (total, requests))
    return total, requests


def measure(name, argv, env, port, rundir, b):
    """Runs argv under callgrind and counts its cache hits of part 1's URL on port."""
    outbase = os.path.join(rundir, name)
    proc = subprocess.Popen(["valgrind", "--tool=callgrind",
                             "--callgrind-out-file=" + outbase + ".%p", "--dump-instr=no",
                             "--dump-line=no"] + argv, env=env, stdout=subprocess.DEVNULL,
                            stderr=open(outbase + ".log", "w"))
    try:
        return count(proc, outbase, "http://127.0.0.1:%d%s" % (port, b.METRICS_PATH), b.log)
    finally:
        proc.terminate()
        proc.wait(timeout=60)


def part9(args, b):
    if not shutil.which("valgrind") or not shutil.which("callgrind_control"):
        b.row("9", "part skipped", "needs valgrind (apt-get install valgrind)", "", None)
        return
    rundir = tempfile.mkdtemp(prefix="kc-bench-cg-")
    st = b.Stack()
    figures = {}
    try:
        sim = b.start_sim(st)
        _, jport = sim.listener("jolokia")
        env = dict(os.environ, LOG_LEVEL="warn", METRICS_CACHE_TTL="60s",
                   KAFKA_CONNECT_URL=sim.url("connect"),
                   JOLOKIA_URL="http://{host}:%d/jolokia" % jport)

        # The gateway under callgrind.
        port = b.free_port()
        env["LISTEN_ADDR"] = "127.0.0.1:%d" % port
        figures["gateway"] = measure("gateway", [kctest.binary("kconnect-console")], env, port,
                                     rundir, b)

        # nginx under callgrind, one process, in front of a gateway (not measured).
        up = b.start_gw(st, sim, "60s")
        _, uport = up.listener()
        nport = b.free_port()
        ngdir = os.path.join(rundir, "nginx-run")
        os.makedirs(ngdir)
        conf = open(b.NGINX_TEMPLATE).read()
        for k, v in (("@RUNDIR@", ngdir), ("@PORT@", str(nport)),
                     ("@UPSTREAM_PORT@", str(uport)), ("user @USER@;\n", ""),
                     ("master_process on;", "master_process off;"),
                     ("proxy_cache_valid 200 5s", "proxy_cache_valid 200 60s")):
            conf = conf.replace(k, v)
        with open(os.path.join(ngdir, "nginx.conf"), "w") as f:
            f.write(conf)
        figures["nginx"] = measure("nginx", [b.NGINX, "-p", ngdir, "-e", ngdir + "/error.log",
                                             "-c", ngdir + "/nginx.conf"], None, nport,
                                   rundir, b)
    finally:
        st.stop_all()
        shutil.rmtree(rundir, ignore_errors=True)
    per = {k: v[0] / max(1, v[1]) for k, v in figures.items()}
    b.row("9", "instructions per cached GET …/metrics (callgrind, user space, wrk -c%d %d s)"
          % (WRK_CONNECTIONS, WRK_SECONDS),
          "gateway {:,.0f} vs nginx {:,.0f} ({:,} / {:,} requests)".format(
              per["gateway"], per["nginx"], figures["gateway"][1], figures["nginx"][1]),
          "≤ nginx", per["gateway"] <= per["nginx"])


if __name__ == "__main__":
    sys.path.insert(0, HERE)
    import bench_all
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(bench_all.ROOT, "build", "release"))
    a = ap.parse_args()
    kctest.BUILD_DIR = os.path.abspath(a.build)
    part9(a, bench_all)
    print("| part | figure | value | goal | met |")
    print("|---|---|---|---|---|")
    for r in bench_all.ROWS:
        print("| %s |" % " | ".join(r))
