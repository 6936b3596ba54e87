"""Connector metrics, cluster summary, history, stream and Prometheus against connect-sim."""
import json
import shutil
import socket
import subprocess
import threading
import time

import pytest

import kctest
from conftest import start_gateway, start_sim
from kctest import (control, counters, enc, get_json, http, read_stream_until_closed,
                    sse_events, truth, wait_until)


def jolokia_posts(sim):
    return sum(w.get("post", 0) for w in counters(sim)["jolokia"]["workers"].values())


def status_calls(sim):
    routes = counters(sim)["connect"]["routes"]
    return sum(v for k, v in routes.items() if k.endswith("/status") and "tasks" not in k)


@pytest.fixture
def gw_ttl(sim):
    g = start_gateway(sim, env={"METRICS_CACHE_TTL": "1s", "KC_NEGATIVE_TTL": "300ms"})
    yield g
    g.assert_clean_exit()


def metrics_url(gw, name, cluster="default"):
    return "%s/api/%s/connectors/%s/metrics" % (gw.url(), cluster, enc(name))


SEED_FIELDS = {
    "connectorName": str, "lastUpdated": str, "collectionDuration": int,
}


def check_seed_shape(doc):
    for k, t in SEED_FIELDS.items():
        assert isinstance(doc[k], t), k
    tp = doc["throughput"]
    assert isinstance(tp["recordsPerSecond"], (int, float))
    assert isinstance(tp["bytesPerSecond"], (int, float))
    assert isinstance(tp["totalRecords"], int) and isinstance(tp["totalBytes"], int)
    er = doc["errors"]
    assert isinstance(er["totalErrors"], int) and isinstance(er["recentErrorCount"], int)
    assert isinstance(er["errorRate"], (int, float))
    rs = doc["resources"]
    for k in ("cpuPercent", "memoryUsedMB", "memoryTotalMB", "threadCount"):
        assert isinstance(rs[k], (int, float)), k
    for t in doc["tasks"]:
        assert isinstance(t["taskId"], int) and isinstance(t["state"], str)
        for k in ("recordsProcessed", "bytesProcessed", "errorCount"):
            assert isinstance(t[k], int), k
    assert doc["lastUpdated"].endswith("Z") and len(doc["lastUpdated"]) == 24
    assert isinstance(doc["warnings"], list) and doc["stale"] is False


@pytest.mark.parametrize("name", ["orders-src", "orders-sink", "say \"hi\"*", "eu:orders",
                                  "my conn.v2", "café-sink"])
def test_values_match_the_simulator(sim, gw_ttl, name):
    before = truth(sim, name)
    r = http("GET", metrics_url(gw_ttl, name))
    after = truth(sim, name)
    assert r.status == 200, r.body
    doc = r.json()
    check_seed_shape(doc)
    assert doc["connectorName"] == name and doc["cluster"] == "default"
    assert doc["type"] == before["type"]
    assert doc["warnings"] == [], doc["warnings"]
    by_id = {t["taskId"]: t for t in doc["tasks"]}
    assert sorted(by_id) == sorted(t["id"] for t in before["tasks"])
    for tb, ta in zip(before["tasks"], after["tasks"]):
        t = by_id[tb["id"]]
        assert t["state"] == ta["state"]
        assert t["workerId"] == ta["worker_id"]
        assert int(tb["records_total"]) <= t["recordsProcessed"] <= int(ta["records_total"]) + 1
        assert int(tb["bytes_total"]) <= t["bytesProcessed"] <= int(ta["bytes_total"]) + 1
        assert int(tb["errors_total"]) <= t["errorCount"] <= int(ta["errors_total"]) + 1
    total = sum(t["recordsProcessed"] for t in doc["tasks"])
    assert doc["throughput"]["totalRecords"] == total
    # errorRate = errors ÷ records taken in (poll/read totals): connect-sim takes in what it
    # sent, the records that failed conversion, and up to 50 ms of records in flight.
    errors = doc["errors"]["totalErrors"]
    in_flight = sum(int(t["records_rate"] * 0.05) for t in after["tasks"])
    low, high = total + errors, total + errors + in_flight
    rate = doc["errors"]["errorRate"]
    if errors == 0 or high == 0:
        assert rate == 0
    elif all(t["state"] == "RUNNING" for t in after["tasks"]):
        assert errors / high * 100 - 1e-9 <= rate <= min(100, errors / low * 100) + 1e-9, \
            (rate, errors, low, high)
    else:
        assert 0 < rate <= min(100, errors / low * 100) + 1e-9, (rate, errors, low)
    assert doc["throughput"]["recordsPerSecond"] >= 0
    if doc["type"] == "sink":
        assert doc["lag"] is not None and "recordsLagMax" in doc["lag"]
    else:
        assert doc["lag"] is None
    assert doc["resources"]["memoryUsedMB"] > 0 and doc["resources"]["threadCount"] > 0


def test_rates_from_deltas_on_second_collection(sim, gw_ttl):
    first = http("GET", metrics_url(gw_ttl, "orders-src")).json()
    time.sleep(1.2)
    second = http("GET", metrics_url(gw_ttl, "orders-src")).json()
    assert second["lastUpdated"] != first["lastUpdated"]
    dt = 1.0
    truth_rate = sum(t["records_rate"] for t in truth(sim, "orders-src")["tasks"]
                     if t["state"] == "RUNNING")
    assert second["throughput"]["recordsPerSecond"] == pytest.approx(truth_rate, rel=0.35)
    assert second["throughput"]["totalRecords"] > first["throughput"]["totalRecords"]
    assert second["errors"]["recentErrorCount"] == (second["errors"]["totalErrors"]
                                                    - first["errors"]["totalErrors"])
    del dt


def test_failed_task_and_unknown_connector(sim, gw_ttl):
    doc = http("GET", metrics_url(gw_ttl, "payments-jdbc")).json()
    states = [t["state"] for t in doc["tasks"]]
    assert "FAILED" in states and doc["state"] == "RUNNING"
    assert doc["warnings"] == []
    r = http("GET", metrics_url(gw_ttl, "no-such-connector"))
    assert r.status == 404
    assert r.json() == {"error": "metrics_fetch_failed",
                        "message": "unexpected status fetching connector no-such-connector: 404"}


def test_coalescing_one_collection_for_many_clients(sim, gw_ttl):
    control(sim, "PUT", "/faults", {"target": "connect", "fault": "slow", "delay_ms": 400})
    control(sim, "POST", "/counters/reset")
    n = 200
    results = [None] * n

    def one(i):
        results[i] = http("GET", metrics_url(gw_ttl, "orders-sink"), timeout=20)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    control(sim, "DELETE", "/faults")
    assert all(r.status == 200 for r in results)
    bodies = {r.body for r in results}
    assert len(bodies) == 1, "every waiter gets the same document"
    assert status_calls(sim) == 1
    workers = {t["worker_id"] for t in truth(sim, "orders-sink")["tasks"]}
    assert jolokia_posts(sim) == len(workers)
    # within the TTL: no upstream traffic at all
    control(sim, "POST", "/counters/reset")
    for _ in range(20):
        assert http("GET", metrics_url(gw_ttl, "orders-sink")).header("X-Cache") == "hit"
    assert counters(sim)["connect"]["total"] == 0 and jolokia_posts(sim) == 0
    # after the TTL: exactly one new collection
    time.sleep(1.1)
    for _ in range(5):
        http("GET", metrics_url(gw_ttl, "orders-sink"))
    assert status_calls(sim) == 1


@pytest.mark.parametrize("fault,status,needle", [
    ("down", 503, "kafka connect is unreachable: connection refused"),
    ("garbage", 502, "garbage"),
    ("slow", 504, "timed out"),
])
def test_connect_faults(fault, status, needle):
    sim = start_sim("--seed", "5")
    gw = start_gateway(sim, env={"KC_REQUEST_TIMEOUT_MS": "300", "KC_NEGATIVE_TTL": "200ms"})
    try:
        control(sim, "PUT", "/faults", {"target": "connect", "fault": fault, "delay_ms": 1000})
        r = http("GET", metrics_url(gw, "orders-src"))
        assert r.status == status
        body = r.json()
        assert body["error"] == "metrics_fetch_failed" and needle in body["message"]
        control(sim, "DELETE", "/faults")
        wait_until(lambda: http("GET", metrics_url(gw, "orders-src")).status == 200,
                   what="recovery within the negative TTL")
    finally:
        gw.assert_clean_exit()
        sim.assert_clean_exit()


@pytest.mark.parametrize("fault,needle", [("down", "connection refused"), ("401", "401"),
                                          ("garbage", "jolokia"), ("slow", "timed out")])
def test_jolokia_faults_degrade_to_200(fault, needle):
    sim = start_sim("--seed", "5")
    gw = start_gateway(sim, env={"JOLOKIA_TIMEOUT_MS": "300", "KC_NEGATIVE_TTL": "200ms"})
    try:
        control(sim, "PUT", "/faults", {"target": "jolokia", "fault": fault, "delay_ms": 1000})
        r = http("GET", metrics_url(gw, "orders-src"))
        assert r.status == 200
        doc = r.json()
        check_seed_shape(doc)
        assert doc["throughput"]["totalRecords"] == 0
        assert [t["state"] for t in doc["tasks"]] == [t["state"] for t in truth(sim, "orders-src")["tasks"]]
        assert any(needle in w for w in doc["warnings"]), doc["warnings"]
        control(sim, "DELETE", "/faults")
        wait_until(lambda: http("GET", metrics_url(gw, "orders-src")).json()["warnings"] == [],
                   what="recovery")
    finally:
        gw.assert_clean_exit()
        sim.assert_clean_exit()


def test_one_agent_down_keeps_the_others(sim, gw_ttl):
    tasks = truth(sim, "orders-src")["tasks"]
    down = tasks[0]["worker_id"]
    idx = int(down.split(":")[0].split(".")[-1]) - 1
    control(sim, "PUT", "/faults", {"target": "jolokia:%d" % idx, "fault": "down"})
    doc = http("GET", metrics_url(gw_ttl, "orders-src")).json()
    by_worker = {t["workerId"]: t for t in doc["tasks"]}
    assert any(down in w for w in doc["warnings"])
    others = [t for t in doc["tasks"] if t["workerId"] != down]
    assert others and all(t["recordsProcessed"] > 0 for t in others)
    assert by_worker[down]["recordsProcessed"] == 0
    control(sim, "DELETE", "/faults")


@pytest.mark.parametrize("agent", ["2.4.2", "2", "1"])
def test_nan_lag_costs_neither_bytes_nor_a_warning(agent):
    """A consumer's records-lag-max is NaN until it has fetched (a task just started or moved).
    Jolokia 2.0-2.4 cannot write NaN and fails the whole read element with 400
    NumberFormatException (recorded on 2.4.2); 1.x and 2.5+ write null. Either way the sink's
    byte totals stay, no warning is raised, and the lag is unknown (null), never 0."""
    sim = start_sim("--seed", "7", "--jolokia-version", agent)
    gw = start_gateway(sim, env={"METRICS_CACHE_TTL": "1s", "KC_NEGATIVE_TTL": "300ms"})
    try:
        r = control(sim, "POST", "/tasks/lag-unknown", {"connector": "orders-sink", "task": 0})
        assert r.status == 200, r.body
        before = truth(sim, "orders-sink")["tasks"]
        status, doc = get_json(metrics_url(gw, "orders-sink"))
        want = truth(sim, "orders-sink")["tasks"]
        assert status == 200, doc
        assert doc["warnings"] == [], doc["warnings"]
        for t in doc["tasks"]:
            low, high = (next(w["bytes_total"] for w in ws if w["id"] == t["taskId"])
                         for ws in (before, want))
            assert low - 1 <= t["bytesProcessed"] <= high + 1, (t, low, high)
        assert doc["throughput"]["totalBytes"] > 0
        # 2.4.2 fails the lag element of the NaN task's worker: its other tasks' lag is
        # unknown too; tasks on other workers keep theirs.
        nan_worker = next(w["worker_id"] for w in want if w["id"] == 0)
        known = [w["lag_max"] for w in want if w["lag_max"] is not None and
                 (agent != "2.4.2" or w["worker_id"] != nan_worker)]
        assert doc["lag"]["recordsLagMax"] == (round(max(known)) if known else None), \
            (doc["lag"], want)
    finally:
        gw.assert_clean_exit()
        sim.assert_clean_exit()


def test_cluster_summary_one_call_plus_one_per_worker(sim, gw_ttl):
    control(sim, "POST", "/counters/reset")
    r = http("GET", gw_ttl.url() + "/api/default/metrics", headers={"Accept-Encoding": "identity"})
    assert r.status == 200
    doc = r.json()
    names = {c["name"] for c in doc["connectors"]}
    assert {"orders-src", "orders-sink", "payments-jdbc"} <= names
    c = counters(sim)
    assert c["connect"]["total"] == 1
    assert jolokia_posts(sim) == len(doc["workers"])
    row = next(x for x in doc["connectors"] if x["name"] == "orders-src")
    t = truth(sim, "orders-src")
    assert row["tasks"]["total"] == len(t["tasks"])
    assert row["totalRecords"] > 0
    pj = next(x for x in doc["connectors"] if x["name"] == "payments-jdbc")
    assert pj["tasks"]["failed"] >= 1
    assert doc["totals"]["connectors"] == len(doc["connectors"])


def test_history_grows_with_collections(sim):
    gw = start_gateway(sim, env={"METRICS_CACHE_TTL": "300ms"})
    try:
        url = metrics_url(gw, "orders-src")
        for _ in range(4):
            assert http("GET", url).status == 200
            time.sleep(0.35)
        h = http("GET", url + "/history?since=0").json()
        assert len(h["t"]) >= 4
        for key in ("recordsPerSecond", "bytesPerSecond", "totalErrors"):
            assert len(h[key]) == len(h["t"]), key
        assert h["t"] == sorted(h["t"])
        later = http("GET", url + "/history?since=%d" % h["t"][-2]).json()
        assert len(later["t"]) == 1
        assert http("GET", url + "/history?since=abc").status == 400
        assert http("GET", metrics_url(gw, "nope-zz") + "/history").status == 404
    finally:
        gw.assert_clean_exit()


def read_events(port, path, seconds, out, last_id=None):
    s = socket.create_connection(("127.0.0.1", port), timeout=seconds + 5)
    extra = "Last-Event-ID: %s\r\n" % last_id if last_id else ""
    s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\n%s\r\n" % (path, extra)).encode())
    deadline = time.monotonic() + seconds
    buf = b""
    s.settimeout(0.2)
    while time.monotonic() < deadline:
        try:
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
        except socket.timeout:
            pass
    s.close()
    out.append(buf.decode(errors="replace"))


def test_stream_two_subscribers_one_collection_per_ttl(sim):
    gw = start_gateway(sim, env={"METRICS_CACHE_TTL": "500ms"})
    try:
        _, port = gw.listener()
        control(sim, "POST", "/counters/reset")
        path = "/api/default/connectors/orders-src/metrics/stream"
        outs = []
        ts = [threading.Thread(target=read_events, args=(port, path, 2.6, outs)) for _ in range(2)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        assert len(outs) == 2
        for text in outs:
            assert "text/event-stream" in text
            events = [l for l in text.split("\n") if l.startswith("event: metrics")]
            assert 3 <= len(events) <= 7, len(events)
        calls = status_calls(sim)
        assert 3 <= calls <= 7, calls  # one per TTL for both subscribers together
        time.sleep(1.2)
        quiet = status_calls(sim)
        time.sleep(1.2)
        assert status_calls(sim) == quiet, "collections stop when the last subscriber leaves"
    finally:
        gw.assert_clean_exit()


def test_stream_ends_when_the_connector_is_deleted(sim):
    """A connector deleted while watched: one error event with the spec's 404 body, then the
    stream ends (it used to repeat that 404 every second for as long as the watcher stayed,
    pinning a cache entry for a connector Connect no longer knows). A stream opened on an
    unknown connector ends the same way."""
    gw = start_gateway(sim, env={"METRICS_CACHE_TTL": "500ms", "KC_NEGATIVE_TTL": "200ms"})
    try:
        _, port = gw.listener()
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.sendall(b"GET /api/default/connectors/orders-src/metrics/stream HTTP/1.1\r\nHost: x\r\n\r\n")
        s.settimeout(0.2)
        buf = b""
        deadline = time.monotonic() + 10
        while b"event: metrics" not in buf and time.monotonic() < deadline:
            try:
                buf += s.recv(65536)
            except socket.timeout:
                pass
        assert b"event: metrics" in buf, buf
        r = http("DELETE", sim.url("connect") + "/connectors/orders-src")
        assert r.status == 204, r.status
        text, closed = read_stream_until_closed(s, 10)
        s.close()
        assert closed, "the stream of a deleted connector stays open: %r" % text[-500:]
        events = sse_events(buf.decode() + text)
        assert events[-1][0] == "error", events[-3:]
        assert json.loads(events[-1][1]) == {
            "error": "metrics_fetch_failed",
            "message": "unexpected status fetching connector orders-src: 404"}
        assert [e for e, _ in events].count("error") == 1, events
        code, body = get_json(metrics_url(gw, "orders-src"))
        assert code == 404 and body["error"] == "metrics_fetch_failed", (code, body)

        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.sendall(b"GET /api/default/connectors/nope-zz/metrics/stream HTTP/1.1\r\nHost: x\r\n\r\n")
        text, closed = read_stream_until_closed(s, 10)
        s.close()
        assert closed and "200 OK" in text.split("\r\n")[0], text
        assert [e for e, _ in sse_events(text)] == ["error"], text
    finally:
        gw.assert_clean_exit()


class StubConnect:
    """A Connect worker reduced to fixed answers: (status, JSON body) for every path, or for the
    paths of `paths` ({path: (status, body)}) with the first pair for the others."""

    def __init__(self, status, body, paths=None):
        import http.server

        paths = paths or {}

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                code, doc = paths.get(self.path, (status, body))
                answer = json.dumps(doc).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self.server = kctest.LoopbackHTTP(Handler)
        self.url = self.server.url

    def close(self):
        self.server.close()


def test_a_starting_worker_404_is_not_a_deleted_connector():
    """Real Connect 4.1: until its REST resources are up, a starting worker's web server answers
    every path 404 {"message":"Not Found","status":"404","url":…} — no error_code. That says
    nothing about the connector: 503 (Connect not ready), never the unknown-connector 404 that
    ends streams and forgets alerts. Connect's own 404 means unknown once the connector's own
    route confirms it: a connector created a moment ago has no status yet either (503)."""
    starting = StubConnect(404, {"message": "Not Found", "status": "404",
                                 "url": "http://127.0.0.2:8083/connectors/orders-src/status"})
    no_status = {"error_code": 404, "message": "No status found for connector orders-src"}
    gone = StubConnect(404, no_status)
    new = StubConnect(404, no_status, paths={"/connectors/orders-src": (200, {
        "name": "orders-src", "config": {}, "tasks": [], "type": "source"})})
    gws = []
    try:
        gw = start_gateway(env={"KAFKA_CONNECT_URL": starting.url, "KC_NEGATIVE_TTL": "100ms"})
        gws.append(gw)
        code, body = get_json(metrics_url(gw, "orders-src"))
        assert code == 503 and body["error"] == "metrics_fetch_failed", (code, body)
        assert "not ready" in body["message"], body
        code, body = get_json(gw.url() + "/api/default/metrics")
        assert code == 503 and "not ready" in body["message"], (code, body)
        gw = start_gateway(env={"KAFKA_CONNECT_URL": gone.url})
        gws.append(gw)
        assert get_json(metrics_url(gw, "orders-src")) == (404, {
            "error": "metrics_fetch_failed",
            "message": "unexpected status fetching connector orders-src: 404"})
        # Just created: "No status found" on /status while /connectors/{name} exists.
        gw = start_gateway(env={"KAFKA_CONNECT_URL": new.url})
        gws.append(gw)
        code, body = get_json(metrics_url(gw, "orders-src"))
        assert code == 503 and body == {
            "error": "metrics_fetch_failed",
            "message": "kafka connect has no status for connector orders-src yet"}, (code, body)
    finally:
        for g in gws:
            g.assert_clean_exit()
        starting.close()
        gone.close()
        new.close()


def test_prometheus_exposition(sim, gw_ttl):
    r = http("GET", gw_ttl.url() + "/metrics")
    assert r.status == 200 and r.header("Content-Type").startswith("text/plain")
    text = r.body.decode()
    assert 'kconnect_connector_records_total{cluster="default",connector="orders-src",type="source"}' in text
    assert 'connector="say \\"hi\\"*"' in text
    assert "kconnect_http_requests_total" in text
    # by value: the exported totals lie between the simulator's truth before and after
    before = sum(int(t["records_total"]) for t in truth(sim, "orders-sink")["tasks"])
    time.sleep(1.1)  # let the summary expire so the scrape collects anew
    r = http("GET", gw_ttl.url() + "/metrics")
    after = sum(int(t["records_total"]) for t in truth(sim, "orders-sink")["tasks"])
    line = next(l for l in r.body.decode().splitlines()
                if l.startswith('kconnect_connector_records_total{cluster="default",connector="orders-sink"'))
    value = float(line.rsplit(" ", 1)[1])
    assert before <= value <= after + 1, (before, value, after)
    states = [l for l in r.body.decode().splitlines()
              if l.startswith('kconnect_task_state{cluster="default",connector="payments-jdbc"')]
    assert any('state="FAILED"' in l for l in states), states
    text = r.body.decode()
    # The loop-lag probe runs every 10 ms: its histogram counts up between two scrapes.
    def lag_count(t):
        return int(next(l for l in t.splitlines()
                        if l.startswith("kconnect_loop_lag_seconds_count ")).split()[1])
    assert "# TYPE kconnect_loop_lag_seconds histogram" in text
    assert 'kconnect_loop_lag_seconds_bucket{le="0.005"}' in text
    assert "kconnect_loop_lag_max_seconds " in text
    first = lag_count(text)
    time.sleep(0.3)
    assert lag_count(http("GET", gw_ttl.url() + "/metrics").body.decode()) >= first + 10
    if shutil.which("promtool"):
        p = subprocess.run(["promtool", "check", "metrics"], input=r.body, capture_output=True)
        problems = [l for l in (p.stdout + p.stderr).decode().splitlines()
                    if l.strip() and "counter metrics should have" not in l
                    and "no help text" not in l]
        assert p.returncode == 0 or not problems, (p.stdout + p.stderr).decode()


def test_waiters_leaving_free_only_their_own_state(sim, gw_ttl):
    _, port = gw_ttl.listener()
    control(sim, "PUT", "/faults", {"target": "connect", "fault": "slow", "delay_ms": 600})
    control(sim, "POST", "/counters/reset")
    path = "/api/default/connectors/%s/metrics" % enc("orders-src-2")
    leavers = []
    for _ in range(300):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % path).encode())
        leavers.append(s)
    stayers = [None] * 20

    def stay(i):
        stayers[i] = http("GET", gw_ttl.url() + path, timeout=10)

    threads = [threading.Thread(target=stay, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    time.sleep(0.2)
    for s in leavers:
        s.close()
    for t in threads:
        t.join()
    control(sim, "DELETE", "/faults")
    assert all(r.status == 200 for r in stayers)
    assert len({r.body for r in stayers}) == 1
    assert status_calls(sim) == 1
    assert http("GET", gw_ttl.url() + "/health").status == 200


def test_summary_at_5000_connectors():
    sim = start_sim("--connectors", "5000", "--tasks", "2", "--seed", "9")
    gw = start_gateway(sim, env={"METRICS_CACHE_TTL": "30s"})
    try:
        control(sim, "POST", "/counters/reset")
        t0 = time.monotonic()
        r = http("GET", gw.url() + "/api/default/metrics", timeout=60,
                 headers={"Accept-Encoding": "gzip"})
        elapsed = time.monotonic() - t0
        assert r.status == 200
        assert r.header("Content-Encoding") == "gzip"
        import gzip
        doc = json.loads(gzip.decompress(r.body))
        assert len(doc["connectors"]) == 5000
        c = counters(sim)
        assert c["connect"]["total"] == 1
        assert jolokia_posts(sim) == len(doc["workers"]) == 3
        with_records = sum(1 for row in doc["connectors"] if row["totalRecords"] > 0)
        assert with_records > 4500
        print("summary: %d connectors, %d bytes (%d gzip), %.0f ms end to end, "
              "collectionDuration %.0f ms, upstream requests %d" % (
                  len(doc["connectors"]), len(gzip.decompress(r.body)), len(r.body),
                  elapsed * 1000, doc["collectionDuration"] / 1e6,
                  c["connect"]["total"] + jolokia_posts(sim)))
        # the second request is a cache hit
        assert http("GET", gw.url() + "/api/default/metrics", timeout=30).header("X-Cache") == "hit"
        # and Prometheus is served from the same cache
        control(sim, "POST", "/counters/reset")
        p = http("GET", gw.url() + "/metrics", timeout=60)
        assert p.status == 200 and p.body.count(b"kconnect_connector_records_total{") == 5000
        assert counters(sim)["connect"]["total"] == 0
    finally:
        gw.assert_clean_exit()
        sim.assert_clean_exit()


def test_jolokia_basic_auth():
    env = {"SIM_JOLOKIA_USER": "monitor", "SIM_JOLOKIA_PASSWORD": "jmx-secret"}
    sim = start_sim("--seed", "4", env=env)
    with_auth = start_gateway(sim, env={"JOLOKIA_USERNAME": "monitor",
                                        "JOLOKIA_PASSWORD": "jmx-secret"})
    without = start_gateway(sim)
    try:
        doc = http("GET", metrics_url(with_auth, "orders-src")).json()
        assert doc["warnings"] == [] and doc["throughput"]["totalRecords"] > 0
        doc = http("GET", metrics_url(without, "orders-src")).json()
        assert doc["throughput"]["totalRecords"] == 0
        assert any("401" in w for w in doc["warnings"]), doc["warnings"]
        assert "jmx-secret" not in with_auth.stderr()
    finally:
        with_auth.assert_clean_exit()
        without.assert_clean_exit()
        sim.assert_clean_exit()
