"""The compiled program of paths and cross-validation, written for one neuron (`path_one`)
and mapped over neurons by `path_work`."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from .._data import Data, map_neurons
from .._design import linear_predictor
from .._glm import GLM, initial_intercept
from .._objective import negative_log_likelihood
from .._problem import setup, small_counts, solve
from .._solvers import Implicit

# --- inside the program: one neuron ----------------------------------------------------------


#: Newton steps for the intercept-only fit that starts a default grid (each costs O(n)).
NULL_NEWTON_STEPS = 30


def _null_intercept(args) -> Float[Array, ""]:
    """The intercept of the intercept-only fit (zero coefficients), by damped Newton steps on
    the mean negative log-likelihood in the intercept alone: ``O(n)`` each, no pass over X."""
    if not args.fit_intercept:
        return jnp.zeros((), args.X.dtype)

    def loss(b):
        eta = args.offset + b
        return -jnp.sum(args.weights * args.observation.kernel_log_likelihood(args.y, eta))

    def newton(b, _):
        slope, curve = jax.grad(loss)(b), jax.grad(jax.grad(loss))(b)
        direction = -slope / jnp.maximum(curve, jnp.finfo(args.X.dtype).tiny)
        current = loss(b)

        def halve(t):
            return t / 2

        def worse(t):
            return (loss(b + t * direction) > current) & (t > 1e-10)

        t = jax.lax.while_loop(worse, halve, jnp.ones((), b.dtype))
        trial = b + t * direction
        return jnp.where(loss(trial) <= current, trial, b), None

    start = initial_intercept(args.observation, args.y, args.weights)
    return jax.lax.scan(newton, start, None, length=NULL_NEWTON_STEPS)[0]


def _default_grid(glm: GLM, rows, use_table, n_strengths: int, min_ratio: float):
    """``(S,)``: log-spaced from the strength at which every penalised coefficient is zero
    (``zero_strength`` of the gradient at the intercept-only fit) down to ``min_ratio`` of it."""
    args, _, _ = setup(glm, rows, use_table)
    intercept = _null_intercept(args)
    zeros = jnp.zeros(args.X.shape[-1], args.X.dtype)
    gradient = jax.grad(lambda c: negative_log_likelihood((c, intercept), args))(zeros)
    top = glm.regularizer.zero_strength(gradient)
    top = jnp.where(jnp.isfinite(top) & (top > 0), top, 1.0)  # nothing to zero: any grid
    return top * jnp.logspace(0.0, np.log10(min_ratio), n_strengths, dtype=args.X.dtype)


def held_out(fitted: GLM, rows, test) -> dict:
    """Every score of ``fitted`` on the rows weighted by ``test`` (missing rows left out)."""
    weights = jnp.where(rows.missing, 0.0, rows.sample_weight * test)
    y = jnp.where(rows.missing, 1.0, rows.y)
    eta = linear_predictor(rows.X, fitted.coef, fitted.intercept, rows.offset)
    mean = fitted.observation.link.inverse(eta)
    total = jnp.sum(weights)
    per_row = fitted.observation.predictor_log_likelihood(y, eta, fitted.scale)
    deviance = fitted.observation.deviance(y, mean)
    scores = {
        "log-likelihood": jnp.sum(weights * per_row) / total,
        "deviance": jnp.sum(weights * deviance) / total,
    }
    for kind in ("pseudo-r2-mcfadden", "pseudo-r2-cohen"):
        scores[kind] = fitted.observation.pseudo_r2(y, mean, fitted.scale, weights, kind=kind)
    return scores


def path_one(glm: GLM, rows, use_table, solver, train, test, grid, n_strengths, min_ratio):
    """One neuron: its grid ``(S,)``, and for every fold (``train``/``test`` ``(F, n)``
    weights) the path's fits and held-out scores, ``(F, S, ...)``."""
    if grid is None:
        grid = _default_grid(glm, rows, use_table, n_strengths, min_ratio)
    adjoint = Implicit()

    def one_fold(train_k, test_k):
        fold_rows = eqx.tree_at(lambda r: r.sample_weight, rows, rows.sample_weight * train_k)
        args, start, weights = setup(glm, fold_rows, use_table)

        def point(params, strength):
            regularizer = glm.regularizer.at_strength(strength)
            at = eqx.tree_at(lambda m: m.regularizer, glm, regularizer)
            at_args = eqx.tree_at(lambda a: a.regularizer, args, regularizer)
            fitted, solution, objective, dof = solve(at, at_args, params, weights, solver, adjoint)
            fits = (
                fitted.coef,
                fitted.intercept,
                fitted.scale,
                solution.status,
                solution.num_steps,
                objective,
                solution.optimality,
                dof,
            )
            return solution.params, (fits, held_out(fitted, rows, test_k))

        return jax.lax.scan(point, start, grid)[1]

    return grid, jax.vmap(one_fold)(train, test)


def path_work(glm, data: Data, solver, train, test, grid, n_strengths, min_ratio):
    use_table = small_counts(data.y)
    grid_axis = 0 if grid is not None and grid.ndim == 2 else None  # (neurons, S)
    return map_neurons(
        path_one,
        glm,
        data,
        use_table,
        solver,
        train,
        test,
        grid,
        n_strengths,
        min_ratio,
        extra_axes=(None, None, None, None, grid_axis, None, None),
        copies=train.shape[0],
    )
