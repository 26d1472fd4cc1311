"""SVRG / prox-SVRG: in `fit` (epochs over data in memory) and on streamed batches."""

import numpy as np
import pytest

import glmx
from conftest import flat_params, simulate
from test_jit import count_traces


@pytest.mark.parametrize(
    "regularizer", [glmx.Ridge(0.01), glmx.Lasso(0.02)], ids=["ridge", "lasso"]
)
def test_svrg_fit_reaches_the_optimum(regularizer):
    X, y, _, _ = simulate("poisson", n=2000)
    model = glmx.GLM(glmx.Poisson(), regularizer)
    reference, ref_result = glmx.fit(model, X, y, glmx.ProximalNewton(tol=1e-12))
    fitted, result = glmx.fit(model, X, y, glmx.SVRG(batch_size=100))
    assert bool(result.converged), result.message
    np.testing.assert_allclose(result.objective, ref_result.objective, rtol=1e-12)
    np.testing.assert_allclose(flat_params(fitted), flat_params(reference), atol=1e-6)
    if isinstance(regularizer, glmx.Lasso):
        np.testing.assert_array_equal(fitted.coef == 0, reference.coef == 0)


def test_streamed_svrg_converges_without_recompiling():
    X, y, _, _ = simulate("poisson", n=2000)
    model = glmx.GLM(glmx.Poisson(), glmx.Ridge(0.01))
    reference, _ = glmx.fit(model, X, y, glmx.Newton(tol=1e-12))
    solver = glmx.SVRG(batches_per_epoch=5)
    batches = [(X[i : i + 400], y[i : i + 400]) for i in range(0, 2000, 400)]
    state = glmx.init_state(model, *batches[0], solver)
    model, state = glmx.update(model, state, *batches[0], solver)
    with count_traces() as counter:
        for epoch in range(200):
            for X_batch, y_batch in batches[(1 if epoch == 0 else 0) :]:
                model, state = glmx.update(model, state, X_batch, y_batch, solver)
    assert counter["traces"] == 0
    np.testing.assert_allclose(flat_params(model), flat_params(reference), atol=1e-7)


def test_svrg_with_a_fixed_learning_rate_and_a_population():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(1000, 3)) * 0.5
    Y = rng.poisson(np.exp(X @ rng.normal(size=(3, 2)) * 0.4)).astype(float)
    pop = glmx.PopulationGLM(glmx.Poisson(), glmx.Ridge(0.01), n_neurons=2)
    fitted, result = glmx.fit(pop, X, Y, glmx.SVRG(batch_size=50, learning_rate=0.3))
    reference, _ = glmx.fit(pop, X, Y, glmx.Newton(tol=1e-12))
    assert bool(np.all(result.converged))
    np.testing.assert_allclose(fitted.coef, reference.coef, atol=1e-6)
