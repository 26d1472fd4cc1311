"""Count and binary families: Poisson, Bernoulli, negative binomial."""

from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
from jax.scipy.special import gammaln, xlog1py, xlogy
from jaxtyping import Array, Float

from .._arrays import as_float_leaf
from .._links import AbstractLink, LogitLink, LogLink, SoftplusLink
from ._base import AbstractObservation, float_like


class Poisson(AbstractObservation):
    """Poisson counts: ``P(y) = mu^y exp(-mu) / y!``, ``Var(y) = mu``.

    **Arguments:** ``link``: `LogLink()` (default, canonical) or `SoftplusLink()`.
    """

    link: AbstractLink = LogLink()
    support: ClassVar[str] = "non-negative counts"
    has_scale: ClassVar[bool] = False
    mean_range: ClassVar[tuple[float | None, float | None]] = (0.0, None)
    links: ClassVar[tuple[type, ...]] = (LogLink, SoftplusLink)

    def value_checks(self):
        return []

    def log_likelihood(self, y, mean, scale=1.0):
        return xlogy(y, mean) - mean - gammaln(y + 1.0)

    def kernel_log_likelihood(self, y, eta, scale=1.0):
        return y * self.link.log_inverse(eta) - self.link.inverse(eta)

    def constant_log_likelihood(self, y, scale=1.0):
        return -gammaln(y + 1.0)

    def deviance(self, y, mean):
        return 2.0 * (xlogy(y, y) - xlogy(y, mean) - y + mean)

    def variance(self, mean):
        return mean

    def sample(self, key, mean, scale=1.0):
        return jax.random.poisson(key, mean).astype(jnp.result_type(mean))

    def in_support(self, y):
        return y >= 0


class Bernoulli(AbstractObservation):
    """Binary events: ``P(y = 1) = mu``, ``Var(y) = mu (1 - mu)``.

    **Arguments:** ``link``: `LogitLink()` (default, canonical).
    """

    link: AbstractLink = LogitLink()
    support: ClassVar[str] = "values in {0, 1}"
    has_scale: ClassVar[bool] = False
    mean_range: ClassVar[tuple[float | None, float | None]] = (0.0, 1.0)
    links: ClassVar[tuple[type, ...]] = (LogitLink,)

    def value_checks(self):
        return []

    def log_likelihood(self, y, mean, scale=1.0):
        return xlogy(y, mean) + xlog1py(1.0 - y, -mean)

    def constant_log_likelihood(self, y, scale=1.0):
        return jnp.zeros_like(y)

    def kernel_log_likelihood(self, y, eta, scale=1.0):
        if isinstance(self.link, LogitLink):
            log_not = jax.nn.log_sigmoid(-eta)
        else:
            log_not = jnp.log1p(-self.link.inverse(eta))
        return y * self.link.log_inverse(eta) + (1.0 - y) * log_not

    def deviance(self, y, mean):
        return -2.0 * self.log_likelihood(y, mean)

    def variance(self, mean):
        return mean * (1.0 - mean)

    def sample(self, key, mean, scale=1.0):
        return jax.random.bernoulli(key, mean).astype(jnp.result_type(mean))

    def in_support(self, y):
        return (y == 0) | (y == 1)


class NegativeBinomial(AbstractObservation):
    """Overdispersed counts (NB2): ``Var(y) = mu + alpha mu^2``.

    **Arguments:**

    - ``alpha``: the dispersion, an array leaf (``> 0``); it is a hyperparameter of the
      fit, not estimated by it, exactly like statsmodels' ``NegativeBinomial(alpha=...)``.
    - ``link``: `LogLink()` (default).
    """

    alpha: Float[Array, ""] = eqx.field(default=1.0, converter=as_float_leaf)
    link: AbstractLink = LogLink()
    support: ClassVar[str] = "non-negative counts"
    has_scale: ClassVar[bool] = False
    mean_range: ClassVar[tuple[float | None, float | None]] = (0.0, None)
    links: ClassVar[tuple[type, ...]] = (LogLink, SoftplusLink)

    def value_checks(self):
        return [
            (
                ~jnp.isfinite(self.alpha) | (self.alpha <= 0),
                "NegativeBinomial alpha must be positive and finite",
                self.alpha,
            ),
        ]

    def _size(self, like):
        return 1.0 / float_like(self.alpha, like)

    def log_likelihood(self, y, mean, scale=1.0):
        r = self._size(mean)
        return (
            gammaln(y + r)
            - gammaln(r)
            - gammaln(y + 1.0)
            + r * (jnp.log(r) - jnp.log(r + mean))
            + xlogy(y, mean)
            - xlogy(y, r + mean)
        )

    def kernel_log_likelihood(self, y, eta, scale=1.0):
        # With z = log(mu / r): r log(r / (r + mu)) + y log(mu / (r + mu)) written with
        # softplus, which stays accurate when alpha = 1 / r is small (no cancellation of
        # r log r against r log(r + mu)).
        r = self._size(eta)
        z = self.link.log_inverse(eta) - jnp.log(r)
        return -r * jax.nn.softplus(z) - y * jax.nn.softplus(-z)

    def constant_log_likelihood(self, y, scale=1.0):
        r = self._size(y)
        return gammaln(y + r) - gammaln(r) - gammaln(y + 1.0)

    def deviance(self, y, mean):
        r = self._size(mean)
        return 2.0 * (xlogy(y, y) - xlogy(y, mean) - (y + r) * jnp.log((y + r) / (mean + r)))

    def variance(self, mean):
        return mean + float_like(self.alpha, mean) * mean**2

    def sample(self, key, mean, scale=1.0):
        rate_key, count_key = jax.random.split(key)
        r = self._size(mean)
        rate = jax.random.gamma(rate_key, r, jnp.shape(mean), jnp.result_type(mean)) * mean / r
        return jax.random.poisson(count_key, rate).astype(jnp.result_type(mean))

    def in_support(self, y):
        return y >= 0
