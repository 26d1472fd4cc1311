"""`fit` against independent oracles: statsmodels, scikit-learn and glum, in float64."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import statsmodels.api as sm

import glmx
from conftest import FAMILIES, SM_FAMILIES, flat_params, simulate

TIGHT = glmx.LBFGS(tol=1e-11)


def _statsmodels(name, X, y, **kwargs):
    fit_kwargs = {"tol": 1e-13} if name != "gaussian" else {}
    return sm.GLM(y, sm.add_constant(X), family=SM_FAMILIES[name], **kwargs).fit(**fit_kwargs)


def _params(model):
    return np.asarray(flat_params(model))


def _sm_params(res):
    return np.concatenate([res.params[1:], res.params[:1]])


@pytest.mark.parametrize("solver", [TIGHT, glmx.Newton(tol=1e-11)], ids=["lbfgs", "newton"])
@pytest.mark.parametrize("name", FAMILIES)
def test_unregularized_matches_statsmodels(name, solver):
    X, y, _, _ = simulate(name)
    model, result = glmx.fit(glmx.GLM(FAMILIES[name]), X, y, solver)
    res = _statsmodels(name, X, y)
    assert bool(result.converged)
    np.testing.assert_allclose(_params(model), _sm_params(res), rtol=1e-6)
    np.testing.assert_allclose(model.scale, res.scale, rtol=1e-6)
    np.testing.assert_allclose(result.dof_resid, res.df_resid)
    assert int(result.n_excluded) == 0
    np.testing.assert_allclose(
        model.log_likelihood(X, y, aggregate="sum"),
        res.family.loglike(y, res.mu, scale=res.scale),
        rtol=1e-8,
    )


@pytest.mark.parametrize("name", ["poisson", "gamma", "gaussian"])
def test_sample_weights_and_offset_match_statsmodels(name):
    X, y, _, _ = simulate(name)
    rng = np.random.default_rng(3)
    weights = rng.integers(0, 4, size=len(y)).astype(float)
    offset = rng.normal(size=len(y)) * 0.2
    model, _ = glmx.fit(glmx.GLM(FAMILIES[name]), X, y, TIGHT, sample_weight=weights, offset=offset)
    res = _statsmodels(name, X, y, freq_weights=weights, offset=offset)
    np.testing.assert_allclose(_params(model), _sm_params(res), rtol=1e-6)
    np.testing.assert_allclose(model.scale, res.scale, rtol=1e-6)
    np.testing.assert_allclose(model.predict(X, offset), res.mu, rtol=1e-6)


@pytest.mark.parametrize("name", ["poisson", "gamma"])
def test_ridge_matches_scikit_learn(name):
    from sklearn.linear_model import GammaRegressor, PoissonRegressor

    X, y, _, _ = simulate(name)
    strength = 0.05
    model, _ = glmx.fit(glmx.GLM(FAMILIES[name], glmx.Ridge(strength)), X, y, TIGHT)
    Regressor = PoissonRegressor if name == "poisson" else GammaRegressor
    ref = Regressor(alpha=strength, solver="newton-cholesky", tol=1e-12, max_iter=1000).fit(X, y)
    np.testing.assert_allclose(_params(model), np.append(ref.coef_, ref.intercept_), rtol=1e-6)


@pytest.mark.parametrize(
    "regularizer, l1_ratio",
    [(glmx.Lasso(0.02), 1.0), (glmx.ElasticNet(0.03, 0.4), 0.4)],
    ids=["lasso", "elasticnet"],
)
@pytest.mark.parametrize(
    "solver",
    [glmx.ProximalGradient(tol=1e-11), glmx.ProximalNewton(tol=1e-11)],
    ids=["fista", "proximal-newton"],
)
def test_sparse_poisson_matches_glum(regularizer, l1_ratio, solver):
    from glum import GeneralizedLinearRegressor

    X, y, _, _ = simulate("poisson")
    X = np.column_stack([X, np.random.default_rng(5).normal(size=(len(y), 2)) * 0.5])  # nulls
    model, result = glmx.fit(glmx.GLM(glmx.Poisson(), regularizer), X, y, solver)
    ref = GeneralizedLinearRegressor(
        family="poisson",
        alpha=float(regularizer.strength),
        l1_ratio=l1_ratio,
        solver="irls-cd",
        gradient_tol=1e-12,
        max_iter=1000,
    ).fit(X, y)
    assert bool(result.converged)
    np.testing.assert_allclose(
        _params(model), np.append(ref.coef_, ref.intercept_), rtol=1e-5, atol=1e-8
    )
    # The sparsity pattern agrees exactly.
    np.testing.assert_array_equal(np.asarray(model.coef) == 0, ref.coef_ == 0)


@pytest.mark.parametrize(
    "solver",
    [glmx.ProximalGradient(tol=1e-12), glmx.ProximalNewton(tol=1e-12)],
    ids=["fista", "proximal-newton"],
)
def test_lasso_gaussian_matches_scikit_learn(solver):
    from sklearn.linear_model import ElasticNet

    X, y, _, _ = simulate("gaussian")
    model, _ = glmx.fit(glmx.GLM(glmx.Gaussian(), glmx.ElasticNet(0.05, 0.7)), X, y, solver)
    ref = ElasticNet(alpha=0.05, l1_ratio=0.7, tol=1e-14, max_iter=100_000).fit(X, y)
    np.testing.assert_allclose(_params(model), np.append(ref.coef_, ref.intercept_), rtol=1e-7)


@pytest.mark.parametrize(
    "solver",
    [glmx.ProximalGradient(tol=1e-12), glmx.ProximalNewton(tol=1e-12)],
    ids=["fista", "proximal-newton"],
)
def test_group_lasso_meets_its_optimality_conditions(solver):
    X, y, _, _ = simulate("poisson")
    X = np.column_stack([X, np.random.default_rng(6).normal(size=(len(y), 3)) * 0.5])
    groups = np.array([0, 0, 1, 1, 2, 2, 2])
    strength = 0.04
    reg = glmx.GroupLasso(groups, strength)
    model, result = glmx.fit(glmx.GLM(glmx.Poisson(), reg), X, y, solver)
    assert bool(result.converged)

    def nll(coef, intercept):
        eta = X @ coef + intercept
        return -jnp.mean(y * eta - jnp.exp(eta))

    grad_coef, grad_intercept = jax.grad(nll, argnums=(0, 1))(model.coef, model.intercept)
    assert abs(grad_intercept) < 1e-10
    zero_groups = 0
    for g in range(3):
        members = groups == g
        w_g, grad_g = np.asarray(model.coef)[members], np.asarray(grad_coef)[members]
        weight = strength * np.sqrt(members.sum())
        if np.linalg.norm(w_g) == 0:
            zero_groups += 1
            assert np.linalg.norm(grad_g) <= weight + 1e-10
        else:
            np.testing.assert_allclose(grad_g, -weight * w_g / np.linalg.norm(w_g), atol=1e-9)
    assert zero_groups >= 1  # the null group is dropped whole


SOLVERS = [
    glmx.LBFGS(tol=1e-10),
    glmx.GradientDescent(tol=1e-10),
    glmx.ProximalGradient(tol=1e-10),
    glmx.Newton(tol=1e-10),
    glmx.ProximalNewton(tol=1e-10),
]


@pytest.mark.parametrize(
    "name, regularizer",
    [
        ("poisson", glmx.UnRegularized()),
        ("poisson", glmx.Ridge(0.1)),
        ("gamma-inverse", glmx.Ridge(0.1)),
        ("bernoulli", glmx.UnRegularized()),
    ],
    ids=["poisson-none", "poisson-ridge", "gamma-inverse-ridge", "bernoulli-none"],
)
def test_every_solver_reaches_the_same_optimum(name, regularizer):
    X, y, _, _ = simulate(name)
    fits = [glmx.fit(glmx.GLM(FAMILIES[name], regularizer), X, y, s) for s in SOLVERS]
    for model, result in fits:
        assert bool(result.converged), result.message
    reference = _params(fits[0][0])
    for model, result in fits[1:]:
        np.testing.assert_allclose(_params(model), reference, rtol=1e-7, atol=1e-9)
        np.testing.assert_allclose(result.objective, fits[0][1].objective, rtol=1e-12)


def test_objective_is_the_documented_one():
    X, y, _, _ = simulate("poisson")
    model, result = glmx.fit(glmx.GLM(glmx.Poisson(), glmx.Ridge(0.3)), X, y, TIGHT)
    mean_nll = -model.log_likelihood(X, y)
    expected = mean_nll + 0.5 * 0.3 * jnp.sum(model.coef**2)
    np.testing.assert_allclose(result.objective, expected, rtol=1e-12)


@pytest.mark.parametrize(
    "name, solvers",
    [
        ("poisson", (glmx.LBFGS(), glmx.ProximalGradient(), glmx.Newton(), glmx.ProximalNewton())),
        ("gamma", (glmx.Newton(), glmx.ProximalGradient())),
        ("bernoulli", (glmx.LBFGS(), glmx.ProximalNewton())),
    ],
    ids=["poisson", "gamma", "bernoulli"],
)
def test_float32_inputs_give_float32_results(name, solvers):
    X, y, _, _ = simulate(name)
    X32, y32 = X.astype(np.float32), y.astype(np.float32)
    for solver in solvers:
        model, result = glmx.fit(glmx.GLM(FAMILIES[name], glmx.Ridge(0.01)), X32, y32, solver)
        for leaf in (model.coef, model.intercept, model.scale, result.objective):
            assert leaf.dtype == jnp.float32
        assert model.regularizer.strength.dtype == jnp.float32  # hyperparameters follow the data
        reference, _ = glmx.fit(glmx.GLM(FAMILIES[name], glmx.Ridge(0.01)), X, y, TIGHT)
        np.testing.assert_allclose(_params(model), _params(reference), atol=2e-3)


def test_dict_design_equals_concatenated_design():
    X, y, _, _ = simulate("poisson")
    design = {"stim": X[:, :3], "hist": X[:, 3:]}
    model, _ = glmx.fit(glmx.GLM(glmx.Poisson(), glmx.Ridge(0.1)), design, y, TIGHT)
    # Sorted-key order: "hist" then "stim".
    flat, _ = glmx.fit(
        glmx.GLM(glmx.Poisson(), glmx.Ridge(0.1)), np.column_stack([X[:, 3:], X[:, :3]]), y, TIGHT
    )
    assert set(model.coef) == {"stim", "hist"}
    np.testing.assert_allclose(model.coef["hist"], flat.coef[:1], rtol=1e-8)
    np.testing.assert_allclose(model.coef["stim"], flat.coef[1:], rtol=1e-8)
    np.testing.assert_allclose(
        model.predict(design), flat.predict(np.column_stack([X[:, 3:], X[:, :3]]))
    )
    # A fitted dict model refits (warm start) on a dict design.
    refit, result = glmx.fit(model, design, y, TIGHT)
    assert int(result.num_steps) <= 2


def test_nan_rows_are_excluded_and_counted():
    X, y, _, _ = simulate("poisson")
    X_nan, y_nan = X.copy(), y.copy()
    X_nan[[3, 10], 1] = np.nan
    y_nan[[20, 10]] = np.nan
    model, result = glmx.fit(glmx.GLM(glmx.Poisson()), X_nan, y_nan, TIGHT)
    keep = np.ones(len(y), bool)
    keep[[3, 10, 20]] = False
    clean, clean_result = glmx.fit(glmx.GLM(glmx.Poisson()), X[keep], y[keep], TIGHT)
    assert int(result.n_excluded) == 3
    np.testing.assert_allclose(_params(model), _params(clean), rtol=1e-8)
    np.testing.assert_allclose(result.dof_resid, clean_result.dof_resid)
    predictions = model.predict(X_nan)
    assert np.isnan(predictions[3]) and np.isfinite(predictions[20])
    np.testing.assert_allclose(model.score(X_nan, y_nan), clean.score(X[keep], y[keep]))
    # Samples too are NaN on those rows (a Poisson sampler given a NaN mean returns -1).
    samples, _ = model.simulate(jax.random.key(0), X_nan)
    assert np.array_equal(np.isnan(samples), np.isnan(predictions))


def test_warm_start_from_the_optimum_takes_no_steps():
    X, y, _, _ = simulate("gamma")
    model, _ = glmx.fit(glmx.GLM(glmx.Gamma()), X, y, TIGHT)
    again, result = glmx.fit(model, X, y, TIGHT)
    assert int(result.num_steps) == 0
    np.testing.assert_allclose(_params(again), _params(model))


def test_non_convergence_is_reported():
    X, y, _, _ = simulate("poisson")
    with pytest.warns(glmx.ConvergenceWarning, match="did not converge"):
        _, result = glmx.fit(glmx.GLM(glmx.Poisson()), X, y, glmx.GradientDescent(max_steps=2))
    assert result.status == glmx.RESULTS.max_steps_reached
    assert not bool(result.converged) and int(result.num_steps) == 2


def test_softplus_poisson_recovers_the_truth():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(3000, 2))
    rate = np.asarray(jax.nn.softplus(X @ np.array([1.0, -0.5]) + 0.5))
    y = rng.poisson(rate).astype(float)
    model, result = glmx.fit(glmx.GLM(glmx.Poisson(glmx.SoftplusLink())), X, y, TIGHT)
    assert bool(result.converged)
    np.testing.assert_allclose(model.coef, [1.0, -0.5], atol=0.1)


def test_all_zero_counts_do_not_produce_nan():
    X, _, _, _ = simulate("poisson")
    # No finite estimate exists (the intercept runs to minus infinity): finite numbers, and
    # the status and the warning say so.
    with pytest.warns(glmx.ConvergenceWarning, match="no finite estimate.*the intercept"):
        model, result = glmx.fit(glmx.GLM(glmx.Poisson(), glmx.Ridge(0.1)), X, np.zeros(len(X)))
    assert result.status == glmx.RESULTS.diverging
    assert np.all(np.isfinite(_params(model)))
    assert float(model.predict(X).max()) < 1e-3


def test_score_types():
    X, y, _, _ = simulate("poisson")
    model, _ = glmx.fit(glmx.GLM(glmx.Poisson()), X, y, TIGHT)
    res = _statsmodels("poisson", X, y)
    np.testing.assert_allclose(model.score(X, y), res.llf / len(y), rtol=1e-8)
    np.testing.assert_allclose(
        model.score(X, y, "pseudo-r2-McFadden"), res.pseudo_rsquared("mcf"), rtol=1e-7
    )
    np.testing.assert_allclose(
        model.score(X, y, "pseudo-r2-Cohen"), 1 - res.deviance / res.null_deviance, rtol=1e-7
    )
    with pytest.raises(ValueError, match="score_type must be one of"):
        model.score(X, y, "r2")


def test_simulate_uses_the_fitted_scale(getkey):
    X, y, _, _ = simulate("gaussian", n=4000)
    model, _ = glmx.fit(glmx.GLM(glmx.Gaussian()), X, y, TIGHT)
    samples, means = model.simulate(getkey(), X)
    np.testing.assert_allclose(means, model.predict(X))
    np.testing.assert_allclose(np.var(samples - means), model.scale, rtol=0.1)


def test_initialize_params_matches_the_mean():
    X, y, _, _ = simulate("bernoulli")
    model = glmx.GLM(glmx.Bernoulli()).initialize_params(X, y)
    np.testing.assert_array_equal(model.coef, 0.0)
    np.testing.assert_allclose(model.predict(X), np.full(len(y), y.mean()), rtol=1e-12)
    design = {"a": X[:, :1], "b": X[:, 1:]}
    model = glmx.GLM(glmx.Poisson()).initialize_params(design, y)
    assert model.coef["a"].shape == (1,) and model.coef["b"].shape == (3,)


def test_optax_solver_reaches_the_optimum():
    import optax

    X, y, _, _ = simulate("poisson")
    solver = glmx.OptaxSolver(optax.adam(0.05), max_steps=20_000, tol=1e-7)
    model, result = glmx.fit(glmx.GLM(glmx.Poisson(), glmx.Ridge(0.1)), X, y, solver)
    reference, _ = glmx.fit(glmx.GLM(glmx.Poisson(), glmx.Ridge(0.1)), X, y, TIGHT)
    assert bool(result.converged)
    np.testing.assert_allclose(_params(model), _params(reference), atol=1e-6)
    with pytest.raises(ValueError, match="handles only smooth penalties"):
        glmx.fit(glmx.GLM(glmx.Poisson(), glmx.Lasso(0.1)), X, y, solver)


def test_curvature_start_is_used_below_the_feature_limit_only(monkeypatch):
    import glmx._problem as fit_module

    X, y, _, _ = simulate("poisson")
    with_curvature, r1 = glmx.fit(glmx.GLM(glmx.Poisson()), X, y, TIGHT)
    monkeypatch.setattr(fit_module, "MAX_CURVATURE_FEATURES", 2)  # X has 4 features
    without, r2 = glmx.fit(glmx.GLM(glmx.Poisson()), X, y, glmx.LBFGS(tol=1e-11, max_steps=999))
    np.testing.assert_allclose(_params(without), _params(with_curvature), rtol=1e-7)
    assert int(r1.num_steps) < int(r2.num_steps)


@pytest.mark.parametrize("offset", [0.0, 8.0], ids=["small-counts-table", "large-counts-lgamma"])
def test_objective_constant_from_table_and_from_lgamma(offset):
    """Counts below 1,024 take log y! from a table, larger ones from lgamma: both give the
    documented objective."""
    X, _, _, _ = simulate("poisson")
    rng = np.random.default_rng(4)
    y = rng.poisson(np.exp(X @ np.array([0.3, -0.2, 0.1, 0.0]) + offset)).astype(float)
    assert (y.max() >= 1024) == (offset > 0)
    model, result = glmx.fit(glmx.GLM(glmx.Poisson()), X, y, TIGHT)
    np.testing.assert_allclose(result.objective, -model.log_likelihood(X, y), rtol=1e-12)


def test_unscaled_data_converge_to_the_accuracy_their_scale_allows():
    """A response of 1e8 and columns of 30 once ran to the step limit with the right answer;
    the stopping rule now counts the gradient's rounding (`attainable_optimality`)."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(4000, 4)) * 30 + 30
    y = 1e8 * (X @ rng.normal(size=4) / 30 + 3 + rng.normal(size=4000))
    reference = np.linalg.lstsq(np.column_stack([np.ones(4000), X]), y, rcond=None)[0]
    for solver in (None, glmx.Newton()):
        model, result = glmx.fit(glmx.GLM(glmx.Gaussian()), X, y, solver)
        assert bool(result.converged) and int(result.num_steps) < 30
        fitted = np.r_[float(model.intercept), np.asarray(model.coef)]
        np.testing.assert_allclose(fitted, reference, rtol=1e-10)
