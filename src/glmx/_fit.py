"""`fit`, `init_state` and `update`: the public entry points, and the records they return.

A call checks its inputs' structure on the host (`glmx._data.prepare`), then runs ONE compiled
program: the value checks (`glmx._checks`), and unless one fails, the solve mapped over neurons
(`glmx._data.map_neurons`) of the problem `glmx._problem` assembles. Everything inside is
written for one neuron (`_solve_one`, `_init_one`, `_step_one`); a `PopulationGLM` runs the
same functions under ``vmap`` over its neuron axis, so shared designs become matrix-matrix
products and each neuron stops on its own criterion.
"""

import warnings

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Bool, Float, Int

from ._arrays import is_traced, strongly_typed
from ._categorical_glm import CategoricalGLM, PopulationCategoricalGLM
from ._categorical_problem import (
    is_categorical,
    prepare_categorical,
    restore_categorical,
    solve_one as solve_categorical,
)
from ._checks import run_checked
from ._data import Data, map_neurons, prepare, restore
from ._diagnostics import confirm, mark_status, quick_recession
from ._glm import GLM
from ._population import PopulationGLM
from ._problem import (
    ConvergenceWarning,
    finish,
    problem,
    resolve_solver,
    setup,
    small_counts,
    solve,
)
from ._regularizers import UnRegularized
from ._repr import ValueRepr
from ._solvers import RESULTS, AbstractAdjoint, AbstractSolver, Implicit, Problem


class FitResult(ValueRepr):
    """How a fit went; for a `PopulationGLM`, every field has one entry per neuron.

    **Fields:**

    - ``status``: a `RESULTS` item: ``successful``, ``max_steps_reached``, ``nonfinite``,
      ``diverging`` (no finite estimate) or ``rank_deficient`` (dependent columns).
    - ``num_steps``: solver steps taken.
    - ``objective``: the final objective (mean negative log-likelihood + penalty).
    - ``optimality``: the solver's optimality measure at the end (gradient or gradient-mapping
      inf-norm); the fit converged when it is at most the solver's ``tol``.
    - ``dof_resid``: residual degrees of freedom by count, ``sum(sample_weight) - (non-zero
      coef + 1)`` over the rows used (NeMoS's and statsmodels' count; the model's ``scale`` is
      estimated with it). `glmx.inference` reports the effective count,
      ``Inference.dof_resid_effective``, which is smaller for Ridge-type penalties.
    - ``n_excluded``: rows left out because ``X`` or ``y`` had a NaN.
    - ``recession``: ``(*neurons, p + 1)``, over ``(coef, intercept)`` flattened (a dict
      design's blocks in key order): when ``status`` is ``diverging``, the direction along
      which the estimates run to infinity (largest entry 1; its large entries name the
      coefficients involved), zeros otherwise. See "Estimates at infinity" in the Fitting guide.
    - ``unidentified``: ``(*neurons, p + 1)`` booleans, same layout: for an unpenalised model
      (`UnRegularized`), the parameters with a part in a linear dependency of ``[X, 1]`` on the
      rows used (then ``status`` is ``rank_deficient``); all False otherwise.
    """

    status: RESULTS
    num_steps: Int[Array, "*neurons"]
    objective: Float[Array, "*neurons"]
    optimality: Float[Array, "*neurons"]
    dof_resid: Float[Array, "*neurons"]
    n_excluded: Int[Array, "*neurons"]
    recession: Float[Array, "*neurons d"] | None = None
    unidentified: Bool[Array, "*neurons d"] | None = None

    @property
    def converged(self):
        """Boolean array: whether each solve met its criterion."""
        return self.status == RESULTS.successful

    @property
    def message(self) -> str:
        """The status in words; for a population, a summary naming the failed neurons."""
        if jnp.ndim(self.num_steps) == 0:
            if self.status == RESULTS.diverging and self.recession is not None:
                along = _in_words(np.abs(np.asarray(self.recession)) >= 0.1)
                return f"{RESULTS[self.status]} (the estimates grow along {along})"
            if self.status == RESULTS.rank_deficient and self.unidentified is not None:
                names = _in_words(np.asarray(self.unidentified))
                return f"{RESULTS[self.status]} ({names})"
            return RESULTS[self.status]
        failed = self.failed_neurons
        if failed.size == 0:
            return f"all {self.num_steps.shape[0]} neurons converged"
        return f"neurons {failed.tolist()} did not converge: " + "; ".join(
            f"{k}: {RESULTS[jax.tree.map(lambda x: x[k], self.status)]}" for k in failed[:5]
        )

    @property
    def failed_neurons(self) -> np.ndarray:
        """Indices of the neurons whose solve did not converge (population results)."""
        return np.flatnonzero(~np.atleast_1d(np.asarray(self.converged)))


def _in_words(chosen: np.ndarray) -> str:
    """The flat ``(coef, intercept)`` entries where ``chosen``, in words."""
    names = [
        "the intercept" if j == chosen.size - 1 else f"coef[{j}]" for j in np.flatnonzero(chosen)
    ]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


class StepState(ValueRepr):
    """The state of step-wise fitting: the current flat ``(coef, intercept)``, the solver's
    state and the number of steps taken (with a leading neuron axis for populations), and the
    name of the solver that made it."""

    params: tuple
    solver_state: object
    num_steps: Int[Array, "*neurons"]
    solver_name: str = eqx.field(static=True)


# --- one neuron ------------------------------------------------------------------------------


def _solve_one(glm: GLM, rows, use_table, solver, adjoint):
    args, params, weights = setup(glm, rows, use_table)
    fitted, solution, objective, dof_resid = solve(glm, args, params, weights, solver, adjoint)
    result = FitResult(
        status=solution.status,
        num_steps=solution.num_steps,
        objective=objective,
        optimality=solution.optimality,
        dof_resid=dof_resid,
        n_excluded=jnp.sum(rows.missing),
    )
    return fitted, result, quick_recession(solution.params, args)


def _init_one(glm: GLM, rows, use_table, solver):
    args, params, _ = setup(glm, rows, use_table)
    fn, prox, curvature, _ = problem(solver, args.X.shape[-1])
    state = solver.init(Problem(fn, prox, curvature), params, args)
    return StepState(params, state, jnp.array(0), type(solver).__name__)


def _step_one(glm: GLM, rows, use_table, solver, state: StepState):
    args, _, weights = setup(glm, rows, use_table)
    fn, prox, curvature, _ = problem(solver, args.X.shape[-1])
    params, solver_state = solver.step(
        Problem(fn, prox, curvature), state.params, state.solver_state, args, True
    )
    fitted, _ = finish(glm, params, args, weights)
    return fitted, StepState(params, solver_state, state.num_steps + 1, state.solver_name)


# --- the work of each call, compiled with the value checks by `run_checked` --------------------


def _fit_work(glm: GLM, data: Data, solver, adjoint, throw: bool):
    use_table = small_counts(data.y)
    fitted, result, (quick, suspects) = map_neurons(
        _solve_one, glm, data, use_table, solver, adjoint
    )
    diverging = jnp.any(quick != 0, axis=-1) & (result.status == RESULTS.successful)
    status = mark_status(diverging, RESULTS.diverging, result.status)
    result = eqx.tree_at(
        lambda r: (r.status, r.recession, r.unidentified),
        result,
        (status, quick, jnp.zeros(quick.shape, bool)),
        is_leaf=lambda x: x is None,
    )
    if throw:
        fitted = result.status.error_if(fitted, result.status != RESULTS.successful)
    return fitted, result, suspects & (status == RESULTS.successful)


def _fit_categorical_work(glm, data: Data, solver, adjoint, throw: bool):
    fitted, parts = map_neurons(solve_categorical, glm, data, solver, adjoint)
    result = FitResult(*parts)
    if throw:
        fitted = result.status.error_if(fitted, result.status != RESULTS.successful)
    return fitted, result


def _init_work(glm: GLM, data: Data, solver):
    return strongly_typed(map_neurons(_init_one, glm, data, small_counts(data.y), solver))


def _step_work(glm: GLM, data: Data, solver, state: StepState):
    use_table = small_counts(data.y)
    fitted, state = map_neurons(
        _step_one, glm, data, use_table, solver, state, extra_axes=(None, None, 0)
    )
    return fitted, strongly_typed(state)


def _warn_if_unconverged(result: FitResult) -> None:
    if is_traced(result) or bool(np.all(np.asarray(result.converged))):
        return
    detail = ""
    if jnp.ndim(result.num_steps) == 0:
        detail = f" (optimality {float(result.optimality):.3g} after {int(result.num_steps)} steps)"
    warnings.warn(f"glmx.fit: {result.message}{detail}.", ConvergenceWarning, stacklevel=3)


# --- the public entry points -----------------------------------------------------------------


def fit(
    model: GLM | PopulationGLM | CategoricalGLM | PopulationCategoricalGLM,
    X,
    y,
    solver: AbstractSolver | None = None,
    *,
    sample_weight=None,
    offset=None,
    adjoint: AbstractAdjoint = Implicit(),
    throw: bool = False,
) -> tuple[GLM | PopulationGLM | CategoricalGLM | PopulationCategoricalGLM, FitResult]:
    """Fit a GLM or a population of GLMs: minimise the penalised mean negative log-likelihood.

    Pure, and compiled once per (shapes, dtypes, structure): new data of the same shape or a new
    strength reuses the compiled fit, which is one program (the value checks and the solve).

    **Arguments:**

    - ``model``: a `GLM` or `PopulationGLM` (or a `CategoricalGLM` or
      `PopulationCategoricalGLM`, with class labels as ``y`` and no ``offset``). If it has
      coefficients, the solve starts from them.
    - ``X``: the design, ``(n, p)``, or a dict of ``(n, p_k)`` blocks (the fitted coefficients
      are then a dict with the same keys). For a population, ``X`` may also be per neuron,
      ``(neurons, n, p)``. Rows with NaN are left out.
    - ``y``: observations ``(n,)`` in the family's support, or ``(n, neurons)`` for a
      population; NaN entries are left out.
    - ``solver``: a solver module; by default `default_solver` picks one from the penalty and
      the number of features (`LBFGS` for smooth penalties; `ProximalNewton` for the others up
      to 1,000 features, `ProximalGradient` above).
    - ``sample_weight``: ``(n,)`` non-negative frequency weights (default 1), or ``(n, neurons)``.
    - ``offset``: ``(n,)`` added to the linear predictor (e.g. log exposure), or ``(n, neurons)``.
    - ``adjoint``: how ``jax.grad``, ``jax.jvp`` and ``jax.vjp`` go through the fit:
      `Implicit()` (default) differentiates the optimality conditions at the solution
      (exact for the returned solution; on the active set for Lasso-type penalties);
      `Unrolled()` differentiates the solver's iterations. See the guide to differentiating
      through fits.
    - ``throw``: if ``True``, a solve that did not converge raises an error, also inside the
      caller's ``jit``/``vmap`` (through ``eqx.error_if``, as ``optimistix.minimise(...,
      throw=True)``). If ``False`` (default), it warns with a `ConvergenceWarning` when the
      result is concrete; read ``result.status`` either way.

    **Returns:** ``(fitted_model, result)``: the model with ``coef``, ``intercept`` and the
    estimated ``scale``, and a `FitResult` (per neuron for populations). Computation is in the
    dtype of the inputs.

    **Raises:** ``ValueError`` / ``TypeError`` for bad input, before any solver step; a
    `ConvergenceWarning` (or, with ``throw=True``, an error) if a solve did not converge.

    **Example:**
    ```python
    model, result = glmx.fit(glmx.GLM(glmx.Poisson(), glmx.Lasso(1e-2)), X, spikes)
    print(result.message, model.coef)
    ```
    """
    if not isinstance(adjoint, AbstractAdjoint):
        raise TypeError(f"adjoint must be glmx.Implicit() or glmx.Unrolled(), got {adjoint!r}.")
    if not isinstance(throw, bool):
        raise TypeError(f"throw must be True or False, got {throw!r}.")
    if is_categorical(model):  # glmx.CategoricalGLM and its population: docs/categorical.md
        glm, data = prepare_categorical(model, X, y, sample_weight, offset)
        n_coef = data.n_features * glm.observation.n_classes  # the Hessian is (p K)^2
        solver = resolve_solver(solver, glm.regularizer, n_coef)
        fitted, result = run_checked(_fit_categorical_work, glm, data, solver, adjoint, throw)
        _warn_if_unconverged(result)
        return restore_categorical(model, fitted), result
    glm, data = prepare(model, X, y, sample_weight, offset)
    solver = resolve_solver(solver, glm.regularizer, data.n_features)
    fitted, result, suspects = run_checked(_fit_work, glm, data, solver, adjoint, throw)
    unpenalised = isinstance(glm.regularizer, UnRegularized)
    result = confirm(glm, data, fitted, result, (suspects, unpenalised), throw)
    _warn_if_unconverged(result)
    return restore(model, fitted, data), result


def init_state(
    model: GLM | PopulationGLM,
    X,
    y,
    solver: AbstractSolver | None = None,
    *,
    sample_weight=None,
    offset=None,
) -> StepState:
    """The state for step-wise fitting with `update`, starting from the model's parameters
    (or `GLM.initialize_params` if it has none). Arguments as in `fit`."""
    glm, data = prepare(model, X, y, sample_weight, offset)
    return run_checked(
        _init_work, glm, data, resolve_solver(solver, glm.regularizer, data.n_features)
    )


def update(
    model: GLM | PopulationGLM,
    state: StepState,
    X,
    y,
    solver: AbstractSolver | None = None,
    *,
    sample_weight=None,
    offset=None,
) -> tuple[GLM | PopulationGLM, StepState]:
    """One solver step on the batch ``(X, y)``: returns ``(model, state)``.

    The iterate lives in ``state``; the returned model carries it (and a scale estimated on the
    batch). Batches of the same shape reuse one compiled step, so a Python loop over
    mini-batches never recompiles. Use the same ``solver`` as in `init_state`.

    **Example:**
    ```python
    state = glmx.init_state(model, X[:1000], y[:1000])
    for X_batch, y_batch in batches:
        model, state = glmx.update(model, state, X_batch, y_batch)
    ```
    """
    if not isinstance(state, StepState):
        raise TypeError(f"state must come from glmx.init_state, got {type(state).__name__}.")
    glm, data = prepare(model, X, y, sample_weight, offset, strip_params=True)
    solver = resolve_solver(solver, glm.regularizer, data.n_features)
    name = type(solver).__name__
    if state.solver_name != name:
        raise ValueError(
            f"state was made by {state.solver_name} but solver is {name}; "
            "pass the solver given to glmx.init_state."
        )
    n_coef, n_features = state.params[0].shape[-1], data.n_features
    if n_coef != n_features:
        raise ValueError(
            f"X has {n_features} features but state holds {n_coef} coefficients; they must match."
        )
    fitted, state = run_checked(_step_work, glm, data, solver, state)
    return restore(model, fitted, data), state
