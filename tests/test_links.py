import jax
import jax.numpy as jnp
import numpy as np
import pytest

import glmx

LINKS = {
    "log": (glmx.LogLink(), np.array([0.01, 0.5, 3.0, 40.0])),
    "softplus": (glmx.SoftplusLink(), np.array([0.01, 0.5, 3.0, 40.0])),
    "identity": (glmx.IdentityLink(), np.array([-2.0, 0.0, 1.5])),
    "logit": (glmx.LogitLink(), np.array([0.01, 0.3, 0.99])),
    "inverse": (glmx.InverseLink(), np.array([0.01, 0.5, 3.0])),
    "inverse-squared": (glmx.InverseSquaredLink(), np.array([0.01, 0.5, 3.0, 40.0])),
}


@pytest.mark.parametrize("name", LINKS)
def test_inverse_undoes_link(name):
    link, mean = LINKS[name]
    np.testing.assert_allclose(link.inverse(link.link(jnp.asarray(mean))), mean, rtol=1e-12)


@pytest.mark.parametrize("name", LINKS)
def test_inverse_derivative_matches_autodiff(name):
    link, mean = LINKS[name]
    eta = link.link(jnp.asarray(mean))
    expected = jax.vmap(jax.grad(link.inverse))(eta)
    np.testing.assert_allclose(link.inverse_derivative(eta), expected, rtol=1e-12)


@pytest.mark.parametrize("name", [n for n in LINKS if n != "identity"])
def test_log_inverse_matches_log_of_inverse(name):
    link, mean = LINKS[name]
    eta = link.link(jnp.asarray(mean))
    np.testing.assert_allclose(link.log_inverse(eta), np.log(mean), rtol=1e-10)


def test_log_inverse_stays_finite_where_the_mean_underflows():
    eta = jnp.array([-800.0, -50.0, 800.0])
    for link in (glmx.LogLink(), glmx.SoftplusLink(), glmx.LogitLink()):
        values = link.log_inverse(eta)
        grads = jax.vmap(jax.grad(link.log_inverse))(eta)
        assert np.all(np.isfinite(values)), link
        assert np.all(np.isfinite(grads)), link
    np.testing.assert_allclose(glmx.SoftplusLink().log_inverse(eta)[:2], [-800.0, -50.0])


def test_inverse_link_domain():
    assert np.array_equal(
        glmx.InverseLink().in_domain(jnp.array([-1.0, 0.0, 2.0])), [False, False, True]
    )
    assert glmx.LogLink().in_domain(jnp.array([-1.0, 5.0])).all()
    assert np.array_equal(
        glmx.InverseSquaredLink().in_domain(jnp.array([-1.0, 0.0, 2.0])), [False, False, True]
    )
