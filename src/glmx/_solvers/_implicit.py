"""Differentiating through a solve: implicitly at its solution, or by unrolling its steps.

A solve maps the problem's arguments ``args`` (data, strengths, ...) to a minimiser ``x*`` of
``F(x, args) = fn(x, args) + g(x, args)``. `Implicit` differentiates that map with the implicit
function theorem at ``x*``, never through the solver's iterations:

- Smooth ``F``: ``grad_x F(x*, args) = 0``, so ``dx* = -H^{-1} d(grad_x F)/d(args) . d(args)``,
  with ``H`` the Hessian of ``F`` at ``x*``.
- Non-smooth ``g`` (Lasso, ElasticNet, GroupLasso): ``F`` is smooth around ``x*`` on its *free*
  coordinates (those not held at zero by the penalty's kink: non-zero coefficients, whole
  non-zero groups, the intercept), and ``x*`` is a stationary point of ``F`` restricted to
  them. The other coordinates have derivative zero; on the free ones the equation above holds
  with ``H`` and the gradient restricted to them. This is the derivative of the proximal fixed
  point ``x* = prox(x* - t grad fn(x*))`` wherever the set of zeros does not change under a
  small perturbation (strict complementarity); at a kink, where it does, it is the one-sided
  derivative that keeps the zeros found.

The rule is a ``custom_jvp``, so it serves ``jax.jvp``, ``jax.grad``, ``jax.vjp`` and ``vmap``
alike: its tangent is linear in the arguments' tangents (a product with the mixed second
derivative, then one linear solve with ``H``), so reverse mode transposes it, and ``H`` (or its
Cholesky factor) is computed from primal values only, once however many tangents there are.

`Unrolled` instead differentiates through every step of the solver, line searches included: it
hands the solve the kind of loop to build (``loop="bounded"``, see `Problem`), so every loop of
the solve is one reverse mode can go through. No state outside the call decides it.
"""

import abc
from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree
from jaxtyping import Array, Bool, Float

from .._linalg import conjugate_gradient, restricted_to, safe_cholesky
from .._repr import ValueRepr
from ._base import AbstractSolver, Curvature, NonSmooth, Solution, iterative_solve


class Stationarity(eqx.Module):
    """What implicit differentiation needs from a problem, over ``ravel_pytree(params)``.

    - ``objective(params, args)``: the whole objective ``F`` (smooth part plus penalty), twice
      differentiable at a solution on its free coordinates.
    - ``free(params, args)``: a boolean ``(d,)`` vector, true for the coordinates that move
      freely at a solution; the others stay where they are (at a kink of the penalty, or
      masked out) under small changes of ``args``.
    - ``hessian(params, args)``: the exact ``(d, d)`` Hessian of ``objective`` (only its free
      block is used), or ``None`` for ``jax.hessian``.
    - ``hessian_vector(params, args)``: a function ``v -> H v`` on flat vectors, for
      matrix-free solves, or ``None`` for forward-over-reverse autodiff.
    - ``preconditioner(params, args)``: a positive definite ``(d, d)`` approximation of the
      Hessian that is cheap to form (for GLMs: the Gram of ``X`` scaled by the mean row weight,
      which neurons sharing ``X`` share), or ``None``. Conjugate gradients solve with its
      Cholesky factor.
    """

    objective: Callable[[Any, Any], Float[Array, ""]]
    free: Callable[[Any, Any], Bool[Array, " d"]]
    hessian: Callable[[Any, Any], Float[Array, "d d"]] | None = None
    hessian_vector: Callable[[Any, Any], Callable] | None = None
    preconditioner: Callable[[Any, Any], Float[Array, "d d"]] | None = None


class AbstractAdjoint(ValueRepr):
    """How a fit is differentiated: passed to `glmx.fit` as ``adjoint``."""

    @abc.abstractmethod
    def solve(
        self,
        solver: AbstractSolver,
        fn: Callable,
        prox: NonSmooth | None,
        params: Any,
        args: Any,
        curvature: Curvature | None,
        stationarity: Stationarity,
        attainable: Callable | None = None,
    ) -> Solution:
        """Run the solve (``attainable``: see `iterative_solve`); its derivatives with respect to
        ``args`` follow this adjoint."""


_LINEAR_SOLVERS = ("cg", "cholesky")


class Implicit(AbstractAdjoint):
    """Differentiate a fit by the implicit function theorem at its solution (the default).

    Exact for the solution the solver returned, whatever the solver and however many steps it
    took; the iterations are never differentiated, so memory does not grow with them. For
    penalties with kinks (Lasso, ElasticNet, GroupLasso) coefficients held at zero have
    derivative zero, and the others move as the smooth problem restricted to them does.

    The derivative costs one linear solve with the Hessian ``H`` of the objective at the
    solution, plus a few passes over the data; see the guide to differentiating through fits.

    **Arguments:**

    - ``linear_solver``: ``"cg"`` (default): conjugate gradients with exact Hessian-vector
      products (two passes over ``X`` each), preconditioned by the Cholesky factor of the
      Gram of ``X`` (formed once in float32 and shared by the neurons of a population or the
      strengths of a path; up to 1,000 features, unpreconditioned above). ``"cholesky"``:
      form the exact Hessian (``n d^2`` flops for each fit of a batch) and factorise it.
    - ``cg_tol``: the relative residual at which conjugate gradients stop (default: 1e-10 in
      float64, 1e-5 in float32).
    - ``cg_max_steps``: conjugate-gradient iteration limit (default: ``10 * d``).
    """

    linear_solver: str = "cg"
    cg_tol: float | None = None
    cg_max_steps: int | None = None

    def __check_init__(self):
        if self.linear_solver not in _LINEAR_SOLVERS:
            raise ValueError(
                f"Implicit linear_solver must be one of {_LINEAR_SOLVERS}, got "
                f"{self.linear_solver!r}."
            )
        if self.cg_tol is not None and not (
            isinstance(self.cg_tol, int | float) and self.cg_tol > 0
        ):
            raise ValueError(f"Implicit cg_tol must be a positive float, got {self.cg_tol!r}.")
        if self.cg_max_steps is not None and not (
            isinstance(self.cg_max_steps, int) and self.cg_max_steps > 0
        ):
            raise ValueError(
                f"Implicit cg_max_steps must be a positive integer, got {self.cg_max_steps!r}."
            )

    def solve(self, solver, fn, prox, params, args, curvature, stationarity, attainable=None):
        return _implicit_solve(
            params,
            args,
            solver=solver,
            fn=fn,
            prox=prox,
            curvature=curvature,
            stationarity=stationarity,
            adjoint=self,
            attainable=attainable,
        )

    def _inverse(self, stationarity: Stationarity, x, args, free) -> Callable:
        """``rhs -> K^{-1} rhs``, with ``K`` the Hessian on the free block and the identity off
        it; linear in ``rhs`` and transposable (``K`` is symmetric), so reverse mode works."""
        flat, unravel = ravel_pytree(x)
        d = flat.shape[0]
        if self.linear_solver == "cholesky":
            if stationarity.hessian is None:
                hessian = jax.hessian(lambda v: stationarity.objective(unravel(v), args))(flat)
            else:
                hessian = stationarity.hessian(x, args)
            factor, _ = safe_cholesky(restricted_to(hessian, free).astype(flat.dtype))
            return lambda rhs: jax.scipy.linalg.cho_solve((factor, True), rhs)

        if stationarity.hessian_vector is None:

            def grad(v):
                return ravel_pytree(jax.grad(stationarity.objective)(unravel(v), args))[0]

            def product(v):
                return jax.jvp(grad, (flat,), (v,))[1]

        else:
            product = stationarity.hessian_vector(x, args)

        def operator(v):
            return jnp.where(free, product(jnp.where(free, v, 0.0)), v)

        precondition = None
        if stationarity.preconditioner is not None:
            approximation = stationarity.preconditioner(x, args).astype(flat.dtype)
            factor, finite = safe_cholesky(restricted_to(approximation, free))

            def precondition(r):
                solved = jax.scipy.linalg.cho_solve((factor, True), r)
                return jnp.where(finite, solved, r)

        precise = jnp.finfo(flat.dtype).bits >= 64
        tol = self.cg_tol if self.cg_tol is not None else (1e-10 if precise else 1e-5)
        max_steps = self.cg_max_steps if self.cg_max_steps is not None else 10 * d

        def cg(matvec, rhs):
            return conjugate_gradient(matvec, rhs, tol, max_steps, precondition)

        # custom_linear_solve makes the solve transposable (JAX cannot transpose the loop).
        return lambda rhs: jax.lax.custom_linear_solve(operator, rhs, cg, symmetric=True)


class Unrolled(AbstractAdjoint):
    """Differentiate through the solver's iterations, as run (forward and reverse mode).

    This is the derivative of the finite computation (what an early-stopped fit did), not of
    the exact minimiser; it approaches `Implicit`'s as the solve converges. It asks the solve
    for bounded loops, so every loop (its steps, line searches, inner solves) runs as a loop
    of at most its step limit that reverse mode can go through: memory then grows with
    ``max_steps`` times the solver's working arrays (``n`` values each), so give the solver a
    small ``max_steps``. Prefer `Implicit` unless you need the iterations themselves.
    """

    def solve(self, solver, fn, prox, params, args, curvature, stationarity, attainable=None):
        return iterative_solve(
            solver, fn, prox, params, args, curvature, loop="bounded", attainable=attainable
        )


@eqx.filter_custom_jvp
def _implicit_solve(
    params, args, *, solver, fn, prox, curvature, stationarity, adjoint, attainable
):
    solution = iterative_solve(solver, fn, prox, params, args, curvature, attainable=attainable)
    # The solver's state is not a function of args that implicit differentiation defines.
    return eqx.tree_at(lambda s: s.state, solution, None, is_leaf=lambda x: x is None)


@_implicit_solve.def_jvp
def _implicit_solve_jvp(primals, tangents, **static):
    params, args = primals
    _, t_args = tangents  # the starting point has no influence on the solution
    solution = _implicit_solve(params, args, **static)
    fn, stationarity, adjoint = static["fn"], static["stationarity"], static["adjoint"]
    no_tangent = jax.tree.map(lambda _: None, solution)
    if all(t is None for t in jax.tree.leaves(t_args, is_leaf=lambda t: t is None)):
        return solution, no_tangent
    x = solution.params
    free = stationarity.free(x, args)

    def flat_gradient(a):
        return ravel_pytree(jax.grad(stationarity.objective)(x, a))[0]

    # How the optimality condition moves with args, then the step that restores it.
    _, moved = eqx.filter_jvp(flat_gradient, (args,), (t_args,))
    rhs = jnp.where(free, -moved, 0.0)
    t_flat = adjoint._inverse(stationarity, x, args, free)(rhs)
    t_params = ravel_pytree(x)[1](t_flat)
    _, t_value = eqx.filter_jvp(fn, (x, args), (t_params, t_args))
    t_solution = eqx.tree_at(
        lambda s: (s.params, s.value),
        no_tangent,
        (t_params, t_value),
        is_leaf=lambda t: t is None,
    )
    return solution, t_solution
