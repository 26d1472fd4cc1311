"""L-BFGS through Optax, with Optax's zoom line search (strong Wolfe conditions)."""

import equinox as eqx
import jax
import optax
from jaxtyping import Array, Float

from ._base import AbstractSolver
from ._tree import tree_max_abs


class _LBFGSState(eqx.Module):
    optimizer_state: optax.OptState
    value: Float[Array, ""]
    grad: object


class LBFGS(AbstractSolver):
    """Limited-memory BFGS (``optax.lbfgs``) for smooth problems.

    **Arguments:**
    - ``max_steps``: the step limit (default 1000).
    - ``tol``: stop when the gradient's inf-norm is at most ``tol`` (default: 1e-8 in float64,
      1e-4 in float32).
    - ``memory_size``: how many past steps approximate the curvature (default 10).
    """

    max_steps: int = 1000
    tol: float | None = None
    memory_size: int = 10
    handles_nonsmooth = False

    def _optimizer(self):
        return optax.lbfgs(memory_size=self.memory_size)

    def init(self, fn, prox, params, args):
        value, grad = jax.value_and_grad(fn)(params, args)
        return _LBFGSState(self._optimizer().init(params), value, grad)

    def step(self, fn, prox, params, state, args, fresh):
        def objective(x):
            return fn(x, args)

        if fresh:
            value, grad = jax.value_and_grad(objective)(params)
        else:
            value, grad = state.value, state.grad
        updates, opt_state = self._optimizer().update(
            grad, state.optimizer_state, params, value=value, grad=grad, value_fn=objective
        )
        params = optax.apply_updates(params, updates)
        # The line search evaluated value and gradient at the accepted point: reuse them.
        value = optax.tree.get(opt_state, "value")
        grad = optax.tree.get(opt_state, "grad")
        return params, _LBFGSState(opt_state, value, grad)

    def optimality(self, state):
        return tree_max_abs(state.grad)

    def value(self, state):
        return state.value
