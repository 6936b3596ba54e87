"""pytest fixtures shared by the integration tests: a connect-sim cluster and a gateway on it."""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
import kctest  # noqa: E402


def start_sim(*args, env=None, workers=3):
    """Starts connect-sim; it prints connect + control + one jolokia line per worker."""
    argv = [kctest.binary("connect-sim"), "--connect-port", "0", "--jolokia-port", "0",
            "--control-port", "0", "--workers", str(workers)] + list(args)
    return kctest.Proc(argv, env=env, listeners=2 + workers)


def start_gateway(sim=None, env=None, args=(), expect_fail=False):
    base = {"LISTEN_ADDR": "127.0.0.1:0", "LOG_LEVEL": "info"}
    if sim is not None:
        base["KAFKA_CONNECT_URL"] = sim.url("connect")
        _, jport = sim.listener("jolokia")
        base["JOLOKIA_URL"] = "http://{host}:%d/jolokia" % jport
    base.update(env or {})
    argv = [kctest.binary("kconnect-console")] + list(args)
    return kctest.Proc(argv, env=base, listeners=1, expect_fail=expect_fail)


@pytest.fixture
def sim():
    p = start_sim("--seed", "7")
    yield p
    p.assert_clean_exit()


@pytest.fixture
def gateway(sim):
    g = start_gateway(sim)
    yield g
    g.assert_clean_exit()


# ---- the real stack (test/real/stack.py): Apache Kafka Connect + the real Jolokia agents ----

sys.path.insert(0, os.path.join(kctest.SOURCE_DIR, "test", "real"))
import stack as realstack  # noqa: E402


def start_real_gateway(st, env=None, args=()):
    """A gateway in front of a running RealStack: failover over both workers' REST URLs and the
    {host} template for the agents, as an operator configures production."""
    base = {"KAFKA_CONNECT_URL": ",".join(st.connect_urls),
            "JOLOKIA_URL": st.jolokia_template}
    base.update(env or {})
    return start_gateway(env=base, args=args)
