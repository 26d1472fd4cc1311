"""`glmx.inference` against statsmodels (simulated and bundled real data), closed forms for the
penalised case, coverage of the intervals, populations, filter bands, reports and errors."""

import inspect
import warnings

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import statsmodels.api as sm

import glmx
from conftest import FAMILIES, SM_FAMILIES, simulate

TIGHT = glmx.Newton(tol=1e-12)
RTOL = 1e-6


def _order(p):
    """statsmodels puts the constant first; glmx puts the intercept last."""
    return list(range(1, p + 1)) + [0]


def _statsmodels(family, X, y, cov_type="nonrobust", **kwargs):
    cov_kwds = kwargs.pop("cov_kwds", None)
    model = sm.GLM(y, sm.add_constant(X, has_constant="add"), family=family, **kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # Fully converged IRLS: statsmodels evaluates the covariance at its last iterate.
        return model.fit(tol=0, maxiter=100, cov_type=cov_type, cov_kwds=cov_kwds)


def _compare(info, res, p, hc1_factor=1.0):
    order = _order(p)
    np.testing.assert_allclose(info.params, res.params[order], rtol=RTOL)
    np.testing.assert_allclose(info.std_errors, res.bse[order] * np.sqrt(hc1_factor), rtol=RTOL)
    if hc1_factor == 1.0:
        # A tail p-value's relative error is z^2 times the statistic's (longley's intercept:
        # z = 4.2, SEs agreeing to 7e-8 give p-values agreeing to 1.2e-6); below 1e-12 in
        # absolute terms the difference says nothing.
        np.testing.assert_allclose(info.statistics, res.tvalues[order], rtol=RTOL)
        z2 = np.asarray(info.statistics) ** 2
        np.testing.assert_array_less(
            np.abs(info.p_values - res.pvalues[order]),
            RTOL * (1 + z2) * np.abs(res.pvalues[order]) + 1e-12,
        )
        np.testing.assert_allclose(info.conf_int(0.9), res.conf_int(0.1)[order], rtol=RTOL)
    for mine, theirs in [
        (info.deviance, res.deviance),
        (info.null_deviance, res.null_deviance),
        (info.log_likelihood, res.llf),
        (info.null_log_likelihood, res.llnull),
        (info.pearson_chi2, res.pearson_chi2),
        (info.scale, res.scale),
        (info.aic, res.aic),
        (info.bic, res.bic),
        (info.bic_deviance, res.bic_deviance),
        (info.dof_resid_effective, res.df_resid),
        (info.dof_model, res.df_model),
    ]:
        np.testing.assert_allclose(mine, theirs, rtol=RTOL)


@pytest.mark.parametrize("cov_type", ["nonrobust", "HC0", "HC1", "cluster"])
@pytest.mark.parametrize("name", FAMILIES)
def test_matches_statsmodels_on_simulated_data(name, cov_type):
    X, y, _, _ = simulate(name)
    rng = np.random.default_rng(1)
    weights = rng.integers(1, 4, size=len(y)).astype(float)  # statsmodels' sandwich needs w > 0
    offset = 0.1 * rng.normal(size=len(y))
    groups = rng.integers(0, 12, size=len(y))
    model, _ = glmx.fit(glmx.GLM(FAMILIES[name]), X, y, TIGHT, sample_weight=weights, offset=offset)
    extra = {"groups": groups} if cov_type == "cluster" else {}
    info = glmx.inference(
        model, X, y, sample_weight=weights, offset=offset, cov_type=cov_type, **extra
    )
    # statsmodels' GLM returns HC0 when asked for HC1; glmx applies n / (n - k) (as for OLS).
    sm_cov = "HC0" if cov_type == "HC1" else cov_type
    res = _statsmodels(
        SM_FAMILIES[name],
        X,
        y,
        sm_cov,
        freq_weights=weights,
        offset=offset,
        cov_kwds=extra or None,
    )
    n, k = len(y), X.shape[1] + 1
    _compare(info, res, X.shape[1], hc1_factor=n / (n - k) if cov_type == "HC1" else 1.0)


def _dataset(name):
    datasets = sm.datasets
    if name == "poisson-cpunish":
        data = datasets.cpunish.load()
        X = np.asarray(data.exog, float)
        X[:, 3] = np.log(X[:, 3])  # as in statsmodels' own example
        return X, np.asarray(data.endog, float), glmx.Poisson(), sm.families.Poisson()
    table = {
        "gamma-scotland": (
            datasets.scotland,
            glmx.Gamma(glmx.InverseLink()),
            sm.families.Gamma(),
        ),
        "bernoulli-spector": (datasets.spector, glmx.Bernoulli(), sm.families.Binomial()),
        "gaussian-longley": (datasets.longley, glmx.Gaussian(), sm.families.Gaussian()),
        "negbin-randhie": (
            datasets.randhie,
            glmx.NegativeBinomial(1.0),
            sm.families.NegativeBinomial(alpha=1.0),
        ),
    }
    module, observation, family = table[name]
    data = module.load()
    return np.asarray(data.exog, float), np.asarray(data.endog, float), observation, family


@pytest.mark.parametrize("cov_type", ["nonrobust", "HC0"])
@pytest.mark.parametrize(
    "name",
    [
        "poisson-cpunish",
        "gamma-scotland",
        "bernoulli-spector",
        "gaussian-longley",
        "negbin-randhie",
    ],
)
def test_matches_statsmodels_on_bundled_datasets(name, cov_type):
    X, y, observation, family = _dataset(name)
    # These designs are unscaled (incomes, populations, years in the thousands), so gradients
    # are large in absolute terms: the tolerance is relative to the data's scale, and Newton
    # forms its Gram in float64. Longley's design has condition number ~1e9 and its gradient
    # cannot be resolved below ~1e-4 in float64 (the coefficients are then right to 5e-9).
    tol = 1e-3 if name == "gaussian-longley" else 1e-12 * float(np.max(np.abs(X) * np.max(y)))
    solver = glmx.Newton(tol=tol, max_steps=2000, low_precision_hessian=False)
    model, result = glmx.fit(glmx.GLM(observation), X, y, solver)
    assert bool(result.converged)
    info = glmx.inference(model, X, y, cov_type=cov_type)
    _compare(info, _statsmodels(family, X, y, cov_type), X.shape[1])


def test_wald_test_matches_statsmodels():
    X, y, _, _ = simulate("poisson")
    model, _ = glmx.fit(glmx.GLM(glmx.Poisson()), X, y, TIGHT)
    info = glmx.inference(model, X, y)
    res = _statsmodels(sm.families.Poisson(), X, y)
    # H0: coef[1] = 0 and coef[2] = coef[3]; glmx's parameter order is (coef..., intercept).
    R = np.array([[0, 1, 0, 0, 0], [0, 0, 1, -1, 0]], float)
    R_sm = R[:, [4, 0, 1, 2, 3]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = res.wald_test(R_sm, scalar=True, use_f=False)
    test = info.wald_test(R)
    np.testing.assert_allclose(test.statistic, expected.statistic, rtol=RTOL)
    np.testing.assert_allclose(test.p_value, expected.pvalue, rtol=RTOL)
    assert float(test.df) == 2.0
    by_name = info.wald_test(["x[1]", "x[2]"])
    by_matrix = info.wald_test(np.eye(5)[[1, 2]])
    np.testing.assert_allclose(by_name.statistic, by_matrix.statistic, rtol=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        f_expected = res.wald_test(R_sm, scalar=True, use_f=True)
    f_test = glmx.inference(model, X, y, use_t=True).wald_test(R)
    assert f_test.distribution == "F"
    np.testing.assert_allclose(f_test.statistic, f_expected.statistic, rtol=RTOL)
    np.testing.assert_allclose(f_test.p_value, f_expected.pvalue, rtol=RTOL)


def test_t_statistics_match_statsmodels_use_t():
    X, y, _, _ = simulate("gaussian")
    model, _ = glmx.fit(glmx.GLM(glmx.Gaussian()), X, y, TIGHT)
    info = glmx.inference(model, X, y, use_t=True)
    res = sm.GLM(y, sm.add_constant(X), family=sm.families.Gaussian()).fit(use_t=True)
    order = _order(X.shape[1])
    np.testing.assert_allclose(info.p_values, res.pvalues[order], rtol=RTOL)
    np.testing.assert_allclose(info.conf_int(0.95), res.conf_int(0.05)[order], rtol=RTOL)


def test_likelihood_ratio_test_of_nested_fits():
    X, y, _, _ = simulate("poisson")
    full_model, _ = glmx.fit(glmx.GLM(glmx.Poisson()), X, y, TIGHT)
    small_model, _ = glmx.fit(glmx.GLM(glmx.Poisson()), X[:, :2], y, TIGHT)
    full = glmx.inference(full_model, X, y)
    small = glmx.inference(small_model, X[:, :2], y)
    test = glmx.likelihood_ratio_test(small, full)
    full_sm = _statsmodels(sm.families.Poisson(), X, y)
    small_sm = _statsmodels(sm.families.Poisson(), X[:, :2], y)
    statistic = 2 * (full_sm.llf - small_sm.llf)
    np.testing.assert_allclose(test.statistic, statistic, rtol=RTOL)
    np.testing.assert_allclose(test.df, 2.0)
    from scipy.stats import chi2

    np.testing.assert_allclose(test.p_value, chi2.sf(statistic, 2), rtol=RTOL)


def test_ridge_effective_degrees_of_freedom_and_penalised_covariance():
    X, y, _, _ = simulate("gamma")
    strength = 0.2
    model, _ = glmx.fit(glmx.GLM(glmx.Gamma(), glmx.Ridge(strength)), X, y, TIGHT)
    info = glmx.inference(model, X, y)
    # Direct: the hat matrix of the penalised IRLS step at the solution.
    X1 = np.column_stack([X, np.ones(len(y))])
    mean = np.asarray(model.predict(X))
    weights = np.ones(len(y))  # Gamma, log link: Fisher weight (dmu/deta)^2 / V(mu) = 1
    penalty = len(y) * strength * np.diag([1.0] * X.shape[1] + [0.0])
    information = X1.T @ (weights[:, None] * X1)
    inverse = np.linalg.inv(information + penalty)
    hat = X1 @ inverse @ X1.T @ np.diag(weights)
    np.testing.assert_allclose(info.edf, np.trace(hat), rtol=1e-10)
    assert float(info.edf) < X.shape[1] + 1
    dof_resid = len(y) - np.trace(hat)
    np.testing.assert_allclose(info.dof_resid_effective, dof_resid, rtol=1e-10)
    scale = np.sum((y - mean) ** 2 / mean**2) / dof_resid
    np.testing.assert_allclose(info.scale, scale, rtol=1e-10)
    np.testing.assert_allclose(info.cov, scale * inverse, rtol=1e-9)


def test_lasso_zeros_are_reported_as_held_at_zero():
    X, y, _, _ = simulate("gaussian")
    model, _ = glmx.fit(glmx.GLM(glmx.Gaussian(), glmx.Lasso(0.08)), X, y)
    info = glmx.inference(model, X, y)
    zero = np.asarray(model.coef) == 0
    assert zero.any()
    free = np.asarray(info.free)
    assert np.array_equal(free[:-1], ~zero) and free[-1]
    assert np.all(np.asarray(info.std_errors)[:-1][zero] == 0)
    assert np.all(np.asarray(info.p_values)[:-1][zero] == 1)
    np.testing.assert_allclose(info.edf, np.sum(~zero) + 1, rtol=1e-12)
    assert "held at zero" in info.summary()


def test_ninety_five_percent_intervals_cover_the_truth():
    """1,000 simulated Poisson data sets, fitted and analysed in one vmapped call."""
    rng = np.random.default_rng(7)
    n, coef, intercept = 300, np.array([0.5, -0.3]), 0.2
    X = rng.normal(size=(n, 2))
    rates = np.exp(X @ coef + intercept)
    Y = rng.poisson(rates, size=(1000, n)).astype(float)

    def intervals(y):
        model, _ = glmx.fit(glmx.GLM(glmx.Poisson()), X, y)
        return glmx.inference(model, X, y).conf_int(0.95)

    bounds = np.asarray(jax.jit(jax.vmap(intervals))(jnp.asarray(Y)))  # (1000, 3, 2)
    truth = np.append(coef, intercept)
    covered = (bounds[..., 0] <= truth) & (truth <= bounds[..., 1])
    coverage = covered.mean(axis=0)
    assert np.all((coverage >= 0.93) & (coverage <= 0.97)), coverage


def test_population_inference_equals_a_loop_and_runs_under_jit():
    from test_population import NEURONS, population_data

    X, Y = population_data()
    mask = np.array([[1, 1, 0], [1, 0, 1], [0, 1, 1], [1, 1, 1]], bool)
    pop = glmx.PopulationGLM(glmx.Poisson(), n_neurons=NEURONS, feature_mask=mask)
    pop, _ = glmx.fit(pop, X, Y, TIGHT)
    info = glmx.inference(pop, X, Y, cov_type="HC0")
    assert info.std_errors.shape == (NEURONS, X.shape[1] + 1)
    for k in range(NEURONS):
        used = mask[:, k]
        single, _ = glmx.fit(glmx.GLM(glmx.Poisson()), X[:, used], Y[:, k], TIGHT)
        expected = glmx.inference(single, X[:, used], Y[:, k], cov_type="HC0")
        picked = info.neuron(k)
        se = np.asarray(picked.std_errors)
        np.testing.assert_allclose(se[:-1][used], expected.std_errors[:-1], rtol=1e-8)
        np.testing.assert_allclose(se[-1], expected.std_errors[-1], rtol=1e-8)
        assert np.all(se[:-1][~used] == 0)
        np.testing.assert_allclose(picked.aic, expected.aic, rtol=1e-10)
    jitted = eqx.filter_jit(lambda m, X, Y: glmx.inference(m, X, Y).p_values)(pop, X, Y)
    np.testing.assert_allclose(jitted, glmx.inference(pop, X, Y).p_values, rtol=1e-12)
    text = info.summary()
    assert "3 neurons" in text and text.count("\n") >= NEURONS + 2


def test_filter_band_of_a_basis_filter():
    rng = np.random.default_rng(3)
    basis = np.asarray(glmx.raised_cosine_log_basis(4, 30))
    n = 3000
    drive = rng.normal(size=(n, 4))
    X = {"history": drive, "stim": rng.normal(size=(n, 2))}
    y = rng.poisson(np.exp(drive @ np.array([0.3, -0.2, 0.1, 0.05]) - 1.0)).astype(float)
    model, _ = glmx.fit(glmx.GLM(glmx.Poisson()), X, y, TIGHT)
    info = glmx.inference(model, X, y)
    filt, lower, upper = info.filter_band(basis, block="history")
    np.testing.assert_allclose(filt, basis @ np.asarray(model.coef["history"]), rtol=1e-10)
    # The band at each lag is the interval of the linear combination basis[w] @ coef.
    names = [f"history[{i}]" for i in range(4)]
    index = [info.names.index(name) for name in names]
    cov = np.asarray(info.cov)[np.ix_(index, index)]
    half = 1.959963984540054 * np.sqrt(np.einsum("wk,kl,wl->w", basis, cov, basis))
    np.testing.assert_allclose(upper - filt, half, rtol=1e-8)
    np.testing.assert_allclose(filt - lower, half, rtol=1e-8)
    same = info.filter_band(basis, columns=index)
    np.testing.assert_allclose(same[2], upper, rtol=1e-12)


def test_summary_and_table():
    X, y, _, _ = simulate("poisson")
    model, _ = glmx.fit(glmx.GLM(glmx.Poisson()), X, y, TIGHT)
    info = glmx.inference(model, X, y)
    text = info.summary()
    for fragment in ("Poisson (LogLink), UnRegularized", "AIC", "deviance", "x[3]", "intercept"):
        assert fragment in text
    assert str(info) == text
    table = info.table(0.9)
    assert table["name"][-1] == "intercept" and table["coef"].shape == (5,)
    np.testing.assert_allclose(table["lower"], np.asarray(info.conf_int(0.9))[:, 0])


def test_inference_errors():
    X, y, _, _ = simulate("poisson")
    model, _ = glmx.fit(glmx.GLM(glmx.Poisson()), X, y)
    unchecked = inspect.unwrap(glmx.inference)
    cases = [
        (dict(cov_type="HC3"), ValueError, r"cov_type must be one of \('nonrobust'"),
        (dict(information="fisher"), ValueError, r"information must be one of"),
        (dict(cov_type="cluster"), ValueError, r"groups must be given exactly when"),
        (dict(groups=np.zeros(len(y))), ValueError, r"groups must be given exactly when"),
        (
            dict(cov_type="cluster", groups=np.zeros(3)),
            ValueError,
            r"groups must have shape \(400,\)",
        ),
        (dict(cov_type="cluster", groups=np.zeros(len(y))), ValueError, r"single cluster"),
        (dict(use_t=1), TypeError, r"use_t must be True or False, got 1"),
    ]
    for kwargs, error, message in cases:
        with pytest.raises(error, match=message):
            unchecked(model, X, y, **kwargs)
    with pytest.raises(ValueError, match="model has no coefficients; fit it first"):
        glmx.inference(glmx.GLM(glmx.Poisson()), X, y)
    with pytest.raises(ValueError, match="y has 399 rows but X has 400"):
        glmx.inference(model, X, y[:-1])
    info = glmx.inference(model, X, y)
    with pytest.raises(ValueError, match=r"level must be a number in \(0, 1\)"):
        info.conf_int(95)
    with pytest.raises(ValueError, match="'x\\[9\\]' is not a parameter name"):
        info.wald_test(["x[9]"])
    with pytest.raises(ValueError, match=r"restrictions must be a \(r, 5\) matrix") as raised:
        info.wald_test(np.ones((2, 3)))
    assert "the 4 coefficients, then the intercept" in str(raised.value)
    assert "got shape (2, 3)" in str(raised.value)
    with pytest.raises(ValueError, match="names block 'stim', but the design's blocks are"):
        info.wald_test("stim")
    with pytest.raises(ValueError, match="give exactly one of block"):
        info.filter_band(np.ones((5, 2)))
    with pytest.raises(ValueError, match=r"basis must be \(window, 2\)"):
        info.filter_band(np.ones((5, 3)), columns=[0, 1])
    with pytest.raises(ValueError, match="neuron\\(k\\) applies to the inference of a Population"):
        info.neuron(0)
    gamma_model, _ = glmx.fit(glmx.GLM(glmx.Gamma()), *simulate("gamma")[:2])
    gamma_info = glmx.inference(gamma_model, *simulate("gamma")[:2])
    with pytest.raises(ValueError, match="restricted is Gamma .* but full is Poisson"):
        glmx.likelihood_ratio_test(gamma_info, info)
    with pytest.raises(TypeError, match="full must come from glmx.inference"):
        inspect.unwrap(glmx.likelihood_ratio_test)(info, model)
