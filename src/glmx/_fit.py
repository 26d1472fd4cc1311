"""`fit`, `init_state` and `update`: build the GLM objective, run a solver, return a new model.

The objective (DESIGN.md): the weighted mean negative log-likelihood at unit dispersion plus the
penalty on the coefficients,
``L(w, b) = -(1 / sum(s)) sum_i s_i loglik(y_i | mean_i) + penalty(w)``. Rows with NaN in ``X``
or ``y`` get zero weight (shapes stay static). The dispersion (scale) is estimated after the
solve from Pearson residuals.
"""

import warnings

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, Int

from ._design import block_sizes, keys_of, ravel_coef, ravel_design, unravel_coef
from ._glm import GLM, initial_intercept
from ._observations import AbstractObservation
from ._regularizers import AbstractRegularizer
from ._solvers import LBFGS, RESULTS, AbstractSolver, ProximalGradient, iterative_solve
from ._validate import check_solver, in_graph_checks, prepare


class ConvergenceWarning(UserWarning):
    """A fit stopped without meeting its convergence criterion."""


class FitResult(eqx.Module):
    """How a fit went.

    **Fields** (scalars for one GLM):
    - ``status``: a `RESULTS` item: ``successful``, ``max_steps_reached`` or ``nonfinite``.
    - ``num_steps``: solver steps taken.
    - ``objective``: the final objective (mean negative log-likelihood + penalty).
    - ``optimality``: the solver's optimality measure at the end (gradient or gradient-mapping
      inf-norm); the fit converged when it is at most the solver's ``tol``.
    - ``dof_resid``: residual degrees of freedom, ``sum(sample_weight) - (nonzero coef + 1)``
      over the rows used.
    - ``n_excluded``: rows left out because ``X`` or ``y`` had a NaN.
    """

    status: RESULTS
    num_steps: Int[Array, "*batch"]
    objective: Float[Array, "*batch"]
    optimality: Float[Array, "*batch"]
    dof_resid: Float[Array, "*batch"]
    n_excluded: Int[Array, "*batch"]

    @property
    def converged(self):
        """Boolean array: whether the solve met its criterion."""
        return self.status == RESULTS.successful

    @property
    def message(self) -> str:
        """The status in words (for a concrete, unbatched result)."""
        return RESULTS[self.status]


class StepState(eqx.Module):
    """The state of step-wise fitting: the current parameters (flat ``(coef, intercept)``),
    the solver's own state, and the number of steps taken."""

    params: tuple
    solver_state: object
    num_steps: Int[Array, ""]


class _Args(eqx.Module):
    """What the objective depends on besides the parameters (all differentiable leaves)."""

    X: Float[Array, "n p"]
    y: Float[Array, " n"]
    weights: Float[Array, " n"]  # normalised to sum to 1; zero on excluded rows
    offset: Float[Array, " n"]
    observation: AbstractObservation
    regularizer: AbstractRegularizer


def negative_log_likelihood(params, args: _Args) -> Float[Array, ""]:
    coef, intercept = params
    eta = args.X @ coef + intercept + args.offset
    return -jnp.sum(args.weights * args.observation.predictor_log_likelihood(args.y, eta))


def penalised_objective(params, args: _Args) -> Float[Array, ""]:
    return negative_log_likelihood(params, args) + args.regularizer.penalty(params[0])


def _prox(params, step, args: _Args):
    coef, intercept = params
    return args.regularizer.prox(coef, step), intercept


def default_solver(regularizer: AbstractRegularizer) -> AbstractSolver:
    """L-BFGS for smooth penalties, proximal gradient (FISTA) for the others."""
    return LBFGS() if regularizer.is_smooth else ProximalGradient()


def _problem(solver: AbstractSolver):
    """The smooth part and the prox a solver minimises."""
    if solver.handles_nonsmooth:
        return negative_log_likelihood, _prox
    return penalised_objective, None


def _cast(tree, dtype):
    """Floating leaves of ``tree`` in ``dtype`` (hyperparameters follow the data's dtype)."""
    return jax.tree.map(lambda x: jnp.asarray(x, dtype) if eqx.is_inexact_array(x) else x, tree)


def _exclude_missing(X, y, sample_weight):
    missing = jnp.isnan(y) | jnp.any(jnp.isnan(X), axis=1)
    X = jnp.where(missing[:, None], 0.0, X)
    y = jnp.where(missing, 1.0, y)  # a value in every family's support; its weight is zero
    weights = jnp.where(missing, 0.0, sample_weight)
    return X, y, weights, jnp.sum(missing)


def _setup(model: GLM, X, y, sample_weight, offset, check_in_graph: bool):
    """The objective's arguments on clean data, and the starting parameters."""
    if check_in_graph:
        y = in_graph_checks(model, X, y, sample_weight, offset)
    X, y, weights, n_excluded = _exclude_missing(X, y, sample_weight)
    dtype = X.dtype
    observation, regularizer = model.observation, model.regularizer
    total_weight = jnp.sum(weights)
    args = _Args(X, y, weights / total_weight, offset, observation, regularizer)
    if model.coef is None:
        y_mean = jnp.sum(weights * y) / total_weight
        params = (jnp.zeros(X.shape[1], dtype), initial_intercept(observation, y_mean))
    else:
        params = (model.coef, model.intercept)
    return args, params, weights, n_excluded


def _finish(model: GLM, params, args: _Args, weights):
    """The fitted model with its estimated scale, and the residual degrees of freedom."""
    coef, intercept = params
    mean = args.observation.link.inverse(args.X @ coef + intercept + args.offset)
    dof_resid = jnp.sum(weights) - (jnp.count_nonzero(coef) + 1).astype(weights.dtype)
    scale = args.observation.estimate_scale(args.y, mean, dof_resid, weights)
    fitted = eqx.tree_at(
        lambda m: (m.coef, m.intercept, m.scale),
        model,
        (coef, intercept, scale),
        is_leaf=lambda x: x is None,
    )
    return fitted, dof_resid


@eqx.filter_jit
def _fit_flat(model: GLM, X, y, sample_weight, offset, solver, check_in_graph):
    args, params, weights, n_excluded = _setup(model, X, y, sample_weight, offset, check_in_graph)
    fn, prox = _problem(solver)
    solution = iterative_solve(solver, fn, prox, params, args)
    fitted, dof_resid = _finish(model, solution.params, args, weights)
    objective = solution.value
    if prox is not None:
        objective = objective + args.regularizer.penalty(solution.params[0])
    result = FitResult(
        status=solution.status,
        num_steps=solution.num_steps,
        objective=objective,
        optimality=solution.optimality,
        dof_resid=dof_resid,
        n_excluded=n_excluded,
    )
    return fitted, result


def _flat_model(model: GLM, dtype) -> GLM:
    """The model as the compiled core sees it: flat coefficients, and every floating leaf
    (hyperparameters, scale, parameters) in the data's dtype and strongly typed, so that
    ``Ridge(0.1)`` and ``Ridge(np.float64(0.2))`` share one compilation."""
    if isinstance(model.coef, dict):
        model = eqx.tree_at(lambda m: m.coef, model, ravel_coef(model.coef))
    return _cast(model, dtype)


def _without_params(model: GLM) -> GLM:
    return eqx.tree_at(
        lambda m: (m.coef, m.intercept), model, (None, None), is_leaf=lambda x: x is None
    )


def _restore(fitted: GLM, X) -> GLM:
    keys = keys_of(X)
    if keys is None:
        return fitted
    coef = unravel_coef(fitted.coef, keys, block_sizes(X))
    return eqx.tree_at(lambda m: m.coef, fitted, coef)


def _warn_if_unconverged(result: FitResult) -> None:
    if isinstance(result.status._value, jax.core.Tracer):
        return
    converged = jax.device_get(result.converged)
    if bool(jnp.all(converged)):
        return
    message = RESULTS[result.status] if jnp.ndim(converged) == 0 else "some fits did not converge"
    warnings.warn(
        f"glmx.fit: {message} (optimality {jax.device_get(result.optimality)} after "
        f"{jax.device_get(result.num_steps)} steps).",
        ConvergenceWarning,
        stacklevel=3,
    )


def fit(
    model: GLM,
    X,
    y,
    solver: AbstractSolver | None = None,
    *,
    sample_weight=None,
    offset=None,
) -> tuple[GLM, FitResult]:
    """Fit a GLM: minimise its penalised mean negative log-likelihood. Pure; compiled once per
    (shapes, dtypes, structure), so new data of the same shape or a new strength reuses it.

    **Arguments:**
    - ``model``: a `GLM`. If it has coefficients, the solve starts from them (a warm start).
    - ``X``: the design, ``(n, p)``, or a dict of ``(n, p_k)`` blocks (the fitted coefficients
      are then a dict with the same keys). Rows with NaN are left out.
    - ``y``: observations ``(n,)`` in the family's support; NaN rows are left out.
    - ``solver``: a solver module; default `LBFGS()` for smooth regularizers and
      `ProximalGradient()` otherwise.
    - ``sample_weight``: ``(n,)`` non-negative frequency weights (default 1).
    - ``offset``: ``(n,)`` added to the linear predictor (e.g. log exposure).

    **Returns:** ``(fitted_model, result)``: the model with ``coef``, ``intercept`` and the
    estimated ``scale``, and a `FitResult`. Computation is in the dtype of the inputs.

    **Raises:** ``ValueError`` / ``TypeError`` for bad input, before any work; a
    `ConvergenceWarning` if the solve did not converge (when the result is concrete).

    **Example:**
    ```python
    model, result = glmx.fit(glmx.GLM(glmx.Poisson(), glmx.Lasso(1e-2)), X, spikes)
    print(result.message, model.coef)
    ```
    """
    solver, inputs, data = _checked(model, X, y, solver, sample_weight, offset)
    fitted, result = _fit_flat(*data, solver, inputs.traced)
    _warn_if_unconverged(result)
    return _restore(fitted, inputs.X), result


def _checked(model, X, y, solver, sample_weight, offset, strip_params=False):
    """Validate a call; return the solver, the checked inputs, and the compiled core's data
    ``(flat_model, X as (n, p), y, sample_weight, offset)``. ``strip_params`` drops the model's
    parameters (`update` takes them from its state)."""
    if not isinstance(model, GLM):
        raise TypeError(f"model must be a glmx.GLM, got {type(model).__name__}.")
    if strip_params:
        model = _without_params(model)
    solver = default_solver(model.regularizer) if solver is None else solver
    check_solver(model, solver)
    inputs = prepare(model, X, y, sample_weight, offset)
    data = (
        _flat_model(model, inputs.y.dtype),
        ravel_design(inputs.X),
        inputs.y,
        inputs.sample_weight,
        inputs.offset,
    )
    return solver, inputs, data


@eqx.filter_jit
def _init_state_flat(model, X, y, sample_weight, offset, solver, check_in_graph):
    args, params, _, _ = _setup(model, X, y, sample_weight, offset, check_in_graph)
    fn, prox = _problem(solver)
    return StepState(params, solver.init(fn, prox, params, args), jnp.array(0))


@eqx.filter_jit
def _update_flat(model, state, X, y, sample_weight, offset, solver, check_in_graph):
    args, _, weights, _ = _setup(model, X, y, sample_weight, offset, check_in_graph)
    fn, prox = _problem(solver)
    params, solver_state = solver.step(fn, prox, state.params, state.solver_state, args, True)
    fitted, _ = _finish(model, params, args, weights)
    return fitted, StepState(params, solver_state, state.num_steps + 1)


def init_state(
    model: GLM, X, y, solver: AbstractSolver | None = None, *, sample_weight=None, offset=None
) -> StepState:
    """The state for step-wise fitting with `update`, starting from the model's parameters
    (or `GLM.initialize_params` if it has none). Arguments as in `fit`."""
    solver, inputs, data = _checked(model, X, y, solver, sample_weight, offset)
    return _init_state_flat(*data, solver, inputs.traced)


def update(
    model: GLM,
    state: StepState,
    X,
    y,
    solver: AbstractSolver | None = None,
    *,
    sample_weight=None,
    offset=None,
) -> tuple[GLM, StepState]:
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
    solver, inputs, data = _checked(model, X, y, solver, sample_weight, offset, True)
    n_coef, n_features = state.params[0].shape[-1], data[1].shape[1]
    if n_coef != n_features:
        raise ValueError(
            f"X has {n_features} features but state holds {n_coef} coefficients; they must match."
        )
    fitted, state = _update_flat(data[0], state, *data[1:], solver, inputs.traced)
    return _restore(fitted, inputs.X), state
