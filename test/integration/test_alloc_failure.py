"""Allocation failures on the request path: every Nth JSON allocation fails inside the
gateway (KC_TEST_FAIL_JSON_ALLOC_EVERY); every request still gets a complete HTTP answer
(its real one, or a 5xx with an error body), the gateway never crashes, and it exits clean."""
import json

import pytest

from conftest import start_gateway
from kctest import enc, http

PATHS = [
    "/api/default/connectors?expand=status&expand=info",
    "/api/default/connectors/orders-src",
    "/api/default/connectors/orders-src/config",
    "/api/default/connectors/" + enc("say \"hi\"*") + "/metrics",
    "/api/default/connectors/orders-sink/metrics",
    "/api/default/connectors/orders-sink/metrics/history?since=0",
    "/api/default/metrics",
    "/api/clusters",
    "/api/gateway/health",
    "/api/nope/connectors",
    "/metrics",
    "/health",
]


@pytest.mark.parametrize("every", [3, 97, 1009, 10007])
def test_requests_survive_failing_allocations(sim, every):
    gw = start_gateway(sim, env={"KC_TEST_FAIL_JSON_ALLOC_EVERY": str(every),
                                 "METRICS_CACHE_TTL": "100ms", "KC_NEGATIVE_TTL": "50ms"})
    try:
        statuses = {}
        for round_ in range(6):
            for path in PATHS:
                r = http("GET", gw.url() + path, timeout=10)
                statuses.setdefault(r.status, 0)
                statuses[r.status] += 1
                if r.status >= 500 and r.body:
                    body = json.loads(r.body)
                    assert "error" in body or "error_code" in body, body
            body = {"connector.class": "FileStreamSource", "file": "/tmp/x", "topic": "t"}
            r = http("PUT", gw.url() + "/api/default/connector-plugins/FileStreamSource/config/validate",
                     body=body, timeout=10)
            assert r.status in (200, 400, 502, 503), r.status
        assert statuses.get(200, 0) > 0, statuses
        if every > 100:
            # rare failures: most API answers are the real ones, some are 5xx
            assert statuses[200] > len(PATHS) * 3, statuses
        assert http("GET", gw.url() + "/health").status == 200
        assert "fault_injection" in gw.stderr()
    finally:
        gw.assert_clean_exit()
