"""Printed modules show their values (small concrete arrays), not only dtypes and shapes."""

import jax
import jax.numpy as jnp
import numpy as np

import glmx
from conftest import simulate


def test_configuration_prints_its_values():
    assert repr(glmx.Ridge(1e-3)) == "Ridge(strength=0.001)"
    assert repr(glmx.Lasso(jnp.ones(3))) == "Lasso(strength=[1.0, 1.0, 1.0])"
    assert repr(glmx.NegativeBinomial(0.5)) == "NegativeBinomial(alpha=0.5, link=LogLink())"
    assert repr(glmx.Tweedie(1.3)) == "Tweedie(power=1.3, link=LogLink())"
    assert "ElasticNet(strength=0.1, ratio=0.5)" in repr(
        glmx.GLM(glmx.Poisson(), glmx.ElasticNet(0.1, 0.5))
    )


def test_fitted_model_and_result_print_values_large_arrays_stay_short():
    X, y, *_ = simulate("poisson", n=200)
    X = X[:, :3]
    model, result = glmx.fit(glmx.GLM(glmx.Poisson()), X, y)
    text = repr(model)
    coef = np.asarray(model.coef)
    assert f"coef=[{coef[0]:.6g}, {coef[1]:.6g}, {coef[2]:.6g}]" in text
    shown = repr(result)
    assert f"num_steps={int(result.num_steps)}" in shown and "converged" in shown

    wide, _ = glmx.fit(glmx.GLM(glmx.Poisson(), glmx.Ridge(0.1)), jnp.tile(X, (1, 4)), y)
    assert "coef=f64[12]" in repr(wide)


def test_tracers_print_their_shape():
    seen = []

    @jax.jit
    def f(strength):
        seen.append(repr(glmx.Ridge(strength)))
        return strength

    f(0.5)
    assert seen[0] == "Ridge(strength=f64[])"
