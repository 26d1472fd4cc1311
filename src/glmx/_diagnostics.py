"""Fits without a finite estimate: directions of recession, found after a solve.

The penalised negative log-likelihood of a GLM has no finite minimiser when a direction ``r``
of the parameters (coefficients and intercept) lowers it for ever: every row's loss is
non-increasing along ``r`` and the penalty does not grow. For the families whose mean
approaches a bound of its range only as the linear predictor runs to infinity (a Poisson or
negative-binomial mean at 0, a Bernoulli mean at 0 or 1, a Tweedie mean at 0), that is a sign
pattern of ``u = X1 r`` (``X1 = [X, 1]``), the definition used here:

- a row whose ``y`` sits at a bound of the mean (``y = 0`` for counts, ``y in {0, 1}`` for
  binary outcomes) may have ``u`` of the sign that moves its mean towards ``y``, or zero;
- every other row needs ``u = 0``;
- and some row has ``u != 0``.

Perfect separation (``u`` strictly of the right sign on every row), quasi-separation (zero on
some rows) and a response constant at its bound (an all-zero neuron: ``r`` = the intercept)
are all of this kind. A solver stopped by its tolerance on such a problem reports convergence,
with estimates that only grew until the gradient was small; this module finds the direction.

It runs in two parts, so that fits with finite estimates pay almost nothing:

- `quick_recession` (in every fit, one pass over ``X``): the estimates themselves and the
  intercept as candidates (they settle perfect separation and an all-zero neuron), and whether
  some row is fitted at its bound (its loss within ``sqrt(eps)`` of its limit), which a
  quasi-separated fit has;
- `recession` (only when some fit in the call is suspect): candidates made exact by
  projections (`_refined`), from the estimates and from the direction of least Fisher
  information relative to the design's variation, each checked against the sign pattern
  above and the penalty.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Bool, Float

from ._arrays import is_traced
from ._data import Data, in_dtype, map_neurons
from ._glm import GLM
from ._identifiability import identify, parameters, with_intercept
from ._linalg import cholesky, eigh
from ._objective import Args, fisher_weights, masked, predictor
from ._problem import setup, small_counts
from ._solvers import RESULTS

#: How far the linear predictor is pushed to measure a row's loss at its limit.
_FAR = 50.0


def _sides(args: Args, eta) -> tuple[Float[Array, " n"], Float[Array, " n"]]:
    """Per row: the direction of ``eta`` (+1, -1) that moves its mean towards a bound its ``y``
    sits at, 0 if none; and how far its loss is above its limit in that direction."""
    observation = args.observation
    low, high = observation.mean_range
    y = args.y
    at_low = jnp.zeros(y.shape, bool) if low is None else y == low
    at_high = jnp.zeros(y.shape, bool) if high is None else y == high
    # Whether the mean rises with eta, read where the derivative does not underflow.
    rising = jnp.sign(observation.link.inverse_derivative(jnp.clip(eta, -10.0, 10.0)))
    side = jnp.where(at_low, -rising, jnp.where(at_high, rising, 0.0))
    side = jnp.where(args.weights > 0, side, 0.0)
    here = observation.kernel_log_likelihood(y, eta)
    there = observation.kernel_log_likelihood(y, eta + _FAR * side)
    gap = there - here
    usable = (side != 0) & jnp.isfinite(gap) & observation.link.in_domain(eta + _FAR * side)
    return jnp.where(usable, side, 0.0), jnp.where(usable, jnp.maximum(gap, 0.0), jnp.inf)


def quick_recession(params, args: Args) -> tuple[Float[Array, " d"], Bool[Array, ""]]:
    """The checks every fit runs, at the cost of one pass over ``X``: ``(direction, suspect)``.

    ``direction`` is the estimates themselves or the intercept when one of them is a direction
    of recession (perfect separation, a response at its bound on every row), as `recession`
    returns it, zeros otherwise. ``suspect``: no such direction, but some row is fitted at its
    bound to within ``sqrt(eps)`` (quasi-separation leaves such rows), so `recession` should
    look further."""
    params = jax.lax.stop_gradient(params)
    args = jax.lax.stop_gradient(args)
    eta = predictor(params, args)
    side, gap = _sides(args, eta)
    coef = masked(params[0], args)
    theta = _flat(params, args)
    found = _checked(theta, eta - args.offset, side, args, coef)
    if args.fit_intercept:
        unit = jnp.zeros_like(theta).at[-1].set(1.0)
        for r in (unit, -unit):
            ones = jnp.full_like(eta, r[-1])
            found = jnp.where(jnp.any(found != 0), found, _checked(r, ones, side, args, coef))
    at_bound = (side != 0) & (gap <= jnp.sqrt(jnp.finfo(eta.dtype).eps))
    return found, jnp.any(at_bound) & ~jnp.any(found != 0)


def _design(args: Args) -> Float[Array, "n d"]:
    """``X1 = [X, 1]`` over the flat ``(coef, intercept)``, masked features and an intercept
    the model does not have as zero columns."""
    present = parameters(args.X.shape[1], args.feature_mask, args.fit_intercept)
    return with_intercept(args.X, present)


def _flat(params, args: Args) -> Float[Array, " d"]:
    """The estimates over the flat ``(coef, intercept)``, masked coefficients zero."""
    return jnp.concatenate([jnp.ravel(masked(params[0], args)), jnp.atleast_1d(params[1])])


def recession(params, args: Args) -> Float[Array, " d"]:
    """A direction of recession of the objective at the fitted ``params``, over the flat
    ``(coef, intercept)`` with its largest entry 1 in absolute value; zeros when none of the
    candidates is one (the estimates are finite).

    Candidates, each made exact before it is checked (`_refined`): the estimates themselves
    (they grow along the direction), the direction of least Fisher information relative to
    the design's variation (the rows that direction moves are fitted at their bound, so their
    weights vanish), and the intercept (a response at its bound on every row)."""
    params = jax.lax.stop_gradient(params)
    args = jax.lax.stop_gradient(args)
    dtype = args.X.dtype
    X1 = _design(args)
    d = X1.shape[1]
    w = args.weights
    eta = predictor(params, args)
    side, _ = _sides(args, eta)
    # Whitened coordinates z: r = scale * L^-T z, so that the design's own (weighted) Gram is
    # about the identity and an eigenvalue below is the share of a direction's variation.
    gram = X1.T @ (X1 * w[:, None])
    diagonal = jnp.diag(gram)
    scale = jnp.where(diagonal > 0, 1.0 / jnp.sqrt(jnp.where(diagonal > 0, diagonal, 1.0)), 0.0)
    scaled = gram * jnp.outer(scale, scale) + d * jnp.finfo(dtype).eps * jnp.eye(d, dtype=dtype)
    factor = cholesky(scaled)
    to_r = scale[:, None] * jax.scipy.linalg.solve_triangular(
        factor.T, jnp.eye(d, dtype=dtype), lower=False
    )
    Z = X1 @ to_r  # u = Z z

    def to_z(r):
        return factor.T @ jnp.where(scale > 0, r / jnp.where(scale > 0, scale, 1.0), 0.0)

    fisher = Z.T @ (Z * fisher_weights(params, args)[:, None])
    least = eigh(0.5 * (fisher + fisher.T))[1][:, 0]
    coef = masked(params[0], args)
    theta = _flat(params, args)
    pulled = jnp.sum(side * (w > 0) * (Z @ least))  # the sign the rows at their bound favour
    least = jnp.where(pulled >= 0, least, -least)
    start = to_z(theta)
    refined_start = _refined(start, Z, side, w)
    candidates = [start, least, refined_start, _refined(least, Z, side, w)]
    if args.fit_intercept:
        unit = jnp.zeros(d, dtype).at[-1].set(1.0)
        candidates += [to_z(unit), to_z(-unit)]
    found = jnp.zeros(d, dtype)
    for z in candidates:
        checked = _checked(to_r @ z, Z @ z, side, args, coef)
        found = jnp.where(jnp.any(found != 0), found, checked)
    return found


#: Rounds of `_refined`.
_REFINE_ROUNDS = 2


def _refined(z, Z, side, w) -> Float[Array, " d"]:
    """``z`` projected, in `_REFINE_ROUNDS` rounds, so that the rows it moves the wrong way
    (or at all, for rows with no bound to move towards) stay exactly still: onto the null
    space of their Gram. What remains of a quasi-separating direction leaves the rows on its
    hyperplane in place."""
    for _ in range(_REFINE_ROUNDS):
        u = Z @ z
        size = jnp.max(jnp.where(w > 0, jnp.abs(u), 0.0))
        wrong = side * u <= jnp.finfo(Z.dtype).eps ** 0.25 * size
        held = Z.T @ (Z * jnp.where(wrong, w, 0.0)[:, None])
        share, vectors = eigh(0.5 * (held + held.T))
        null = share <= jnp.sqrt(jnp.finfo(Z.dtype).eps)
        z = vectors @ jnp.where(null, vectors.T @ z, 0.0)
    return z


def _checked(r, u, side, args: Args, coef) -> Float[Array, " d"]:
    """``r`` (moving the rows' linear predictors by ``u = X1 r``) scaled to a largest entry of
    1 if it is a direction of recession, else zeros."""
    dtype = u.dtype
    tolerance = jnp.finfo(dtype).eps ** 0.25
    used = args.weights > 0
    size = jnp.max(jnp.where(used, jnp.abs(u), 0.0))
    un = u / jnp.where(size > 0, size, 1.0)
    rows_ok = jnp.where(side != 0, side * un >= -tolerance, jnp.abs(un) <= tolerance)
    r = r / jnp.where(size > 0, size, 1.0)
    penalty = args.regularizer.penalty
    far = coef + 1e3 * r[: coef.size].reshape(coef.shape)
    bound = penalty(coef) * (1.0 + 1e3 * jnp.finfo(dtype).eps) + jnp.finfo(dtype).tiny
    ok = (size > 0) & jnp.all(jnp.where(used, rows_ok, True)) & (penalty(far) <= bound)
    top = jnp.max(jnp.abs(r))
    return jnp.where(ok, r / jnp.where(top > 0, top, 1.0), 0.0)


# --- after a fit: the exact searches, when the quick checks flag a neuron ------------------


def mark_status(where, item: RESULTS, status: RESULTS) -> RESULTS:
    """``status`` with ``item`` where ``where`` (element-wise over neurons)."""
    if jnp.ndim(where) > 0:
        return jax.vmap(lambda w, s: mark_status(w, item, s))(where, status)
    return RESULTS.where(where, item, status)


def _recession_one(glm: GLM, rows, use_table, coef, intercept):
    fitted = eqx.tree_at(
        lambda m: (m.coef, m.intercept), glm, (coef, intercept), is_leaf=lambda x: x is None
    )
    args, params, _ = setup(fitted, rows, use_table)
    return recession(params, args)


@eqx.filter_jit
def _directions(glm: GLM, data: Data, coef, intercept):
    data = in_dtype(data)
    return map_neurons(
        _recession_one, glm, data, small_counts(data.y), coef, intercept, extra_axes=(None, 0, 0)
    )


def confirm(glm: GLM, data: Data, fitted: GLM, result, flags, throw: bool):
    """The `glmx.FitResult` with what the exact searches find where the quick checks flagged a
    neuron:
    ``diverging`` (quasi-separation) or ``rank_deficient`` (linearly dependent columns of an
    unpenalised model). Eager calls only: under the caller's ``jit`` the flags are traced and
    the result keeps the quick checks' answer."""
    suspects, unpenalised = flags
    if is_traced(result, suspects):
        return result
    directions, dependencies = bool(np.any(suspects)), bool(unpenalised)
    if not (directions or dependencies):
        return result
    if directions:
        direction = _directions(glm, data, fitted.coef, fitted.intercept)
    if dependencies:
        unidentified_all = identify(glm.fit_intercept, data)
    status = result.status
    if directions:
        direction = jnp.where(jnp.asarray(suspects)[..., None], direction, result.recession)
        diverging = jnp.any(direction != 0, axis=-1) & (status == RESULTS.successful)
        status = mark_status(diverging, RESULTS.diverging, status)
        result = eqx.tree_at(lambda r: r.recession, result, direction)
    if dependencies:
        deficient = jnp.any(unidentified_all, axis=-1) & (status == RESULTS.successful)
        status = mark_status(deficient, RESULTS.rank_deficient, status)
        result = eqx.tree_at(lambda r: r.unidentified, result, unidentified_all)
    result = eqx.tree_at(lambda r: r.status, result, status)
    if throw and not bool(np.all(np.asarray(result.converged))):
        raise RuntimeError(f"glmx.fit: {result.message}.")
    return result
