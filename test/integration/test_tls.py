"""TLS to Connect: a self-signed HTTPS stand-in on loopback; the gateway verifies it with
KAFKA_CONNECT_CA_FILE, refuses it without, and accepts it with KAFKA_CONNECT_TLS_VERIFY=false."""
import http.server as httpserver
import json
import os
import shutil
import ssl
import subprocess
import tempfile
import threading

import pytest

from conftest import start_gateway
from kctest import http

pytestmark = pytest.mark.skipif(not shutil.which("openssl"), reason="openssl CLI not installed")


class ConnectRoot(httpserver.BaseHTTPRequestHandler):
    def do_GET(self):
        body = {"version": "3.9.0", "commit": "tls", "kafka_cluster_id": "tls-test"} \
            if self.path == "/" else ["tls-connector"]
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def https_connect():
    d = tempfile.mkdtemp()
    cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", key, "-out", cert], check=True, capture_output=True)
    srv = httpserver.ThreadingHTTPServer(("127.0.0.1", 0), ConnectRoot)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield "https://127.0.0.1:%d" % srv.server_address[1], cert
    srv.shutdown()
    shutil.rmtree(d)


@pytest.mark.parametrize("env_extra,ok", [
    ({"KAFKA_CONNECT_CA_FILE": "CERT"}, True),
    ({}, False),
    ({"KAFKA_CONNECT_TLS_VERIFY": "false"}, True),
])
def test_connect_over_tls(https_connect, env_extra, ok):
    url, cert = https_connect
    env = {"KAFKA_CONNECT_URL": url}
    env.update({k: (cert if v == "CERT" else v) for k, v in env_extra.items()})
    gw = start_gateway(env=env)
    try:
        r = http("GET", gw.url() + "/api/default/connectors")
        clusters = http("GET", gw.url() + "/api/clusters").json()["clusters"]
        if ok:
            assert r.status == 200 and r.json() == ["tls-connector"]
            assert clusters[0]["reachable"] is True and clusters[0]["version"] == "3.9.0"
        else:
            assert r.status == 502 and r.json()["error"] == "bad_gateway", r.body
            assert clusters[0]["reachable"] is False
    finally:
        gw.assert_clean_exit()
