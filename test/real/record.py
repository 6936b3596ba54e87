#!/usr/bin/env python3
"""Records what real Kafka Connect and the real Jolokia agents answer, as fixtures for
connect-sim's comparison test (test/integration/test_sim_real.py). Run by hand, not in CI:

  python3 test/real/record.py [--only connect|jolokia2|jolokia1|jolokia2latest|edges|nan]

Starts RealStack (test/real/stack.py) with the 2.x agent, records the Connect REST answers and
the agent's, stops it, then starts it again with the 1.x agent for that agent's answers. Writes
test/fixtures/real/{kafka-V,jolokia-V}/<case>.json: the request (method, path, headers, body)
and the raw response (status, Content-Type/Location, body text and, when it parses, the JSON).
Nothing is normalised here; the comparison decides what is volatile. `_stack.json` in each
folder keeps what the comparison needs to mask (ports, worker ids, folders, statuses).

`--only edges` records the edge cases of record_edges() on a fresh stack and appends them to the
kafka-V folder's case list, after the existing ones (which it leaves untouched): they run last in
the replay, on connectors of their own.

`--only nan [--jolokia 2|1]` records reads that hit a NaN double (record_nan()) and appends them
the same way to the jolokia-V folders: 2.0-2.4.x agents fail the whole element, 1.x writes null.

`--only jolokia2latest` starts the stack with the pom's jolokia2latest agent (2.6.0, what
connect-sim's default `--jolokia-version 2` follows) and records into its own jolokia-V folder the
same cases as for 2.4.2: record_jolokia's, then record_nan's, on that one stack. It is not part
of a run without --only (the 2.x and 1.x recordings are).
"""
import argparse
import http.client
import json
import os
import sys
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import stack  # noqa: E402

OUT = os.path.join(stack.SOURCE_DIR, "test", "fixtures", "real")
SRC = stack.FILE_SOURCE
SINK = stack.FILE_SINK
KEPT_HEADERS = ("Content-Type", "Location", "WWW-Authenticate", "Allow")


def q(name):
    return urllib.parse.quote(name, safe="")


def raw(host, port, method, path, body=None, headers=None, timeout=60.0, kept=KEPT_HEADERS):
    """One request exactly as given (http.client adds no Content-Type of its own)."""
    if isinstance(body, (dict, list)):
        body = json.dumps(body)
    data = body.encode() if isinstance(body, str) else body
    c = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        c.request(method, path, body=data, headers=dict(headers or {}))
        r = c.getresponse()
        text = r.read().decode("utf-8", errors="replace")
        hdrs = {k: r.getheader(k) for k in kept if r.getheader(k) is not None}
        return r.status, hdrs, text
    finally:
        c.close()


class Recorder:
    def __init__(self, folder, host, port, meta):
        self.dir = os.path.join(OUT, folder)
        os.makedirs(self.dir, exist_ok=True)
        self.host, self.port = host, port
        self.meta = meta
        self.names = []
        self.pending = []  # the waits since the last case: a replay repeats them
        self.kept = KEPT_HEADERS

    def rec(self, case, method, path, body=None, headers=None, host=None, note=None):
        if body is not None and headers is None:
            headers = {"Content-Type": "application/json"}
        host = host or self.host
        status, hdrs, text = raw(host, self.port, method, path, body, headers, kept=self.kept)
        try:
            parsed = json.loads(text) if text else None
        except ValueError:
            parsed = None
        if isinstance(body, (dict, list)):
            req_body = body
        else:
            req_body = body
        fx = {"case": case, "target": {"host": host},
              "request": {"method": method, "path": path, "headers": dict(headers or {}),
                          "body": req_body},
              "response": {"status": status, "headers": hdrs, "body_text": text, "body": parsed}}
        if note:
            fx["note"] = note
        if self.pending:
            fx["waits_before"], self.pending = self.pending, []
        with open(os.path.join(self.dir, case + ".json"), "w", encoding="utf-8") as f:
            json.dump(fx, f, indent=1, ensure_ascii=False, sort_keys=False)
            f.write("\n")
        self.names.append(case)
        print("  %-40s %s %s -> %d" % (case, method, path[:70], status), flush=True)
        return status, parsed

    def write_meta(self):
        self.meta["cases"] = self.names
        with open(os.path.join(self.dir, "_stack.json"), "w", encoding="utf-8") as f:
            json.dump(self.meta, f, indent=1, ensure_ascii=False)
            f.write("\n")


def get(st, path):
    return stack.http_json("GET", st.connect_url + path)


def wait_state(st, r, name, conn_state, task_state=None, ntasks=None, timeout=60.0):
    """Waits for a state and notes it in the next fixture (`waits_before`)."""
    r.pending.append({"connector": name, "state": conn_state, "task_state": task_state,
                      "tasks": ntasks})

    def ok():
        code, s = get(st, "/connectors/%s/status" % q(name))
        if code != 200 or s["connector"]["state"] != conn_state:
            return False
        if ntasks is not None and len(s["tasks"]) != ntasks:
            return False
        return all(t["state"] == task_state for t in s["tasks"]) if task_state else True
    stack.wait_for(ok, timeout, "%s %s/%s" % (name, conn_state, task_state))


def stack_meta(st):
    statuses = {}
    for name in stack.connector_configs(st.run_dir):
        statuses[name] = get(st, "/connectors/%s/status" % q(name))[1]
    return {"versions": stack.pinned_versions(), "rest_port": st.rest_port,
            "jolokia_port": st.jolokia_port, "worker_ids": st.worker_ids,
            "run_dir": st.run_dir, "statuses": statuses}


# ---- Kafka Connect ----

def record_connect(st):
    v = stack.pinned_versions()["kafka"]
    r = Recorder("kafka-" + v, "127.0.0.1", st.rest_port, stack_meta(st))
    run = st.run_dir
    src_cfg = {"connector.class": SRC, "tasks.max": "1", "topic": "rec-topic",
               "file": os.path.join(run, "in-rec.txt"),
               "key.converter": stack.STRING_CONVERTER, "value.converter": stack.STRING_CONVERTER}
    open(src_cfg["file"], "a").close()
    sink_cfg = {"connector.class": SINK, "tasks.max": "1", "topics": "files",
                "file": os.path.join(run, "out-rec.txt"),
                "key.converter": stack.STRING_CONVERTER, "value.converter": stack.STRING_CONVERTER}

    r.rec("root", "GET", "/")
    r.rec("health", "GET", "/health")
    r.rec("list", "GET", "/connectors")
    r.rec("list_expand_status_info", "GET", "/connectors?expand=status&expand=info")
    r.rec("list_expand_status", "GET", "/connectors?expand=status")
    r.rec("list_expand_info", "GET", "/connectors?expand=info")
    r.rec("list_expand_bogus", "GET", "/connectors?expand=bogus")
    for name, tag in (("files", "source"), ("files-sink", "sink"), ("broken-sink", "failed"),
                      ("cdc:orders,eu", "quoted")):
        p = "/connectors/" + q(name)
        r.rec("info_" + tag, "GET", p)
        r.rec("config_" + tag, "GET", p + "/config")
        r.rec("status_" + tag, "GET", p + "/status")
        r.rec("tasks_" + tag, "GET", p + "/tasks")
        r.rec("task0_status_" + tag, "GET", p + "/tasks/0/status")
        r.rec("topics_" + tag, "GET", p + "/topics")
    r.rec("status_errors_sink", "GET", "/connectors/errors-sink/status")
    r.rec("tasks_config", "GET", "/connectors/files/tasks-config")
    r.rec("task_status_unknown_task", "GET", "/connectors/files/tasks/7/status")
    r.rec("task_status_non_integer", "GET", "/connectors/files/tasks/x/status")
    r.rec("offsets_source_running", "GET", "/connectors/files/offsets")
    r.rec("offsets_sink_running", "GET", "/connectors/files-sink/offsets")
    r.rec("offsets_patch_running", "PATCH", "/connectors/files/offsets",
          {"offsets": [{"partition": {"filename": "x"}, "offset": {"position": 1}}]})
    r.rec("offsets_delete_running", "DELETE", "/connectors/files/offsets")

    # unknown connector on every route
    for case, method, path in (
            ("unknown_info", "GET", "/connectors/nope"),
            ("unknown_config", "GET", "/connectors/nope/config"),
            ("unknown_status", "GET", "/connectors/nope/status"),
            ("unknown_tasks", "GET", "/connectors/nope/tasks"),
            ("unknown_task_status", "GET", "/connectors/nope/tasks/0/status"),
            ("unknown_topics", "GET", "/connectors/nope/topics"),
            ("unknown_topics_reset", "PUT", "/connectors/nope/topics/reset"),
            ("unknown_offsets", "GET", "/connectors/nope/offsets"),
            ("unknown_offsets_delete", "DELETE", "/connectors/nope/offsets"),
            ("unknown_pause", "PUT", "/connectors/nope/pause"),
            ("unknown_resume", "PUT", "/connectors/nope/resume"),
            ("unknown_stop", "PUT", "/connectors/nope/stop"),
            ("unknown_restart", "POST", "/connectors/nope/restart"),
            ("unknown_restart_include_tasks", "POST", "/connectors/nope/restart?includeTasks=true"),
            ("unknown_task_restart", "POST", "/connectors/nope/tasks/0/restart"),
            ("unknown_delete", "DELETE", "/connectors/nope"),
            ("unknown_task_restart_known_connector", "POST", "/connectors/files/tasks/7/restart"),
            ("unknown_path", "GET", "/nope"),
            ("unknown_connector_subpath", "GET", "/connectors/files/nope")):
        r.rec(case, method, path)
    r.rec("unknown_offsets_patch", "PATCH", "/connectors/nope/offsets",
          {"offsets": [{"partition": {"filename": "x"}, "offset": {"position": 1}}]})
    r.rec("unknown_config_patch", "PATCH", "/connectors/nope/config", {"tasks.max": "1"})

    # create and its errors
    r.rec("create", "POST", "/connectors", {"name": "rec-src", "config": src_cfg})
    r.rec("create_duplicate", "POST", "/connectors", {"name": "rec-src", "config": src_cfg})
    bad = dict(src_cfg)
    del bad["topic"]
    bad["batch.size"] = "many"
    r.rec("create_bad_config", "POST", "/connectors", {"name": "rec-bad", "config": bad})
    r.rec("create_unknown_class", "POST", "/connectors",
          {"name": "rec-bad", "config": {"connector.class": "org.example.NoSuchConnector",
                                         "tasks.max": "1"}})
    r.rec("create_no_class", "POST", "/connectors",
          {"name": "rec-bad", "config": {"tasks.max": "1"}})
    r.rec("create_no_name", "POST", "/connectors", {"config": src_cfg})
    r.rec("create_malformed_json", "POST", "/connectors", '{"name": "rec-bad", "config": {}')
    r.rec("create_text_plain_415", "POST", "/connectors", json.dumps({"name": "x", "config": {}}),
          headers={"Content-Type": "text/plain"})
    r.rec("create_no_content_type_415", "POST", "/connectors",
          json.dumps({"name": "x", "config": {}}), headers={})
    r.rec("method_not_allowed_delete_list", "DELETE", "/connectors")
    r.rec("method_not_allowed_post_status", "POST", "/connectors/files/status")
    r.rec("put_config_name_mismatch", "PUT", "/connectors/rec-src/config",
          dict(src_cfg, name="other"))
    r.rec("put_config_create", "PUT", "/connectors/rec-sink/config", sink_cfg)
    r.rec("put_config_update", "PUT", "/connectors/rec-sink/config", dict(sink_cfg, **{"tasks.max": "2"}))
    r.rec("patch_config", "PATCH", "/connectors/rec-sink/config", {"tasks.max": "1"})
    r.rec("create_initial_stopped", "POST", "/connectors",
          {"name": "rec-stopped", "config": dict(src_cfg, topic="rec-topic-2"),
           "initial_state": "STOPPED"})
    wait_state(st, r, "rec-src", "RUNNING", "RUNNING", 1)
    wait_state(st, r, "rec-sink", "RUNNING", "RUNNING", 1)
    time.sleep(2)  # let the offsets flush (offset.flush.interval.ms=1000): records, not readiness
    r.rec("info_created", "GET", "/connectors/rec-src")
    r.rec("status_stopped_initial", "GET", "/connectors/rec-stopped/status")

    # lifecycle on the recorder's own connectors
    r.rec("restart_plain", "POST", "/connectors/rec-src/restart")
    r.rec("restart_include_tasks", "POST", "/connectors/rec-src/restart?includeTasks=true")
    wait_state(st, r, "rec-src", "RUNNING", "RUNNING", 1)
    r.rec("restart_only_failed_none_failed", "POST",
          "/connectors/rec-src/restart?includeTasks=true&onlyFailed=true")
    r.rec("restart_only_failed_without_tasks", "POST", "/connectors/rec-src/restart?onlyFailed=true")
    r.rec("restart_only_failed", "POST",
          "/connectors/broken-sink/restart?includeTasks=true&onlyFailed=true")
    r.rec("task_restart", "POST", "/connectors/rec-src/tasks/0/restart")
    wait_state(st, r, "broken-sink", "RUNNING", "FAILED", 1)
    wait_state(st, r, "rec-src", "RUNNING", "RUNNING", 1)
    r.rec("pause", "PUT", "/connectors/rec-src/pause")
    wait_state(st, r, "rec-src", "PAUSED", "PAUSED", 1)
    r.rec("status_paused", "GET", "/connectors/rec-src/status")
    r.rec("resume", "PUT", "/connectors/rec-src/resume")
    wait_state(st, r, "rec-src", "RUNNING", "RUNNING", 1)
    r.rec("topics_reset_running", "PUT", "/connectors/rec-src/topics/reset")
    r.rec("stop", "PUT", "/connectors/rec-src/stop")
    r.rec("stop_sink", "PUT", "/connectors/rec-sink/stop")
    wait_state(st, r, "rec-src", "STOPPED", ntasks=0)
    wait_state(st, r, "rec-sink", "STOPPED", ntasks=0)
    r.rec("status_stopped", "GET", "/connectors/rec-src/status")
    r.rec("info_stopped", "GET", "/connectors/rec-src")
    r.rec("tasks_stopped", "GET", "/connectors/rec-src/tasks")
    r.rec("offsets_source_stopped", "GET", "/connectors/rec-src/offsets")
    r.rec("offsets_sink_stopped", "GET", "/connectors/rec-sink/offsets")
    r.rec("offsets_patch_source", "PATCH", "/connectors/rec-src/offsets",
          {"offsets": [{"partition": {"filename": src_cfg["file"]}, "offset": {"position": 7}}]})
    r.rec("offsets_patch_sink", "PATCH", "/connectors/rec-sink/offsets",
          {"offsets": [{"partition": {"kafka_topic": "files", "kafka_partition": 0},
                        "offset": {"kafka_offset": 3}}]})
    r.rec("offsets_patch_empty", "PATCH", "/connectors/rec-sink/offsets", {})
    r.rec("offsets_patch_sink_bad", "PATCH", "/connectors/rec-sink/offsets",
          {"offsets": [{"partition": {"topic": "files"}, "offset": {"kafka_offset": 3}}]})
    r.rec("offsets_sink_after_patch", "GET", "/connectors/rec-sink/offsets")
    r.rec("offsets_delete_source", "DELETE", "/connectors/rec-src/offsets")
    r.rec("offsets_delete_sink", "DELETE", "/connectors/rec-sink/offsets")
    r.rec("offsets_source_after_delete", "GET", "/connectors/rec-src/offsets")
    r.rec("topics_reset_stopped", "PUT", "/connectors/rec-src/topics/reset")
    r.rec("topics_after_reset", "GET", "/connectors/rec-src/topics")
    r.rec("delete", "DELETE", "/connectors/rec-src")
    r.rec("delete_sink", "DELETE", "/connectors/rec-sink")
    r.rec("delete_stopped", "DELETE", "/connectors/rec-stopped")
    r.rec("info_after_delete", "GET", "/connectors/rec-src")
    r.rec("status_after_delete", "GET", "/connectors/rec-src/status")

    # plugins and validation
    r.rec("plugins", "GET", "/connector-plugins")
    r.rec("plugins_all", "GET", "/connector-plugins?connectorsOnly=false")
    r.rec("plugin_config_source", "GET", "/connector-plugins/FileStreamSourceConnector/config")
    r.rec("plugin_config_sink_fqcn", "GET", "/connector-plugins/%s/config" % SINK)
    r.rec("plugin_config_unknown", "GET", "/connector-plugins/NoSuchConnector/config")
    bad_v = {"connector.class": SRC, "tasks.max": "1", "batch.size": "many", "name": "v"}
    r.rec("validate_errors", "PUT", "/connector-plugins/FileStreamSourceConnector/config/validate",
          bad_v)
    r.rec("validate_ok", "PUT", "/connector-plugins/FileStreamSourceConnector/config/validate",
          dict(src_cfg, name="v"))
    r.rec("validate_class_mismatch", "PUT",
          "/connector-plugins/FileStreamSinkConnector/config/validate", bad_v)
    r.rec("validate_unknown_plugin", "PUT", "/connector-plugins/NoSuchConnector/config/validate",
          {"connector.class": "NoSuchConnector", "tasks.max": "1"})
    r.rec("validate_no_content_type", "PUT",
          "/connector-plugins/FileStreamSourceConnector/config/validate", json.dumps(bad_v),
          headers={})

    # loggers
    r.rec("loggers", "GET", "/admin/loggers")
    r.rec("logger_root", "GET", "/admin/loggers/root")
    r.rec("logger_unknown", "GET", "/admin/loggers/org.example.nope")
    r.rec("logger_put", "PUT", "/admin/loggers/org.apache.kafka.connect.file", {"level": "DEBUG"})
    r.rec("logger_put_bad_level", "PUT", "/admin/loggers/org.apache.kafka.connect.file",
          {"level": "LOUD"})
    r.rec("logger_put_cluster", "PUT", "/admin/loggers/org.apache.kafka.connect.file?scope=cluster",
          {"level": "INFO"})
    r.rec("loggers_after_put", "GET", "/admin/loggers")
    r.write_meta()


# ---- Jolokia ----

def on_quote(v):
    """Kafka's jmxSanitize, as src/objectname.c."""
    plain = all(c.isascii() and (c.isalnum() or c in "_-%. \t") for c in v)
    if plain:
        return v
    esc = v.replace("\\", "\\\\").replace('"', '\\"').replace("*", "\\*").replace("?", "\\?") \
        .replace("\n", "\\n")
    return '"%s"' % esc


def on_quote_pattern(literal, wildcard):
    plain = all(c.isascii() and (c.isalnum() or c in "_-%. \t") for c in literal)
    if plain:
        return literal + wildcard
    return on_quote(literal)[:-1] + wildcard + '"'


def gateway_bulk(connector, kind):
    """The bulk body src/jolokia.c (kc_jolokia_plan_body) sends for one connector, JVM included."""
    c = on_quote(connector)
    body = [{"type": "read", "mbean": "kafka.connect:type=connector-task-metrics,connector=%s,task=*" % c,
             "attribute": ["status"]}]
    if kind == "source":
        body.append({"type": "read",
                     "mbean": "kafka.connect:type=source-task-metrics,connector=%s,task=*" % c,
                     "attribute": ["source-record-write-total", "source-record-poll-total",
                                   "source-record-write-rate", "source-record-poll-rate"]})
    else:
        body.append({"type": "read",
                     "mbean": "kafka.connect:type=sink-task-metrics,connector=%s,task=*" % c,
                     "attribute": ["sink-record-send-total", "sink-record-read-total",
                                   "sink-record-send-rate"]})
    body.append({"type": "read", "mbean": "kafka.connect:type=task-error-metrics,connector=%s,task=*" % c,
                 "attribute": ["total-record-errors", "total-errors-logged",
                               "total-record-failures"]})
    if kind == "source":
        body.append({"type": "read",
                     "mbean": "kafka.producer:type=producer-topic-metrics,client-id=%s,topic=*"
                     % on_quote_pattern("connector-producer-%s-" % connector, "*"),
                     "attribute": ["byte-total", "byte-rate"]})
    else:
        body.append({"type": "read",
                     "mbean": "kafka.consumer:type=consumer-fetch-manager-metrics,client-id=%s"
                     % on_quote_pattern("connector-consumer-%s-" % connector, "*"),
                     "attribute": ["bytes-consumed-total", "bytes-consumed-rate", "records-lag-max"]})
    body += [{"type": "read", "mbean": "java.lang:type=Memory", "attribute": ["HeapMemoryUsage"]},
             {"type": "read", "mbean": "java.lang:type=Threading", "attribute": ["ThreadCount"]},
             {"type": "read", "mbean": "java.lang:type=OperatingSystem",
              "attribute": ["ProcessCpuLoad", "SystemCpuLoad"]}]
    return body


STANDING = (("files", "source"), ("files-2", "source"), ("cdc:orders,eu", "source"),
            ("files-sink", "sink"), ("broken-sink", "sink"), ("errors-sink", "sink"))


def record_jolokia(st, major=None):
    v = st.jolokia_version
    meta = stack_meta(st)
    r = Recorder("jolokia-" + v, stack.WORKER_HOSTS[0], st.jolokia_port, meta)
    hosts = stack.WORKER_HOSTS
    P = "/jolokia/"
    r.rec("version", "GET", P + "version")
    r.rec("version_root", "GET", P)
    r.rec("version_post", "POST", P, {"type": "version"})
    r.rec("post_without_slash", "POST", "/jolokia", {"type": "version"})
    # The gateway's bulk for every standing connector, to the worker of its task 0 ("holder")
    # and to the other one ("other", where its task beans do not exist).
    for name, kind in STANDING:
        task0 = meta["statuses"][name]["tasks"][0]["worker_id"].split(":")[0]
        other = [h for h in hosts if h != task0][0]
        tag = stack.safe_file(name).replace("-", "_")
        r.rec("bulk_%s_holder" % tag, "POST", P, gateway_bulk(name, kind), host=task0,
              note="worker of task 0")
        r.rec("bulk_%s_other" % tag, "POST", P, gateway_bulk(name, kind), host=other,
              note="worker without task 0")
    files_host = meta["statuses"]["files"]["tasks"][0]["worker_id"].split(":")[0]
    r.rec("search_task_beans", "POST", P,
          {"type": "search", "mbean": "kafka.connect:type=connector-task-metrics,*"}, host=files_host)
    r.rec("search_nothing", "POST", P, {"type": "search", "mbean": "kafka.connect:type=nope,*"})
    r.rec("search_get", "GET", P + "search/kafka.connect:type=connect-worker-metrics,*")
    r.rec("read_worker_metrics", "POST", P,
          {"type": "read", "mbean": "kafka.connect:type=connect-worker-metrics"})
    r.rec("read_missing_bean", "POST", P,
          {"type": "read", "mbean": "kafka.connect:type=connector-task-metrics,connector=nope,task=0",
           "attribute": "status"})
    r.rec("read_missing_bean_bulk", "POST", P,
          [{"type": "read", "mbean": "kafka.connect:type=connector-task-metrics,connector=nope,task=0",
            "attribute": ["status"]},
           {"type": "read", "mbean": "java.lang:type=Threading", "attribute": "ThreadCount"}])
    r.rec("read_pattern_no_match", "POST", P,
          {"type": "read", "mbean": "kafka.connect:type=source-task-metrics,connector=nope,task=*",
           "attribute": ["source-record-write-total"]})
    r.rec("read_pattern_no_match_bulk", "POST", P,
          [{"type": "read", "mbean": "kafka.connect:type=source-task-metrics,connector=nope,task=*",
            "attribute": ["source-record-write-total"]},
           {"type": "read", "mbean": "java.lang:type=Runtime", "attribute": ["Uptime"]}])
    r.rec("read_pattern_no_attribute", "POST", P,
          {"type": "read", "mbean": "kafka.connect:type=connector-task-metrics,connector=files,task=*",
           "attribute": ["nope"]}, host=files_host)
    r.rec("read_bad_attribute", "POST", P,
          {"type": "read", "mbean": "java.lang:type=Memory", "attribute": "Nope"})
    r.rec("read_bad_attribute_in_list", "POST", P,
          {"type": "read", "mbean": "java.lang:type=Memory", "attribute": ["HeapMemoryUsage", "Nope"]})
    r.rec("read_bad_attribute_ignore_errors", "POST", P + "?ignoreErrors=true",
          {"type": "read", "mbean": "java.lang:type=Memory", "attribute": ["HeapMemoryUsage", "Nope"]})
    r.rec("read_bad_kafka_attribute", "POST", P,
          {"type": "read", "mbean": "kafka.connect:type=connect-worker-metrics", "attribute": "nope"})
    r.rec("read_single_string_attribute", "POST", P,
          {"type": "read", "mbean": "java.lang:type=Runtime", "attribute": "Uptime"})
    r.rec("read_one_element_list", "POST", P,
          {"type": "read", "mbean": "java.lang:type=Runtime", "attribute": ["Uptime"]})
    r.rec("read_no_attribute", "POST", P, {"type": "read", "mbean": "java.lang:type=Threading"})
    r.rec("read_quoted_pattern", "POST", P,
          {"type": "read", "mbean": 'kafka.connect:type=source-task-metrics,connector="cdc:orders,eu",task=*',
           "attribute": ["source-record-write-total"]},
          host=meta["statuses"]["cdc:orders,eu"]["tasks"][0]["worker_id"].split(":")[0])
    r.rec("read_canonical_false", "POST", P + "?canonicalNaming=false",
          {"type": "read", "mbean": "kafka.connect:type=connector-task-metrics,connector=files,task=*",
           "attribute": ["status"]}, host=files_host)
    r.rec("get_read", "GET", P + "read/java.lang:type=Memory/HeapMemoryUsage")
    r.rec("get_read_inner_path", "GET", P + "read/java.lang:type=Memory/HeapMemoryUsage/used")
    r.rec("get_read_two_attributes", "GET", P + "read/java.lang:type=Threading/ThreadCount,PeakThreadCount")
    r.rec("get_read_missing", "GET", P + "read/kafka.connect:type=nope/x")
    r.rec("malformed_json", "POST", P, '[{"type":"read",')
    r.rec("bulk_non_object", "POST", P, [{"type": "version"}, 3])
    r.rec("missing_type", "POST", P, {"mbean": "java.lang:type=Memory"})
    r.rec("unknown_type", "POST", P, {"type": "nope", "mbean": "java.lang:type=Memory"})
    r.rec("malformed_objectname", "POST", P, {"type": "read", "mbean": "no colon here"})
    r.rec("method_put", "PUT", P, {"type": "version"})
    r.rec("unknown_path", "GET", P + "nope")
    r.write_meta()


# ---- edge cases, appended to an existing kafka-V recording ----

EDGE_PREFIX = "edge_"
EDGE_HEADERS = KEPT_HEADERS + ("Connection", "Cache-Control")


def record_edges(st):
    """Jetty's refusals of encoded characters in the path, KIP-891's ?version, Jersey's 415 on a
    bodyless POST, validate's naming, and the status right after a create. Appends to the
    kafka-V folder: its _stack.json keeps the standing stack's meta, only `cases` grows (earlier
    edge_* cases are replaced). The waits of these cases are on their own connectors."""
    v = stack.pinned_versions()["kafka"]
    folder = os.path.join(OUT, "kafka-" + v)
    with open(os.path.join(folder, "_stack.json"), encoding="utf-8") as f:
        meta = json.load(f)
    base = [c for c in meta["cases"] if not c.startswith(EDGE_PREFIX)]
    r = Recorder("kafka-" + v, "127.0.0.1", st.rest_port, meta)
    r.kept = EDGE_HEADERS
    E = EDGE_PREFIX
    # Jetty 12 (4.0+) refuses these escapes in the path before any resource runs.
    for tag, path in (("slash", "/connectors/a%2Fb"), ("slash_status", "/connectors/files%2Fx/status"),
                      ("backslash", "/connectors/a%5Cb"), ("percent", "/connectors/a%25b"),
                      ("percent_hex", "/connectors/a%2541"),
                      ("percent_config", "/connectors/a%25b/config"),
                      ("slash_put", "/connectors/a%2Fb/config")):
        body = {"connector.class": SRC, "tasks.max": "1"} if path.endswith("/config") and \
            tag == "slash_put" else None
        r.rec(E + "path_" + tag, "PUT" if body else "GET", path, body)
    # KIP-891: ?version on a plugin's config (4.1+).
    for tag, ver in (("wrong", "9.9"), ("right", v), ("latest", "latest"),
                     ("range", "[4.0,5.0)"), ("range_miss", "[5.0,6.0)"), ("bad", "x.y.z")):
        r.rec(E + "plugin_version_" + tag, "GET", "/connector-plugins/%s/config?version=%s"
              % (SRC, urllib.parse.quote(ver, safe="")))
    r.rec(E + "plugin_version_alias_wrong", "GET",
          "/connector-plugins/FileStreamSource/config?version=9.9")
    # Validate: no connector.class; the class in the body and an alias in the URL.
    vpath = "/connector-plugins/%s/config/validate"
    r.rec(E + "validate_no_class", "PUT", vpath % "FileStreamSourceConnector",
          {"tasks.max": "1", "name": "v", "topic": "t", "file": "/dev/null"})
    good = {"connector.class": SRC, "tasks.max": "1", "name": "v", "topic": "t",
            "file": "/dev/null", "key.converter": stack.STRING_CONVERTER,
            "value.converter": stack.STRING_CONVERTER}
    r.rec(E + "validate_alias_url_fqcn_body", "PUT", vpath % "FileStreamSource", good)
    r.rec(E + "validate_simple_url_fqcn_body", "PUT", vpath % "FileStreamSourceConnector", good)
    r.rec(E + "validate_fqcn_url_alias_body", "PUT", vpath % SRC,
          dict(good, **{"connector.class": "FileStreamSource"}))
    # A connector's status right after its create's 201: the worker writes the status record
    # only once the connector has started, so this is 404 or 200 depending on timing.
    cfg = {"connector.class": SRC, "tasks.max": "1", "topic": "edge-topic",
           "file": os.path.join(st.run_dir, "in-edge.txt"),
           "key.converter": stack.STRING_CONVERTER, "value.converter": stack.STRING_CONVERTER}
    open(cfg["file"], "a").close()
    r.rec(E + "create", "POST", "/connectors", {"name": "edge-src", "config": cfg})
    r.rec(E + "status_just_created", "GET", "/connectors/edge-src/status",
          note="timing dependent: sent right after the create's 201; the worker writes the "
               "status record once the connector has started, so a real worker answers either "
               "404 'No status found for connector edge-src' or 200 with the status")
    wait_state(st, r, "edge-src", "RUNNING", "RUNNING", 1)
    # Jersey's 415 on a bodyless POST: a foreign Content-Type is refused, none is accepted.
    r.rec(E + "restart_form_content_type", "POST", "/connectors/edge-src/restart",
          headers={"Content-Type": "application/x-www-form-urlencoded"})
    r.rec(E + "restart_no_content_type", "POST", "/connectors/edge-src/restart", headers={})
    r.rec(E + "restart_form_content_type_unknown", "POST", "/connectors/nope/restart",
          headers={"Content-Type": "application/x-www-form-urlencoded"})
    wait_state(st, r, "edge-src", "RUNNING", "RUNNING", 1)
    r.rec(E + "delete", "DELETE", "/connectors/edge-src")
    meta["cases"] = base + r.names
    with open(os.path.join(folder, "_stack.json"), "w", encoding="utf-8") as f:
        json.dump(meta, f, indent=1, ensure_ascii=False)
        f.write("\n")


# ---- NaN and Infinity in a read, appended to an existing jolokia-V recording ----

NAN_PREFIX = "nan_"


def record_nan(st, major=None):
    """Reads whose value holds a NaN double. Jolokia 2.0-2.4.x cannot serialise NaN/Infinity
    (fixed in 2.5.0, jolokia/jolokia#934): the WHOLE element answers an in-body 400
    NumberFormatException; 1.x writes null. Every Kafka client's `reauthentication-latency-avg`
    and `-max` are NaN for good on a worker without SASL re-authentication (never sampled), so
    these reads hit NaN deterministically. Appends to the jolokia-V folder like record_edges: the
    standing stack's meta stays, `cases` grows (earlier nan_* cases are replaced). The hosts are
    the recorded placement's, checked against the live stack."""
    v = st.jolokia_version
    folder = os.path.join(OUT, "jolokia-" + v)
    with open(os.path.join(folder, "_stack.json"), encoding="utf-8") as f:
        meta = json.load(f)
    base = [c for c in meta["cases"] if not c.startswith(NAN_PREFIX)]

    def host_of(name, task=0, statuses=None):
        t = [t for t in (statuses or meta["statuses"])[name]["tasks"] if t["id"] == task][0]
        return t["worker_id"].split(":")[0]
    # The connectors whose client beans these reads match (cdc:orders,eu's quoted client-id
    # matches no unquoted pattern); files-sink's two tasks may be split differently each start.
    for name in ("files", "files-2", "errors-sink"):
        live = get(st, "/connectors/%s/status" % q(name))[1]
        for t in live["tasks"]:
            assert host_of(name, t["id"], {name: live}) == host_of(name, t["id"]), \
                "%s task %d is not on the recorded worker: restart the recording" % (name, t["id"])
    r = Recorder("jolokia-" + v, stack.WORKER_HOSTS[0], st.jolokia_port, meta)
    P = "/jolokia/"
    N = NAN_PREFIX
    src = host_of("files")
    sink = host_of("errors-sink")
    prod = "kafka.producer:type=producer-metrics,client-id=connector-producer-files-0"
    r.rec(N + "producer_bean", "POST", P, {"type": "read", "mbean": prod}, host=src,
          note="whole producer-metrics bean: reauthentication-latency-avg/-max are NaN")
    r.rec(N + "single_attribute", "POST", P,
          {"type": "read", "mbean": prod, "attribute": "reauthentication-latency-avg"}, host=src)
    r.rec(N + "single_attribute_stacktrace", "POST", P,
          {"type": "read", "mbean": prod, "attribute": "reauthentication-latency-max",
           "config": {"includeStackTrace": True}}, host=src)
    r.rec(N + "get_single_attribute", "GET",
          P + "read/kafka.producer:type=producer-metrics,client-id=connector-producer-files-0/"
          "reauthentication-latency-avg", host=src)
    r.rec(N + "attribute_list", "POST", P,
          {"type": "read", "mbean": prod,
           "attribute": ["record-send-total", "reauthentication-latency-avg"]}, host=src)
    r.rec(N + "producer_pattern", "POST", P,
          {"type": "read", "mbean": "kafka.producer:type=producer-metrics,client-id=connector-producer-*",
           "attribute": ["record-send-total", "reauthentication-latency-avg"]}, host=src,
          note="a pattern over the connector producers of the worker: one NaN fails it all")
    r.rec(N + "consumer_pattern", "POST", P,
          {"type": "read",
           "mbean": "kafka.consumer:type=consumer-metrics,client-id=connector-consumer-errors-sink-*",
           "attribute": ["incoming-byte-total", "reauthentication-latency-max"]}, host=sink,
          note="a pattern over errors-sink's consumer")
    r.rec(N + "bulk_one_element", "POST", P,
          [{"type": "read", "mbean": prod, "attribute": ["record-send-total"]},
           {"type": "read", "mbean": prod, "attribute": ["reauthentication-latency-avg"]},
           {"type": "read", "mbean": "java.lang:type=Threading", "attribute": ["ThreadCount"]}],
          host=src, note="only the element with the NaN fails")
    r.rec(N + "bulk_ignore_errors", "POST", P + "?ignoreErrors=true",
          [{"type": "read", "mbean": prod,
            "attribute": ["record-send-total", "reauthentication-latency-avg"]}], host=src)
    if v.startswith("2."):
        # Every producer of the worker (the worker's own kc-real-* ones too, which connect-sim
        # does not model: comparable only where the answer is the error).
        r.rec(N + "producer_pattern_all", "POST", P,
              {"type": "read", "mbean": "kafka.producer:type=producer-metrics,client-id=*"},
              host=src)
    meta["cases"] = base + r.names
    with open(os.path.join(folder, "_stack.json"), "w", encoding="utf-8") as f:
        json.dump(meta, f, indent=1, ensure_ascii=False)
        f.write("\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", choices=("connect", "jolokia2", "jolokia1", "jolokia2latest",
                                       "edges", "nan"))
    ap.add_argument("--jolokia", type=int, choices=(1, 2),
                    help="with --only nan: that agent only (default both, one after the other)")
    a = ap.parse_args()
    if a.only == "jolokia2latest":
        with stack.RealStack(jolokia=stack.pinned_versions()["jolokia2latest"]) as st:
            print("real stack up (Jolokia %s), recording" % st.jolokia_version, flush=True)
            record_jolokia(st)
            record_nan(st)
        return 0
    if a.only == "nan":
        for major in ((a.jolokia,) if a.jolokia else (2, 1)):
            with stack.RealStack(jolokia=major) as st:
                print("real stack up (Jolokia %d), recording NaN reads" % major, flush=True)
                record_nan(st, major)
        return 0
    if a.only == "edges":
        with stack.RealStack(jolokia=2) as st:
            print("real stack up (Jolokia 2), recording edge cases", flush=True)
            record_edges(st)
        return 0
    if a.only in (None, "connect", "jolokia2"):
        with stack.RealStack(jolokia=2) as st:
            print("real stack up (Jolokia 2), recording", flush=True)
            if a.only in (None, "jolokia2"):
                record_jolokia(st, 2)
            if a.only in (None, "connect"):
                record_connect(st)
    if a.only in (None, "jolokia1"):
        with stack.RealStack(jolokia=1) as st:
            print("real stack up (Jolokia 1), recording", flush=True)
            record_jolokia(st, 1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
