"""Observation models: the distribution of ``y`` given its mean.

Each model gives the per-sample log-likelihood (with normalising constants), the unit deviance,
the variance function, sampling, and, through shared functions on the base class, scale
(dispersion) estimation and pseudo-R2. Everything is elementwise over samples; reductions with
sample weights happen in the shared methods.
"""

import abc
from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
from jax.scipy.special import gammaln, xlog1py, xlogy
from jaxtyping import Array, ArrayLike, Bool, Float, PRNGKeyArray

from ._arrays import as_float_leaf
from ._links import AbstractLink, IdentityLink, InverseLink, LogitLink, LogLink, SoftplusLink
from ._repr import ValueRepr

BUILTIN_LINKS = (LogLink, SoftplusLink, IdentityLink, LogitLink, InverseLink)

_PSEUDO_R2 = ("pseudo-r2-mcfadden", "pseudo-r2-cohen")


class AbstractObservation(ValueRepr):
    """Base class of observation models (the random component of a GLM).

    Subclass it to add a family: give a `link` field and implement the abstract methods.
    Class attributes: ``support`` (words for the values ``y`` may take, used in errors),
    ``has_scale`` (whether the dispersion is estimated from residuals), ``mean_range``
    (open bounds of the mean, ``None`` for unbounded) and, optionally, ``links`` (the glmx links
    the family accepts; another glmx link is a ``TypeError``, a custom link is always accepted).
    """

    link: eqx.AbstractVar[AbstractLink]
    support: ClassVar[str]
    has_scale: ClassVar[bool]
    mean_range: ClassVar[tuple[float | None, float | None]]
    links: ClassVar[tuple[type, ...] | None] = None

    @abc.abstractmethod
    def value_checks(self) -> list[tuple[Bool[Array, ""], str, Array | None]]:
        """``(is_bad, message, value)`` triples for the model's own hyperparameters."""

    def __check_init__(self):
        link, allowed = type(self.link), self.links
        if allowed is not None and link in BUILTIN_LINKS and link not in allowed:
            names = ", ".join(f"{cls.__name__}()" for cls in allowed)
            raise TypeError(
                f"{type(self).__name__} cannot use {link.__name__}(): its mean would leave the "
                f"family's range; use one of {names}."
            )

    @abc.abstractmethod
    def log_likelihood(
        self, y: Float[Array, "*n"], mean: Float[Array, "*n"], scale: ArrayLike = 1.0
    ) -> Float[Array, "*n"]:
        """Per-sample log-likelihood of ``y`` at ``mean`` (same shapes), with constants."""

    def predictor_log_likelihood(
        self, y: Float[Array, "*n"], eta: Float[Array, "*n"], scale: ArrayLike = 1.0
    ) -> Float[Array, "*n"]:
        """The log-likelihood as a function of the linear predictor ``eta``.

        Equal to ``log_likelihood(y, link.inverse(eta), scale)`` but evaluated in a form that
        stays finite where the mean under- or overflows; it is ``-inf`` where ``eta`` is outside
        the link's domain. It is `kernel_log_likelihood` plus `constant_log_likelihood`.
        """
        return self.kernel_log_likelihood(y, eta, scale) + self.constant_log_likelihood(y, scale)

    @abc.abstractmethod
    def kernel_log_likelihood(
        self, y: Float[Array, "*n"], eta: Float[Array, "*n"], scale: ArrayLike = 1.0
    ) -> Float[Array, "*n"]:
        """The part of `predictor_log_likelihood` that depends on ``eta``.

        Fitting minimises its negative mean; the rest (`constant_log_likelihood`, e.g.
        ``-log(y!)``) is computed once per fit, not at every step.
        """

    @abc.abstractmethod
    def constant_log_likelihood(
        self, y: Float[Array, "*n"], scale: ArrayLike = 1.0
    ) -> Float[Array, "*n"]:
        """The part of the log-likelihood that does not depend on the mean."""

    @abc.abstractmethod
    def deviance(self, y: Float[Array, "*n"], mean: Float[Array, "*n"]) -> Float[Array, "*n"]:
        """Per-sample unit deviance ``2 (loglik(y | y) - loglik(y | mean))`` at unit scale."""

    @abc.abstractmethod
    def variance(self, mean: Float[Array, "*n"]) -> Float[Array, "*n"]:
        """The variance function ``V(mu)``: ``Var(y) = scale * V(mu)``."""

    @abc.abstractmethod
    def sample(
        self, key: PRNGKeyArray, mean: Float[Array, "*n"], scale: ArrayLike = 1.0
    ) -> Float[Array, "*n"]:
        """Draw ``y`` with the given mean (and dispersion), in the dtype of ``mean``."""

    @abc.abstractmethod
    def in_support(self, y: Float[Array, "*n"]) -> Bool[Array, "*n"]:
        """Whether each ``y`` is a value this model can produce (see ``support``)."""

    def estimate_scale(
        self,
        y: Float[Array, " n"],
        mean: Float[Array, " n"],
        dof_resid: ArrayLike,
        sample_weight: Float[Array, " n"] | None = None,
    ) -> Float[Array, ""]:
        """Dispersion from residuals: Pearson chi2 divided by the residual degrees of freedom.

        Families without a free dispersion (Poisson, Bernoulli, negative binomial with a given
        ``alpha``) return 1. ``sample_weight`` acts as frequency weights, as in statsmodels.

        **Arguments:** ``y``, ``mean`` of shape ``(n,)``; ``dof_resid`` a scalar (weighted
        sample count minus the number of fitted parameters); ``sample_weight`` ``(n,)``.

        **Returns:** a scalar in the dtype of ``mean``.
        """
        mean = jnp.asarray(mean)
        if not self.has_scale:
            return jnp.ones((), mean.dtype)
        w = jnp.ones_like(mean) if sample_weight is None else sample_weight
        resid = jnp.where(w > 0, y - mean, 0.0)
        chi2 = jnp.sum(w * resid**2 / self.variance(mean))
        return (chi2 / jnp.maximum(jnp.asarray(dof_resid, mean.dtype), 1.0)).astype(mean.dtype)

    def pseudo_r2(
        self,
        y: Float[Array, " n"],
        mean: Float[Array, " n"],
        scale: ArrayLike = 1.0,
        sample_weight: Float[Array, " n"] | None = None,
        kind: str = "pseudo-r2-mcfadden",
    ) -> Float[Array, ""]:
        """Pseudo-R2 of ``mean`` against the intercept-only model (mean of ``y``).

        ``kind="pseudo-r2-mcfadden"``: ``1 - LL(model) / LL(null)`` with full log-likelihoods.
        ``kind="pseudo-r2-cohen"``: ``1 - D(model) / D(null)``, the deviance explained.
        Both use the (weighted) mean of ``y`` as the null model's mean and ``scale`` for both.

        **Arguments:** ``y``, ``mean`` ``(n,)``; ``scale`` a scalar; ``sample_weight`` ``(n,)``.

        **Returns:** a scalar; 1 is a perfect fit, 0 no better than a constant rate.

        **Raises:** ``ValueError`` for an unknown ``kind``.
        """
        kind = kind.lower()
        if kind not in _PSEUDO_R2:
            raise ValueError(f"kind must be one of {_PSEUDO_R2}, got {kind!r}.")
        w = jnp.ones_like(mean) if sample_weight is None else sample_weight
        keep = w > 0
        y = jnp.where(keep, y, 1.0)
        null_mean = jnp.full_like(mean, jnp.sum(w * y) / jnp.sum(w))
        if kind == "pseudo-r2-mcfadden":
            model_fit = jnp.sum(w * self.log_likelihood(y, mean, scale))
            null_fit = jnp.sum(w * self.log_likelihood(y, null_mean, scale))
        else:
            model_fit = jnp.sum(w * self.deviance(y, mean))
            null_fit = jnp.sum(w * self.deviance(y, null_mean))
        return 1.0 - model_fit / null_fit


def _as_float(x, like):
    return jnp.asarray(x, dtype=jnp.result_type(like))


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
        shape = 1.0 / _as_float(scale, mean)
        ratio = y / mean
        return shape * jnp.log(shape * ratio) - shape * ratio - gammaln(shape) - jnp.log(y)

    def kernel_log_likelihood(self, y, eta, scale=1.0):
        ok = self.link.in_domain(eta)
        log_mean = self.link.log_inverse(jnp.where(ok, eta, 1.0))
        shape = 1.0 / _as_float(scale, eta)
        return jnp.where(ok, -shape * (log_mean + y * jnp.exp(-log_mean)), -jnp.inf)

    def constant_log_likelihood(self, y, scale=1.0):
        shape = 1.0 / _as_float(scale, y)
        return shape * jnp.log(shape) + (shape - 1.0) * jnp.log(y) - gammaln(shape)

    def deviance(self, y, mean):
        return 2.0 * ((y - mean) / mean - jnp.log(y / mean))

    def variance(self, mean):
        return mean**2

    def sample(self, key, mean, scale=1.0):
        shape = 1.0 / _as_float(scale, mean)
        return jax.random.gamma(key, shape, jnp.shape(mean), jnp.result_type(mean)) * mean / shape

    def in_support(self, y):
        return y > 0


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
        scale = _as_float(scale, mean)
        return -0.5 * (y - mean) ** 2 / scale - 0.5 * jnp.log(2.0 * jnp.pi * scale)

    def kernel_log_likelihood(self, y, eta, scale=1.0):
        return -0.5 * (y - self.link.inverse(eta)) ** 2 / _as_float(scale, eta)

    def constant_log_likelihood(self, y, scale=1.0):
        return jnp.broadcast_to(-0.5 * jnp.log(2.0 * jnp.pi * _as_float(scale, y)), jnp.shape(y))

    def deviance(self, y, mean):
        return (y - mean) ** 2

    def variance(self, mean):
        return jnp.ones_like(mean)

    def sample(self, key, mean, scale=1.0):
        noise = jax.random.normal(key, jnp.shape(mean), jnp.result_type(mean))
        return mean + jnp.sqrt(_as_float(scale, mean)) * noise

    def in_support(self, y):
        return jnp.isfinite(y)


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
        return 1.0 / _as_float(self.alpha, like)

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
        return mean + _as_float(self.alpha, mean) * mean**2

    def sample(self, key, mean, scale=1.0):
        rate_key, count_key = jax.random.split(key)
        r = self._size(mean)
        rate = jax.random.gamma(rate_key, r, jnp.shape(mean), jnp.result_type(mean)) * mean / r
        return jax.random.poisson(count_key, rate).astype(jnp.result_type(mean))

    def in_support(self, y):
        return y >= 0
