"""What the real stack says itself: Connect's status and direct Jolokia reads of the beans the
gateway reads, per task and per worker — the truth test_real_*.py compare the gateway with."""
import json
import os
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from conftest import realstack, start_real_gateway  # noqa: E402
from kctest import enc, http  # noqa: E402

TTL_S = 2.0
# FileStreamSource waits up to 1 s when its file has nothing new, records then sit in the
# producer and the sink's consumer; what a document may lag behind a counter read after it.
SLACK_S = TTL_S + 3.0

SOURCES = ("files", "files-2", "cdc:orders,eu")
SINKS = ("files-sink", "broken-sink", "errors-sink")


def feed_rate(name):
    """Records per second the connector takes in (sinks: what their topics receive)."""
    if name in realstack.FEED_RATES:
        return realstack.FEED_RATES[name]
    return {"files-sink": realstack.FEED_RATES["files"] + realstack.FEED_RATES["files-2"],
            "errors-sink": realstack.FEED_RATES["files-2"], "broken-sink": 0}[name]


def parse_objectname(name):
    """'domain:k=v,k="quoted,v"' → (domain, {k: v}) with JMX quoting undone."""
    domain, _, rest = name.partition(":")
    keys, i = {}, 0
    while i < len(rest):
        eq = rest.index("=", i)
        key = rest[i:eq]
        i = eq + 1
        if i < len(rest) and rest[i] == '"':
            i += 1
            val = []
            while rest[i] != '"':
                if rest[i] == "\\":
                    i += 1
                    val.append({"n": "\n"}.get(rest[i], rest[i]))
                else:
                    val.append(rest[i])
                i += 1
            i += 1
            value = "".join(val)
        else:
            end = rest.find(",", i)
            end = len(rest) if end < 0 else end
            value = rest[i:end]
            i = end
        keys[key] = value
        if i < len(rest) and rest[i] == ",":
            i += 1
    return domain, keys


def jolokia_bulk(st, worker, requests, timeout=10.0):
    """One bulk POST to worker's agent; the list of answers (each {status, value})."""
    code, body = realstack.http_json("POST", st.jolokia_urls[worker], requests, timeout=timeout)
    assert code == 200 and isinstance(body, list), (code, body)
    return body


def worker_index(st, worker_id):
    return realstack.WORKER_HOSTS.index(worker_id.rsplit(":", 1)[0])


def connect_status(st, name, url=None):
    code, body = realstack.http_json("GET", (url or st.connect_url) + "/connectors/%s/status"
                                     % enc(name))
    return code, body


def num(v):
    return v if isinstance(v, (int, float)) else None


def read_truth(st, workers=(0, 1)):
    """Direct reads of every connector's task beans and the JVMs of `workers`:
    {"tasks": {(connector, task): {...}}, "jvm": {worker: {...}}}."""
    reqs = [
        {"type": "read", "mbean": "kafka.connect:type=source-task-metrics,connector=*,task=*",
         "attribute": ["source-record-write-total", "source-record-poll-total"]},
        {"type": "read", "mbean": "kafka.connect:type=sink-task-metrics,connector=*,task=*",
         "attribute": ["sink-record-send-total", "sink-record-read-total"]},
        {"type": "read", "mbean": "kafka.connect:type=task-error-metrics,connector=*,task=*",
         "attribute": ["total-record-errors"]},
        {"type": "read", "mbean": "kafka.producer:type=producer-topic-metrics,client-id=*,topic=*",
         "attribute": ["byte-total"]},
        {"type": "read", "mbean": "kafka.consumer:type=consumer-fetch-manager-metrics,client-id=*",
         "attribute": ["bytes-consumed-total"]},
        {"type": "read", "mbean": "java.lang:type=Memory", "attribute": "HeapMemoryUsage"},
        {"type": "read", "mbean": "java.lang:type=Threading", "attribute": "ThreadCount"},
        # Apart, as the gateway reads it: records-lag-max is NaN until a consumer has fetched,
        # and a 2.0–2.4 agent then fails the element with NumberFormatException (jolokia#934).
        {"type": "read", "mbean": "kafka.consumer:type=consumer-fetch-manager-metrics,client-id=*",
         "attribute": ["records-lag-max"]},
    ]
    tasks, jvm = {}, {}
    for w in workers:
        ans = jolokia_bulk(st, w, reqs)
        for el in ans[:5]:
            if el.get("status") == 404:
                continue
            assert el.get("status") == 200, el
            for bean, attrs in el["value"].items():
                domain, keys = parse_objectname(bean)
                if domain == "kafka.connect":
                    t = tasks.setdefault((keys["connector"], int(keys["task"])), {"worker": w})
                    for k, v in attrs.items():
                        t[k] = num(v)
                    continue
                cid = keys.get("client-id", "")
                for prefix in ("connector-producer-", "connector-consumer-"):
                    if cid.startswith(prefix):
                        conn, _, task = cid[len(prefix):].rpartition("-")
                        t = tasks.setdefault((conn, int(task)), {"worker": w})
                        if domain == "kafka.producer":
                            t["bytes"] = t.get("bytes", 0) + (num(attrs["byte-total"]) or 0)
                        else:
                            t["bytes"] = num(attrs["bytes-consumed-total"])
        lag = ans[7]
        if lag.get("status") == 200:
            for bean, attrs in lag["value"].items():
                cid = parse_objectname(bean)[1].get("client-id", "")
                if cid.startswith("connector-consumer-"):
                    conn, _, task = cid[len("connector-consumer-"):].rpartition("-")
                    tasks.setdefault((conn, int(task)), {"worker": w})["lag"] = num(
                        attrs["records-lag-max"])
        else:
            assert lag.get("error_type") == "java.lang.NumberFormatException", lag
        heap = ans[5]["value"]
        jvm[w] = {"heap_used": heap["used"], "heap_max": heap["max"], "threads": ans[6]["value"]}
    return {"tasks": tasks, "jvm": jvm}


def task_truth(truth, name, task):
    t = truth["tasks"].get((name, task), {})
    sink = name in SINKS
    return {
        "records": t.get("sink-record-send-total" if sink else "source-record-write-total"),
        "taken": t.get("sink-record-read-total" if sink else "source-record-poll-total"),
        "errors": t.get("total-record-errors"),
        "bytes": t.get("bytes"),
        "lag": t.get("lag"),
        "worker": t.get("worker"),
    }


def metrics_url(gw, name):
    return "%s/api/default/connectors/%s/metrics" % (gw.url(), enc(name))


def get_doc(gw, name):
    r = http("GET", metrics_url(gw, name), timeout=30)
    assert r.status < 500, (r.status, r.body)
    return r.status, (json.loads(r.body) if r.body else None)


def next_doc(gw, name, after, timeout=30.0):
    """The first 200 document whose lastUpdated differs from `after` (a document)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        code, doc = get_doc(gw, name)
        if code == 200 and doc["lastUpdated"] != (after or {}).get("lastUpdated"):
            return doc
        time.sleep(0.2)
    raise AssertionError("no new document for %s within %.0fs" % (name, timeout))


def start_stack(version):
    """A RealStack, or one clear failing line (Maven unreachable, a JVM that would not start)."""
    st = realstack.RealStack(jolokia=version)
    try:
        st.start()
    except realstack.StackError as e:
        pytest.fail(str(e), pytrace=False)
    return st


def gateway_for(st, **env):
    base = {"METRICS_CACHE_TTL": "%gs" % TTL_S}
    base.update(env)
    return start_real_gateway(st, env=base)

