"""Fits without a finite estimate are reported (`glmx._diagnostics`): perfect and quasi-separation,
an all-zero response; and fits with finite estimates are not."""

import warnings

import equinox as eqx
import jax
import numpy as np
import pytest
from sklearn.datasets import load_iris

import glmx

DIVERGING = "no finite estimate"

# The classic quasi-separation example: y = 0 below x0 = 3, y = 1 above, both at 3.
QUASI_X = np.array(
    [[1, 3], [2, 0], [3, -1], [3, 4], [3, 1], [4, 0], [5, 2], [6, 7], [10, 3], [11, 4.0]]
)
QUASI_Y = np.array([0, 0, 0, 0, 1, 1, 1, 1, 1, 1.0])


def _fit(model, X, y, **kwargs):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fitted, result = glmx.fit(model, X, y, **kwargs)
    messages = [str(w.message) for w in caught if issubclass(w.category, glmx.ConvergenceWarning)]
    return fitted, result, messages


def test_statsmodels_perfect_prediction_example():
    # statsmodels' test_perfect_prediction: iris setosa against versicolor, with a constant.
    X, y = load_iris(return_X_y=True)
    keep = y != 2
    _, result, messages = _fit(glmx.GLM(glmx.Bernoulli()), X[keep], y[keep].astype(float))
    assert result.status == glmx.RESULTS.diverging
    assert len(messages) == 1 and DIVERGING in messages[0]
    # The direction separates: every setosa row on one side, every versicolor on the other.
    direction = np.asarray(result.recession)
    u = X[keep] @ direction[:-1] + direction[-1]
    assert np.all(np.where(y[keep] == 1, u, -u) >= -1e-12) and np.max(np.abs(u)) > 0
    with pytest.raises(Exception, match=DIVERGING):
        glmx.fit(glmx.GLM(glmx.Bernoulli()), X[keep], y[keep].astype(float), throw=True)


def test_quasi_separation_names_the_direction():
    _, result, messages = _fit(glmx.GLM(glmx.Bernoulli()), QUASI_X, QUASI_Y)
    assert result.status == glmx.RESULTS.diverging
    # x0 - 3 separates (zero on the tied rows): coef[0] = 1/3 of the intercept's -1.
    np.testing.assert_allclose(result.recession, [1 / 3, 0.0, -1.0], atol=1e-6)
    assert "(the estimates grow along coef[0] and the intercept)" in result.message
    assert DIVERGING in messages[0]


def test_all_zero_neuron_diverges_in_the_intercept_even_with_a_penalty():
    rng = np.random.default_rng(0)
    X = np.abs(rng.normal(size=(60, 3)))
    for regularizer in (glmx.UnRegularized(), glmx.Ridge(0.1)):
        fitted, result, messages = _fit(glmx.GLM(glmx.Poisson(), regularizer), X, np.zeros(60))
        assert result.status == glmx.RESULTS.diverging
        np.testing.assert_allclose(result.recession[-1], -1.0)
        assert "the intercept" in result.message and messages
    with pytest.raises(Exception, match=DIVERGING):
        glmx.fit(glmx.GLM(glmx.Poisson()), X, np.zeros(60), throw=True)


def test_population_flags_only_the_diverging_neuron():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(80, 3))
    Y = rng.poisson(np.exp(0.3 * X[:, :1] + np.zeros((1, 3))))
    Y[:, 1] = 0
    pop = glmx.PopulationGLM(glmx.Poisson(), n_neurons=3)
    fitted, result, messages = _fit(pop, X, Y.astype(float))
    assert [bool(s) for s in result.status == glmx.RESULTS.diverging] == [False, True, False]
    assert "neurons [1]" in messages[0]
    single, single_result = glmx.fit(glmx.GLM(glmx.Poisson()), X, Y[:, 0].astype(float))
    assert single_result.status == glmx.RESULTS.successful
    np.testing.assert_allclose(fitted.coef[0], single.coef, atol=1e-8)
    assert np.all(np.asarray(result.recession)[[0, 2]] == 0)


@pytest.mark.parametrize(
    "family, penalty",
    [
        ("poisson", glmx.UnRegularized()),
        ("bernoulli", glmx.UnRegularized()),
        ("sparse", glmx.UnRegularized()),
        ("separated", glmx.Ridge(0.01)),
        ("separated", glmx.Lasso(0.01)),
    ],
)
def test_finite_estimates_are_not_flagged(family, penalty):
    rng = np.random.default_rng(2)
    X = rng.normal(size=(200, 3))
    if family == "poisson":
        observation, y = glmx.Poisson(), rng.poisson(np.exp(0.3 * X[:, 0]))
    elif family == "bernoulli":
        observation = glmx.Bernoulli()
        y = rng.random(200) < 1 / (1 + np.exp(-X[:, 0]))
    elif family == "sparse":  # many bins with a rate near zero, but every feature overlaps
        X = np.abs(X)
        observation, y = glmx.Poisson(), rng.poisson(np.exp(-3 + X[:, 0] - 4 * X[:, 1]))
    else:  # separable, but the penalty keeps the coefficients finite
        observation, y = glmx.Bernoulli(), X[:, 0] > 0
    _, result, messages = _fit(glmx.GLM(observation, penalty), X, y.astype(float))
    assert result.status == glmx.RESULTS.successful and not messages
    assert np.all(np.asarray(result.recession) == 0)


def test_quick_checks_report_inside_jit_and_vmap():
    # Perfect separation and an all-zero response are settled inside the compiled fit, so
    # they are reported under the caller's jit and vmap too (and throw=True raises there).
    rng = np.random.default_rng(5)
    X = rng.normal(size=(50, 2))
    model = glmx.GLM(glmx.Bernoulli())

    @eqx.filter_jit
    def status_of(y):
        return glmx.fit(model, X, y)[1].status == glmx.RESULTS.diverging

    separated = (X[:, 0] > 0).astype(float)
    overlapping = (rng.random(50) < 0.5).astype(float)
    assert bool(status_of(separated))
    got = np.asarray(jax.vmap(status_of)(np.stack([separated, overlapping, np.ones(50)])))
    assert list(got) == [True, False, True]

    @eqx.filter_jit
    def strict(y):
        return glmx.fit(model, X, y, throw=True)[0].coef

    with pytest.raises(Exception, match=DIVERGING):
        strict(separated)


def test_rank_deficient_design_is_named_and_inference_gives_nan():
    rng = np.random.default_rng(3)
    base = rng.normal(size=(120, 3))
    # coef[3] duplicates coef[1]; coef[4] is constant, like the intercept.
    X = np.column_stack([base, base[:, 1], np.ones(120)])
    y = rng.poisson(np.exp(0.2 * base[:, 0])).astype(float)
    fitted, result, messages = _fit(glmx.GLM(glmx.Poisson()), X, y)
    assert result.status == glmx.RESULTS.rank_deficient
    expected = [False, True, False, True, True, True]
    assert list(np.asarray(result.unidentified)) == expected
    assert "(coef[1], coef[3], coef[4] and the intercept)" in messages[0]
    with pytest.raises(Exception, match="not identified"):
        glmx.fit(glmx.GLM(glmx.Poisson()), X, y, throw=True)
    with pytest.warns(glmx.IdentifiabilityWarning, match=r"x\[1\], x\[3\], x\[4\], intercept"):
        info = glmx.inference(fitted, X, y)
    se = np.asarray(info.std_errors)
    assert np.all(np.isnan(se[[1, 3, 4, 5]])) and np.all(np.isfinite(se[[0, 2]]))
    # The identified coefficients equal the fit without the redundant columns (statsmodels'
    # pinv fit splits the dependent ones arbitrarily; these are unique).
    reduced, _ = glmx.fit(glmx.GLM(glmx.Poisson()), base, y)
    kept = np.asarray(fitted.coef)[[0, 2]]
    np.testing.assert_allclose(kept, np.asarray(reduced.coef)[[0, 2]], atol=1e-7)
    # A penalty identifies them: no flag.
    _, ridge_result, ridge_messages = _fit(glmx.GLM(glmx.Poisson(), glmx.Ridge(0.1)), X, y)
    assert ridge_result.status == glmx.RESULTS.successful and not ridge_messages


def test_masked_features_and_no_intercept_are_not_dependencies():
    rng = np.random.default_rng(4)
    base = rng.normal(size=(100, 2))
    X = np.column_stack([base, base[:, 0]])
    y = rng.poisson(np.exp(0.2 * base[:, 0])).astype(float)
    pop = glmx.PopulationGLM(
        glmx.Poisson(), n_neurons=2, feature_mask=np.array([[1, 1], [1, 1], [0, 1]])
    )
    _, result, _ = _fit(pop, X, np.stack([y, y], 1))
    assert [bool(s) for s in result.status == glmx.RESULTS.rank_deficient] == [False, True]
    model = glmx.GLM(glmx.Poisson(), fit_intercept=False)
    _, result, _ = _fit(model, np.column_stack([base, np.ones(100)]), y)
    assert result.status == glmx.RESULTS.successful


def test_categorical_separation_and_an_absent_class_are_reported():
    rng = np.random.default_rng(5)
    x = np.sort(rng.uniform(-3, 3, 30))
    X = np.column_stack([x, rng.normal(size=30)])
    y = np.where(x < -1, 0, np.where(x < 1, 1, 2)).astype(float)  # classes by thresholds on x
    model = glmx.CategoricalGLM(glmx.Categorical(3))
    _, result, messages = _fit(model, X, y)
    assert result.status == glmx.RESULTS.diverging and DIVERGING in messages[0]
    with pytest.raises(Exception, match=DIVERGING):
        glmx.fit(model, X, y, throw=True)
    # A Ridge penalty bounds the coefficients: a finite estimate, no flag.
    ridge = glmx.CategoricalGLM(glmx.Categorical(3), glmx.Ridge(0.1))
    _, result, messages = _fit(ridge, X, y)
    assert result.status == glmx.RESULTS.successful and not messages
    # A class no row has: its intercept runs to minus infinity, penalty or not.
    _, result, messages = _fit(ridge, X, np.where(y == 2, 1.0, y))
    assert result.status == glmx.RESULTS.diverging and DIVERGING in messages[0]
    # Overlapping classes: nothing to report.
    noisy = rng.integers(0, 3, 30).astype(float)
    _, result, messages = _fit(model, X, noisy)
    assert result.status == glmx.RESULTS.successful and not messages


def test_near_collinearity_counts_at_the_dtype_precision_only():
    """A column equal to another up to rounding noise is dependent; one that differs by 1e-6
    of its size is ill-conditioned but identified (no flag)."""
    rng = np.random.default_rng(6)
    base = rng.normal(size=(200, 3))
    y = rng.poisson(np.exp(0.3 * base[:, 0])).astype(float)
    for noise, flagged in [(1e-15, True), (1e-6, False)]:
        X = np.column_stack([base, base[:, 1] + noise * rng.normal(size=200)])
        _, result, _ = _fit(glmx.GLM(glmx.Poisson()), X, y)
        assert (result.status == glmx.RESULTS.rank_deficient) == flagged, noise
        if flagged:
            assert list(np.asarray(result.unidentified)) == [False, True, False, True, False]
