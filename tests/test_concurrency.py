"""Fits from several threads and processes at once complete and give the serial answers.

Each scenario runs in a subprocess with a time limit, so that a deadlock fails the test
instead of hanging the suite. The first scenario is the pattern that deadlocked XLA's CPU
thread pool before `glmx._linalg` factorised one matrix at a time: several threads each
running a population's batched Newton fit and inference (batched Cholesky and eigh), with
more threads than cores. `tests/loop_concurrency.py` runs this file many times in a row.
"""

import os
import subprocess
import sys
import textwrap

import pytest

#: Seconds a scenario may take (each takes a few seconds; a deadlock never ends).
LIMIT = 240

SETUP = """
import threading
import numpy as np
import jax
jax.config.update("jax_enable_x64", True)
import glmx

rng = np.random.default_rng(0)
X = rng.normal(size=(3000, 40)) / np.sqrt(40)
W = rng.normal(size=(40, 48)) * 0.5
Y = rng.poisson(np.exp(X @ W - 1.0)).astype(float)
"""

THREADED_POPULATIONS = """
model = glmx.PopulationGLM(glmx.Poisson(), n_neurons=Y.shape[1])
solver = glmx.Newton()

def run():
    fitted, result = glmx.fit(model, X, Y, solver)
    info = glmx.inference(fitted, X, Y, cov_type="HC0")
    return np.asarray(fitted.coef), np.asarray(info.std_errors)

reference = run()
answers, errors = [], []

def work():
    try:
        for _ in range(3):
            answers.append(run())
    except Exception as error:  # reported below, so a failure is not a silent thread death
        errors.append(error)

threads = [threading.Thread(target=work) for _ in range(4)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
assert not errors, errors
assert len(answers) == 12
for coef, std_errors in answers:
    np.testing.assert_allclose(coef, reference[0], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(std_errors, reference[1], rtol=1e-12)
print("ok")
"""

GRID_SEARCH = """
from joblib import parallel_backend
from sklearn.model_selection import GridSearchCV, KFold
from glmx.sklearn import GLM

y = Y[:, 0]
grid = {"regularizer_strength": [1e-3, 1e-2, 1e-1, 1.0]}
folds = KFold(4)
estimator = GLM(regularizer="Ridge", solver_name="Newton")
serial = GridSearchCV(estimator, grid, cv=folds).fit(X, y)
for backend in ("threading", "loky"):
    with parallel_backend(backend, n_jobs=2):
        parallel = GridSearchCV(estimator, grid, cv=folds, n_jobs=2).fit(X, y)
    assert parallel.best_params_ == serial.best_params_, backend
    np.testing.assert_allclose(
        parallel.cv_results_["mean_test_score"], serial.cv_results_["mean_test_score"],
        rtol=1e-10,
    )
    np.testing.assert_allclose(parallel.best_estimator_.coef_, serial.best_estimator_.coef_,
                               rtol=1e-10, atol=1e-14)
print("ok")
"""


def _run(body: str) -> None:
    # JAX_ENABLE_X64 (not only jax.config) so that loky's worker processes compute in float64 too.
    env = dict(os.environ, PYTHONWARNINGS="error::RuntimeWarning", JAX_ENABLE_X64="1")
    try:
        done = subprocess.run(
            [sys.executable, "-c", textwrap.dedent(SETUP) + textwrap.dedent(body)],
            capture_output=True,
            text=True,
            timeout=LIMIT,
            env=env,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"the scenario did not finish within {LIMIT} s (a deadlock)")
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().endswith("ok"), done.stdout[-1000:]


def test_threads_fitting_populations_at_once_finish_with_the_serial_answer():
    _run(THREADED_POPULATIONS)


def test_grid_search_with_threads_and_processes_equals_the_serial_search():
    pytest.importorskip("sklearn")
    _run(GRID_SEARCH)
