"""Newton's method (Fisher scoring for GLMs) and proximal Newton, both globalised by a line search.

`Newton` minimises a smooth ``fn``: each step factorises the Hessian (the problem's
`Curvature.hessian`, or ``jax.hessian`` of ``fn`` when the problem offers none) and searches
along the Newton direction with the line search of `_search` (as L-BFGS does: Armijo or
approximate Wolfe), so the objective never increases, whatever the link or starting point.

`ProximalNewton` minimises ``fn + g`` for a non-smooth ``g`` reached through its prox: each outer
step minimises the quadratic model of ``fn`` plus ``g`` (an inner active-set method on a
``d x d`` problem, which never touches the data), then backtracks along the step to that
minimiser with the same line search, accepting once the whole objective decreases by a fraction
of what the model predicts (`_search.model_decrease`; Lee, Sun & Saunders 2014). The expensive
part of a step is the Hessian, one weighted Gram of ``X``; everything else costs ``d^2`` or
``d^3``.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree
from jaxtyping import Array, Float

from .._linalg import largest_eigenvalue, restricted_to, safe_cholesky
from ._base import AbstractSolver, resolved_tol
from ._search import armijo_wolfe, line_search, model_decrease
from ._shared import flat_hessian, flat_value_and_grad, mapping_norm, prox_flat, smooth_at


class _NewtonState(eqx.Module):
    value: Float[Array, ""]
    grad: Float[Array, " d"]  # flat gradient at the current iterate


class Newton(AbstractSolver):
    """Newton's method with a line search (for GLMs: Fisher scoring, i.e. IRLS), smooth only.

    Each step solves with the Cholesky factor of the Hessian (for GLMs the Fisher information
    ``X1^T diag(w) X1`` plus the penalty's Hessian, which is the exact Hessian for canonical
    links) and backtracks until the objective decreases, so it survives non-canonical links and
    poor starts. It converges in a handful of steps; each costs one weighted Gram of ``X``
    (``n p^2`` flops) and one value and gradient.

    **Arguments:**

    - ``max_steps``: the step limit (default 100).
    - ``tol``: stop when the gradient's inf-norm is at most ``tol`` (default: 1e-8 in float64,
      1e-4 in float32).
    - ``low_precision_hessian``: form the Gram in float32 (default ``True``; about three times
      faster for float64 data on CPU). The gradient stays in the data's dtype, so the solution
      is as accurate as with an exact Hessian; only very ill-conditioned designs need more steps.
    """

    max_steps: int = 100
    tol: float | None = None
    low_precision_hessian: bool = True
    handles_nonsmooth = False

    def init(self, problem, params, args):
        value, grad = jax.value_and_grad(problem.fn)(params, args)
        return _NewtonState(value, ravel_pytree(grad)[0])

    def step(self, problem, params, state, args, fresh):
        x, unravel = ravel_pytree(params)
        value_and_grad = flat_value_and_grad(problem.fn, unravel, args)
        if fresh:
            state = _NewtonState(*value_and_grad(x))
        hessian = flat_hessian(problem, params, args, self.low_precision_hessian)
        low_precision = self.low_precision_hessian and problem.curvature is not None
        formed_in = jnp.float32 if low_precision else None
        factor, finite = safe_cholesky(hessian, formed_in)
        newton = -jax.scipy.linalg.cho_solve((factor, True), state.grad)
        direction, accepted = armijo_wolfe(
            state.value, state.grad, jnp.where(finite, newton, -state.grad)
        )
        s, f, g, ok = line_search(
            problem, value_and_grad, x, state.value, state.grad, direction, accepted
        )
        new_state = _NewtonState(jnp.where(ok, f, state.value), jnp.where(ok, g, state.grad))
        return unravel(jnp.where(ok, x + s, x)), new_state

    def optimality(self, state):
        return jnp.max(jnp.abs(state.grad), initial=0.0)

    def value(self, state):
        return state.value


#: Held coordinates whose optimality condition fails by at least this fraction of the largest
#: failure join the free set together (one at a time took twice the iterations on collinear
#: designs; a fifth let the free set swing).
_JOIN = 0.5


class _ProximalNewtonState(eqx.Module):
    value: Float[Array, ""]  # the smooth part at the current iterate
    grad: Float[Array, " d"]
    optimality: Float[Array, ""]


def _proximal_newton_state(problem, value_and_grad, unravel, x, args):
    value, grad = value_and_grad(x)
    optimality = mapping_norm(problem.prox, unravel, x, grad, args)
    return _ProximalNewtonState(value, grad, optimality)


def _minimise_model(problem, unravel, args, hessian, grad, x, tol, max_steps):
    """Minimise the model ``q(z) + g(z)``, ``q(z) = grad.(z - x) + 0.5 (z - x)^T H (z - x)``,
    from ``z = x``, by a primal active-set method (``d^2`` and ``d^3`` work, never the data).

    The free set is where ``g`` is smooth at ``z`` (`NonSmooth.smooth_at`). Each iteration
    takes a Newton step on the free set, the other coordinates held:

    - if no coordinate crosses a kink of ``g`` (a zero of a penalised coordinate) on the way,
      the step minimises the model on the free set exactly. A proximal gradient step from
      there (step ``1 / L``, ``L`` the largest eigenvalue of ``H`` by power iteration) then
      measures optimality (``L`` times its length), and the held coordinates it moves most
      join the free set (those it moves at least half as far as the most moved);
    - otherwise the iteration moves to the better of the first crossing along the step (that
      coordinate is held at zero from then on) and the whole step with every crossing
      coordinate at zero.

    The model decreases at every iteration and coordinates join with the sign that lowers
    it; warm-started from the previous outer step's
    solution it changes little. On collinear designs, where FISTA needs about
    ``sqrt(cond(H))`` iterations, it needs about as many as the free set changes. Stops when
    the optimality measure is at most ``tol``, or after ``max_steps``.
    """
    prox = problem.prox
    ones = jnp.ones_like(x) / jnp.sqrt(x.shape[0])
    lipschitz = jnp.maximum(
        largest_eigenvalue(lambda v: hessian @ v, ones), jnp.finfo(x.dtype).tiny
    )
    kinked = ~smooth_at(prox, unravel, jnp.zeros_like(x), args)  # g has a kink at zero there

    def penalty(z):
        return jnp.zeros((), x.dtype) if prox is None else prox.value(unravel(z), args)

    def model(z):
        u = z - x
        return jnp.dot(grad, u) + 0.5 * jnp.dot(u, hessian @ u) + penalty(z)

    def body(carry):
        z, _, k = carry
        free = smooth_at(prox, unravel, z, args)
        gradient = grad + hessian @ (z - x) + jax.grad(penalty)(z)
        curvature = hessian + jax.hessian(penalty)(z)
        factor, finite = safe_cholesky(restricted_to(curvature, free))
        step = -jax.scipy.linalg.cho_solve((factor, True), jnp.where(free, gradient, 0.0))
        step = jnp.where(finite & free, step, 0.0)
        newton = z + step
        crossing = free & kinked & (z * newton < 0)
        consistent = ~jnp.any(crossing)
        # Sign changes: the first crossing, or the whole step with the crossings at zero.
        first = jnp.min(jnp.where(crossing, z / jnp.where(crossing, z - newton, 1.0), 1.0))
        at_first = z + first * step
        at_first = jnp.where(crossing & (at_first * z <= 0), 0.0, at_first)
        projected = jnp.where(crossing, 0.0, newton)
        fallback = jnp.where(model(projected) < model(at_first), projected, at_first)
        # No sign change: test optimality, and free the most violating held coordinate.
        moved = newton - (grad + hessian @ (newton - x)) / lipschitz
        stepped = prox_flat(prox, unravel, moved, 1 / lipschitz, args)
        change = jnp.abs(stepped - newton)
        residual = lipschitz * jnp.max(change, initial=0.0)
        held = jnp.where(free, 0.0, change)
        join = held >= _JOIN * jnp.max(held)
        joined = jnp.where(join, stepped, newton)
        return (
            jnp.where(consistent, joined, fallback),
            jnp.where(consistent, residual, jnp.inf),
            k + 1,
        )

    def cond(carry):
        _, residual, k = carry
        return (residual > tol) & (k < max_steps)

    start = (x, jnp.asarray(jnp.inf, x.dtype), 0)
    z, *_ = problem.while_loop(cond, body, start, max_steps=max_steps)
    return z


class ProximalNewton(AbstractSolver):
    """Proximal Newton for non-smooth penalties (Lasso, ElasticNet, GroupLasso, ...).

    Each outer step minimises a quadratic model of the smooth part (its gradient and Fisher
    Hessian at the iterate) plus the penalty, by an inner active-set method that works on
    ``d x d`` matrices only (Newton steps on the non-zero coefficients), then backtracks
    along the step until the whole objective decreases by a fraction of what the model
    predicts. Like glmnet's and glum's IRLS with coordinate descent, it
    converges in a handful of outer steps; each costs one weighted Gram of ``X``.

    **Arguments:**

    - ``max_steps``: the outer step limit (default 100).
    - ``tol``: stop when ``||x - prox(x - grad f(x), 1)||_inf <= tol``, zero exactly at the
      optimum (default: 1e-8 in float64, 1e-4 in float32).
    - ``inner_max_steps``: the limit on inner iterations per outer step (default 1000).
    - ``low_precision_hessian``: form the Gram in float32 (default ``True``), as in `Newton`.

    The inner solve is inexact: it stops at a tolerance that shrinks with the outer optimality
    measure (one tenth of it, times its square root when that is below one), which keeps the
    outer convergence superlinear without wasting inner iterations far from the optimum.
    """

    max_steps: int = 100
    tol: float | None = None
    inner_max_steps: int = 1000
    low_precision_hessian: bool = True
    handles_nonsmooth = True

    def init(self, problem, params, args):
        x, unravel = ravel_pytree(params)
        value_and_grad = flat_value_and_grad(problem.fn, unravel, args)
        return _proximal_newton_state(problem, value_and_grad, unravel, x, args)

    def step(self, problem, params, state, args, fresh):
        x, unravel = ravel_pytree(params)
        prox = problem.prox
        value_and_grad = flat_value_and_grad(problem.fn, unravel, args)
        if fresh:
            state = _proximal_newton_state(problem, value_and_grad, unravel, x, args)
        hessian = flat_hessian(problem, params, args, self.low_precision_hessian)
        opt = state.optimality
        tol = resolved_tol(self, x.dtype)
        inner_tol = jnp.maximum(0.01 * tol, 0.1 * opt * jnp.minimum(1.0, jnp.sqrt(opt)))
        z = _minimise_model(
            problem, unravel, args, hessian, state.grad, x, inner_tol, self.inner_max_steps
        )

        def penalty(v):
            return jnp.zeros((), x.dtype) if prox is None else prox.value(unravel(v), args)

        direction, accepted = model_decrease(penalty, x, z, state.value, state.grad)
        s, f, g, ok = line_search(
            problem, value_and_grad, x, state.value, state.grad, direction, accepted
        )
        new_x = jnp.where(ok, x + s, x)
        new_state = _ProximalNewtonState(
            jnp.where(ok, f, state.value),
            jnp.where(ok, g, state.grad),
            jnp.where(ok, mapping_norm(prox, unravel, new_x, g, args), state.optimality),
        )
        return unravel(new_x), new_state

    def optimality(self, state):
        return state.optimality

    def value(self, state):
        return state.value
