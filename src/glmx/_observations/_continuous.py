"""Continuous families: Gamma, Gaussian and inverse Gaussian."""

from typing import ClassVar

import jax
import jax.numpy as jnp
from jax.scipy.special import gammaln

from .._links import AbstractLink, IdentityLink, InverseLink, InverseSquaredLink, LogLink
from ._base import AbstractObservation, float_like


class Gamma(AbstractObservation):
    """Gamma with shape ``1 / scale``: ``Var(y) = scale * mu^2`` (positive signals).

    **Arguments:** ``link``: `LogLink()` (default) or `InverseLink()` (canonical, needs
    ``eta > 0``).
    """

    link: AbstractLink = LogLink()
    support: ClassVar[str] = "positive values"
    has_scale: ClassVar[bool] = True
    mean_range: ClassVar[tuple[float | None, float | None]] = (0.0, None)
    links: ClassVar[tuple[type, ...]] = (LogLink, InverseLink)

    def value_checks(self):
        return []

    def log_likelihood(self, y, mean, scale=1.0):
        shape = 1.0 / float_like(scale, mean)
        ratio = y / mean
        return shape * jnp.log(shape * ratio) - shape * ratio - gammaln(shape) - jnp.log(y)

    def kernel_log_likelihood(self, y, eta, scale=1.0):
        ok = self.link.in_domain(eta)
        log_mean = self.link.log_inverse(jnp.where(ok, eta, 1.0))
        shape = 1.0 / float_like(scale, eta)
        return jnp.where(ok, -shape * (log_mean + y * jnp.exp(-log_mean)), -jnp.inf)

    def constant_log_likelihood(self, y, scale=1.0):
        shape = 1.0 / float_like(scale, y)
        return shape * jnp.log(shape) + (shape - 1.0) * jnp.log(y) - gammaln(shape)

    def deviance(self, y, mean):
        return 2.0 * ((y - mean) / mean - jnp.log(y / mean))

    def variance(self, mean):
        return mean**2

    def sample(self, key, mean, scale=1.0):
        shape = 1.0 / float_like(scale, mean)
        return jax.random.gamma(key, shape, jnp.shape(mean), jnp.result_type(mean)) * mean / shape

    def in_support(self, y):
        return y > 0


class Gaussian(AbstractObservation):
    """Normal with variance ``scale``: ``Var(y) = scale``.

    **Arguments:** ``link``: `IdentityLink()` (default, canonical).
    """

    link: AbstractLink = IdentityLink()
    support: ClassVar[str] = "real values"
    has_scale: ClassVar[bool] = True
    mean_range: ClassVar[tuple[float | None, float | None]] = (None, None)
    links: ClassVar[tuple[type, ...]] = (IdentityLink, LogLink)

    def value_checks(self):
        return []

    def log_likelihood(self, y, mean, scale=1.0):
        scale = float_like(scale, mean)
        return -0.5 * (y - mean) ** 2 / scale - 0.5 * jnp.log(2.0 * jnp.pi * scale)

    def kernel_log_likelihood(self, y, eta, scale=1.0):
        return -0.5 * (y - self.link.inverse(eta)) ** 2 / float_like(scale, eta)

    def constant_log_likelihood(self, y, scale=1.0):
        return jnp.broadcast_to(-0.5 * jnp.log(2.0 * jnp.pi * float_like(scale, y)), jnp.shape(y))

    def deviance(self, y, mean):
        return (y - mean) ** 2

    def variance(self, mean):
        return jnp.ones_like(mean)

    def sample(self, key, mean, scale=1.0):
        noise = jax.random.normal(key, jnp.shape(mean), jnp.result_type(mean))
        return mean + jnp.sqrt(float_like(scale, mean)) * noise

    def in_support(self, y):
        return jnp.isfinite(y)


class InverseGaussian(AbstractObservation):
    """Inverse Gaussian (Wald) with ``Var(y) = scale * mu^3``: positive, right-skewed signals
    such as first-passage times.

    Its density is ``exp(-(y - mu)^2 / (2 scale mu^2 y)) / sqrt(2 pi scale y^3)``; the
    dispersion ``scale`` (``1 / lambda`` in the usual ``IG(mu, lambda)``) is estimated by the fit.

    **Arguments:** ``link``: `LogLink()` (default, as for `Gamma` and in glum: any coefficients
    give a valid mean) or `InverseSquaredLink()` (canonical, ``eta = 1 / mu^2``, needs
    ``eta > 0``; statsmodels' default).
    """

    link: AbstractLink = LogLink()
    support: ClassVar[str] = "positive values"
    has_scale: ClassVar[bool] = True
    mean_range: ClassVar[tuple[float | None, float | None]] = (0.0, None)
    links: ClassVar[tuple[type, ...]] = (LogLink, InverseSquaredLink)

    def value_checks(self):
        return []

    def log_likelihood(self, y, mean, scale=1.0):
        scale = float_like(scale, mean)
        return -0.5 * jnp.log(2.0 * jnp.pi * scale * y**3) - (y - mean) ** 2 / (
            2.0 * scale * mean**2 * y
        )

    def kernel_log_likelihood(self, y, eta, scale=1.0):
        # -(y - mu)^2 / (2 scale mu^2 y) is this plus -1 / (2 scale y), a constant.
        ok = self.link.in_domain(eta)
        inverse_mean = jnp.exp(-self.link.log_inverse(jnp.where(ok, eta, 1.0)))
        kernel = (inverse_mean - 0.5 * y * inverse_mean**2) / float_like(scale, eta)
        return jnp.where(ok, kernel, -jnp.inf)

    def constant_log_likelihood(self, y, scale=1.0):
        scale = float_like(scale, y)
        return -0.5 * jnp.log(2.0 * jnp.pi * scale * y**3) - 0.5 / (scale * y)

    def deviance(self, y, mean):
        return (y - mean) ** 2 / (y * mean**2)

    def variance(self, mean):
        return mean**3

    def sample(self, key, mean, scale=1.0):
        # Michael, Schucany and Haas (1976): a root of the chi-squared(1) transform, chosen at
        # random between the two with the right probabilities.
        normal_key, uniform_key = jax.random.split(key)
        dtype = jnp.result_type(mean)
        chi2 = jax.random.normal(normal_key, jnp.shape(mean), dtype) ** 2
        ratio = 0.5 * mean * float_like(scale, mean) * chi2
        # The smaller root, mu (1 + r - sqrt(r (r + 2))), written without cancellation.
        small = mean / (1.0 + ratio + jnp.sqrt(ratio * (ratio + 2.0)))
        uniform = jax.random.uniform(uniform_key, jnp.shape(mean), dtype)
        return jnp.where(uniform * (mean + small) <= mean, small, mean**2 / small)

    def in_support(self, y):
        return y > 0
