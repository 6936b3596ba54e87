"""Metrics truth against Apache Kafka Connect with the real Jolokia agents (2.4.2, 2.6.0 and
1.7.2): every document the gateway makes agrees with Connect's status and with direct reads of
the same beans taken right after it (test/real/stack.py; one stack per agent version, one at a
time)."""
import re
import time

import pytest

from kctest import http, wait_until
from realtruth import (SINKS, SLACK_S, SOURCES, TTL_S, connect_status, feed_rate, gateway_for,
                       get_doc, next_doc, read_truth, start_stack, task_truth, worker_index)

ALL = SOURCES + SINKS


# 2: the jolokia2 pin (2.4.2), "2.6": the jolokia2latest pin (2.6.0, 2.5+ behaviour), 1: 1.7.2.
@pytest.fixture(scope="module", params=[2, "2.6", 1], ids=["jolokia2", "jolokia2_6", "jolokia1"])
def real(request):
    st = start_stack(request.param)
    gw = None
    try:
        gw = gateway_for(st)
        # Every connector has moved data (the sinks: what their topics received) before the
        # comparisons start: a counter still at 0 would compare nothing.
        def moving():
            for name in ALL:
                code, doc = get_doc(gw, name)
                if code != 200:
                    return False
                if name != "broken-sink" and doc["throughput"]["totalRecords"] + \
                        doc["errors"]["totalErrors"] == 0:
                    return False
            return True
        wait_until(moving, timeout=90, interval=0.5, what="every connector moving records")
        yield st, gw
        gw.assert_clean_exit()
        gw = None
    finally:
        if gw is not None:
            gw.stop()
        st.stop()


def assert_counter(what, doc_value, real_value, rate):
    """A document's counter is not above the real one read after it, nor behind it by more
    than what the connector moves in a TTL plus the source's poll slack."""
    assert real_value is not None, "%s: no real counter" % what
    assert doc_value <= real_value, "%s: document %s above the real %s" % (what, doc_value,
                                                                         real_value)
    assert doc_value >= real_value - rate * SLACK_S - 2, \
        "%s: document %s behind the real %s by more than %.0f/s x %.0fs" % (
            what, doc_value, real_value, rate, SLACK_S)


@pytest.mark.parametrize("name", ALL)
def test_document_agrees_with_connect_and_jolokia(real, name):
    st, gw = real
    code, doc = get_doc(gw, name)
    truth = read_truth(st)
    code_s, status = connect_status(st, name)
    assert code == 200 and code_s == 200, (code, doc, code_s, status)
    assert doc["connectorName"] == name and doc["cluster"] == "default"
    assert doc["warnings"] == [], doc["warnings"]
    assert doc["type"] == status["type"] == ("sink" if name in SINKS else "source")
    assert doc["state"] == status["connector"]["state"] == "RUNNING"
    # Tasks: Connect's states and workers, numbers from the real beans.
    assert [t["taskId"] for t in doc["tasks"]] == sorted(t["id"] for t in status["tasks"])
    by_id = {t["id"]: t for t in status["tasks"]}
    rate = feed_rate(name)
    for t in doc["tasks"]:
        s = by_id[t["taskId"]]
        assert t["state"] == s["state"], (t, s)
        assert t["workerId"] == s["worker_id"], (t, s)
        real_t = task_truth(truth, name, t["taskId"])
        if s["state"] == "FAILED":
            # The FAILED task's client beans closed with it; Connect's beans stay.
            assert t["recordsProcessed"] == (real_t["records"] or 0) == 0
            assert t["errorCount"] == (real_t["errors"] or 0)
            continue
        assert real_t["worker"] == worker_index(st, s["worker_id"])
        what = "%s task %d" % (name, t["taskId"])
        assert_counter(what + " records", t["recordsProcessed"], real_t["records"], rate)
        assert_counter(what + " errors", t["errorCount"], real_t["errors"], rate)
        if real_t["bytes"] is not None:
            assert_counter(what + " bytes", t["bytesProcessed"], real_t["bytes"], rate * 200)
    tp = doc["throughput"]
    assert tp["totalRecords"] == sum(t["recordsProcessed"] for t in doc["tasks"])
    assert tp["totalBytes"] == sum(t["bytesProcessed"] for t in doc["tasks"])
    assert doc["errors"]["totalErrors"] == sum(t["errorCount"] for t in doc["tasks"])
    if name in ("broken-sink",):
        assert tp["totalRecords"] == tp["totalBytes"] == 0
        failed = [t for t in status["tasks"] if t["state"] == "FAILED"]
        assert failed and "nonexistent-kc-real" in failed[0]["trace"], failed
    elif name == "errors-sink":
        # Every record fails JSON conversion: counted as errors, never sent.
        assert tp["totalRecords"] == 0 and doc["errors"]["totalErrors"] > 0
        assert tp["totalBytes"] > 0  # the consumer did read them
        assert doc["errors"]["errorRate"] >= 99.0, doc["errors"]
    else:
        assert tp["totalRecords"] > 0 and tp["totalBytes"] > 0, tp
        assert doc["errors"]["totalErrors"] == 0 and doc["errors"]["errorRate"] == 0.0
    # Lag: null for sources; the sinks' records-lag-max (checked exactly below).
    if name in SINKS:
        assert isinstance(doc["lag"], dict) and "recordsLagMax" in doc["lag"]
    else:
        assert doc["lag"] is None
    check_resources(doc, truth, {worker_index(st, t["worker_id"]) for t in status["tasks"]})


def check_resources(doc, truth, workers):
    """Heap and threads of the workers that run the connector's tasks, against java.lang
    reads taken just after (heap use moves with every GC: bounds, not equality)."""
    rs = doc["resources"]
    heap_max = sum(truth["jvm"][w]["heap_max"] for w in workers) / 1048576.0
    assert abs(rs["memoryTotalMB"] - heap_max) < 1.0, (rs, heap_max)
    assert 1.0 < rs["memoryUsedMB"] <= rs["memoryTotalMB"], rs
    used = sum(truth["jvm"][w]["heap_used"] for w in workers) / 1048576.0
    assert used / 6 <= rs["memoryUsedMB"] <= used * 6, (rs, used)  # a GC apart at most
    threads = sum(truth["jvm"][w]["threads"] for w in workers)
    assert 0.7 * threads <= rs["threadCount"] <= 1.3 * threads + 5, (rs, threads)
    assert 0.0 <= rs["cpuPercent"] <= 100.0, rs


def real_records(truth, name):
    """A connector's records so far, summed over its tasks, as its real beans say."""
    return sum(task_truth(truth, n, t)["records"] or 0 for (n, t) in truth["tasks"] if n == name)


def measure_rates(st, gw, names, docs, windows=4):
    """`windows` new documents of each connector, and the real record counters around them."""
    m = {n: {"rates": [], "bytes": [], "recent": []} for n in names}
    before = read_truth(st)
    t0 = time.monotonic()
    for _ in range(windows):
        for n in names:
            docs[n] = doc = next_doc(gw, n, docs[n])
            assert doc["warnings"] == [], (n, doc["warnings"])
            m[n]["rates"].append(doc["throughput"]["recordsPerSecond"])
            m[n]["bytes"].append(doc["throughput"]["bytesPerSecond"])
            m[n]["recent"].append(doc["errors"]["recentErrorCount"])
    elapsed = time.monotonic() - t0
    after = read_truth(st)
    for n in names:
        m[n]["real_per_s"] = (real_records(after, n) - real_records(before, n)) / elapsed
        m[n]["elapsed"] = elapsed
    return m


def test_rates_follow_the_feed(real):
    """recordsPerSecond from the deltas of consecutive collections, a TTL apart, averages to
    the feed rate (FileStreamSource reads in bursts of up to a second: one window is rough).
    Every connector in one pass: their collections run side by side.

    A sink takes what Kafka delivers, and its consumer can pause for seconds (a group
    rebalance, met once in CI: files-sink at 4.7, 0, 0, 0 records/s). The gateway must show
    that pause as it is, so a sink below the feed in the first pass must have been below it in
    its real counters too; then a second pass must follow the feed."""
    st, gw = real
    names = ["files", "files-2", "cdc:orders,eu", "files-sink", "errors-sink"]
    docs = {n: next_doc(gw, n, None) for n in names}
    todo = names
    for attempt in range(2):
        m = measure_rates(st, gw, todo, docs)
        paused = []
        for n in todo:
            rates, byte_rates, recent = m[n]["rates"], m[n]["bytes"], m[n]["recent"]
            assert all(r >= 0 for r in rates + byte_rates), (n, rates, byte_rates)
            mean = sum(rates) / len(rates)
            want = feed_rate(n)
            if n == "errors-sink":
                # Nothing is ever sent; the errors come at the feed rate instead.
                assert mean == 0.0, rates
                per_s = sum(recent) / m[n]["elapsed"]
                assert 0.4 * want <= per_s <= 2.0 * want, (recent, m[n]["elapsed"])
                continue
            if n in SINKS and attempt == 0 and mean < 0.5 * want:
                real_per_s = m[n]["real_per_s"]
                assert real_per_s < 0.75 * want, \
                    "%s records/s %r while its real counter moved %.1f/s" % (n, rates, real_per_s)
                paused.append(n)
                continue
            assert 0.5 * want <= mean <= 1.6 * want, "%s records/s %r, feed %d/s" % (n, rates, want)
            assert sum(byte_rates) / len(byte_rates) >= 0.5 * want * 8, (n, byte_rates)
            assert recent == [0] * len(recent), (n, recent)
        if not paused:
            break
        todo = paused


@pytest.mark.parametrize("name", ["files-sink", "errors-sink"])
def test_sink_lag_is_the_consumer_records_lag_max(real, name):
    """lag.recordsLagMax is the max over the tasks of the consumer's records-lag-max."""
    st, gw = real

    def agree():
        code, doc = get_doc(gw, name)
        truth = read_truth(st)
        lags = [task_truth(truth, name, t["taskId"])["lag"] for t in doc["tasks"]]
        lags = [v for v in lags if v is not None]
        want = int(round(max(lags))) if lags else None
        return (doc["lag"]["recordsLagMax"] == want, doc["lag"], lags)
    # The bean is a windowed max that can move between the two reads: agree once.
    wait_until(lambda: agree()[0], timeout=30, interval=0.5,
               what="%s lag equal to the consumer's records-lag-max" % name)


def test_cluster_summary_agrees(real):
    st, gw = real
    r = http("GET", gw.url() + "/api/default/metrics", timeout=30)
    truth = read_truth(st)
    assert r.status == 200, r.body
    summary = r.json()
    assert summary["warnings"] == [], summary["warnings"]
    rows = {row["name"]: row for row in summary["connectors"]}
    assert set(ALL) <= set(rows), sorted(rows)
    for name in ALL:
        row = rows[name]
        code, status = connect_status(st, name)
        assert row["type"] == status["type"] and row["state"] == status["connector"]["state"]
        states = [t["state"] for t in status["tasks"]]
        assert row["tasks"]["total"] == len(states)
        assert row["tasks"]["failed"] == states.count("FAILED")
        assert row["tasks"]["running"] == states.count("RUNNING")
        assert row["health"] == ("degraded" if name == "broken-sink" else "running")
        by_id = {t["id"]: t for t in status["tasks"]}
        for tid, state, wid, records, nbytes, errors in row["taskList"]:
            assert state == by_id[tid]["state"] and wid == by_id[tid]["worker_id"]
            real_t = task_truth(truth, name, tid)
            if state != "FAILED":
                assert_counter("%s/%d records" % (name, tid), records, real_t["records"],
                               feed_rate(name))
                assert_counter("%s/%d errors" % (name, tid), errors, real_t["errors"],
                               feed_rate(name))
        assert row["totalRecords"] == sum(t[3] for t in row["taskList"])
        if name == "errors-sink":
            assert row["errorRate"] >= 99.0 and row["totalErrors"] > 0
        if name in SINKS:
            assert row["lag"] is None or isinstance(row["lag"], int)
        else:
            assert row["lag"] is None
    workers = {w["workerId"]: w for w in summary["workers"]}
    assert set(workers) == set(st.worker_ids), workers
    for w in workers.values():
        assert w["jolokia"]["reachable"] is True and w["heapUsedMB"] > 0 and w["threadCount"] > 0


def test_prometheus_shows_every_connector(real):
    st, gw = real
    # A fresh summary first, so the scrape needs no collection of its own.
    assert http("GET", gw.url() + "/api/default/metrics", timeout=30).status == 200
    r = http("GET", gw.url() + "/metrics", timeout=30)
    assert r.status == 200
    text = r.body.decode()
    assert 'kconnect_connect_up{cluster="default"} 1' in text
    for name in ALL:
        kind = "sink" if name in SINKS else "source"
        m = re.search(r'^kconnect_connector_records_total\{cluster="default",connector="%s",'
                      r'type="%s"\} (\S+)$' % (re.escape(name), kind), text, re.M)
        assert m, "%s missing from /metrics" % name
        if name in SOURCES or name == "files-sink":
            assert float(m.group(1)) > 0
    m = re.search(r'^kconnect_connector_error_ratio\{cluster="default",connector="errors-sink",'
                  r'type="sink"\} (\S+)$', text, re.M)
    assert m and float(m.group(1)) >= 0.99, m and m.group(0)
