"""connect-sim against WIRE.md: Connect REST, Jolokia (1.x and 2.x), control API, faults, scale.

Every test runs the real binary (conftest.start_sim / the `sim` fixture), compares answers with
the example payloads kept under test/fixtures/wire/, and stops the child clean (no sanitizer
report, exit 0).
"""
import json
import os
import socket
import threading
import time
import urllib.error
import urllib.parse

import pytest

import kctest
from conftest import start_sim

FIXTURES = os.path.join(kctest.SOURCE_DIR, "test", "fixtures", "wire")


def fixture(name):
    with open(os.path.join(FIXTURES, name), encoding="utf-8") as f:
        return json.load(f)


# ---- helpers ----

# Keys whose value may be null where the fixture shows a value (WIRE: "no default → null").
NULLABLE = ("default_value", "value", "last_modified")
# Keys holding free-form string maps (connector configs): only the value type is compared.
FREE_MAPS = ("config",)


def assert_shape(actual, expected, path="$", optional=()):
    """Same keys (except `optional` ones missing from either side) and the same JSON types,
    recursively; a Java double that was NaN (null) matches a float and vice versa."""
    ka, ke = kctest.json_kind(actual), kctest.json_kind(expected)
    last = path.rsplit(".", 1)[-1]
    if {ka, ke} <= {"float", "null"} or (ka == "null" and last in NULLABLE):
        return
    if last in FREE_MAPS and ka == ke == "dict":
        assert all(isinstance(v, str) for v in actual.values()), path
        return
    assert ka == ke, "%s: %s (%r) where the fixture has %s" % (path, ka, actual, ke)
    if ka == "dict":
        missing = set(expected) - set(actual) - set(optional)
        extra = set(actual) - set(expected) - set(optional)
        assert not missing and not extra, "%s: missing %s extra %s" % (path, missing, extra)
        for k in expected:
            if k in actual:
                assert_shape(actual[k], expected[k], "%s.%s" % (path, k), optional)
    elif ka == "list" and actual and expected:
        for i, item in enumerate(actual):
            assert_shape(item, expected[min(i, len(expected) - 1)], "%s[%d]" % (path, i), optional)


def enc(name):
    return urllib.parse.quote(name, safe="")


class Cluster:
    """URLs of one running simulator."""

    def __init__(self, proc):
        self.proc = proc
        self.connect = proc.url("connect")
        self.control = proc.url("control")
        _, self.jport = proc.listener("jolokia")

    def c(self, method, path, body=None, headers=None):
        return kctest.http(method, self.connect + path, body=body, headers=headers)

    def cj(self, path):
        r = self.c("GET", path)
        assert r.status == 200, (path, r.status, r.body)
        return r.json()

    def ctl(self, method, path, body=None):
        r = kctest.http(method, self.control + path, body=body)
        assert r.status == 200, (path, r.status, r.body)
        return r.json()

    def jurl(self, worker, query=""):
        # The endpoint is the folder "/jolokia/": the real 1.x agent answers 404 to a POST on
        # "/jolokia" (test/fixtures/real/jolokia-1.7.2/post_without_slash.json).
        return "http://127.0.0.%d:%d/jolokia/%s" % (worker + 1, self.jport, query.lstrip("/"))

    def jpost(self, worker, body, query="", headers=None):
        return kctest.http("POST", self.jurl(worker, query), body=body, headers=headers)

    def jread(self, worker, body, query=""):
        r = self.jpost(worker, body, query)
        assert r.status == 200, (r.status, r.body)
        return r.json()

    def status(self, name):
        """The status document, or None while Connect has none (404)."""
        r = self.c("GET", "/connectors/%s/status" % enc(name))
        assert r.status in (200, 404), (name, r.status, r.body)
        return r.json() if r.status == 200 else None

    def truth(self, name):
        return self.ctl("GET", "/truth/" + enc(name))

    def worker_of(self, name, task):
        wid = self.cj("/connectors/%s/status" % enc(name))["tasks"][task]["worker_id"]
        return int(wid.split(":")[0].split(".")[3]) - 1


@pytest.fixture
def cluster(sim):
    return Cluster(sim)


@pytest.fixture
def v1():
    p = start_sim("--jolokia-version", "1", "--seed", "3")
    yield Cluster(p)
    p.assert_clean_exit()


def bean_keys(name):
    """ObjectName key properties as a dict (values as written, quotes kept)."""
    domain, _, props = name.partition(":")
    out, cur, quoted, i = [], "", False, 0
    while i < len(props):
        ch = props[i]
        if quoted and ch == "\\":
            cur += props[i:i + 2]
            i += 2
            continue
        if ch == '"':
            quoted = not quoted
        if ch == "," and not quoted:
            out.append(cur)
            cur = ""
        else:
            cur += ch
        i += 1
    out.append(cur)
    return domain, [tuple(p.split("=", 1)) for p in out]


# ---- startup ----

def test_listening_lines_share_one_jolokia_port(sim):
    roles = {r: (h, p) for h, p, r in sim.listeners}
    assert roles["connect"][0] == "127.0.0.1" and roles["control"][0] == "127.0.0.1"
    agents = [(h, p) for h, p, r in sim.listeners if r.startswith("jolokia")]
    assert [h for h, _ in agents] == ["127.0.0.1", "127.0.0.2", "127.0.0.3"]
    assert len({p for _, p in agents}) == 1
    assert [r for _, _, r in sim.listeners][2:] == ["jolokia worker=%d" % i for i in range(3)]


def test_bad_command_line_is_refused():
    p = kctest.Proc([kctest.binary("connect-sim"), "--workers", "zero"], expect_fail=True)
    assert p.wait_exit(10) == 2
    assert "--workers" in p.stderr()
    assert p.sanitizer_report() is None


# ---- Connect REST: shapes ----

def test_root_and_health_shapes(cluster):
    assert_shape(cluster.cj("/"), fixture("connect_root.json"))
    assert cluster.cj("/")["version"] == "3.9.0"
    assert cluster.cj("/health") == fixture("connect_health.json")


def test_routes_follow_kafka_version():
    p = start_sim("--kafka-version", "3.7.0")
    try:
        c = Cluster(p)
        r = c.c("GET", "/health")
        assert r.status == 404 and r.json() == {"error_code": 404, "message": "HTTP 404 Not Found"}
        assert c.cj("/")["version"] == "3.7.0"
        assert c.c("PATCH", "/connectors/orders-src/config", body={}).status == 405
    finally:
        p.assert_clean_exit()


DEMO = ["orders-src", "orders-sink", "payments-jdbc", "orders-src-2", "my conn.v2", "eu:orders",
        'say "hi"*', "café-sink", "inventory-datagen"]


def test_list_and_expand(cluster):
    names = cluster.cj("/connectors")
    assert sorted(names) == sorted(DEMO)
    both = cluster.cj("/connectors?expand=status&expand=info")
    assert sorted(both) == sorted(names)
    for name, entry in both.items():
        assert set(entry) == {"status", "info"}
        assert_shape(entry["info"], fixture("connector_info.json"))
        assert entry["info"]["name"] == name and entry["status"]["name"] == name
    assert_shape(both["orders-sink"]["status"], fixture("connector_status.json"),
                 optional=("trace",))
    info_only = cluster.cj("/connectors?expand=info")
    assert all(set(v) == {"info"} for v in info_only.values())
    assert all(v == {} for v in cluster.cj("/connectors?expand=bogus").values())


def test_demo_configs_hold_secrets_and_real_classes(cluster):
    configs = {n: cluster.cj("/connectors/%s/config" % enc(n)) for n in DEMO}
    secret_keys = ("password", "sasl.jaas.config", "basic.auth.user.info", "secret.access.key")
    for name, cfg in configs.items():
        assert cfg["name"] == name
        assert {"connector.class", "tasks.max", "key.converter", "value.converter"} <= set(cfg)
        assert any(any(s in k for s in secret_keys) for k in cfg), name
        assert all(isinstance(v, str) for v in cfg.values())
    classes = {c["connector.class"] for c in configs.values()}
    assert "io.confluent.connect.s3.S3SinkConnector" in classes
    assert "io.debezium.connector.postgresql.PostgresConnector" in classes


def test_status_of_failed_task_keeps_connector_running(cluster):
    st = cluster.cj("/connectors/payments-jdbc/status")
    assert_shape(st, fixture("connector_status.json"), optional=("trace",))
    assert st["connector"]["state"] == "RUNNING" and "trace" not in st["connector"]
    assert st["tasks"][0]["state"] == "RUNNING" and "trace" not in st["tasks"][0]
    assert st["tasks"][1]["state"] == "FAILED"
    assert st["tasks"][1]["trace"].startswith("org.apache.kafka.connect.errors.ConnectException")
    t = cluster.cj("/connectors/payments-jdbc/tasks/0/status")
    assert_shape(t, fixture("task_status.json"))
    paused = cluster.cj("/connectors/inventory-datagen/status")
    assert paused["connector"]["state"] == "PAUSED"
    assert {t["state"] for t in paused["tasks"]} == {"PAUSED"}
    two = cluster.cj("/connectors/orders-src/status")["tasks"]
    assert two[0]["worker_id"] != two[1]["worker_id"]


def test_names_are_one_percent_decoded_segment(cluster):
    """Kafka 3.9 (Jetty 9): a name is one segment, percent-decoded once, %2F included (4.x:
    test_jetty12_refuses_ambiguous_escapes_in_the_path)."""
    for name in DEMO:
        assert cluster.cj("/connectors/%s" % enc(name))["name"] == name
    r = cluster.c("GET", "/connectors/eu%2Forders/status")
    assert r.status == 404
    assert r.json()["message"] == "No status found for connector eu/orders"


ERRORS = [
    # (method, path, body, content type, status, message prefix)
    ("GET", "/connectors/orders-x", None, None, 404, "Connector orders-x not found"),
    ("GET", "/connectors/orders-x/config", None, None, 404, "Connector orders-x not found"),
    ("GET", "/connectors/orders-x/tasks", None, None, 404, "Connector orders-x not found"),
    ("DELETE", "/connectors/orders-x", None, None, 404, "Connector orders-x not found"),
    ("GET", "/connectors/orders-x/status", None, None, 404,
     "No status found for connector orders-x"),
    ("GET", "/connectors/orders-src/tasks/7/status", None, None, 404,
     "No status found for task orders-src-7"),
    ("PUT", "/connectors/orders-x/pause", None, None, 404, "Unknown connector orders-x"),
    ("PUT", "/connectors/orders-x/resume", None, None, 404, "Unknown connector orders-x"),
    ("POST", "/connectors/orders-x/restart?includeTasks=true", None, None, 404,
     "Unknown connector: orders-x"),
    ("POST", "/connectors/orders-x/tasks/0/restart", None, None, 404,
     "Unknown connector: orders-x"),
    ("POST", "/connectors/orders-src/tasks/7/restart", None, None, 404,
     "Unknown task: orders-src-7"),
    ("GET", "/nope", None, None, 404, "HTTP 404 Not Found"),
    ("GET", "/connectors/orders-src/tasks/x/status", None, None, 404, "HTTP 404 Not Found"),
    ("DELETE", "/connectors", None, None, 405, "HTTP 405 Method Not Allowed"),
    ("POST", "/connectors/orders-src/pause", None, None, 405, "HTTP 405 Method Not Allowed"),
    ("POST", "/connectors", '{"name":"x","config":{}}', "text/plain", 415,
     "HTTP 415 Unsupported Media Type"),
    ("POST", "/connectors", '{"name":"orders-src","config":{"connector.class":'
     '"org.apache.kafka.connect.file.FileStreamSourceConnector","topic":"t"}}',
     "application/json", 409, "Connector orders-src already exists"),
    ("POST", "/connectors", '{"name":"x","config":{"tasks.max":"1"}}', "application/json", 400,
     "Connector config {"),
    ("POST", "/connectors", '{"name":"x","config":{"connector.class":'
     '"io.confluent.connect.jdbc.JdbcSourceConnector"}}', "application/json", 400,
     "Connector configuration is invalid and contains the following 2 error(s):\n"
     "Missing required configuration \"connection.url\" which has no default value.\n"),
    ("POST", "/connectors", '{"name":"x","config":{}', "application/json", 500,
     "Unexpected end-of-input"),
    ("POST", "/connectors", '{"name":"x",}', "application/json", 500,
     "Unexpected character ('}' (code 125))"),
    ("PUT", "/connectors/a/config", '{"name":"b","connector.class":'
     '"org.apache.kafka.connect.file.FileStreamSinkConnector","topics":"t"}', "application/json",
     400, "Connector name configuration (b) doesn't match connector name in the URL (a)"),
    ("PATCH", "/connectors/orders-src/offsets", '{"offsets":[]}', "application/json", 400,
     "Connectors must be in the STOPPED state before their offsets can be modified."),
    ("DELETE", "/connectors/orders-src/offsets", None, None, 400,
     "Connectors must be in the STOPPED state before their offsets can be modified."),
]


@pytest.mark.parametrize("method,path,body,ctype,status,message", ERRORS,
                         ids=["%s %s %d" % (e[0], e[1], e[4]) for e in ERRORS])
def test_connect_errors(cluster, method, path, body, ctype, status, message):
    r = cluster.c(method, path, body=body, headers={"Content-Type": ctype} if ctype else None)
    assert r.status == status, r.body
    assert r.header("Content-Type") == "application/json"
    doc = r.json()
    assert_shape(doc, fixture("connect_error.json"))
    assert doc["error_code"] == status
    assert doc["message"].startswith(message), doc["message"]


def test_create_update_delete(cluster):
    cfg = {"connector.class": "FileStreamSource", "tasks.max": "2", "topic": "new-topic",
           "file": "/tmp/in.txt"}
    r = cluster.c("POST", "/connectors", body={"name": " new src ", "config": cfg})
    assert r.status == 201, r.body
    assert r.header("Location").endswith("/connectors/new%20src")
    info = r.json()
    assert_shape(info, fixture("connector_info.json"))
    assert info["name"] == "new src" and info["tasks"] == [] and info["config"]["name"] == "new src"
    kctest.wait_until(lambda: len(cluster.cj("/connectors/new%20src")["tasks"]) == 2,
                      timeout=5, what="tasks of the new connector")
    kctest.wait_until(lambda: cluster.status("new src"), timeout=5, what="status of new src")
    st = cluster.cj("/connectors/new%20src/status")
    assert [t["state"] for t in st["tasks"]] == ["RUNNING", "RUNNING"]

    cfg["tasks.max"] = "1"
    r = cluster.c("PUT", "/connectors/new%20src/config", body=cfg)
    # The answer lists the previous generation's tasks (recorded on Kafka 4.1); the model has
    # the new ones at once.
    assert r.status == 200 and len(r.json()["tasks"]) == 2
    assert len(cluster.cj("/connectors/new%20src")["tasks"]) == 1
    r = cluster.c("PATCH", "/connectors/new%20src/config", body={"file": None, "batch.size": 10})
    assert r.status == 200, r.body
    assert "file" not in r.json()["config"] and r.json()["config"]["batch.size"] == "10"
    r = cluster.c("PUT", "/connectors/fresh/config",
                  body={"connector.class": "org.apache.kafka.connect.file.FileStreamSinkConnector",
                        "topics": "a"})
    assert r.status == 201 and r.json()["type"] == "sink"
    r = cluster.c("POST", "/connectors",
                  body={"name": "stopped", "initial_state": "STOPPED",
                        "config": {"connector.class": "DatagenConnector", "kafka.topic": "s"}})
    assert r.status == 201
    assert cluster.cj("/connectors/stopped/status")["connector"]["state"] == "STOPPED"
    assert cluster.c("DELETE", "/connectors/new%20src").status == 204
    assert cluster.c("GET", "/connectors/new%20src").status == 404
    assert "new src" not in cluster.cj("/connectors")


def test_tasks_topics_offsets_plugins_loggers(cluster):
    tasks = cluster.cj("/connectors/orders-sink/tasks")
    assert [t["id"] for t in tasks] == [{"connector": "orders-sink", "task": 0},
                                        {"connector": "orders-sink", "task": 1}]
    assert tasks[0]["config"]["task.class"] == "io.confluent.connect.s3.S3SinkTask"
    topics = cluster.cj("/connectors/orders-sink/topics")
    assert_shape(topics, fixture("connector_topics.json"))
    assert topics == {"orders-sink": {"topics": ["orders", "orders.eu"]}}
    assert cluster.c("PUT", "/connectors/orders-sink/topics/reset").status == 202
    assert cluster.cj("/connectors/orders-sink/topics") == {"orders-sink": {"topics": []}}
    offs = cluster.cj("/connectors/orders-sink/offsets")
    assert_shape(offs, fixture("connector_offsets_sink.json"))
    plugins = cluster.cj("/connector-plugins")
    assert_shape(plugins, fixture("connector_plugins.json"))
    assert {p["type"] for p in plugins} == {"source", "sink"}
    everything = cluster.cj("/connector-plugins?connectorsOnly=false")
    assert {"transformation", "converter", "predicate"} <= {p["type"] for p in everything}
    defs = cluster.cj("/connector-plugins/JdbcSourceConnector/config")
    assert_shape(defs[0], fixture("config_validate.json")["configs"][0]["definition"])
    assert cluster.c("GET", "/connector-plugins/NoSuch/config").status == 404
    loggers = cluster.cj("/admin/loggers")
    assert loggers["root"]["level"] == "INFO"
    assert set(loggers["root"]) == {"level", "last_modified"}


def test_logger_namespaces(sim):
    """Kafka 4.1's Loggers.setLevel: a namespace is a name prefix, root covers every logger,
    the answer lists the affected ones sorted; scope=cluster answers 204; levels are upper-cased."""
    c = Cluster(sim)
    r = c.c("PUT", "/admin/loggers/org.apache.kafka", body={"level": "debug"})
    assert r.status == 200
    assert r.json() == ["org.apache.kafka", "org.apache.kafka.clients", "org.apache.kafka.common"]
    one = c.cj("/admin/loggers/org.apache.kafka.common")
    assert one["level"] == "DEBUG" and isinstance(one["last_modified"], int)
    assert c.cj("/admin/loggers/root") == {"level": "INFO", "last_modified": None}
    r = c.c("PUT", "/admin/loggers/root?scope=cluster", body={"level": "WARN"})
    assert r.status == 204 and r.body == b""
    assert {v["level"] for v in c.cj("/admin/loggers").values()} == {"WARN"}
    r = c.c("PUT", "/admin/loggers/x", body={})
    assert r.status == 400 and "'level'" in r.json()["message"]
    assert c.c("GET", "/admin/loggers/x").status == 404


def test_task_failed_at_start_has_no_active_topics(sim):
    """A sink task that fails in start() never subscribed: no active topics (recorded on Kafka
    4.1); once a task runs they appear, and a reset clears them again."""
    c = Cluster(sim)
    cfg = {"connector.class": "FileStreamSinkConnector", "tasks.max": "1", "topics": "t1"}
    assert c.c("PUT", "/connectors/fs/config", body=cfg).status == 201
    kctest.wait_until(lambda: len(c.cj("/connectors/fs")["tasks"]) == 1, timeout=5, what="task")
    r = kctest.control(sim, "POST", "/tasks/fail", {"connector": "fs", "task": 0,
                                                    "at_start": True})
    assert r.status == 200 and r.json()["tasks"][0]["state"] == "FAILED"
    assert c.cj("/connectors/fs/topics") == {"fs": {"topics": []}}
    assert c.c("POST", "/connectors/fs/tasks/0/restart").status == 204
    assert c.cj("/connectors/fs/topics") == {"fs": {"topics": ["t1"]}}
    assert c.c("PUT", "/connectors/fs/stop").status == 204
    assert c.cj("/connectors/fs/topics") == {"fs": {"topics": ["t1"]}}
    assert c.c("PUT", "/connectors/fs/topics/reset").status == 202
    assert c.cj("/connectors/fs/topics") == {"fs": {"topics": []}}


def test_validate(cluster):
    r = cluster.c("PUT", "/connector-plugins/S3SinkConnector/config/validate",
                  body={"connector.class": "io.confluent.connect.s3.S3SinkConnector",
                        "name": "v", "aws.secret.access.key": "x"})
    assert r.status == 200
    doc = r.json()
    assert_shape(doc, fixture("config_validate.json"))
    errs = {c["value"]["name"]: c["value"]["errors"] for c in doc["configs"]}
    assert errs["topics"] == ["Must configure one of topics or topics.regex"]
    assert errs["s3.bucket.name"] == [
        'Missing required configuration "s3.bucket.name" which has no default value.']
    assert doc["error_count"] == sum(len(e) for e in errs.values()) == 5
    secret = [c for c in doc["configs"] if c["value"]["name"] == "aws.secret.access.key"][0]
    assert secret["value"]["value"] == "[hidden]"
    r = cluster.c("PUT", "/connector-plugins/S3SinkConnector/config/validate",
                  body={"connector.class": "io.confluent.connect.jdbc.JdbcSinkConnector"})
    assert r.status == 400 and "does not match request type" in r.json()["message"]


def test_validate_follows_connect_plugin_names():
    """Regressions against a real Kafka Connect 4.1.1 worker: the URL's plugin and the body's
    connector.class agree when their aliases do (ConnectorPluginsResource.normalizedPluginName,
    case-sensitive); without connector.class the herder's validation fails (500), the URL's
    plugin is not used."""
    p = start_sim("--kafka-version", "4.1.1")
    try:
        c = Cluster(p)
        fqcn = "org.apache.kafka.connect.file.FileStreamSourceConnector"
        for url, cls in [("FileStreamSource", fqcn), ("FileStreamSourceConnector", fqcn),
                         ("FileStreamSourceConnector", "FileStreamSource"),
                         (fqcn, fqcn)]:
            r = c.c("PUT", "/connector-plugins/%s/config/validate" % url,
                    body={"connector.class": cls, "name": "v", "topic": "t"})
            assert r.status == 200, (url, cls, r.body)
        for url, cls in [("FileStreamSink", fqcn), ("filestreamsource", fqcn)]:
            r = c.c("PUT", "/connector-plugins/%s/config/validate" % url,
                    body={"connector.class": cls})
            assert r.status == 400, (url, r.body)
            assert r.json()["message"] == ("Included connector type %s does not match request "
                                           "type %s" % (cls, url))
        r = c.c("PUT", "/connector-plugins/FileStreamSource/config/validate",
                body={"name": "v", "tasks.max": "1"})
        assert r.status == 500, r.body
        assert r.json()["message"] == (
            "org.apache.kafka.connect.runtime.rest.errors.BadRequestException: "
            "Connector config {name=v, tasks.max=1} contains no connector type")
    finally:
        p.assert_clean_exit()


def test_plugin_config_version_query():
    """Kafka 4.1 (KIP-891) reads ?version on the plugin config: the installed version (plain
    or as a range) is served, another is a 400; older workers ignore the parameter."""
    p = start_sim("--kafka-version", "4.1.1")
    try:
        c = Cluster(p)
        base = "/connector-plugins/FileStreamSink/config"
        for v in ("4.1.1", "latest", "[4.1.1]", "[4.0,5.0)", "[4.1,)"):
            r = c.c("GET", base + "?version=" + urllib.parse.quote(v, safe=""))
            assert r.status == 200, (v, r.body)
            assert "file" in {d["name"] for d in r.json()}
        # The texts recorded on a real 4.1.1 worker (a plain version is printed as [v,v]); the
        # real list of available versions repeats the version per loaded copy of the plugin.
        for v, rng in (("99.0.0", "[99.0.0,99.0.0]"), ("[1.0,2.0)", "[1.0,2.0)"),
                       ("(,4.1.1)", "(,4.1.1)"), ("x.y.z", "[x.y.z,x.y.z]")):
            r = c.c("GET", base + "?version=" + urllib.parse.quote(v, safe=""))
            assert r.status == 400, (v, r.body)
            assert r.json() == {"error_code": 400, "message":
                                "Plugin org.apache.kafka.connect.file.FileStreamSinkConnector not "
                                "found that matches the version range %s, available versions: "
                                "[4.1.1]" % rng}
    finally:
        p.assert_clean_exit()
    p = start_sim("--kafka-version", "3.9.0")
    try:
        r = Cluster(p).c("GET", "/connector-plugins/FileStreamSink/config?version=99.0.0")
        assert r.status == 200, r.body
    finally:
        p.assert_clean_exit()


def test_foreign_media_type_is_415_even_without_body(cluster):
    """Regression (real Kafka Connect 4.1.1): Jersey checks @Consumes(JSON) of the resource
    class whatever the body: a form Content-Type on a bodyless POST restart is a 415 (curl's
    default); no Content-Type and no body is accepted; RootResource consumes anything."""
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    for method, path in (("POST", "/connectors/orders-src/restart"),
                         ("POST", "/connectors/orders-src/tasks/0/restart"),
                         ("PUT", "/connectors/orders-src/pause"),
                         ("GET", "/connectors/orders-src/status")):
        r = cluster.c(method, path, headers=form)
        assert r.status == 415, (path, r.body)
        assert r.json() == {"error_code": 415, "message": "HTTP 415 Unsupported Media Type"}
    assert cluster.c("POST", "/connectors/orders-src/restart").status == 204
    assert cluster.c("POST", "/connectors/orders-src/restart",
                     headers={"Content-Type": "application/json"}).status == 204
    assert cluster.c("GET", "/", headers=form).status == 200


def test_jetty12_refuses_ambiguous_escapes_in_the_path():
    """Regression (real Kafka Connect 4.1.1, Jetty 12): %2F, %5C and %25 in a path are refused
    by Jetty itself with 400 and its HTML error page (URI shown as /badURI), Connection: close
    and no caching, before Connect sees them; a PUT gets no page. The request counts on no
    route. So a connector whose name holds '%' cannot be addressed on 4.x. Before 4.0 (Jetty 9)
    the name was decoded."""
    p = start_sim("--kafka-version", "4.1.1")
    try:
        c = Cluster(p)
        c.ctl("POST", "/counters/reset")
        for path, msg in (("/connectors/eu%2Forders/status", "Ambiguous URI path separator"),
                          ("/connectors/eu%2forders", "Ambiguous URI path separator"),
                          ("/connectors/a%5Cb/config", "Suspicious Path Character"),
                          ("/connectors/a%25b", "Ambiguous URI path encoding"),
                          ("/connectors/a%2541/status", "Ambiguous URI path encoding")):
            r = c.c("GET", path)
            assert r.status == 400, (path, r.body)
            assert r.header("Content-Type") == "text/html;charset=iso-8859-1"
            assert r.header("Connection") == "close"
            assert r.header("Cache-Control") == "must-revalidate,no-cache,no-store"
            assert ("<title>Error 400 %s</title>" % msg).encode() in r.body, r.body
            assert b"<tr><th>URI:</th><td>/badURI</td></tr>" in r.body
            assert b"Powered by Jetty:// 12.0.22" in r.body
        r = c.c("PUT", "/connectors/a%2Fb/config", body={"connector.class": "FileStreamSource"})
        assert (r.status, r.body) == (400, b""), r.body
        assert r.header("Connection") == "close"
        counts = c.ctl("GET", "/counters")["connect"]
        assert counts["total"] == 6 and not counts["routes"], counts
        assert c.c("GET", "/connectors/eu%3Aorders").status == 200
    finally:
        p.assert_clean_exit()
    p = start_sim("--kafka-version", "3.9.0")
    try:
        c = Cluster(p)
        cfg = {"connector.class": "FileStreamSource", "tasks.max": "1", "topic": "t"}
        assert c.c("PUT", "/connectors/a%25b/config", body=cfg).status == 201
        assert c.cj("/connectors/a%25b")["name"] == "a%b"
        r = c.c("GET", "/connectors/eu%2Forders")
        assert r.json()["message"] == "Connector eu/orders not found", r.body
    finally:
        p.assert_clean_exit()


def test_new_connector_has_no_status_for_a_moment():
    """Regression (real Kafka Connect 4.1.1): right after the 201 of a create, Connect has no
    status record yet (written once the connector started): the status is the 404 of an
    unknown connector and ?expand=status leaves the connector out; then it appears. A connector
    created STOPPED starts nothing and has its status at once (recorded)."""
    p = start_sim("--kafka-version", "4.1.1")
    try:
        c = Cluster(p)
        cfg = {"connector.class": "FileStreamSource", "tasks.max": "1", "topic": "t"}
        r = c.c("POST", "/connectors", body={"name": "fresh", "config": cfg})
        assert r.status == 201, r.body
        r = c.c("GET", "/connectors/fresh/status")
        assert r.status == 404 and r.json() == {
            "error_code": 404, "message": "No status found for connector fresh"}
        assert "fresh" not in c.cj("/connectors?expand=status")
        assert "fresh" in c.cj("/connectors?expand=info")
        assert c.c("GET", "/connectors/fresh").status == 200
        r = c.c("PUT", "/connectors/fresh2/config", body=cfg)
        assert r.status == 201 and c.status("fresh2") is None
        kctest.wait_until(lambda: c.status("fresh"), timeout=5, what="status of fresh")
        assert c.status("fresh")["connector"]["state"] == "RUNNING"
        assert "fresh" in c.cj("/connectors?expand=status")
        r = c.c("POST", "/connectors", body={"name": "cold", "config": cfg,
                                             "initial_state": "STOPPED"})
        assert r.status == 201
        assert c.status("cold")["connector"]["state"] == "STOPPED"
    finally:
        p.assert_clean_exit()


# ---- state changes and counters ----

def records(cluster, name):
    return [t["records_total"] for t in cluster.truth(name)["tasks"]]


def test_pause_freezes_and_resume_continues(cluster):
    assert cluster.c("PUT", "/connectors/orders-src/pause").status == 202
    st = cluster.cj("/connectors/orders-src/status")
    assert st["connector"]["state"] == "PAUSED"
    assert {t["state"] for t in st["tasks"]} == {"PAUSED"}
    first = records(cluster, "orders-src")
    time.sleep(0.3)  # the counters must stay still over a real interval
    assert records(cluster, "orders-src") == first
    w = cluster.worker_of("orders-src", 0)
    v = cluster.jread(w, {"type": "read", "mbean":
                          "kafka.connect:type=connector-task-metrics,connector=orders-src,task=0",
                          "attribute": ["status", "pause-ratio"]})["value"]
    assert v == {"status": "paused", "pause-ratio": 1.0}
    truth = cluster.truth("orders-src")["tasks"][0]
    assert truth["records_rate"] == 0.0 and truth["state"] == "PAUSED"
    assert cluster.c("PUT", "/connectors/orders-src/resume").status == 202
    assert cluster.cj("/connectors/orders-src/status")["connector"]["state"] == "RUNNING"
    kctest.wait_until(lambda: records(cluster, "orders-src")[0] > first[0], timeout=5,
                      what="counters moving again")


def test_restart_with_tasks_resets_counters(cluster):
    before = records(cluster, "orders-src")
    assert min(before) > 100000
    r = cluster.c("POST", "/connectors/orders-src/restart?includeTasks=true")
    assert r.status == 202
    body = r.json()
    assert body["connector"]["state"] == "RESTARTING"
    assert {t["state"] for t in body["tasks"]} == {"RESTARTING"}
    kctest.wait_until(lambda: {t["state"] for t in cluster.cj(
        "/connectors/orders-src/status")["tasks"]} == {"RUNNING"}, timeout=5, what="RUNNING")
    after = records(cluster, "orders-src")
    assert all(a < b for a, b in zip(after, before))
    assert cluster.cj("/connectors/orders-src/status")["connector"]["state"] == "RUNNING"
    # plain restart: connector only, 204
    assert cluster.c("POST", "/connectors/orders-src/restart").status == 204
    # onlyFailed restarts exactly the failed task
    r = cluster.c("POST", "/connectors/payments-jdbc/restart?includeTasks=true&onlyFailed=true")
    body = r.json()
    assert r.status == 202
    assert [t["state"] for t in body["tasks"]] == ["RUNNING", "RESTARTING"]
    assert body["connector"]["state"] == "RUNNING"
    kctest.wait_until(lambda: cluster.cj("/connectors/payments-jdbc/tasks/1/status")["state"]
                      == "RUNNING", timeout=5, what="failed task back")
    # task restart: 204, counters from 0
    before = records(cluster, "orders-sink")[1]
    assert cluster.c("POST", "/connectors/orders-sink/tasks/1/restart").status == 204
    assert records(cluster, "orders-sink")[1] < before


def test_stop_offsets_and_resume(cluster):
    assert cluster.c("PUT", "/connectors/orders-sink/stop").status == 204
    st = cluster.cj("/connectors/orders-sink/status")
    assert st["connector"]["state"] == "STOPPED" and st["tasks"] == []
    assert cluster.cj("/connectors/orders-sink")["tasks"] == []
    r = cluster.c("PATCH", "/connectors/orders-sink/offsets", body={"offsets": []})
    assert r.status == 400
    patch = {"offsets": [{"partition": {"kafka_topic": "orders", "kafka_partition": 0},
                          "offset": {"kafka_offset": 5}}]}
    r = cluster.c("PATCH", "/connectors/orders-sink/offsets", body=patch)
    assert r.status == 200
    assert r.json() == {"message": "The offsets for this connector have been altered successfully"}
    # Alter merges (recorded on Kafka 4.1): the partition given changes, the others stay.
    after = cluster.cj("/connectors/orders-sink/offsets")["offsets"]
    assert patch["offsets"][0] in after and len(after) == 6
    bad = {"offsets": [{"partition": {"topic": "orders"}, "offset": {"kafka_offset": 5}}]}
    r = cluster.c("PATCH", "/connectors/orders-sink/offsets", body=bad)
    assert r.status == 400 and "'kafka_topic' and 'kafka_partition'" in r.json()["message"]
    reset = {"offsets": [{"partition": {"kafka_topic": "orders", "kafka_partition": "0"},
                          "offset": None}]}
    assert cluster.c("PATCH", "/connectors/orders-sink/offsets", body=reset).status == 200
    assert len(cluster.cj("/connectors/orders-sink/offsets")["offsets"]) == 5
    r = cluster.c("DELETE", "/connectors/orders-sink/offsets")
    assert r.status == 200 and "reset successfully" in r.json()["message"]
    assert cluster.c("PUT", "/connectors/orders-sink/resume").status == 202
    kctest.wait_until(lambda: len(cluster.cj("/connectors/orders-sink/status")["tasks"]) == 2,
                      timeout=5, what="tasks after resume")


# ---- Jolokia ----

def test_version_v2_and_v1(cluster, v1):
    r = kctest.http("GET", cluster.jurl(0, "/version"))
    assert r.header("Content-Type") == "application/json; charset=utf-8"
    doc = r.json()
    assert doc["value"]["agent"] == "2.6.0" and doc["status"] == 200
    # The default 2.x answer has the real 2.6.0 agent's shape (it was checked against the
    # 1.x-like fixture before 2.6.0 was recorded; the recording wins).
    with open(os.path.join(kctest.SOURCE_DIR, "test", "fixtures", "real", "jolokia-2.6.0",
                           "version.json"), encoding="utf-8") as f:
        real = json.load(f)["response"]["body"]
    assert_shape(doc, real)
    assert doc["value"]["protocol"] == real["value"]["protocol"] == "8.2"
    assert doc["value"]["details"]["url"] == cluster.jurl(0, "").rstrip("/")
    r = kctest.http("GET", v1.jurl(1, "/"))
    assert r.header("Content-Type") == "text/plain; charset=utf-8"
    assert b'"agentContext":"\\/jolokia"' in r.body
    # The recorded 1.7.2 agent reports the server its detectors found (Kafka's Jetty) and its
    # full config; the shape of those is checked in test_sim_real.py.
    assert_shape(r.json(), fixture("jolokia_version_v1.json"),
                 optional=("product", "vendor", "version") + tuple(r.json()["value"]["config"]))


def test_get_read_and_post_read(cluster):
    r = kctest.http("GET", cluster.jurl(0, "/read/java.lang:type=Memory/HeapMemoryUsage"))
    doc = r.json()
    assert_shape(doc, fixture("jolokia_read_memory.json"))
    used = kctest.http("GET", cluster.jurl(0, "/read/java.lang:type=Memory/HeapMemoryUsage/used"))
    assert isinstance(used.json()["value"], int)
    two = kctest.http("GET", cluster.jurl(0, "/read/java.lang:type=Threading/"
                                             "ThreadCount,PeakThreadCount")).json()
    assert set(two["value"]) == {"ThreadCount", "PeakThreadCount"}
    w = cluster.worker_of("orders-src", 0)
    doc = cluster.jread(w, {"type": "read", "mbean":
                            "kafka.connect:type=source-task-metrics,connector=orders-src,task=0",
                            "attribute": ["source-record-poll-total", "source-record-write-total"]})
    assert_shape(doc, fixture("jolokia_read_list.json"))
    assert doc["value"]["source-record-poll-total"] >= doc["value"]["source-record-write-total"]
    single = cluster.jread(w, {"type": "read", "mbean": "kafka.connect:type=source-task-metrics,"
                                                        "connector=orders-src,task=0",
                               "attribute": "source-record-write-total"})
    assert isinstance(single["value"], float)
    missing = cluster.jread(w, {"type": "read", "mbean": "kafka.connect:type=sink-task-metrics,"
                                                         "connector=orders-sink,task=0",
                                "attribute": "sink-record-lag-max"})
    assert missing["status"] == 404


def test_get_read_escapes_slash_and_quotes(cluster):
    r = cluster.c("POST", "/connectors", body={"name": "eu/orders", "config": {
        "connector.class": "FileStreamSourceConnector", "topic": "eu", "tasks.max": "1"}})
    assert r.status == 201, r.body
    kctest.wait_until(lambda: (cluster.status("eu/orders") or {}).get("tasks"), timeout=5,
                      what="task of eu/orders")
    w = cluster.worker_of("eu/orders", 0)
    # "!/" is a literal slash inside a GET path element; the quotes are percent-encoded
    url = cluster.jurl(w, '/read/kafka.connect:type=connector-task-metrics,connector=%22eu!/'
                          'orders%22,task=0/status')
    doc = kctest.http("GET", url).json()
    assert doc["status"] == 200 and doc["value"] == "running", doc
    assert doc["request"]["mbean"] == ('kafka.connect:type=connector-task-metrics,'
                                       'connector="eu/orders",task=0')


def test_bulk_shapes_match_wire_example(cluster):
    req = fixture("jolokia_bulk_request_source.json")
    expected = fixture("jolokia_bulk_source.json")
    w = cluster.worker_of("orders-src", 0)
    got = cluster.jread(w, req, "?canonicalNaming=true")
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        assert g["status"] == 200, g
        if ":" in g["request"]["mbean"] and "*" in g["request"]["mbean"]:
            assert g["request"]["mbean"] == e["request"]["mbean"]
            # one task of orders-src per worker; the producer pattern also catches orders-src-2
            ours = {n: v for n, v in g["value"].items() if "orders-src-2" not in n}
            assert len(ours) == 1, g["value"]
            name, attrs = next(iter(ours.items()))
            assert_shape(attrs, next(iter(e["value"].values())))
            assert name.startswith(e["request"]["mbean"].split("*")[0])
        else:
            assert_shape(g["value"], e["value"])


def test_pattern_reads_v2_registration_order_and_exact_matching(cluster):
    w = cluster.worker_of("orders-src", 0)
    r = cluster.jpost(w, {"type": "read", "mbean": "kafka.connect:type=source-task-metrics,*",
                          "attribute": ["source-record-write-total"]})
    assert r.header("Content-Type") == "application/json; charset=utf-8"
    assert b"\\/" not in r.body
    names = list(r.json()["value"])
    assert names and all(n.startswith("kafka.connect:type=source-task-metrics,connector=")
                         for n in names)
    canon = cluster.jread(w, {"type": "read", "mbean": "kafka.connect:type=source-task-metrics,*",
                              "attribute": ["source-record-write-total"]},
                          "?canonicalNaming=true")
    assert all(n.startswith("kafka.connect:connector=") and n.endswith("type=source-task-metrics")
               for n in canon["value"])
    # a pattern without ",*" matches only beans with exactly those keys
    exact = cluster.jread(w, {"type": "read", "mbean": "kafka.connect:type=connect-worker-metrics"})
    assert "connector-count" in exact["value"]
    pat = cluster.jread(w, {"type": "read", "mbean": "kafka.connect:type=connect-worker-metrics,"
                                                     "connector=*"})
    assert all("connector=" in n for n in pat["value"])
    # value wildcards: orders-src* also matches orders-src-2
    trap = []
    for worker in range(3):
        d = cluster.jread(worker, {"type": "read", "mbean":
                                   "kafka.producer:type=producer-metrics,"
                                   "client-id=connector-producer-orders-src-*",
                                   "attribute": "record-send-total"})
        if d["status"] == 200:
            trap += list(d["value"])
    assert any("orders-src-2-0" in n for n in trap)
    assert any(n.endswith("client-id=connector-producer-orders-src-0") for n in trap)
    q = cluster.jread(0, {"type": "read", "mbean": "java.lang:type=Threading,name=?",
                          "attribute": "ThreadCount"})
    assert q["status"] == 404 and q["error_type"] == "javax.management.InstanceNotFoundException"


def test_pattern_reads_v1(v1):
    w = v1.worker_of("orders-src", 0)
    r = v1.jpost(w, [{"type": "read", "mbean": "kafka.connect:type=source-task-metrics,*",
                      "attribute": ["source-record-write-total"]},
                     {"type": "read", "mbean": "java.lang:type=Runtime", "attribute": ["Uptime"]},
                     {"type": "read", "mbean": "kafka.connect:type=source-task-metrics,"
                                               "connector=gone,task=0"}])
    assert r.status == 200
    assert r.header("Content-Type") == "text/plain; charset=utf-8"
    pattern, one, missing = r.json()
    assert all(n.startswith("kafka.connect:connector=") for n in pattern["value"])
    assert pattern["request"]["mbean"] == "kafka.connect:type=source-task-metrics,*"
    assert one["request"]["attribute"] == "Uptime" and isinstance(one["value"], dict)
    assert missing["status"] == 404
    assert missing["error"] == ("javax.management.InstanceNotFoundException : "
                                "kafka.connect:type=source-task-metrics,connector=gone,task=0")
    assert "stacktrace" in missing
    assert_shape(missing, fixture("jolokia_error_instance.json"), optional=("attribute",))
    # `/` inside strings is written as `\/`: the paused connector's trace-free beans have none,
    # but the version answer does
    assert b"\\/" in kctest.http("GET", v1.jurl(0, "/version")).body


def test_v2_errors_have_no_class_prefix(cluster):
    d = cluster.jread(0, {"type": "read", "mbean": "kafka.connect:type=source-task-metrics,"
                                                   "connector=gone,task=0", "attribute": "status"})
    assert d["status"] == 404 and d["error_type"] == "javax.management.InstanceNotFoundException"
    assert d["error"] == "kafka.connect:type=source-task-metrics,connector=gone,task=0"
    assert "stacktrace" not in d


def test_no_matching_attributes_400_v1_404_v2(cluster, v1):
    body = {"type": "read", "mbean": "kafka.connect:type=source-task-metrics,*",
            "attribute": ["no-such-attr"]}
    w = cluster.worker_of("orders-src", 0)
    d2 = cluster.jread(w, body)
    assert d2["status"] == 404 and d2["error_type"] == "javax.management.AttributeNotFoundException"
    d1 = v1.jread(v1.worker_of("orders-src", 0), body)
    assert d1["status"] == 400 and d1["error_type"] == "java.lang.IllegalArgumentException"
    assert "No matching attributes [no-such-attr] found on MBeans" in d1["error"]
    ign = cluster.jread(w, {"type": "read", "mbean": "java.lang:type=Threading",
                            "attribute": ["ThreadCount", "Nope"]}, "?ignoreErrors=true")
    assert ign["status"] == 200 and ign["value"]["Nope"][".error"] is True
    strict = cluster.jread(w, {"type": "read", "mbean": "java.lang:type=Threading",
                               "attribute": ["ThreadCount", "Nope"]})
    assert strict["status"] == 404


def test_task_asked_on_the_wrong_worker_is_404(cluster):
    w = cluster.worker_of("orders-src", 0)
    other = (w + 1) % 3
    if cluster.worker_of("orders-src", 1) == other:
        other = (w + 2) % 3
    d = cluster.jread(other, {"type": "read", "mbean": "kafka.connect:type=source-task-metrics,"
                                                       "connector=orders-src,task=0",
                              "attribute": "source-record-write-total"})
    assert d["status"] == 404 and d["error_type"] == "javax.management.InstanceNotFoundException"
    ok = cluster.jread(w, {"type": "read", "mbean": "kafka.connect:type=source-task-metrics,"
                                                    "connector=orders-src,task=0"})
    assert ok["status"] == 200


def test_bulk_with_malformed_element(cluster, v1):
    bulk = [{"type": "read", "mbean": "java.lang:type=Runtime", "attribute": "Uptime"}, 42]
    # 2.5+ (recorded 2.6.0, jolokia-2.6.0/bulk_non_object and malformed_json): a bulk element
    # that is not an object and a body that is not JSON are one in-body error object with
    # status 500 (this test expected HTTP 400 text before 2.6.0 was recorded: the recording
    # wins); a malformed name is a real HTTP 400.
    r = cluster.jpost(0, bulk)
    assert r.status == 200
    assert r.header("Content-Type") == "application/json; charset=utf-8"
    doc = r.json()
    assert isinstance(doc, dict) and doc["status"] == 500 and doc[".error"] is True
    assert doc["error_type"] == "java.lang.IllegalArgumentException"
    assert doc["error"].startswith("Not a request within the list of requests [")
    bad_name = [{"type": "read", "mbean": "java.lang:type=Runtime", "attribute": "Uptime"},
                {"type": "read", "mbean": "no-colon-here"}]
    r = cluster.jpost(0, bad_name)
    assert r.status == 400 and r.header("Content-Type") == "text/plain; charset=utf-8"
    assert r.body == b"400 (Bad Request)\n\nKey properties cannot be empty\n"
    r = cluster.jpost(0, "{not json")
    assert r.status == 200 and r.json()["status"] == 500
    assert r.json()["error_type"] == "java.lang.IllegalStateException"
    r = v1.jpost(0, bulk)
    assert r.status == 200
    doc = r.json()
    assert isinstance(doc, dict) and doc["status"] == 400
    assert doc["error_type"] == "java.lang.IllegalArgumentException"
    good = cluster.jread(0, [{"type": "read", "mbean": "java.lang:type=Runtime",
                              "attribute": "Uptime"},
                             {"type": "read", "mbean": "kafka.connect:type=nope,*"}])
    assert [g["status"] for g in good] == [200, 404]


def test_objectname_quoting(cluster):
    seen = {}
    for w in range(3):
        d = cluster.jread(w, {"type": "read", "mbean": "kafka.connect:type=connector-task-metrics,*",
                              "attribute": "status"})
        for name in d["value"]:
            _, keys = bean_keys(name)
            seen[dict(keys)["connector"]] = name
    assert "orders-src" in seen and "my conn.v2" in seen
    assert '"eu:orders"' in seen
    assert '"say \\"hi\\"\\*"' in seen
    assert '"café-sink"' in seen
    # exact reads with the quoted names work on the worker that runs the task
    for raw, quoted in (("eu:orders", '"eu:orders"'), ('say "hi"*', '"say \\"hi\\"\\*"'),
                        ("café-sink", '"café-sink"'), ("my conn.v2", "my conn.v2")):
        w = cluster.worker_of(raw, 0)
        d = cluster.jread(w, {"type": "read", "mbean": "kafka.connect:type=connector-task-metrics,"
                                                       "connector=%s,task=0" % quoted,
                              "attribute": "status"})
        assert d["status"] == 200 and d["value"] == "running", (raw, d)
        wild = cluster.jread(w, {"type": "read", "mbean": "kafka.connect:type=connector-task-metrics,"
                                                          "connector=%s,task=*" % quoted})
        assert wild["status"] == 200
    d = cluster.jread(cluster.worker_of("orders-src", 0),
                      {"type": "read", "mbean": 'kafka.connect:type=connector-task-metrics,'
                                                'connector=orders-src,task="0"'})
    assert d["status"] == 404  # task="0" is another name
    w = cluster.worker_of("orders-sink", 0)
    d = cluster.jread(w, {"type": "read", "mbean": "kafka.consumer:type=consumer-fetch-manager-"
                                                   "metrics,client-id=connector-consumer-orders-"
                                                   "sink-0,topic=*"})
    topics = sorted(dict(bean_keys(n)[1])["topic"] for n in d["value"])
    assert topics == ["orders", "orders_eu"]


def test_failed_task_keeps_connect_beans_but_no_clients(cluster):
    w = cluster.worker_of("payments-jdbc", 1)
    d = cluster.jread(w, [
        {"type": "read", "mbean": "kafka.connect:type=connector-task-metrics,"
                                  "connector=payments-jdbc,task=1", "attribute": "status"},
        {"type": "read", "mbean": "kafka.connect:type=source-task-metrics,"
                                  "connector=payments-jdbc,task=1",
         "attribute": ["source-record-write-total", "poll-batch-avg-time-ms"]},
        {"type": "read", "mbean": "kafka.producer:type=producer-metrics,"
                                  "client-id=connector-producer-payments-jdbc-1"},
        {"type": "read", "mbean": "kafka.connect:type=connect-worker-metrics,"
                                  "connector=payments-jdbc",
         "attribute": "connector-failed-task-count"}])
    assert d[0]["value"] == "failed"
    assert d[1]["value"]["source-record-write-total"] > 0
    assert d[1]["value"]["poll-batch-avg-time-ms"] is None
    assert d[2]["status"] == 404
    assert d[3]["value"] == 1


def test_doubles_are_java_style(cluster):
    w = cluster.worker_of("orders-src", 0)
    r = cluster.jpost(w, {"type": "read", "mbean": "kafka.connect:type=source-task-metrics,"
                                                   "connector=orders-src,task=0"})
    text = r.body.decode()
    total = r.json()["value"]["source-record-write-total"]
    assert total == int(total)
    literal = text.split('"source-record-write-total":')[1].split(",")[0].split("}")[0]
    assert literal.endswith(".0") or "E" in literal, literal
    if total >= 1e7:
        assert "E" in literal
    paused = cluster.jread(cluster.worker_of("inventory-datagen", 0),
                           {"type": "read", "mbean": "kafka.connect:type=source-task-metrics,"
                                                     "connector=inventory-datagen,task=0"})
    assert paused["value"]["poll-batch-avg-time-ms"] is None
    sink = cluster.jread(cluster.worker_of("orders-sink", 0),
                         {"type": "read", "mbean": "kafka.connect:type=task-error-metrics,"
                                                   "connector=orders-sink,task=0",
                          "attribute": "last-error-timestamp"})
    assert isinstance(sink["value"], int)


def test_truth_matches_jolokia(cluster):
    for name, client in (("orders-src", "producer"), ("orders-sink", "consumer")):
        truth = cluster.truth(name)
        assert set(truth) == {"name", "type", "state", "tasks"}
        for t in truth["tasks"]:
            w = int(t["worker_id"].split(":")[0].split(".")[3]) - 1
            kind_ = "source" if client == "producer" else "sink"
            attr = "source-record-write-total" if kind_ == "source" else "sink-record-send-total"
            bulk = [{"type": "read", "mbean": "kafka.connect:type=%s-task-metrics,connector=%s,"
                                              "task=%d" % (kind_, name, t["id"]),
                     "attribute": attr}]
            if client == "producer":
                bulk.append({"type": "read", "mbean": "kafka.producer:type=producer-topic-metrics,"
                             "client-id=connector-producer-%s-%d,*" % (name, t["id"]),
                             "attribute": "byte-total"})
            else:
                bulk.append({"type": "read", "mbean": "kafka.consumer:type=consumer-fetch-manager-"
                             "metrics,client-id=connector-consumer-%s-%d" % (name, t["id"]),
                             "attribute": ["bytes-consumed-total", "records-lag-max"]})
            before = cluster.truth(name)["tasks"][t["id"]]
            got = cluster.jread(w, bulk)
            after = cluster.truth(name)["tasks"][t["id"]]
            assert before["records_total"] <= got[0]["value"] <= after["records_total"]
            if client == "producer":
                b = sum(v["byte-total"] for v in got[1]["value"].values())
            else:
                b = got[1]["value"]["bytes-consumed-total"]
                assert got[1]["value"]["records-lag-max"] == after["lag_max"]
            assert before["bytes_total"] <= b <= after["bytes_total"]


def test_basic_auth():
    p = start_sim(env={"SIM_JOLOKIA_USER": "jmx", "SIM_JOLOKIA_PASSWORD": "s3cret"})
    try:
        c = Cluster(p)
        assert "s3cret" not in " ".join(p.argv)
        body = {"type": "read", "mbean": "java.lang:type=Runtime", "attribute": "Uptime"}
        for headers in (None, {"Authorization": "Basic am14Ondyb25n"}):  # none, jmx:wrong
            r = c.jpost(0, body, headers=headers)
            assert r.status == 401
            assert r.header("WWW-Authenticate") == 'Basic realm="jolokia"'
            assert r.body == b""
        r = c.jpost(0, body, headers={"Authorization": "Basic am14OnMzY3JldA=="})
        assert r.status == 200 and r.json()["status"] == 200
    finally:
        p.assert_clean_exit()


# ---- faults and counters ----

def refused(url):
    try:
        kctest.http("GET", url, timeout=3)
    except urllib.error.URLError as e:
        return isinstance(e.reason, ConnectionRefusedError)
    except ConnectionRefusedError:
        return True
    return False


def test_fault_down_refuses_and_comes_back(cluster):
    cluster.ctl("PUT", "/faults", {"target": "connect", "fault": "down"})
    assert refused(cluster.connect + "/")
    cluster.ctl("PUT", "/faults", {"target": "jolokia:1", "fault": "down"})
    assert refused(cluster.jurl(1, "/version"))
    assert kctest.http("GET", cluster.jurl(0, "/version")).status == 200
    faults = cluster.ctl("GET", "/faults")
    assert faults["connect"]["fault"] == "down" and faults["jolokia:1"]["fault"] == "down"
    assert faults["jolokia:0"]["fault"] == "none"
    cluster.ctl("DELETE", "/faults")
    assert cluster.c("GET", "/").status == 200
    assert kctest.http("GET", cluster.jurl(1, "/version")).status == 200
    counters = cluster.ctl("GET", "/counters")
    assert counters["connect"]["total"] == 1  # the refused attempt never reached the worker


def test_fault_slow_delays_without_blocking(cluster):
    cluster.ctl("PUT", "/faults", {"target": "connect", "fault": "slow", "delay_ms": 700})
    result = {}

    def slow_call():
        t0 = time.monotonic()
        result["status"] = cluster.c("GET", "/connectors").status
        result["elapsed"] = time.monotonic() - t0

    th = threading.Thread(target=slow_call)
    th.start()
    time.sleep(0.1)
    t0 = time.monotonic()
    assert kctest.http("GET", cluster.jurl(0, "/version")).status == 200
    assert time.monotonic() - t0 < 0.5  # the loop is not blocked by the pending reply
    th.join(10)
    assert result["status"] == 200 and result["elapsed"] >= 0.65
    cluster.ctl("PUT", "/faults", {"target": "jolokia", "fault": "slow", "delay_ms": 300})
    t0 = time.monotonic()
    assert kctest.http("GET", cluster.jurl(2, "/version")).status == 200
    assert time.monotonic() - t0 >= 0.28


def test_fault_slow_request_abandoned_by_client(cluster):
    """A client that gives up on a delayed answer must not leak or crash the simulator."""
    cluster.ctl("PUT", "/faults", {"target": "connect", "fault": "slow", "delay_ms": 400})
    host, port = cluster.proc.listener("connect")
    for _ in range(5):
        s = socket.create_connection((host, port))
        s.sendall(b"GET /connectors HTTP/1.1\r\nHost: x\r\n\r\n")
        s.close()
    time.sleep(0.6)  # let the timers fire into the closed sockets
    cluster.ctl("DELETE", "/faults")
    assert cluster.c("GET", "/").status == 200


@pytest.mark.parametrize("fault,status", [("garbage", 200), ("500", 500), ("401", 401),
                                          ("409", 409)])
def test_fault_answers(cluster, fault, status):
    cluster.ctl("PUT", "/faults", {"target": "connect", "fault": fault})
    r = cluster.c("GET", "/connectors/orders-src/status")
    assert r.status == status
    if fault == "garbage":
        with pytest.raises(ValueError):
            json.loads(r.body)
    else:
        doc = r.json()
        assert doc["error_code"] == status
        if fault == "500":
            assert doc["message"] == "Request timed out"
        if fault == "409":
            assert doc["message"].startswith("Cannot complete request momentarily due to stale "
                                             "configuration")
    cluster.ctl("PUT", "/faults", {"target": "jolokia:2", "fault": fault})
    r = kctest.http("POST", cluster.jurl(2), body={"type": "version"})
    assert r.status == status
    if fault == "401":
        assert r.header("WWW-Authenticate") == 'Basic realm="jolokia"'
    if fault == "garbage":
        with pytest.raises(ValueError):
            json.loads(r.body)
    assert kctest.http("POST", cluster.jurl(1), body={"type": "version"}).status == 200
    counters = cluster.ctl("GET", "/counters")
    assert counters["connect"]["routes"]["GET /connectors/{name}/status"] == 1
    assert counters["jolokia"]["workers"]["127.0.0.3:8083"]["total"] == 1


def test_counters_and_reset(cluster):
    cluster.cj("/connectors?expand=status")
    cluster.cj("/connectors/orders-src/status")
    cluster.cj("/connectors/eu%3Aorders/status")
    cluster.c("GET", "/nope")
    cluster.jread(0, [{"type": "version"}, {"type": "version"}, {"type": "version"}])
    kctest.http("GET", cluster.jurl(0, "/version"))
    c = cluster.ctl("GET", "/counters")
    assert c["connect"]["total"] == 4
    assert c["connect"]["routes"] == {"GET /connectors": 1, "GET /connectors/{name}/status": 2}
    assert c["jolokia"]["total"] == 2
    assert c["jolokia"]["workers"]["127.0.0.1:8083"] == {"total": 2, "post": 1, "get": 1,
                                                         "bulk_elements": 3}
    assert set(c["jolokia"]["workers"]) == {"127.0.0.1:8083", "127.0.0.2:8083", "127.0.0.3:8083"}
    z = cluster.ctl("POST", "/counters/reset")
    assert z["connect"]["total"] == 0 and z["jolokia"]["total"] == 0
    assert cluster.ctl("GET", "/counters")["connect"]["routes"] == {}


def test_control_fail_and_move(cluster):
    r = kctest.http("POST", cluster.control + "/tasks/fail",
                    body={"connector": "orders-sink", "task": 0, "trace": "boom\n\tat x"})
    assert r.status == 200
    st = cluster.cj("/connectors/orders-sink/status")
    assert st["tasks"][0]["state"] == "FAILED" and st["tasks"][0]["trace"] == "boom\n\tat x"
    assert st["connector"]["state"] == "RUNNING"
    w = cluster.worker_of("orders-sink", 0)
    d = cluster.jread(w, {"type": "read", "mbean": "kafka.consumer:type=consumer-fetch-manager-"
                                                   "metrics,client-id=connector-consumer-orders-"
                                                   "sink-0"})
    assert d["status"] == 404
    frozen = records(cluster, "orders-sink")[0]
    target = (w + 1) % 3
    r = kctest.http("POST", cluster.control + "/tasks/move",
                    body={"connector": "orders-sink", "task": 0, "worker": target})
    assert r.status == 200
    assert cluster.worker_of("orders-sink", 0) == target
    assert cluster.cj("/connectors/orders-sink/tasks/0/status")["state"] == "RUNNING"
    assert records(cluster, "orders-sink")[0] < frozen
    bean = {"type": "read", "mbean": "kafka.connect:type=sink-task-metrics,"
                                     "connector=orders-sink,task=0"}
    assert cluster.jread(target, bean)["status"] == 200
    assert cluster.jread(w, bean)["status"] == 404
    assert kctest.http("POST", cluster.control + "/tasks/move",
                       body={"connector": "orders-sink", "task": 9, "worker": 0}).status == 404
    assert kctest.http("GET", cluster.control + "/truth/nope").status == 404



# ---- NaN doubles (test/fixtures/real/jolokia-*/nan_*.json) ----

NFE = ("java.lang.NumberFormatException : Character N is neither a decimal digit number, decimal "
       "point, nor \"e\" notation exponential mark.")


@pytest.mark.parametrize("version,fails", [("2.4.2", True), ("2.0.0", True), ("2.5.0", False),
                                           ("2", False), ("1", False)])
def test_nan_fails_the_whole_element_on_jolokia_2_0_to_2_4(version, fails):
    """Jolokia 2.0-2.4.x cannot serialise a NaN double (jolokia/jolokia#934, fixed in 2.5.0):
    the element, even a pattern over many beans or with ignoreErrors, is an in-body 400
    NumberFormatException; the other elements of the bulk answer as usual. 1.x and 2.5+ write
    null. An idle sink task's records-lag-max is NaN on demand (POST /tasks/lag-unknown)."""
    p = start_sim("--jolokia-version", version, "--seed", "3")
    try:
        c = Cluster(p)
        w = c.worker_of("orders-src", 0)
        prod = "kafka.producer:type=producer-metrics,client-id=connector-producer-orders-src-0"
        pat = "kafka.producer:type=producer-metrics,client-id=*"
        els = [{"type": "read", "mbean": prod, "attribute": ["record-send-total"]},
               {"type": "read", "mbean": prod, "attribute": "reauthentication-latency-avg"},
               {"type": "read", "mbean": pat},
               {"type": "read", "mbean": prod, "attribute": ["record-send-total",
                                                               "reauthentication-latency-max"],
                "config": {"ignoreErrors": True}},
               {"type": "read", "mbean": "java.lang:type=Threading", "attribute": "ThreadCount"}]
        r = c.jpost(w, els)
        assert r.status == 200
        ok, single, pattern, ignored, jvm = r.json()
        assert ok["status"] == 200 and isinstance(ok["value"]["record-send-total"], float)
        assert jvm["status"] == 200
        if fails:
            for e in (single, pattern, ignored):
                assert e["status"] == 400 and "value" not in e, e
                assert e["error_type"] == "java.lang.NumberFormatException"
                assert e["error"] == NFE
                assert "stacktrace" not in e and "request" in e
            assert single["request"] == {"type": "read", "mbean": "kafka.producer:client-id="
                                         "connector-producer-orders-src-0,type=producer-metrics",
                                         "attribute": "reauthentication-latency-avg"}
            d = c.jread(w, {"type": "read", "mbean": prod, "attribute": "reauthentication-"
                            "latency-max", "config": {"includeStackTrace": True}})
            assert d["status"] == 400 and d["error"] == NFE
            assert d["stacktrace"].startswith("java.lang.NumberFormatException: Character N")
            # a running producer's averages have samples: not NaN
            assert c.jread(w, {"type": "read", "mbean": prod,
                               "attribute": "batch-size-avg"})["status"] == 200
        else:
            assert single["status"] == 200 and single["value"] is None
            assert pattern["status"] == 200 and all(
                v["reauthentication-latency-avg"] is None for v in pattern["value"].values())
            assert ignored["value"]["reauthentication-latency-max"] is None
        # records-lag-max of a sink task whose consumer has not fetched yet
        ws = c.worker_of("orders-sink", 0)
        lag = {"type": "read", "mbean": "kafka.consumer:type=consumer-fetch-manager-metrics,"
                                        "client-id=connector-consumer-orders-sink-0",
               "attribute": ["bytes-consumed-total", "records-lag-max"]}
        assert isinstance(c.jread(ws, lag)["value"]["records-lag-max"], float)
        t = c.ctl("POST", "/tasks/lag-unknown", {"connector": "orders-sink", "task": 0})
        assert t["name"] == "orders-sink" and t["tasks"][0]["lag_max"] is None
        d = c.jread(ws, lag)
        if fails:
            assert d["status"] == 400 and d["error"] == NFE
        else:
            assert d["value"]["records-lag-max"] is None
        c.ctl("POST", "/tasks/lag-unknown", {"connector": "orders-sink", "task": 0, "ms": 0})
        assert isinstance(c.jread(ws, lag)["value"]["records-lag-max"], float)
        c.ctl("POST", "/tasks/lag-unknown", {"connector": "orders-sink", "task": 0, "ms": 300})
        assert c.truth("orders-sink")["tasks"][0]["lag_max"] is None
        time.sleep(0.4)
        assert isinstance(c.truth("orders-sink")["tasks"][0]["lag_max"], float)
        # a new instance of the task has its own window: a move ends "unknown"
        c.ctl("POST", "/tasks/lag-unknown", {"connector": "orders-sink", "task": 0})
        c.ctl("POST", "/tasks/move", {"connector": "orders-sink", "task": 0, "worker": ws})
        assert isinstance(c.truth("orders-sink")["tasks"][0]["lag_max"], float)
        for body, status in (({"connector": "orders-src", "task": 0}, 400),
                             ({"connector": "orders-sink", "task": 0, "ms": -1}, 400),
                             ({"connector": "orders-sink", "task": 9}, 404)):
            assert kctest.http("POST", c.control + "/tasks/lag-unknown", body=body).status == status
    finally:
        p.assert_clean_exit()

def test_no_producer_topic_bean_before_the_first_record():
    """Kafka's producer creates a topic's producer-topic-metrics bean with its first record to
    that topic: a source task that has written nothing (recorded on 4.1.1: write and poll totals
    0.0) has its Connect beans and producer-metrics, but its producer-topic pattern is a 404.
    POST /tasks/no-data holds a source without data; a new instance then stays at 0."""
    p = start_sim("--seed", "3")
    try:
        c = Cluster(p)
        w = c.worker_of("orders-src", 0)
        target = (w + 1) % 3
        topics = ("kafka.producer:type=producer-topic-metrics,"
                  "client-id=connector-producer-orders-src-0,*")
        assert c.jread(w, {"type": "read", "mbean": topics})["status"] == 200
        c.ctl("POST", "/tasks/no-data", {"connector": "orders-src", "task": 0})
        t = c.ctl("POST", "/tasks/move", {"connector": "orders-src", "task": 0, "worker": target})
        assert t["tasks"][0]["state"] == "RUNNING"
        time.sleep(0.1)  # a held task stays at 0 over a real interval
        truth = c.truth("orders-src")["tasks"][0]
        assert (truth["records_total"], truth["bytes_total"], truth["records_rate"]) == (0, 0, 0)
        els = [{"type": "read", "mbean": "kafka.connect:type=source-task-metrics,"
                                         "connector=orders-src,task=0",
                "attribute": ["source-record-write-total", "source-record-poll-total",
                              "source-record-write-rate", "source-record-active-count"]},
               {"type": "read", "mbean": topics, "attribute": ["byte-total", "byte-rate"]},
               {"type": "read", "mbean": topics.replace(",*", ",topic=orders")},
               {"type": "read", "mbean": "kafka.producer:type=producer-metrics,"
                                         "client-id=connector-producer-orders-src-0",
                "attribute": ["record-send-total", "record-size-avg"]}]
        task, pattern, exact, producer = c.jread(target, els)
        assert task["value"] == {"source-record-write-total": 0.0, "source-record-poll-total": 0.0,
                                 "source-record-write-rate": 0.0,
                                 "source-record-active-count": 0.0}
        assert pattern["status"] == 404 and pattern["error"] == (
            "No MBean with pattern %s found for READ request" % topics)
        assert exact["status"] == 404
        assert producer["value"] == {"record-send-total": 0.0, "record-size-avg": None}
        names = c.jread(target, {"type": "search",
                                 "mbean": "kafka.producer:type=producer-topic-metrics,*"})["value"]
        assert not [n for n in names if "orders-src-0" in n]
        # The data comes: every bean there has sent to its topic, and the topics' bytes add up
        # to the task's total.
        c.ctl("POST", "/tasks/no-data", {"connector": "orders-src", "task": 0, "ms": 0})
        seen = set()
        deadline = time.monotonic() + 10
        while len(seen) < 2 and time.monotonic() < deadline:
            before = c.truth("orders-src")["tasks"][0]["bytes_total"]
            d = c.jread(target, {"type": "read", "mbean": topics,
                                 "attribute": ["byte-total", "record-send-total"]})
            after = c.truth("orders-src")["tasks"][0]["bytes_total"]
            if d["status"] == 404:
                assert not seen, "a producer-topic bean went away"
                continue
            for name, v in d["value"].items():
                assert v["record-send-total"] > 0 and v["byte-total"] > 0, (name, v)
                seen.add(name.rsplit("topic=", 1)[1])
            assert before <= sum(v["byte-total"] for v in d["value"].values()) <= after
        assert seen == {"orders", "order_items"}
        # For ms milliseconds only: the totals stand, then move on.
        held = c.ctl("POST", "/tasks/no-data",
                     {"connector": "orders-src", "task": 1, "ms": 300})["tasks"][1]
        time.sleep(0.1)
        still = c.truth("orders-src")["tasks"][1]
        assert still["records_total"] == held["records_total"] and still["records_rate"] == 0
        kctest.wait_until(lambda: c.truth("orders-src")["tasks"][1]["records_total"] >
                          held["records_total"], timeout=5, what="data after 300 ms")
        for body, status in (({"connector": "orders-sink", "task": 0}, 400),
                             ({"connector": "orders-src", "task": 0, "ms": -1}, 400),
                             ({"connector": "orders-src", "task": 9}, 404)):
            assert kctest.http("POST", c.control + "/tasks/no-data", body=body).status == status
    finally:
        p.assert_clean_exit()


# ---- scale ----

def test_5000_connectors_fast():
    t0 = time.monotonic()
    p = start_sim("--connectors", "5000", "--tasks", "2")
    started = time.monotonic() - t0
    try:
        c = Cluster(p)
        assert started < 1.0, started
        t0 = time.monotonic()
        both = c.cj("/connectors?expand=status&expand=info")
        listed = time.monotonic() - t0
        assert len(both) == 5000 and "orders-src" in both and "conn-04991" in both
        assert listed < 1.0, listed
        t0 = time.monotonic()
        d = c.jread(0, [{"type": "read", "mbean": "kafka.connect:type=source-task-metrics,"
                                                  "connector=*,task=*",
                         "attribute": ["source-record-write-total"]},
                        {"type": "read", "mbean": "kafka.connect:type=sink-task-metrics,*",
                         "attribute": ["sink-record-send-total"]},
                        {"type": "read", "mbean": "kafka.producer:type=producer-topic-metrics,*",
                         "attribute": ["byte-total"]}])
        bulk = time.monotonic() - t0
        assert bulk < 1.0, bulk
        assert all(x["status"] == 200 for x in d)
        tasks_here = len(d[0]["value"]) + len(d[1]["value"])
        assert 3000 < tasks_here < 3700  # ~10000 tasks round-robin over 3 workers
    finally:
        p.assert_clean_exit()
