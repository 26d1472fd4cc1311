"""Any Optax gradient transformation as a smooth solver (e.g. Adam for mini-batch loops)."""

import equinox as eqx
import jax
import optax
from jaxtyping import Array, Float

from ._base import AbstractSolver
from ._shared import tree_max_abs


class _OptaxState(eqx.Module):
    optimizer_state: optax.OptState
    value: Float[Array, ""]
    grad: object


class OptaxSolver(AbstractSolver):
    """Minimise with an Optax optimizer, e.g. ``OptaxSolver(optax.adam(1e-2))`` (smooth only).

    Fixed-step methods need a learning rate suited to the scale of ``X``; for full-batch fits
    prefer `LBFGS` or `GradientDescent`, which choose their steps. This is meant for step-wise
    fitting with `glmx.update` on mini-batches.

    **Arguments:**

    - ``optimizer``: an ``optax.GradientTransformation``. Build it once and reuse it: a new
      instance is a new function to JAX and recompiles the fit.
    - ``max_steps`` (default 10000) and ``tol`` on the gradient's inf-norm (default: 1e-8 in
      float64, 1e-4 in float32).
    """

    optimizer: optax.GradientTransformation
    max_steps: int = 10_000
    tol: float | None = None
    handles_nonsmooth = False

    def init(self, problem, params, args):
        value, grad = jax.value_and_grad(problem.fn)(params, args)
        return _OptaxState(self.optimizer.init(params), value, grad)

    def step(self, problem, params, state, args, fresh):
        fn = problem.fn
        if fresh:
            value, grad = jax.value_and_grad(fn)(params, args)
        else:
            value, grad = state.value, state.grad
        updates, opt_state = self.optimizer.update(grad, state.optimizer_state, params)
        params = optax.apply_updates(params, updates)
        value, grad = jax.value_and_grad(fn)(params, args)
        return params, _OptaxState(opt_state, value, grad)

    def optimality(self, state):
        return tree_max_abs(state.grad)

    def value(self, state):
        return state.value
