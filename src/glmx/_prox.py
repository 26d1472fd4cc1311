"""Proximal operators: ``prox_{t g}(x) = argmin_z 0.5 ||z - x||^2 + t g(z)``.

Pure array functions; the regularizers call them with their strengths. Every division by a
norm is guarded so that neither values nor gradients become NaN at zero.
"""

import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float


def soft_threshold(x: Float[Array, " p"], threshold: ArrayLike) -> Float[Array, " p"]:
    """``sign(x) * max(|x| - threshold, 0)``: the prox of ``threshold * ||x||_1``."""
    return jnp.sign(x) * jnp.maximum(jnp.abs(x) - threshold, 0.0)


def safe_norm(squared: Float[Array, "*g"]) -> Float[Array, "*g"]:
    """``sqrt(squared)`` with a zero (not NaN) derivative where ``squared == 0``."""
    positive = squared > 0
    return jnp.where(positive, jnp.sqrt(jnp.where(positive, squared, 1.0)), 0.0)


def group_norms(x: Float[Array, " p"], groups: Float[Array, "g p"]) -> Float[Array, " g"]:
    """The Euclidean norm of ``x`` over each group (row of the 0/1 ``groups`` mask)."""
    return safe_norm(groups @ (x * x))


def prox_group_lasso(
    x: Float[Array, " p"], threshold: Float[Array, " g"], groups: Float[Array, "g p"]
) -> Float[Array, " p"]:
    """Block soft-thresholding: shrink each group's norm by its ``threshold`` (``(g,)``).

    Features that belong to no group are returned unchanged.
    """
    norms = group_norms(x, groups)
    positive = norms > 0
    shrink = jnp.where(
        positive, jnp.maximum(1.0 - threshold / jnp.where(positive, norms, 1.0), 0.0), 0.0
    )
    ungrouped = 1.0 - jnp.sum(groups, axis=0)
    return x * (shrink @ groups + ungrouped)
