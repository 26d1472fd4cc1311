"""A branch-free backtracking line search shared by the quasi-Newton and Newton solvers.

It starts at step 1 on the given direction and halves the step until either the Armijo
condition holds or, once function values no longer resolve the decrease (near the optimum, in
floating point), the approximate Wolfe conditions of Hager & Zhang hold; they use the gradient,
which stays informative where the objective's rounding does not. Only ``while_loop`` and
``where`` are used, never ``lax.cond``: under ``vmap`` a batched ``cond`` would broadcast every
array its branches close over (the design matrix among them) to the batch axis.
"""

import jax.numpy as jnp

_ARMIJO = 1e-4
_CURVATURE = 0.9
_MAX_BACKTRACKS = 40


def backtracking_search(problem, value_and_grad, x, value, grad, direction):
    """Search along ``direction`` from the flat point ``x`` (with ``value`` and ``grad``); the
    loop is built as ``problem`` asks.

    A direction that is not a descent direction (rounding) is replaced by ``-grad``. Returns
    ``(step, new_value, new_grad, ok)``: the accepted step ``x_new - x``, the value and gradient
    there, and whether a step was accepted (if not, the caller should keep ``x``).
    """
    slope = jnp.dot(grad, direction)
    descent = slope < 0
    direction = jnp.where(descent, direction, -grad)
    slope = jnp.where(descent, slope, -jnp.dot(grad, grad))
    tiny = 100 * jnp.finfo(x.dtype).eps * jnp.abs(value)

    def accepted(t, f, g):
        armijo = f <= value + _ARMIJO * t * slope
        approx_wolfe = (f <= value + tiny) & (jnp.abs(jnp.dot(g, direction)) <= _CURVATURE * -slope)
        return jnp.isfinite(f) & (armijo | approx_wolfe)

    def cond(carry):
        _, _, _, ok, count = carry
        return ~ok & (count <= _MAX_BACKTRACKS)

    def body(carry):
        t, _, _, _, count = carry
        t = t * 0.5
        f, g = value_and_grad(x + t * direction)
        return t, f, g, accepted(t, f, g), count + 1

    # The first pass of the loop tries step 1; the objective appears once in the graph, which
    # keeps compilation short.
    start = (jnp.asarray(2.0, x.dtype), value, grad, jnp.array(False), 0)
    t, f, g, ok, _ = problem.while_loop(cond, body, start, max_steps=_MAX_BACKTRACKS + 1)
    return t * direction, f, g, ok
