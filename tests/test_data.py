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


def _aligned_copy(X):
    """``X`` in a 64-byte aligned buffer (the kind a fit adopts without copying)."""
    raw = np.empty(X.nbytes + 64, np.uint8)
    start = -raw.ctypes.data % 64
    out = raw[start : start + X.nbytes].view(X.dtype).reshape(X.shape)
    out[...] = X
    return out


def test_missing_rows_the_same_from_numpy_jax_traced_and_aligned_inputs():
    """NaN rows are found before the program (NumPy on the host, JAX arrays by a small
    program), zeroed in a private copy, never in the caller's array; traced designs are
    cleaned inside the program. All give the same fit."""
    import jax

    X, y, _, _ = simulate("poisson")
    X_nan, y_nan, keep = _with_missing(X, y)
    before = X_nan.copy()
    model = glmx.GLM(glmx.Poisson())
    reference, result = glmx.fit(model, X_nan, y_nan, TIGHT)
    np.testing.assert_array_equal(X_nan, before)  # the caller's array keeps its NaN
    assert int(result.n_excluded) == 3
    from_jax, result_jax = glmx.fit(model, jax.numpy.asarray(X_nan), y_nan, TIGHT)
    assert int(result_jax.n_excluded) == 3
    np.testing.assert_allclose(from_jax.coef, reference.coef, rtol=1e-10)
    traced = jax.jit(lambda X: glmx.fit(model, X, y_nan, TIGHT)[0].coef)(X_nan)
    np.testing.assert_allclose(traced, reference.coef, rtol=1e-10)
    aligned = _aligned_copy(X)
    adopted, _ = glmx.fit(model, aligned, y, TIGHT)
    copied, _ = glmx.fit(model, X, y, TIGHT)
    np.testing.assert_allclose(adopted.coef, copied.coef, rtol=1e-12)


def test_an_aligned_float_array_is_adopted_without_a_copy_and_others_are_copied():
    from glmx._arrays import host_nan_rows, host_to_jax

    X = _aligned_copy(np.arange(12.0).reshape(4, 3))
    assert host_to_jax(X, np.float64).unsafe_buffer_pointer() == X.ctypes.data
    assert host_to_jax(X, np.float32).unsafe_buffer_pointer() != X.ctypes.data
    X[1, 2] = np.nan
    rows = host_nan_rows(X)
    np.testing.assert_array_equal(rows, [False, True, False, False])
    zeroed = np.asarray(host_to_jax(X, np.float64, rows))
    np.testing.assert_array_equal(zeroed[1], 0.0)
    assert np.isnan(X[1, 2])  # the copy is zeroed, not the caller's array
    stacked = np.stack([X, np.zeros_like(X)])  # per-neuron designs: rows of every neuron
    np.testing.assert_array_equal(host_nan_rows(stacked), [rows, np.zeros(4, bool)])


def test_a_missing_row_is_zeroed_in_every_block_of_a_dict_design():
    """A row with a NaN in one block and huge values in another is left out entirely: the
    huge values never reach the linear predictor (where they would overflow)."""
    X, y, _, _ = simulate("poisson")
    X_nan, y_nan, keep = _with_missing(X, y)
    huge = X_nan[:, 2:].copy()
    huge[[3, 10]] = 1e300
    model, result = glmx.fit(glmx.GLM(glmx.Poisson()), {"a": X_nan[:, :2], "b": huge}, y_nan)
    assert bool(result.converged) and int(result.n_excluded) == 3
    assert np.all(np.isfinite(model.coef["a"])) and np.all(np.isfinite(model.coef["b"]))
