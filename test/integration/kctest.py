"""kctest — the integration harness: runs the real binaries on loopback, port 0.

Each child is started with a deadline for its `listening on` lines, stopped TERM then KILL,
and its stderr is scanned for sanitizer reports, which fail the test that owned it.
"""
import atexit
import json
import os
import re
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.server import ThreadingHTTPServer

BUILD_DIR = os.environ.get("KC_BUILD_DIR") or os.path.join(
    os.path.dirname(__file__), "..", "..", "build")
SOURCE_DIR = os.environ.get("KC_SOURCE_DIR") or os.path.join(os.path.dirname(__file__), "..", "..")
LISTEN_RE = re.compile(r"listening on (\S+):(\d+)(?: \((.*)\))?")
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                     "ERROR: UndefinedBehaviorSanitizer")

SAN_ENV = {
    "ASAN_OPTIONS": "detect_leaks=1:halt_on_error=1:abort_on_error=0:exitcode=86",
    "UBSAN_OPTIONS": "halt_on_error=1:print_stacktrace=1:exitcode=87",
    "LSAN_OPTIONS": "exitcode=88",
}


def binary(name):
    return os.path.join(BUILD_DIR, name)


# Every child started here, so that none outlives the test run: a failed assertion in a
# fixture's teardown (the gateway's exit code, say) must not leave its simulator running.
_STARTED = []


@atexit.register
def _kill_leftovers():
    for proc in _STARTED:
        if proc.poll() is None:
            proc.kill()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                pass


class Proc:
    """One child process with its listeners: self.listeners = [(host, port, role), ...]."""

    def __init__(self, argv, env=None, listeners=1, deadline=20.0, expect_fail=False):
        full_env = dict(os.environ)
        full_env.update(SAN_ENV)
        if env:
            full_env.update({k: str(v) for k, v in env.items() if v is not None})
            for k, v in env.items():
                if v is None:
                    full_env.pop(k, None)
        self.argv = argv
        self.p = subprocess.Popen(argv, env=full_env, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True, errors="replace")
        _STARTED.append(self.p)
        self.stderr_lines = []
        self.stdout_lines = []
        self.listeners = []
        self._ready = threading.Event()
        self._want = listeners
        self._t_out = threading.Thread(target=self._read_stdout, daemon=True)
        self._t_err = threading.Thread(target=self._read_stderr, daemon=True)
        self._t_out.start()
        self._t_err.start()
        if expect_fail:
            return
        if not self._ready.wait(deadline):
            self.kill()
            raise RuntimeError("%s did not print %d 'listening on' lines within %.0fs; stderr:\n%s"
                               % (argv[0], listeners, deadline, self.stderr()))

    def _read_stdout(self):
        for line in self.p.stdout:
            self.stdout_lines.append(line)
            m = LISTEN_RE.search(line)
            if m:
                self.listeners.append((m.group(1), int(m.group(2)), m.group(3) or ""))
                if len(self.listeners) >= self._want:
                    self._ready.set()

    def _read_stderr(self):
        for line in self.p.stderr:
            self.stderr_lines.append(line)

    def stderr(self):
        return "".join(self.stderr_lines)

    def listener(self, role=""):
        for host, port, r in self.listeners:
            if r == role or (role and r.startswith(role)):
                return host, port
        raise KeyError(role)

    def url(self, role=""):
        host, port = self.listener(role)
        return "http://%s:%d" % (host, port)

    def wait_exit(self, timeout=20.0):
        try:
            return self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait(5)

    def stop(self, timeout=20.0):
        """TERM, then KILL after timeout. Returns the exit code."""
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(timeout)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait(5)
        self._t_err.join(5)
        self._t_out.join(5)
        return self.p.returncode

    def sanitizer_report(self):
        text = self.stderr()
        for marker in SANITIZER_MARKERS:
            if marker in text:
                return text
        return None

    def assert_clean_exit(self):
        code = self.stop()
        report = self.sanitizer_report()
        assert report is None, "sanitizer report from %s:\n%s" % (self.argv[0], report[-8000:])
        assert code == 0, "%s exited %s; stderr tail:\n%s" % (self.argv[0], code,
                                                               self.stderr()[-4000:])


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body)

    def header(self, name):
        return self.headers.get(name)


def http(method, url, body=None, headers=None, timeout=15.0):
    """One HTTP request with urllib; returns Response for every status (no raise on 4xx/5xx)."""
    data = None
    hdrs = dict(headers or {})
    if body is not None:
        if isinstance(body, (dict, list)):
            data = json.dumps(body).encode()
            hdrs.setdefault("Content-Type", "application/json")
        elif isinstance(body, str):
            data = body.encode()
        else:
            data = body
    req = urllib.request.Request(url, data=data, method=method, headers=hdrs)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return Response(r.status, r.headers, r.read())
    except urllib.error.HTTPError as e:
        return Response(e.code, e.headers, e.read())


def json_kind(v):
    """The JSON type of a parsed value: null, bool, int, float, str, list or dict."""
    if v is None:
        return "null"
    for t, name in ((bool, "bool"), (int, "int"), (float, "float"), (str, "str"), (list, "list")):
        if isinstance(v, t):
            return name
    return "dict"


def get_json(url, **kw):
    r = http("GET", url, **kw)
    return r.status, (json.loads(r.body) if r.body else None)


def wait_until(predicate, timeout=10.0, interval=0.05, what="condition"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError("timed out after %.1fs waiting for %s (last=%r)" % (timeout, what, last))


# ---- connect-sim's control API (src/sim/README.md) ----

def enc(name):
    """A connector name as one URL path segment."""
    return urllib.parse.quote(name, safe="")


def control(sim, method, path, body=None):
    return http(method, sim.url("control") + path, body=body)


def counters(sim):
    return control(sim, "GET", "/counters").json()


def truth(sim, name):
    return control(sim, "GET", "/truth/" + enc(name)).json()


# ---- Server-Sent Events ----

def read_stream_until_closed(sock, deadline_s):
    """Reads an open stream until the gateway ends it (the last chunk, or the connection
    closed); (text, ended)."""
    deadline = time.monotonic() + deadline_s
    buf = b""
    sock.settimeout(0.2)
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            continue
        if not chunk:
            return buf.decode(errors="replace"), True
        buf += chunk
        if buf.endswith(b"\r\n0\r\n\r\n"):
            return buf.decode(errors="replace"), True
    return buf.decode(errors="replace"), False


def sse_events(text):
    """[(event, data)] of an SSE body (chunk framing lines are neither)."""
    out, event = [], None
    for line in text.split("\n"):
        line = line.rstrip("\r")
        if line.startswith("event: "):
            event = line[7:]
        elif line.startswith("data: ") and event:
            out.append((event, line[6:]))
            event = None
    return out


def read_for(s, seconds, until=None):
    """Reads what arrives within `seconds` (or until until(text) holds); the text."""
    deadline = time.monotonic() + seconds
    buf = b""
    s.settimeout(0.1)
    while time.monotonic() < deadline:
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            continue
        if not chunk:
            break
        buf += chunk
        if until and until(buf.decode("utf-8", "replace")):
            break
    return buf.decode("utf-8", "replace")


def sse_records(text):
    """[{"id","event","data"}] of a raw SSE body: fields as sent, an event per blank line."""
    out, cur = [], {}
    for line in text.split("\n"):
        line = line.rstrip("\r")
        for field in ("id", "event", "data"):
            if line.startswith(field + ": "):
                cur[field] = line[len(field) + 2:]
        if line == "" and "data" in cur:
            out.append(cur)
            cur = {}
    return out


class LoopbackHTTP:
    """A stand-in HTTP server on 127.0.0.1 (port 0) serving `handler` from its own thread."""

    def __init__(self, handler):
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
