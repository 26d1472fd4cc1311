"""What every solver shares: the problem it is given, the status enumeration, the abstract
solver and the one loop.

Solvers minimise ``F(x) = fn(x, args) + g(x)`` over a pytree ``x``, where ``fn`` is smooth and
``g`` is reached only through ``prox(x, step, args)`` (``None`` when there is no ``g``). They
know nothing of GLMs. A `Problem` bundles what a solver works with (``fn``, the prox, the
curvature the problem offers) with the kind of loop to build: the adjoint chooses it
(`Unrolled` asks for loops reverse mode can go through) and every loop of the solve, the
outer one and the solvers' inner searches, is built from it by `Problem.while_loop`.
"""

import abc
from collections.abc import Callable
from typing import Any, ClassVar, Literal, get_args

import equinox as eqx
import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree
from jaxtyping import Array, Bool, Float, Int

from .._repr import ValueRepr

Objective = Callable[[Any, Any], Float[Array, ""]]


def nonzero_coordinates(x, args) -> Bool[Array, " d"]:
    """The non-zero coordinates of ``ravel_pytree(x)``: `NonSmooth`'s default ``smooth_at``."""
    return ravel_pytree(x)[0] != 0


class NonSmooth(eqx.Module):
    """The non-smooth part ``g`` of an objective, the one form in which solvers take it.

    - ``prox(x, step, args)``: ``argmin_z 0.5 ||z - x||^2 + step * g(z)``.
    - ``value(x, args)``: ``g(x)`` (for solvers that test the decrease of the whole objective,
      such as `ProximalNewton`).
    - ``smooth_at(x, args)``: a flat boolean mask over ``ravel_pytree(x)`` of the coordinates
      at which ``g`` is twice differentiable, holding the others fixed (`ProximalNewton`'s
      inner solve takes Newton steps on them). The default, `nonzero_coordinates`, suits
      penalties whose kinks lie where coordinates are zero (L1, group norms).
    """

    prox: Callable[[Any, Float[Array, ""], Any], Any]
    value: Callable[[Any, Any], Float[Array, ""]]
    smooth_at: Callable[[Any, Any], Bool[Array, " d"]] = nonzero_coordinates

    def __check_init__(self):
        for name, part in (
            ("prox", self.prox),
            ("value", self.value),
            ("smooth_at", self.smooth_at),
        ):
            if not callable(part):
                raise TypeError(f"NonSmooth's {name} must be a function, got {part!r}.")


class Curvature(eqx.Module):
    """Second-order information a problem offers its solver, as matrices over
    ``ravel_pytree(params)``.

    - ``hessian(params, args, low_precision)``: a positive semi-definite matrix equal to (or,
      for non-canonical links, the expected value of) the Hessian of ``fn`` at ``params``;
      ``low_precision=True`` allows forming its large products in float32 (a float64 solve then
      stays exact, since the gradient stays in float64; only the step count may change).
    - ``estimate(params, args)``: a cheaper positive definite estimate (for GLMs: the Fisher
      information on an evenly spaced eighth of the rows, formed in float32), or ``None`` when
      the problem offers none.
    """

    hessian: Callable[[Any, Any, bool], Float[Array, "d d"]]
    estimate: Callable[[Any, Any], Float[Array, "d d"]] | None


class AbstractRows(eqx.Module):
    """Problem arguments that are a mean over rows and can be restricted to some of them: the
    interface stochastic solvers (`SVRG`) sample mini-batches through.

    - ``n_rows``: how many rows the objective averages over.
    - ``take_rows(index)``: the arguments on the rows ``index`` ``(b,)``, reweighted so that the
      objective on them estimates the full one without bias when rows are drawn uniformly.
    """

    @property
    @abc.abstractmethod
    def n_rows(self) -> int:
        """The number of rows."""

    @abc.abstractmethod
    def take_rows(self, index: Int[Array, " b"]) -> "AbstractRows":
        """The arguments on the rows ``index``."""


#: The loops a `Problem` builds: ``"lax"`` (``lax.while_loop``: forward-mode autodiff only) or
#: ``"bounded"`` (a loop of at most its step limit that reverse mode goes through as well).
LoopKind = Literal["lax", "bounded"]
_LOOP_KINDS = get_args(LoopKind)


class Problem(eqx.Module):
    """What a solver works with: ``fn`` (the smooth part), ``prox`` (the non-smooth part, or
    ``None``), ``curvature`` (a `Curvature`, or ``None``), ``floor`` (the smallest optimality
    measure the problem's rounding lets a solver reach, see `iterative_solve`) and ``loop``,
    the kind of loop every loop of the solve is built as (chosen by the adjoint; see
    `while_loop`).
    """

    fn: Objective
    prox: NonSmooth | None
    curvature: Curvature | None = None
    loop: LoopKind = eqx.field(default="lax", static=True)
    floor: Float[Array, ""] | float = 0.0

    def __check_init__(self):
        if self.loop not in _LOOP_KINDS:
            raise ValueError(f"Problem loop must be one of {_LOOP_KINDS}, got {self.loop!r}.")
        if not (self.prox is None or isinstance(self.prox, NonSmooth)):
            raise TypeError(
                "Problem prox must be a NonSmooth(prox, value) (solvers need the penalty's "
                f"value as well as its prox) or None, got {self.prox!r}."
            )

    def while_loop(self, cond, body, init, *, max_steps: int):
        """``lax.while_loop(cond, body, init)`` for a loop that never runs more than
        ``max_steps`` times (its ``cond`` must enforce that). For ``loop="bounded"`` it is a
        bounded loop that both forward- and reverse-mode autodiff go through, at the cost of
        memory per step.

        Solvers build every loop with it, so that the adjoint's choice reaches them all.
        """
        if self.loop == "lax":
            return jax.lax.while_loop(cond, body, init)
        return eqx.internal.while_loop(cond, body, init, max_steps=max_steps, kind="bounded")


def _checked_problem(solver, fn, prox, curvature, loop="lax", floor=0.0) -> Problem:
    # The prox is checked here, not by the callers' annotations (which test-time type checking
    # would enforce first), so that the message names the solver.
    if not (prox is None or isinstance(prox, NonSmooth)):
        raise TypeError(
            f"{type(solver).__name__} needs the penalty's value as well as its prox: pass prox "
            "as a glmx._solvers.NonSmooth(prox, value), or None when there is no penalty; got "
            f"{prox!r}."
        )
    return Problem(fn, prox, curvature, loop, floor)


class RESULTS(eqx.Enumeration):
    """How a solve ended. Compare with ``==``: ``result.status == glmx.RESULTS.successful``."""

    successful = "converged: the optimality measure fell below the tolerance"
    max_steps_reached = (
        "did not converge: the step limit was reached before the optimality measure fell below "
        "the tolerance; raise max_steps, loosen tol, or rescale X"
    )
    nonfinite = (
        "failed: the objective or its gradient became non-finite; check the data for extreme "
        "values or start from better parameters"
    )
    diverging = (
        "no finite estimate: the objective keeps decreasing as the estimates grow along a "
        "direction (perfect or quasi-separation of a binary outcome, or a response at its bound "
        "on every row that direction moves, such as an all-zero neuron); add a penalty such as "
        "glmx.Ridge, or drop the features that separate"
    )
    rank_deficient = (
        "not identified: the columns of X (with the intercept) are linearly dependent to the "
        "dtype's precision, so the unpenalised estimate is one of many with the same fit; drop "
        "or combine the columns named, or add a penalty such as glmx.Ridge"
    )


def default_tol(dtype) -> float:
    """The default tolerance on the optimality measure for a dtype: 1e-8 (f64), 1e-4 (f32)."""
    return 1e-8 if jnp.finfo(dtype).bits >= 64 else 1e-4


def resolved_tol(solver, dtype) -> float:
    """The solver's ``tol``, or `default_tol` of ``dtype`` when it is ``None``."""
    return default_tol(dtype) if solver.tol is None else solver.tol


class AbstractSolver(ValueRepr):
    """Base class of solvers: an ``init`` / ``step`` pair on a `Problem`, with an explicit
    state.

    **Fields every solver has:** ``max_steps`` (int) and ``tol`` (float, or ``None`` for
    `default_tol` of the parameters' dtype): the solve stops when the solver's optimality
    measure (an inf-norm of a gradient or gradient mapping) is ``<= tol``.

    ``handles_nonsmooth`` says whether the solver uses a prox (and so accepts any
    regularizer); smooth solvers get the penalty added to ``fn``.

    `iterative_solve` runs ``init`` then ``step`` to convergence; a caller that steps by hand
    (as `glmx.update` does) calls them itself.
    """

    max_steps: eqx.AbstractVar[int]
    tol: eqx.AbstractVar[float | None]
    handles_nonsmooth: ClassVar[bool]

    @abc.abstractmethod
    def init(self, problem: Problem, params: Any, args: Any) -> Any:
        """The solver's state before its first step from ``params``.

        ``problem.curvature``, when given, is the Hessian of ``fn`` (or an estimate of it) in
        ``ravel_pytree(params)`` coordinates. A solver may use it (Newton's method factorises
        it; L-BFGS starts from the estimate) or ignore it.
        """

    @abc.abstractmethod
    def step(
        self, problem: Problem, params: Any, state: Any, args: Any, fresh: bool
    ) -> tuple[Any, Any]:
        """One step: ``(new_params, new_state)``.

        ``fresh=True`` says ``fn``/``args`` may differ from the previous step (a new mini-batch),
        so nothing evaluated on the previous batch may be reused.
        """

    @abc.abstractmethod
    def optimality(self, state: Any) -> Float[Array, ""]:
        """The optimality measure at the latest iterate (``inf`` before any step)."""

    @abc.abstractmethod
    def value(self, state: Any) -> Float[Array, ""]:
        """``fn`` at the latest iterate (the smooth part only)."""


class Solution(eqx.Module):
    """What `iterative_solve` returns: final parameters, state, status and counters."""

    params: Any
    state: Any
    status: RESULTS
    num_steps: Int[Array, ""]
    optimality: Float[Array, ""]
    value: Float[Array, ""]


def _dtype_of(params) -> Any:
    return jnp.result_type(*jax.tree.leaves(params))


def status_of(
    solver: AbstractSolver, state: Any, dtype, done_steps: Int[Array, ""], floor=0.0
) -> tuple[RESULTS, Bool[Array, ""]]:
    """The status implied by ``state`` and whether the loop should stop: converged once the
    optimality measure is at most the solver's tolerance or the problem's ``floor``."""
    tol = jnp.maximum(resolved_tol(solver, dtype), floor)
    optimality = solver.optimality(state)
    bad = ~(jnp.isfinite(solver.value(state)) & ~jnp.isnan(optimality))
    converged = optimality <= tol
    status = RESULTS.where(
        bad,
        RESULTS.nonfinite,
        RESULTS.where(converged, RESULTS.successful, RESULTS.max_steps_reached),
    )
    stop = bad | converged | (done_steps >= solver.max_steps)
    return status, stop


def iterative_solve(
    solver: AbstractSolver,
    fn: Objective,
    prox: Any,  # NonSmooth | None, checked by _checked_problem
    params: Any,
    args: Any,
    curvature: Curvature | None = None,
    *,
    loop: LoopKind = "lax",
    attainable: Callable[[Any, Any], Float[Array, ""]] | None = None,
) -> Solution:
    """Run ``solver`` from ``params`` until it converges, fails, or hits ``max_steps``.

    One loop; under ``vmap`` each batch element stops on its own criterion (the loop keeps
    finished elements fixed), which is what per-neuron convergence relies on. ``loop`` is the
    kind of every loop of the solve (see `Problem`); the adjoint chooses it.

    ``attainable(params, args)``, when given, estimates at the start the smallest optimality
    measure that rounding lets any solver reach on this problem (for GLMs it grows with the
    scale of ``X`` and of the residuals); the solve counts as converged once the measure is at
    most that floor or the solver's ``tol``, whichever is larger. Unscaled data (a response of
    1e8) then converge to the accuracy their scale allows instead of running to the step limit.
    """
    floor = 0.0 if attainable is None else attainable(params, args)
    problem = _checked_problem(solver, fn, prox, curvature, loop, floor)
    dtype = _dtype_of(params)
    state = solver.init(problem, params, args)

    def cond(carry):
        _, state, k = carry
        return ~status_of(solver, state, dtype, k, floor)[1]

    def body(carry):
        params, state, k = carry
        params, state = solver.step(problem, params, state, args, False)
        return params, state, k + 1

    init = (params, state, jnp.array(0))
    params, state, k = problem.while_loop(cond, body, init, max_steps=solver.max_steps + 1)
    status, _ = status_of(solver, state, dtype, k, floor)
    return Solution(params, state, status, k, solver.optimality(state), solver.value(state))
