"""GET /api/stream: one Server-Sent Events connection for many connectors and cluster summaries
(a browser's tabs share it). Events name their item, ids resume every item, the number of items
is bounded, a slow reader is cut off, HTTP/1.0 is refused, a deleted connector leaves the
stream while the others go on, and in fleet mode a stream on one replica carries what another
collected."""
import json
import re
import socket
import time
import urllib.parse

import pytest

from conftest import start_gateway, start_sim
from kctest import (control, counters, enc, get_json, http, read_for, read_stream_until_closed,
                    sse_records, wait_until)


def q(*pairs):
    return "&".join("%s=%s" % (k, urllib.parse.quote(v, safe="")) for k, v in pairs)


def open_stream(gw, query, headers=None, rcvbuf=None, http10=False):
    host, port = gw.listener()
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.settimeout(10)
    s.connect((host, port))
    extra = "".join("%s: %s\r\n" % kv for kv in (headers or {}).items())
    s.sendall(("GET /api/stream?%s HTTP/1.%d\r\nHost: x\r\n%s\r\n"
               % (query, 0 if http10 else 1, extra)).encode())
    return s


def events(text):
    """sse_records with each event's payload parsed and its id list as ints."""
    out = sse_records(text)
    for e in out:
        e["doc"] = json.loads(e["data"])
        e["ids"] = [int(x) for x in e["id"].split(",")]
    return out


def item_of(e):
    return (e["doc"]["cluster"], e["doc"]["connector"])


def prom_gauge(gw, name):
    text = http("GET", gw.url() + "/metrics").body.decode()
    m = re.search(r"^%s (\d+)$" % name, text, re.M)
    return int(m.group(1))


def per_connector(sim):
    return counters(sim)["connect"]["connectors"]


ITEMS = (("connector", "default/orders-src"), ("connector", "default/my conn.v2"),
         ("summary", "default"), ("connector", "default/say \"hi\"*"))
KEYS = [("default", "orders-src"), ("default", "my conn.v2"), ("default", None),
        ("default", "say \"hi\"*")]


def test_one_connection_carries_every_item_once_per_ttl(sim):
    gw = start_gateway(sim, env={"METRICS_CACHE_TTL": "500ms"})
    try:
        control(sim, "POST", "/counters/reset")
        s = open_stream(gw, q(*ITEMS))
        text = read_for(s, 0.6)
        assert text.startswith("HTTP/1.1 200"), text[:200]
        assert "text/event-stream" in text.split("\r\n\r\n")[0]
        assert prom_gauge(gw, "kconnect_stream_connections") == 1
        assert prom_gauge(gw, "kconnect_stream_subscribers") == 4
        text += read_for(s, 2.6)
        evs = events(text)
        by_item = {}
        for e in evs:
            assert e["event"] == "metrics", e
            assert set(e["doc"]) == {"cluster", "connector", "status", "doc"}
            assert e["doc"]["status"] == 200
            assert len(e["ids"]) == 4
            by_item.setdefault(item_of(e), []).append(e)
        assert set(by_item) == set(KEYS)
        for i, key in enumerate(KEYS):
            evk = by_item[key]
            # one document per TTL (3.2 s at 500 ms), each with a new id at its own position
            assert 4 <= len(evk) <= 9, (key, len(evk))
            seqs = [e["ids"][i] for e in evk]
            assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs), (key, seqs)
            if key[1]:
                assert evk[-1]["doc"]["doc"]["connectorName"] == key[1]
            else:
                assert evk[-1]["doc"]["doc"]["cluster"] == "default"
                assert "connectors" in evk[-1]["doc"]["doc"]
        # every id lists the last id of each item so far
        last = [0, 0, 0, 0]
        for e in evs:
            assert all(a >= b for a, b in zip(e["ids"], last)), (e["ids"], last)
            last = e["ids"]
        # the same body the per-connector route serves (concatenated, not re-encoded)
        assert b'"connector":"say \\"hi\\"*","status":200,"doc":{"connectorName":"say \\"hi\\"*"' \
            in text.encode()
        seen = per_connector(sim)
        for name in ("orders-src", "my conn.v2", 'say "hi"*'):
            assert seen.get(name, 0) >= 4, (name, seen)
        assert "payments-jdbc" not in seen, seen
        s.close()
        wait_until(lambda: prom_gauge(gw, "kconnect_stream_connections") == 0, timeout=5,
                   what="the stream to close")
        assert prom_gauge(gw, "kconnect_stream_subscribers") == 0
        time.sleep(0.7)
        quiet = per_connector(sim)
        time.sleep(1.2)
        assert per_connector(sim) == quiet, "collections stop when the stream is closed"
    finally:
        gw.assert_clean_exit()


def test_resume_by_last_event_id(sim):
    gw = start_gateway(sim, env={"METRICS_CACHE_TTL": "2s"})
    try:
        items = q(*ITEMS)
        s = open_stream(gw, items)
        text = read_for(s, 5, until=lambda t: len(events(t)) >= 4)
        s.close()
        evs = events(text)
        assert len(evs) == 4 and {item_of(e) for e in evs} == set(KEYS)
        last_id = evs[-1]["id"]
        assert all(x > 0 for x in evs[-1]["ids"])

        # the browser's reconnect: nothing it has is sent again; the next documents are
        s = open_stream(gw, items, headers={"Last-Event-ID": last_id})
        text = read_for(s, 0.5)
        assert text.startswith("HTTP/1.1 200") and events(text) == [], text
        text += read_for(s, 3.5, until=lambda t: len(events(t)) >= 4)
        s.close()
        again = events(text)
        assert {item_of(e) for e in again} == set(KEYS), again
        for e in again:
            i = KEYS.index(item_of(e))
            assert e["ids"][i] > evs[-1]["ids"][i]

        # a new stream for a changed set passes the ids it has as lastEventId: only the new
        # item, whose id is 0, is sent at once
        cur = again[-1]["ids"]
        more = items + "&" + q(("connector", "default/payments-jdbc"))
        s = open_stream(gw, more + "&lastEventId=" + ",".join(map(str, cur + [0])))
        text = read_for(s, 0.8)
        s.close()
        first = events(text)
        assert [item_of(e) for e in first] == [("default", "payments-jdbc")], first

        # an id list that does not fit the items is ignored: everything afresh
        s = open_stream(gw, items, headers={"Last-Event-ID": "1,2"})
        text = read_for(s, 3, until=lambda t: len(events(t)) >= 4)
        s.close()
        assert {item_of(e) for e in events(text)} == set(KEYS)

        # an id above what this gateway has (its earlier life, before a restart) is not a
        # reason to stay silent
        s = open_stream(gw, q(("connector", "default/orders-src")),
                        headers={"Last-Event-ID": "999999"})
        text = read_for(s, 3, until=lambda t: len(events(t)) >= 1)
        s.close()
        assert [item_of(e) for e in events(text)] == [("default", "orders-src")]
    finally:
        gw.assert_clean_exit()


def test_bound_and_bad_queries(sim):
    gw = start_gateway(sim, env={"KC_STREAM_MAX_ITEMS": "3"})
    try:
        base = gw.url() + "/api/stream?"
        code, body = get_json(base + q(*ITEMS))
        assert code == 400 and body["error"] == "too_many_connectors", body
        assert "at most 3" in body["message"] and "KC_STREAM_MAX_ITEMS" in body["message"]
        # duplicates collapse: three distinct items are within the bound
        s = open_stream(gw, q(*ITEMS[:3], ITEMS[0]))
        text = read_for(s, 5, until=lambda t: len(events(t)) >= 3)
        s.close()
        assert len(events(text)) == 3, text
        for query, status, err in (
                ("", 400, "bad_request"),
                ("access_token=x", 400, "bad_request"),
                (q(("connector", "default")), 400, "bad_request"),
                (q(("connector", "default/")), 400, "bad_request"),
                ("connector=default%2Fbad%zz", 400, "bad_request"),
                (q(("summary", "")), 400, "bad_request"),
                (q(("connector", "nope/orders-src")), 404, "unknown_cluster"),
                (q(("summary", "nope")), 404, "unknown_cluster")):
            code, body = get_json(base + query)
            assert (code, body["error"]) == (status, err), (query, code, body)
        assert http("POST", base + q(ITEMS[0])).status == 405
        # a '+' is a space (form encoding), and a name may hold '/'
        s = open_stream(gw, "connector=default/my+conn.v2")
        text = read_for(s, 5, until=lambda t: len(events(t)) >= 1)
        s.close()
        assert [item_of(e) for e in events(text)] == [("default", "my conn.v2")]
        # HTTP/1.0 cannot read a chunked stream: refused as the per-connector stream is
        s = open_stream(gw, q(ITEMS[0]), http10=True)
        text, _ = read_stream_until_closed(s, 5)
        s.close()
        assert text.startswith("HTTP/1.1 505") or text.startswith("HTTP/1.0 505"), text[:100]
        assert '"http_version"' in text
    finally:
        gw.assert_clean_exit()


def test_bound_from_the_config_file(sim, tmp_path):
    cfg = tmp_path / "kc.json"
    cfg.write_text(json.dumps({"streamMaxItems": 1}))
    gw = start_gateway(sim, env={"KC_CONFIG": str(cfg)})
    try:
        code, body = get_json(gw.url() + "/api/stream?" + q(*ITEMS[:2]))
        assert code == 400 and body["error"] == "too_many_connectors", body
    finally:
        gw.assert_clean_exit()


def test_deleted_connector_leaves_the_stream_the_others_go_on(sim):
    gw = start_gateway(sim, env={"METRICS_CACHE_TTL": "500ms", "KC_NEGATIVE_TTL": "200ms"})
    try:
        s = open_stream(gw, q(("connector", "default/orders-src"),
                              ("connector", "default/payments-jdbc")))
        text = read_for(s, 5, until=lambda t: len(events(t)) >= 2)
        assert len(events(text)) == 2
        assert http("DELETE", sim.url("connect") + "/connectors/orders-src").status == 204
        text += read_for(s, 4)
        evs = events(text)
        errors = [e for e in evs if e["event"] == "error"]
        assert len(errors) == 1, errors
        assert errors[0]["doc"]["connector"] == "orders-src" and errors[0]["doc"]["status"] == 404
        assert errors[0]["doc"]["doc"] == {
            "error": "metrics_fetch_failed",
            "message": "unexpected status fetching connector orders-src: 404"}
        after = evs[evs.index(errors[0]) + 1:]
        assert len(after) >= 4 and all(item_of(e) == ("default", "payments-jdbc") for e in after)
        assert prom_gauge(gw, "kconnect_stream_subscribers") == 1
        s.close()

        # a stream whose every item is unknown ends after their error events
        s = open_stream(gw, q(("connector", "default/nope-1"), ("connector", "default/nope-2")))
        text, closed = read_stream_until_closed(s, 10)
        s.close()
        assert closed and text.startswith("HTTP/1.1 200"), text[:300]
        assert sorted(e["doc"]["connector"] for e in events(text)) == ["nope-1", "nope-2"]
        assert all(e["event"] == "error" for e in events(text))
        wait_until(lambda: prom_gauge(gw, "kconnect_stream_connections") == 0, timeout=5,
                   what="no stream left")
    finally:
        gw.assert_clean_exit()


def test_slow_reader_is_disconnected():
    """A client that stops reading is cut off once a megabyte waits for it (as the
    per-connector stream): big summaries every 200 ms fill the socket buffers quickly."""
    sim = start_sim("--seed", "7", "--connectors", "1500")
    gw = start_gateway(sim, env={"METRICS_CACHE_TTL": "200ms"})
    try:
        code, doc = get_json(gw.url() + "/api/default/metrics", timeout=60)
        assert code == 200 and len(json.dumps(doc)) > 300000
        s = open_stream(gw, q(("summary", "default"), ("connector", "default/orders-src")),
                        rcvbuf=4096)
        wait_until(lambda: prom_gauge(gw, "kconnect_stream_connections") == 1, timeout=5,
                   what="the stream open")
        wait_until(lambda: "stream_slow_subscriber" in gw.stderr(), timeout=60, interval=0.2,
                   what="the slow reader cut off")
        wait_until(lambda: prom_gauge(gw, "kconnect_stream_connections") == 0, timeout=5,
                   what="the stream freed")
        assert prom_gauge(gw, "kconnect_stream_subscribers") == 0
        line = [l for l in gw.stderr().splitlines() if "stream_slow_subscriber" in l][0]
        assert json.loads(line)["items"] == 2
        # what was sent before the cut arrives, then the end of the connection
        text, closed = read_stream_until_closed(s, 30)
        s.close()
        assert closed
    finally:
        gw.assert_clean_exit()
        sim.assert_clean_exit()


@pytest.mark.skipif(__import__("shutil").which("redis-server") is None,
                    reason="redis-server is not installed (deploy/install-deps.sh installs it)")
def test_fleet_a_stream_on_one_replica_carries_another_replicas_collections():
    from test_fleet import fleet, start_fleet
    from test_redis import RedisServer, free_port
    redis = RedisServer(free_port())
    sim = start_sim("--seed", "7")
    gws = []
    try:
        gws = start_fleet(sim, "redis://127.0.0.1:%d" % redis.port, n=2)
        a, b = gws
        path = "/api/default/connectors/orders-src/metrics"
        # B collects (lease won); a multi stream opened on A starts with B's document
        assert http("GET", b.url() + path).status == 200
        assert fleet(b)["leaseWins"] == 1 and fleet(a)["leaseWins"] == 0
        b_doc = json.loads(http("GET", b.url() + path).body)
        s = open_stream(a, q(("connector", "default/orders-src"), ("summary", "default")))
        text = read_for(s, 4.5)
        s.close()
        evs = [e for e in events(text) if item_of(e) == ("default", "orders-src")]
        assert evs and evs[0]["doc"]["doc"] == b_doc, evs[:1]
        # fleet event ids (the collection's wall-clock milliseconds), the same on each replica
        assert evs[0]["ids"][0] > 10 ** 12
        ids = [e["ids"][0] for e in evs]
        assert ids == sorted(ids) and len(set(ids)) == len(ids) and len(ids) >= 3
        # one collection per TTL for the fleet, wherever it happened
        wins = fleet(a)["leaseWins"] + fleet(b)["leaseWins"]
        assert wins >= 4
        # B's cached document of a later id is the one A's stream carried under that id
        later = json.loads(http("GET", b.url() + path).body)
        by_seq = {e["ids"][0]: e["doc"]["doc"] for e in evs}
        assert later in by_seq.values() or later["lastUpdated"] > evs[-1]["doc"]["doc"]["lastUpdated"]
    finally:
        for g in gws:
            g.assert_clean_exit()
        sim.assert_clean_exit()
        redis.stop()


def test_big_summary_reaches_every_subscriber_whole():
    """A summary over 64 KiB goes to each subscriber by reference to the one cached document
    (not a copy per subscriber): every subscriber gets it whole, equal to what GET serves
    (under ASan: the reference lives until its bytes are written)."""
    sim = start_sim("--connectors", "400")
    gw = start_gateway(sim, env={"METRICS_CACHE_TTL": "60s", "LOG_LEVEL": "warn"})
    streams = []
    try:
        status, direct = get_json(gw.url() + "/api/default/metrics", timeout=60)
        assert status == 200 and len(json.dumps(direct)) > 100_000
        for _ in range(3):
            streams.append(open_stream(gw, q(("summary", "default"))))
        for s in streams:
            text = read_for(s, 20, until=lambda t: "\n\n" in t.split("event: metrics", 1)[-1])
            got = [e for e in events(text) if e["event"] == "metrics"]
            assert got, text[:300]
            assert got[0]["doc"]["doc"] == direct
    finally:
        for s in streams:
            s.close()
        gw.stop()
        sim.stop()
