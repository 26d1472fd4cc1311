"""The input pipeline: one missing-row rule for fits, scores, initial parameters and inference,
per neuron for per-neuron designs; chunked maps over neurons."""

import numpy as np

import glmx
from conftest import simulate

TIGHT = glmx.LBFGS(tol=1e-11)


def _with_missing(X, y):
    X, y = X.copy(), y.copy()
    X[[3, 10], 1] = np.nan
    y[[20, 10]] = np.nan
    keep = np.ones(len(y), bool)
    keep[[3, 10, 20]] = False
    return X, y, keep


def test_one_missing_row_rule_across_fit_score_initial_params_and_inference():
    X, y, _, _ = simulate("poisson")
    X_nan, y_nan, keep = _with_missing(X, y)
    model, result = glmx.fit(glmx.GLM(glmx.Poisson()), X_nan, y_nan, TIGHT)
    clean, _ = glmx.fit(glmx.GLM(glmx.Poisson()), X[keep], y[keep], TIGHT)
    assert int(result.n_excluded) == 3
    np.testing.assert_allclose(model.coef, clean.coef, rtol=1e-8)
    # Scores and per-row log-likelihoods leave out the same rows.
    per_row = model.log_likelihood(X_nan, y_nan, aggregate="none")
    np.testing.assert_array_equal(np.isnan(per_row), ~keep)
    np.testing.assert_allclose(
        model.log_likelihood(X_nan, y_nan), model.log_likelihood(X[keep], y[keep]), rtol=1e-12
    )
    # The starting intercept ignores the rows whose X has a NaN, as the fit does.
    start = glmx.GLM(glmx.Poisson()).initialize_params(X_nan, y_nan)
    np.testing.assert_allclose(start.intercept, np.log(np.mean(y[keep])), rtol=1e-12)
    info = glmx.inference(model, X_nan, y_nan)
    assert float(info.n_rows) == keep.sum()
    np.testing.assert_allclose(
        info.std_errors, glmx.inference(clean, X[keep], y[keep]).std_errors, rtol=1e-7
    )


def test_dict_designs_share_the_rule_block_by_block():
    X, y, _, _ = simulate("poisson")
    X_nan, y_nan, keep = _with_missing(X, y)
    design = {"a": X_nan[:, :2], "b": X_nan[:, 2:]}
    model, result = glmx.fit(glmx.GLM(glmx.Poisson()), design, y_nan, TIGHT)
    assert int(result.n_excluded) == 3
    per_row = model.log_likelihood(design, y_nan, aggregate="none")
    np.testing.assert_array_equal(np.isnan(per_row), ~keep)


def test_per_neuron_designs_exclude_each_neurons_own_rows():
    X, y, _, _ = simulate("poisson")
    X_per = np.stack([X, X.copy()])
    X_per[1, [5, 6], 0] = np.nan  # only neuron 1 loses rows 5 and 6
    Y = np.stack([y, y], axis=1)
    Y[9, 0] = np.nan  # only neuron 0 loses row 9
    pop = glmx.PopulationGLM(glmx.Poisson(), n_neurons=2)
    fitted, result = glmx.fit(pop, X_per, Y, TIGHT)
    np.testing.assert_array_equal(result.n_excluded, [1, 2])
    keep0, keep1 = np.arange(len(y)) != 9, ~np.isin(np.arange(len(y)), [5, 6])
    single0, _ = glmx.fit(glmx.GLM(glmx.Poisson()), X[keep0], y[keep0], TIGHT)
    single1, _ = glmx.fit(glmx.GLM(glmx.Poisson()), X[keep1], y[keep1], TIGHT)
    np.testing.assert_allclose(fitted.coef, np.stack([single0.coef, single1.coef]), rtol=1e-7)
    start = pop.initialize_params(X_per, Y)
    expected = [np.log(np.mean(y[keep0])), np.log(np.mean(y[keep1]))]
    np.testing.assert_allclose(start.intercept, expected, rtol=1e-12)
