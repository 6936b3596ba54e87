"""Who may do what, against the real binaries: README's role table sent row by row as every
role (connect-sim's counters prove a refused call never reaches Connect), identities from tokens
(wrong, missing, old-style) and from trusted and untrusted proxies, KC_READ_ONLY with roles, and
the audit trail — one record per change, filters, admin scope, the fleet's Redis stream — with
no token or secret value anywhere in the gateway's log or answers."""
import hashlib
import http.client
import json
import os
import re
import shutil
import time
import urllib.parse

import pytest

import kctest
from conftest import start_gateway, start_sim
from kctest import counters, enc

TOKENS = {"viewer": "tok-viewer-4f1a", "operator": "tok-operator-9c2e", "admin": "tok-admin-7b3d",
          "other-admin": "tok-other-admin-2d8f"}
ENV_TOKEN = "tok-env-legacy-5e0c"
SECRET = "hunter2-secret-value-61ab"  # a config value that must reach no log and no record
USERS = {"viewer": "viewer-bot", "operator": "operator-bot", "admin": "admin-bot",
         "none": "nobody"}
TRUSTED = "127.0.0.2"  # the gateway listens on 127.0.0.1; loopback lets us call from .2
ROLES = ["none", "viewer", "operator", "admin"]
VICTIM = "role-victim"
LOGGER = "org.apache.kafka.connect.runtime"


def sha(text):
    return hashlib.sha256(text.encode()).hexdigest()


def config(sim, **auth_extra):
    _, jport = sim.listener("jolokia")
    auth = {
        "tokens": [
            {"name": "viewer-bot", "sha256": sha(TOKENS["viewer"]), "roles": {"*": "viewer"}},
            {"name": "operator-bot", "sha256": sha(TOKENS["operator"]),
             "roles": {"default": "operator"}},
            {"name": "admin-bot", "sha256": sha(TOKENS["admin"]), "roles": {"*": "admin"}},
            {"name": "other-admin", "sha256": sha(TOKENS["other-admin"]),
             "roles": {"other": "admin", "default": "viewer"}},
        ],
        "trustedProxies": [TRUSTED, "fd00::/8"],
        "groups": {"kafka-admins": {"*": "admin"},
                   "kafka-ops": {"default": "operator", "*": "viewer"}},
    }
    auth.update(auth_extra)
    return {"metricsCacheTTL": "60s",  # no refresh ahead while the table is walked
            "clusters": [{"name": "default", "connectUrl": sim.url("connect"),
                          "jolokiaUrl": "http://{host}:%d/jolokia" % jport},
                         {"name": "other", "connectUrl": sim.url("connect")}],
            "auth": auth}


def start(sim, tmp_path, env=None, cfg=None):
    path = tmp_path / ("kc-%d.json" % time.monotonic_ns())
    path.write_text(json.dumps(cfg or config(sim)))
    base = {"KC_CONFIG": str(path), "KAFKA_CONNECT_URL": None, "JOLOKIA_URL": None}
    base.update(env or {})
    return start_gateway(None, env=base)


class Answer:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def json(self):
        return json.loads(self.body)


def call(gw, method, path, who=None, body=None, headers=None, source="127.0.0.1"):
    """One request from `source`; who is a role name (its token), ("proxy", user, groups), or
    None. A stream's answer is its status and headers only."""
    host, port = gw.listener()
    hdrs = dict(headers or {})
    if isinstance(who, str):
        hdrs["Authorization"] = "Bearer " + TOKENS[who]
    elif isinstance(who, tuple):
        _, user, groups = who
        hdrs["X-Forwarded-User"] = user
        if groups is not None:
            hdrs["X-Forwarded-Groups"] = groups
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        hdrs["Content-Type"] = "application/json"
    conn = http.client.HTTPConnection(host, port, timeout=15, source_address=(source, 0))
    try:
        conn.request(method, path, body=data, headers=hdrs)
        r = conn.getresponse()
        stream = (r.getheader("Content-Type") or "").startswith("text/event-stream")
        return Answer(r.status, dict(r.getheaders()), b"" if stream else r.read())
    finally:
        conn.close()


def as_role(role):
    """The identity of each role in the walk: tokens, and a forwarded user without groups."""
    return ("proxy", "nobody", None) if role == "none" else role


def source_of(role):
    return TRUSTED if role == "none" else "127.0.0.1"


def readme_rows():
    text = open(os.path.join(kctest.SOURCE_DIR, "README.md"), encoding="utf-8").read()
    table = text.split("<!-- role table:", 1)[1]
    rows = []
    for line in table.splitlines()[1:]:
        if not line.startswith("|"):
            if rows:
                break
            continue
        m = re.match(r"^\| (GET|POST|PUT|PATCH|DELETE) \| `([^`]+)` \| (\w+)", line)
        if m:
            rows.append((m.group(1), m.group(2), "none" if m.group(3) == "any" else m.group(3)))
    assert len(rows) >= 39, rows
    return rows


@pytest.fixture
def sim():
    p = start_sim("--seed", "7")
    yield p
    p.assert_clean_exit()


def make_victim(sim):
    names = kctest.http("GET", sim.url("connect") + "/connectors").json()
    src = names[0]
    cfg = kctest.http("GET", sim.url("connect") + "/connectors/%s/config" % enc(src)).json()
    cfg["name"] = VICTIM
    r = kctest.http("POST", sim.url("connect") + "/connectors", body={"name": VICTIM, "config": cfg})
    assert r.status in (200, 201), r.body
    return cfg


def plugin_of(sim, cfg):
    return cfg["connector.class"]


def body_for(method, template, cfg, role):
    if method == "POST" and template.endswith("/connectors"):
        c = dict(cfg, name="made-by-%s" % role)
        c["database.password"] = SECRET
        return {"name": "made-by-%s" % role, "config": c}
    if template.endswith("/config") and method in ("PUT", "PATCH"):
        return dict(cfg, **{"database.password": SECRET}) if method == "PUT" else \
            {"database.password": SECRET}
    if template.endswith("/offsets") and method == "PATCH":
        return {"offsets": []}
    if "/admin/loggers/" in template and method == "PUT":
        return {"level": "INFO"}
    if template.endswith("/validate"):
        return dict(cfg, **{"database.password": SECRET})
    return None


def sim_key(method, template):
    """connect-sim's counter key of a proxied row, or None for the gateway's own routes."""
    if not template.startswith("/api/{cluster}"):
        return None
    rest = template[len("/api/{cluster}"):]
    if rest.startswith("/metrics") or rest.startswith("/alerts") or "/metrics" in rest:
        return None
    return "%s %s" % (method, (rest or "/").replace("{logger}", "{name}"))


def route_count(sim, key):
    return counters(sim)["connect"]["routes"].get(key, 0)


def test_role_table_every_route_every_role(sim, tmp_path):
    cfg = make_victim(sim)
    gw = start(sim, tmp_path)
    seen_bodies = []
    writes = []  # (method, path, role, status) of every write row
    try:
        plugin = plugin_of(sim, cfg)
        for method, template, need in readme_rows():
            path = (template.replace("{cluster}", "default").replace("{name}", enc(VICTIM))
                    .replace("{task}", "0").replace("{plugin}", enc(plugin))
                    .replace("{logger}", enc(LOGGER)))
            key = sim_key(method, template)
            for role in ROLES:
                allowed = ROLES.index(role) >= ROLES.index(need)
                before_key = route_count(sim, key) if key else None
                before = counters(sim)
                body = body_for(method, template, cfg, role)
                r = call(gw, method, path, as_role(role), body=body, source=source_of(role))
                seen_bodies.append(r.body)
                what = "%s %s as %s" % (method, path, role)
                if allowed:
                    assert r.status not in (401, 403), (what, r.status, r.body)
                    if key:
                        assert route_count(sim, key) > before_key, \
                            "%s: allowed but Connect never saw %s" % (what, key)
                else:
                    assert r.status == 403, (what, r.status, r.body)
                    doc = r.json()
                    assert doc["error"] == "forbidden", (what, doc)
                    assert re.match(r"^role %s may not [A-Za-z ']+( on cluster default| \(\w+ on a "
                                    r"cluster is needed\))$" % role, doc["message"]), doc
                    after = counters(sim)
                    assert after["connect"] == before["connect"], \
                        "%s: refused, yet Connect saw a call" % what
                    assert after.get("jolokia") == before.get("jolokia"), \
                        "%s: refused, yet an agent saw a call" % what
                if method != "GET" and not template.endswith("/validate"):
                    writes.append((method, path.split("?")[0], role, r.status))
            if template.endswith("/metrics/stream") or template.startswith("/api/stream"):
                time.sleep(0.3)  # the stream's first collection ends before the next refusals

        # ---- the trail: exactly one record per write, with what the caller was answered ----
        r = call(gw, "GET", "/api/audit?limit=1000", "admin")
        assert r.status == 200, r.body
        doc = r.json()
        assert doc["source"] == "local"
        records = doc["records"]
        assert len(records) == len(writes), (len(records), len(writes))
        assert [x["atMs"] for x in records] == sorted((x["atMs"] for x in records), reverse=True)
        for method, path, role, status in writes:
            match = [x for x in records if x["method"] == method and x["path"] == path and
                     x["user"] == USERS[role]]
            assert len(match) == 1, (method, path, role, match)
            rec = match[0]
            assert rec["status"] == status and rec["cluster"] == "default", rec
            assert rec["role"] == role and rec["peer"] == source_of(role), rec
            assert rec["auth"] == ("proxy" if role == "none" else "token"), rec
            if status == 403:
                assert rec["outcome"] == "forbidden" and rec["error"].startswith("role " + role)
            else:
                assert rec["outcome"] == ("ok" if 200 <= status < 300 else "failed"), rec
            want_connector = "made-by-%s" % role if path.endswith("/connectors") else (
                VICTIM if "/connectors/" in path else None)
            assert rec["connector"] == want_connector, rec
        seen_bodies.append(r.body)
    finally:
        gw.assert_clean_exit()
    # ---- no token, digest or secret value in any log line or answer ----
    text = gw.stderr() + b"".join(seen_bodies).decode(errors="replace")
    for secret in list(TOKENS.values()) + [SECRET] + [sha(t) for t in TOKENS.values()]:
        assert secret not in text, "%s leaked" % secret[:8]
    audit_lines = [json.loads(l) for l in gw.stderr_lines if '"event":"audit"' in l]
    assert len(audit_lines) == len(writes)
    assert all(l["kind"] == "audit" for l in audit_lines)


def test_forwarded_headers_count_only_from_trusted_peers(sim, tmp_path):
    gw = start(sim, tmp_path)
    try:
        admin = ("proxy", "alice", "kafka-admins")
        # untrusted peer: the headers are ignored, no identity
        r = call(gw, "GET", "/api/whoami", admin, source="127.0.0.1")
        assert r.status == 401 and r.json()["error"] == "unauthorized"
        before = counters(sim)["connect"]
        r = call(gw, "PUT", "/api/default/connectors/x/pause", admin, source="127.0.0.1")
        assert r.status == 401
        assert counters(sim)["connect"] == before
        # trusted peer: who they are and the roles of their groups
        r = call(gw, "GET", "/api/whoami", admin, source=TRUSTED)
        assert r.status == 200
        me = r.json()
        assert me["user"] == "alice" and me["auth"] == "proxy" and me["groups"] == ["kafka-admins"]
        assert me["roles"] == {"default": "admin", "other": "admin"} and me["admin"] is True
        r = call(gw, "GET", "/api/whoami", ("proxy", "bob", "kafka-ops, unrelated"), source=TRUSTED)
        assert r.json()["roles"] == {"default": "operator", "other": "viewer"}
        r = call(gw, "PUT", "/api/other/connectors/x/pause", ("proxy", "bob", "kafka-ops"),
                 source=TRUSTED)
        assert r.status == 403
        assert r.json()["message"] == "role viewer may not pause connectors on cluster other"
        # a valid token from an untrusted peer works; its identity is the token's
        r = call(gw, "GET", "/api/whoami", "viewer", headers={"X-Forwarded-User": "mallory",
                                                              "X-Forwarded-Groups": "kafka-admins"})
        assert r.json()["user"] == "viewer-bot" and r.json()["roles"]["default"] == "viewer"
        # an empty user is no identity
        r = call(gw, "GET", "/api/whoami", ("proxy", "", "kafka-admins"), source=TRUSTED)
        assert r.status == 401
    finally:
        gw.assert_clean_exit()


def test_custom_header_names(sim, tmp_path):
    cfg = config(sim, userHeader="X-Auth-Request-User", groupsHeader="X-Auth-Request-Groups",
                 trustedProxies=["127.0.0.0/8"])
    gw = start(sim, tmp_path, cfg=cfg)
    try:
        r = call(gw, "GET", "/api/whoami", ("proxy", "alice", "kafka-admins"))
        assert r.status == 401  # the default names mean nothing here
        r = call(gw, "GET", "/api/whoami", headers={"X-Auth-Request-User": "alice",
                                                    "X-Auth-Request-Groups": "kafka-ops"})
        assert r.status == 200 and r.json()["roles"]["default"] == "operator"
    finally:
        gw.assert_clean_exit()


def test_tokens_wrong_missing_and_old_style(sim, tmp_path):
    gw = start(sim, tmp_path, env={"KC_AUTH_TOKEN": ENV_TOKEN})
    try:
        api = "/api/default/connectors"
        r = call(gw, "GET", api)
        assert r.status == 401 and r.headers.get("X-Sign-In") == "token, proxy"
        assert r.json() == {"error": "unauthorized",
                            "message": "sign in through the proxy, or send a valid bearer token"}
        for bad in ("Bearer nope", "Bearer " + sha(TOKENS["admin"]), "Token " + TOKENS["admin"],
                    "Basic " + TOKENS["admin"], "Bearer " + TOKENS["admin"] + "x", "Bearer "):
            r = call(gw, "GET", api, headers={"Authorization": bad})
            assert r.status == 401, bad
            assert r.json()["message"] == "the bearer token is not valid", bad
        # KC_AUTH_TOKEN beside `auth`: one more admin, named so in whoami and the trail
        env = {"Authorization": "Bearer " + ENV_TOKEN}
        me = call(gw, "GET", "/api/whoami", headers=env).json()
        assert me["user"] == "KC_AUTH_TOKEN" and me["auth"] == "env-token"
        assert me["roles"] == {"default": "admin", "other": "admin"}
        names = kctest.http("GET", sim.url("connect") + "/connectors").json()
        r = call(gw, "PUT", "/api/default/connectors/%s/pause" % enc(names[0]), headers=env)
        assert r.status == 202, r.body
        # the query token: GETs only (the console's EventSource), any configured token
        q = "?access_token=" + urllib.parse.quote(TOKENS["viewer"])
        assert call(gw, "GET", api + q).status == 200
        r = call(gw, "GET", "/api/default/connectors/%s/metrics/stream%s" % (enc(names[0]), q))
        assert r.status == 200 and r.headers["Content-Type"].startswith("text/event-stream")
        assert call(gw, "GET", api + "?access_token=" + ENV_TOKEN).status == 200
        assert call(gw, "PUT", "/api/default/connectors/%s/resume?access_token=%s"
                    % (enc(names[0]), ENV_TOKEN)).status == 401
        # the header wins over the query
        assert call(gw, "GET", api + q, headers={"Authorization": "Bearer nope"}).status == 401
        rec = call(gw, "GET", "/api/audit?user=KC_AUTH_TOKEN", "admin").json()["records"]
        assert [(x["route"], x["auth"], x["status"]) for x in rec] == \
            [("connector_pause", "env-token", 202)]
    finally:
        gw.assert_clean_exit()
    text = gw.stderr()
    for t in list(TOKENS.values()) + [ENV_TOKEN]:
        assert t not in text


def test_proxy_only_asks_for_the_proxy(sim, tmp_path):
    cfg = config(sim, tokens=[])
    gw = start(sim, tmp_path, cfg=cfg)
    try:
        r = call(gw, "GET", "/api/settings")
        assert r.status == 401 and r.headers.get("X-Sign-In") == "proxy"
        assert r.json()["message"] == "sign in through the proxy"
        # the probes, /metrics and the UI stay open
        for path in ("/health", "/ready", "/metrics", "/", "/app/main.js"):
            assert call(gw, "GET", path).status == 200, path
        s = call(gw, "GET", "/api/settings", ("proxy", "u", None), source=TRUSTED).json()
        assert s["authRequired"] is True and s["auth"] == {"tokens": False, "proxy": True}
    finally:
        gw.assert_clean_exit()


def test_read_only_refuses_admins_too(sim, tmp_path):
    gw = start(sim, tmp_path, env={"KC_READ_ONLY": "true"})
    try:
        names = kctest.http("GET", sim.url("connect") + "/connectors").json()
        before = counters(sim)["connect"]["total"]
        r = call(gw, "PUT", "/api/default/connectors/%s/pause" % enc(names[0]), "admin")
        assert r.status == 403 and r.json()["error"] == "read_only"
        # a viewer is told about the role first
        r = call(gw, "PUT", "/api/default/connectors/%s/pause" % enc(names[0]), "viewer")
        assert r.status == 403 and r.json()["error"] == "forbidden"
        assert counters(sim)["connect"]["total"] == before
        cfg = kctest.http("GET", sim.url("connect") + "/connectors/%s/config" % enc(names[0])).json()
        r = call(gw, "PUT", "/api/default/connector-plugins/%s/config/validate"
                 % enc(cfg["connector.class"]), "admin", body=cfg)
        assert r.status == 200, r.body
        recs = call(gw, "GET", "/api/audit", "admin").json()["records"]
        assert [(x["user"], x["outcome"], x["status"]) for x in recs] == \
            [("viewer-bot", "forbidden", 403), ("admin-bot", "read_only", 403)]
        assert call(gw, "GET", "/api/whoami", "admin").json()["readOnly"] is True
    finally:
        gw.assert_clean_exit()


def test_audit_filters_and_scope(sim, tmp_path):
    gw = start(sim, tmp_path)
    try:
        names = kctest.http("GET", sim.url("connect") + "/connectors").json()
        a, b = names[0], names[1]
        t0 = int(time.time() * 1000)
        assert call(gw, "PUT", "/api/default/connectors/%s/pause" % enc(a), "operator").status == 202
        assert call(gw, "PUT", "/api/default/connectors/%s/resume" % enc(a), "admin").status == 202
        time.sleep(0.01)
        t1 = int(time.time() * 1000)
        assert call(gw, "POST", "/api/default/connectors/%s/restart" % enc(b), "admin").status \
            in (200, 202, 204)
        assert call(gw, "PUT", "/api/other/connectors/%s/pause" % enc(b), "other-admin").status \
            == 202
        assert call(gw, "PUT", "/api/other/connectors/%s/resume" % enc(b), "admin").status == 202

        def audit(query, who="admin"):
            r = call(gw, "GET", "/api/audit" + query, who)
            assert r.status == 200, r.body
            return [(x["user"], x["route"], x["cluster"], x["connector"]) for x in r.json()["records"]]

        assert len(audit("")) == 5
        assert audit("?user=operator-bot") == [("operator-bot", "connector_pause", "default", a)]
        assert [x[1] for x in audit("?connector=" + enc(a))] == ["connector_resume",
                                                                 "connector_pause"]
        assert [x[1] for x in audit("?since=%d" % t1)] == ["connector_resume", "connector_pause",
                                                           "connector_restart"]
        assert len(audit("?since=%d&limit=2" % t0)) == 2
        # an admin of one cluster sees that cluster's records only
        assert audit("", "other-admin") == [("admin-bot", "connector_resume", "other", b),
                                            ("other-admin", "connector_pause", "other", b)]
        r = call(gw, "GET", "/api/audit", "operator")
        assert r.status == 403
        assert r.json()["message"] == ("role operator may not read the audit trail (admin on a "
                                       "cluster is needed)")
        assert call(gw, "GET", "/api/audit?since=yesterday", "admin").status == 400
        assert call(gw, "GET", "/api/audit?limit=0", "admin").status == 400
    finally:
        gw.assert_clean_exit()


def test_config_refusals_name_the_setting(sim, tmp_path):
    for auth, words in (
            ({"tokens": [{"name": "x", "token": "plain", "roles": {"*": "admin"}}]},
             "never the token itself"),
            ({"tokens": [{"name": "x", "sha256": sha("t"), "roles": {"prdo": "admin"}}]},
             "auth.tokens[x].roles: no cluster named \"prdo\""),
            ({"trustedProxies": ["10.0.0.0/40"]}, "auth.trustedProxies[0]"),
            ({"groups": {"g": {"*": "superuser"}}}, "want viewer, operator or admin")):
        cfg = config(sim)
        cfg["auth"] = auth
        path = tmp_path / "bad.json"
        path.write_text(json.dumps(cfg))
        g = start_gateway(None, env={"KC_CONFIG": str(path), "KAFKA_CONNECT_URL": None},
                          expect_fail=True)
        assert g.wait_exit(20) == 2
        g.stop()
        assert words in g.stderr(), g.stderr()
        assert sha("t") not in g.stderr() and "plain" not in g.stderr()


REDIS = shutil.which("redis-server")


@pytest.mark.skipif(REDIS is None, reason="redis-server is not installed")
def test_fleet_shares_one_trail(sim, tmp_path):
    from test_redis import RedisServer, free_port
    port = free_port()
    redis = RedisServer(port)
    env = {"KC_REDIS_URL": "redis://127.0.0.1:%d" % port, "KC_REDIS_PREFIX": "rt:",
           "KC_AUDIT_MAX_RECORDS": "20"}
    a = start(sim, tmp_path, env=env)
    b = start(sim, tmp_path, env=env)
    try:
        def fleet(gw):
            h = call(gw, "GET", "/api/gateway/health", "admin").json()
            return h["redis"]["mode"] == "fleet"
        kctest.wait_until(lambda: fleet(a) and fleet(b), timeout=10, what="fleet mode")
        names = kctest.http("GET", sim.url("connect") + "/connectors").json()
        for i in range(30):  # more than the cap: the stream stays bounded
            path = "/api/default/connectors/%s/%s" % (enc(names[0]), "pause" if i % 2 else "resume")
            assert call(a if i % 3 else b, "PUT", path, "operator").status == 202
        assert call(a, "DELETE", "/api/default/connectors/" + enc(names[0]), "viewer").status == 403
        doc = call(b, "GET", "/api/audit?limit=1000", "admin").json()
        assert doc["source"] == "fleet"
        recs = doc["records"]
        assert recs[0]["route"] == "connector_delete" and recs[0]["outcome"] == "forbidden"
        assert 20 <= len(recs) < 31  # MAXLEN ~ trims whole nodes: about the cap
        assert call(a, "GET", "/api/audit?limit=1000", "admin").json()["records"] == recs
        import socket as _s
        with _s.create_connection(("127.0.0.1", port)) as s:
            s.sendall(b"PTTL rt:audit\r\n")
            pttl = int(s.recv(64).decode().strip().lstrip(":"))
        assert 0 < pttl <= 90 * 24 * 3600 * 1000
        # Redis gone: each replica answers from its own ring
        redis.stop()
        kctest.wait_until(lambda: not fleet(b), timeout=10, what="local mode")
        local = call(b, "GET", "/api/audit?limit=1000", "admin").json()
        assert local["source"] == "local" and 0 < len(local["records"]) <= 20
    finally:
        a.assert_clean_exit()
        b.assert_clean_exit()
        redis.stop()
