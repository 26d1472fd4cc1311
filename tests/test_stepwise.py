"""Step-wise fitting: init_state / update on full data and on mini-batches."""

import numpy as np
import pytest

import glmx
from conftest import flat_params, simulate
from test_jit import count_traces


@pytest.mark.parametrize(
    "regularizer, solver",
    [
        (glmx.Ridge(0.05), glmx.LBFGS()),
        (glmx.Lasso(0.01), glmx.ProximalGradient()),
        (glmx.UnRegularized(), glmx.GradientDescent()),
        (glmx.Ridge(0.05), glmx.Newton()),
        (glmx.Lasso(0.01), glmx.ProximalNewton()),
    ],
    ids=["lbfgs", "fista", "gd", "newton", "proximal-newton"],
)
def test_full_batch_updates_reach_the_fit(regularizer, solver):
    X, y, _, _ = simulate("poisson")
    model = glmx.GLM(glmx.Poisson(), regularizer)
    reference, _ = glmx.fit(model, X, y, solver)
    state = glmx.init_state(model, X, y, solver)
    for _ in range(300):
        model, state = glmx.update(model, state, X, y, solver)
    assert int(state.num_steps) == 300
    np.testing.assert_allclose(flat_params(model), flat_params(reference), rtol=1e-6, atol=1e-8)


def test_mini_batches_do_not_recompile_and_approach_the_fit():
    X, y, _, _ = simulate("poisson", n=1200)
    model = glmx.GLM(glmx.Poisson(), glmx.Ridge(0.01))
    solver = glmx.ProximalGradient()
    reference, _ = glmx.fit(model, X, y, solver)
    batches = [(X[i : i + 200], y[i : i + 200]) for i in range(0, 1200, 200)]
    state = glmx.init_state(model, *batches[0], solver)
    model, state = glmx.update(model, state, *batches[0], solver)  # compile the step
    with count_traces() as counter:
        for epoch in range(20):
            for X_batch, y_batch in batches:
                model, state = glmx.update(model, state, X_batch, y_batch, solver)
    assert counter["traces"] == 0
    np.testing.assert_allclose(flat_params(model), flat_params(reference), atol=0.1)


def test_update_estimates_the_scale_and_keeps_dict_designs():
    X, y, _, _ = simulate("gamma")
    design = {"a": X[:, :2], "b": X[:, 2:]}
    model = glmx.GLM(glmx.Gamma())
    state = glmx.init_state(model, design, y)
    for _ in range(50):
        model, state = glmx.update(model, state, design, y)
    reference, _ = glmx.fit(glmx.GLM(glmx.Gamma()), design, y)
    assert set(model.coef) == {"a", "b"}
    np.testing.assert_allclose(model.coef["b"], reference.coef["b"], rtol=1e-5)
    np.testing.assert_allclose(model.scale, reference.scale, rtol=1e-5)


def test_update_rejects_a_foreign_state():
    X, y, _, _ = simulate("poisson")
    # (Under the test suite's jaxtyping hook the annotation check speaks first; both name it.)
    with pytest.raises(TypeError, match="state"):
        glmx.update(glmx.GLM(), {"params": 1}, X, y)
    state = glmx.init_state(glmx.GLM(), X, y)
    with pytest.raises(ValueError, match="X has 2 features but state holds 4 coefficients"):
        glmx.update(glmx.GLM(), state, X[:, :2], y)
