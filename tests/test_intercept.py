"""Models without an intercept (``fit_intercept=False``) against statsmodels without a constant
column, scikit-learn and glum with ``fit_intercept=False``; every solver, populations,
step-wise fitting, differentiation, inference, save/load; and the intercept-only model of a
design without columns."""

import jax
import numpy as np
import pytest
import statsmodels.api as sm
from glum import GeneralizedLinearRegressor
from sklearn.linear_model import GammaRegressor, LogisticRegression, PoissonRegressor

import glmx
from conftest import FAMILIES, SM_FAMILIES, simulate

TIGHT = glmx.Newton(tol=1e-12)
UNPENALISED = ["poisson", "bernoulli", "gamma"]


def _shifted(family):
    """Data whose columns are not centred, so that a missing intercept matters."""
    X, y, _, _ = simulate(family)
    return X + 0.3, y


@pytest.mark.parametrize("family", UNPENALISED)
def test_unpenalised_equals_statsmodels_without_a_constant(family):
    X, y = _shifted(family)
    model = glmx.GLM(FAMILIES[family], fit_intercept=False)
    fitted, result = glmx.fit(model, X, y, TIGHT)
    reference = sm.GLM(y, X, family=SM_FAMILIES[family]).fit(tol=1e-13)
    assert float(fitted.intercept) == 0.0
    np.testing.assert_allclose(fitted.coef, reference.params, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(float(result.dof_resid), reference.df_resid)
    np.testing.assert_allclose(float(fitted.scale), reference.scale, rtol=1e-7)
    info = glmx.inference(fitted, X, y)
    assert info.names == ("x[0]", "x[1]", "x[2]", "x[3]")
    np.testing.assert_allclose(info.std_errors, reference.bse, rtol=1e-6)
    np.testing.assert_allclose(float(info.log_likelihood), reference.llf, rtol=1e-10)
    np.testing.assert_allclose(float(info.deviance), reference.deviance, rtol=1e-10)
    # The model's own null (the offset alone, as R's glm) and its degrees of freedom.
    null = glmx.GLM(FAMILIES[family], fit_intercept=False, coef=np.zeros(4), intercept=0.0)
    null_deviance = -2 * float(null.log_likelihood(X, y, aggregate="sum"))
    saturated = -2 * float(info.log_likelihood) - float(info.deviance) / float(fitted.scale)
    if family != "gamma":  # Gamma's log-likelihood depends on the scale; compare deviances
        np.testing.assert_allclose(float(info.null_deviance), null_deviance - saturated)
    np.testing.assert_allclose(float(info.dof_model), 4.0)


def test_ridge_fits_equal_scikit_learn():
    X, y = _shifted("poisson")
    a = 0.02
    ridge, _ = glmx.fit(glmx.GLM(glmx.Poisson(), glmx.Ridge(a), fit_intercept=False), X, y, TIGHT)
    sk = PoissonRegressor(alpha=a, fit_intercept=False, tol=1e-12, max_iter=1000).fit(X, y)
    np.testing.assert_allclose(ridge.coef, sk.coef_, rtol=1e-6, atol=1e-8)

    Xg, yg = _shifted("gamma")
    gamma, _ = glmx.fit(glmx.GLM(glmx.Gamma(), glmx.Ridge(a), fit_intercept=False), Xg, yg, TIGHT)
    sk = GammaRegressor(alpha=a, fit_intercept=False, tol=1e-12, max_iter=1000).fit(Xg, yg)
    np.testing.assert_allclose(gamma.coef, sk.coef_, rtol=1e-6, atol=1e-8)

    Xb, yb = _shifted("bernoulli")
    logistic, _ = glmx.fit(
        glmx.GLM(glmx.Bernoulli(), glmx.Ridge(a), fit_intercept=False), Xb, yb, TIGHT
    )
    # scikit-learn: sum of losses + ||w||^2 / (2 C), so C = 1 / (n a).
    sk = LogisticRegression(C=1 / (len(yb) * a), fit_intercept=False, tol=1e-12, max_iter=1000)
    np.testing.assert_allclose(logistic.coef, sk.fit(Xb, yb).coef_[0], rtol=1e-6, atol=1e-8)


GLUM_FAMILIES = {"poisson": "poisson", "bernoulli": "binomial", "gamma": "gamma"}


# glum's line search reports failing when it is already at the optimum (its gradient is at
# rounding level); its coefficients are still compared.
@pytest.mark.filterwarnings("ignore:Line search failed")
@pytest.mark.parametrize("family", UNPENALISED)
def test_lasso_and_elastic_net_equal_glum(family):
    X, y = _shifted(family)
    a = 0.01
    for regularizer, l1_ratio in [(glmx.Lasso(a), 1.0), (glmx.ElasticNet(a, 0.5), 0.5)]:
        model = glmx.GLM(FAMILIES[family], regularizer, fit_intercept=False)
        fitted, result = glmx.fit(model, X, y, glmx.ProximalNewton(tol=1e-12))
        reference = GeneralizedLinearRegressor(
            family=GLUM_FAMILIES[family],
            link="log" if family != "bernoulli" else "logit",
            alpha=a,
            l1_ratio=l1_ratio,
            fit_intercept=False,
            solver="irls-cd",
            gradient_tol=1e-10,
            max_iter=1000,
        ).fit(X, y)
        assert bool(result.converged) and float(fitted.intercept) == 0.0
        np.testing.assert_allclose(fitted.coef, reference.coef_, rtol=1e-5, atol=1e-8)
        np.testing.assert_array_equal(np.asarray(fitted.coef) == 0, reference.coef_ == 0)


SOLVERS = {
    "lbfgs": glmx.LBFGS(tol=1e-10),
    "newton": glmx.Newton(tol=1e-10),
    "proximal-gradient": glmx.ProximalGradient(tol=1e-9, max_steps=20_000),
    "proximal-newton": glmx.ProximalNewton(tol=1e-10),
    "svrg": glmx.SVRG(tol=1e-8, max_steps=2_000),
}


@pytest.mark.parametrize("solver", SOLVERS)
def test_every_solver_holds_the_intercept_at_zero(solver):
    X, y = _shifted("poisson")
    model = glmx.GLM(glmx.Poisson(), glmx.Ridge(0.01), fit_intercept=False)
    fitted, result = glmx.fit(model, X, y, SOLVERS[solver])
    reference, _ = glmx.fit(model, X, y, TIGHT)
    assert float(fitted.intercept) == 0.0
    np.testing.assert_allclose(fitted.coef, reference.coef, rtol=1e-5, atol=1e-7)
    start = model.initialize_params(X, y)
    assert float(start.intercept) == 0.0


def test_a_given_intercept_is_not_fitted_and_the_fit_sets_it_to_zero():
    X, y = _shifted("poisson")
    model = glmx.GLM(glmx.Poisson(), fit_intercept=False, coef=np.ones(4) * 0.1, intercept=2.0)
    fitted, _ = glmx.fit(model, X, y, TIGHT)
    reference, _ = glmx.fit(glmx.GLM(glmx.Poisson(), fit_intercept=False), X, y, TIGHT)
    assert float(fitted.intercept) == 0.0
    np.testing.assert_allclose(fitted.coef, reference.coef, rtol=1e-10)


def test_population_equals_a_loop_and_step_wise_fitting_agrees():
    X, y = _shifted("poisson")
    Y = np.stack([y, y[::-1], np.roll(y, 7)], axis=1)
    mask = np.ones((4, 3))
    mask[1, 2] = 0.0
    pop = glmx.PopulationGLM(glmx.Poisson(), n_neurons=3, feature_mask=mask, fit_intercept=False)
    fitted, _ = glmx.fit(pop, X, Y, TIGHT)
    np.testing.assert_array_equal(fitted.intercept, np.zeros(3))
    assert fitted.fit_intercept is False
    for k in range(3):
        keep = mask[:, k] > 0
        single, _ = glmx.fit(glmx.GLM(glmx.Poisson(), fit_intercept=False), X[:, keep], Y[:, k])
        np.testing.assert_allclose(fitted.coef[k][keep], single.coef, rtol=1e-7, atol=1e-9)

    model = glmx.GLM(glmx.Poisson(), fit_intercept=False)
    state = glmx.init_state(model, X, y, glmx.Newton())
    for _ in range(8):
        stepped, state = glmx.update(model, state, X, y, glmx.Newton())
    np.testing.assert_allclose(stepped.coef, glmx.fit(model, X, y, TIGHT)[0].coef, rtol=1e-8)
    assert float(stepped.intercept) == 0.0


def test_implicit_gradient_through_a_fit_without_intercept_matches_finite_differences():
    X, y = _shifted("poisson")
    X_valid, y_valid, _, _ = simulate("poisson", seed=5)

    def loss(strength):
        model = glmx.GLM(glmx.Poisson(), glmx.Ridge(strength), fit_intercept=False)
        fitted, _ = glmx.fit(model, X, y, glmx.Newton(tol=1e-12))
        return -fitted.log_likelihood(X_valid + 0.3, y_valid)

    value_and_grad = jax.jit(jax.value_and_grad(loss))
    grad = value_and_grad(0.05)[1]
    h = 1e-5
    fd = (value_and_grad(0.05 + h)[0] - value_and_grad(0.05 - h)[0]) / (2 * h)
    np.testing.assert_allclose(grad, fd, rtol=1e-5)


def test_save_load_printing_and_inference_names(tmp_path):
    X, y = _shifted("poisson")
    fitted, _ = glmx.fit(glmx.GLM(glmx.Poisson(), fit_intercept=False), X, y)
    glmx.save_model(tmp_path / "m.npz", fitted)
    loaded = glmx.load_model(tmp_path / "m.npz")
    assert loaded.fit_intercept is False
    np.testing.assert_array_equal(loaded.coef, fitted.coef)
    assert "fit_intercept=False" in repr(fitted)
    info = glmx.inference(fitted, X, y)
    assert info.params.shape == (4,) and info.cov.shape == (4, 4)
    assert "intercept" not in info.summary()
    with pytest.raises(ValueError, match=r"'intercept' is not a parameter name"):
        info.wald_test(["intercept"])
    with pytest.raises(ValueError, match=r"the 4 coefficients; the model has no intercept"):
        info.wald_test(np.ones((1, 5)))


def test_fit_intercept_must_be_a_boolean():
    # The message (or, under the tests' runtime type checking, jaxtyping's) names the argument.
    with pytest.raises(TypeError, match=r"(?s)fit_intercept.*'no'"):
        glmx.GLM(glmx.Poisson(), fit_intercept="no")


def test_a_design_without_columns_fits_the_intercept_only_model():
    _, y, _, _ = simulate("poisson")
    X = np.zeros((len(y), 0))
    fitted, result = glmx.fit(glmx.GLM(glmx.Poisson()), X, y, TIGHT)
    assert fitted.coef.shape == (0,) and bool(result.converged)
    np.testing.assert_allclose(float(fitted.intercept), np.log(np.mean(y)), rtol=1e-10)
    reference = sm.GLM(y, np.ones((len(y), 1)), family=sm.families.Poisson()).fit()
    info = glmx.inference(fitted, X, y)
    np.testing.assert_allclose(info.std_errors, reference.bse, rtol=1e-8)


def test_the_estimators_fit_intercept_switch():
    from sklearn.base import clone

    from glmx.sklearn import GLM, PopulationGLM

    X, y = _shifted("poisson")
    estimator = GLM(regularizer="Ridge", regularizer_strength=0.02, fit_intercept=False)
    estimator.fit(X, y)
    reference = PoissonRegressor(alpha=0.02, fit_intercept=False, tol=1e-12, max_iter=1000)
    np.testing.assert_allclose(estimator.coef_, reference.fit(X, y).coef_, rtol=1e-5, atol=1e-7)
    assert float(estimator.intercept_) == 0.0
    assert clone(estimator).get_params()["fit_intercept"] is False
    population = PopulationGLM(fit_intercept=False).fit(X, np.stack([y, y], axis=1))
    np.testing.assert_array_equal(population.intercept_, [0.0, 0.0])
