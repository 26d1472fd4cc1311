"""glmx.sklearn with missing rows: NaN in X or y leaves the row out by the core's one rule (per
neuron for populations), counted in ``n_excluded_``; predictions are NaN on NaN rows, scores
leave the same rows out, model selection works, and infinities are still an error."""

import warnings

import jax
import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score
from sklearn.utils import get_tags

import glmx
from conftest import population_counts, simulate
from glmx.sklearn import GLM, PopulationGLM, load_model
from test_jit import count_traces

# Newton to a tight tolerance: fits on the same rows agree to rounding.
TIGHT = {"solver_name": "Newton", "solver_kwargs": {"tol": 1e-12}}


def _with_nans(X, y, x_rows=(2, 7, 11), y_rows=(5, 7, 30)):
    """Copies of ``X`` and ``y`` with a NaN in one entry of each of ``x_rows`` of ``X`` and in
    ``y`` at ``y_rows``, and the rows that stay (no NaN in either)."""
    X, y = X.copy(), y.copy()
    for i, row in enumerate(x_rows):
        X[row, i % X.shape[1]] = np.nan
    y[list(y_rows)] = np.nan
    keep = np.ones(len(y), bool)
    keep[list(x_rows) + list(y_rows)] = False
    return X, y, keep


def _population(n=200, neurons=3, seed=0):
    return population_counts(n, 3, neurons, seed)


def test_nan_rows_are_left_out_of_fit_and_score_and_give_nan_predictions():
    X, y, _, _ = simulate("poisson", n=120)
    X_nan, y_nan, keep = _with_nans(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # left out silently: no warning
        est = GLM(regularizer="Ridge", regularizer_strength=0.05, **TIGHT).fit(X_nan, y_nan)
    clean = GLM(regularizer="Ridge", regularizer_strength=0.05, **TIGHT).fit(X[keep], y[keep])
    np.testing.assert_allclose(est.coef_, clean.coef_, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(est.intercept_, clean.intercept_, rtol=1e-8)
    assert est.n_excluded_ == 5 and isinstance(est.n_excluded_, int)
    assert clean.n_excluded_ == 0
    assert int(est.solver_state_.n_excluded) == 5
    assert float(est.dof_resid_) == float(clean.dof_resid_)
    # The same as the core's fit on the same inputs.
    core, result = glmx.fit(glmx.GLM(glmx.Poisson(), glmx.Ridge(0.05)), X_nan, y_nan)
    assert int(result.n_excluded) == est.n_excluded_

    rate = est.predict(X_nan)
    x_nan_rows = np.isnan(X_nan).any(axis=1)
    assert np.all(np.isnan(rate[x_nan_rows])) and np.all(np.isfinite(rate[~x_nan_rows]))
    np.testing.assert_allclose(rate[~x_nan_rows], clean.predict(X[~x_nan_rows]), rtol=1e-8)
    for kind in ("log-likelihood", "pseudo-r2-McFadden", "pseudo-r2-Cohen"):
        assert est.score(X_nan, y_nan, score_type=kind) == pytest.approx(
            clean.score(X[keep], y[keep], score_type=kind), rel=1e-8
        )
    samples, means = est.simulate(jax.random.key(0), X_nan)
    assert np.array_equal(np.isnan(samples), x_nan_rows)
    assert np.array_equal(np.isnan(means), x_nan_rows)


def test_nan_in_x_and_y_separately():
    X, y, _, _ = simulate("gaussian", n=120)
    for x_rows, y_rows in (((3, 4), ()), ((), (8, 9, 10))):
        X_nan, y_nan, keep = _with_nans(X, y, x_rows, y_rows)
        est = GLM(observation_model="Gaussian", **TIGHT).fit(X_nan, y_nan)
        clean = GLM(observation_model="Gaussian", **TIGHT).fit(X[keep], y[keep])
        np.testing.assert_allclose(est.coef_, clean.coef_, rtol=1e-8, atol=1e-10)
        # The dispersion is estimated on the rows used.
        np.testing.assert_allclose(est.scale_, clean.scale_, rtol=1e-8)
        assert est.n_excluded_ == len(x_rows) + len(y_rows)


def test_population_counts_missing_rows_per_neuron():
    X, Y = _population()
    X_nan, Y_nan = X.copy(), Y.copy()
    X_nan[[1, 4], 0] = np.nan  # left out for every neuron
    Y_nan[[10, 11, 12], 1] = np.nan  # for neuron 1 only
    Y_nan[4, 2] = np.nan  # a row X leaves out already: counted once
    est = PopulationGLM(regularizer="Ridge", regularizer_strength=0.1, **TIGHT).fit(X_nan, Y_nan)
    np.testing.assert_array_equal(est.n_excluded_, [2, 5, 2])
    assert est.n_excluded_.shape == (3,)
    np.testing.assert_array_equal(est.solver_state_.n_excluded, est.n_excluded_)
    scores = est.score(X_nan, Y_nan, aggregate="none")
    for k in range(3):
        keep = ~np.isnan(X_nan).any(axis=1) & ~np.isnan(Y_nan[:, k])
        one = GLM(regularizer="Ridge", regularizer_strength=0.1, **TIGHT).fit(X[keep], Y[keep, k])
        np.testing.assert_allclose(est.coef_[:, k], one.coef_, rtol=1e-8, atol=1e-10)
        assert scores[k] == pytest.approx(one.score(X[keep], Y[keep, k]), rel=1e-8)
    rates = est.predict(X_nan)
    assert np.all(np.isnan(rates[[1, 4]])) and np.all(np.isfinite(np.delete(rates, [1, 4], 0)))


def test_model_selection_with_nan_rows():
    X, y, _, _ = simulate("poisson", n=150)
    X_nan, y_nan, _ = _with_nans(X, y, x_rows=(0, 1, 70), y_rows=(2, 100, 149))
    folds = KFold(3, shuffle=True, random_state=0)
    est = GLM(regularizer="Ridge", regularizer_strength=0.1, **TIGHT)
    scores = cross_val_score(est, X_nan, y_nan, cv=folds)
    # Each fold as the clean rows of its training and test parts.
    expected = []
    for train, test in folds.split(X_nan):
        ok_train = train[~np.isnan(X_nan[train]).any(axis=1) & ~np.isnan(y_nan[train])]
        ok_test = test[~np.isnan(X_nan[test]).any(axis=1) & ~np.isnan(y_nan[test])]
        fitted = GLM(regularizer="Ridge", regularizer_strength=0.1, **TIGHT)
        fitted.fit(X[ok_train], y[ok_train])
        expected.append(fitted.score(X[ok_test], y[ok_test]))
    np.testing.assert_allclose(scores, expected, rtol=1e-8)

    search = GridSearchCV(est, {"regularizer_strength": [0.1, 1.0]}, cv=folds)
    search.fit(X_nan, y_nan)
    np.testing.assert_allclose(search.cv_results_["split0_test_score"][0], scores[0], rtol=1e-8)
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    assert search.best_estimator_.n_excluded_ == 6


def test_refitting_with_other_nan_rows_does_not_recompile():
    X, y, _, _ = simulate("poisson", n=120)
    GLM(**TIGHT).fit(*_with_nans(X, y)[:2])
    with count_traces() as counter:
        est = GLM(**TIGHT).fit(*_with_nans(X, y, x_rows=(50,), y_rows=(0, 1, 2, 3))[:2])
    assert counter["traces"] == 0 and est.n_excluded_ == 5


def test_infinities_are_an_error_naming_the_argument():
    X, y, _, _ = simulate("poisson", n=60)
    X_inf, y_inf = X.copy(), y.copy()
    X_inf[3, 1] = np.inf
    y_inf[4] = -np.inf
    with pytest.raises(ValueError, match=r"^Input X contains infinity"):
        GLM().fit(X_inf, y)
    with pytest.raises(ValueError, match=r"^Input y contains infinity"):
        GLM().fit(X, y_inf)
    with pytest.raises(ValueError, match=r"^Input X\['b'\] contains infinity"):
        GLM().fit({"a": X[:, 2:], "b": X_inf[:, :2]}, y)
    with pytest.raises(ValueError, match=r"^Input y contains infinity"):
        PopulationGLM().fit(X, np.column_stack([y, y_inf]))
    fitted = GLM().fit(X, y)
    with pytest.raises(ValueError, match=r"^Input X contains infinity"):
        fitted.predict(X_inf)
    with pytest.raises(ValueError, match=r"^Input y contains infinity"):
        fitted.score(X, y_inf)


def test_nothing_left_to_fit_is_the_cores_error():
    X, y, _, _ = simulate("poisson", n=60)
    message = "every row has a NaN in X or y; nothing is left to fit."
    with pytest.raises(ValueError, match=message):
        GLM().fit(X, np.full_like(y, np.nan))
    X_all = X.copy()
    X_all[np.arange(60), np.arange(60) % 4] = np.nan  # a NaN in every row, nowhere all-NaN
    with pytest.raises(ValueError, match=message):
        GLM().fit(X_all, y)
    with pytest.raises(ValueError, match=message):
        PopulationGLM().fit(X, np.full((60, 2), np.nan))


def test_pandas_inputs_with_missing_values():
    pd = pytest.importorskip("pandas")
    X, y, _, _ = simulate("poisson", n=120)
    X_nan, y_nan, keep = _with_nans(X, y)
    clean = GLM(**TIGHT).fit(X[keep], y[keep])
    frame = pd.DataFrame(X_nan, columns=["a", "b", "c", "d"])
    est = GLM(**TIGHT).fit(frame, pd.Series(y_nan))
    np.testing.assert_allclose(est.coef_, clean.coef_, rtol=1e-8, atol=1e-10)
    assert est.n_excluded_ == 5 and list(est.feature_names_in_) == ["a", "b", "c", "d"]
    # Nullable dtypes: pd.NA is a missing value like NaN.
    nullable = GLM(**TIGHT).fit(frame.astype("Float64"), pd.Series(y_nan).astype("Float64"))
    np.testing.assert_allclose(nullable.coef_, clean.coef_, rtol=1e-8, atol=1e-10)
    assert nullable.n_excluded_ == 5


def test_pynapple_inputs_with_nan_edges():
    nap = pytest.importorskip("pynapple")
    X, y, _, _ = simulate("poisson", n=120)
    X_nan = X.copy()
    X_nan[:4] = np.nan  # as a convolution leaves at the start of an epoch
    t = np.arange(120) * 0.01
    X_ts, y_ts = nap.TsdFrame(t=t, d=X_nan), nap.Tsd(t=t, d=y)
    est = GLM(**TIGHT).fit(X_ts, y_ts)
    clean = GLM(**TIGHT).fit(X[4:], y[4:])
    np.testing.assert_allclose(est.coef_, clean.coef_, rtol=1e-8, atol=1e-10)
    assert est.n_excluded_ == 4
    rate = est.predict(X_ts)
    assert isinstance(rate, nap.Tsd) and np.array_equal(rate.t, t)
    assert np.all(np.isnan(rate.values[:4])) and np.all(np.isfinite(rate.values[4:]))
    assert est.score(X_ts, y_ts) == pytest.approx(clean.score(X[4:], y[4:]), rel=1e-8)


def test_step_wise_fitting_counts_the_batch(tmp_path):
    X, Y = _population(n=120, neurons=2)
    Y[[0, 1], 1] = np.nan
    est = PopulationGLM(solver_name="LBFGS")
    params = est.initialize_params(X, Y)
    state = est.initialize_state(X, Y, params)
    np.testing.assert_array_equal(est.n_excluded_, [0, 2])
    params, state = est.update(params, state, X[:60], Y[:60])
    assert np.all(np.isfinite(params[0]))
    Y[5, 0] = np.nan
    est.update(params, state, X[:60], Y[:60])
    np.testing.assert_array_equal(est.n_excluded_, [1, 2])
    # Saved and loaded with the estimator.
    est.fit(X, Y).save_params(tmp_path / "pop.npz")
    np.testing.assert_array_equal(load_model(tmp_path / "pop.npz").n_excluded_, [1, 2])


def test_float32_inputs_with_nan_rows():
    X, y, _, _ = simulate("poisson", n=120)
    X_nan, y_nan, keep = _with_nans(X, y)
    est = GLM(solver_name="Newton").fit(X_nan.astype(np.float32), y_nan.astype(np.float32))
    clean = GLM(solver_name="Newton").fit(X[keep].astype(np.float32), y[keep].astype(np.float32))
    assert est.coef_.dtype == np.float32 and est.n_excluded_ == 5
    np.testing.assert_allclose(est.coef_, clean.coef_, rtol=1e-4, atol=1e-5)


def test_tags_allow_nan():
    for est in (GLM(), PopulationGLM()):
        assert get_tags(est).input_tags.allow_nan
