"""Accelerated (proximal) gradient with backtracking: FISTA, and its smooth special case.

Beck & Teboulle's FISTA with a backtracking estimate of the Lipschitz constant that may also
shrink between steps (grown by the solvers' one backtracking loop, `_search.backtrack`), and
O'Donoghue & Candes's gradient restart (`_shared.restarted_momentum`), which keeps the iteration
monotone in practice and removes the ripples of plain momentum. With no prox it is Nesterov's
accelerated gradient descent.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from ._base import AbstractSolver
from ._search import backtrack
from ._shared import (
    restarted_momentum,
    tree_all_finite,
    tree_axpy,
    tree_dot,
    tree_max_abs,
    tree_sub,
    tree_where,
)

_GROW = 2.0  # Lipschitz estimate grows by this factor when the decrease test fails
_SHRINK = 0.9  # and is tried this much smaller at the start of each step
_MAX_BACKTRACKS = 60


class _MomentumState(eqx.Module):
    anchor: object  # the extrapolated point y at which the next gradient is taken
    momentum: Float[Array, ""]  # FISTA's t
    lipschitz: Float[Array, ""]  # current estimate of the gradient's Lipschitz constant
    value: Float[Array, ""]  # fn at the current iterate
    optimality: Float[Array, ""]  # inf-norm of the gradient mapping at the anchor


def _prox_point(prox, anchor, grad, lipschitz, args):
    moved = tree_axpy(-1.0 / lipschitz, grad, anchor)
    return moved if prox is None else prox.prox(moved, 1.0 / lipschitz, args)


def _initial_lipschitz(fn, params, args, value, grad):
    """A secant estimate of the curvature along the gradient, or 1 when it is unusable."""
    size = tree_max_abs(grad)
    h = 1e-3 / jnp.where(size > 0, size, 1.0)
    probe = tree_axpy(-h, grad, params)
    diff = tree_sub(jax.grad(fn)(probe, args), grad)
    estimate = jnp.sqrt(tree_dot(diff, diff) / (h * h * jnp.maximum(tree_dot(grad, grad), 1e-300)))
    usable = jnp.isfinite(estimate) & (estimate > 0) & jnp.isfinite(value)
    return jnp.where(usable, estimate, 1.0).astype(value.dtype)


def momentum_init(fn, params, args) -> _MomentumState:
    value, grad = jax.value_and_grad(fn)(params, args)
    dtype = value.dtype
    return _MomentumState(
        anchor=params,
        momentum=jnp.ones((), dtype),
        lipschitz=_initial_lipschitz(fn, params, args, value, grad),
        value=value,
        optimality=jnp.asarray(jnp.inf, dtype),
    )


def momentum_step(problem, prox, params, state: _MomentumState, args):
    """One FISTA step with ``prox`` (``problem.prox``, or ``None`` for plain accelerated
    gradient descent)."""
    fn = problem.fn
    anchor = state.anchor
    anchor_value, grad = jax.value_and_grad(fn)(anchor, args)
    anchor_ok = jnp.isfinite(anchor_value) & tree_all_finite(grad)
    eps = jnp.finfo(anchor_value.dtype).eps

    def trial(lipschitz):
        point = _prox_point(prox, anchor, grad, lipschitz, args)
        return point, fn(point, args)

    def below_bound(lipschitz, result):
        point, point_value = result
        step = tree_sub(point, anchor)
        bound = anchor_value + tree_dot(grad, step) + 0.5 * lipschitz * tree_dot(step, step)
        # A non-finite anchor ends the search at once: its step is discarded below.
        return (point_value <= bound + 10 * eps * jnp.abs(anchor_value)) | ~anchor_ok

    first = state.lipschitz * _SHRINK
    lipschitz, (point, point_value), _ = backtrack(
        problem, trial, below_bound, first, _GROW, _MAX_BACKTRACKS, (anchor, anchor_value)
    )

    new_anchor, momentum = restarted_momentum(anchor, point, params, state.momentum)
    accepted = _MomentumState(
        anchor=new_anchor,
        momentum=momentum,
        lipschitz=lipschitz,
        value=point_value,
        optimality=lipschitz * tree_max_abs(tree_sub(anchor, point)),
    )
    # A non-finite anchor: if it was an extrapolated point, restart from the current iterate;
    # if it was the iterate itself, report the non-finite value so the loop stops.
    at_iterate = state.momentum == 1.0
    rejected = _MomentumState(
        anchor=params,
        momentum=jnp.ones_like(state.momentum),
        lipschitz=state.lipschitz,
        value=jnp.where(at_iterate, anchor_value, state.value),
        optimality=jnp.asarray(jnp.inf, state.optimality.dtype),
    )
    new_state = tree_where(anchor_ok, accepted, rejected)
    new_params = tree_where(anchor_ok, point, params)
    return new_params, new_state


class ProximalGradient(AbstractSolver):
    """FISTA with backtracking and adaptive restart; handles every regularizer through its prox.

    **Arguments:**

    - ``max_steps``: the step limit (default 5000).
    - ``tol``: stop when the inf-norm of the gradient mapping ``L (y - prox(y - grad / L))``
      is at most ``tol`` (default: 1e-8 in float64, 1e-4 in float32).

    Each step costs one gradient at the extrapolated point (two passes over ``X``) and at least
    one objective evaluation at the trial point (one pass each), so three passes or more.
    """

    max_steps: int = 5000
    tol: float | None = None
    handles_nonsmooth = True

    def init(self, problem, params, args):
        return momentum_init(problem.fn, params, args)

    def step(self, problem, params, state, args, fresh):
        return momentum_step(problem, problem.prox, params, state, args)

    def optimality(self, state):
        return state.optimality

    def value(self, state):
        return state.value


class GradientDescent(AbstractSolver):
    """Nesterov-accelerated gradient descent with backtracking and restart (smooth problems).

    The same iteration as `ProximalGradient` without a prox: regularizers must be smooth
    (`UnRegularized`, `Ridge`). A backtracking step size replaces a learning rate, so nothing
    needs tuning to the scale of ``X``.

    **Arguments:** ``max_steps`` (default 5000); ``tol`` on the gradient's inf-norm (default:
    1e-8 in float64, 1e-4 in float32).
    """

    max_steps: int = 5000
    tol: float | None = None
    handles_nonsmooth = False

    def init(self, problem, params, args):
        return momentum_init(problem.fn, params, args)

    def step(self, problem, params, state, args, fresh):
        return momentum_step(problem, None, params, state, args)

    def optimality(self, state):
        return state.optimality

    def value(self, state):
        return state.value
