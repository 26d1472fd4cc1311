"""Compile once, and the public functions under jit, vmap and grad."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import glmx
from conftest import count_events, flat_params, simulate


def count_traces():
    """Counts every function JAX traces for compilation while the block runs."""
    return count_events("/jax/core/compile/jaxpr_trace_duration", "traces")


@pytest.mark.parametrize(
    "regularizer, solver",
    [(glmx.Ridge(0.1), glmx.LBFGS()), (glmx.Lasso(0.01), glmx.ProximalGradient())],
    ids=["ridge-lbfgs", "lasso-fista"],
)
def test_refits_with_new_data_or_strength_do_not_retrace(regularizer, solver):
    X, y, _, _ = simulate("poisson")
    X2, y2, _, _ = simulate("poisson", seed=1)
    glmx.fit(glmx.GLM(glmx.Poisson(), regularizer), X, y, solver)  # compile
    new_strength = eqx.tree_at(lambda r: r.strength, regularizer, jnp.asarray(0.37))
    with count_traces() as counter:
        glmx.fit(glmx.GLM(glmx.Poisson(), regularizer), X2, y2, solver)
        glmx.fit(glmx.GLM(glmx.Poisson(), new_strength), X, y, solver)
        glmx.fit(glmx.GLM(glmx.Poisson(), type(regularizer)(0.05)), X2, y2, solver)
        glmx.fit(glmx.GLM(glmx.Poisson(), regularizer), X, y, solver, sample_weight=np.ones(len(y)))
    assert counter["traces"] == 0


def test_fit_under_jit_matches_eager_fit():
    X, y, _, _ = simulate("poisson")
    eager, _ = glmx.fit(glmx.GLM(glmx.Poisson(), glmx.Ridge(0.1)), X, y)

    @jax.jit
    def fitted_coef(X, y, strength):
        model, result = glmx.fit(glmx.GLM(glmx.Poisson(), glmx.Ridge(strength)), X, y)
        return model.coef, result.status == glmx.RESULTS.successful

    coef, converged = fitted_coef(jnp.asarray(X), jnp.asarray(y), 0.1)
    assert bool(converged)
    np.testing.assert_allclose(coef, eager.coef, rtol=1e-10)


def test_bad_values_under_jit_raise():
    X, y, _, _ = simulate("poisson")
    bad_y = y.copy()
    bad_y[4] = -1.0

    @jax.jit
    def fitted_coef(y):
        return glmx.fit(glmx.GLM(glmx.Poisson()), X, y)[0].coef

    with pytest.raises(Exception, match="non-negative counts"):
        jax.block_until_ready(fitted_coef(jnp.asarray(bad_y)))


@pytest.mark.parametrize("make", [glmx.Ridge, glmx.Lasso], ids=["ridge", "lasso"])
def test_vmap_over_strengths_matches_a_loop(make):
    X, y, _, _ = simulate("poisson")
    strengths = jnp.array([0.001, 0.01, 0.1])

    def coef_for(strength):
        model, result = glmx.fit(glmx.GLM(glmx.Poisson(), make(strength)), X, y)
        return flat_params(model), result.num_steps

    batched, steps = jax.vmap(coef_for)(strengths)
    looped = jnp.stack([coef_for(s)[0] for s in strengths])
    np.testing.assert_allclose(batched, looped, rtol=1e-7, atol=1e-9)
    assert steps.shape == (3,)


def test_grad_of_log_likelihood_matches_finite_differences():
    X, y, _, _ = simulate("gamma")
    model, _ = glmx.fit(glmx.GLM(glmx.Gamma()), X, y)
    model = eqx.tree_at(lambda m: m.coef, model, model.coef + 0.1)  # off the optimum

    def ll(coef, intercept):
        return eqx.tree_at(
            lambda m: (m.coef, m.intercept), model, (coef, intercept)
        ).log_likelihood(X, y)

    g_coef, g_intercept = jax.grad(ll, argnums=(0, 1))(model.coef, model.intercept)
    h = 1e-6
    for i in range(X.shape[1]):
        e = jnp.zeros(X.shape[1]).at[i].set(h)
        fd = (ll(model.coef + e, model.intercept) - ll(model.coef - e, model.intercept)) / (2 * h)
        np.testing.assert_allclose(g_coef[i], fd, rtol=1e-6)
    fd = (ll(model.coef, model.intercept + h) - ll(model.coef, model.intercept - h)) / (2 * h)
    np.testing.assert_allclose(g_intercept, fd, rtol=1e-6)
    # The whole module is differentiable with filter_grad too.
    grads = eqx.filter_grad(lambda m: m.log_likelihood(X, y))(model)
    np.testing.assert_allclose(grads.coef, g_coef)


def test_predict_and_score_under_jit_and_vmap():
    X, y, _, _ = simulate("poisson")
    model, _ = glmx.fit(glmx.GLM(glmx.Poisson()), X, y)
    np.testing.assert_allclose(
        eqx.filter_jit(lambda m, X: m.predict(X))(model, X), model.predict(X)
    )
    rows = jax.vmap(lambda x: model.predict(x[None, :])[0])(jnp.asarray(X))
    np.testing.assert_allclose(rows, model.predict(X), rtol=1e-12)
    score = eqx.filter_jit(lambda m: m.score(X, y, "pseudo-r2-mcfadden"))(model)
    np.testing.assert_allclose(score, model.score(X, y, "pseudo-r2-mcfadden"))


def test_integer_strengths_share_the_float_compilation():
    X, y, _, _ = simulate("poisson")
    glmx.fit(glmx.GLM(glmx.Poisson(), glmx.Ridge(1.0)), X, y)
    model = glmx.GLM(glmx.Poisson(), glmx.Ridge(2))
    assert model.regularizer.strength.dtype == jnp.float64
    with count_traces() as counter:
        glmx.fit(model, X, y)
    assert counter["traces"] == 0


def test_lbfgs_step_wise_loop_compiles_once():
    X, y, _, _ = simulate("poisson")
    model = glmx.GLM(glmx.Poisson(), glmx.Ridge(0.1))
    state = glmx.init_state(model, X, y)
    model, state = glmx.update(model, state, X, y)
    with count_traces() as counter:
        for _ in range(3):
            model, state = glmx.update(model, state, X, y)
    assert counter["traces"] == 0
