"""The negative binomial's dispersion estimated with the coefficients (`fit_negative_binomial`)
against statsmodels' discrete ``NegativeBinomial`` (NB2, joint maximum likelihood)."""

import jax
import numpy as np
import pytest
import statsmodels.api as sm

import glmx

TIGHT = glmx.Newton(tol=1e-11)


def _counts(alpha=0.7, n=1500, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3)) * 0.5
    mu = np.exp(0.5 + X @ np.array([0.4, -0.3, 0.2]))
    if alpha == 0:
        return X, rng.poisson(mu).astype(float)
    return X, rng.poisson(rng.gamma(1 / alpha, mu * alpha)).astype(float)


def test_alpha_and_coefficients_equal_statsmodels_joint_maximum_likelihood():
    X, y = _counts()
    offset = 0.1 * np.sin(np.arange(len(y)))
    model = glmx.GLM(glmx.NegativeBinomial())
    fitted, dispersion = glmx.fit_negative_binomial(model, X, y, TIGHT, offset=offset, tol=1e-10)
    reference = sm.NegativeBinomial(y, sm.add_constant(X), loglike_method="nb2", offset=offset).fit(
        disp=0, method="newton", maxiter=200, tol=1e-12
    )
    assert bool(dispersion.converged) and not bool(dispersion.at_bound)
    np.testing.assert_allclose(float(dispersion.alpha), reference.params[-1], rtol=1e-7)
    np.testing.assert_allclose(float(fitted.observation.alpha), reference.params[-1], rtol=1e-7)
    np.testing.assert_allclose(fitted.intercept, reference.params[0], rtol=1e-7)
    np.testing.assert_allclose(fitted.coef, reference.params[1:-1], rtol=1e-6)
    llf = float(fitted.log_likelihood(X, y, offset=offset, aggregate="sum"))
    np.testing.assert_allclose(llf, reference.llf, rtol=1e-10)
    assert 2 <= int(dispersion.rounds) < 50


def test_a_population_estimates_one_alpha_per_neuron_equal_to_a_loop():
    X, y0 = _counts(0.7)
    _, y1 = _counts(0.2, seed=1)
    Y = np.stack([y0, y1], axis=1)
    Y[[3, 8], 1] = np.nan  # rows missing for neuron 1 only
    pop = glmx.PopulationGLM(glmx.NegativeBinomial(), n_neurons=2)
    fitted, dispersion = glmx.fit_negative_binomial(pop, X, Y, TIGHT, tol=1e-10)
    assert dispersion.alpha.shape == (2,) and fitted.observation.alpha.shape == (2,)
    assert bool(np.all(dispersion.converged))
    for k in range(2):
        single, alone = glmx.fit_negative_binomial(
            glmx.GLM(glmx.NegativeBinomial()), X, Y[:, k], TIGHT, tol=1e-10
        )
        np.testing.assert_allclose(dispersion.alpha[k], alone.alpha, rtol=1e-7)
        np.testing.assert_allclose(fitted.coef[k], single.coef, rtol=1e-6, atol=1e-9)


def test_counts_without_overdispersion_are_reported_at_the_bound():
    X, y = _counts(alpha=0)
    rng = np.random.default_rng(4)
    y = np.minimum(y, rng.poisson(1.0, size=len(y)) + y.mean() // 1)  # underdispersed counts
    fitted, dispersion = glmx.fit_negative_binomial(glmx.GLM(glmx.NegativeBinomial()), X, y)
    assert bool(dispersion.at_bound) and float(dispersion.alpha) < 1e-6
    poisson, _ = glmx.fit(glmx.GLM(glmx.Poisson()), X, y, TIGHT)
    np.testing.assert_allclose(fitted.coef, poisson.coef, atol=1e-4)


def test_bad_inputs_are_refused_with_one_sentence():
    X, y = _counts()
    with pytest.raises(TypeError, match=r"needs a NegativeBinomial observation model, got Poisson"):
        glmx.fit_negative_binomial(glmx.GLM(glmx.Poisson()), X, y)
    model = glmx.GLM(glmx.NegativeBinomial())
    with pytest.raises(ValueError, match=r"max_rounds must be a positive integer, got 0"):
        glmx.fit_negative_binomial(model, X, y, max_rounds=0)
    with pytest.raises(ValueError, match=r"tol must be positive, got 0.0"):
        glmx.fit_negative_binomial(model, X, y, tol=0.0)
    with pytest.raises(TypeError, match=r"needs concrete inputs"):
        jax.jit(lambda y: glmx.fit_negative_binomial(model, X, y)[1].alpha)(y)
    with pytest.raises(ValueError, match=r"y must hold non-negative counts"):
        glmx.fit_negative_binomial(model, X, -y)
