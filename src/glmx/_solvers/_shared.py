"""Helpers more than one solver uses: pytree algebra, flat gradients and prox, the gradient
mapping, the Hessian a problem offers, and FISTA's restarted momentum.

Solvers that work on flat vectors (L-BFGS, the Newton methods, SVRG) go through
``ravel_pytree``; the first-order methods work on the pytree itself.
"""

import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree

# --- pytree algebra ---------------------------------------------------------------------------


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


# --- flat views of the problem ----------------------------------------------------------------


def flat_value_and_grad(fn, unravel, args):
    """``v -> (fn(unravel(v), args), flat gradient)``."""

    def value_and_grad(v):
        value, grad = jax.value_and_grad(fn)(unravel(v), args)
        return value, ravel_pytree(grad)[0]

    return value_and_grad


def flat_grad(fn, unravel, args):
    """``v -> flat gradient of fn at unravel(v)``."""
    return lambda v: ravel_pytree(jax.grad(fn)(unravel(v), args))[0]


def flat_hessian(problem, params, args, low_precision: bool):
    """The problem's `Curvature.hessian` at ``params`` (formed in float32 if ``low_precision``),
    or ``jax.hessian`` of ``fn`` when the problem offers none, over ``ravel_pytree(params)``."""
    x, unravel = ravel_pytree(params)
    if problem.curvature is None:
        return jax.hessian(lambda v: problem.fn(unravel(v), args))(x)
    return problem.curvature.hessian(params, args, low_precision).astype(x.dtype)


def prox_flat(prox, unravel, v, step, args):
    """``prox`` applied to the flat ``v`` with ``step``, flat (``v`` itself without a prox)."""
    if prox is None:
        return v
    return ravel_pytree(prox.prox(unravel(v), step, args))[0]


def smooth_at(prox, unravel, v, args):
    """Which coordinates of the flat ``v`` the non-smooth part is twice differentiable at
    (``prox.smooth_at``), all of them without a prox."""
    if prox is None:
        return jnp.ones(v.shape, bool)
    return prox.smooth_at(unravel(v), args)


def mapping_norm(prox, unravel, x, grad, args):
    """``||x - prox(x - grad, 1)||_inf`` (the gradient's inf-norm when ``prox`` is ``None``):
    zero exactly at a minimiser of ``fn + g``."""
    point = prox_flat(prox, unravel, x - grad, 1.0, args)
    return jnp.max(jnp.abs(x - point), initial=0.0)


# --- momentum ---------------------------------------------------------------------------------


def restarted_momentum(anchor, point, previous, momentum):
    """FISTA's next extrapolated point and momentum after a step from ``anchor`` to ``point``
    (``previous`` being the iterate before ``point``), with O'Donoghue & Candes's gradient
    restart: the momentum is dropped when it points against the step just taken, which keeps
    the iteration monotone in practice."""
    restart = tree_dot(tree_sub(anchor, point), tree_sub(point, previous)) > 0
    next_momentum = jnp.where(restart, 1.0, (1 + jnp.sqrt(1 + 4 * momentum**2)) / 2)
    beta = jnp.where(restart, 0.0, (momentum - 1) / next_momentum)
    return tree_axpy(beta, tree_sub(point, previous), point), next_momentum
