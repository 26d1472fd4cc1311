"""Link functions: the map between the linear predictor ``eta`` and the mean ``mu``.

A link is stored on an observation model. ``inverse`` is what predictions use; ``log_inverse``
is ``log(mu)`` computed without going through ``mu`` where that would lose precision or
overflow (it keeps ``y * log(mu)`` finite for Poisson counts of zero).
"""

import abc

import jax
import jax.numpy as jnp
from jaxtyping import Array, Bool, Float

from ._repr import ValueRepr


class AbstractLink(ValueRepr):
    """Base class of link functions ``g``: ``eta = g(mu)``, ``mu = g^{-1}(eta)``.

    Subclass it to add a link: implement every method below.
    """

    @abc.abstractmethod
    def link(self, mean: Float[Array, "*n"]) -> Float[Array, "*n"]:
        """The linear predictor ``g(mu)`` for a mean ``mu`` (same shape)."""

    @abc.abstractmethod
    def inverse(self, eta: Float[Array, "*n"]) -> Float[Array, "*n"]:
        """The mean ``g^{-1}(eta)`` for a linear predictor ``eta`` (same shape)."""

    @abc.abstractmethod
    def inverse_derivative(self, eta: Float[Array, "*n"]) -> Float[Array, "*n"]:
        """``d mu / d eta`` at ``eta`` (same shape); used by Fisher scoring."""

    @abc.abstractmethod
    def log_inverse(self, eta: Float[Array, "*n"]) -> Float[Array, "*n"]:
        """``log(mu)`` at ``eta``, in a form that stays finite where ``mu`` under/overflows."""

    @abc.abstractmethod
    def in_domain(self, eta: Float[Array, "*n"]) -> Bool[Array, "*n"]:
        """Whether ``eta`` maps to a valid mean (e.g. ``eta > 0`` for the inverse link)."""


def _everywhere(eta):
    return jnp.ones(jnp.shape(eta), dtype=bool)


class LogLink(AbstractLink):
    """``eta = log(mu)``, ``mu = exp(eta)``: the canonical link of Poisson counts."""

    def link(self, mean):
        return jnp.log(mean)

    def inverse(self, eta):
        return jnp.exp(eta)

    def inverse_derivative(self, eta):
        return jnp.exp(eta)

    def log_inverse(self, eta):
        return eta

    def in_domain(self, eta):
        return _everywhere(eta)


class SoftplusLink(AbstractLink):
    """``mu = log(1 + exp(eta))``: a rate that grows linearly, not exponentially, in ``eta``."""

    def link(self, mean):
        # log(expm1(mu)) written so that it neither overflows for large mu nor cancels for small.
        return mean + jnp.log(-jnp.expm1(-mean))

    def inverse(self, eta):
        return jax.nn.softplus(eta)

    def inverse_derivative(self, eta):
        return jax.nn.sigmoid(eta)

    def log_inverse(self, eta):
        # For very negative eta, softplus(eta) underflows to 0 but log(softplus(eta)) ~ eta.
        # The inner where keeps the unused branch finite so that gradients stay finite.
        far = eta < -30.0
        safe = jnp.where(far, 0.0, eta)
        return jnp.where(far, eta, jnp.log(jax.nn.softplus(safe)))

    def in_domain(self, eta):
        return _everywhere(eta)


class IdentityLink(AbstractLink):
    """``mu = eta``: the canonical link of the Gaussian."""

    def link(self, mean):
        return mean

    def inverse(self, eta):
        return eta

    def inverse_derivative(self, eta):
        return jnp.ones_like(eta)

    def log_inverse(self, eta):
        return jnp.log(eta)

    def in_domain(self, eta):
        return _everywhere(eta)


class LogitLink(AbstractLink):
    """``eta = log(mu / (1 - mu))``, ``mu = sigmoid(eta)``: the canonical link of Bernoulli."""

    def link(self, mean):
        return jnp.log(mean) - jnp.log1p(-mean)

    def inverse(self, eta):
        return jax.nn.sigmoid(eta)

    def inverse_derivative(self, eta):
        s = jax.nn.sigmoid(eta)
        return s * (1.0 - s)

    def log_inverse(self, eta):
        return jax.nn.log_sigmoid(eta)

    def in_domain(self, eta):
        return _everywhere(eta)


class InverseLink(AbstractLink):
    """``eta = 1 / mu``, ``mu = 1 / eta``: the canonical link of the Gamma (needs ``eta > 0``)."""

    def link(self, mean):
        return 1.0 / mean

    def inverse(self, eta):
        return 1.0 / eta

    def inverse_derivative(self, eta):
        return -1.0 / (eta * eta)

    def log_inverse(self, eta):
        return -jnp.log(eta)

    def in_domain(self, eta):
        return eta > 0


class InverseSquaredLink(AbstractLink):
    """``eta = 1 / mu^2``, ``mu = 1 / sqrt(eta)``: the canonical link of the inverse Gaussian
    (needs ``eta > 0``)."""

    def link(self, mean):
        return 1.0 / (mean * mean)

    def inverse(self, eta):
        return jax.lax.rsqrt(eta)

    def inverse_derivative(self, eta):
        return -0.5 * jax.lax.rsqrt(eta) / eta

    def log_inverse(self, eta):
        return -0.5 * jnp.log(eta)

    def in_domain(self, eta):
        return eta > 0
