"""Shared helpers for the benchmarks: objectives, timing, the cost of one pass over X, markdown
tables and a safe exit.

The objectives are written once, in NumPy, per family, and every library's fit is scored with
them: the mean negative log-likelihood (without terms free of the parameters, such as log y!)
plus the penalty on the coefficients, ``0.5 * ridge * ||w||^2 + lasso * ||w||_1``, with the
intercept unpenalised. This is glmx's objective, and scikit-learn's and glum's with
``alpha = strength``.
"""

import os
import resource
import sys
import time

import numpy as np


def _penalty(coef, ridge, lasso):
    """``0.5 * ridge * ||w||^2 + lasso * ||w||_1`` over the last axis (one value per neuron)."""
    coef = np.asarray(coef)
    return 0.5 * ridge * np.sum(coef**2, axis=-1) + lasso * np.sum(np.abs(coef), axis=-1)


def _eta(X, coef, intercept):
    """The linear predictor: ``(n,)`` for one neuron, ``(n, neurons)`` for ``coef (neurons, p)``."""
    return X @ np.asarray(coef).T + np.asarray(intercept)


def poisson_objective(X, y, coef, intercept, ridge=0.0, lasso=0.0):
    """Poisson, log link: ``mean(exp(eta) - y * eta)`` + penalty; per neuron for 2-D ``y``."""
    eta = _eta(X, coef, intercept)
    return np.mean(np.exp(eta) - y * eta, axis=0) + _penalty(coef, ridge, lasso)


def gamma_objective(X, y, coef, intercept, ridge=0.0, lasso=0.0):
    """Gamma, log link, unit dispersion: ``mean(y * exp(-eta) + eta)`` + penalty."""
    eta = _eta(X, coef, intercept)
    return np.mean(y * np.exp(-eta) + eta, axis=0) + _penalty(coef, ridge, lasso)


def bernoulli_objective(X, y, coef, intercept, ridge=0.0, lasso=0.0):
    """Bernoulli, logit link: ``mean(log(1 + exp(eta)) - y * eta)`` + penalty."""
    eta = _eta(X, coef, intercept)
    return np.mean(np.logaddexp(0.0, eta) - y * eta, axis=0) + _penalty(coef, ridge, lasso)


OBJECTIVES = {
    "poisson": poisson_objective,
    "gamma": gamma_objective,
    "bernoulli": bernoulli_objective,
}


def time_calls(fn, repeats):
    """``(first, warm_times, result)``: the time of the first call (with any compilation), the
    times of ``repeats`` further calls, and the last call's result."""
    start = time.perf_counter()
    result = fn()
    first = time.perf_counter() - start
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return first, times, result


def median_time(fn, repeats=7):
    """The median time of ``repeats`` calls of ``fn`` after one untimed call."""
    return float(np.median(time_calls(fn, repeats)[1]))


def pass_times(X, R):
    """Seconds for one product ``X^T R`` (``R`` of shape ``(n,)`` or ``(n, k)``) in each of
    several formulations: XLA's ``R^T @ X`` and ``X.T @ R`` (jitted, on device arrays) and
    NumPy's ``X.T @ R``. The fastest of them is the cost of one pass over ``X``."""
    import jax
    import jax.numpy as jnp

    Xj, Rj = jnp.asarray(X), jnp.asarray(R)
    r_first = jax.jit(lambda X, R: R.T @ X)
    x_first = jax.jit(lambda X, R: X.T @ R)
    return {
        "XLA R^T @ X": median_time(lambda: r_first(Xj, Rj).block_until_ready()),
        "XLA X.T @ R": median_time(lambda: x_first(Xj, Rj).block_until_ready()),
        "NumPy X.T @ R": median_time(lambda: X.T @ R),
    }


#: Library names accepted on the command line besides the keys.
ALIASES = {"scikit-learn": "sklearn", "NeMoS": "nemos"}


def parse_names(text, allowed, option):
    """The comma-separated names in ``text`` (aliases resolved); exits naming ``option`` if any
    is not in ``allowed``."""
    names = [name.strip() for name in text.split(",") if name.strip()] if text else []
    names = [ALIASES.get(name, name) for name in names]
    unknown = sorted(set(names) - set(allowed))
    if unknown:
        raise SystemExit(f"{option}: unknown {unknown}; choose from {sorted(allowed)}")
    return names


def markdown_table(header, rows):
    """A markdown table as a string; cells are printed as given."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def peak_memory_gb() -> float:
    """Peak resident memory of this process so far, in GB (Linux reports ru_maxrss in KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def finish(status: int = 0):
    """Flush and leave without running native libraries' exit handlers (an OpenBLAS shutdown
    was seen to hang here), so a benchmark never hangs after printing its results."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
