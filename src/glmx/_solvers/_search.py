"""The solvers' one backtracking loop, and the acceptance rules they search with.

`backtrack` tries a scalar ``t`` (a step length, or a Lipschitz estimate), multiplies it by a
fixed factor until an acceptance rule holds, and gives up after a fixed number of tries:

- `line_search` backtracks along a direction from step 1, halving the step. L-BFGS and Newton
  accept by `armijo_wolfe`: the Armijo condition, or, once function values no longer resolve
  the decrease (near the optimum, in floating point), the approximate Wolfe conditions of
  Hager & Zhang, which use the gradient, informative where the objective's rounding is not.
  ProximalNewton accepts by `model_decrease`: the whole objective ``fn + g`` must fall by a
  fraction of what the quadratic model predicted (Lee, Sun & Saunders 2014).
- ProximalGradient's step search grows its Lipschitz estimate with the same loop.

Only the loop the `Problem` builds and ``where`` are used, never ``lax.cond``: under ``vmap`` a
batched ``cond`` would broadcast every array its branches close over (the design matrix among
them) to the batch axis. The objective appears once in the loop's body and nowhere else, which
keeps the compiled program small.
"""

import jax.numpy as jnp

_SUFFICIENT_DECREASE = 1e-4  # Armijo's constant, and ProximalNewton's fraction of the model
_CURVATURE = 0.9
_MAX_HALVINGS = 40


def backtrack(problem, trial, accepted, first, factor, max_backtracks: int, placeholder):
    """Try ``first``, ``first * factor``, ... (at most ``max_backtracks + 1`` tries) until
    ``accepted(t, trial(t))`` holds.

    ``placeholder`` has the structure and dtypes of ``trial``'s result. Returns
    ``(t, trial(t), ok)`` for the last ``t`` tried; ``ok`` says whether it was accepted.
    """

    def cond(carry):
        *_, ok, count = carry
        return ~ok & (count <= max_backtracks)

    def body(carry):
        t, _, _, count = carry
        t = t * factor
        result = trial(t)
        return t, result, accepted(t, result), count + 1

    # The first pass of the loop tries ``first``, so that ``trial`` is traced once.
    start = (first / factor, placeholder, jnp.array(False), 0)
    t, result, ok, _ = problem.while_loop(cond, body, start, max_steps=max_backtracks + 1)
    return t, result, ok


def line_search(problem, value_and_grad, x, value, grad, direction, accepted):
    """Search along ``direction`` from the flat point ``x`` (where ``fn`` has ``value`` and
    ``grad``), from step 1 and halving, until ``accepted(t, point, new_value, new_grad)``.

    Returns ``(step, new_value, new_grad, ok)``: the accepted step ``x_new - x``, the value and
    gradient there, and whether a step was accepted (if not, the caller should keep ``x``).
    """

    def trial(t):
        return value_and_grad(x + t * direction)

    def accept(t, result):
        return accepted(t, x + t * direction, *result)

    one = jnp.ones((), x.dtype)
    t, (f, g), ok = backtrack(problem, trial, accept, one, 0.5, _MAX_HALVINGS, (value, grad))
    return t * direction, f, g, ok


def armijo_wolfe(value, grad, direction):
    """``(direction, accepted)`` for a smooth objective with ``value`` and ``grad`` at the start:
    Armijo, or approximate Wolfe where values stop resolving the decrease. A direction that is
    not a descent direction (rounding) is replaced by ``-grad``."""
    slope = jnp.dot(grad, direction)
    descent = slope < 0
    direction = jnp.where(descent, direction, -grad)
    slope = jnp.where(descent, slope, -jnp.dot(grad, grad))
    tiny = 100 * jnp.finfo(grad.dtype).eps * jnp.abs(value)

    def accepted(t, point, f, g):
        armijo = f <= value + _SUFFICIENT_DECREASE * t * slope
        approx_wolfe = (f <= value + tiny) & (jnp.abs(jnp.dot(g, direction)) <= _CURVATURE * -slope)
        return jnp.isfinite(f) & (armijo | approx_wolfe)

    return direction, accepted


def model_decrease(penalty, x, target, value, grad):
    """``(direction, accepted)`` for a step from ``x`` towards ``target``, the minimiser of a
    quadratic model of ``fn`` plus the non-smooth ``penalty`` (a function of the flat point):
    the whole objective must fall by a fraction of the decrease the model's linear part and
    the penalty predict. ``value`` and ``grad`` are ``fn``'s at ``x``."""
    direction = target - x
    start = value + penalty(x)
    predicted = jnp.dot(grad, direction) + penalty(target) - penalty(x)
    tiny = 100 * jnp.finfo(x.dtype).eps * jnp.abs(start)

    def accepted(t, point, f, g):
        total = f + penalty(point)
        enough = total <= start + _SUFFICIENT_DECREASE * t * predicted
        # At the optimum the predicted decrease is lost in rounding: accept no increase.
        rounding = (-predicted <= tiny) & (total <= start + tiny)
        return jnp.isfinite(total) & (enough | rounding)

    return direction, accepted
