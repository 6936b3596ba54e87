#!/usr/bin/env python3
"""The real stack: Apache Kafka (one KRaft broker, two distributed Connect workers) with the
real Jolokia JVM agent in every worker, on loopback — what the gateway is tested against.

One module for the tests, the demo and a developer:
  python3 test/real/stack.py fetch            # Maven: pinned jars into build/real (cached)
  python3 test/real/stack.py up [--jolokia 2|1|2.6] [--no-feed]
                                              # starts everything, prints `listening on` lines,
                                              # runs until SIGTERM/SIGINT, then removes it all
In Python: `with RealStack(jolokia=2) as st: ...` (see RealStack). The agents (pom.xml): 2 is the
jolokia2 pin (2.4.2), 1 the jolokia1 pin (1.7.2), "2.6" (or "2.6.0") the jolokia2latest pin.

Worker N listens on 127.0.0.N with the same REST port and the same Jolokia port on both
addresses, so `worker_id` is `127.0.0.N:PORT` as in production and the gateway reaches each
agent through `JOLOKIA_URL=http://{host}:JPORT/jolokia`. Free ports, readiness by polling,
512 MB heaps; every process is stopped and its folder removed on exit, even when a test fails.
"""
import argparse
import atexit
import base64
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.path.normpath(os.path.join(HERE, "..", ".."))
CACHE_DIR = os.environ.get("KC_REAL_CACHE") or os.path.join(SOURCE_DIR, "build", "real")
POM = os.path.join(HERE, "pom.xml")

WORKER_HOSTS = ("127.0.0.1", "127.0.0.2")
GROUP_ID = "kc-real"

# The connectors of the real stack: each names what the issue asks the tests to cover.
# Feed rates are lines per second appended by the feeder to each source's input file.
FEED_RATES = {"files": 20, "files-2": 10, "cdc:orders,eu": 5}
STRING_CONVERTER = "org.apache.kafka.connect.storage.StringConverter"
FILE_SOURCE = "org.apache.kafka.connect.file.FileStreamSourceConnector"
FILE_SINK = "org.apache.kafka.connect.file.FileStreamSinkConnector"


def connector_configs(run_dir):
    """name -> config of the standing connectors, with files under run_dir."""
    def source(name, topic):
        return {"connector.class": FILE_SOURCE, "tasks.max": "1", "topic": topic,
                "file": os.path.join(run_dir, "in-%s.txt" % safe_file(name)),
                "value.converter": STRING_CONVERTER, "key.converter": STRING_CONVERTER}
    return {
        # A pair whose names share a prefix: connector-producer-files-* also matches files-2's.
        "files": source("files", "files"),
        "files-2": source("files-2", "files-2"),
        # ':' and ',' force ObjectName quoting: connector="cdc:orders,eu".
        "cdc:orders,eu": source("cdc:orders,eu", "cdc-orders"),
        # Two tasks share the partitions of files and files-2 (the broker makes 2 per topic).
        "files-sink": {"connector.class": FILE_SINK, "tasks.max": "2", "topics": "files,files-2",
                       "file": os.path.join(run_dir, "out-files-sink.txt"),
                       "value.converter": STRING_CONVERTER, "key.converter": STRING_CONVERTER,
                       # A made-up secret: its value must never leave the gateway.
                       "sink.password": "real-secret-42"},
        # Its task fails at start with a real trace: the output folder does not exist.
        "broken-sink": {"connector.class": FILE_SINK, "tasks.max": "1", "topics": "files",
                        "file": "/nonexistent-kc-real/out.txt"},
        # Plain text is not JSON: every record fails conversion and is counted, not fatal.
        "errors-sink": {"connector.class": FILE_SINK, "tasks.max": "1", "topics": "files-2",
                        "file": os.path.join(run_dir, "out-errors-sink.txt"),
                        "value.converter": "org.apache.kafka.connect.json.JsonConverter",
                        "value.converter.schemas.enable": "false",
                        "key.converter": STRING_CONVERTER,
                        "errors.tolerance": "all"},
    }


def safe_file(name):
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name)


class StackError(RuntimeError):
    pass


# ---- Maven: the pinned jars ----

def fetch(quiet=True):
    """Copies the pinned jars from Maven (the machine's ~/.m2 caches the download) into
    build/real/<pom hash>/{lib,agents} and returns those two folders. A folder per pom content,
    filled under a temporary name and renamed when complete: a stack that is running keeps its
    jars when the pom changes, and two fetches at once never see each other's half-copied
    folder. Raises StackError with one clear line when Maven can't."""
    with open(POM, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()[:12]
    home = os.path.join(CACHE_DIR, digest)
    lib, agents = os.path.join(home, "lib"), os.path.join(home, "agents")
    if os.path.isdir(home):
        return lib, agents
    if shutil.which("mvn") is None:
        raise StackError("real stack: mvn is not installed (apt-get install maven)")
    os.makedirs(CACHE_DIR, exist_ok=True)
    partial = tempfile.mkdtemp(prefix=".fetch-", dir=CACHE_DIR)
    try:
        base = ["mvn", "-B", "-f", POM] + (["-q"] if quiet else [])
        steps = [base + ["dependency:copy-dependencies", "-DincludeScope=runtime",
                         "-DoutputDirectory=" + os.path.join(partial, "lib")],
                 base + ["-P", "agents", "dependency:copy-dependencies",
                         "-DincludeGroupIds=org.jolokia", "-DexcludeTransitive=true",
                         "-DoutputDirectory=" + os.path.join(partial, "agents")],
                 # A second version of the same artifact: a profile (and a step) of its own.
                 base + ["-P", "agents2latest", "dependency:copy-dependencies",
                         "-DincludeGroupIds=org.jolokia", "-DexcludeTransitive=true",
                         "-DoutputDirectory=" + os.path.join(partial, "agents")]]
        for argv in steps:
            r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            if r.returncode != 0:
                tail = [ln for ln in r.stdout.splitlines() if "ERROR" in ln][:1]
                raise StackError("real stack: Maven could not fetch the pinned Kafka/Jolokia jars "
                                 "(%s)" % (tail[0].strip() if tail else "mvn exit %d" % r.returncode))
        try:
            os.rename(partial, home)
        except OSError:  # another fetch finished first: its folder is as good
            if not os.path.isdir(home):
                raise
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return lib, agents


def pinned_versions():
    """{'kafka': '4.1.1', 'jolokia2': ..., 'jolokia2latest': ..., 'jolokia1': ...} read from
    the pom."""
    import xml.etree.ElementTree as ET
    ns = {"m": "http://maven.apache.org/POM/4.0.0"}
    props = ET.parse(POM).getroot().find("m:properties", ns)
    return {p.tag.split("}")[1].replace(".version", ""): p.text for p in props}


def agent_version(jolokia):
    """The pinned agent version `jolokia` names: 2 (the jolokia2 pin), 1 (jolokia1), or a
    version string ("2.6", "2.6.0", "2.4.2", "1.7") that prefixes exactly one pin."""
    pins = {k: v for k, v in pinned_versions().items() if k.startswith("jolokia")}
    if jolokia in (1, 2, "1", "2"):
        return pins["jolokia%s" % jolokia]
    want = str(jolokia)
    found = sorted({v for v in pins.values() if v == want or v.startswith(want + ".")})
    if len(found) != 1:
        raise StackError("real stack: Jolokia %r names %s of the pinned agents %s"
                         % (jolokia, "none" if not found else "several", sorted(pins.values())))
    return found[0]


def agent_jar(jolokia):
    """The agent jar of that pinned version, by exact name (two 2.x jars sit side by side)."""
    _, agents = fetch()
    v = agent_version(jolokia)
    name = ("jolokia-jvm-%s.jar" if v.startswith("1.") else "jolokia-agent-jvm-%s-javaagent.jar") % v
    path = os.path.join(agents, name)
    if not os.path.isfile(path):
        raise StackError("real stack: no Jolokia %s agent (%s) in %s" % (v, name, agents))
    return path


# ---- ports and HTTP ----

def free_port(hosts=("127.0.0.1",)):
    """A TCP port free on every one of hosts (the workers share one port number)."""
    for _ in range(200):
        s = socket.socket()
        s.bind((hosts[0], 0))
        port = s.getsockname()[1]
        others, ok = [], True
        for h in hosts[1:]:
            o = socket.socket()
            try:
                o.bind((h, port))
                others.append(o)
            except OSError:
                ok = False
                o.close()
                break
        s.close()
        for o in others:
            o.close()
        if ok:
            return port
    raise StackError("real stack: no free port on %s" % ",".join(hosts))


def http_json(method, url, body=None, timeout=10.0):
    """(status, parsed JSON or None) — never raises for HTTP statuses."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Content-Type": "application/json"} if data else {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            raw = r.read()
            return r.status, (json.loads(raw) if raw else None)
    except urllib.error.HTTPError as e:
        raw = e.read()
        try:
            return e.code, json.loads(raw) if raw else None
        except ValueError:
            return e.code, None


def wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = predicate()
        except (OSError, ValueError) as e:
            last = e
        if last and not isinstance(last, Exception):
            return last
        time.sleep(0.25)
    raise StackError("real stack: timed out after %.0fs waiting for %s (last: %r)"
                     % (timeout, what, last))


def tcp_open(host, port):
    with socket.create_connection((host, port), timeout=1.0):
        return True


# ---- the stack ----

_LIVE = []


@atexit.register
def _stop_leftovers():
    for st in list(_LIVE):
        st.stop()


class JavaProc:
    """One JVM with its console output in a file."""

    def __init__(self, name, argv, log_path):
        self.name = name
        self.argv = argv
        self.log_path = log_path
        self.log = open(log_path, "ab")
        self.p = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL, start_new_session=True)

    def alive(self):
        return self.p.poll() is None

    def kill(self, sig=signal.SIGKILL):
        if self.alive():
            try:
                os.killpg(self.p.pid, sig)
            except ProcessLookupError:
                pass

    def stop(self, timeout=20.0):
        if self.alive():
            self.kill(signal.SIGTERM)
            try:
                self.p.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill(signal.SIGKILL)
                self.p.wait(10)
        self.log.close()

    def tail(self, n=40):
        try:
            with open(self.log_path, "rb") as f:
                return b"\n".join(f.read().splitlines()[-n:]).decode(errors="replace")
        except OSError:
            return ""


class Feeder(threading.Thread):
    """Appends `rate` numbered lines per second to each source's input file, in 10 steps a
    second, so the tests know the rate the connectors really move."""

    def __init__(self, files_rates):
        super().__init__(daemon=True)
        self.files_rates = files_rates  # path -> lines/s
        self.stop_event = threading.Event()
        self.written = {path: 0 for path in files_rates}
        self.started_at = None

    def run(self):
        self.started_at = time.monotonic()
        while not self.stop_event.is_set():
            elapsed = time.monotonic() - self.started_at
            for path, rate in self.files_rates.items():
                due = int(elapsed * rate)
                n = due - self.written[path]
                if n > 0:
                    with open(path, "a") as f:
                        for i in range(n):
                            f.write("line %d of %s\n" % (self.written[path] + i, os.path.basename(path)))
                    self.written[path] += n
            self.stop_event.wait(0.1)

    def stop(self):
        self.stop_event.set()


class RealStack:
    """A KRaft broker and two Connect workers with Jolokia `jolokia` agents (2, 1 or a pinned
    version such as "2.6": see agent_version; `jolokia_version` is the exact one).

    Attributes after start(): connect_urls (one per worker), connect_url (worker 1),
    jolokia_port, jolokia_urls (per worker), jolokia_template, worker_ids, run_dir.
    """

    def __init__(self, jolokia=2, connectors=True, feed=True, java_heap="512m",
                 rebalance_delay_ms=3000):
        self.jolokia = jolokia
        self.jolokia_version = agent_version(jolokia)
        self.want_connectors = connectors
        self.want_feed = feed
        self.heap = java_heap
        self.rebalance_delay_ms = rebalance_delay_ms
        self.procs = {}
        self.feeder = None
        self.run_dir = None

    # -- lifecycle --

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def start(self, timeout=180.0):
        lib, _ = fetch()
        self.classpath = os.path.join(lib, "*")
        self.agent = agent_jar(self.jolokia)
        self.run_dir = tempfile.mkdtemp(prefix="kc-real-")
        _LIVE.append(self)
        try:
            self._start_broker(timeout)
            self.rest_port = free_port(WORKER_HOSTS)
            self.jolokia_port = free_port(WORKER_HOSTS)
            for i, host in enumerate(WORKER_HOSTS):
                self.start_worker(i)
            for i in range(len(WORKER_HOSTS)):
                self.wait_worker(i, timeout)
            if self.want_connectors:
                self.create_connectors(timeout)
            return self
        except BaseException:
            self.dump_logs()
            self.stop()
            raise

    def stop(self):
        if self.feeder:
            self.feeder.stop()
        for name in sorted(self.procs, key=lambda n: n != "broker"):  # workers first
            if name != "broker":
                self.procs[name].stop()
        if "broker" in self.procs:
            self.procs["broker"].stop()
        if self.run_dir:
            shutil.rmtree(self.run_dir, ignore_errors=True)
            self.run_dir = None
        if self in _LIVE:
            _LIVE.remove(self)

    def dump_logs(self, out=sys.stderr):
        for name, p in self.procs.items():
            out.write("---- %s (%s) ----\n%s\n" % (name, p.log_path, p.tail()))

    # -- broker --

    def java(self, *extra):
        return ["java", "-Xms64m", "-Xmx" + self.heap, "-XX:+UseSerialGC",
                "-XX:TieredStopAtLevel=1", "-Djava.awt.headless=true",
                "-Dlog4j2.configurationFile=" + os.path.join(HERE, "log4j2.properties"),
                "-cp", self.classpath] + list(extra)

    def _start_broker(self, timeout):
        self.broker_port = free_port()
        self.controller_port = free_port()
        data = os.path.join(self.run_dir, "kraft")
        props = os.path.join(self.run_dir, "broker.properties")
        write_properties(props, {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.voters": "1@127.0.0.1:%d" % self.controller_port,
            "listeners": "PLAINTEXT://127.0.0.1:%d,CONTROLLER://127.0.0.1:%d"
                         % (self.broker_port, self.controller_port),
            "advertised.listeners": "PLAINTEXT://127.0.0.1:%d" % self.broker_port,
            "controller.listener.names": "CONTROLLER",
            "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
            "inter.broker.listener.name": "PLAINTEXT",
            "log.dirs": data,
            "num.partitions": "2",
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "4",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            "group.initial.rebalance.delay.ms": "0",
        })
        self.broker_props = props
        # An id starting with '-' reads as an option to the tool (1 start in 64 failed so);
        # Kafka's own Uuid.randomUuid() avoids them the same way.
        cluster_id = "-"
        while cluster_id.startswith("-"):
            cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        fmt = subprocess.run(self.java("kafka.tools.StorageTool", "format", "-t", cluster_id,
                                       "-c", props),
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if fmt.returncode != 0:
            raise StackError("real stack: formatting KRaft storage failed: %s" % fmt.stdout[-500:])
        self.start_broker(timeout)

    def start_broker(self, timeout=120.0):
        """(Re)starts the broker on its port and storage; waits until it accepts connections."""
        self.procs["broker"] = JavaProc("broker", self.java("kafka.Kafka", self.broker_props),
                                        os.path.join(self.run_dir, "broker.log"))
        wait_for(lambda: self._alive("broker") and tcp_open("127.0.0.1", self.broker_port),
                 timeout, "the Kafka broker on 127.0.0.1:%d" % self.broker_port)

    def stop_broker(self):
        self.procs["broker"].stop()

    # -- workers --

    @property
    def worker_ids(self):
        return ["%s:%d" % (h, self.rest_port) for h in WORKER_HOSTS]

    @property
    def connect_urls(self):
        return ["http://%s:%d" % (h, self.rest_port) for h in WORKER_HOSTS]

    @property
    def connect_url(self):
        return self.connect_urls[0]

    @property
    def jolokia_urls(self):
        return ["http://%s:%d/jolokia/" % (h, self.jolokia_port) for h in WORKER_HOSTS]

    @property
    def jolokia_template(self):
        return "http://{host}:%d/jolokia" % self.jolokia_port

    def start_worker(self, i):
        host = WORKER_HOSTS[i]
        props = os.path.join(self.run_dir, "worker-%d.properties" % i)
        write_properties(props, {
            "bootstrap.servers": "127.0.0.1:%d" % self.broker_port,
            "group.id": GROUP_ID,
            "key.converter": "org.apache.kafka.connect.json.JsonConverter",
            "value.converter": "org.apache.kafka.connect.json.JsonConverter",
            "key.converter.schemas.enable": "false",
            "value.converter.schemas.enable": "false",
            "config.storage.topic": "kc-real-configs",
            "offset.storage.topic": "kc-real-offsets",
            "status.storage.topic": "kc-real-status",
            "config.storage.replication.factor": "1",
            "offset.storage.replication.factor": "1",
            "offset.storage.partitions": "2",
            "status.storage.replication.factor": "1",
            "status.storage.partitions": "2",
            "listeners": "http://%s:%d" % (host, self.rest_port),
            "rest.advertised.host.name": host,
            "rest.advertised.port": str(self.rest_port),
            "offset.flush.interval.ms": "1000",
            # The 5-minute default would keep a dead worker's tasks unassigned for minutes.
            "scheduled.rebalance.max.delay.ms": str(self.rebalance_delay_ms),
            "plugin.path": "",
        })
        # discoveryEnabled=false: the 1.x agent otherwise answers multicast discovery on
        # 239.192.48.84, and nothing here may talk beyond loopback.
        agent = "-javaagent:%s=host=%s,port=%d,discoveryEnabled=false" % (
            self.agent, host, self.jolokia_port)
        self.procs["worker-%d" % i] = JavaProc(
            "worker-%d" % i,
            self.java(agent, "org.apache.kafka.connect.cli.ConnectDistributed", props),
            os.path.join(self.run_dir, "worker-%d.log" % i))

    def wait_worker(self, i, timeout=180.0):
        url = self.connect_urls[i]
        wait_for(lambda: self._alive("worker-%d" % i) and http_json("GET", url + "/health")[0] == 200,
                 timeout, "Connect worker %s" % url)
        jurl = self.jolokia_urls[i] + "version"
        wait_for(lambda: http_json("GET", jurl)[0] == 200, timeout,
                 "the Jolokia agent %s" % jurl)

    def kill_worker(self, i, sig=signal.SIGKILL):
        self.procs["worker-%d" % i].kill(sig)
        self.procs["worker-%d" % i].p.wait(20)

    def _alive(self, name):
        p = self.procs[name]
        if not p.alive():
            raise StackError("real stack: %s exited with %s:\n%s" % (name, p.p.returncode, p.tail()))
        return True

    # -- connectors --

    def input_file(self, name):
        return connector_configs(self.run_dir)[name]["file"]

    def create_connectors(self, timeout=120.0):
        configs = connector_configs(self.run_dir)
        for name in FEED_RATES:
            open(configs[name]["file"], "a").close()
        for name, config in configs.items():
            self.put_config(name, config)
        if self.want_feed:
            self.feeder = Feeder({configs[n]["file"]: r for n, r in FEED_RATES.items()})
            self.feeder.start()
        expected = {"broken-sink": "FAILED"}

        def all_settled():
            for name, config in configs.items():
                code, st = http_json("GET", self.connect_url + "/connectors/%s/status" % quote(name))
                if code != 200 or st["connector"]["state"] != "RUNNING":
                    return False
                want = int(config["tasks.max"])
                if len(st["tasks"]) != want:
                    return False
                if any(t["state"] != expected.get(name, "RUNNING") for t in st["tasks"]):
                    return False
            return True
        wait_for(all_settled, timeout, "every connector RUNNING (broken-sink's task FAILED)")

    def put_config(self, name, config, timeout=60.0):
        """PUT with retries: right after start a worker may answer 409 (rebalance) or 500."""
        url = self.connect_url + "/connectors/%s/config" % quote(name)

        def put():
            code, body = http_json("PUT", url, config, timeout=30)
            return code in (200, 201) or None
        wait_for(put, timeout, "PUT config of %s" % name)


def quote(name):
    return urllib.parse.quote(name, safe="")


def write_properties(path, props):
    with open(path, "w") as f:
        for k, v in props.items():
            f.write("%s=%s\n" % (k, v))


# ---- command line ----

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("fetch", help="fetch the pinned jars (Maven) into build/real")
    up = sub.add_parser("up", help="run the real stack until SIGTERM/SIGINT")
    up.add_argument("--jolokia", default="2",
                    help="2 (the jolokia2 pin), 1 (jolokia1) or a pinned version, e.g. 2.6")
    up.add_argument("--no-feed", action="store_true")
    args = ap.parse_args(argv)
    try:
        if args.cmd == "fetch":
            lib, agents = fetch(quiet=False)
            print("real stack: %s in %s" % (pinned_versions(), os.path.dirname(lib)))
            return 0
        stop = threading.Event()
        starting = [True]

        def on_signal(*_):
            stop.set()
            # While starting (up to minutes), stop now: start() removes what it started.
            if starting[0]:
                starting[0] = False  # a second signal must not interrupt the cleanup
                raise StackError("real stack: interrupted while starting")
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, on_signal)
        st = RealStack(jolokia=args.jolokia, feed=not args.no_feed)
        st.start()
        starting[0] = False
        try:
            print("listening on %s (connect)" % st.connect_url.replace("http://", ""), flush=True)
            for i, host in enumerate(WORKER_HOSTS):
                print("listening on %s:%d (jolokia worker=%d)" % (host, st.jolokia_port, i),
                      flush=True)
            print("real stack: Kafka %s, Jolokia %s agents; logs in %s"
                  % (pinned_versions()["kafka"], st.jolokia_version,
                     st.run_dir), flush=True)
            parent = os.getppid()
            while not stop.is_set():
                for name in st.procs:
                    st._alive(name)
                # Whoever started us is gone (a test runner killed by its timeout): stop too.
                if os.getppid() != parent:
                    print("real stack: parent process exited; stopping", file=sys.stderr)
                    break
                stop.wait(1.0)
        finally:
            st.stop()
        return 0
    except StackError as e:
        print(str(e), file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
