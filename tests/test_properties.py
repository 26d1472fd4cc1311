"""Property-based tests: invariances every GLM fit must have, over random small problems.

Hypothesis draws the family, penalty, solver and data (through a seed); the data are drawn
from a few fixed shapes, so that the compiled fits are reused and the suite stays within its
time (the "ci" profile: a fixed number of examples, derandomized, no deadline). Each property
is an identity of the objective, so fits that reach the optimum must agree to the solver's
tolerance.
"""

import warnings

import jax
import numpy as np
from hypothesis import given, settings, strategies as st

import glmx

settings.register_profile("ci", max_examples=4, deadline=None, derandomize=True)
settings.load_profile("ci")

N, P = 48, 3
FAMILIES = {
    "poisson": glmx.Poisson(),
    "bernoulli": glmx.Bernoulli(),
    "gaussian": glmx.Gaussian(),
    "gamma": glmx.Gamma(),
}
PENALTIES = {"none": glmx.UnRegularized(), "ridge": glmx.Ridge(0.05), "lasso": glmx.Lasso(0.02)}
SOLVERS = {
    "none": [glmx.LBFGS(tol=1e-11), glmx.Newton(tol=1e-11)],
    "ridge": [glmx.LBFGS(tol=1e-11), glmx.Newton(tol=1e-11)],
    "lasso": [glmx.ProximalGradient(tol=1e-11), glmx.ProximalNewton(tol=1e-11)],
}
TOL = dict(rtol=1e-5, atol=1e-6)


def _data(family: str, seed: int, n: int = N, p: int = P):
    """A well-posed problem: moderate coefficients, both outcomes present."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p)) * 0.5
    eta = X @ rng.uniform(-0.6, 0.6, size=p) + 0.2
    if family == "poisson":
        y = rng.poisson(np.exp(eta)).astype(float)
    elif family == "bernoulli":
        y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float)
        y[:2] = [0.0, 1.0]
    elif family == "gaussian":
        y = eta + 0.5 * rng.normal(size=n)
    else:
        y = rng.gamma(2.0, np.exp(eta) / 2.0)
    return X, y


@st.composite
def problems(draw, penalties=tuple(PENALTIES)):
    family = draw(st.sampled_from(sorted(FAMILIES)))
    penalty = draw(st.sampled_from(penalties))
    solver = draw(st.sampled_from(SOLVERS[penalty]))
    seed = draw(st.integers(0, 2**16))
    model = glmx.GLM(FAMILIES[family], PENALTIES[penalty])
    return (model, solver, *_data(family, seed), seed)


def _fit(model, X, y, solver, **kwargs):
    fitted, result = glmx.fit(model, X, y, solver, **kwargs)
    assert bool(result.converged), result.message
    return np.append(np.asarray(fitted.coef), fitted.intercept)


@given(problems())
def test_row_order_does_not_matter(problem):
    model, solver, X, y, seed = problem
    order = np.random.default_rng(seed).permutation(len(y))
    np.testing.assert_allclose(
        _fit(model, X[order], y[order], solver), _fit(model, X, y, solver), **TOL
    )


@given(problems())
def test_a_duplicated_row_equals_a_row_of_weight_two(problem):
    model, solver, X, y, seed = problem
    k = seed % len(y)
    rows = np.append(np.arange(len(y)), k)  # row k twice
    with_duplicate = _fit(model, X[rows], y[rows], solver)
    weighted = np.ones(len(y) + 1)  # the same shape, so the same compiled fit
    weighted[k], weighted[-1] = 2.0, 0.0
    with_weight = _fit(model, X[rows], y[rows], solver, sample_weight=weighted)
    np.testing.assert_allclose(with_duplicate, with_weight, **TOL)


@given(problems(penalties=("none",)), st.sampled_from([0.1, 3.0, -7.0]))
def test_scaling_a_column_scales_its_unpenalised_coefficient_inversely(problem, c):
    model, solver, X, y, seed = problem
    j = seed % X.shape[1]
    scaled = X.copy()
    scaled[:, j] *= c
    expected = _fit(model, X, y, solver)
    expected[j] /= c
    np.testing.assert_allclose(_fit(model, scaled, y, solver), expected, **TOL)


@given(problems(), st.floats(-1.0, 1.0))
def test_an_offset_shift_equals_an_intercept_shift(problem, shift):
    model, solver, X, y, _ = problem
    shifted = _fit(model, X, y, solver, offset=np.full(len(y), shift))
    plain = _fit(model, X, y, solver)
    plain[-1] -= shift
    np.testing.assert_allclose(shifted, plain, **TOL)


@given(st.integers(0, 2**16), st.sampled_from([(40, 3, 2), (56, 4, 3)]), st.booleans())
def test_a_population_equals_a_loop_of_single_fits(seed, shape, masked):
    n, p, neurons = shape
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p)) * 0.5
    Y = rng.poisson(np.exp(X @ rng.uniform(-0.5, 0.5, size=(p, neurons)))).astype(float)
    mask = (rng.random((p, neurons)) < 0.7).astype(float) if masked else np.ones((p, neurons))
    mask[0] = 1.0  # every neuron keeps a feature
    solver = glmx.LBFGS(tol=1e-11)
    population, result = glmx.fit(
        glmx.PopulationGLM(glmx.Poisson(), glmx.Ridge(0.05), n_neurons=neurons, feature_mask=mask),
        X,
        Y,
        solver,
    )
    assert np.all(np.asarray(result.converged))
    for k in range(neurons):
        kept = mask[:, k] > 0
        single = _fit(glmx.GLM(glmx.Poisson(), glmx.Ridge(0.05)), X[:, kept], Y[:, k], solver)
        np.testing.assert_allclose(np.asarray(population.coef)[k, kept], single[:-1], **TOL)
        np.testing.assert_allclose(np.asarray(population.coef)[k, ~kept], 0.0)
        np.testing.assert_allclose(population.intercept[k], single[-1], **TOL)


@given(problems(penalties=("none", "ridge")))
def test_float32_agrees_with_float64_on_well_conditioned_problems(problem):
    model, solver, X, y, _ = problem
    single = _fit(model, X.astype(np.float32), y.astype(np.float32), type(solver)())
    np.testing.assert_allclose(single, _fit(model, X, y, solver), rtol=2e-3, atol=2e-3)


@given(
    st.sampled_from(sorted(FAMILIES)),
    st.integers(0, 2**16),
    st.sampled_from([0.0, 1e-3, 1e3]),
)
def test_every_output_is_finite_or_the_status_says_why_not(family, seed, scale):
    """Hard but finite inputs (tiny or huge columns, few rows): finite estimates, or a status
    other than success."""
    X, y = _data(family, seed, n=12)
    X = X * np.array([1.0, scale, 1.0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the unconverged and ill-posed warnings are expected
        fitted, result = glmx.fit(glmx.GLM(FAMILIES[family]), X, y)
    finite = np.all(np.isfinite(np.asarray(fitted.coef))) and np.isfinite(fitted.intercept)
    assert finite or not bool(result.converged), (result.message, fitted.coef)
    if bool(result.converged):
        assert jax.numpy.all(jax.numpy.isfinite(fitted.predict(X)))
