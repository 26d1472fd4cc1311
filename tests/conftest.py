"""Shared test setup: float64, small simulated data sets per family, helpers.

The session ends with ``os._exit``: a process that has loaded jax, numpy and scipy was seen to
hang in OpenBLAS's shutdown on this machine, and a hung test run never lands.

The tests run small programs, so compiling them is most of the suite's time. XLA's LLVM
back end is told not to optimise (``XLA_FLAGS`` below, inherited by the examples and
benchmarks the tests start): the same tests pass, and the suite takes about a quarter less
time (measured: 436 s -> 337 s for four test modules). Users' programs are not affected.
"""

import os
import sys

_FAST_COMPILE = "--xla_backend_optimization_level=0 --xla_llvm_disable_expensive_passes=true"
os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} {_FAST_COMPILE}".strip()

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)

import contextlib  # noqa: E402
import functools  # noqa: E402

import equinox as eqx  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import statsmodels.api as sm  # noqa: E402

import glmx  # noqa: E402

_exit_status = {"code": 0}


def pytest_sessionfinish(session, exitstatus):
    _exit_status["code"] = int(exitstatus)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config):
    if os.environ.get("GLMX_TEST_NO_HARD_EXIT"):
        return
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(_exit_status["code"])


@pytest.fixture(autouse=True, scope="module")
def _release_compiled_code():
    """Drop JAX's compiled executables after each test module. XLA's CPU code lives in memory
    mappings, and a long run that keeps every executable (several hundred mappings each) was
    seen to reach the kernel's limit (vm.max_map_count, 65530) and crash inside a compile."""
    yield
    jax.clear_caches()


@contextlib.contextmanager
def count_events(event: str, name: str):
    """Counts JAX's monitoring ``event`` while the block runs: ``counter[name]``."""
    counter = {name: 0}

    def listener(recorded, duration, **kwargs):
        if recorded == event:
            counter[name] += 1

    jax.monitoring.register_event_duration_secs_listener(listener)
    try:
        yield counter
    finally:
        unregister = getattr(jax.monitoring, "unregister_event_duration_listener", None)
        if unregister is None:  # older jax
            from jax._src import monitoring

            unregister = monitoring._unregister_event_duration_listener_by_callback
        unregister(listener)


def tree_allclose(a, b, rtol=1e-8, atol=1e-10):
    return eqx.tree_equal(a, b, typematch=False, rtol=rtol, atol=atol) is True


# True parameters shared by the simulated data sets.
N, P = 400, 4
COEF = np.array([0.4, -0.3, 0.2, 0.1])


@functools.cache
def simulate(family: str, n: int = N, seed: int = 0):
    """``(X, y, true_coef, true_intercept)`` for a family, as float64 NumPy arrays."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, P)) * 0.5
    if family == "gamma-inverse":
        X = np.abs(X)
        eta = 0.8 + X @ np.abs(COEF) * 0.3
        y = rng.gamma(2.0, 1.0 / eta / 2.0)
        return X, y, np.abs(COEF) * 0.3, 0.8
    eta = X @ COEF + 0.3
    if family == "poisson":
        y = rng.poisson(np.exp(eta)).astype(float)
    elif family == "gamma":
        y = rng.gamma(2.0, np.exp(eta) / 2.0)
    elif family == "bernoulli":
        y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float)
    elif family == "gaussian":
        y = eta + 0.5 * rng.normal(size=n)
    elif family == "negbin":
        mu = np.exp(eta)
        y = rng.poisson(rng.gamma(2.0, mu / 2.0)).astype(float)  # alpha = 0.5
    else:
        raise ValueError(family)
    return X, y, COEF, 0.3


FAMILIES = {
    "poisson": glmx.Poisson(),
    "gamma": glmx.Gamma(),
    "gamma-inverse": glmx.Gamma(glmx.InverseLink()),
    "bernoulli": glmx.Bernoulli(),
    "gaussian": glmx.Gaussian(),
    "negbin": glmx.NegativeBinomial(0.5),
}


SM_FAMILIES = {
    "poisson": sm.families.Poisson(),
    "gamma": sm.families.Gamma(sm.families.links.Log()),
    "gamma-inverse": sm.families.Gamma(),
    "bernoulli": sm.families.Binomial(),
    "gaussian": sm.families.Gaussian(),
    "negbin": sm.families.NegativeBinomial(alpha=0.5),
}


def population_counts(n: int, p: int, neurons: int = 3, seed: int = 0):
    """``(X (n, p), Y (n, neurons))``: Poisson counts of a population sharing a design."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p)) * 0.5
    W = rng.normal(size=(p, neurons)) * 0.4
    return X, rng.poisson(np.exp(X @ W - 0.2)).astype(float)


@pytest.fixture
def getkey():
    keys = iter(jax.random.split(jax.random.key(0), 1000))
    return lambda: next(keys)


def flat_params(model):
    return jnp.concatenate([jnp.ravel(model.coef), jnp.ravel(model.intercept)])
