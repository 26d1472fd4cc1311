"""The value checks run inside the call's one compiled program; failed solves can raise
(``throw=True``) inside the caller's ``jit`` and ``vmap``."""

import inspect

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import glmx
from conftest import count_events, simulate


def count_compilations():
    """Counts XLA compilations (every program, however small) while the block runs."""
    return count_events("/jax/core/compile/backend_compile_duration", "programs")


@pytest.mark.parametrize("population", [False, True], ids=["glm", "population"])
def test_a_fit_on_new_shapes_compiles_one_program(population):
    X, y, _, _ = simulate("poisson")
    model = glmx.GLM(glmx.Poisson(), glmx.Ridge(0.1))
    if population:
        model = glmx.PopulationGLM(glmx.Poisson(), glmx.Ridge(0.1), n_neurons=2)
        y = np.stack([y, y[::-1]], axis=1)
    glmx.fit(model, X, y)  # the small eager conversions of the model compile once here
    with count_compilations() as counter:
        fitted, result = glmx.fit(model, X[:301], y[:301])  # new shapes: the checks and the fit
    assert counter["programs"] == 1
    assert bool(np.all(result.converged))
    with count_compilations() as counter:
        glmx.fit(model, X[:301] * 1.5, y[:301])  # same shapes: nothing compiles
    assert counter["programs"] == 0


def test_a_failed_check_skips_the_solve_and_names_the_entry():
    X, y, _, _ = simulate("poisson")
    X = X.copy()
    X[7, 2] = np.inf
    with pytest.raises(ValueError, match=r"X must be finite .*but X\[7, 2\] is inf"):
        glmx.fit(glmx.GLM(), X, y, glmx.LBFGS(max_steps=10**6, tol=0.0))


@pytest.mark.parametrize("bad", ["y", "hyperparameter"])
def test_checks_in_the_same_program_catch_every_rule(bad):
    X, y, _, _ = simulate("poisson")
    model = glmx.GLM(glmx.Poisson(), glmx.Ridge(0.1))
    if bad == "y":
        y = y.copy()
        y[4] = -1.0
        match = r"y must hold .* for Poisson, but y\[4\] is -1.0"
    else:
        model = glmx.GLM(glmx.Poisson(), glmx.Ridge(-0.1))
        match = "Ridge strength must be non-negative"
    with pytest.raises(ValueError, match=match):
        glmx.fit(model, X, y)


def test_throw_raises_for_an_unconverged_fit_eagerly_and_under_jit_and_vmap():
    X, y, _, _ = simulate("poisson")
    short = glmx.LBFGS(max_steps=1)
    model = glmx.GLM(glmx.Poisson(), glmx.Ridge(0.1))
    with pytest.warns(glmx.ConvergenceWarning, match="did not converge"):
        glmx.fit(model, X, y, short)
    with pytest.raises(Exception, match="did not converge"):
        glmx.fit(model, X, y, short, throw=True)

    @jax.jit
    def coef(strength):
        fitted, _ = glmx.fit(
            glmx.GLM(glmx.Poisson(), glmx.Ridge(strength)), X, y, short, throw=True
        )
        return fitted.coef

    with pytest.raises(Exception, match="did not converge"):
        jax.block_until_ready(coef(0.1))
    with pytest.raises(Exception, match="did not converge"):
        jax.block_until_ready(jax.vmap(coef)(jnp.array([0.1, 0.2])))
    # A converged fit passes through throw=True unchanged.
    quiet, _ = glmx.fit(model, X, y, throw=True)
    loud, _ = glmx.fit(model, X, y)
    np.testing.assert_array_equal(quiet.coef, loud.coef)


def test_throw_for_populations_and_its_argument_check():
    X, y, _, _ = simulate("poisson")
    Y = np.stack([y, y[::-1]], axis=1)
    pop = glmx.PopulationGLM(glmx.Poisson(), n_neurons=2)
    with pytest.raises(Exception, match="did not converge"):
        glmx.fit(pop, X, Y, glmx.LBFGS(max_steps=1), throw=True)
    with pytest.raises(TypeError, match="throw must be True or False, got 'yes'"):
        inspect.unwrap(glmx.fit)(glmx.GLM(), X, y, throw="yes")


def test_rows_left_to_fit_are_checked_under_jit_too():
    X, y, _, _ = simulate("poisson")
    with pytest.raises(ValueError, match="sample_weight is zero on every row without NaN"):
        glmx.fit(glmx.GLM(glmx.Poisson()), X, y, sample_weight=np.zeros(len(y)))
    # Traced inputs: the same rules inside the caller's jit, instead of a NaN intercept.
    fit_jit = jax.jit(
        lambda w: glmx.fit(glmx.GLM(glmx.Poisson()), X, y, sample_weight=w)[0].intercept
    )
    with pytest.raises(Exception, match="sample_weight is zero on every row without NaN"):
        jax.block_until_ready(fit_jit(jnp.zeros(len(y))))
