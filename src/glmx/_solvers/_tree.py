"""Small pytree algebra used by the solvers."""

import jax
import jax.numpy as jnp


def tree_dot(a, b):
    return sum(jnp.vdot(x, y) for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)))


def tree_max_abs(a):
    leaves = jax.tree.leaves(a)
    return jnp.max(jnp.stack([jnp.max(jnp.abs(x), initial=0.0) for x in leaves]))


def tree_axpy(alpha, x, y):
    """``alpha * x + y``."""
    return jax.tree.map(lambda u, v: alpha * u + v, x, y)


def tree_sub(a, b):
    return jax.tree.map(lambda u, v: u - v, a, b)


def tree_where(pred, a, b):
    return jax.tree.map(lambda u, v: jnp.where(pred, u, v), a, b)


def tree_all_finite(a):
    return jnp.all(jnp.stack([jnp.all(jnp.isfinite(x)) for x in jax.tree.leaves(a)]))
