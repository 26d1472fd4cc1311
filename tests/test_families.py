"""Tweedie (compound Poisson-Gamma) and inverse Gaussian against independent oracles: direct
sums of the series density and scipy's Wright function, scipy.stats, scikit-learn, glum and
statsmodels fits, finite differences, and a population against a loop of single fits."""

import functools
import warnings

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.special as sp
import scipy.stats as st
import statsmodels.api as sm

import glmx
from test_inference import _compare, _statsmodels
from test_jit import count_traces

COEF = np.array([0.4, -0.3, 0.2, 0.1])
TIGHT = glmx.LBFGS(tol=1e-11)
NEWTON = glmx.Newton(tol=1e-11)


def _params(model):
    return np.append(np.asarray(model.coef), np.asarray(model.intercept))


@functools.cache
def tweedie_data(power=1.5, scale=0.8, n=400, seed=0):
    """``(X, y)`` with ``y`` compound Poisson-Gamma around ``exp(X @ COEF + 0.3)``, drawn with
    NumPy (not glmx), exact zeros included."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4)) * 0.5
    mu = np.exp(X @ COEF + 0.3)
    count = rng.poisson(mu ** (2 - power) / (scale * (2 - power)))
    shape = (2 - power) / (power - 1)
    size = scale * (power - 1) * mu ** (power - 1)
    y = np.where(count > 0, rng.gamma(np.maximum(count, 1) * shape, size), 0.0)
    return X, y


@functools.cache
def inverse_gaussian_data(canonical=False, scale=0.5, n=400, seed=0):
    """``(X, y)`` with ``y`` inverse Gaussian with dispersion ``scale`` (NumPy's Wald)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4)) * 0.5
    if canonical:
        X = np.abs(X)
        mu = 1.0 / np.sqrt(0.5 + X @ np.abs(COEF))
    else:
        mu = np.exp(X @ COEF + 0.3)
    return X, rng.wald(mu, 1.0 / scale)


def series_log_likelihood(y, mu, scale, power, terms=20_000):
    """The compound Poisson-Gamma log-density, summed term by term over the Poisson count
    with scipy's Gamma density (``-lambda`` at ``y = 0``)."""
    rate = mu ** (2 - power) / (scale * (2 - power))
    if y == 0:
        return -rate
    j = np.arange(1, terms + 1)
    shape = (2 - power) / (power - 1)
    size = scale * (power - 1) * mu ** (power - 1)
    log_terms = st.poisson.logpmf(j, rate) + st.gamma.logpdf(y, a=j * shape, scale=size)
    return sp.logsumexp(log_terms)


def wright_log_likelihood(y, mu, scale, power):
    """The same density through scipy's Wright generalised Bessel function (Dunn and Smyth's
    series is a special case of it): an oracle independent of any summation window."""
    theta, kappa = mu ** (1 - power) / (1 - power), mu ** (2 - power) / (2 - power)
    out = (y * theta - kappa) / scale
    if y > 0:
        alpha = (2 - power) / (1 - power)
        x = ((power - 1) * scale / y) ** alpha / ((2 - power) * scale)
        out += -np.log(y) + sp.log_wright_bessel(-alpha, 0, x)
    return out


# --- the distributions -----------------------------------------------------------------------

Y_GRID = np.array([0.0, 1e-6, 0.01, 0.5, 1.0, 3.0, 20.0, 200.0])
MU_GRID = np.array([1.0, 0.3, 0.1, 2.0, 1.0, 2.0, 15.0, 150.0])


@pytest.mark.parametrize("power", [1.01, 1.2, 1.5, 1.9, 1.99])
@pytest.mark.parametrize("scale", [0.01, 1.0, 5.0])
def test_tweedie_log_likelihood_is_the_series_density(power, scale):
    obs = glmx.Tweedie(power)
    ours = np.asarray(obs.log_likelihood(jnp.asarray(Y_GRID), jnp.asarray(MU_GRID), scale))
    terms = 20_000 if scale >= 1.0 else 200_000  # the peak is near y^(2-p) / (scale (2-p))
    series = [series_log_likelihood(y, m, scale, power, terms) for y, m in zip(Y_GRID, MU_GRID)]
    np.testing.assert_allclose(ours, series, rtol=1e-10, atol=1e-10)
    if power >= 1.1:  # nearer 1, the Wright function's argument overflows
        wright = [wright_log_likelihood(y, m, scale, power) for y, m in zip(Y_GRID, MU_GRID)]
        np.testing.assert_allclose(ours, wright, rtol=1e-9, atol=1e-9)
    # P(y = 0) = exp(-lambda).
    assert ours[0] == pytest.approx(-(MU_GRID[0] ** (2 - power)) / (scale * (2 - power)), rel=1e-14)
    # The same through the linear predictor, as fits evaluate it.
    by_eta = obs.predictor_log_likelihood(jnp.asarray(Y_GRID), jnp.log(MU_GRID), scale)
    np.testing.assert_allclose(by_eta, ours, rtol=1e-12, atol=1e-12)


def test_tweedie_series_window_over_a_grid_of_peaks():
    """The summation window against every term, where the window's regimes meet: all terms
    from j = 1, spaced terms from j = 1, and spaced terms around a far peak."""
    from glmx._observations._tweedie import log_series

    for power in (1.05, 1.3, 1.5, 1.7, 1.9, 1.99, 1.999):
        peaks = np.geomspace(0.05, 3e4, 60)
        for y in (0.01, 1.0, 100.0):
            scale = y ** (2 - power) / (peaks * (2 - power))  # the terms peak at j = peaks
            ours = np.asarray(log_series(jnp.full(60, y), jnp.asarray(scale), power))
            shape = (2 - power) / (power - 1)
            for peak, phi, value in zip(peaks, scale, ours):
                j = np.arange(1.0, peak + 40 * np.sqrt(peak) + 400)
                per_term = shape * np.log(y) - np.log(phi * (2 - power))
                per_term -= shape * np.log(phi * (power - 1))
                log_terms = j * per_term - sp.gammaln(j + 1) - sp.gammaln(j * shape)
                expected = sp.logsumexp(log_terms) - np.log(y)
                assert abs(value - expected) <= 1e-13 * max(1.0, abs(expected)), (power, peak, y)


def test_tweedie_series_with_a_wide_peak_and_in_float32():
    # Tens of thousands of terms matter here: the window spaces its terms out.
    for y, scale, power in [(1000.0, 1e-3, 1.5), (30.0, 1e-3, 1.2), (5.0, 1e-3, 1.9)]:
        ours = float(glmx.Tweedie(power).log_likelihood(jnp.array([y]), jnp.array([y]), scale)[0])
        np.testing.assert_allclose(ours, wright_log_likelihood(y, y, scale, power), rtol=1e-9)
    y32, mu32 = jnp.asarray(Y_GRID[:6], jnp.float32), jnp.asarray(MU_GRID[:6], jnp.float32)
    ours32 = glmx.Tweedie(1.5).log_likelihood(y32, mu32, 1.0)
    assert ours32.dtype == jnp.float32
    expected = [wright_log_likelihood(y, m, 1.0, 1.5) for y, m in zip(Y_GRID[:6], MU_GRID[:6])]
    np.testing.assert_allclose(ours32, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("power", [1.1, 1.5, 1.8])
def test_tweedie_deviance_and_variance(power):
    from sklearn.metrics import mean_tweedie_deviance

    obs = glmx.Tweedie(power)
    deviance = np.asarray(obs.deviance(jnp.asarray(Y_GRID), jnp.asarray(MU_GRID)))
    for y, mu, ours in zip(Y_GRID, MU_GRID, deviance):
        assert ours == pytest.approx(mean_tweedie_deviance([y], [mu], power=power), rel=1e-10)
    np.testing.assert_allclose(obs.variance(jnp.asarray(MU_GRID)), MU_GRID**power, rtol=1e-14)
    # The unit deviance is twice the drop in log-likelihood from the saturated model.
    drop = obs.log_likelihood(Y_GRID[1:], Y_GRID[1:]) - obs.log_likelihood(Y_GRID[1:], MU_GRID[1:])
    np.testing.assert_allclose(deviance[1:], 2 * drop, rtol=1e-8, atol=1e-10)


def test_inverse_gaussian_log_likelihood_deviance_and_variance():
    obs, family = glmx.InverseGaussian(), sm.families.InverseGaussian()
    y, mu = Y_GRID[1:], MU_GRID[1:]
    for scale in (0.3, 1.0, 4.0):
        # scipy's invgauss(m, scale=s) has mean m s and shape s: here s = 1 / scale.
        expected = st.invgauss.logpdf(y, mu * scale, scale=1.0 / scale)
        np.testing.assert_allclose(obs.log_likelihood(y, mu, scale), expected, rtol=1e-10)
        for link in (glmx.LogLink(), glmx.InverseSquaredLink()):
            eta = link.link(jnp.asarray(mu))
            by_eta = glmx.InverseGaussian(link).predictor_log_likelihood(jnp.asarray(y), eta, scale)
            np.testing.assert_allclose(by_eta, expected, rtol=1e-10)
    np.testing.assert_allclose(obs.deviance(y, mu), family.resid_dev(y, mu) ** 2, rtol=1e-10)
    np.testing.assert_allclose(obs.variance(jnp.asarray(mu)), family.variance(mu), rtol=1e-14)
    outside = glmx.InverseGaussian(glmx.InverseSquaredLink()).kernel_log_likelihood(
        jnp.ones(2), jnp.array([-1.0, 0.0])
    )
    assert np.all(np.asarray(outside) == -np.inf)


@pytest.mark.parametrize(
    "obs, mean, scale",
    [
        (glmx.Tweedie(1.5), 2.0, 0.7),
        (glmx.Tweedie(1.2), 0.4, 1.3),
        (glmx.Tweedie(1.8), 5.0, 0.3),
        (glmx.InverseGaussian(), 2.0, 0.7),
        (glmx.InverseGaussian(), 0.5, 3.0),
    ],
)
def test_sampling_has_the_right_moments(obs, mean, scale):
    means = jnp.full(400_000, mean)
    draws = obs.sample(jax.random.key(3), means, scale)
    assert draws.dtype == means.dtype and draws.shape == means.shape
    assert bool(jnp.all(obs.in_support(draws)))
    np.testing.assert_allclose(draws.mean(), mean, rtol=0.01)
    np.testing.assert_allclose(draws.var(), scale * obs.variance(means[:1])[0], rtol=0.04)
    if isinstance(obs, glmx.Tweedie):
        power = float(obs.power)
        zeros = np.exp(-(mean ** (2 - power)) / (scale * (2 - power)))
        np.testing.assert_allclose(jnp.mean(draws == 0), zeros, atol=0.004)
    else:  # the whole distribution, not only two moments
        sample = np.asarray(draws[:20_000])
        law = st.invgauss(mean * scale, scale=1.0 / scale)
        assert st.kstest(sample, law.cdf).pvalue > 1e-3


def test_sampling_in_float32():
    mean = jnp.ones(10, jnp.float32)
    for obs in (glmx.Tweedie(1.3), glmx.InverseGaussian()):
        assert obs.sample(jax.random.key(0), mean, 1.0).dtype == jnp.float32


def test_scale_estimate_is_pearson_over_dof():
    y = jnp.array([0.0, 2.0, 4.0, 3.0])
    mu = jnp.array([1.5, 2.5, 3.0, 3.0])
    expected = np.sum((y - mu) ** 2 / mu**1.4) / 2.0
    np.testing.assert_allclose(glmx.Tweedie(1.4).estimate_scale(y, mu, 2.0), expected)
    y = y + 1.0
    expected = np.sum((y - mu) ** 2 / mu**3) / 2.0
    np.testing.assert_allclose(glmx.InverseGaussian().estimate_scale(y, mu, 2.0), expected)


# --- fits against scikit-learn, glum and statsmodels --------------------------------------------


@pytest.mark.parametrize("strength", [0.0, 0.05], ids=["unpenalised", "ridge"])
@pytest.mark.parametrize("solver", [TIGHT, NEWTON], ids=["lbfgs", "newton"])
def test_tweedie_fit_matches_scikit_learn_and_glum(strength, solver):
    from glum import GeneralizedLinearRegressor, TweedieDistribution
    from sklearn.linear_model import TweedieRegressor

    X, y = tweedie_data(1.4)
    # Both peers minimise mean(deviance) / 2 + strength / 2 ||w||^2, and -loglik at unit scale
    # is deviance / 2 plus a constant: Ridge(strength) is their alpha = strength.
    regularizer = glmx.Ridge(strength) if strength else glmx.UnRegularized()
    model, result = glmx.fit(glmx.GLM(glmx.Tweedie(1.4), regularizer), X, y, solver)
    assert bool(result.converged)
    sk = TweedieRegressor(power=1.4, link="log", alpha=strength, solver="newton-cholesky")
    sk = sk.set_params(tol=1e-12, max_iter=1000).fit(X, y)
    glum = GeneralizedLinearRegressor(
        family=TweedieDistribution(1.4), alpha=strength, l1_ratio=0.0, gradient_tol=1e-12
    ).fit(X, y)
    np.testing.assert_allclose(_params(model), np.append(sk.coef_, sk.intercept_), rtol=1e-7)
    np.testing.assert_allclose(_params(model), np.append(glum.coef_, glum.intercept_), rtol=1e-7)
    mu = np.asarray(model.predict(X))
    pearson = np.sum((y - mu) ** 2 / mu**1.4) / (len(y) - 5)
    np.testing.assert_allclose(model.scale, pearson, rtol=1e-10)


def test_tweedie_inference_matches_statsmodels():
    X, y = tweedie_data(1.6)
    model, _ = glmx.fit(glmx.GLM(glmx.Tweedie(1.6)), X, y, NEWTON)
    family = sm.families.Tweedie(var_power=1.6, link=sm.families.links.Log())
    info = glmx.inference(model, X, y)
    # statsmodels' Tweedie llf is the series density (through scipy's Wright function).
    res = _statsmodels(family, X, y)
    _compare(info, res, X.shape[1])
    _compare_pseudo_r2(model, X, y, res)


def _compare_pseudo_r2(model, X, y, res):
    mcfadden = model.score(X, y, "pseudo-r2-mcfadden")
    np.testing.assert_allclose(mcfadden, res.pseudo_rsquared("mcf"), rtol=1e-7)
    cohen = model.score(X, y, "pseudo-r2-cohen")
    np.testing.assert_allclose(cohen, 1 - res.deviance / res.null_deviance, rtol=1e-7)


@pytest.mark.parametrize("canonical", [False, True], ids=["log", "inverse-squared"])
def test_inverse_gaussian_fit_and_inference_match_statsmodels(canonical):
    X, y = inverse_gaussian_data(canonical)
    link = glmx.InverseSquaredLink() if canonical else glmx.LogLink()
    sm_link = sm.families.links.InverseSquared() if canonical else sm.families.links.Log()
    model, result = glmx.fit(glmx.GLM(glmx.InverseGaussian(link)), X, y, NEWTON)
    assert bool(result.converged)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # statsmodels: the canonical link may leave the domain
        res = _statsmodels(sm.families.InverseGaussian(sm_link), X, y)
    np.testing.assert_allclose(_params(model), np.append(res.params[1:], res.params[0]), rtol=1e-7)
    np.testing.assert_allclose(model.scale, res.scale, rtol=1e-7)
    _compare(glmx.inference(model, X, y), res, X.shape[1])
    _compare_pseudo_r2(model, X, y, res)


# --- differentiation, populations, compilation, files ----------------------------------------


def test_tweedie_implicit_gradients_match_finite_differences():
    X, y = tweedie_data(1.5, n=200)
    X_valid, y_valid = tweedie_data(1.5, n=200, seed=5)
    weights = jnp.array([0.3, -0.2, 0.5, 0.1, 0.7])

    def loss(strength, power, y, X):
        model, result = glmx.fit(
            glmx.GLM(glmx.Tweedie(power), glmx.Ridge(strength)), X, y, glmx.Newton(tol=1e-12)
        )
        params = jnp.concatenate([model.coef, model.intercept[None]])
        return -model.log_likelihood(X_valid, y_valid) + params @ weights + model.scale

    args = (np.float64(0.01), np.float64(1.5), y, X)
    value_and_grad = jax.jit(jax.value_and_grad(loss, argnums=(0, 1, 2, 3)))
    grads = value_and_grad(*args)[1]
    positive = int(np.flatnonzero(y > 0.5)[0])
    for which, index in [(0, ()), (1, ()), (2, (positive,)), (3, (5, 1)), (3, (9, 3))]:
        plus = [np.array(a, copy=True) for a in args]
        minus = [np.array(a, copy=True) for a in args]
        plus[which][index] += 1e-5
        minus[which][index] -= 1e-5
        fd = (value_and_grad(*plus)[0] - value_and_grad(*minus)[0]) / 2e-5
        np.testing.assert_allclose(grads[which][index], fd, rtol=1e-5, err_msg=f"{which}")


def test_tweedie_population_equals_a_loop_of_single_fits():
    X, _ = tweedie_data()
    powers = np.array([1.2, 1.5, 1.8])
    Y = np.column_stack([tweedie_data(p, seed=k)[1] for k, p in enumerate(powers)])
    pop = glmx.PopulationGLM(glmx.Tweedie(powers), glmx.Ridge(0.01), n_neurons=3)
    pop, result = glmx.fit(pop, X, Y, NEWTON)
    assert bool(np.all(result.converged))
    for k, power in enumerate(powers):
        single, _ = glmx.fit(glmx.GLM(glmx.Tweedie(power), glmx.Ridge(0.01)), X, Y[:, k], NEWTON)
        np.testing.assert_allclose(pop.coef[k], single.coef, rtol=1e-8, atol=1e-10)
        np.testing.assert_allclose(pop.intercept[k], single.intercept, rtol=1e-8)
        np.testing.assert_allclose(pop.scale[k], single.scale, rtol=1e-8)


def test_a_new_power_does_not_recompile():
    X, y = tweedie_data()
    glmx.fit(glmx.GLM(glmx.Tweedie(1.5)), X, y)
    with count_traces() as counter:
        glmx.fit(glmx.GLM(glmx.Tweedie(1.3)), X, y)
    assert counter["traces"] == 0


def test_save_and_load_round_trip(tmp_path):
    X, y = tweedie_data()
    for observation, data in [
        (glmx.Tweedie(1.3), (X, y)),
        (glmx.InverseGaussian(glmx.InverseSquaredLink()), inverse_gaussian_data(True)),
    ]:
        model, _ = glmx.fit(glmx.GLM(observation, glmx.Ridge(0.01)), *data)
        glmx.save_model(tmp_path / "model.npz", model)
        loaded = glmx.load_model(tmp_path / "model.npz")
        assert repr(loaded) == repr(model)
        np.testing.assert_allclose(loaded.predict(data[0]), model.predict(data[0]), rtol=0)
        np.testing.assert_allclose(loaded.scale, model.scale, rtol=0)


def test_printing():
    assert repr(glmx.Tweedie(1.3)) == "Tweedie(power=1.3, link=LogLink())"
    assert repr(glmx.InverseGaussian()) == "InverseGaussian(link=LogLink())"


def test_float32_fit_agrees_with_float64():
    X, y = tweedie_data()
    model64, _ = glmx.fit(glmx.GLM(glmx.Tweedie(1.5)), X, y)
    model32, result = glmx.fit(
        glmx.GLM(glmx.Tweedie(1.5)), X.astype(np.float32), y.astype(np.float32)
    )
    assert model32.coef.dtype == jnp.float32 and bool(result.converged)
    np.testing.assert_allclose(model32.coef, model64.coef, atol=1e-4)


# --- the scikit-learn estimators -------------------------------------------------------------


def test_estimators_accept_the_new_families_by_name_and_instance():
    from glmx.sklearn import GLM

    X, y = tweedie_data()
    core, _ = glmx.fit(glmx.GLM(glmx.Tweedie(1.5), glmx.Ridge(0.01)), X, y)
    by_name = GLM("tweedie", "Ridge", 0.01).fit(X, y)  # the string means power 1.5
    np.testing.assert_allclose(by_name.coef_, core.coef, rtol=1e-6)
    by_instance = GLM(glmx.Tweedie(1.3), "Ridge", 0.01).fit(X, y)
    assert float(by_instance.model_.observation.power) == pytest.approx(1.3)
    assert by_name.__sklearn_tags__().target_tags.positive_only

    X, y = inverse_gaussian_data(True)
    est = GLM("InverseGaussian", link="inverse_squared").fit(X, y)
    assert isinstance(est.model_.observation.link, glmx.InverseSquaredLink)
    core, _ = glmx.fit(glmx.GLM(glmx.InverseGaussian(glmx.InverseSquaredLink())), X, y)
    np.testing.assert_allclose(est.coef_, core.coef, rtol=1e-6)


# --- bad inputs --------------------------------------------------------------------------------


@pytest.mark.parametrize("power", [1.0, 2.0, 2.5, 0.5, np.nan])
def test_power_outside_one_to_two_is_refused(power):
    with pytest.raises(ValueError, match=r"Tweedie power must be between 1 and 2 \(exclusive\), "):
        glmx.Tweedie(power)
    with pytest.raises(ValueError, match=r"Tweedie power must be between 1 and 2.*got \[1.5, "):
        glmx.Tweedie(np.array([1.5, power]))


def test_traced_power_is_checked_by_the_fit():
    X, y = tweedie_data(n=50)

    def coef(power):
        return glmx.fit(glmx.GLM(glmx.Tweedie(power)), X, y)[0].coef

    with pytest.raises(Exception, match=r"Tweedie power must be between 1 and 2 \(exclusive\)"):
        jax.block_until_ready(jax.vmap(coef)(jnp.array([1.5, 2.5])))
    # A value set without the constructor is caught by the fit's value checks.
    bad = eqx.tree_at(lambda o: o.power, glmx.Tweedie(1.5), jnp.asarray(2.5))
    with pytest.raises(ValueError, match=r"^Tweedie power must be .*\(exclusive\); got 2.5\.$"):
        glmx.fit(glmx.GLM(bad), X, y)


def test_values_outside_the_support_are_refused():
    X, y = tweedie_data(n=50)
    bad = y.copy()
    bad[3] = -1.0
    message = r"^y must hold non-negative values for Tweedie, but y\[3\] is -1.0\.$"
    with pytest.raises(ValueError, match=message):
        glmx.fit(glmx.GLM(glmx.Tweedie(1.5)), X, bad)
    X, y = inverse_gaussian_data(n=50)
    bad = y.copy()
    bad[4] = 0.0
    message = r"^y must hold positive values for InverseGaussian, but y\[4\] is 0.0\.$"
    with pytest.raises(ValueError, match=message):
        glmx.fit(glmx.GLM(glmx.InverseGaussian()), X, bad)


def test_families_refuse_links_that_leave_their_range():
    with pytest.raises(TypeError, match=r"Tweedie cannot use IdentityLink\(\)"):
        glmx.Tweedie(1.5, glmx.IdentityLink())
    with pytest.raises(TypeError, match=r"InverseGaussian cannot use InverseLink\(\).*Inverse"):
        glmx.InverseGaussian(glmx.InverseLink())
