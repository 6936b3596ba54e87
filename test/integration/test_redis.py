"""Fleet mode's foundation against a real redis-server (started here on a free port): the gateway
shows Redis in /api/gateway/health and /metrics, and Redis trouble never breaks it — killed,
stalled, wrong password, unresolvable host: local mode within ~1 s, every API keeps answering."""
import os
import shutil
import socket
import subprocess
import threading
import time

import pytest

import kctest
from conftest import start_gateway, start_sim
from kctest import get_json, http, wait_until

REDIS = shutil.which("redis-server")
pytestmark = pytest.mark.skipif(REDIS is None, reason="redis-server is not installed "
                                "(deploy/install-deps.sh installs it)")
PASSWORD = "s3cr#t:p@ss/word"  # special characters: percent-encoded in the URL
PASSWORD_URL = "s3cr%23t%3Ap%40ss%2Fword"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    """One redis-server child on loopback; stop() is safe to call twice."""

    def __init__(self, port, password=None):
        self.port = port
        argv = [REDIS, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "no"]
        if password:
            argv += ["--requirepass", password]
        self.p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        kctest._STARTED.append(self.p)
        deadline = time.monotonic() + 10
        while True:  # ready when it answers PING (NOAUTH counts: it is up)
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(64):
                        return
            except OSError:
                pass
            if time.monotonic() > deadline or self.p.poll() is not None:
                self.stop()
                raise RuntimeError("redis-server did not start on port %d" % port)
            time.sleep(0.05)

    def stop(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait(5)


class SilentServer:
    """Accepts TCP connections and never answers: a Redis that stalls."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.conns = []
        self.stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.stopped:
            try:
                c, _ = self.sock.accept()
                self.conns.append(c)
            except OSError:
                return

    def stop(self):
        self.stopped = True
        self.sock.close()
        for c in self.conns:
            c.close()


@pytest.fixture
def sim():
    p = start_sim("--seed", "7")
    yield p
    p.assert_clean_exit()


@pytest.fixture
def cleanup():
    """Everything a test starts, stopped at the end even when it fails."""
    things = []
    yield things
    for t in reversed(things):
        t.stop()


def redis_health(gw):
    status, doc = get_json(gw.url() + "/api/gateway/health")
    assert status == 200
    return doc["redis"]


def metric(gw, name):
    text = http("GET", gw.url() + "/metrics").body.decode()
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError("%s not in /metrics" % name)


def mode_becomes(gw, mode, timeout):
    """Polls /api/gateway/health; returns the seconds it took."""
    t0 = time.monotonic()
    wait_until(lambda: redis_health(gw)["mode"] == mode, timeout=timeout, interval=0.02,
               what="redis mode %s" % mode)
    return time.monotonic() - t0


def assert_gateway_answers(gw):
    assert http("GET", gw.url() + "/ready").status == 200
    assert http("GET", gw.url() + "/health").status == 200
    r = http("GET", gw.url() + "/api/default/connectors/orders-src/metrics")
    assert r.status == 200, r.body[:300]
    assert http("GET", gw.url() + "/api/default/connectors").status == 200


def test_local_mode_without_redis(sim):
    gw = start_gateway(sim)
    try:
        assert redis_health(gw) == {"configured": False, "mode": "local"}
        assert "kconnect_redis_" not in http("GET", gw.url() + "/metrics").body.decode()
        assert "redis" not in gw.stderr()
    finally:
        gw.assert_clean_exit()


def test_fleet_mode_kill_and_restart(sim, cleanup):
    port = free_port()
    cleanup.append(RedisServer(port))
    gw = start_gateway(sim, env={"KC_REDIS_URL": "redis://127.0.0.1:%d/2" % port})
    cleanup.append(gw)
    mode_becomes(gw, "fleet", 5)
    h = redis_health(gw)
    assert h["state"] == "READY" and h["reachable"] is True
    assert h["url"] == "redis://127.0.0.1:%d/2" % port
    assert h["latencyMs"] is not None and h["latencyMs"] < 100
    assert metric(gw, "kconnect_redis_up") == 1
    assert_gateway_answers(gw)
    # Two connections: commands and pub/sub.
    out = subprocess.run(["redis-cli", "-p", str(port), "CLIENT", "LIST"], capture_output=True,
                         text=True, timeout=5).stdout
    assert len([l for l in out.splitlines() if "cmd=client" not in l]) == 2, out

    cleanup[0].stop()
    took = mode_becomes(gw, "local", 3)
    print("fallback after kill: %.3fs" % took)
    assert took < 1.0, "fallback took %.2fs" % took
    assert_gateway_answers(gw)
    assert metric(gw, "kconnect_redis_up") == 0
    assert metric(gw, "kconnect_redis_fallbacks_total") == 1

    cleanup.append(RedisServer(port))
    mode_becomes(gw, "fleet", 8)  # backoff is at most 5 s
    assert metric(gw, "kconnect_redis_reconnects_total") >= 1
    assert_gateway_answers(gw)
    gw.assert_clean_exit()


def test_password_right_and_wrong(sim, cleanup):
    port = free_port()
    cleanup.append(RedisServer(port, password=PASSWORD))
    gw = start_gateway(sim, env={"KC_REDIS_URL": "redis://:%s@127.0.0.1:%d" % (PASSWORD_URL, port)})
    cleanup.append(gw)
    mode_becomes(gw, "fleet", 5)
    h = redis_health(gw)
    assert h["url"] == "redis://:********@127.0.0.1:%d/0" % port
    gw.assert_clean_exit()

    bad = start_gateway(sim, env={"KC_REDIS_URL": "redis://:wrong-%s@127.0.0.1:%d" % (PASSWORD_URL, port),
                                  "LOG_LEVEL": "debug"})
    cleanup.append(bad)
    time.sleep(1.5)
    h = redis_health(bad)
    assert h["mode"] == "local" and h["state"] != "READY"
    assert "AUTH refused" in h["error"], h
    assert_gateway_answers(bad)
    answers = [http("GET", bad.url() + p).body.decode()
               for p in ("/api/gateway/health", "/metrics", "/api/settings")]
    bad.assert_clean_exit()
    for text in answers + [bad.stderr(), "".join(bad.stdout_lines)]:
        for secret in (PASSWORD, PASSWORD_URL, "wrong-"):
            assert secret not in text


def test_stalled_redis_falls_back_within_a_second(sim, cleanup):
    port = free_port()
    real = RedisServer(port)
    cleanup.append(real)
    gw = start_gateway(sim, env={"KC_REDIS_URL": "redis://127.0.0.1:%d" % port})
    cleanup.append(gw)
    mode_becomes(gw, "fleet", 5)
    # SIGSTOP: the TCP connections stay up, Redis just never answers — only the PING timeout
    # can tell.
    real.p.send_signal(19)
    try:
        took = mode_becomes(gw, "local", 3)
        print("fallback after SIGSTOP: %.3fs" % took)
        assert took < 1.0, "fallback took %.2fs" % took
        assert_gateway_answers(gw)
        assert metric(gw, "kconnect_redis_timeouts_total") >= 1
        assert metric(gw, "kconnect_redis_fallbacks_total") == 1
    finally:
        real.p.send_signal(18)
    mode_becomes(gw, "fleet", 8)
    gw.assert_clean_exit()


def test_silent_server_never_gets_ready(sim, cleanup):
    silent = SilentServer()
    cleanup.append(silent)
    gw = start_gateway(sim, env={"KC_REDIS_URL": "redis://127.0.0.1:%d" % silent.port})
    cleanup.append(gw)
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:  # the loop answers all along
        t0 = time.monotonic()
        assert http("GET", gw.url() + "/health", timeout=2).status == 200
        assert time.monotonic() - t0 < 0.25
        assert redis_health(gw)["mode"] == "local"
        time.sleep(0.05)
    assert_gateway_answers(gw)
    assert metric(gw, "kconnect_redis_timeouts_total") >= 1
    assert metric(gw, "kconnect_redis_up") == 0
    gw.assert_clean_exit()


def test_unresolvable_host_does_not_block_the_loop(sim, cleanup):
    gw = start_gateway(sim, env={"KC_REDIS_URL": "redis://no-such-host.invalid:6379"})
    cleanup.append(gw)
    worst = 0.0
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        t0 = time.monotonic()
        assert http("GET", gw.url() + "/health", timeout=2).status == 200
        worst = max(worst, time.monotonic() - t0)
        time.sleep(0.02)
    assert worst < 0.25, "a /health probe took %.3fs" % worst
    h = redis_health(gw)
    assert h["mode"] == "local" and h["state"] in ("RESOLVING", "BACKOFF"), h
    assert_gateway_answers(gw)
    gw.assert_clean_exit()


def test_host_name_is_resolved(sim, cleanup):
    port = free_port()
    cleanup.append(RedisServer(port))
    gw = start_gateway(sim, env={"KC_REDIS_URL": "redis://localhost:%d/1" % port,
                                 "KC_REDIS_PREFIX": "kc-test:"})
    cleanup.append(gw)
    mode_becomes(gw, "fleet", 5)
    assert redis_health(gw)["prefix"] == "kc-test:"
    # The handshake's write probe: the one key this foundation writes, with a TTL.
    out = subprocess.run(["redis-cli", "-p", str(port), "-n", "1", "PTTL", "kc-test:probe"],
                         capture_output=True, text=True, timeout=5).stdout.strip()
    assert 0 < int(out) <= 10000
    gw.assert_clean_exit()


def test_redis_refusing_writes_is_local(sim, cleanup):
    port = free_port()
    cleanup.append(RedisServer(port))
    subprocess.run(["redis-cli", "-p", str(port), "CONFIG", "SET", "maxmemory", "1"],
                   check=True, capture_output=True, timeout=5)
    gw = start_gateway(sim, env={"KC_REDIS_URL": "redis://127.0.0.1:%d" % port})
    cleanup.append(gw)
    wait_until(lambda: "OOM" in (redis_health(gw).get("error") or ""), timeout=5,
               what="OOM in the redis error")
    assert redis_health(gw)["mode"] == "local"
    subprocess.run(["redis-cli", "-p", str(port), "CONFIG", "SET", "maxmemory", "0"],
                   check=True, capture_output=True, timeout=5)
    mode_becomes(gw, "fleet", 8)
    gw.assert_clean_exit()


@pytest.mark.parametrize("url, words", [
    ("rediss://:pw-secret@127.0.0.1:6380", "KC_REDIS_URL: rediss://"),
    ("redis://:pw-secret@127.0.0.1:port", "KC_REDIS_URL: bad port"),
])
def test_bad_url_stops_the_start(url, words):
    gw = start_gateway(env={"KC_REDIS_URL": url}, expect_fail=True)
    assert gw.wait_exit(10) == 2
    gw.stop()
    assert words in gw.stderr()
    assert "pw-secret" not in gw.stderr()
    assert len(gw.stderr().strip().splitlines()) == 1
