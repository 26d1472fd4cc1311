"""Small array conventions shared by the modules."""

import jax.numpy as jnp
from jaxtyping import Array


def as_float_leaf(x) -> Array:
    """A hyperparameter as a floating array leaf (integers become the default float), so that
    ``Ridge(1)`` and ``Ridge(1.0)`` are the same structure to JAX."""
    x = jnp.asarray(x)
    return x if jnp.issubdtype(x.dtype, jnp.inexact) else x.astype(float)
