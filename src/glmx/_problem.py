"""The GLM problem handed to a solver: its parts, the default solver, and one neuron's set-up
and finish.

`problem` assembles what a solver and an adjoint work with from the objective's math
(`glmx._objective`): the smooth part, the penalty's prox (for solvers that handle non-smooth
penalties), the curvature (Fisher information and its cheap estimate) and what implicit
differentiation needs. `setup` turns one neuron's `Rows` into the objective's `Args` and its
starting parameters; `finish` turns a solution back into a fitted `GLM`.
"""

import functools

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Bool, Float

from ._data import Rows
from ._glm import GLM, initial_intercept
from ._objective import (
    Args,
    fisher_estimate,
    fisher_hessian,
    free_coordinates,
    masked,
    negative_log_likelihood,
    observed_hessian,
    observed_hessian_vector,
    penalised_objective,
    predictor,
)
from ._observations import AbstractObservation
from ._regularizers import AbstractRegularizer
from ._solvers import (
    LBFGS,
    AbstractSolver,
    Curvature,
    NonSmooth,
    ProximalGradient,
    ProximalNewton,
    Stationarity,
)


class ConvergenceWarning(UserWarning):
    """A fit stopped without meeting its convergence criterion."""


#: Above this many features a Hessian (``n p^2`` to form, ``p^3`` to factorise) per outer step
#: costs more than the first-order steps it saves, so the automatic choice is first order.
MAX_NEWTON_FEATURES = 1000

#: Above this many features the Gram (n p^2) and its Cholesky (p^3 per neuron) cost more than
#: the L-BFGS steps they save, so no curvature estimate is offered (Newton still factorises).
MAX_CURVATURE_FEATURES = 1000


def default_solver(regularizer: AbstractRegularizer, n_features: int) -> AbstractSolver:
    """The solver `fit` uses when none is given (documented in the Solvers guide):

    - smooth penalties (`UnRegularized`, `Ridge`): `LBFGS`, its steps scaled by the
      Fisher information on an eighth of the rows at every iterate when there are at most
      1,000 features (an eighth of a Gram per step, where Newton needs a whole one);
    - other penalties: `ProximalNewton` up to 1,000 features, `ProximalGradient` above.
    """
    if not isinstance(regularizer, AbstractRegularizer):
        raise TypeError(
            f"regularizer must be a glmx regularizer (e.g. glmx.Ridge(0.1)), got {regularizer!r}."
        )
    if regularizer.is_smooth:
        return LBFGS()
    if n_features <= MAX_NEWTON_FEATURES:
        return ProximalNewton()
    return ProximalGradient()


def resolve_solver(
    solver: AbstractSolver | None, regularizer: AbstractRegularizer, n_features: int
) -> AbstractSolver:
    """``solver`` after checking that it can handle ``regularizer``, or `default_solver`."""
    if solver is None:
        return default_solver(regularizer, n_features)
    if not isinstance(solver, AbstractSolver):
        raise TypeError(f"solver must be a glmx solver (e.g. glmx.LBFGS()), got {solver!r}.")
    if not (regularizer.is_smooth or solver.handles_nonsmooth):
        raise ValueError(
            f"solver {type(solver).__name__} handles only smooth penalties, but the regularizer "
            f"is {type(regularizer).__name__}; use solver=glmx.ProximalGradient()."
        )
    return solver


def _prox(params, step, args: Args):
    coef, intercept = params
    return args.regularizer.prox(coef, step), intercept


def _penalty(params, args: Args):
    return args.regularizer.penalty(params[0])


def problem(solver: AbstractSolver, n_features: int):
    """``(fn, prox, curvature, stationarity)`` for ``solver``: the smooth part (the whole
    objective for smooth-only solvers), the penalty's `NonSmooth` prox or ``None``, the
    curvature the solver may use, and what implicit differentiation needs (the whole
    objective, its free coordinates, its exact Hessian, Hessian-vector products and, up to the
    curvature limit, a preconditioner)."""
    smooth = not solver.handles_nonsmooth
    estimate = preconditioner = None
    if n_features <= MAX_CURVATURE_FEATURES:
        estimate = functools.partial(fisher_estimate, with_penalty=smooth)
        preconditioner = functools.partial(fisher_estimate, with_penalty=True)
    curvature = Curvature(functools.partial(fisher_hessian, with_penalty=smooth), estimate)
    stationarity = Stationarity(
        penalised_objective,
        free_coordinates,
        observed_hessian,
        observed_hessian_vector,
        preconditioner,
    )
    if smooth:
        return penalised_objective, None, curvature, stationarity
    return (
        negative_log_likelihood,
        NonSmooth(_prox, _penalty, free_coordinates),
        curvature,
        stationarity,
    )


#: `attainable_optimality`'s multiple of ``eps * scale(X) * scale(residuals)``.
ROUNDING_FACTOR = 100.0


def attainable_optimality(params, args: Args) -> Float[Array, ""]:
    """The smallest gradient inf-norm that rounding lets a solver resolve on this problem,
    estimated at ``params`` (the start of a fit): ``ROUNDING_FACTOR * eps`` times the largest
    root-mean-square column of ``X1 = [X, 1]`` times the weighted root-mean-square derivative
    of the rows' log-likelihood in the linear predictor.

    A gradient entry is a weighted sum over rows of column entry times that derivative; its
    rounding error in the data's dtype is a few ``eps`` times the product of those two scales.
    For data in natural units it is far below the default tolerances (about 1e-13 in float64
    for standardised columns and count data), so it changes nothing; for an unscaled response
    (``y ~ 1e8``) or unscaled columns it is what a solver can reach, and a fit that gets there
    has converged as far as the data's precision allows. The column scale ignores the rows'
    weights, so that the neurons of a population that share ``X`` share it too.
    """
    dtype = args.X.dtype
    columns = jnp.sqrt(jnp.max(jnp.mean(args.X * args.X, axis=0), initial=1.0))
    eta = predictor(params, args)
    derivative = jax.grad(lambda e: jnp.sum(args.observation.kernel_log_likelihood(args.y, e)))(eta)
    residual = jnp.sqrt(jnp.sum(args.weights * jnp.where(args.weights > 0, derivative, 0.0) ** 2))
    return ROUNDING_FACTOR * jnp.finfo(dtype).eps * columns * residual


# --- the log-likelihood's constant: a table for small counts -------------------------------------

#: Counts below this are looked up in a table of the likelihood's constant term (e.g. log y!).
COUNT_TABLE_SIZE = 1024


def small_counts(y) -> Bool[Array, ""]:
    """Whether every ``y`` (NaN aside) is an integer in ``[0, COUNT_TABLE_SIZE)``. Computed
    over all neurons at once, outside any ``vmap``, so that `constant_terms` branches on it
    with a real ``lax.cond``, not a select that would evaluate both sides."""
    whole = (y == jnp.floor(y)) & (y >= 0) & (y < COUNT_TABLE_SIZE)
    return jnp.all(whole | jnp.isnan(y))


def constant_terms(observation: AbstractObservation, y, use_table) -> Array:
    """``observation.constant_log_likelihood(y)``; for small integer counts (``use_table``),
    gathered from a table of its values at ``0 .. COUNT_TABLE_SIZE - 1`` (``lgamma`` over every
    entry of a large population's ``Y`` is a noticeable share of a fit)."""

    def table_lookup(y):
        return _table_constant(observation, y)

    def direct(y):
        return observation.constant_log_likelihood(y)

    return jax.lax.cond(use_table, table_lookup, direct, y)


@eqx.filter_custom_jvp
def _table_constant(observation: AbstractObservation, y):
    table = observation.constant_log_likelihood(jnp.arange(COUNT_TABLE_SIZE, dtype=y.dtype))
    index = jnp.clip(jnp.nan_to_num(y), 0, COUNT_TABLE_SIZE - 1).astype(jnp.int32)
    return table[index]


@_table_constant.def_jvp
def _table_constant_jvp(primals, tangents):
    # A gather has no derivative in the index; differentiate the formula the table holds.
    return eqx.filter_jvp(lambda o, y: o.constant_log_likelihood(y), primals, tangents)


# --- one neuron --------------------------------------------------------------------------------


def setup(glm: GLM, rows: Rows, use_table) -> tuple[Args, tuple, Float[Array, " n"]]:
    """``(args, params, weights)``: the objective's arguments on the rows used, the starting
    parameters (the model's own, or zero coefficients and the intercept of the mean), and the
    row weights (the sample weights, zero on missing rows)."""
    y = jnp.where(rows.missing, 1.0, rows.y)  # a value in every family's support; weight zero
    weights = jnp.where(rows.missing, 0.0, rows.sample_weight)
    normalised = weights / jnp.sum(weights)
    constant = -jnp.sum(normalised * constant_terms(glm.observation, y, use_table))
    args = Args(
        rows.X,
        y,
        normalised,
        rows.offset,
        rows.feature_mask,
        glm.observation,
        glm.regularizer,
        constant,
        glm.fit_intercept,
    )
    if glm.coef is None:
        coef = jnp.zeros(rows.X.shape[1], rows.X.dtype)
        params = (coef, initial_intercept(glm.observation, y, weights))
    else:
        params = (masked(glm.coef, args), glm.intercept)
    if not glm.fit_intercept:
        params = (params[0], jnp.zeros_like(params[1]))
    return args, params, weights


def solve(glm: GLM, args: Args, params, weights, solver: AbstractSolver, adjoint):
    """One neuron's solve from ``params``: ``(fitted, solution, objective, dof_resid)``, the
    fitted `GLM` (see `finish`), the adjoint's solution record, the whole objective at the
    solution (penalty included) and the count residual degrees of freedom."""
    fn, prox, curvature, stationarity = problem(solver, args.X.shape[-1])
    solution = adjoint.solve(
        solver, fn, prox, params, args, curvature, stationarity, attainable_optimality
    )
    fitted, dof_resid = finish(glm, solution.params, args, weights)
    objective = solution.value
    if prox is not None:
        objective = objective + args.regularizer.penalty(solution.params[0])
    return fitted, solution, objective, dof_resid


def count_dof_resid(coef, weights, fit_intercept: bool = True) -> Float[Array, ""]:
    """The residual degrees of freedom by count: the weighted number of rows used minus the
    non-zero parameters (coefficients and the intercept if the model has one), as NeMoS and
    statsmodels count them for unpenalised fits. (`glmx.inference` reports the effective
    count, which differs for penalties with curvature such as Ridge.)"""
    parameters = jnp.count_nonzero(coef) + int(fit_intercept)
    return jnp.sum(weights) - parameters.astype(weights.dtype)


def finish(glm: GLM, params, args: Args, weights) -> tuple[GLM, Float[Array, ""]]:
    """The fitted model with its estimated scale, and the count residual degrees of freedom."""
    coef, intercept = masked(params[0], args), params[1]
    mean = args.observation.link.inverse(predictor((coef, intercept), args))
    dof_resid = count_dof_resid(coef, weights, args.fit_intercept)
    scale = args.observation.estimate_scale(args.y, mean, dof_resid, weights)
    fitted = eqx.tree_at(
        lambda m: (m.coef, m.intercept, m.scale),
        glm,
        (coef, intercept, scale),
        is_leaf=lambda x: x is None,
    )
    return fitted, dof_resid
