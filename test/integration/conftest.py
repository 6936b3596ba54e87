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
