"""The observation-model contract: `AbstractObservation`, and what every family shares (scale
estimation and pseudo-R2, with sample weights)."""

import abc
from typing import ClassVar

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Bool, Float, PRNGKeyArray

from .._links import (
    AbstractLink,
    IdentityLink,
    InverseLink,
    InverseSquaredLink,
    LogitLink,
    LogLink,
    SoftplusLink,
)
from .._repr import ValueRepr

BUILTIN_LINKS = (LogLink, SoftplusLink, IdentityLink, LogitLink, InverseLink, InverseSquaredLink)

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


def float_like(x, like):
    """``x`` as an array in the floating dtype of ``like`` (a hyperparameter or scale)."""
    return jnp.asarray(x, dtype=jnp.result_type(like))
