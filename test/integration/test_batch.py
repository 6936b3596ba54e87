"""Watched connectors refreshed together (issue 14 §2): connect-sim and the gateway as separate
processes; many streams on one cluster cost one Jolokia POST per worker per TTL and at most one
Connect request per connector per TTL (or one expand list when most of the cluster is watched)."""
import json
import math
import socket
import threading
import time

import pytest

from conftest import start_gateway, start_sim
from kctest import control, counters, enc, http, wait_until

TTL_S = 1.0
STATUS = "GET /connectors/{name}/status"
LIST = "GET /connectors"


class Streams:
    """Raw SSE connections to the per-connector streams, drained by one thread."""

    def __init__(self, gw, names):
        host, port = gw.listener()
        self.socks = {}
        self.data = {n: b"" for n in names}
        for n in names:
            s = socket.create_connection((host, port))
            s.sendall(("GET /api/default/connectors/%s/metrics/stream HTTP/1.1\r\nHost: x\r\n\r\n"
                       % enc(n)).encode())
            s.setblocking(False)
            self.socks[n] = s
        self.stop_ev = threading.Event()
        self.lock = threading.Lock()
        self.t = threading.Thread(target=self._drain, daemon=True)
        self.t.start()

    def _drain(self):
        while not self.stop_ev.is_set():
            with self.lock:
                items = list(self.socks.items())
            for n, s in items:
                try:
                    chunk = s.recv(65536)
                    with self.lock:
                        self.data[n] += chunk
                except (BlockingIOError, OSError):
                    pass
            time.sleep(0.02)

    def events(self, name):
        with self.lock:
            return self.data[name].count(b"\nevent: metrics\n")

    def close(self, names):
        with self.lock:
            for n in names:
                self.socks.pop(n).close()

    def stop(self):
        self.stop_ev.set()
        self.t.join()
        for s in self.socks.values():
            s.close()


def metrics(gw, *names):
    """The values of names from ONE scrape: counters that move together are compared as one
    moment shows them (a batch may finish between two scrapes)."""
    found = {}
    for line in http("GET", gw.url() + "/metrics").body.decode().splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] in names:
            found[parts[0]] = float(parts[1])
    missing = [n for n in names if n not in found]
    assert not missing, "missing: %s" % missing
    return [found[n] for n in names]


def metric(gw, name):
    return metrics(gw, name)[0]


def measure(sim, seconds):
    control(sim, "POST", "/counters/reset")
    t0 = time.monotonic()
    time.sleep(seconds)
    c = counters(sim)
    return c, (time.monotonic() - t0) / TTL_S


@pytest.fixture
def sim40():
    p = start_sim("--seed", "5", "--connectors", "40", "--tasks", "2")
    yield p
    p.assert_clean_exit()


def connector_names(sim):
    return sorted(json.loads(http("GET", sim.url("connect") + "/connectors").body))


def test_ten_streams_one_post_per_worker_per_ttl(sim40):
    gw = start_gateway(sim40, env={"METRICS_CACHE_TTL": "%dms" % (TTL_S * 1000)})
    names = connector_names(sim40)[:10]
    st = Streams(gw, names)
    try:
        # Every stream gets its first document at once (its own collection), then moves on.
        wait_until(lambda: all(st.events(n) >= 1 for n in names), timeout=5, what="first events")
        time.sleep(2 * TTL_S)  # the streams fall into one batch
        c, windows = measure(sim40, 5 * TTL_S)
        status = c["connect"]["routes"].get(STATUS, 0)
        # at most one status call per watched connector per TTL
        assert status <= len(names) * math.ceil(windows), (status, windows)
        assert status >= len(names) * (math.floor(windows) - 1)
        assert c["connect"]["routes"].get(LIST, 0) == 0  # ten of forty: status calls are cheaper
        for wid, w in c["jolokia"]["workers"].items():
            # ONE bulk POST per worker per TTL for the ten, not one per connector and worker
            assert w["post"] <= math.ceil(windows) + 1, (wid, w, windows)
        assert metric(gw, "kconnect_batch_refreshes_total") >= 4
        # every stream keeps moving, once per TTL
        before = {n: st.events(n) for n in names}
        time.sleep(2.2 * TTL_S)
        assert all(st.events(n) >= before[n] + 2 for n in names), (before, names)
        # Closed streams leave the batch: their connectors stop being collected.
        st.close(names[:5])
        time.sleep(1.5 * TTL_S)
        control(sim40, "POST", "/counters/reset")
        time.sleep(3 * TTL_S)
        per = counters(sim40)["connect"]["connectors"]
        assert not any(per.get(n) for n in names[:5]), per
        assert all(per.get(n, 0) >= 2 for n in names[5:]), per
    finally:
        st.stop()
        gw.stop()
    assert gw.sanitizer_report() is None


def test_most_of_the_cluster_watched_one_expand_list(sim40):
    gw = start_gateway(sim40, env={"METRICS_CACHE_TTL": "%dms" % (TTL_S * 1000)})
    names = connector_names(sim40)
    assert http("GET", gw.url() + "/api/default/metrics").status == 200  # the cluster's size
    st = Streams(gw, names)
    try:
        wait_until(lambda: all(st.events(n) >= 1 for n in names), timeout=10, what="first events")
        time.sleep(2 * TTL_S)
        c, windows = measure(sim40, 4 * TTL_S)
        lists = c["connect"]["routes"].get(LIST, 0)
        assert c["connect"]["routes"].get(STATUS, 0) == 0, c
        assert 1 <= lists <= math.ceil(windows) + 1, (lists, windows)
        for w in c["jolokia"]["workers"].values():
            assert w["post"] <= math.ceil(windows) + 1, c
        # the documents are those of each connector
        for n in names[:3]:
            body = json.loads(http("GET", gw.url() + "/api/default/connectors/%s/metrics"
                                   % enc(n)).body)
            assert body["connectorName"] == n and body["warnings"] == []
    finally:
        st.stop()
        gw.stop()
    assert gw.sanitizer_report() is None


def test_bulk_split_above_the_per_post_bound():
    sim = start_sim("--seed", "3", "--connectors", "260", "--tasks", "1", workers=1)
    # 260 status calls per batch, sent in waves of 128 (a batch of thousands at once would
    # overflow the upstream queue and push members back to collections of their own).
    gw = start_gateway(sim, env={"METRICS_CACHE_TTL": "%dms" % (TTL_S * 1000),
                                 "KC_BATCH_EXPAND_PERCENT": "101"})
    names = connector_names(sim)
    st = Streams(gw, names)
    try:
        wait_until(lambda: all(st.events(n) >= 2 for n in names), timeout=20,
                   what="two events each")
        time.sleep(TTL_S)
        c, windows = measure(sim, 3 * TTL_S)
        posts = sum(w["post"] for w in c["jolokia"]["workers"].values())
        # 260 connectors on one worker: 3 POSTs per batch (100 + 100 + 60)
        assert 3 * (math.floor(windows) - 1) <= posts <= 3 * (math.ceil(windows) + 1), (posts, c)
        assert metric(gw, "kconnect_batch_split_posts_total") >= 2
        status = c["connect"]["routes"].get(STATUS, 0)
        assert 260 * (math.floor(windows) - 1) <= status <= 260 * (math.ceil(windows) + 1), c
        # every member's call went out within its batch (none fell back to a collection alone)
        batches, requests = metrics(gw, "kconnect_batch_refreshes_total",
                                    "kconnect_batch_connect_requests_total")
        assert requests == 260 * batches, (requests, batches)
    finally:
        st.stop()
        gw.stop()
        sim.stop()
    assert gw.sanitizer_report() is None


def test_deleted_connector_in_a_batch_ends_its_stream(sim40):
    gw = start_gateway(sim40, env={"METRICS_CACHE_TTL": "%dms" % (TTL_S * 1000)})
    names = connector_names(sim40)[:4]
    st = Streams(gw, names)
    try:
        wait_until(lambda: all(st.events(n) >= 2 for n in names), timeout=5, what="events")
        assert http("DELETE", sim40.url("connect") + "/connectors/%s" % enc(names[0])).status \
            in (200, 204)
        wait_until(lambda: b"event: error" in st.data[names[0]], timeout=5,
                   what="the deleted connector's error event")
        assert b'"error":"metrics_fetch_failed"' in st.data[names[0]]
        before = {n: st.events(n) for n in names[1:]}
        time.sleep(2.2 * TTL_S)
        assert all(st.events(n) >= before[n] + 2 for n in names[1:])
    finally:
        st.stop()
        gw.stop()
    assert gw.sanitizer_report() is None
