"""Hardening (issue 8): every simulator fault × every route family, one Jolokia agent of three
down, hostile clients; the gateway keeps answering and exits 0 with no sanitizer report."""
import json
import re
import resource
import socket
import threading
import time
import urllib.parse

import pytest

from conftest import start_gateway, start_sim
from kctest import http, wait_until


def enc(name):
    return urllib.parse.quote(name, safe="")


def control(sim, method, path, body=None):
    r = http(method, sim.url("control") + path, body=body)
    assert r.status == 200, (method, path, r.status, r.body[:200])
    return r.json()


def truth(sim, name):
    return control(sim, "GET", "/truth/" + enc(name))


# ---- (1) fault matrix ----

TTL_S = 0.3          # METRICS_CACHE_TTL
NEG_TTL_S = 0.1      # KC_NEGATIVE_TTL
TIMEOUT_MS = 400     # Connect and Jolokia request timeouts
SLOW_MS = 1000       # the simulator's delay for `slow`: longer than the timeouts

ROUTES = {
    "proxy_list": "/api/default/connectors",
    "proxy_get": "/api/default/connectors/orders-src",
    "metrics": "/api/default/connectors/orders-src/metrics",
    "history": "/api/default/connectors/orders-src/metrics/history",
    "summary": "/api/default/metrics",
    "prometheus": "/metrics",
    "clusters": "/api/clusters",
    "gateway_health": "/api/gateway/health",
}
ORDER = list(ROUTES)  # metrics before history: history then serves the same (error) document

# Expected status per (target, fault) and route, from src/connect.c kc_connect_error_status
# (proxy: refused 503, timeout 504, garbage 502; Connect's own 4xx/5xx pass through) and
# src/collector.c on_status/fail_connect (metrics: 409 → 503, any other non-200 → 502).
# Jolokia faults never fail a route: metrics degrade to 200 with warnings. Prometheus,
# /api/clusters and /api/gateway/health report reachability in a 200.
#                       proxy_list proxy_get metrics history summary prometheus clusters health
CONNECT_FAULTS = {
    "down":    (503, 503, 503, 503, 503, 200, 200, 200),
    "slow":    (504, 504, 504, 504, 504, 200, 200, 200),
    "garbage": (502, 502, 502, 502, 502, 200, 200, 200),
    "500":     (500, 500, 502, 502, 502, 200, 200, 200),
    "401":     (401, 401, 502, 502, 502, 200, 200, 200),
    "409":     (409, 409, 503, 503, 503, 200, 200, 200),
}
JOLOKIA_FAULTS = {f: (200,) * 8 for f in ("down", "slow", "garbage", "500", "401", "409")}
PASS_THROUGH = {"500", "401", "409"}  # Connect's own error answers on proxy routes


def check_error_body(target, fault, route, r):
    body = json.loads(r.body)
    if target == "connect" and fault in PASS_THROUGH and route.startswith("proxy"):
        assert body["error_code"] == r.status and body["message"], body
    else:
        assert set(body) >= {"error", "message"}, body
        assert isinstance(body["error"], str) and body["error"]
        assert isinstance(body["message"], str) and body["message"]


def check_ok_body(target, route, r):
    if route == "prometheus":
        assert b"# TYPE" in r.body
        return
    doc = json.loads(r.body)
    if target == "jolokia" and route in ("metrics", "summary"):
        assert doc["warnings"], (route, doc)  # degraded, and says why
    if route == "metrics":
        assert doc["connectorName"] == "orders-src" and len(doc["tasks"]) == 2


def test_fault_matrix():
    sim = start_sim("--seed", "11")
    gw = start_gateway(sim, env={"METRICS_CACHE_TTL": "%dms" % (TTL_S * 1000),
                                 "KC_NEGATIVE_TTL": "%dms" % (NEG_TTL_S * 1000),
                                 "KC_REQUEST_TIMEOUT_MS": TIMEOUT_MS,
                                 "KC_CONNECT_TIMEOUT_MS": TIMEOUT_MS,
                                 "JOLOKIA_TIMEOUT_MS": TIMEOUT_MS})
    g = gw.url()
    failures = []
    try:
        # baseline: every route answers 200 (and a history exists before the faults)
        for route in ORDER:
            r = http("GET", g + ROUTES[route], headers={"Accept-Encoding": "identity"})
            assert r.status == 200, (route, r.status, r.body[:300])
        for target, table in (("connect", CONNECT_FAULTS), ("jolokia", JOLOKIA_FAULTS)):
            for fault, expected in table.items():
                control(sim, "PUT", "/faults", {"target": target, "fault": fault,
                                                "delay_ms": SLOW_MS})
                time.sleep(TTL_S + 0.15)  # every cached document is stale now
                for route, want in zip(ORDER, expected):
                    t0 = time.monotonic()
                    r = http("GET", g + ROUTES[route], headers={"Accept-Encoding": "identity"},
                             timeout=10)
                    took = time.monotonic() - t0
                    cell = "%s/%s %s" % (target, fault, route)
                    if r.status != want:
                        failures.append("%s: %d, expected %d: %s" % (cell, r.status, want,
                                                                    r.body[:200]))
                        continue
                    assert took < 3.0, "%s took %.1fs" % (cell, took)
                    if want >= 400:
                        check_error_body(target, fault, route, r)
                    else:
                        check_ok_body(target, route, r)
                    h = http("GET", g + "/health", timeout=5)
                    assert h.status == 200 and h.json() == {"status": "ok"}, cell
                control(sim, "DELETE", "/faults")
                if fault == "slow":
                    # let the timed-out calls and refreshes started under `slow` finish
                    time.sleep(TIMEOUT_MS / 1000 + 0.2)
        assert not failures, "fault matrix mismatches:\n" + "\n".join(failures)
        # recovery: every route is 200 again once the faults are gone
        time.sleep(TTL_S + 0.15)
        for route in ORDER:
            wait_until(lambda: http("GET", g + ROUTES[route]).status == 200, timeout=5,
                       what="%s recovers" % route)
    finally:
        gw.assert_clean_exit()
        sim.assert_clean_exit()


# ---- (2) partial failure: one of three Jolokia agents ----

def worker_index(worker_id):
    return int(worker_id.split(":")[0].split(".")[-1]) - 1


@pytest.mark.parametrize("fault", ["down", "garbage"])
def test_one_of_three_agents_failing_keeps_the_others(fault):
    sim = start_sim("--seed", "7")  # 3 workers
    gw = start_gateway(sim, env={"METRICS_CACHE_TTL": "1s", "KC_NEGATIVE_TTL": "200ms",
                                 "JOLOKIA_TIMEOUT_MS": 1000})
    try:
        t = truth(sim, "orders-src")
        workers = {x["worker_id"] for x in t["tasks"]}
        assert len(workers) == 2, t  # the demo places its two tasks on different workers
        bad = t["tasks"][0]["worker_id"]
        control(sim, "PUT", "/faults", {"target": "jolokia:%d" % worker_index(bad), "fault": fault})

        # one connector's document
        r = http("GET", gw.url() + "/api/default/connectors/orders-src/metrics")
        assert r.status == 200, r.body
        doc = r.json()
        assert any(bad in w for w in doc["warnings"]), doc["warnings"]
        by_worker = {x["workerId"]: x for x in doc["tasks"]}
        assert by_worker[bad]["recordsProcessed"] == 0
        good = [x for x in doc["tasks"] if x["workerId"] != bad]
        assert good and all(x["recordsProcessed"] > 0 for x in good), doc["tasks"]
        assert doc["throughput"]["totalRecords"] == sum(x["recordsProcessed"] for x in good)

        # the cluster summary: taskList rows are [id, state, workerId, records, bytes, errors]
        r = http("GET", gw.url() + "/api/default/metrics", headers={"Accept-Encoding": "identity"})
        assert r.status == 200, r.body
        s = r.json()
        assert any(bad in w for w in s["warnings"]), s["warnings"]
        wk = {w["workerId"]: w for w in s["workers"]}
        assert len(wk) == 3 and wk[bad]["jolokia"]["reachable"] is False
        assert all(w["jolokia"]["reachable"] for wid, w in wk.items() if wid != bad)
        rows = [row for row in s["connectors"]]
        running_elsewhere = [task for row in rows for task in row["taskList"]
                             if task[2] != bad and task[1] == "RUNNING"]
        on_bad = [task for row in rows for task in row["taskList"] if task[2] == bad]
        assert running_elsewhere and on_bad
        assert all(task[3] > 0 for task in running_elsewhere), running_elsewhere
        assert all(task[3] == 0 for task in on_bad), on_bad
        row = next(x for x in rows if x["name"] == "orders-src")
        assert row["totalRecords"] > 0

        control(sim, "DELETE", "/faults")
        wait_until(lambda: http("GET", gw.url() + "/api/default/metrics").json()["warnings"] == [],
                   timeout=5, what="summary recovers")
    finally:
        gw.assert_clean_exit()
        sim.assert_clean_exit()


# ---- (3) hostile clients ----

def raw(port, data, timeout=5.0, shut=False):
    """Sends bytes, reads until EOF or timeout; returns what came back."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    out = b""
    try:
        try:
            s.sendall(data)
            if shut:
                s.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # the gateway may answer 400 and close before we are done sending
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                chunk = s.recv(65536)
            except (socket.timeout, ConnectionResetError):
                break
            if not chunk:
                break
            out += chunk
    finally:
        s.close()
    return out


STATUS_RE = re.compile(rb"HTTP/1\.[01] (\d{3}) ")


def statuses(out):
    """Status codes of the responses in a raw byte stream (bodies here never hold 'HTTP/1.')."""
    return [int(m.group(1)) for m in STATUS_RE.finditer(out)]


def first_response(port, data, timeout=5.0):
    """Sends bytes and returns (status or None, seconds until that response was complete); the
    client keeps its side open and waits, as a real one would."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    t0 = time.monotonic()
    out = b""
    try:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        while time.monotonic() - t0 < timeout:
            head, sep, body = out.partition(b"\r\n\r\n")
            if sep:
                m = re.search(rb"(?i)content-length: *(\d+)", head)
                if m and len(body) >= int(m.group(1)):
                    return int(head.split(b" ")[1]), time.monotonic() - t0
            try:
                chunk = s.recv(65536)
            except (socket.timeout, ConnectionResetError):
                break
            if not chunk:
                break
            out += chunk
    finally:
        s.close()
    st = statuses(out)
    return (st[0] if st else None), time.monotonic() - t0


@pytest.fixture
def hostile_gw():
    sim = start_sim("--seed", "7")
    gw = start_gateway(sim, env={"KC_HEADER_TIMEOUT": "2s", "KC_KEEPALIVE_TIMEOUT": "2s"})
    yield gw
    try:
        gw.assert_clean_exit()
    finally:
        sim.assert_clean_exit()


def assert_serving(gw):
    r = http("GET", gw.url() + "/health", timeout=5)
    assert r.status == 200 and r.json() == {"status": "ok"}


def test_pipelined_garbage(hostile_gw):
    _, port = hostile_gw.listener()
    ok = b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
    junk = bytes((i * 37 + 11) % 256 for i in range(4096))
    for tail in (junk, b"\x00" * 512, b"GARBAGE / HTTP/9.9\r\n\r\n", b"\r\n\r\n\r\n" * 100,
                 b"GET /health HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
                 b"GET /health HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"):
        t0 = time.monotonic()
        out = raw(port, ok + tail, timeout=3, shut=True)
        st = statuses(out)
        # the well-formed request is answered; the junk never gets a 2xx or 5xx
        assert st[:1] == [200], out[:400]
        assert all(400 <= x < 500 for x in st[1:]), st
        assert time.monotonic() - t0 < 2.5
        assert_serving(hostile_gw)
    # garbage first: nothing sensible comes back, the connection is closed, no crash
    out = raw(port, junk + ok, timeout=3, shut=True)
    assert all(400 <= x < 500 for x in statuses(out)), out[:200]
    assert_serving(hostile_gw)


def test_pipelined_requests_are_all_answered(hostile_gw):
    """Regression: requests pipelined behind one answered inside its callback (/health, a cache
    hit, a gateway error) used to be left unanswered until KC_KEEPALIVE_TIMEOUT, because
    libevhtp only parses buffered input after a resume (fixed in src/http.c send_reply)."""
    _, port = hostile_gw.listener()

    def get(path):
        return b"GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % path

    m = b"/api/default/connectors/orders-src/metrics"
    cases = {
        "paused, then cache hit": get(m) + get(m),
        "health x2": get(b"/health") * 2,
        "health, then proxy": get(b"/health") + get(b"/api/default/connectors"),
        "cache hit x2": get(m) * 2,
    }
    got = {}
    for name, data in cases.items():
        t0 = time.monotonic()
        s = socket.create_connection(("127.0.0.1", port), timeout=3)
        s.sendall(data)
        out = b""
        while len(statuses(out)) < 2 and time.monotonic() - t0 < 3:
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                break
            if not chunk:
                break
            out += chunk
        s.close()
        got[name] = (statuses(out), round(time.monotonic() - t0, 2))
    assert_serving(hostile_gw)
    assert all(st == [200, 200] and took < 1.5 for st, took in got.values()), got


def test_pipelined_burst_larger_than_one_read(hostile_gw):
    """300 requests (≈ 40 KB) in one send on one connection: more than one 16 KiB read, and the
    socket reports its readiness once (edge-triggered). Every one is answered, in order."""
    _, port = hostile_gw.listener()
    n = 300
    data = b"GET /health HTTP/1.1\r\nHost: x\r\nX-Pad: %s\r\n\r\n" % (b"p" * 80)
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    try:
        s.sendall(data * n)
        assert _read_responses(s, n) == [200] * n
    finally:
        s.close()
    assert_serving(hostile_gw)


def test_huge_request_line_and_headers(hostile_gw):
    _, port = hostile_gw.listener()
    for req in (b"GET /" + b"a" * 20000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
                b"GET /api/default/connectors/" + b"%41" * 7000 + b"/metrics HTTP/1.1\r\n\r\n",
                b"GET /health HTTP/1.1\r\nX-Big: " + b"v" * 20000 + b"\r\n\r\n",
                b"GET /health?" + b"q=1&" * 5000 + b" HTTP/1.1\r\n\r\n"):
        t0 = time.monotonic()
        out = raw(port, req, timeout=5)
        assert time.monotonic() - t0 < 4.5, "connection left hanging"
        # libevhtp closes on a token over 8 KiB; if anything is said it is a 4xx
        assert all(400 <= x < 500 for x in statuses(out)), out[:200]
        assert_serving(hostile_gw)


POST_HEAD = (b"POST /api/default/connectors HTTP/1.1\r\nHost: x\r\n"
             b"Content-Type: application/json\r\n")
BIG = 2 * 1024 * 1024  # over the default KC_MAX_BODY_BYTES (1 MiB)


def test_oversized_bodies(hostile_gw):
    _, port = hostile_gw.listener()
    # sent in full with Content-Length: 413 at once, nothing buffered
    st, took = first_response(port, POST_HEAD + b"Content-Length: %d\r\n\r\n" % BIG + b" " * BIG)
    assert st == 413 and took < 3, (st, took)
    # chunked, no Content-Length: the limit applies to what arrives
    chunk = b" " * 65536
    body = b"".join(b"%x\r\n" % len(chunk) + chunk + b"\r\n" for _ in range(40)) + b"0\r\n\r\n"
    st, took = first_response(port, POST_HEAD + b"Transfer-Encoding: chunked\r\n\r\n" + body)
    assert st == 413 and took < 3, (st, took)
    # a small body still works on a fresh connection
    r = http("POST", hostile_gw.url() + "/api/default/connectors", body="{not json",
             headers={"Content-Type": "application/json"})
    assert r.status == 400 and r.json()["error"] == "bad_json"
    assert_serving(hostile_gw)


def test_declared_oversized_body_is_refused_without_waiting_for_it(hostile_gw):
    """Regression: a Content-Length over the limit used to be answered only once the whole body
    had arrived, so a client that declares 2 MiB, sends part and waits (or waits for a
    100-continue) got no 413. It is now answered from the header hook, as nginx does. Each case
    is bounded by KC_KEEPALIVE_TIMEOUT=2s here."""
    _, port = hostile_gw.listener()
    cases = {
        "partial body": POST_HEAD + b"Content-Length: %d\r\n\r\n{" % BIG + b" " * 65536,
        "100-continue": POST_HEAD + b"Content-Length: %d\r\nExpect: 100-continue\r\n\r\n" % BIG,
        "absurd length": POST_HEAD + b"Content-Length: 99999999999\r\n\r\n{",
    }
    got = {name: first_response(port, data, timeout=4) for name, data in cases.items()}
    assert_serving(hostile_gw)
    assert all(st == 413 and took < 1.0 for st, took in got.values()), got


def test_health_finds_every_agent_of_a_big_cluster():
    """/api/gateway/health lists one Jolokia agent per worker its tasks run on; on a cluster of
    3,000 connectors the expand=status answer (~2 MB) is scanned for worker ids in slices, and
    every worker is still found and probed."""
    sim = start_sim("--connectors", "3000", "--workers", "3")
    gw = start_gateway(sim, env={"LOG_LEVEL": "warn"})
    try:
        r = http("GET", gw.url() + "/api/gateway/health", timeout=60)
        assert r.status == 200
        agents = r.json()["clusters"][0]["jolokia"]
        listed = http("GET", sim.url("connect") + "/connectors?expand=status", timeout=60).json()
        workers = {t["worker_id"] for e in listed.values() for t in e["status"]["tasks"]}
        workers |= {e["status"]["connector"]["worker_id"] for e in listed.values()}
        assert sorted(a["workerId"] for a in agents) == sorted(workers)
        assert all(a["reachable"] is True for a in agents), agents
    finally:
        gw.stop()
        sim.stop()


def test_connection_storm_while_a_client_is_served(hostile_gw):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 4500:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 8192), hard))
    _, port = hostile_gw.listener()
    stop = threading.Event()
    seen = {"n": 0, "bad": [], "worst": 0.0}

    def normal_client():
        url = hostile_gw.url() + "/api/default/connectors/orders-src/metrics"
        while not stop.is_set():
            t0 = time.monotonic()
            try:
                r = http("GET", url, timeout=10)
                st = r.status
            except Exception as e:  # noqa: BLE001 — any failure counts against the gateway
                st = repr(e)
            seen["worst"] = max(seen["worst"], time.monotonic() - t0)
            seen["n"] += 1
            if st != 200:
                seen["bad"].append(st)
            time.sleep(0.01)

    t = threading.Thread(target=normal_client, daemon=True)
    t.start()
    try:
        for rnd in range(2):
            socks = []
            for i in range(2000):
                try:
                    s = socket.socket()
                    s.setblocking(False)
                    s.connect_ex(("127.0.0.1", port))
                    socks.append(s)
                except OSError:
                    break
            assert len(socks) == 2000
            time.sleep(0.3)
            for i, s in enumerate(socks):
                if i % 3 == 0:  # some with a partial request, some reset, some plain close
                    try:
                        s.send(b"GET /api/default/connectors/orders-src/metrics HTTP/1.1\r\n")
                    except OSError:
                        pass
                if i % 2 == 0:
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                 b"\x01\x00\x00\x00\x00\x00\x00\x00")
                s.close()
            time.sleep(0.3)
        n0 = seen["n"]
        wait_until(lambda: seen["n"] > n0 + 3, timeout=5, what="the normal client goes on")
    finally:
        stop.set()
        t.join(15)
    assert not seen["bad"], seen["bad"][:10]
    assert seen["n"] > 10 and seen["worst"] < 5.0, seen
    assert_serving(hostile_gw)
    # the storm's connections are all gone again
    wait_until(lambda: _open_connections(hostile_gw) <= 2, timeout=5,
               what="the storm's connections released")


def _gauge(gw, name):
    body = http("GET", gw.url() + "/metrics").body.decode()
    for line in body.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    raise AssertionError("no %s gauge in /metrics" % name)


def _open_connections(gw):
    return _gauge(gw, "kconnect_open_connections")


def _read_replies(sock, n, timeout=5.0):
    """Reads n complete Content-Length responses from a keep-alive socket:
    ([(status, body), ...], bytes received after them)."""
    sock.settimeout(timeout)
    out, got = b"", []
    while len(got) < n:
        head, sep, rest = out.partition(b"\r\n\r\n")
        if sep:
            m = re.search(rb"(?i)content-length: *(\d+)", head)
            length = int(m.group(1)) if m else 0
            if len(rest) >= length:
                got.append((int(head.split(b" ")[1]), rest[:length]))
                out = rest[length:]
                continue
        chunk = sock.recv(1 << 20)
        assert chunk, "connection closed after %d of %d responses" % (len(got), n)
        out += chunk
    return got, out


def _read_responses(sock, n, timeout=5.0):
    """The statuses of the next n responses on a keep-alive socket."""
    return [status for status, _ in _read_replies(sock, n, timeout)[0]]


def test_replies_larger_than_the_socket_takes_at_once(hostile_gw):
    """A reply made while parsing is written at once (src/server.c flush_now); what the
    socket cannot take then is finished by the write event, and the connection stays usable.
    A client that asks for a 145 KB file again and again without reading fills the socket
    (4 MiB send buffer at most) so that later writes are partial."""
    path = "/vendor/uplot/uPlot.esm.js"
    whole = http("GET", hostile_gw.url() + path).body
    assert len(whole) > 100000
    n = 40  # 5.8 MB
    _, port = hostile_gw.listener()
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(("127.0.0.1", port))
    try:
        for _ in range(n):
            s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % path).encode())
            time.sleep(0.02)  # one request per read: each goes through flush_now
        replies, rest = _read_replies(s, n, timeout=10)
        for i, (status, body) in enumerate(replies):
            assert status == 200 and body == whole, i
        assert rest == b""
        s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        assert _read_responses(s, 1) == [200]
    finally:
        s.close()
    assert_serving(hostile_gw)


def _read_head_only(sock, timeout=5.0):
    """Reads one header block (a HEAD answer has no body): (status, headers dict, rest)."""
    sock.settimeout(timeout)
    out = b""
    while b"\r\n\r\n" not in out:
        chunk = sock.recv(65536)
        assert chunk, "closed before the headers ended: %r" % out
        out += chunk
    head, _, rest = out.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    headers = {k.lower(): v for k, _, v in (l.partition(": ") for l in lines[1:])}
    return int(lines[0].split(" ")[1]), headers, rest


def test_head_answers_carry_the_length_but_no_body(hostile_gw):
    """HEAD gets GET's headers with the length GET's body would have (RFC 9110 §9.3.2) and no
    body, so a request pipelined behind it is read correctly; for a cached document, the
    gateway's health and a console file. (Replies used to carry the body after HEAD.)"""
    base = hostile_gw.url()
    m = "/api/default/connectors/orders-src/metrics"
    for path in (m, "/health", "/", "/api/default/connectors/no-such-one/metrics"):
        whole = http("GET", base + path)
        _, port = hostile_gw.listener()
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        try:
            s.sendall(("HEAD %s HTTP/1.1\r\nHost: x\r\n\r\n"
                       "GET /health HTTP/1.1\r\nHost: x\r\n\r\n" % path).encode())
            status, headers, rest = _read_head_only(s)
            assert status == whole.status, path
            assert int(headers["content-length"]) == len(whole.body), (path, headers)
            assert headers["content-type"] == whole.header("Content-Type"), path
            # what follows is the next answer, not a body
            assert rest == b"" or rest.startswith(b"HTTP/1.1 200 "), (path, rest[:80])
            s.settimeout(5)
            while rest.count(b"\r\n\r\n") < 1 or not rest.endswith(b'{"status":"ok"}'):
                chunk = s.recv(65536)
                assert chunk, (path, rest)
                rest += chunk
            assert rest.startswith(b"HTTP/1.1 200 OK\r\n") and rest.count(b"HTTP/1.1") == 1, rest
        finally:
            s.close()
    assert_serving(hostile_gw)


def test_reply_framing_by_http_version(hostile_gw):
    """HTTP/1.0 stays open only when asked (and then says so), HTTP/1.1 closes only when
    asked (and says so); 204 and 304 carry neither a body nor a Content-Length."""
    _, port = hostile_gw.listener()

    def exchange(data, n=1):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        try:
            s.sendall(data)
            replies, rest = _read_replies(s, n)
            s.settimeout(1)
            try:
                closed = s.recv(1) == b""
            except socket.timeout:
                closed = False
            return replies, rest, closed
        finally:
            s.close()

    (r,), _, closed = exchange(b"GET /health HTTP/1.0\r\n\r\n")
    assert r[0] == 200 and closed
    replies, _, closed = exchange(b"GET /health HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
                                  b"GET /health HTTP/1.0\r\n\r\n", 2)
    assert [x[0] for x in replies] == [200, 200] and closed
    (r,), _, closed = exchange(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert r[0] == 200 and closed
    (r,), _, closed = exchange(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
    assert r[0] == 200 and not closed

    def head_of(data):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        try:
            s.sendall(data)
            return _read_head_only(s)
        finally:
            s.close()

    status, headers, _ = head_of(b"GET /health HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
    assert status == 200 and headers.get("connection") == "keep-alive", headers
    status, headers, _ = head_of(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert status == 200 and headers.get("connection") == "close", headers
    etag = http("GET", hostile_gw.url() + "/").header("ETag")
    status, headers, rest = head_of(b"GET / HTTP/1.1\r\nHost: x\r\nIf-None-Match: %s\r\n\r\n"
                                    % etag.encode())
    assert status == 304 and "content-length" not in headers and rest == b"", headers
    assert headers["etag"] == etag


def test_cors_preflight_is_a_204_without_length():
    sim = start_sim("--seed", "7")
    gw = start_gateway(sim, env={"CORS_ALLOWED_ORIGINS": "http://console.example"})
    try:
        _, port = gw.listener()
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        try:
            s.sendall(b"OPTIONS /api/default/connectors HTTP/1.1\r\nHost: x\r\n"
                      b"Origin: http://console.example\r\n"
                      b"Access-Control-Request-Method: GET\r\n\r\n"
                      b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            status, headers, rest = _read_head_only(s)
            assert status == 204 and "content-length" not in headers, headers
            assert headers["access-control-allow-origin"] == "http://console.example"
            assert rest == b"" or rest.startswith(b"HTTP/1.1 200 "), rest[:80]
        finally:
            s.close()
    finally:
        gw.stop()
        sim.stop()


def test_lent_documents_reach_a_slow_reader_whole():
    """A cluster summary over 64 KiB is lent to the connection, not copied, and written with
    one writev while its request is parsed; what the socket does not take then waits, lent,
    in the output. A client that pipelines three summaries and a /health without reading,
    with a small receive buffer, gets all four whole and in order."""
    sim = start_sim("--connectors", "1500", "--workers", "3")
    gw = start_gateway(sim, env={"LOG_LEVEL": "warn", "METRICS_CACHE_TTL": "60s"})
    try:
        url = gw.url() + "/api/default/metrics"
        whole = http("GET", url, timeout=60)
        assert whole.status == 200 and len(whole.body) > 256 * 1024
        _, port = gw.listener()
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.connect(("127.0.0.1", port))
        try:
            s.sendall(b"GET /api/default/metrics HTTP/1.1\r\nHost: x\r\n\r\n" * 3 +
                      b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            time.sleep(0.5)  # the socket fills; the rest waits in the output
            replies, rest = _read_replies(s, 4, timeout=30)
            for status, body in replies[:3]:
                assert status == 200 and body == whole.body
            assert replies[3] == (200, b'{"status":"ok"}') and rest == b""
        finally:
            s.close()
        assert http("GET", gw.url() + "/health").status == 200
    finally:
        gw.stop()
        sim.stop()


@pytest.mark.parametrize("piece", [7000, None], ids=["in pieces", "at once"])
def test_request_larger_than_one_read_arrives_whole(hostile_gw, piece):
    """The gateway reads at most 16 KiB per recv (src/conn_io.c) and its socket events are
    edge-triggered: a request of 6 KB of headers and a 60 KB body reaches Connect intact, sent
    in pieces or in one go (then no new edge comes for what one read left: the gateway must
    read again by itself)."""
    _, port = hostile_gw.listener()
    big = "v" * 60000
    body = json.dumps({"connector.class": "FileStreamSource", "file": big}).encode()
    head = ("PUT /api/default/connector-plugins/FileStreamSource/config/validate HTTP/1.1\r\n"
            "Host: x\r\nX-Pad: %s\r\nContent-Type: application/json\r\n"
            "Content-Length: %d\r\n\r\n" % ("p" * 6000, len(body))).encode()
    data = head + body
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    try:
        step = piece or len(data)
        for i in range(0, len(data), step):
            s.sendall(data[i:i + step])
            time.sleep(0.01)
        [(status, reply)], _ = _read_replies(s, 1, timeout=10)
        assert status == 200, reply[:300]
        values = {c["value"]["name"]: c["value"]["value"] for c in json.loads(reply)["configs"]}
        assert values.get("file") == big
        s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        assert _read_responses(s, 1) == [200]
    finally:
        s.close()


def test_idle_connections_lend_their_parser_back(hostile_gw):
    """Connections between requests give their HTTP parser back (src/parser_pool.h) and get
    one again when bytes arrive: more connections mid-request than the pool keeps (256), then
    idle, then requests split across packets and pipelined ones on the same connections."""
    _, port = hostile_gw.listener()
    n = 400
    socks = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(n)]
    try:
        wait_until(lambda: _open_connections(hostile_gw) >= n, timeout=5,
                   what="all connections accepted")
        # a connection that has sent nothing yet holds no parser either
        assert _gauge(hostile_gw, "kconnect_idle_connections") >= n
        for s in socks:  # every one mid-request: each needs a parser of its own
            s.sendall(b"GET /health HTTP/1.1\r\n")
        wait_until(lambda: _gauge(hostile_gw, "kconnect_idle_connections") == 0, timeout=5,
                   what="every connection holds a parser while its request is half read")
        for s in socks:
            s.sendall(b"Host: x\r\n\r\n")
        for s in socks:
            assert _read_responses(s, 1) == [200]
        wait_until(lambda: _gauge(hostile_gw, "kconnect_idle_connections") >= n, timeout=5,
                   what="answered keep-alive connections are idle again")
        # again on the same connections: one request split over two packets, or two pipelined
        for i, s in enumerate(socks):
            if i % 2:
                s.sendall(b"GET /health HTTP/1.1\r\nHo")
            else:
                s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
                          b"GET /api/gateway/health HTTP/1.1\r\nHost: x\r\n\r\n")
        time.sleep(0.2)
        for i, s in enumerate(socks):
            if i % 2:
                s.sendall(b"st: x\r\n\r\n")
        for i, s in enumerate(socks):
            assert _read_responses(s, 1 if i % 2 else 2) == [200] * (1 if i % 2 else 2), i
    finally:
        for s in socks:
            s.close()
    wait_until(lambda: _open_connections(hostile_gw) <= 2, timeout=5,
               what="the connections released")
    assert _gauge(hostile_gw, "kconnect_idle_connections") <= 2
    assert_serving(hostile_gw)
