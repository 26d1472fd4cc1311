"""The categorical (multinomial) observation model: one of ``K`` classes per sample.

Its linear predictor is a vector per sample, ``eta_i`` of shape ``(K,)``, and the class
probabilities are ``softmax(eta_i)``; so it is not an `AbstractObservation` (whose mean and
predictor are one number per sample) but a model of its own, with the same vocabulary:
log-likelihood, support, sampling and pseudo-R2. Labels are floats holding the integers
``0 .. K-1`` (NaN marks a missing sample), as ``y`` is everywhere in glmx.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Bool, Float, PRNGKeyArray

from ._repr import ValueRepr


def _check_classes(n_classes) -> int:
    if isinstance(n_classes, bool) or not isinstance(n_classes, int) or n_classes < 2:
        raise ValueError(f"n_classes must be an integer of at least 2, got {n_classes!r}.")
    return n_classes


class Categorical(ValueRepr):
    """The categorical distribution over ``n_classes`` classes, with the softmax link:
    ``P(y = k | eta) = exp(eta_k) / sum_l exp(eta_l)``.

    **Arguments:**

    - ``n_classes``: ``K``, the number of classes (at least 2). Structure: fixed when the
      model is made.

    ``y`` holds class labels ``0 .. K-1`` (as integers or integer-valued floats).

    **Example:**
    ```python
    model = glmx.CategoricalGLM(glmx.Categorical(3), glmx.Ridge(1e-2))
    ```
    """

    n_classes: int = eqx.field(static=True)

    def __init__(self, n_classes: int):
        self.n_classes = _check_classes(n_classes)

    @property
    def support(self) -> str:
        return f"integer class labels 0..{self.n_classes - 1}"

    def value_checks(self) -> list:
        """No hyperparameters to check (the interface `glmx._checks` reads)."""
        return []

    def in_support(self, y: Float[Array, "*n"]) -> Bool[Array, "*n"]:
        """Whether each ``y`` is an integer label in ``0 .. K-1``."""
        return (y == jnp.floor(y)) & (y >= 0) & (y <= self.n_classes - 1)

    def one_hot(self, y: Float[Array, " n"]) -> Float[Array, "n K"]:
        """``(n, K)`` indicators of the labels ``y`` (a row of zeros for a label outside)."""
        return (y[:, None] == jnp.arange(self.n_classes, dtype=y.dtype)).astype(y.dtype)

    def log_probabilities(self, eta: Float[Array, "n K"]) -> Float[Array, "n K"]:
        """``log softmax(eta)`` row by row, without overflow."""
        return jax.nn.log_softmax(eta, axis=-1)

    def probabilities(self, eta: Float[Array, "n K"]) -> Float[Array, "n K"]:
        """``softmax(eta)`` row by row."""
        return jax.nn.softmax(eta, axis=-1)

    def predictor_log_likelihood(
        self, y: Float[Array, " n"], eta: Float[Array, "n K"]
    ) -> Float[Array, " n"]:
        """Per-sample log-likelihood ``eta_{y} - logsumexp(eta)`` (it has no constant)."""
        return jnp.sum(self.one_hot(y) * self.log_probabilities(eta), axis=-1)

    def sample(self, key: PRNGKeyArray, eta: Float[Array, "n K"]) -> Float[Array, " n"]:
        """Draw a label per row of ``eta``, as floats in the dtype of ``eta``."""
        return jax.random.categorical(key, eta, axis=-1).astype(eta.dtype)

    def pseudo_r2(
        self,
        y: Float[Array, " n"],
        eta: Float[Array, "n K"],
        sample_weight: Float[Array, " n"],
    ) -> Float[Array, ""]:
        """McFadden's pseudo-R2, ``1 - LL(model) / LL(null)``; the null model gives every
        sample the (weighted) class frequencies. Rows with zero weight do not count."""
        w = sample_weight
        one_hot = self.one_hot(y)
        frequencies = jnp.sum(w[:, None] * one_hot, axis=0) / jnp.sum(w)
        log_freq = jnp.log(jnp.where(frequencies > 0, frequencies, 1.0))
        null_fit = jnp.sum(w * (one_hot @ log_freq))
        model_fit = jnp.sum(w * self.predictor_log_likelihood(y, eta))
        return 1.0 - model_fit / null_fit
