"""Checks the deployment files under deploy/ against the binary they deploy.

Every YAML parses; the Dockerfile has a build and a slim runtime stage, a numeric non-root USER
and a HEALTHCHECK on /health; compose and the Kubernetes manifests use the real probes (/health,
/ready), only env names the gateway reads (src/config.c, else the contract list below), a
termination grace period longer than preStop + KC_SHUTDOWN_TIMEOUT; the Prometheus rules and
config pass promtool, and the alerts fire (and stay quiet) on synthetic series.

Fleet mode: compose has a redis service the console's KC_REDIS_URL points at (with and without a
password), a balancer in front of the scalable console; the kustomize component
kubernetes/components/redis parses, its patches target the real Deployment, container and
NetworkPolicy, and the rendered fleet lets the gateway (and only it) reach Redis on 6379. The
Redis start scripts are run against the local redis-server when there is one.

Needs python3-yaml (Debian). promtool (Debian `prometheus`), kubectl, nginx and redis-server are
used when present; the tests that need them are skipped with a loud reason otherwise.
"""
import json
import os
import re
import shutil
import socket
import subprocess
import time

import pytest

try:
    import yaml
except ImportError:  # pragma: no cover - a CI setup problem, not a skip
    yaml = None

SOURCE_DIR = os.path.abspath(os.environ.get("KC_SOURCE_DIR") or
                             os.path.join(os.path.dirname(__file__), "..", ".."))
DEPLOY = os.path.join(SOURCE_DIR, "deploy")
K8S = os.path.join(DEPLOY, "kubernetes")
REDIS_COMPONENT = os.path.join(K8S, "components", "redis")
PROM = os.path.join(DEPLOY, "prometheus")

# The contract's environment variables (spec README §2 + the gateway issue). Used when src/
# does not define its configuration table yet; otherwise src/ is the authority.
CONTRACT_ENV = frozenset("""
LISTEN_ADDR KAFKA_CONNECT_URL JOLOKIA_URL METRICS_CACHE_TTL KC_CONFIG LOG_LEVEL KC_READ_ONLY
KC_AUTH_TOKEN CORS_ALLOWED_ORIGINS KAFKA_CONNECT_USERNAME KAFKA_CONNECT_PASSWORD
KAFKA_CONNECT_CA_FILE KAFKA_CONNECT_TLS_VERIFY JOLOKIA_USERNAME JOLOKIA_PASSWORD JOLOKIA_CA_FILE
JOLOKIA_TLS_VERIFY KC_CONNECT_TIMEOUT_MS KC_REQUEST_TIMEOUT_MS JOLOKIA_TIMEOUT_MS
KC_MAX_BODY_BYTES KC_MAX_CONNECTIONS KC_KEEPALIVE_TIMEOUT KC_SHUTDOWN_TIMEOUT
KC_UPSTREAM_MAX_INFLIGHT KC_UPSTREAM_QUEUE KC_NEGATIVE_TTL METRICS_HISTORY
KC_CACHE_MAX_ENTRIES KC_CACHE_MAX_BYTES KC_STATIC_DIR
""".split())
CONTRACT_FILE_KEYS = frozenset(["listen", "metricsCacheTTL", "logLevel", "readOnly", "clusters",
                                "alerts"])
CLUSTER_KEYS = frozenset(["name", "connectUrl", "jolokiaUrl"] + [
    p + s for p in ("connect", "jolokia")
    for s in ("Username", "Password", "CaFile", "TlsVerify", "ConnectTimeout", "Timeout")])
ALERT_KINDS = frozenset(["error_rate", "task_failed", "zero_throughput", "lag",
                         "jolokia_unreachable"])
DEFAULT_SHUTDOWN_S = 20.0

# Prometheus metric names of the contract (issue 7).
METRICS = frozenset("""
kconnect_connector_records_total kconnect_connector_bytes_total kconnect_connector_errors_total
kconnect_connector_records_per_second kconnect_connector_bytes_per_second
kconnect_connector_error_ratio kconnect_connector_state kconnect_connector_tasks
kconnect_task_state kconnect_task_records_total kconnect_task_bytes_total
kconnect_task_errors_total kconnect_connector_lag_records kconnect_worker_heap_used_bytes
kconnect_worker_heap_max_bytes kconnect_worker_cpu_ratio kconnect_worker_threads
kconnect_jolokia_up kconnect_connect_up kconnect_http_requests_total
kconnect_http_request_duration_seconds kconnect_upstream_requests_total
kconnect_upstream_request_duration_seconds kconnect_cache_hits_total kconnect_cache_misses_total
kconnect_cache_coalesced_total kconnect_inflight_requests kconnect_open_connections
kconnect_stream_subscribers
""".split())
HISTOGRAMS = ("kconnect_http_request_duration_seconds",
              "kconnect_upstream_request_duration_seconds")


# ----------------------------------------------------------------------------- helpers

@pytest.fixture(scope="session", autouse=True)
def _need_yaml():
    if yaml is None:
        pytest.fail("python3-yaml is missing: apt-get install -y python3-yaml (add it to .ci/run)")


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def load_yaml_docs(path):
    return [d for d in yaml.safe_load_all(read(path)) if d is not None]


def all_yaml_files():
    out = []
    for root, _, files in os.walk(DEPLOY):
        out += [os.path.join(root, f) for f in files if f.endswith((".yml", ".yaml"))]
    return sorted(out)


def parse_duration_s(text):
    """Durations the way the binary reads them: 5s, 500ms, 5m, 1h or plain seconds."""
    m = re.fullmatch(r"\s*([0-9.]+)\s*(ms|s|m|h)?\s*", str(text))
    assert m, "not a duration: %r" % text
    return float(m.group(1)) * {"ms": 0.001, "s": 1, None: 1, "m": 60, "h": 3600}[m.group(2)]


def source_files():
    out = []
    for sub in ("src", os.path.join("src", "handlers")):
        d = os.path.join(SOURCE_DIR, sub)
        if os.path.isdir(d):
            out += [os.path.join(d, f) for f in sorted(os.listdir(d)) if f.endswith(".c")]
    return out  # src/sim/ is connect-sim, not the gateway


def source_config():
    """(env names, file keys) the gateway really reads, from src/*.c; empty sets if none yet."""
    text = "\n".join(read(p) for p in source_files())
    env = set(re.findall(r'getenv\(\s*"([A-Z][A-Z0-9_]*)"\s*\)', text))
    # Table rows {"ENV", "fileKey", ...} and {"KC_CONNECT_TIMEOUT_MS", offsetof(...)}.
    rows = re.findall(r'\{\s*"([A-Z][A-Z0-9_]*)"\s*,\s*(?:"([A-Za-z][A-Za-z0-9]*)")?', text)
    keys = set()
    prefixes = set()
    for name, key in rows:
        if key in ("connect", "jolokia"):
            prefixes.add(name)  # endpoint prefix, e.g. {"JOLOKIA", "jolokia", ...}
            continue
        if "_" not in name:
            continue  # other tables ({"GET", ...}) are not settings
        env.add(name)
        if key and key[0].islower():
            keys.add(key)
    # Names built as "%s_USERNAME" from the endpoint prefixes (KAFKA_CONNECT, JOLOKIA).
    for suffix in re.findall(r'"%s_([A-Z][A-Z0-9_]*)"', text):
        env.update(p + "_" + suffix for p in prefixes)
    cfg_c = os.path.join(SOURCE_DIR, "src", "config.c")  # top-level keys read by load_file()
    if os.path.exists(cfg_c):
        keys.update(re.findall(r'json_object_get\(\s*root\s*,\s*"([A-Za-z]+)"\s*\)', read(cfg_c)))
    return env, keys


@pytest.fixture(scope="session")
def known_env():
    env, _ = source_config()
    if not env:
        print("NOTE: src/ reads no env names yet; checking against the contract list")
        return set(CONTRACT_ENV)
    return env


@pytest.fixture(scope="session")
def known_file_keys():
    _, keys = source_config()
    return keys or set(CONTRACT_FILE_KEYS)


# ----------------------------------------------------------------------------- Dockerfile

def dockerfile_stages():
    """[(base image, stage name, [(INSTRUCTION, args)])] with continuation lines joined."""
    text = re.sub(r"\\\n", " ", read(os.path.join(DEPLOY, "Dockerfile")))
    args, stages = {}, []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        instr, _, rest = line.partition(" ")
        instr = instr.upper()
        if instr == "ARG" and not stages:
            k, _, v = rest.strip().partition("=")
            args[k] = v
        elif instr == "FROM":
            m = re.match(r"(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?", rest.strip(), re.I)
            image = re.sub(r"\$\{?(\w+)\}?", lambda mm: args.get(mm.group(1), ""), m.group(1))
            stages.append((image, m.group(2), []))
        elif stages:
            stages[-1][2].append((instr, rest.strip()))
    return stages


def test_dockerfile_stages():
    stages = dockerfile_stages()
    assert len(stages) >= 2, "want a multi-stage build"
    for image, name, _ in stages:
        assert image == "debian:bookworm-slim", "stage %s is based on %s" % (name, image)
    build = " ".join(a for _, _, ins in stages[:-1] for i, a in ins if i == "RUN")
    for needle in ("npm ci", "-DCMAKE_BUILD_TYPE=Release", "-DKC_BUILD_TESTS=OFF",
                   "libevhtp-dev", "libjansson-dev", "libcurl4-openssl-dev", "libonig-dev"):
        assert needle in build, "build stage lacks %s" % needle


def test_dockerfile_runtime_stage():
    _, _, ins = dockerfile_stages()[-1]
    runs = " ".join(a for i, a in ins if i == "RUN")
    installed = set()
    for m in re.finditer(r"apt-get install (.*?)(?:&&|$)", runs):
        installed |= {w for w in m.group(1).split() if not w.startswith("-")}
    dev = sorted(p for p in installed if p.endswith("-dev") or p in ("gcc", "cmake", "npm", "make"))
    assert not dev, "build tools in the runtime image: %s" % dev
    for lib in ("libevhtp0", "libevent-2.1-7", "libjansson4", "libcurl4", "libonig5",
                "ca-certificates", "zlib1g"):
        assert lib in installed, "runtime stage does not install %s" % lib
    assert any(i == "COPY" and "--from=" in a and "kconnect-console" in a for i, a in ins)

    users = [a for i, a in ins if i == "USER"]
    assert users, "no USER in the runtime stage"
    uid = users[-1].split(":")[0]
    assert uid.isdigit() and int(uid) != 0, "USER must be a numeric non-root uid (runAsNonRoot)"
    assert [a for i, a in ins if i == "EXPOSE"] == ["8080"]
    assert [a for i, a in ins if i == "STOPSIGNAL"] == ["SIGTERM"]
    assert any(i == "ENTRYPOINT" and "kconnect-console" in a for i, a in ins)

    hc = [a for i, a in ins if i == "HEALTHCHECK"]
    assert len(hc) == 1 and "/health" in hc[0], "HEALTHCHECK must probe /health"
    probe = re.search(r"\bCMD\b\s*(.*)", hc[0]).group(1)
    tool = "curl" if "curl " in probe else "wget" if "wget " in probe else None
    assert tool is None or tool in installed, "HEALTHCHECK uses %s, not installed" % tool


def test_dockerfile_copy_sources_exist():
    missing = []
    for _, _, ins in dockerfile_stages():
        for i, a in ins:
            if i != "COPY" or "--from=" in a:
                continue
            for src in a.split()[:-1]:
                if not src.startswith("--") and not os.path.exists(os.path.join(SOURCE_DIR, src)):
                    missing.append(src)
    if missing:
        pkg = os.path.join(SOURCE_DIR, "package.json")
        scripts = json.loads(read(pkg)).get("scripts", {}) if os.path.exists(pkg) else {}
        pending = [m for m in missing if any(m.rstrip("/") in s for s in scripts.values())]
        if pending == missing:
            pytest.skip("NOT YET BUILDABLE: %s referenced by package.json scripts does not exist "
                        "yet; docker build will fail until it does" % missing)
    assert not missing, "Dockerfile COPYs paths that do not exist: %s" % missing


# ----------------------------------------------------------------------------- all YAML

def test_every_yaml_parses():
    files = all_yaml_files()
    assert len(files) >= 10, files
    for path in files:
        assert load_yaml_docs(path), "%s is empty" % path


# ----------------------------------------------------------------------------- compose

@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load(read(os.path.join(DEPLOY, "docker-compose.yml")))


def env_dict(env):
    if isinstance(env, list):
        return dict(e.split("=", 1) if "=" in e else (e, None) for e in env)
    return dict(env or {})


def test_compose_stack(compose):
    svcs = compose["services"]
    kafka = env_dict(svcs["kafka"]["environment"])
    assert "controller" in kafka["KAFKA_PROCESS_ROLES"], "Kafka must run in KRaft mode"

    workers = [n for n, s in svcs.items()
               if "-javaagent:" in " ".join(str(v) for v in env_dict(s.get("environment")).values())]
    assert workers, "no Connect worker with the Jolokia agent"
    names = set(svcs) | {s.get("hostname") for s in svcs.values()}
    for n in workers:
        env = env_dict(svcs[n]["environment"])
        opts = env.get("KAFKA_OPTS", "") + " " + env.get("KAFKA_JMX_OPTS", "")
        assert re.search(r"-javaagent:\S*jolokia\S*\.jar=\S*port=8778", opts), opts
        assert "host=0.0.0.0" in opts, "the agent must listen beyond localhost"
        adv = env.get("CONNECT_REST_ADVERTISED_HOST_NAME")
        assert adv in names, "%s advertises %r, which the console cannot resolve" % (n, adv)
        assert "rest.advertised.host.name" in json.dumps(svcs[n].get("command")) or \
            svcs[n]["image"].startswith("confluentinc/")

    init = json.dumps([s.get("command") for s in svcs.values()])
    assert "/connectors/" in init and "SourceConnector" in init, "no demo source connector"


def test_compose_pins_the_tested_versions(compose):
    """The compose stack runs the Kafka and Jolokia agent versions the real-stack tests pin."""
    import xml.etree.ElementTree as ET
    ns = {"m": "http://maven.apache.org/POM/4.0.0"}
    props = ET.parse(os.path.join(SOURCE_DIR, "test", "real", "pom.xml")).getroot().find(
        "m:properties", ns)
    pinned = {p.tag.split("}")[1]: p.text for p in props}
    images = {svc.get("image") for svc in compose["services"].values() if "kafka" in
              (svc.get("image") or "")}
    assert images == {"apache/kafka:${KAFKA_VERSION:-%s}" % pinned["kafka.version"]}, images
    text = read(os.path.join(DEPLOY, "docker-compose.yml"))
    assert "${JOLOKIA_VERSION:-%s}" % pinned["jolokia2.version"] in text


def test_compose_console(compose, known_env):
    svc = compose["services"]["kconnect-console"]
    assert svc["build"]["dockerfile"] == "deploy/Dockerfile"
    assert os.path.samefile(os.path.join(DEPLOY, svc["build"]["context"]), SOURCE_DIR)
    env = env_dict(svc["environment"])
    assert "{host}" in env["JOLOKIA_URL"]
    hosts = {re.match(r"https?://([^:/]+)", u).group(1) for u in env["KAFKA_CONNECT_URL"].split(",")}
    assert hosts <= set(compose["services"]), "KAFKA_CONNECT_URL names unknown services %s" % hosts
    unknown = sorted(set(env) - known_env)
    assert not unknown, "compose sets env names the gateway does not read: %s" % unknown
    assert svc.get("read_only") is True
    shutdown = parse_duration_s(env.get("KC_SHUTDOWN_TIMEOUT", DEFAULT_SHUTDOWN_S))
    assert parse_duration_s(svc["stop_grace_period"]) > shutdown

    prom = compose["services"].get("prometheus")
    if prom:
        for v in prom.get("volumes", []):
            assert os.path.exists(os.path.join(DEPLOY, v.split(":")[0])), v


# ----------------------------------------------------------------------------- compose: fleet

def compose_interpolate(text, env):
    """Compose's interpolation of one value: $$, $VAR, ${VAR}, ${VAR:-d}, ${VAR-d}, ${VAR:+r},
    ${VAR+r}, nested (compose-spec 12-interpolation)."""
    out, i = [], 0
    while i < len(text):
        if text.startswith("$$", i):
            out.append("$")
            i += 2
        elif text.startswith("${", i):
            depth, j = 0, i
            while True:  # the matching brace, nested ${…} included
                if text.startswith("${", j):
                    depth, j = depth + 1, j + 2
                    continue
                if text[j] == "}":
                    depth -= 1
                    if depth == 0:
                        break
                j += 1
            body = text[i + 2:j]
            m = re.match(r"([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-+?])(.*))?$", body, re.S)
            assert m, "bad interpolation ${%s}" % body
            name, op, arg = m.group(1), m.group(2), m.group(3) or ""
            val = env.get(name)
            present = val is not None and (val != "" or not op or not op.startswith(":"))
            if op in ("-", ":-"):
                out.append(val if present else compose_interpolate(arg, env))
            elif op in ("+", ":+"):
                out.append(compose_interpolate(arg, env) if present else "")
            elif op in ("?", ":?"):
                assert present, "required variable %s" % name
                out.append(val)
            else:
                out.append(val or "")
            i = j + 1
        elif re.match(r"\$[A-Za-z_]", text[i:]):
            m = re.match(r"\$([A-Za-z_][A-Za-z0-9_]*)", text[i:])
            out.append(env.get(m.group(1)) or "")
            i += len(m.group(0))
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def test_compose_interpolate():
    env = {"P": "s3cret", "E": ""}
    assert compose_interpolate("redis://${P:+:${P}@}h:1/0", env) == "redis://:s3cret@h:1/0"
    assert compose_interpolate("redis://${E:+:${E}@}h:1/0", env) == "redis://h:1/0"
    assert compose_interpolate("redis://${U:+:${U}@}h", env) == "redis://h"
    assert compose_interpolate("$${P:+x $$P} ${U:-d} ${E-d}", env) == "${P:+x $P} d "


def parse_redis_url(url):
    """redis://[[user]:password@]host[:port][/db] the way src/redis_url.c reads it."""
    m = re.fullmatch(r"redis://(?:(?P<userinfo>.*)@)?(?P<host>[A-Za-z0-9._-]+)(?::(?P<port>\d+))?"
                     r"(?:/(?P<db>\d*))?", url)
    assert m, "not a redis:// URL the gateway accepts: %r" % url
    user = password = None
    if m.group("userinfo") is not None:
        user, sep, password = m.group("userinfo").partition(":")
        assert sep and password, "user info needs ':' and a non-empty password: %r" % url
        assert "%" not in password, "a '%' in the password would be read as an escape"
    return {"host": m.group("host"), "port": int(m.group("port") or 6379),
            "db": int(m.group("db") or 0), "user": user or None, "password": password}


def compose_text():
    return read(os.path.join(DEPLOY, "docker-compose.yml"))


REDIS_FLAGS = ('--save ""', "--appendonly no", "--maxmemory 256mb",
               "--maxmemory-policy volatile-lru")


def test_compose_redis(compose):
    svcs = compose["services"]
    assert "redis" in svcs, "fleet mode: compose has no redis service"
    r = svcs["redis"]
    assert re.fullmatch(r"redis:7\.\d+-alpine", r["image"]), \
        "want the official image pinned to a 7.x minor, alpine: %s" % r["image"]
    script = " ".join(r["command"] if isinstance(r["command"], list) else [r["command"]])
    script = re.sub(r"\\\n\s*", " ", script)
    for flag in REDIS_FLAGS:
        assert flag in script, "redis runs without %s" % flag
    assert not r.get("ports"), "redis must not be published on the host"
    hc = " ".join(r["healthcheck"]["test"])
    assert "redis-cli" in hc and "ping" in hc.lower(), "redis healthcheck must PING"
    user = str(r.get("user", ""))
    assert user and not user.startswith(("0", "root")), "redis runs as root"
    assert r.get("read_only") is True and r.get("cap_drop") == ["ALL"]


@pytest.mark.parametrize("password", [None, "", "0123abcdef"])
def test_compose_console_points_at_redis(compose, password):
    svcs = compose["services"]
    console = svcs["kconnect-console"]
    env = env_dict(console["environment"])
    assert "KC_REDIS_URL" in env, "the console is not in fleet mode"
    shell = {} if password is None else {"REDIS_PASSWORD": password}
    u = parse_redis_url(compose_interpolate(env["KC_REDIS_URL"], shell))
    assert u["host"] in svcs, "KC_REDIS_URL names %r, not a service of the stack" % u["host"]
    assert svcs[u["host"]]["image"].startswith("redis:"), "KC_REDIS_URL names %s" % u["host"]
    assert u["port"] == 6379
    assert u["password"] == (password or None), \
        "KC_REDIS_URL's password does not follow REDIS_PASSWORD"
    # The redis side asks for the same password: requirepass from the same variable.
    redis_env = {k: compose_interpolate(str(v), shell)
                 for k, v in env_dict(svcs["redis"].get("environment")).items()}
    script = compose_interpolate(" ".join(svcs["redis"]["command"]), shell)
    m = re.search(r"requirepass \"\$([A-Z_]+)\"", script)
    assert m and redis_env.get(m.group(1), "") == (password or ""), \
        "redis' requirepass does not come from REDIS_PASSWORD"
    dep = console.get("depends_on", {})
    assert "redis" in dep, "the console should start after redis"


def test_compose_console_scales(compose):
    """`--scale kconnect-console=N` works: no fixed host port or container name on the console,
    a balancer publishes 8080 and proxies to the console service by name."""
    svcs = compose["services"]
    console = svcs["kconnect-console"]
    assert not console.get("ports"), "a host port on the console breaks --scale (port clash)"
    assert "container_name" not in console and "hostname" not in console
    lbs = [n for n, s in svcs.items() for p in s.get("ports", []) if str(p).endswith(":8080")]
    assert len(lbs) == 1, "want one service publishing :8080 in front of the console: %s" % lbs
    lb = svcs[lbs[0]]
    assert "kconnect-console" in lb.get("depends_on", [])
    confs = [v.split(":")[0] for v in lb.get("volumes", []) if ".conf" in v]
    assert confs, "the balancer mounts no config"
    conf = read(os.path.join(DEPLOY, confs[0]))
    assert re.search(r"proxy_pass\s+http://\$\w+:8080;", conf) and \
        re.search(r"set\s+\$\w+\s+kconnect-console;", conf), \
        "the balancer must resolve the console service per request (all replicas)"
    assert "resolver 127.0.0.11" in conf, "Docker's DNS re-resolves replicas"
    assert re.search(r"proxy_buffering\s+off;", conf), "SSE streams must not be buffered"
    assert int(re.search(r"proxy_read_timeout\s+(\d+)s;", conf).group(1)) > 15, \
        "the stream heartbeat (15 s) must fit in proxy_read_timeout"
    prom = read(os.path.join(PROM, "prometheus.yml"))
    assert "dns_sd_configs" in prom, "Prometheus must scrape every replica, not the balancer"


def test_compose_balancer_nginx_config(tmp_path):
    nginx = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/sbin")
    if not nginx:
        pytest.skip("nginx not installed: compose's balancer config is NOT checked by nginx -t")
    for d in ("logs", "tmp"):
        (tmp_path / d).mkdir()
    conf = tmp_path / "nginx.conf"
    conf.write_text("pid %s/nginx.pid;\nerror_log %s/logs/error.log;\nevents {}\nhttp {\n"
                    "  access_log off;\n  client_body_temp_path %s/tmp/cb;\n"
                    "  proxy_temp_path %s/tmp/pt;\n  fastcgi_temp_path %s/tmp/ft;\n"
                    "  uwsgi_temp_path %s/tmp/ut;\n  scgi_temp_path %s/tmp/st;\n"
                    "  include %s;\n}\n" % ((tmp_path,) * 7 + (
                        os.path.join(DEPLOY, "nginx", "console-lb.conf"),)))
    run([nginx, "-t", "-p", str(tmp_path), "-e", str(tmp_path / "logs" / "error.log"),
         "-c", str(conf)])


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_redis_script(script, env, tmp_path):
    """Runs a Redis start script of the deploy files with the local redis-server on a free
    loopback port; returns (port, process)."""
    if not shutil.which("redis-server") or not shutil.which("redis-cli"):
        pytest.skip("redis-server/redis-cli not installed: the Redis start scripts are NOT run")
    port = free_port()
    script = script.replace("redis-server -", "redis-server - --port %d --bind 127.0.0.1 "
                            "--dir %s" % (port, tmp_path), 1)
    script = re.sub(r"--dir /data\b", "", script)
    proc = subprocess.Popen(["/bin/sh", "-ec", script], env=dict(os.environ, **env),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return port, proc
        except OSError:
            if proc.poll() is not None:
                break
            time.sleep(0.05)
    proc.kill()
    pytest.fail("the Redis start script did not listen:\n%s\n%s" % (script, proc.communicate()[0]))


def redis_cli(port, *args, password=None):
    env = dict(os.environ)
    env.pop("REDISCLI_AUTH", None)
    if password:
        env["REDISCLI_AUTH"] = password
    out = subprocess.run(["redis-cli", "-p", str(port)] + list(args), env=env,
                         capture_output=True, text=True, timeout=10)
    return out.stdout


def check_running_redis(port, password):
    if password:
        assert "NOAUTH" in redis_cli(port, "ping"), "Redis answers without the password"
    assert redis_cli(port, "ping", password=password).strip() == "PONG"
    got = {}
    for key in ("save", "appendonly", "maxmemory", "maxmemory-policy"):
        lines = redis_cli(port, "config", "get", key, password=password).split("\n")
        got[key] = lines[1] if len(lines) > 1 else None  # "save" is empty: no snapshots
    assert got == {"save": "", "appendonly": "no", "maxmemory": str(256 << 20),
                   "maxmemory-policy": "volatile-lru"}, got


@pytest.mark.parametrize("password", ["", "0123abcdef"])
def test_compose_redis_script_runs(compose, password, tmp_path):
    r = compose["services"]["redis"]
    shell = {"REDIS_PASSWORD": password}
    script = compose_interpolate(r["command"][0], shell)
    env = {k: compose_interpolate(str(v), shell) for k, v in env_dict(r["environment"]).items()}
    port, proc = run_redis_script(script, env, tmp_path)
    try:
        check_running_redis(port, password)
        hc = compose_interpolate(r["healthcheck"]["test"][1], shell)
        hc = hc.replace("redis-cli ", "redis-cli -p %d " % port)
        out = subprocess.run(["/bin/sh", "-c", hc], env=dict(os.environ, **env), timeout=10)
        assert out.returncode == 0, "the redis healthcheck fails on a healthy Redis: %s" % hc
        if password:
            out = subprocess.run(["ps", "-o", "args=", "-p", str(proc.pid)], capture_output=True,
                                 text=True)
            assert password not in out.stdout, "the password is on Redis' command line"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


# ----------------------------------------------------------------------------- kubernetes

@pytest.fixture(scope="module")
def k8s():
    kust = yaml.safe_load(read(os.path.join(K8S, "kustomization.yaml")))
    objs = {}
    for res in kust["resources"]:
        path = os.path.join(K8S, res)
        assert os.path.isfile(path), "kustomization resource %s missing" % res
        for doc in load_yaml_docs(path):
            assert doc.get("apiVersion") and doc.get("kind"), "%s: not a manifest" % res
            objs[(doc["kind"], doc["metadata"]["name"])] = doc
    listed = set(kust["resources"]) | {"kustomization.yaml", "components"}  # optional components
    orphans = sorted(set(os.listdir(K8S)) - listed)
    assert not orphans, "files under deploy/kubernetes not in kustomization: %s" % orphans
    return objs


def one(k8s, kind):
    found = [o for (k, _), o in k8s.items() if k == kind]
    assert len(found) == 1, "want exactly one %s, got %d" % (kind, len(found))
    return found[0]


def test_k8s_kinds(k8s):
    for kind in ("Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget",
                 "ConfigMap", "Secret", "NetworkPolicy", "ServiceAccount"):
        one(k8s, kind)
    assert one(k8s, "HorizontalPodAutoscaler")["apiVersion"] == "autoscaling/v2"


def test_kustomize_build():
    kubectl = shutil.which("kubectl")
    if not kubectl:
        pytest.skip("kubectl not installed: `kubectl kustomize` not run (resources checked above)")
    out = subprocess.run([kubectl, "kustomize", K8S], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    kinds = [d["kind"] for d in yaml.safe_load_all(out.stdout) if d]
    assert "Deployment" in kinds and len(kinds) >= 8


def container(dep):
    cs = [c for c in dep["spec"]["template"]["spec"]["containers"] if c["name"] == "kconnect-console"]
    assert len(cs) == 1
    return cs[0]


def test_k8s_probes(k8s):
    dep = one(k8s, "Deployment")
    c = container(dep)
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    assert ports.get("http") == 8080
    for probe, path in (("livenessProbe", "/health"), ("readinessProbe", "/ready")):
        get = c[probe]["httpGet"]
        assert get["path"] == path, "%s must GET %s" % (probe, path)
        assert ports.get(get["port"], get["port"]) == 8080
    ann = dep["spec"]["template"]["metadata"]["annotations"]
    assert ann["prometheus.io/scrape"] == "true"
    assert ann["prometheus.io/port"] == "8080" and ann["prometheus.io/path"] == "/metrics"


def test_source_serves_the_probed_routes():
    text = "\n".join(read(p) for p in source_files())
    routes = [r for r in ("/health", "/ready", "/metrics") if '"%s"' % r in text]
    if not routes:
        pytest.skip("src/ registers no routes yet: /health, /ready, /metrics checked against the "
                    "contract only")
    assert routes == ["/health", "/ready", "/metrics"], "src/ serves only %s" % routes


def test_k8s_security(k8s):
    dep = one(k8s, "Deployment")
    spec = dep["spec"]["template"]["spec"]
    assert dep["spec"]["replicas"] >= 2
    psc, csc = spec["securityContext"], container(dep)["securityContext"]
    assert psc["runAsNonRoot"] is True
    assert psc["seccompProfile"]["type"] == "RuntimeDefault"
    assert csc["readOnlyRootFilesystem"] is True
    assert csc["allowPrivilegeEscalation"] is False
    assert csc["capabilities"]["drop"] == ["ALL"]
    users = [a for i, a in dockerfile_stages()[-1][2] if i == "USER"]
    assert str(psc.get("runAsUser")) == users[-1].split(":")[0], "runAsUser != Dockerfile USER"
    assert spec["automountServiceAccountToken"] is False
    sa = k8s[("ServiceAccount", spec["serviceAccountName"])]
    assert sa["automountServiceAccountToken"] is False
    res = container(dep)["resources"]
    for k in ("requests", "limits"):
        assert {"cpu", "memory"} <= set(res[k]), "resources.%s needs cpu and memory" % k


def deployment_env(k8s):
    return {e["name"]: e for e in container(one(k8s, "Deployment")).get("env", [])}


def config_json(k8s):
    return json.loads(one(k8s, "ConfigMap")["data"]["config.json"])


def test_k8s_grace_period(k8s):
    dep = one(k8s, "Deployment")
    env = deployment_env(k8s)
    shutdown = DEFAULT_SHUTDOWN_S
    if "shutdownTimeout" in config_json(k8s):
        shutdown = parse_duration_s(config_json(k8s)["shutdownTimeout"])
    if "KC_SHUTDOWN_TIMEOUT" in env:  # env wins over the file
        shutdown = parse_duration_s(env["KC_SHUTDOWN_TIMEOUT"]["value"])
    pre = container(dep)["lifecycle"]["preStop"]
    sleep = float(pre["exec"]["command"][-1]) if "exec" in pre else float(pre["sleep"]["seconds"])
    assert sleep > 0, "a preStop sleep lets endpoints drain"
    grace = dep["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    assert grace > sleep + shutdown, \
        "terminationGracePeriodSeconds %s <= preStop %ss + shutdown %ss" % (grace, sleep, shutdown)


def test_k8s_env_and_secret(k8s, known_env):
    env = deployment_env(k8s)
    unknown = sorted(set(env) - known_env)
    assert not unknown, "Deployment sets env names the gateway does not read: %s" % unknown
    secret = one(k8s, "Secret")
    data = dict(secret.get("stringData") or {}, **(secret.get("data") or {}))
    assert not sorted(set(data) - known_env), "Secret keys are not env names of the gateway"
    for k, v in data.items():
        assert v == "" or "REPLACE_ME" in v, "Secret %s must hold a clear placeholder" % k
    for name, e in env.items():
        ref = (e.get("valueFrom") or {}).get("secretKeyRef")
        if ref:
            assert ref["name"] == secret["metadata"]["name"] and ref["key"] in data, name
    # KC_CONFIG points at the mounted ConfigMap key.
    dep = one(k8s, "Deployment")
    path = env["KC_CONFIG"]["value"]
    mounts = {m["name"]: m["mountPath"] for m in container(dep)["volumeMounts"]}
    vols = {v["name"]: v for v in dep["spec"]["template"]["spec"]["volumes"]}
    cm = one(k8s, "ConfigMap")["metadata"]["name"]
    assert any(v.get("configMap", {}).get("name") == cm and
               path == os.path.join(mounts[n], "config.json") for n, v in vols.items()), path


def test_k8s_config_file(k8s, known_file_keys):
    cfg = config_json(k8s)
    assert not sorted(set(cfg) - known_file_keys), "config.json keys the gateway ignores"
    assert cfg["clusters"], "no cluster configured"
    for c in cfg["clusters"]:
        assert not sorted(set(c) - CLUSTER_KEYS), c
        assert c["name"] and c["connectUrl"].startswith(("http://", "https://"))
        assert "{host}" in c.get("jolokiaUrl", "{host}")
    for r in cfg.get("alerts", {}).get("rules", []):
        assert r["kind"] in ALERT_KINDS, r


def test_k8s_selectors_and_policies(k8s):
    dep = one(k8s, "Deployment")
    labels = dep["spec"]["template"]["metadata"]["labels"]

    def selects(sel):
        return sel and all(labels.get(k) == v for k, v in sel.items())

    assert selects(dep["spec"]["selector"]["matchLabels"])
    assert selects(one(k8s, "Service")["spec"]["selector"])
    assert one(k8s, "Service")["spec"]["ports"][0]["targetPort"] in ("http", 8080)
    assert selects(one(k8s, "PodDisruptionBudget")["spec"]["selector"]["matchLabels"])
    hpa = one(k8s, "HorizontalPodAutoscaler")["spec"]
    assert hpa["scaleTargetRef"]["name"] == dep["metadata"]["name"]
    assert hpa["minReplicas"] >= 2 and hpa["maxReplicas"] >= hpa["minReplicas"]
    assert hpa["metrics"][0]["resource"]["name"] == "cpu"

    np = one(k8s, "NetworkPolicy")["spec"]
    assert selects(np["podSelector"]["matchLabels"])
    assert set(np["policyTypes"]) == {"Ingress", "Egress"}
    assert {p["port"] for r in np["ingress"] for p in r["ports"]} == {8080}
    egress = {p["port"] for r in np["egress"] for p in r["ports"]}
    assert egress == {53, 8083, 8778}, "egress only to DNS, Connect and Jolokia, got %s" % egress
    for r in np["egress"]:
        assert r.get("to"), "an egress rule without `to` allows every destination"


# ----------------------------------------------------------------------------- kubernetes: fleet

@pytest.fixture(scope="module")
def redis_component():
    kust = yaml.safe_load(read(os.path.join(REDIS_COMPONENT, "kustomization.yaml")))
    assert kust["apiVersion"] == "kustomize.config.k8s.io/v1alpha1"
    assert kust["kind"] == "Component", "components/redis must be a kustomize Component"
    objs = {}
    for res in kust["resources"]:
        path = os.path.join(REDIS_COMPONENT, res)
        assert os.path.isfile(path), "component resource %s missing" % res
        for doc in load_yaml_docs(path):
            assert doc.get("apiVersion") and doc.get("kind"), "%s: not a manifest" % res
            objs[(doc["kind"], doc["metadata"]["name"])] = doc
    patches = kust.get("patches", [])
    listed = set(kust["resources"]) | {p["path"] for p in patches if "path" in p} | \
        {"kustomization.yaml"}
    orphans = sorted(set(os.listdir(REDIS_COMPONENT)) - listed)
    assert not orphans, "files under components/redis not in its kustomization: %s" % orphans
    return kust, objs


def test_k8s_components_shown_in_base():
    """The base works without the component and shows (commented) how to enable it."""
    text = read(os.path.join(K8S, "kustomization.yaml"))
    kust = yaml.safe_load(text)
    assert not kust.get("components"), "the base must work without Redis (components commented)"
    for name in sorted(os.listdir(os.path.join(K8S, "components"))):
        assert re.search(r"^#\s*-\s*components/%s\s*$" % re.escape(name), text, re.M), \
            "kustomization.yaml does not show how to enable components/%s" % name


def patch_targets(kust, kind):
    return [p for p in kust.get("patches", []) if p.get("target", {}).get("kind") == kind]


def test_redis_component_patches_target_the_gateway(k8s, redis_component):
    kust, _ = redis_component
    dep = one(k8s, "Deployment")
    np = one(k8s, "NetworkPolicy")
    dp = patch_targets(kust, "Deployment")
    assert len(dp) == 1 and dp[0]["target"]["name"] == dep["metadata"]["name"]
    patch = yaml.safe_load(read(os.path.join(REDIS_COMPONENT, dp[0]["path"])))
    assert patch["kind"] == "Deployment" and patch["metadata"]["name"] == dep["metadata"]["name"]
    pcs = patch["spec"]["template"]["spec"]["containers"]
    assert [c["name"] for c in pcs] == [container(dep)["name"]], \
        "the env patch names a container the gateway Deployment does not have"
    assert "KC_REDIS_URL" in {e["name"] for e in pcs[0]["env"]}
    npp = patch_targets(kust, "NetworkPolicy")
    assert len(npp) == 1 and npp[0]["target"]["name"] == np["metadata"]["name"]
    ops = yaml.safe_load(read(os.path.join(REDIS_COMPONENT, npp[0]["path"])))
    assert ops == [{"op": "add", "path": "/spec/egress/-", "value": ops[0]["value"]}], ops


def render_fleet(k8s, redis_component):
    """The base with the component applied, in Python: strategic merge of the env patch (new
    names first, as kustomize does) and the JSON patch of the NetworkPolicy."""
    import copy
    kust, comp = redis_component
    objs = copy.deepcopy(k8s)
    objs.update(copy.deepcopy(comp))
    dep = objs[("Deployment", one(k8s, "Deployment")["metadata"]["name"])]
    patch = yaml.safe_load(read(os.path.join(REDIS_COMPONENT,
                                             patch_targets(kust, "Deployment")[0]["path"])))
    c = container(dep)
    new = patch["spec"]["template"]["spec"]["containers"][0]["env"]
    names = {e["name"] for e in new}
    c["env"] = new + [e for e in c.get("env", []) if e["name"] not in names]
    np = objs[("NetworkPolicy", one(k8s, "NetworkPolicy")["metadata"]["name"])]
    for op in yaml.safe_load(read(os.path.join(REDIS_COMPONENT,
                                               patch_targets(kust, "NetworkPolicy")[0]["path"]))):
        np["spec"]["egress"].append(op["value"])
    return list(objs.values())


def kubectl_fleet(tmp_path):
    kubectl = shutil.which("kubectl")
    if not kubectl:
        pytest.skip("kubectl not installed: base + components/redis not rendered by kustomize "
                    "(checked by the Python rendering only)")
    base = os.path.relpath(K8S, str(tmp_path))  # kustomize refuses absolute paths
    (tmp_path / "kustomization.yaml").write_text(yaml.safe_dump({
        "apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
        "resources": [base], "components": [os.path.join(base, "components", "redis")]}))
    out = subprocess.run([kubectl, "kustomize", str(tmp_path)], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    return [d for d in yaml.safe_load_all(out.stdout) if d]


@pytest.fixture(params=["python", "kubectl"])
def fleet(request, k8s, redis_component, tmp_path):
    if request.param == "kubectl":
        return kubectl_fleet(tmp_path)
    return render_fleet(k8s, redis_component)


def by_kind(objs, kind):
    return [o for o in objs if o["kind"] == kind]


def selects(sel, labels):
    return bool(sel) and all(labels.get(k) == v for k, v in sel.items())


def pod_labels(dep):
    return dep["spec"]["template"]["metadata"]["labels"]


def test_fleet_rendered(fleet, known_env):
    deps = {d["metadata"]["name"]: d for d in by_kind(fleet, "Deployment")}
    assert set(deps) == {"kconnect-console", "kconnect-console-redis"}, set(deps)
    gw, rd = deps["kconnect-console"], deps["kconnect-console-redis"]
    gw_labels, rd_labels = pod_labels(gw), pod_labels(rd)

    # KC_REDIS_URL: the component's Service, the password from the component's Secret.
    env = container(gw)["env"]
    names = [e["name"] for e in env]
    url = next(e["value"] for e in env if e["name"] == "KC_REDIS_URL")
    refs = re.findall(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", url)
    for ref in refs:  # Kubernetes expands $(VAR) only from variables defined earlier
        assert ref in names and names.index(ref) < names.index("KC_REDIS_URL"), ref
    u = parse_redis_url(re.sub(r"\$\([A-Za-z0-9_]+\)", "placeholder", url))
    svc = next((s for s in by_kind(fleet, "Service") if s["metadata"]["name"] == u["host"]), None)
    assert svc, "KC_REDIS_URL names %r, not a Service of the component" % u["host"]
    assert selects(svc["spec"]["selector"], rd_labels)
    assert not selects(svc["spec"]["selector"], gw_labels)
    assert u["port"] in [p["port"] for p in svc["spec"]["ports"]]
    secret = next(s for s in by_kind(fleet, "Secret")
                  if s["metadata"]["name"] != "kconnect-console-credentials")
    data = dict(secret.get("stringData") or {}, **(secret.get("data") or {}))
    assert refs, "the Redis password must come from a Secret, not sit in KC_REDIS_URL"
    for ref in refs:
        key = next(e for e in env if e["name"] == ref)["valueFrom"]["secretKeyRef"]
        assert key["name"] == secret["metadata"]["name"] and key["key"] in data
        assert not key.get("optional"), "fleet mode without its password would fail AUTH"
    for k, v in data.items():
        assert "REPLACE_ME" in v, "the component's Secret must hold a clear placeholder"
        assert re.fullmatch(r"[A-Za-z0-9._~-]+", v), "the placeholder must be URL-safe"
    unknown = sorted(set(names) - known_env - set(refs))
    assert not unknown, "the gateway gets env names it does not read: %s" % unknown

    # The base's selectors still pick only the gateway pods.
    for kind, path in (("Service", ("spec", "selector")),
                       ("PodDisruptionBudget", ("spec", "selector", "matchLabels"))):
        for o in by_kind(fleet, kind):
            sel = o
            for p in path:
                sel = sel[p]
            if selects(sel, gw_labels):
                assert not selects(sel, rd_labels), \
                    "%s %s selects Redis" % (kind, o["metadata"]["name"])

    # NetworkPolicies: gateway egress to Redis on 6379; Redis ingress from the gateway only.
    nps = {n["metadata"]["name"]: n["spec"] for n in by_kind(fleet, "NetworkPolicy")}
    gnp = next((s for s in nps.values()
                if selects(s["podSelector"]["matchLabels"], gw_labels)), None)
    rnp = next((s for s in nps.values()
                if selects(s["podSelector"]["matchLabels"], rd_labels)), None)
    assert gnp and rnp, "want a NetworkPolicy for the gateway pods and one for the Redis pods"
    egress = {p["port"] for r in gnp["egress"] for p in r["ports"]}
    assert egress == {53, 8083, 8778, 6379}, "gateway egress with Redis: %s" % egress
    to_redis = [r for r in gnp["egress"] if any(p["port"] == 6379 for p in r["ports"])]
    assert len(to_redis) == 1 and all(
        selects(to.get("podSelector", {}).get("matchLabels"), rd_labels) and
        "namespaceSelector" not in to
        for to in to_redis[0]["to"]), "egress on 6379 must go to the Redis pods only"
    assert set(rnp["policyTypes"]) == {"Ingress", "Egress"} and not rnp.get("egress"), \
        "Redis needs no egress at all"
    assert len(rnp["ingress"]) == 1
    ing = rnp["ingress"][0]
    assert {p["port"] for p in ing["ports"]} == {6379}
    assert ing["from"] and all(selects(f["podSelector"]["matchLabels"], gw_labels) and
                               not selects(f["podSelector"]["matchLabels"], rd_labels)
                               for f in ing["from"]), "Redis must admit the gateway pods only"


def test_redis_component_deployment(redis_component):
    _, objs = redis_component
    dep = objs[("Deployment", "kconnect-console-redis")]
    spec = dep["spec"]
    assert spec["replicas"] == 1, "one Redis primary (no Cluster, no replicas behind the Service)"
    assert spec["strategy"]["type"] == "Recreate", "never two primaries during a rollout"
    pod = spec["template"]["spec"]
    assert selects(spec["selector"]["matchLabels"], pod_labels(dep))
    psc = pod["securityContext"]
    assert psc["runAsNonRoot"] is True and int(psc["runAsUser"]) != 0
    assert psc["seccompProfile"]["type"] == "RuntimeDefault"
    assert pod["automountServiceAccountToken"] is False
    (c,) = pod["containers"]
    assert re.fullmatch(r"redis:7\.\d+-alpine", c["image"]), c["image"]
    csc = c["securityContext"]
    assert csc["readOnlyRootFilesystem"] is True and csc["allowPrivilegeEscalation"] is False
    assert csc["capabilities"]["drop"] == ["ALL"]
    for k in ("requests", "limits"):
        assert {"cpu", "memory"} <= set(c["resources"][k]), "redis resources.%s" % k
    script = re.sub(r"\\\n\s*", " ", " ".join(c.get("command", []) + c.get("args", [])))
    for flag in REDIS_FLAGS:
        assert flag in script, "redis runs without %s" % flag
    assert "requirepass" in script and "redis-server -" in script, \
        "the password goes in on stdin (redis-server -), not on the command line"
    env = {e["name"]: e for e in c["env"]}
    pw = re.search(r"requirepass \"\$([A-Z_]+)\"", script).group(1)
    assert env[pw]["valueFrom"]["secretKeyRef"]["name"] == "kconnect-console-redis"
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    assert ports == {"redis": 6379}
    assert "readinessProbe" in c and "livenessProbe" in c
    # maxmemory must fit in the memory limit with room for Redis' own overhead.
    limit = c["resources"]["limits"]["memory"]
    mib = int(re.fullmatch(r"(\d+)Mi", limit).group(1))
    assert mib >= 256 * 1.25, "memory limit %s too close to maxmemory 256mb" % limit


def test_redis_component_script_runs(redis_component, tmp_path):
    _, objs = redis_component
    c = objs[("Deployment", "kconnect-console-redis")]["spec"]["template"]["spec"]["containers"][0]
    assert c["command"][:2] == ["/bin/sh", "-ec"]
    password = "0123abcdef-REPLACE_ME"
    env = {e["name"]: password for e in c["env"]}
    port, proc = run_redis_script(c["args"][0], env, tmp_path)
    try:
        check_running_redis(port, password)
        probe = " ".join(c["readinessProbe"]["exec"]["command"][2:])
        probe = probe.replace("redis-cli ", "redis-cli -p %d " % port)
        out = subprocess.run(["/bin/sh", "-c", probe], env=dict(os.environ, **env), timeout=10)
        assert out.returncode == 0, "the readiness probe fails on a healthy Redis"
        out = subprocess.run(["ps", "-o", "args=", "-p", str(proc.pid)], capture_output=True,
                             text=True)
        assert password not in out.stdout, "the password is on Redis' command line"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


# ----------------------------------------------------------------------------- env names in docs

def deploy_env_names(compose, k8s):
    names = set(env_dict(compose["services"]["kconnect-console"]["environment"]))
    names |= set(deployment_env(k8s))
    return names


def test_env_names_documented(compose, k8s):
    names = deploy_env_names(compose, k8s)
    text = read(os.path.join(DEPLOY, "README.md"))
    missing = sorted(n for n in names if "`%s`" % n not in text)
    assert not missing, "deploy/README.md does not document %s" % missing

    root = os.path.join(SOURCE_DIR, "README.md")
    table = None
    if os.path.exists(root):
        rt = read(root)
        # A markdown table whose header names an env column: the configuration table.
        m = re.search(r"^\|[^\n]*\benv\b[^\n]*\|\n\|[-| :]+\|\n(?:\|[^\n]*\|\n?)+", rt, re.M | re.I)
        table = m.group(0) if m else None
    if table is None:
        pytest.skip("README.md has no configuration table yet (a | env | … | table): the check "
                    "that every env name of deploy/ is documented there is not run")
    missing = sorted(n for n in names if n not in table)
    assert not missing, "README.md's configuration table lacks %s (used in deploy/)" % missing


# ----------------------------------------------------------------------------- prometheus

def promtool():
    p = shutil.which("promtool")
    if not p:
        pytest.skip("!!! promtool NOT INSTALLED (Debian package `prometheus`): the Prometheus "
                    "rules and config are NOT checked !!!")
    return p


def run(argv, **kw):
    out = subprocess.run(argv, capture_output=True, text=True, timeout=120, **kw)
    assert out.returncode == 0, "%s\n%s%s" % (" ".join(argv), out.stdout, out.stderr)
    return out


def test_promtool_check_rules():
    run([promtool(), "check", "rules", os.path.join(PROM, "alerts.yml")])


def test_promtool_check_config():
    run([promtool(), "check", "config", os.path.join(PROM, "prometheus.yml")])


def test_readme_kubernetes_scrape_config(tmp_path):
    """The annotation-based scrape job shown in deploy/README.md is valid too. Debian builds
    Prometheus without Kubernetes discovery, so the SD block is swapped for a static target
    (checked for shape here) and promtool checks the rest, relabelling included."""
    tool = promtool()
    blocks = re.findall(r"```yaml\n(scrape_configs:.*?)```", read(os.path.join(DEPLOY, "README.md")),
                        re.S)
    assert blocks, "deploy/README.md shows no scrape_configs example"
    for i, b in enumerate(blocks):
        doc = yaml.safe_load(b)
        for job in doc["scrape_configs"]:
            sd = job.pop("kubernetes_sd_configs", None)
            if sd is not None:
                assert sd == [{"role": "pod"}], sd
                job["static_configs"] = [{"targets": ["pod:8080"]}]
        p = tmp_path / ("readme-%d.yml" % i)
        p.write_text(yaml.safe_dump(doc))
        run([tool, "check", "config", str(p)])


def alert_rules():
    return [r for g in yaml.safe_load(read(os.path.join(PROM, "alerts.yml")))["groups"]
            for r in g["rules"] if "alert" in r]


def test_alert_rules_use_contract_metrics():
    words = set()
    for r in alert_rules():
        words |= set(re.findall(r"\b(kconnect_[a-z_]+)", r["expr"]))
    allowed = set(METRICS) | {h + "_bucket" for h in HISTOGRAMS} | \
        {h + s for h in HISTOGRAMS for s in ("_sum", "_count")}
    assert not sorted(words - allowed), "alerts use metrics the gateway does not export"
    names = {r["alert"] for r in alert_rules()}
    assert len(names) == len(alert_rules()), "duplicate alert names"


def s(metric, value, **labels):
    return {"series": "%s{%s}" % (metric, ",".join('%s="%s"' % kv for kv in sorted(labels.items()))),
            "values": value}


def expect(name, at, *alerts):
    return {"eval_time": at, "alertname": name, "exp_alerts": [{"exp_labels": a} for a in alerts]}


def test_alerts_fire_and_stay_quiet(tmp_path):
    """promtool test rules on synthetic series: each condition fires once per connector (two
    gateway replicas export the same series) and its healthy twin does not."""
    tool = promtool()
    # Compare expressions and labels, not the wording of the annotations.
    doc = yaml.safe_load(read(os.path.join(PROM, "alerts.yml")))
    for g in doc["groups"]:
        for r in g["rules"]:
            r.pop("annotations", None)
    rules = tmp_path / "alerts.yml"
    rules.write_text(yaml.safe_dump(doc))
    sev = {r["alert"]: r["labels"]["severity"] for r in alert_rules()}

    def lab(name, **kw):
        return dict(kw, severity=sev[name])

    tests = []
    series = []
    for inst in ("gw-a:8080", "gw-b:8080"):
        common = {"instance": inst, "job": "kconnect-console", "cluster": "prod"}
        series += [
            s("kconnect_connector_error_ratio", "0.10x15", connector="bad", **common),
            s("kconnect_connector_error_ratio", "0.01x15", connector="ok", **common),
            s("kconnect_task_state", "1x15", connector="bad", task="0", state="FAILED", **common),
            s("kconnect_task_state", "1x15", connector="ok", task="0", state="RUNNING", **common),
            s("kconnect_connector_records_per_second", "0x15", connector="bad", type="source", **common),
            s("kconnect_connector_records_per_second", "12x15", connector="ok", type="source", **common),
            s("kconnect_connector_state", "1x15", connector="bad", type="source", state="RUNNING", **common),
            s("kconnect_connector_state", "1x15", connector="ok", type="source", state="RUNNING", **common),
            s("kconnect_connector_lag_records", "200000x15", connector="bad", **common),
            s("kconnect_connector_lag_records", "10x15", connector="ok", **common),
            s("kconnect_jolokia_up", "1x15", worker="w1:8083", **common),
            s("kconnect_connect_up", "0x15", instance=inst, job="kconnect-console", cluster="down"),
            s("kconnect_connect_up", "1x15", instance=inst, job="kconnect-console", cluster="prod"),
            # cluster "blind": Jolokia down, zero rates must not count as a stall.
            s("kconnect_jolokia_up", "0x15", instance=inst, job="kconnect-console",
              cluster="blind", worker="w9:8083"),
            s("kconnect_connector_records_per_second", "0x15", instance=inst, job="kconnect-console",
              cluster="blind", connector="x", type="sink"),
            s("kconnect_connector_state", "1x15", instance=inst, job="kconnect-console",
              cluster="blind", connector="x", type="sink", state="RUNNING"),
        ]
    # Connect unreachable from one replica only: not KafkaConnectUnreachable.
    series += [s("kconnect_connect_up", "0x15", instance="gw-a:8080", job="kconnect-console", cluster="half"),
               s("kconnect_connect_up", "1x15", instance="gw-b:8080", job="kconnect-console", cluster="half")]
    # Gateway: gw-a answers half its requests with 503, gw-b none.
    series += [
        s("kconnect_http_requests_total", "0+60x15", instance="gw-a:8080", job="kconnect-console",
          route="metrics", method="GET", status="200"),
        s("kconnect_http_requests_total", "0+60x15", instance="gw-a:8080", job="kconnect-console",
          route="metrics", method="GET", status="503"),
        s("kconnect_http_requests_total", "0+60x15", instance="gw-b:8080", job="kconnect-console",
          route="metrics", method="GET", status="200"),
        s("up", "1x15", instance="gw-a:8080", job="kconnect-console"),
        s("up", "0x15", instance="gw-b:8080", job="kconnect-console"),
    ]
    p = {"cluster": "prod"}
    tests.append({
        "interval": "1m",
        "input_series": series,
        "alert_rule_test": [
            expect("KafkaConnectConnectorErrorRateHigh", "4m"),
            expect("KafkaConnectConnectorErrorRateHigh", "7m",
                   lab("KafkaConnectConnectorErrorRateHigh", connector="bad", **p)),
            expect("KafkaConnectTaskFailed", "3m",
                   lab("KafkaConnectTaskFailed", connector="bad", task="0", **p)),
            expect("KafkaConnectConnectorStalled", "9m"),
            expect("KafkaConnectConnectorStalled", "12m",
                   lab("KafkaConnectConnectorStalled", connector="bad", **p)),
            expect("KafkaConnectSinkLagHigh", "7m",
                   lab("KafkaConnectSinkLagHigh", connector="bad", **p)),
            expect("KafkaConnectJolokiaUnreachable", "4m",
                   lab("KafkaConnectJolokiaUnreachable", cluster="blind", worker="w9:8083")),
            expect("KafkaConnectUnreachable", "3m", lab("KafkaConnectUnreachable", cluster="down")),
            expect("KafkaConnectConnectorFailed", "5m"),
            expect("KconnectConsoleHigh5xxRatio", "10m",
                   lab("KconnectConsoleHigh5xxRatio", instance="gw-a:8080", job="kconnect-console")),
            expect("KconnectConsoleDown", "4m",
                   lab("KconnectConsoleDown", instance="gw-b:8080", job="kconnect-console")),
        ],
    })
    spec = tmp_path / "alerts_test.yml"
    spec.write_text(yaml.safe_dump({"rule_files": [str(rules)], "evaluation_interval": "1m",
                                    "tests": tests}, sort_keys=False))
    run([tool, "test", "rules", str(spec)])
