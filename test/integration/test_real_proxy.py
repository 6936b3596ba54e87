"""Every proxied Kafka Connect route against a real worker (test/real/stack.py: Apache Kafka
Connect 4.x, two distributed workers): status and body as Connect gives them, secrets masked in
every answer, masked values kept on the way back, read-only refusals that never reach Connect.

Where it is safe (reads, and writes Connect refuses) the gateway's answer is compared with the
same request sent to Connect directly; writes are verified by reading Connect directly.
"""
import os
import re

import pytest

from conftest import realstack, start_real_gateway
from kctest import enc, http, wait_until

MASK = "********"
SECRET = "real-secret-42"  # files-sink's sink.password in the real stack; used for ours too
SINK = "org.apache.kafka.connect.file.FileStreamSinkConnector"
SOURCE = "org.apache.kafka.connect.file.FileStreamSourceConnector"
STRING = "org.apache.kafka.connect.storage.StringConverter"
DEADLINE = 60.0  # a real worker on a loaded 2-core machine: rebalances, task starts
TIMEOUT = 45.0   # one HTTP call


class Env:
    def __init__(self, st, gw):
        self.st = st
        self.gw = gw
        self.api = gw.url() + "/api/default"
        self.connect = st.connect_url

    # -- the two ways in --

    def call(self, method, path, body=None, headers=None):
        """Through the gateway; every answer is checked for the secret."""
        r = http(method, self.api + path, body=body, headers=headers, timeout=TIMEOUT)
        assert SECRET.encode() not in r.body, (method, path, r.body[:400])
        for v in r.headers.values():
            assert SECRET not in v, (method, path, v)
        return r

    def direct(self, method, path, body=None, url=None):
        """Straight to Connect (worker 0 unless url says otherwise)."""
        return http(method, (url or self.connect) + path, body=body, timeout=TIMEOUT)

    def write(self, method, path, body=None, direct=False):
        """A write; retried while Connect answers that a rebalance is on (see transient),
        which a real cluster does right after connectors change."""
        last = []

        def attempt():
            r = (self.direct if direct else self.call)(method, path, body)
            last[:] = [r.status, r.body[:300]]
            return None if transient(r) else r
        return wait_until(attempt, timeout=DEADLINE, interval=0.5,
                          what="%s %s without a rebalance 409 (last %r)" % (method, path, last))

    def both(self, method, path, body=None, direct_first=False):
        """(gateway's answer, Connect's) to one request, retried while either meets a
        rebalance (see transient). Only for requests that change nothing or that Connect
        refuses."""
        def once():
            if direct_first:
                d, g = self.direct(method, path, body), self.call(method, path, body)
            else:
                g, d = self.call(method, path, body), self.direct(method, path, body)
            return None if transient(g) or transient(d) else (g, d)
        return wait_until(once, timeout=DEADLINE, interval=0.25,
                          what="%s %s answered outside a rebalance" % (method, path))

    def same(self, method, path, body=None, want=None):
        """Gateway and Connect answer the same request alike: status, and body with the
        secret masked. Only for requests that change nothing."""
        g, d = self.both(method, path, body)
        assert g.status == d.status, (method, path, g.status, d.status, g.body, d.body)
        if want is not None:
            assert g.status == want, (method, path, g.status, g.body)
        if d.body:
            assert g.json() == masked(d.json()), (method, path, g.body, d.body)
        else:
            assert g.body == b""
        return g

    # -- Connect's state, read directly --

    def status(self, name):
        r = self.direct("GET", "/connectors/%s/status" % enc(name))
        return r.json() if r.status == 200 else None

    def wait_state(self, name, connector, tasks=None, ntasks=None):
        def ok():
            s = self.status(name)
            if not s or s["connector"]["state"] != connector:
                return None
            if ntasks is not None and len(s["tasks"]) != ntasks:
                return None
            if tasks is not None and (not s["tasks"] or
                                      any(t["state"] != tasks for t in s["tasks"])):
                return None
            return s
        return wait_until(ok, timeout=DEADLINE, interval=0.25,
                          what="%s %s (tasks %s) in Connect" % (name, connector, tasks))

    def real_config(self, name):
        """The connector's config as Connect has it (read past a rebalance, see transient)."""
        def read():
            r = self.direct("GET", "/connectors/%s/config" % enc(name))
            return None if transient(r) else r
        r = wait_until(read, timeout=DEADLINE, interval=0.25, what="config of %s" % name)
        assert r.status == 200, r.body
        return r.json()

    def upstream_calls(self):
        """The gateway's own count of requests it sent to Connect (all outcomes)."""
        text = http("GET", self.gw.url() + "/metrics").body.decode()
        return sum(float(v) for v in re.findall(
            r'^kconnect_upstream_requests_total\{upstream="connect"[^}]*\} (\S+)$', text, re.M))


def transient(r):
    """Connect's answers while its group rebalances, gone a moment later: 409 for a rebalance
    or a stale config (not "already exists"), and 500 "Request cannot be completed because a
    rebalance is expected" (seen on a real 4.1.1 worker for a config read after a PATCH)."""
    if r.status == 409:
        return b"already exists" not in r.body
    return r.status == 500 and b"rebalance is expected" in r.body


def masked(doc):
    """Connect's answer as the gateway must give it: the secret replaced by the mask."""
    if isinstance(doc, dict):
        return {k: (MASK if v == SECRET else masked(v)) for k, v in doc.items()}
    if isinstance(doc, list):
        return [masked(v) for v in doc]
    return doc


def version_tuple(v):
    return tuple(int(x) for x in re.findall(r"\d+", v)[:2])


@pytest.fixture(scope="module")
def env():
    st = realstack.RealStack(jolokia=2)
    try:
        st.start()
    except realstack.StackError as e:
        pytest.fail(str(e), pytrace=False)
    gw = None
    try:
        # No Jolokia and a long TTL: this file tests the proxy, and the gateway's own upstream
        # counter must move only for the requests the tests send.
        gw = start_real_gateway(st, env={"JOLOKIA_URL": None, "METRICS_CACHE_TTL": "3600s",
                                         "KC_REQUEST_TIMEOUT_MS": "40000"})
        yield Env(st, gw)
    finally:
        try:
            if gw:
                gw.assert_clean_exit()
        finally:
            st.stop()


def sink_config(e, name, **extra):
    cfg = {"connector.class": SINK, "tasks.max": "1", "topics": "files",
           "file": os.path.join(e.st.run_dir, "out-%s.txt" % realstack.safe_file(name)),
           "key.converter": STRING, "value.converter": STRING, "db.password": SECRET}
    cfg.update(extra)
    return cfg


def source_config(e, name, topic):
    path = os.path.join(e.st.run_dir, "in-%s.txt" % realstack.safe_file(name))
    with open(path, "w") as f:
        f.writelines("line %d\n" % i for i in range(50))
    return {"connector.class": SOURCE, "tasks.max": "1", "topic": topic, "file": path,
            "key.converter": STRING, "value.converter": STRING, "source.password": SECRET}


# ---- reads ----

def test_root_list_and_reads_match_connect(env):
    root = env.same("GET", "", want=200)
    assert version_tuple(root.json()["version"]) >= (4, 0), root.json()
    env.same("GET", "/connectors", want=200)
    for name in ("files", "files-sink", "broken-sink", "cdc:orders,eu"):
        n = enc(name)
        env.same("GET", "/connectors/%s" % n, want=200)
        env.same("GET", "/connectors/%s/config" % n, want=200)
        env.same("GET", "/connectors/%s/tasks" % n, want=200)
        env.same("GET", "/connectors/%s/topics" % n, want=200)
    # tasks-config was removed in Kafka 4.0: Connect's 404 passes through (masked if served)
    env.same("GET", "/connectors/files-sink/tasks-config")
    # files-sink's secret is masked in its info, config and every task's config
    info = env.call("GET", "/connectors/files-sink").json()
    assert info["config"]["sink.password"] == MASK
    assert info["config"]["topics"] == "files,files-2"
    tasks = env.call("GET", "/connectors/files-sink/tasks").json()
    assert len(tasks) == 2 and all(t["config"]["sink.password"] == MASK for t in tasks)
    assert env.real_config("files-sink")["sink.password"] == SECRET
    # a name with ':' and ',' is one encoded segment both ways
    s = env.call("GET", "/connectors/%s/status" % enc("cdc:orders,eu"))
    assert s.status == 200 and s.json()["name"] == "cdc:orders,eu"
    assert s.json()["connector"]["worker_id"] in env.st.worker_ids
    t = env.call("GET", "/connectors/%s/tasks/0/status" % enc("cdc:orders,eu"))
    assert t.status == 200 and t.json()["id"] == 0
    # broken-sink's task is FAILED with Connect's real trace
    bs = env.status("broken-sink")
    g = env.call("GET", "/connectors/broken-sink/status").json()
    assert g["tasks"][0]["state"] == bs["tasks"][0]["state"] == "FAILED"
    assert "FileStreamSinkTask" in g["tasks"][0]["trace"]


def test_expand_list_is_one_upstream_call_and_masked(env):
    # scrapes of /metrics build the summary once (TTL 1 h); then the count is steady
    wait_until(lambda: env.upstream_calls() == env.upstream_calls(), timeout=DEADLINE,
               what="a steady upstream count")
    before = env.upstream_calls()
    r = env.call("GET", "/connectors?expand=status&expand=info")
    assert env.upstream_calls() == before + 1
    assert r.status == 200
    doc = r.json()
    for name in realstack.connector_configs(env.st.run_dir):
        assert set(doc[name]) == {"status", "info"}, name
        assert doc[name]["info"]["name"] == name
        assert doc[name]["status"]["connector"]["state"] == "RUNNING"
    assert doc["files-sink"]["info"]["config"]["sink.password"] == MASK
    d = env.direct("GET", "/connectors?expand=info").json()
    assert d["files-sink"]["info"]["config"]["sink.password"] == SECRET
    # the info half is exactly Connect's, masked (status moves: states, traces)
    g = env.call("GET", "/connectors?expand=info")
    assert g.json() == masked(d)


def test_plugins_and_definitions_match_connect(env):
    plugins = env.same("GET", "/connector-plugins", want=200).json()
    assert {p["class"] for p in plugins} >= {SINK, SOURCE}
    every = env.same("GET", "/connector-plugins?connectorsOnly=false", want=200).json()
    assert len(every) > len(plugins)  # converters, transforms, predicates too
    for p in ("FileStreamSink", SOURCE):
        defs = env.same("GET", "/connector-plugins/%s/config" % enc(p), want=200).json()
        assert "file" in {d["name"] for d in defs}
    version = plugins[0]["version"]
    env.same("GET", "/connector-plugins/FileStreamSink/config?version=%s" % version, want=200)
    # the version query reaches Connect: an unknown one is Connect's own refusal
    bad = env.same("GET", "/connector-plugins/FileStreamSink/config?version=99.0.0")
    assert bad.status >= 400 and bad.json()["error_code"] == bad.status
    env.same("GET", "/connector-plugins/NoSuchPlugin/config")


# ---- errors ----

def test_unknown_connector_is_connects_404(env):
    for path in ("/connectors/nope-h3", "/connectors/nope-h3/status", "/connectors/nope-h3/config",
                 "/connectors/nope-h3/tasks", "/connectors/nope-h3/offsets",
                 "/connectors/nope-h3/tasks/0/status"):
        r = env.same("GET", path, want=404)
        assert r.json()["error_code"] == 404 and r.json()["message"], path
    # Connect's own quirk: the topics of an unknown connector are an empty list, not a 404
    assert env.same("GET", "/connectors/nope-h3/topics", want=200).json() == {
        "nope-h3": {"topics": []}}
    # writes Connect refuses change nothing: compare them too
    r = env.same("PUT", "/connectors/nope-h3/pause", want=404)
    assert "nope-h3" in r.json()["message"]
    env.same("POST", "/connectors/nope-h3/restart", want=404)
    env.same("POST", "/connectors/nope-h3/tasks/0/restart", want=404)
    env.same("DELETE", "/connectors/nope-h3", want=404)


def test_gateway_errors_on_a_real_worker(env):
    r = env.call("POST", "/connectors", body="{not json",
                 headers={"Content-Type": "application/json"})
    assert r.status == 400 and r.json()["error"] == "bad_json"
    r = env.call("PUT", "/connectors/files/config", body="[1,",
                 headers={"Content-Type": "application/json"})
    assert r.status == 400 and r.json()["error"] == "bad_json"
    # '/' in a name goes up as %2F, which Jetty 12 refuses itself with an HTML page: the
    # gateway keeps Connect's 400 (it used to answer 502, blaming Connect)
    d = env.direct("GET", "/connectors/" + enc("a/b"))
    g = env.call("GET", "/connectors/" + enc("a/b"))
    assert g.status == d.status == 400, (g.status, d.status)
    assert g.json()["error"] == "connect_rejected"
    # valid JSON Connect itself refuses: its status and body
    body = {"name": "h3-bad-class", "config": {"connector.class": "NoSuchConnector"}}
    g, d = env.both("POST", "/connectors", body, direct_first=True)
    assert g.status == d.status and d.status >= 400, (g.status, d.status)
    assert g.json()["error_code"] == d.json()["error_code"]
    assert env.status("h3-bad-class") is None
    # Connect quotes refused values in its messages; a secret-named key's value is masked in
    # them (here a transform alias with "token" in it makes transforms.<alias>.type secret)
    weird = "h3.hidden.NoSuchTransform"
    cfg = sink_config(env, "h3-quote", transforms="mytoken", **{"transforms.mytoken.type": weird})
    g, d = env.both("POST", "/connectors", {"name": "h3-quote", "config": cfg}, direct_first=True)
    assert g.status == d.status == 400, (g.status, d.body)
    assert weird.encode() in d.body and weird.encode() not in g.body, (d.body, g.body)
    assert g.json()["message"] == d.json()["message"].replace(weird, MASK)
    for path in ("/connector-plugins/FileStreamSink/config/validate",):
        v = env.call("PUT", path, dict(cfg, name="h3-quote"))
        assert v.status == 200 and weird.encode() not in v.body, v.body
        assert v.json()["error_count"] > 0
    assert env.status("h3-quote") is None


# ---- create, validate, config ----

def test_create_location_duplicate_and_names_with_a_space(env):
    name = "h3 sink"
    r = env.write("POST", "/connectors", {"name": name, "config": sink_config(env, name)})
    assert r.status == 201, r.body
    assert r.header("Location") == "/api/default/connectors/h3%20sink"
    info = r.json()
    assert info["name"] == name and info["type"] == "sink"
    assert info["config"]["db.password"] == MASK
    assert env.real_config(name)["db.password"] == SECRET
    env.wait_state(name, "RUNNING", "RUNNING", ntasks=1)
    # the Location leads to the connector through the gateway
    loc = http("GET", env.gw.url() + r.header("Location"), timeout=TIMEOUT)
    assert loc.status == 200 and loc.json()["name"] == name
    env.same("GET", "/connectors/%s" % enc(name), want=200)
    env.same("GET", "/connectors/%s/config" % enc(name), want=200)
    # a second create is Connect's 409, as Connect says it
    dup = {"name": name, "config": sink_config(env, name)}
    g, d = env.both("POST", "/connectors", dup)
    assert g.status == d.status == 409 and g.json() == d.json(), (g.body, d.body)
    assert "already exists" in g.json()["message"]
    # a mask sent for a connector that does not exist yet cannot be kept
    r = env.call("POST", "/connectors", {"name": "h3-new", "config": dict(
        sink_config(env, "h3-new"), **{"db.password": MASK})})
    assert r.status == 400 and r.json()["error"] == "masked_value"
    assert env.status("h3-new") is None
    # PUT config of a new name creates it: 201 with the gateway's Location
    r = env.write("PUT", "/connectors/h3-put/config", sink_config(env, "h3-put"))
    assert r.status == 201, r.body
    assert r.header("Location") == "/api/default/connectors/h3-put"
    assert r.json()["config"]["db.password"] == MASK
    env.wait_state("h3-put", "RUNNING", "RUNNING", ntasks=1)
    # DELETE: Connect's 204, and the connector is gone from Connect
    r = env.write("DELETE", "/connectors/h3-put")
    assert r.status == 204 and r.body == b""
    wait_until(lambda: env.direct("GET", "/connectors/h3-put").status == 404, timeout=DEADLINE,
               what="h3-put gone")


def test_validate_passes_per_field_errors_and_masks(env):
    bad = {"connector.class": SINK, "name": "h3-v", "tasks.max": "many",
           "errors.tolerance": "sometimes", "db.password": SECRET}
    path = "/connector-plugins/FileStreamSink/config/validate"
    g = env.same("PUT", path, bad, want=200).json()
    errors = {c["value"]["name"]: c["value"]["errors"] for c in g["configs"] if c["value"]["errors"]}
    # Connect counts error messages, not fields (tasks.max has two)
    assert g["error_count"] == sum(len(m) for m in errors.values()) > 0, g["error_count"]
    assert any("tasks.max" in m for m in errors["tasks.max"]), errors
    assert any("sometimes" in m for m in errors["errors.tolerance"]), errors
    assert "topics" in errors  # neither topics nor topics.regex
    good = dict(bad, **{"tasks.max": "1", "errors.tolerance": "all", "topics": "files"})
    ok = env.same("PUT", path, good, want=200).json()
    assert ok["error_count"] == 0
    # the masked round trip works for validate too: files-sink's real secret is read first
    cfg = env.call("GET", "/connectors/files-sink/config").json()
    assert cfg["sink.password"] == MASK
    v = env.call("PUT", path, cfg)
    assert v.status == 200 and v.json()["error_count"] == 0, v.body
    # a body Connect cannot take is Connect's answer
    env.same("PUT", path, {"name": "h3-v"})


def test_config_masked_round_trip_put_and_patch(env):
    name = "h3-cfg"
    r = env.write("POST", "/connectors", {"name": name, "config": sink_config(env, name)})
    assert r.status == 201, r.body
    env.wait_state(name, "RUNNING", "RUNNING", ntasks=1)
    n = enc(name)
    cfg = env.same("GET", "/connectors/%s/config" % n, want=200).json()
    assert cfg["db.password"] == MASK
    # PUT the masked config back with a change: Connect keeps the real secret
    cfg["tasks.max"] = "2"
    r = env.write("PUT", "/connectors/%s/config" % n, cfg)
    assert r.status == 200, r.body
    assert r.json()["config"]["db.password"] == MASK and r.json()["config"]["tasks.max"] == "2"
    real = env.real_config(name)
    assert real["db.password"] == SECRET and real["tasks.max"] == "2"
    env.wait_state(name, "RUNNING", "RUNNING", ntasks=2)
    # a new secret sent in clear replaces the old one, and comes back masked
    cfg["db.password"] = SECRET + "-b"
    r = env.write("PUT", "/connectors/%s/config" % n, cfg)
    assert r.status == 200 and r.json()["config"]["db.password"] == MASK, r.body
    assert env.real_config(name)["db.password"] == SECRET + "-b"
    cfg["db.password"] = SECRET
    assert env.write("PUT", "/connectors/%s/config" % n, cfg).status == 200
    # a mask for a key the connector does not have: refused by the gateway, Connect unchanged
    r = env.write("PUT", "/connectors/%s/config" % n, dict(cfg, **{"other.password": MASK}))
    assert r.status == 400 and r.json()["error"] == "masked_value"
    assert "other.password" not in env.real_config(name)
    # PATCH (Kafka >= 3.8): the mask is kept, a key added, then removed with null
    assert version_tuple(env.direct("GET", "/").json()["version"]) >= (3, 8)
    r = env.write("PATCH", "/connectors/%s/config" % n,
                  {"tasks.max": "1", "db.password": MASK, "h3.extra": "x"})
    assert r.status == 200, r.body
    assert r.json()["config"]["db.password"] == MASK and r.json()["config"]["h3.extra"] == "x"
    real = env.real_config(name)
    assert real["db.password"] == SECRET and real["tasks.max"] == "1" and real["h3.extra"] == "x"
    r = env.write("PATCH", "/connectors/%s/config" % n, {"h3.extra": None})
    assert r.status == 200 and "h3.extra" not in r.json()["config"], r.body
    assert "h3.extra" not in env.real_config(name)
    # PATCH of an unknown connector is Connect's 404
    env.same("PATCH", "/connectors/nope-h3/config", {"a": "b"}, want=404)
    assert SECRET in env.real_config(name).values()


# ---- lifecycle, restart, offsets, topics ----

def test_pause_resume_stop_offsets_and_topics(env):
    name = "h3-src"
    r = env.write("POST", "/connectors", {"name": name, "config": source_config(env, name, "h3-topic")})
    assert r.status == 201, r.body
    assert r.json()["config"]["source.password"] == MASK
    env.wait_state(name, "RUNNING", "RUNNING", ntasks=1)
    n = enc(name)
    # the source reads its 50 lines; its offset is committed (offset.flush.interval.ms 1 s)
    path = env.real_config(name)["file"]

    def committed():
        doc = env.direct("GET", "/connectors/%s/offsets" % n).json()
        return doc if doc.get("offsets") and doc["offsets"][0]["offset"]["position"] > 0 else None
    wait_until(committed, timeout=DEADLINE, interval=0.5, what="h3-src's committed offset")

    assert env.write("PUT", "/connectors/%s/pause" % n).status == 202
    env.wait_state(name, "PAUSED", "PAUSED")
    env.same("GET", "/connectors/%s/status" % n, want=200)
    assert env.write("PUT", "/connectors/%s/resume" % n).status == 202
    env.wait_state(name, "RUNNING", "RUNNING")
    # offsets can only change on a STOPPED connector: Connect's 400 passes through
    alter = {"offsets": [{"partition": {"filename": path}, "offset": {"position": 7}}]}
    g = env.call("PATCH", "/connectors/%s/offsets" % n, alter)
    assert g.status == 400 and "STOPPED" in g.json()["message"], g.body
    r = env.write("PUT", "/connectors/%s/stop" % n)
    assert r.status == 204 and r.body == b""
    env.wait_state(name, "STOPPED", ntasks=0)
    env.same("GET", "/connectors/%s/status" % n, want=200)
    # GET: the real shape, as Connect answers it
    off = env.same("GET", "/connectors/%s/offsets" % n, want=200).json()
    assert off == {"offsets": [{"partition": {"filename": path},
                                "offset": {"position": off["offsets"][0]["offset"]["position"]}}]}
    # PATCH lands in Connect
    r = env.write("PATCH", "/connectors/%s/offsets" % n, alter)
    assert r.status == 200 and "altered" in r.json()["message"], r.body
    wait_until(lambda: env.direct("GET", "/connectors/%s/offsets" % n).json() == alter,
               timeout=DEADLINE, what="the altered offset in Connect")
    env.same("GET", "/connectors/%s/offsets" % n, want=200)
    env.same("PATCH", "/connectors/%s/offsets" % n, {"offsets": []}, want=400)
    # topics: the active topic, then reset (the stopped connector cannot re-add it)
    topics = env.same("GET", "/connectors/%s/topics" % n, want=200).json()
    assert topics == {name: {"topics": ["h3-topic"]}}
    r = env.write("PUT", "/connectors/%s/topics/reset" % n)
    d_status = r.status
    assert d_status in (200, 202) and r.body == b"", (r.status, r.body)
    wait_until(lambda: env.direct("GET", "/connectors/%s/topics" % n).json()
               == {name: {"topics": []}}, timeout=DEADLINE, what="topics reset in Connect")
    env.same("GET", "/connectors/%s/topics" % n, want=200)
    # DELETE offsets: reset in Connect
    r = env.write("DELETE", "/connectors/%s/offsets" % n)
    assert r.status == 200 and "reset" in r.json()["message"], r.body
    wait_until(lambda: env.direct("GET", "/connectors/%s/offsets" % n).json() == {"offsets": []},
               timeout=DEADLINE, what="offsets reset in Connect")
    # resume from STOPPED: the source starts over from the beginning of its file
    assert env.write("PUT", "/connectors/%s/resume" % n).status == 202
    env.wait_state(name, "RUNNING", "RUNNING", ntasks=1)
    wait_until(committed, timeout=DEADLINE, interval=0.5, what="h3-src reading again")


def test_restart_variants_and_task_restart(env):
    # broken-sink: only its failed task restarts; Connect answers 202 with RESTARTING
    before = env.status("broken-sink")
    assert before["tasks"][0]["state"] == "FAILED"
    r = env.write("POST", "/connectors/broken-sink/restart?includeTasks=true&onlyFailed=true")
    assert r.status == 202, r.body
    body = r.json()
    assert body["name"] == "broken-sink" and body["type"] == "sink"
    assert body["connector"]["state"] == "RUNNING"  # not failed, so not restarted
    assert [t["state"] for t in body["tasks"]] == ["RESTARTING"]
    env.wait_state("broken-sink", "RUNNING", "FAILED", ntasks=1)  # it fails again, for real
    # a healthy connector with onlyFailed: nothing restarts, the answer says so
    r = env.write("POST", "/connectors/files/restart?includeTasks=true&onlyFailed=true")
    assert r.status == 202 and r.json()["connector"]["state"] == "RUNNING", r.body
    assert all(t["state"] == "RUNNING" for t in r.json()["tasks"])
    # the plain restart is Connect's 204
    r = env.write("POST", "/connectors/files/restart")
    assert r.status == 204 and r.body == b""
    env.wait_state("files", "RUNNING", "RUNNING", ntasks=1)

    # a sink that fails because its folder is missing; the folder appears; a task restart
    # really restarts it: FAILED -> RUNNING
    name = "h3-heal"
    folder = os.path.join(env.st.run_dir, "h3-heal-out")
    cfg = sink_config(env, name, file=os.path.join(folder, "out.txt"))
    assert env.write("POST", "/connectors", {"name": name, "config": cfg}).status == 201
    env.wait_state(name, "RUNNING", "FAILED", ntasks=1)
    os.makedirs(folder)
    r = env.write("POST", "/connectors/%s/tasks/0/restart" % name)
    assert r.status == 204 and r.body == b""
    env.wait_state(name, "RUNNING", "RUNNING", ntasks=1)
    # includeTasks without onlyFailed restarts connector and task
    r = env.write("POST", "/connectors/%s/restart?includeTasks=true&onlyFailed=false" % name)
    assert r.status == 202, r.body
    assert r.json()["connector"]["state"] == "RESTARTING"
    assert [t["state"] for t in r.json()["tasks"]] == ["RESTARTING"]
    env.wait_state(name, "RUNNING", "RUNNING", ntasks=1)
    assert env.write("DELETE", "/connectors/%s" % name).status == 204


# ---- loggers ----

def test_loggers(env):
    env.same("GET", "/admin/loggers", want=200)
    lg = "org.apache.kafka.connect.file"
    r = env.write("PUT", "/admin/loggers/%s" % lg, {"level": "DEBUG"})
    assert r.status == 200 and lg in r.json(), r.body
    one = env.same("GET", "/admin/loggers/%s" % lg, want=200).json()
    assert one["level"] == "DEBUG"
    assert env.direct("GET", "/admin/loggers").json()[lg]["level"] == "DEBUG"
    # ?scope=cluster reaches Connect: every worker takes the level
    r = env.write("PUT", "/admin/loggers/%s?scope=cluster" % lg, {"level": "INFO"})
    assert r.status == 204 and r.body == b""
    for url in env.st.connect_urls:
        # (a worker that never heard of the logger answers 404 until the level lands)
        wait_until(lambda: env.direct("GET", "/admin/loggers/%s" % lg, url=url).json().get("level")
                   == "INFO", timeout=DEADLINE, what="INFO on %s" % url)
    env.same("PUT", "/admin/loggers/%s" % lg, {"level": "LOUD"})


# ---- read-only ----

def test_read_only_refuses_and_nothing_reaches_connect(env):
    ro = start_real_gateway(env.st, env={"KC_READ_ONLY": "true", "JOLOKIA_URL": None,
                                         "METRICS_CACHE_TTL": "3600s"})
    try:
        api = ro.url() + "/api/default"
        e2 = Env(env.st, ro)
        wait_until(lambda: e2.upstream_calls() == e2.upstream_calls(), timeout=DEADLINE,
                   what="a steady upstream count")
        before = e2.upstream_calls()
        cfg = sink_config(env, "h3-ro")
        writes = [("POST", "/connectors", {"name": "h3-ro", "config": cfg}),
                  ("PUT", "/connectors/h3-ro/config", cfg),
                  ("PATCH", "/connectors/files-sink/config", {"tasks.max": "1"}),
                  ("PUT", "/connectors/files/pause", None), ("PUT", "/connectors/files/stop", None),
                  ("PUT", "/connectors/files/resume", None),
                  ("POST", "/connectors/broken-sink/restart?includeTasks=true", None),
                  ("POST", "/connectors/broken-sink/tasks/0/restart", None),
                  ("PUT", "/connectors/files/topics/reset", None),
                  ("PATCH", "/connectors/files/offsets", {"offsets": []}),
                  ("DELETE", "/connectors/files/offsets", None), ("DELETE", "/connectors/files", None),
                  ("PUT", "/admin/loggers/root", {"level": "TRACE"})]
        for method, path, body in writes:
            r = http(method, api + path, body=body, timeout=TIMEOUT)
            assert r.status == 403 and r.json()["error"] == "read_only", (method, path, r.body)
        assert e2.upstream_calls() == before
        assert env.status("h3-ro") is None
        assert env.status("files")["connector"]["state"] == "RUNNING"
        assert env.real_config("files-sink")["tasks.max"] == "2"
        assert env.direct("GET", "/admin/loggers/root").json()["level"] != "TRACE"
        # reads and validate still work, masked
        r = http("GET", api + "/connectors/files-sink/config", timeout=TIMEOUT)
        assert r.status == 200 and r.json()["sink.password"] == MASK
        r = http("PUT", api + "/connector-plugins/FileStreamSink/config/validate",
                 body=dict(cfg, name="h3-ro"), timeout=TIMEOUT)
        assert r.status == 200 and SECRET.encode() not in r.body
        assert r.json()["error_count"] == 0
        assert e2.upstream_calls() == before + 2
    finally:
        ro.assert_clean_exit()
