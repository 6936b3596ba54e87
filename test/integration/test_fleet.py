"""Fleet mode end to end: a real redis-server (started here on a free port), three gateways and
connect-sim, all separate processes on loopback. The fleet costs Connect what one gateway costs,
and every replica serves the same documents, history, alerts and streams; Redis trouble sends
each replica back to local mode and fleet mode returns by itself."""
import json
import math
import os
import re
import shutil
import signal
import socket
import threading
import time

import pytest

import kctest
from conftest import start_gateway, start_sim
from kctest import control, counters, enc, get_json, http, read_for, sse_records, wait_until
from test_alerts import Webhook
from test_redis import RedisServer, free_port

REDIS = shutil.which("redis-server")
pytestmark = pytest.mark.skipif(REDIS is None, reason="redis-server is not installed "
                                "(deploy/install-deps.sh installs it)")

TTL_S = 1.0
CONNECTOR = "orders-src"
STATUS_ROUTE = "GET /connectors/{name}/status"
EXPAND_ROUTE = "GET /connectors"


def health_redis(g):
    return get_json(g.url() + "/api/gateway/health")[1]["redis"]


def fleet(g):
    return health_redis(g)["fleet"]


def start_fleet(sim, redis_url, n=3, env=None):
    base = {"KC_REDIS_URL": redis_url, "METRICS_CACHE_TTL": "%dms" % (TTL_S * 1000),
            "KC_NEGATIVE_TTL": "300ms"}
    base.update(env or {})
    gws = [start_gateway(sim, env=base) for _ in range(n)]
    for g in gws:
        wait_until(lambda g=g: health_redis(g)["mode"] == "fleet", timeout=10,
                   what="fleet mode on %s" % g.url())
    return gws


@pytest.fixture
def redis():
    r = RedisServer(free_port())
    yield r
    r.stop()


@pytest.fixture
def fleet_sim():
    p = start_sim("--seed", "7")
    yield p
    p.assert_clean_exit()


@pytest.fixture
def gws(fleet_sim, redis):
    gs = start_fleet(fleet_sim, "redis://127.0.0.1:%d" % redis.port)
    yield gs
    for g in gs:
        g.assert_clean_exit()


def redis_cmd(port, *args):
    """One command over RESP to the test's redis-server (what redis-cli would do)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        f = s.makefile("rwb")
        f.write(("*%d\r\n" % len(args)).encode())
        for a in args:
            a = a.encode() if isinstance(a, str) else a
            f.write(b"$%d\r\n%s\r\n" % (len(a), a))
        f.flush()

        def read():
            line = f.readline().rstrip(b"\r\n")
            t, rest = line[:1], line[1:]
            if t == b"*":
                return [read() for _ in range(int(rest))]
            if t == b"$":
                return None if int(rest) < 0 else f.read(int(rest) + 2)[:-2]
            if t == b":":
                return int(rest)
            return rest
        return read()


def hammer(urls, seconds, per_round_sleep=0.02):
    """Clients spread over the replicas, round robin, for `seconds`. Returns the statuses."""
    statuses = []
    deadline = time.monotonic() + seconds
    i = 0
    while time.monotonic() < deadline:
        statuses.append(http("GET", urls[i % len(urls)]).status)
        i += 1
        time.sleep(per_round_sleep)
    return statuses


def test_one_collection_per_ttl_for_the_whole_fleet(fleet_sim, gws):
    urls = [g.url() + "/api/default/connectors/%s/metrics" % CONNECTOR for g in gws]
    assert http("GET", urls[0]).status == 200  # warm: the previous sample exists
    control(fleet_sim, "POST", "/counters/reset")
    t0 = time.monotonic()
    statuses = hammer(urls, 5 * TTL_S)
    elapsed = time.monotonic() - t0
    c = counters(fleet_sim)
    assert set(statuses) == {200} and len(statuses) > 60
    windows = elapsed / TTL_S
    status_calls = c["connect"]["routes"].get(STATUS_ROUTE, 0)
    # Three replicas each collecting would make ~3 per TTL; the fleet makes one.
    assert math.floor(windows) - 1 <= status_calls <= math.ceil(windows) + 1, (status_calls, c)
    posts = [w["post"] for w in c["jolokia"]["workers"].values() if w["post"]]
    assert posts and all(p == status_calls for p in posts), c
    wins = sum(fleet(g)["leaseWins"] for g in gws)
    assert wins >= status_calls  # every collection was taken by a lease (warm-up one included)
    # Most answers came from the fleet's store or publish, not a collection of their own.
    assert sum(fleet(g)["hits"] + fleet(g)["applied"] for g in gws) > 0


def test_cluster_summary_one_expand_list_per_ttl(fleet_sim, gws):
    urls = [g.url() + "/api/default/metrics" for g in gws]
    assert http("GET", urls[0]).status == 200
    control(fleet_sim, "POST", "/counters/reset")
    t0 = time.monotonic()
    statuses = hammer(urls, 4 * TTL_S)
    windows = (time.monotonic() - t0) / TTL_S
    c = counters(fleet_sim)
    assert set(statuses) == {200}
    lists = c["connect"]["routes"].get(EXPAND_ROUTE, 0)
    assert math.floor(windows) - 1 <= lists <= math.ceil(windows) + 1, c
    # Every replica answers the same document (same bytes: one collection, shared).
    bodies = {http("GET", u).body for u in urls}
    assert len(bodies) == 1


def test_history_is_the_same_from_every_replica_and_rates_follow_the_collector(fleet_sim, gws):
    url = "/api/default/connectors/%s/metrics" % CONNECTOR
    # Each TTL the document has expired and the next reader is another replica: it wins the
    # lease and collects, continuing from the previous sample the last collector stored. One
    # task stops producing for a while, so the rate changes between windows.
    for i in range(7):
        assert http("GET", gws[i % 3].url() + url).status == 200
        if i == 3:
            control(fleet_sim, "POST", "/tasks/no-data",
                    {"connector": CONNECTOR, "task": 0, "ms": int(TTL_S * 1500)})
        time.sleep(TTL_S * 1.15)
    assert all(fleet(g)["leaseWins"] >= 2 for g in gws)
    docs = [get_json(g.url() + url + "/history")[1] for g in gws]
    assert len(docs[0]["t"]) >= 6
    assert docs[0] == docs[1] == docs[2]
    # Rates are deltas over the previous collection's totals, whichever replica made it: a
    # replica without the shared sample would show its tasks' rate attributes instead.
    h = docs[0]
    for k in range(1, len(h["t"])):
        dt = (h["t"][k] - h["t"][k - 1]) / 1000.0
        expect = (h["totalRecords"][k] - h["totalRecords"][k - 1]) / dt
        assert abs(h["recordsPerSecond"][k] - expect) <= max(1.0, expect * 0.005), (k, h)
    # ?since= filters the same everywhere.
    since = h["t"][-2]
    tails = [get_json(g.url() + url + "/history?since=%d" % since)[1] for g in gws]
    assert tails[0] == tails[1] == tails[2] and tails[0]["t"] == h["t"][-1:]


def test_stream_on_one_replica_sees_collections_made_by_another(gws):
    a, b = gws[0], gws[1]
    path = "/api/default/connectors/%s/metrics" % CONNECTOR
    # B collects (lease won), then a stream opens on A: its first event is B's document.
    assert http("GET", b.url() + path).status == 200
    assert fleet(b)["leaseWins"] == 1 and fleet(a)["leaseWins"] == 0
    b_doc = http("GET", b.url() + path).body

    events = {}

    def read(g, key, seconds):
        host, port = g.listener()
        s = socket.create_connection((host, port), timeout=seconds + 2)
        s.sendall(("GET %s/stream HTTP/1.1\r\nHost: x\r\n\r\n" % path).encode())
        events[key] = sse_records(read_for(s, seconds))
        s.close()

    ta = threading.Thread(target=read, args=(a, "a", 4.5))
    tb = threading.Thread(target=read, args=(b, "b", 4.5))
    ta.start()
    time.sleep(0.05)
    tb.start()
    ta.join()
    tb.join()
    ea = [e for e in events["a"] if e.get("event") == "metrics"]
    eb = [e for e in events["b"] if e.get("event") == "metrics"]
    assert ea and json.loads(ea[0]["data"]) == json.loads(b_doc)
    # Both streams carry the same documents with the same ids, whichever replica collected.
    common = {e["id"] for e in ea} & {e["id"] for e in eb}
    assert len(common) >= 3
    by_id_a = {e["id"]: e["data"] for e in ea}
    by_id_b = {e["id"]: e["data"] for e in eb}
    assert all(by_id_a[i] == by_id_b[i] for i in common)
    ids = [int(e["id"]) for e in ea]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    # One collection per TTL for both streams together.
    wins = sum(fleet(g)["leaseWins"] for g in gws)
    assert wins <= 1 + math.ceil(4.5 / TTL_S) + 1


def test_alerts_and_one_webhook_per_transition(fleet_sim, redis, tmp_path):
    hook = Webhook()
    cfg = tmp_path / "kc.json"
    cfg.write_text(json.dumps({"alerts": {"rules": [{"name": "task-failed",
                                                     "kind": "task_failed"}],
                                          "webhook": {"url": hook.url}}}))
    gs = start_fleet(fleet_sim, "redis://127.0.0.1:%d" % redis.port,
                     env={"KC_CONFIG": str(cfg)})
    try:
        def alerts(g):
            return get_json(g.url() + "/api/default/alerts")[1]

        def active(g, connector):
            return [x for x in alerts(g)["active"] if x["connector"] == connector]

        # Alerts are evaluated on summary collections: clients on every replica ask for them.
        stop = threading.Event()

        def poll():
            while not stop.is_set():
                for g in gs:
                    http("GET", g.url() + "/api/default/alerts")
                time.sleep(0.1)

        t = threading.Thread(target=poll, daemon=True)
        t.start()
        control(fleet_sim, "POST", "/tasks/fail", {"connector": CONNECTOR, "task": 0})
        for g in gs:
            wait_until(lambda g=g: active(g, CONNECTOR), timeout=10, what="alert on every replica")
        docs = [alerts(g) for g in gs]
        assert docs[0]["active"] == docs[1]["active"] == docs[2]["active"]
        wait_until(lambda: hook.has("fire", "task-failed", CONNECTOR), timeout=10,
                   what="webhook fire")
        kctest.http("POST", fleet_sim.url("connect") + "/connectors/%s/restart?includeTasks=true"
                    "&onlyFailed=true" % enc(CONNECTOR))
        wait_until(lambda: hook.has("resolve", "task-failed", CONNECTOR), timeout=10,
                   what="webhook resolve")
        time.sleep(3 * TTL_S)  # every replica has collected the summary a few more times
        stop.set()
        t.join()
        mine = [(e["event"], e["connector"]) for e in hook.delivered()
                if e["connector"] == CONNECTOR]
        assert mine == [("fire", CONNECTOR), ("resolve", CONNECTOR)]
        # payments-jdbc's task is FAILED from the start: fired once for the fleet, too.
        assert [e["event"] for e in hook.delivered()
                if e["connector"] == "payments-jdbc"] == ["fire"]
        resolved = [alerts(g)["resolved"] for g in gs]
        assert resolved[0] == resolved[1] == resolved[2] and resolved[0]
    finally:
        for g in gs:
            g.stop()
        hook.close()


def test_lease_holder_killed_mid_collection(fleet_sim, redis):
    # Short upstream timeouts bound the lease: 2 × 1500 + 1000 + 1000 = 5000 ms.
    gs = start_fleet(fleet_sim, "redis://127.0.0.1:%d" % redis.port, n=2,
                     env={"KC_REQUEST_TIMEOUT_MS": "1500", "JOLOKIA_TIMEOUT_MS": "1000"})
    a, b = gs
    path = "/api/default/connectors/%s/metrics" % CONNECTOR
    control(fleet_sim, "PUT", "/faults", {"target": "connect", "fault": "slow", "delay_ms": 1200})
    result = {}

    def ask_a():
        try:
            result["a"] = http("GET", a.url() + path, timeout=10).status
        except OSError as e:
            result["a"] = e

    t = threading.Thread(target=ask_a)
    t.start()
    # A's status call reached Connect (which answers it 1.2 s later): A holds the lease.
    wait_until(lambda: counters(fleet_sim)["connect"]["routes"].get(STATUS_ROUTE), timeout=5,
               what="A collecting")
    lease = "kc:lease:cdefault\x1f" + CONNECTOR
    assert redis_cmd(redis.port, "EXISTS", lease) == 1
    a.kill()  # SIGKILL mid-collection: its lease stays until it expires
    t.join()
    control(fleet_sim, "DELETE", "/faults")
    t0 = time.monotonic()
    r = http("GET", b.url() + path, timeout=15)
    waited = time.monotonic() - t0
    assert r.status == 200, r.body
    f = fleet(b)
    assert f["leaseLosses"] >= 1 and f["leaseExpiredWaits"] >= 1 and f["leaseWins"] >= 1, \
        (f, waited, result)
    assert waited < 5.0 + 1.5, waited  # within the lease time
    assert not isinstance(result["a"], int)  # A never answered: it died collecting
    b.stop()


def test_redis_killed_then_back(fleet_sim, redis, gws):
    path = "/api/default/connectors/%s/metrics" % CONNECTOR
    for g in gws:
        assert http("GET", g.url() + path).status == 200
    redis.stop()
    t0 = time.monotonic()
    for g in gws:
        wait_until(lambda g=g: health_redis(g)["mode"] == "local", timeout=3,
                   what="local mode")
    assert time.monotonic() - t0 < 2.0
    for _ in range(10):  # every replica keeps answering, readiness stays
        for g in gws:
            assert http("GET", g.url() + path).status == 200
            assert http("GET", g.url() + "/api/default/metrics").status == 200
            assert http("GET", g.url() + "/ready").status == 200
        time.sleep(0.1)
    # Back on the same port: fleet mode returns by itself.
    again = RedisServer(redis.port)
    try:
        for g in gws:
            wait_until(lambda g=g: health_redis(g)["mode"] == "fleet", timeout=15,
                       what="fleet mode again")
        time.sleep(TTL_S * 1.2)
        control(fleet_sim, "POST", "/counters/reset")
        t0 = time.monotonic()
        hammer([g.url() + path for g in gws], 3 * TTL_S)
        windows = (time.monotonic() - t0) / TTL_S
        calls = counters(fleet_sim)["connect"]["routes"].get(STATUS_ROUTE, 0)
        assert calls <= math.ceil(windows) + 1
        m = http("GET", gws[0].url() + "/metrics").body.decode()
        assert "kconnect_redis_fallbacks_total 1" in m
        assert "kconnect_fleet_local_fallbacks_total" in m
    finally:
        again.stop()


def test_redis_stalled_requests_answer_within_a_second(redis, gws):
    path = "/api/default/connectors/%s/metrics" % CONNECTOR
    os.kill(redis.p.pid, signal.SIGSTOP)  # accepts nothing, answers nothing
    try:
        time.sleep(TTL_S * 1.1)  # the cached documents expire: the next reads need a collection
        for g in gws:
            t0 = time.monotonic()
            r = http("GET", g.url() + path, timeout=10)
            assert r.status == 200 and time.monotonic() - t0 < 1.5, time.monotonic() - t0
        for g in gws:
            assert health_redis(g)["mode"] == "local"
    finally:
        os.kill(redis.p.pid, signal.SIGCONT)
    for g in gws:
        wait_until(lambda g=g: health_redis(g)["mode"] == "fleet", timeout=15,
                   what="fleet mode after the stall")


def test_redis_with_password(fleet_sim, tmp_path):
    password = "fl33t-s3cret"
    r = RedisServer(free_port(), password=password)
    try:
        gs = start_fleet(fleet_sim, "redis://:%s@127.0.0.1:%d/2" % (password, r.port), n=2)
        path = "/api/default/connectors/%s/metrics" % CONNECTOR
        assert http("GET", gs[0].url() + path).status == 200
        assert http("GET", gs[1].url() + path).status == 200
        assert fleet(gs[0])["leaseWins"] + fleet(gs[1])["leaseWins"] == 1
        for g in gs:
            h = http("GET", g.url() + "/api/gateway/health").body.decode()
            g.stop()
            assert password not in g.stderr() and password not in h
    finally:
        r.stop()


def test_everything_written_has_a_ttl(gws, redis):
    path = "/api/default/connectors/%s/metrics" % CONNECTOR
    for g in gws:
        http("GET", g.url() + path)
        http("GET", g.url() + "/api/default/metrics")
    def cmd(*args):
        return redis_cmd(redis.port, *args)

    keys = cmd("KEYS", "kc:*")
    assert any(k.startswith(b"kc:doc:") for k in keys) and any(k.startswith(b"kc:hist:")
                                                              for k in keys)
    for k in keys:
        assert cmd("PTTL", k) > 0, k


# ---- big published summaries are applied in slices (issue #14 §1) ----

BIG = 3000  # connectors: a 1.5 MB summary, well above the 64 KiB one-go limit


def prom_connectors(g):
    """The connectors /metrics has Prometheus rows for (from the replica's parsed summary)."""
    text = http("GET", g.url() + "/metrics", timeout=60).body.decode()
    label = re.compile(r'connector="((?:[^"\\]|\\.)*)"')
    unescape = {"\\\\": "\\", '\\"': '"', "\\n": "\n"}
    return {re.sub(r"\\.", lambda m: unescape[m.group(0)], label.search(line).group(1))
            for line in text.splitlines() if line.startswith("kconnect_connector_records_total{")}


def applied_in_slices(g):
    """The debug lines of summaries this replica applied in slices."""
    return [json.loads(l) for l in g.stderr().splitlines() if '"fleet_summary_applied"' in l]


def publish(port, *messages):
    """PUBLISHes every message on kc:docs in ONE write (pipelined): they reach the replicas
    back to back. Returns Redis's replies (subscriber counts)."""
    out = b""
    for m in messages:
        args = [b"PUBLISH", b"kc:docs", m]
        out += b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(out)
        f = s.makefile("rb")
        return [int(f.readline()[1:]) for _ in messages]


def envelope(key, doc, seq, made_ms, ttl_ms=60000):
    """A publish as fleet.c encodes it: "<key length>:<key>" + the KCF1 envelope (no gzip form,
    no alerts)."""
    body = json.dumps(doc, separators=(",", ":")).encode()
    head = b"KCF1 200 1 %d %d %d %d 0 0\n" % (seq, made_ms, ttl_ms, len(body))
    return b"%d:%s" % (len(key), key) + head + body


@pytest.fixture
def big_fleet(redis):
    sim = start_sim("--connectors", str(BIG), "--seed", "7")
    gs = start_fleet(sim, "redis://127.0.0.1:%d" % redis.port,
                     env={"METRICS_CACHE_TTL": "120s", "LOG_LEVEL": "debug"})
    yield sim, gs
    for g in gs:
        g.assert_clean_exit()
    sim.assert_clean_exit()


def test_big_published_summary_is_applied_in_slices_and_served(big_fleet, redis):
    _, (a, b, c) = big_fleet
    path = "/api/default/metrics"
    got = {}

    def ask(g, k):
        got[k] = http("GET", g.url() + path, timeout=60)

    # A collects (lease won); B asks meanwhile and waits for A's publish (or, if A was quicker,
    # takes the stored document): either way a 1.5 MB summary arrives from Redis.
    ta = threading.Thread(target=ask, args=(a, "a"))
    ta.start()
    wait_until(lambda: fleet(a)["leaseWins"] == 1, timeout=10, what="A holds the lease")
    ask(b, "b")
    ta.join()
    ask(c, "c")  # after A stored it: a hit in Redis
    assert fleet(c)["hits"] == 1 and fleet(b)["leaseWins"] == fleet(c)["leaseWins"] == 0
    assert got["a"].status == got["b"].status == got["c"].status == 200
    assert got["a"].body == got["b"].body == got["c"].body  # the same bytes: one collection
    doc = json.loads(got["b"].body)
    names = {r["name"] for r in doc["connectors"]}
    assert len(names) == BIG and len(got["b"].body) > 64 * 1024
    # A sent its 1.5 MB envelope in 256 KiB pieces (SET, then APPENDs) that the store script
    # took: none is left behind.
    stats = redis_cmd(redis.port, "INFO", "commandstats").decode()
    appends = int(re.search(r"cmdstat_append:calls=(\d+)", stats).group(1))
    assert appends >= len(got["a"].body) // (256 * 1024) - 1, stats
    assert redis_cmd(redis.port, "KEYS", "kc:stage:*") == []
    # It was announced, not published whole, and B and C fetched it in 256 KiB pieces (C
    # because the lease script answered it by its head line).
    ranges = int(re.search(r"cmdstat_getrange:calls=(\d+)", stats).group(1))
    assert ranges >= 2 * 2 * (len(got["a"].body) // (256 * 1024)), stats
    assert fleet(b)["errors"] == fleet(c)["errors"] == 0
    for g in (b, c):
        # Parsed in steps of a little over 8 KiB (1.5 MB: ~180 of them), then the install.
        lines = applied_in_slices(g)
        assert len(lines) == 1 and lines[0]["bytes"] == len(got["b"].body), lines
        assert lines[0]["steps"] >= len(got["b"].body) // 16384, lines
        # Prometheus renders from the summary the replica parsed: a row for every connector.
        assert prom_connectors(g) == names


def test_newer_publish_during_the_slices_wins(big_fleet, redis):
    _, (a, b, c) = big_fleet
    path = "/api/default/metrics"
    assert http("GET", a.url() + path, timeout=60).status == 200
    r = http("GET", b.url() + path, timeout=60)  # B holds the summary (a hit in Redis)
    assert r.status == 200
    doc = json.loads(r.body)
    before = fleet(b)
    seq = applied_in_slices(b)[0]["seq"]  # the event id of A's summary
    big = dict(doc, warnings=["big"])
    small = dict(doc, warnings=["small"], connectors=doc["connectors"][:2])
    now = int(time.time() * 1000)
    key = b"sdefault\x1f"
    # Back to back: the big one (1.5 MB, parsed over tens of slices) and a newer small one that
    # lands while the big one is still being parsed. The newer one wins; the big job is dropped.
    assert publish(redis.port, envelope(key, big, seq + 10, now + 1000),
                   envelope(key, small, seq + 11, now + 1001)) == [3, 3]
    wait_until(lambda: json.loads(http("GET", b.url() + path).body)["warnings"] == ["small"],
               timeout=10, what="the newer summary served")
    time.sleep(1)  # had the big job survived, it would have been installed by now
    assert json.loads(http("GET", b.url() + path).body)["warnings"] == ["small"]
    after = fleet(b)
    assert after["received"] - before["received"] == 2
    assert after["applied"] - before["applied"] == 1, (before, after)
    assert len(applied_in_slices(b)) == 1  # A's summary; the big one never went in
    assert prom_connectors(b) == {row["name"] for row in small["connectors"]}
    # A big publish arriving as the replica stops: the job is finished by the stop's last turn
    # or dropped with its slot — either way nothing leaks (ASan) and the exit is clean.
    publish(redis.port, envelope(key, dict(doc, warnings=["last"]), seq + 12, now + 2000))
    time.sleep(0.02)
    b.assert_clean_exit()
