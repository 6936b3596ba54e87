"""Alert rules against connect-sim faults: GET /api/{cluster}/alerts and the webhook events."""
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
import json
import threading
import time
import urllib.parse

import pytest

from conftest import start_gateway, start_sim
from kctest import get_json, http, wait_until

RULES = [
    {"name": "task-failed", "kind": "task_failed"},
    {"name": "stalled", "kind": "zero_throughput", "for": "1s"},
    {"name": "lag-high", "kind": "lag", "threshold": 0},
    {"name": "agents", "kind": "jolokia_unreachable"},
    {"name": "errors", "kind": "error_rate", "threshold": 99.9},
]


class Webhook:
    """A tiny receiver on 127.0.0.1 port 0 that records every POST. The first `fail_first`
    POSTs get 500, so the gateway's retry is exercised."""

    def __init__(self, fail_first=0):
        self.lock = threading.Lock()
        self.attempts = []  # (status answered, event)
        self.fail_left = fail_first
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n)
                with hook.lock:
                    status = 500 if hook.fail_left > 0 else 200
                    hook.fail_left -= 1 if hook.fail_left > 0 else 0
                    hook.attempts.append((status, json.loads(body),
                                          self.headers.get("Content-Type")))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d/hook" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def delivered(self):
        with self.lock:
            return [ev for status, ev, _ in self.attempts if status == 200]

    def has(self, event, rule, connector):
        return any(e["event"] == event and e["rule"] == rule and e["connector"] == connector
                   for e in self.delivered())

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def enc(name):
    return urllib.parse.quote(name, safe="")


def control(sim, method, path, body=None):
    r = http(method, sim.url("control") + path, body=body)
    assert r.status < 300, (path, r.status, r.body)
    return r


def connect(sim, method, path):
    r = http(method, sim.url("connect") + path)
    assert r.status < 300, (path, r.status, r.body)
    return r


def alerts(gw):
    status, doc = get_json(gw.url() + "/api/default/alerts")
    assert status == 200, doc
    return doc


def find(items, rule, connector):
    return [a for a in items if a["rule"] == rule and a["connector"] == connector]


@pytest.fixture
def hook():
    h = Webhook(fail_first=1)
    yield h
    h.close()


@pytest.fixture
def alert_gw(sim, hook, tmp_path):
    cfg = tmp_path / "kc.json"
    cfg.write_text(json.dumps({"alerts": {"rules": RULES, "webhook": {"url": hook.url}}}))
    g = start_gateway(sim, env={"KC_CONFIG": str(cfg), "METRICS_CACHE_TTL": "300ms",
                                "KC_NEGATIVE_TTL": "300ms"})
    yield g
    g.assert_clean_exit()


def test_default_rules_show_a_failed_task(gateway):
    # No alerts in the config: task_failed and jolokia_unreachable are on.
    status, doc = get_json(gateway.url() + "/api/default/alerts")
    assert status == 200 and doc["rules"] == 2
    assert find(doc["active"], "task-failed", "payments-jdbc")
    assert not [a for a in doc["active"] if a["rule"] == "jolokia-unreachable"]
    status, doc = get_json(gateway.url() + "/api/nope/alerts")
    assert status == 404


def test_empty_rules_turn_alerts_off(sim, tmp_path):
    cfg = tmp_path / "kc.json"
    cfg.write_text(json.dumps({"alerts": {"rules": []}}))
    g = start_gateway(sim, env={"KC_CONFIG": str(cfg)})
    try:
        status, doc = get_json(g.url() + "/api/default/alerts")
        assert status == 200
        assert doc == {"cluster": "default", "active": [], "resolved": [], "rules": 0}
    finally:
        g.stop()
    assert g.sanitizer_report() is None


def test_alert_document_shape(sim, alert_gw):
    # payments-jdbc has a FAILED task from the start: the first collection fires it.
    doc = wait_until(lambda: (lambda d: find(d["active"], "task-failed", "payments-jdbc") and d)(
        alerts(alert_gw)), timeout=10, what="payments-jdbc task-failed")
    assert doc["cluster"] == "default" and doc["rules"] == len(RULES)
    a = find(doc["active"], "task-failed", "payments-jdbc")[0]
    assert a["kind"] == "task_failed" and a["severity"] == "critical"
    assert a["value"] == 1 and a["threshold"] == 0
    assert a["message"] == "1 of 2 tasks FAILED: 1"
    assert a["since"].endswith("Z") and len(a["since"]) == 24
    assert isinstance(doc["resolved"], list)
    # PAUSED is not RUNNING: zero throughput never fires for inventory-datagen.
    assert not find(doc["active"], "stalled", "inventory-datagen")


def test_task_failed_fires_and_resolves(sim, alert_gw, hook):
    assert not find(alerts(alert_gw)["active"], "task-failed", "orders-src")
    control(sim, "POST", "/tasks/fail", {"connector": "orders-src", "task": 0})
    wait_until(lambda: find(alerts(alert_gw)["active"], "task-failed", "orders-src"),
               timeout=10, what="task-failed fires")
    # The receiver answered 500 to the first POST: the event arrives on a retry.
    wait_until(lambda: hook.has("fire", "task-failed", "orders-src"), timeout=15,
               what="webhook fire event")
    with hook.lock:
        assert hook.attempts[0][0] == 500
        assert all(ct == "application/json" for _, _, ct in hook.attempts)
    ev = [e for e in hook.delivered() if e["rule"] == "task-failed"
          and e["connector"] == "orders-src"][0]
    assert ev["cluster"] == "default" and ev["kind"] == "task_failed" and ev["value"] == 1
    assert ev["since"] == ev["at"]

    connect(sim, "POST", "/connectors/orders-src/restart?includeTasks=true&onlyFailed=true")
    doc = wait_until(lambda: (lambda d: find(d["resolved"], "task-failed", "orders-src") and d)(
        alerts(alert_gw)), timeout=10, what="task-failed resolves")
    assert not find(doc["active"], "task-failed", "orders-src")
    r = find(doc["resolved"], "task-failed", "orders-src")[0]
    assert r["since"] <= r["resolvedAt"]
    wait_until(lambda: hook.has("resolve", "task-failed", "orders-src"), timeout=15,
               what="webhook resolve event")
    # Events arrive in order: the fire before the resolve.
    kinds = [e["event"] for e in hook.delivered()
             if e["rule"] == "task-failed" and e["connector"] == "orders-src"]
    assert kinds == ["fire", "resolve"]


def test_zero_throughput_and_lag(sim, alert_gw, hook):
    # orders-sink lags from the start (a sink with records-lag-max > 0).
    wait_until(lambda: find(alerts(alert_gw)["active"], "lag-high", "orders-sink"),
               timeout=10, what="lag fires")
    # Pausing stops its counters and its consumer: lag is unknown, so it resolves, and a
    # PAUSED connector is not "zero throughput while RUNNING".
    connect(sim, "PUT", "/connectors/orders-sink/pause")
    wait_until(lambda: find(alerts(alert_gw)["resolved"], "lag-high", "orders-sink"),
               timeout=10, what="lag resolves on pause")
    # Every task of orders-src FAILED: the connector stays RUNNING with no records flowing.
    t0 = time.monotonic()
    control(sim, "POST", "/tasks/fail", {"connector": "orders-src", "task": 0})
    control(sim, "POST", "/tasks/fail", {"connector": "orders-src", "task": 1})
    doc = wait_until(lambda: (lambda d: find(d["active"], "stalled", "orders-src") and d)(
        alerts(alert_gw)), timeout=15, what="zero throughput fires")
    assert time.monotonic() - t0 >= 1.0, "fired before its `for` of 1s"
    assert find(doc["active"], "stalled", "orders-src")[0]["value"] == 0
    assert not find(doc["active"], "stalled", "orders-sink")
    assert not find(doc["active"], "stalled", "inventory-datagen")

    connect(sim, "POST", "/connectors/orders-src/restart?includeTasks=true&onlyFailed=true")
    wait_until(lambda: find(alerts(alert_gw)["resolved"], "stalled", "orders-src"),
               timeout=10, what="zero throughput resolves")
    for ev, rule, name in (("fire", "lag-high", "orders-sink"),
                           ("resolve", "lag-high", "orders-sink"),
                           ("fire", "stalled", "orders-src"),
                           ("resolve", "stalled", "orders-src")):
        wait_until(lambda: hook.has(ev, rule, name), timeout=15,
                   what="webhook %s %s %s" % (ev, rule, name))


def test_jolokia_down_fires_and_resolves(sim, alert_gw, hook):
    wait_until(lambda: alerts(alert_gw)["active"], timeout=10, what="first collection")
    control(sim, "PUT", "/faults", {"target": "jolokia", "fault": "down"})
    doc = wait_until(lambda: (lambda d: find(d["active"], "agents", "orders-src") and d)(
        alerts(alert_gw)), timeout=10, what="jolokia alert fires")
    a = find(doc["active"], "agents", "orders-src")[0]
    assert a["kind"] == "jolokia_unreachable" and a["message"].startswith("jolokia ")
    # With no metrics, throughput is unknown, not zero: no stalled alert while agents are down
    # (its `for` is 1s; watch for longer than that).
    deadline = time.monotonic() + 1.6
    while time.monotonic() < deadline:
        assert not [x for x in alerts(alert_gw)["active"] if x["rule"] == "stalled"]
        time.sleep(0.1)

    control(sim, "DELETE", "/faults")
    wait_until(lambda: find(alerts(alert_gw)["resolved"], "agents", "orders-src")
               and not [x for x in alerts(alert_gw)["active"] if x["rule"] == "agents"],
               timeout=10, what="jolokia alerts resolve")
    wait_until(lambda: hook.has("fire", "agents", "orders-src")
               and hook.has("resolve", "agents", "orders-src"), timeout=20,
               what="webhook jolokia events")


def test_deleted_connector_resolves(sim, alert_gw):
    wait_until(lambda: find(alerts(alert_gw)["active"], "task-failed", "payments-jdbc"),
               timeout=10, what="payments-jdbc fires")
    connect(sim, "DELETE", "/connectors/payments-jdbc")
    doc = wait_until(lambda: (lambda d: find(d["resolved"], "task-failed", "payments-jdbc")
                              and d)(alerts(alert_gw)), timeout=10, what="resolved on delete")
    assert find(doc["resolved"], "task-failed", "payments-jdbc")[0]["message"] == \
        "the connector no longer exists"


def test_webhook_down_never_blocks(sim, tmp_path):
    # A receiver that refuses connections: requests keep being answered while it retries.
    hook = Webhook()
    url = hook.url
    hook.close()
    cfg = tmp_path / "kc.json"
    cfg.write_text(json.dumps({"alerts": {"rules": RULES, "webhook": {"url": url}}}))
    g = start_gateway(sim, env={"KC_CONFIG": str(cfg), "METRICS_CACHE_TTL": "300ms",
                                "KC_NEGATIVE_TTL": "300ms"})
    try:
        wait_until(lambda: find(alerts(g)["active"], "task-failed", "payments-jdbc"),
                   timeout=10, what="fires without a receiver")
        wait_until(lambda: "alert_webhook_retry" in g.stderr(), timeout=10, what="a retry")
        t = time.monotonic()
        for _ in range(5):
            assert get_json(g.url() + "/health")[0] == 200
        assert time.monotonic() - t < 2.0
    finally:
        g.assert_clean_exit()  # retry timers and queued events are freed on stop
