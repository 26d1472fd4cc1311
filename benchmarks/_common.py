"""Shared helpers for the benchmark scripts: timing, objectives, tables, a safe exit."""

import os
import resource
import sys
import time

import numpy as np


def time_calls(fn, repeats):
    """``(first, warm_median, result)``: the first call (with any compilation), then the median
    of ``repeats`` further calls."""
    start = time.perf_counter()
    result = fn()
    first = time.perf_counter() - start
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return first, float(np.median(times)) if times else first, result


def poisson_objective(X, y, coef, intercept, strength):
    """Mean Poisson NLL (without log y!) + 0.5 * strength * ||coef||^2; per neuron for 2-D."""
    eta = X @ np.asarray(coef).T + intercept
    nll = np.mean(np.exp(eta) - y * eta, axis=0)
    return nll + 0.5 * strength * np.sum(np.asarray(coef) ** 2, axis=-1)


def print_table(rows, glmx_label_prefix="glmx"):
    """``rows`` of ``(label, first, warm, gap, coef_err)``; ratios are best glmx warm / row."""
    best = min(r[2] for r in rows if r[0].startswith(glmx_label_prefix))
    print(
        f"{'library':34s} {'first s':>8s} {'warm s':>8s} {'obj gap':>9s} {'max|dcoef|':>10s} "
        f"{'glmx/this':>9s}"
    )
    for label, first, warm, gap, err in rows:
        print(f"{label:34s} {first:8.3f} {warm:8.3f} {gap:9.1e} {err:10.1e} {best / warm:9.3f}")


def peak_memory_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def finish():
    """Flush and leave without running native libraries' exit handlers (an OpenBLAS shutdown
    was seen to hang here), so a benchmark never hangs after printing its results."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
