"""The categorical GLM's problem as the solvers see it: parameters, objective, penalty over the
coefficient matrix, curvature, and one member's set-up and finish.

The objective is glmx's: the weighted mean negative log-likelihood plus the penalty,
``L(W, b) = -sum_i s_i log softmax(x_i W + b)_{y_i} + penalty(W)`` (``s`` normalised to sum to
one). The solver's parameters are the free ones (`CategoricalGLM`'s convention):

- the coefficients of classes ``1 .. K-1`` without a penalty (class 0 the reference), of all
  ``K`` classes with one;
- the intercepts of classes ``1 .. K-1`` (class 0's held at zero: intercepts are never
  penalised, so they are identified only relative to one class). A penalised fit reports them
  centred.

The penalty over the ``(p, K)`` matrix: a `GroupLasso` groups features, each group holding
its features' coefficients in all classes (``strength * sqrt(|g|) * ||W_g||_F``, ``|g|`` the
number of features); any other regularizer is applied to each class's column and summed.
"""

import dataclasses

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree
from jaxtyping import Array, Bool, Float, Int

from ._arrays import cast_floating, is_traced
from ._categorical import Categorical
from ._categorical_glm import (
    CategoricalGLM,
    PopulationCategoricalGLM,
    check_design,
    uses_reference,
)
from ._data import Rows, prepare
from ._glm import GLM
from ._linalg import restricted_to, spd_inverse
from ._observations import Bernoulli
from ._population import PopulationGLM, neuron_axis
from ._prox import safe_norm
from ._regularizers import AbstractRegularizer, GroupLasso
from ._solvers import RESULTS, AbstractRows, Curvature, NonSmooth, Stationarity

# --- the penalty over a coefficient matrix -----------------------------------------------------


def _group_parts(regularizer: GroupLasso, W):
    mask = regularizer.groups.astype(W.dtype)
    weight = jnp.sqrt(jnp.sum(mask, axis=1)) * regularizer.strength
    return mask, weight, safe_norm(mask @ jnp.sum(W * W, axis=1))


def matrix_penalty(regularizer: AbstractRegularizer, W: Float[Array, "p m"]) -> Float[Array, ""]:
    """The penalty over the coefficient matrix (see the module's docstring)."""
    if isinstance(regularizer, GroupLasso):
        _, weight, norms = _group_parts(regularizer, W)
        return jnp.sum(weight * norms)
    return jnp.sum(jax.vmap(regularizer.penalty, in_axes=1)(W))


def matrix_prox(regularizer: AbstractRegularizer, W, step) -> Float[Array, "p m"]:
    """``argmin_Z 0.5 ||Z - W||_F^2 + step * matrix_penalty(Z)``: block soft-thresholding of
    each group's rows for `GroupLasso`, the regularizer's prox on each column otherwise."""
    if isinstance(regularizer, GroupLasso):
        mask, weight, norms = _group_parts(regularizer, W)
        positive = norms > 0
        shrink = jnp.where(
            positive, jnp.maximum(1.0 - step * weight / jnp.where(positive, norms, 1.0), 0.0), 0.0
        )
        per_row = shrink @ mask + (1.0 - jnp.sum(mask, axis=0))
        return W * per_row[:, None]
    return jax.vmap(regularizer.prox, in_axes=(1, None), out_axes=1)(W, step)


def matrix_smooth_at(regularizer: AbstractRegularizer, W) -> Bool[Array, "p m"]:
    """Where the matrix penalty is twice differentiable around ``W`` (off its kinks)."""
    if isinstance(regularizer, GroupLasso):
        mask, weight, norms = _group_parts(regularizer, W)
        kinked = (~((norms > 0) | (weight == 0))).astype(W.dtype) @ mask
        return jnp.broadcast_to((kinked == 0)[:, None], W.shape)
    return jax.vmap(regularizer.smooth_at, in_axes=1, out_axes=1)(W)


# --- the objective -----------------------------------------------------------------------------


class CategoricalArgs(AbstractRows):
    """What the categorical objective depends on besides the parameters."""

    X: Float[Array, "n p"]
    one_hot: Float[Array, "n K"]
    weights: Float[Array, " n"]  # normalised to sum to 1; zero on excluded rows
    regularizer: AbstractRegularizer
    reference: bool = eqx.field(static=True)

    @property
    def n_rows(self) -> int:
        return self.X.shape[0]

    def take_rows(self, index: Int[Array, " b"]) -> "CategoricalArgs":
        scale = self.X.shape[0] / index.shape[0]
        return eqx.tree_at(
            lambda a: (a.X, a.one_hot, a.weights),
            self,
            (self.X[index], self.one_hot[index], self.weights[index] * scale),
        )


def full_params(params, args: CategoricalArgs):
    """``(coef (p, K), intercept (K,))`` from the solver's free parameters."""
    coef, intercept = params
    if args.reference:
        coef = jnp.concatenate([jnp.zeros_like(coef[:, :1]), coef], axis=1)
    return coef, jnp.concatenate([jnp.zeros_like(intercept[:1]), intercept])


def negative_log_likelihood(params, args: CategoricalArgs) -> Float[Array, ""]:
    coef, intercept = full_params(params, args)
    log_p = jax.nn.log_softmax(args.X @ coef + intercept, axis=-1)
    return -jnp.sum(args.weights * jnp.sum(args.one_hot * log_p, axis=-1))


def _penalty(params, args: CategoricalArgs) -> Float[Array, ""]:
    return matrix_penalty(args.regularizer, params[0])


def penalised_objective(params, args: CategoricalArgs) -> Float[Array, ""]:
    return negative_log_likelihood(params, args) + _penalty(params, args)


def _prox(params, step, args: CategoricalArgs):
    return matrix_prox(args.regularizer, params[0], step), params[1]


def free_coordinates(params, args: CategoricalArgs) -> Bool[Array, " d"]:
    """Flat over ``(coef, intercept)``: coefficients off the penalty's kinks, all intercepts."""
    smooth = matrix_smooth_at(args.regularizer, params[0]).reshape(-1)
    return jnp.concatenate([smooth, jnp.ones(params[1].shape, bool)])


def hessian(params, args: CategoricalArgs, low_precision=False, *, with_penalty=True):
    """The exact Hessian of the mean negative log-likelihood over the flat free parameters
    (the Fisher information: the softmax link is canonical), plus the penalty's if
    ``with_penalty``. Row weights ``s_i (diag(pi_i) - pi_i pi_i^T)`` per pair of classes, one
    weighted Gram of ``X`` per pair (``n p^2 K^2 / 2`` flops)."""
    coef, intercept = full_params(params, args)
    prob = jax.nn.softmax(args.X @ coef + intercept, axis=-1)
    K = prob.shape[1]
    coef_classes = list(range(1 if args.reference else 0, K))
    b_classes = list(range(1, K))
    dtype = jnp.float32 if low_precision else args.X.dtype
    X = args.X.astype(dtype)

    def row_weights(k, j):
        return args.weights * (prob[:, k] * (k == j) - prob[:, k] * prob[:, j])

    p, mc, mb = X.shape[1], len(coef_classes), len(b_classes)
    grams = {}
    for a, k in enumerate(coef_classes):
        for c, j in enumerate(coef_classes[a:], start=a):
            grams[a, c] = (X * row_weights(k, j).astype(dtype)[:, None]).T @ X
            grams[c, a] = grams[a, c].T
    ww = jnp.stack([jnp.stack([grams[a, c] for c in range(mc)]) for a in range(mc)])
    ww = ww.transpose(2, 0, 3, 1).reshape(p * mc, p * mc)  # (i, k) row-major, as ravel
    wb = jnp.stack(
        [jnp.stack([row_weights(k, j).astype(dtype) @ X for j in b_classes]) for k in coef_classes]
    )  # (mc, mb, p)
    wb = wb.transpose(2, 0, 1).reshape(p * mc, mb)
    bb = jnp.stack([jnp.stack([jnp.sum(row_weights(k, j)) for j in b_classes]) for k in b_classes])
    top = jnp.concatenate([ww, wb], axis=1)
    bottom = jnp.concatenate([wb.T, bb.astype(dtype)], axis=1)
    matrix = jnp.concatenate([top, bottom], axis=0).astype(args.X.dtype)
    if with_penalty:
        d = p * mc
        flat, unravel = ravel_pytree(coef[:, 1:] if args.reference else coef)
        penalty_h = jax.hessian(lambda v: matrix_penalty(args.regularizer, unravel(v)))(flat)
        matrix = matrix.at[:d, :d].add(penalty_h)
    return matrix


def problem(solver):
    """``(fn, prox, curvature, stationarity)`` for ``solver`` (as `glmx._problem.problem`)."""
    smooth = not solver.handles_nonsmooth
    curvature = Curvature(
        lambda params, args, low: hessian(params, args, low, with_penalty=smooth), None
    )
    stationarity = Stationarity(
        penalised_objective,
        free_coordinates,
        lambda params, args: hessian(params, args),
        None,
        None,
    )
    if smooth:
        return penalised_objective, None, curvature, stationarity
    prox = NonSmooth(_prox, _penalty, free_coordinates)
    return negative_log_likelihood, prox, curvature, stationarity


# --- one member --------------------------------------------------------------------------------


def setup(glm: CategoricalGLM, rows: Rows):
    """``(args, params, weights)``: the objective's arguments, the starting free parameters
    (the model's own, or zero coefficients and the log class frequencies as intercepts), and
    the row weights (zero on missing rows)."""
    observation: Categorical = glm.observation
    K = observation.n_classes
    y = jnp.where(rows.missing, 0.0, rows.y)
    weights = jnp.where(rows.missing, 0.0, rows.sample_weight)
    normalised = weights / jnp.sum(weights)
    one_hot = observation.one_hot(y)
    reference = uses_reference(glm.regularizer)
    args = CategoricalArgs(rows.X, one_hot, normalised, glm.regularizer, reference)
    m = K - 1 if reference else K
    if glm.coef is None:
        frequencies = normalised @ one_hot
        tiny = jnp.finfo(rows.X.dtype).eps ** 0.5
        log_freq = jnp.log(jnp.maximum(frequencies, tiny))
        params = (jnp.zeros((rows.X.shape[1], m), rows.X.dtype), log_freq[1:] - log_freq[0])
    else:
        coef = glm.coef - glm.coef[:, :1] if reference else glm.coef
        params = (coef[:, K - m :], glm.intercept[1:] - glm.intercept[0])
    return args, params, weights


def finish(glm: CategoricalGLM, params, args: CategoricalArgs, weights):
    """The fitted model (intercepts centred when penalised) and the count residual degrees of
    freedom (weighted rows minus the non-zero free parameters)."""
    coef, intercept = full_params(params, args)
    if not args.reference:
        intercept = intercept - jnp.mean(intercept)
    fitted = eqx.tree_at(
        lambda m: (m.coef, m.intercept), glm, (coef, intercept), is_leaf=lambda x: x is None
    )
    n_params = jnp.count_nonzero(params[0]) + params[1].shape[0]
    return fitted, jnp.sum(weights) - n_params.astype(weights.dtype)


def separated(params, args: CategoricalArgs) -> Bool[Array, ""]:
    """Whether the fit has no finite estimate, seen from the fitted parameters, at the cost of
    one pass over ``X``: a class no used row has (its intercept runs to minus infinity), or
    the fitted parameters themselves a direction of recession. That is, along them every used
    row's observed class gains on every other (margins ``u[i, y_i] - u[i, k] >= 0``, to
    ``eps**0.25`` of the largest), and the penalty does not grow: perfect separation, and
    quasi-separation once the estimates have grown along it. (The binary case's exact search
    for quasi-separation, `glmx._diagnostics.recession`, has no categorical counterpart yet.)"""
    params, args = jax.lax.stop_gradient((params, args))
    absent = jnp.any(args.weights @ args.one_hot <= 0)
    coef, intercept = full_params(params, args)
    u = args.X @ coef + intercept
    u = u - jnp.mean(u, axis=1, keepdims=True)  # the same shift of every class changes nothing
    used = args.weights > 0
    size = jnp.max(jnp.where(used[:, None], jnp.abs(u), 0.0))
    margins = jnp.sum(args.one_hot * u, axis=1, keepdims=True) - u
    tolerance = jnp.finfo(u.dtype).eps ** 0.25 * size
    rows_ok = jnp.all(jnp.where(used[:, None], margins >= -tolerance, True))
    penalty = matrix_penalty(args.regularizer, params[0])
    grown = params[0] * (1.0 + 1e3 / jnp.where(size > 0, size, 1.0))
    flat = matrix_penalty(args.regularizer, grown) <= penalty * (1.0 + 1e3 * jnp.finfo(u.dtype).eps)
    return absent | ((size > 0) & rows_ok & flat)


def solve_one(glm: CategoricalGLM, rows: Rows, solver, adjoint):
    """Fit one member: ``(fitted, (status, num_steps, objective, optimality, dof_resid,
    n_excluded))``, the fields of `glmx.FitResult`."""
    args, params, weights = setup(glm, rows)
    fn, prox, curvature, stationarity = problem(solver)
    solution = adjoint.solve(solver, fn, prox, params, args, curvature, stationarity)
    fitted, dof_resid = finish(glm, solution.params, args, weights)
    objective = solution.value
    if prox is not None:
        objective = objective + _penalty(solution.params, args)
    diverging = separated(solution.params, args) & (solution.status == RESULTS.successful)
    return fitted, (
        RESULTS.where(diverging, RESULTS.diverging, solution.status),
        solution.num_steps,
        objective,
        solution.optimality,
        dof_resid,
        jnp.sum(rows.missing),
    )


def covariance_one(glm: CategoricalGLM, rows: Rows) -> Float[Array, "d d"]:
    """The covariance of the free parameters (flat: coefficients row-major, then the
    intercepts of classes ``1 .. K-1``): the inverse of the summed-weight Hessian of the
    penalised objective, restricted to the coordinates off the penalty's kinks (zero
    elsewhere). Without a penalty it is the inverse Fisher information (statsmodels'
    ``MNLogit.cov_params()``)."""
    args, params, weights = setup(glm, rows)
    free = free_coordinates(params, args)
    matrix = restricted_to(hessian(params, args) * jnp.sum(weights), free)
    return jnp.where(free[:, None] & free[None, :], spd_inverse(matrix), 0.0)


# --- inputs ------------------------------------------------------------------------------------


def is_categorical(model) -> bool:
    return isinstance(model, CategoricalGLM | PopulationCategoricalGLM)


def prepare_categorical(model, X, y, sample_weight=None, offset=None):
    """Check a call's structure; return ``(glm, data)`` as `glmx._data.prepare` does for GLMs.

    The design, labels and weights are checked and moved by `glmx._data.prepare`, with a GLM of
    the same regularizer (and population size) standing in for the model: what it checks of a
    call does not depend on the observation model."""
    if offset is not None:
        raise TypeError(
            "offset is not used by categorical models (a shift of every class's predictor "
            "cancels in the softmax); leave it None."
        )
    population = isinstance(model, PopulationCategoricalGLM)
    glm = model.glm if population else model
    check_design(X, None)
    if glm.coef is not None:
        check_design(X, glm.coef.shape[-2])
    if population:
        stand_in = PopulationGLM(Bernoulli(), n_neurons=model.n_neurons)
        stand_in = eqx.tree_at(lambda m: m.glm.regularizer, stand_in, glm.regularizer)
    else:
        stand_in = GLM(Bernoulli(), glm.regularizer)
    _, data = prepare(stand_in, X, _labels_as_floats(X, y), sample_weight)
    data = dataclasses.replace(data, traced=data.traced or is_traced(model))
    return cast_floating(glm, data.dtype), data


def _labels_as_floats(X, y):
    """Integer labels in the design's floating dtype (so that labels never set the precision of
    the fit, as counts would for a GLM)."""
    if not isinstance(y, np.ndarray | jax.Array):
        y = np.asarray(y)
    dtype = X.dtype if isinstance(X, np.ndarray | jax.Array) else np.asarray(X).dtype
    if np.issubdtype(y.dtype, np.integer) and np.issubdtype(dtype, np.floating):
        return y.astype(dtype)
    return y


def restore_categorical(model, fitted: CategoricalGLM):
    """The caller's kind of model around ``fitted`` (leaves shared by a population's members
    come back stacked from the map over them; they are taken once)."""
    if isinstance(model, PopulationCategoricalGLM):
        fitted = jax.tree.map(lambda x: x if neuron_axis(x) == 0 else x[0], fitted)
        return eqx.tree_at(lambda p: p.glm, model, fitted)
    return fitted
