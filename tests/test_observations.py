"""Observation models against scipy.stats closed forms and statsmodels' families."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats as st
import statsmodels.api as sm

import glmx
from conftest import FAMILIES, SM_FAMILIES, simulate

SCALE = 0.7


def _scipy_logpdf(name, y, mu, scale):
    if name == "poisson":
        return st.poisson.logpmf(y, mu)
    if name.startswith("gamma"):
        return st.gamma.logpdf(y, a=1 / scale, scale=mu * scale)
    if name == "bernoulli":
        return st.bernoulli.logpmf(y, mu)
    if name == "gaussian":
        return st.norm.logpdf(y, mu, np.sqrt(scale))
    if name == "negbin":
        r = 1 / 0.5
        return st.nbinom.logpmf(y, r, r / (r + mu))
    raise ValueError(name)


def _data(name):
    X, y, coef, intercept = simulate(name)
    obs = FAMILIES[name]
    eta = X @ coef + intercept
    mu = np.asarray(obs.link.inverse(jnp.asarray(eta)))
    return obs, y, eta, mu


@pytest.mark.parametrize("name", FAMILIES)
def test_log_likelihood_matches_scipy(name):
    obs, y, eta, mu = _data(name)
    scale = SCALE if obs.has_scale else 1.0
    expected = _scipy_logpdf(name, y, mu, scale)
    np.testing.assert_allclose(obs.log_likelihood(y, mu, scale), expected, rtol=1e-10)
    np.testing.assert_allclose(
        obs.predictor_log_likelihood(jnp.asarray(y), jnp.asarray(eta), scale),
        expected,
        rtol=1e-10,
    )


@pytest.mark.parametrize("name", FAMILIES)
def test_deviance_and_variance_match_statsmodels(name):
    obs, y, _, mu = _data(name)
    family = SM_FAMILIES[name]
    np.testing.assert_allclose(
        obs.deviance(y, mu), family.resid_dev(y, mu) ** 2, rtol=1e-9, atol=1e-12
    )
    np.testing.assert_allclose(obs.variance(jnp.asarray(mu)), family.variance(mu), rtol=1e-12)


@pytest.mark.parametrize("name", FAMILIES)
def test_sampling_has_the_right_mean_and_variance(name):
    obs = FAMILIES[name]
    mean = jnp.full(200_000, 0.3 if name == "bernoulli" else 2.0)
    scale = SCALE if obs.has_scale else 1.0
    draws = obs.sample(jax.random.key(1), mean, scale)
    assert draws.dtype == mean.dtype and draws.shape == mean.shape
    assert np.all(np.asarray(obs.in_support(draws)))
    np.testing.assert_allclose(draws.mean(), mean[0], rtol=0.02)
    np.testing.assert_allclose(draws.var(), scale * obs.variance(mean[:1])[0], rtol=0.04)


def test_sampling_in_float32():
    mean = jnp.ones(10, jnp.float32)
    for obs in FAMILIES.values():
        m = mean * 0.5 if isinstance(obs, glmx.Bernoulli) else mean
        assert obs.sample(jax.random.key(0), m, 1.0).dtype == jnp.float32


@pytest.mark.parametrize("name", ["poisson", "bernoulli", "gamma", "gaussian", "negbin"])
def test_pseudo_r2_matches_statsmodels(name):
    X, y, _, _ = simulate(name)
    family = SM_FAMILIES[name]
    res = sm.GLM(y, sm.add_constant(X), family=family).fit()
    obs = FAMILIES[name]
    mu, scale = jnp.asarray(res.mu), res.scale
    mcfadden = obs.pseudo_r2(jnp.asarray(y), mu, scale, kind="pseudo-r2-McFadden")
    cohen = obs.pseudo_r2(jnp.asarray(y), mu, scale, kind="pseudo-r2-Cohen")
    if name in ("gaussian",):
        # statsmodels' llf for the Gaussian profiles the scale out (scale = SSR / n).
        mle_scale = np.sum((y - res.mu) ** 2) / len(y)
        ll_model = np.sum(st.norm.logpdf(y, res.mu, np.sqrt(mle_scale)))
        ll_null = np.sum(st.norm.logpdf(y, y.mean(), np.sqrt(mle_scale)))
        expected = 1 - ll_model / ll_null
        mcfadden = obs.pseudo_r2(jnp.asarray(y), mu, mle_scale, kind="pseudo-r2-mcfadden")
    else:
        expected = 1 - res.llf / res.family.loglike(y, np.full_like(y, y.mean()), scale=scale)
    np.testing.assert_allclose(mcfadden, expected, rtol=1e-8)
    if name != "gaussian":
        np.testing.assert_allclose(mcfadden, res.pseudo_rsquared("mcf"), rtol=1e-8)
    np.testing.assert_allclose(cohen, 1 - res.deviance / res.null_deviance, rtol=1e-8)


def test_pseudo_r2_rejects_unknown_kind():
    with pytest.raises(ValueError, match="kind must be one of"):
        glmx.Poisson().pseudo_r2(jnp.ones(3), jnp.ones(3), kind="r2")


def test_scale_estimate_is_pearson_over_dof():
    y = jnp.array([1.0, 2.0, 4.0, 3.0])
    mu = jnp.array([1.5, 2.5, 3.0, 3.0])
    expected = np.sum((y - mu) ** 2 / mu**2) / 2.0
    np.testing.assert_allclose(glmx.Gamma().estimate_scale(y, mu, 2.0), expected)
    assert glmx.Poisson().estimate_scale(y, mu, 2.0) == 1.0
