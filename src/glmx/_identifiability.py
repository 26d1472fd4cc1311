"""Linearly dependent columns: the parameters an unpenalised fit cannot identify.

When the columns of ``X1 = [X, 1]`` (the intercept's column only if the model has one) are
linearly dependent on the rows used, an unpenalised estimate is one point of a line (or
plane) of estimates with the same fit, and the split of the fit between the dependent
columns is arbitrary: the standard errors of those parameters do not exist. Dependence is
numerical rank relative to the dtype: a singular value of the column-scaled, weighted ``X1``
at most ``max(n, d) eps`` of the largest (the usual rule of numerical rank).

The exact answer costs a QR factorisation of ``X1`` (``2 n d^2`` flops), so a fit first
factorises a sample (`SAMPLE_ROWS_PER_PARAMETER` evenly spaced rows per parameter and each
column's largest entry): a dependency among columns holds on every subset of rows, so a
sample of full rank settles it, and only a flagged sample (a true dependency, or columns that
happen to be zero on the sample) leads to the factorisation of all rows. A population whose
neurons share ``X`` is checked once, on the rows every neuron uses and the union of their
feature masks (full rank there implies full rank for every neuron); neuron by neuron only when
that flags something.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Bool, Float

from ._data import Data, in_dtype, rows_of
from ._linalg import qr_r, svd


class IdentifiabilityWarning(UserWarning):
    """Some parameters are not identified: the columns of ``X`` (with the intercept) are
    linearly dependent on the rows used, so an unpenalised estimate is one of many and their
    standard errors do not exist (`glmx.inference` reports them as NaN)."""


#: Rows of the quick rank check, per parameter (evenly spaced over the rows).
SAMPLE_ROWS_PER_PARAMETER = 16


def parameters(p: int, mask, fit_intercept: bool) -> Bool[Array, " d"]:
    """Which columns of ``[X, 1]`` (``d = p + 1``) are parameters: the features the 0/1
    ``mask`` ``(p,)`` keeps (all when ``None``), and the intercept if the model has one."""
    features = jnp.ones(p, bool) if mask is None else mask != 0
    return jnp.concatenate([features, jnp.array([fit_intercept])])


def with_intercept(X: Float[Array, "n p"], present: Bool[Array, " d"]) -> Float[Array, "n d"]:
    """``X1 = [X, 1]``, with the columns that are not parameters (``present``) zero."""
    ones = jnp.ones((X.shape[0], 1), X.dtype)
    return jnp.concatenate([X, ones], axis=1) * present


def _flagged(X, w, present) -> Bool[Array, " d"]:
    """The parameters (``present``: the columns of ``[X, 1]`` that are parameters) with a part
    in a null direction of ``sqrt(w) [X, 1]`` with unit-norm columns: by a QR factorisation and
    the SVD of ``R``."""
    scaled = with_intercept(X, present) * jnp.sqrt(w)[:, None]
    norms = jnp.linalg.norm(scaled, axis=0)
    scaled = scaled / jnp.where(norms > 0, norms, 1.0)
    n, d = scaled.shape
    if n < d:  # zero rows keep the rank and make R square
        scaled = jnp.concatenate([scaled, jnp.zeros((d - n, d), scaled.dtype)])
    _, singular, vt = svd(qr_r(scaled))
    limit = max(n, d) * jnp.finfo(X.dtype).eps * singular[0]
    # Absent columns (zero) are null directions of their own; only parameters are named.
    weight = jnp.sum(jnp.where((singular <= limit)[:, None], vt**2, 0.0), axis=0)
    return present & (weight >= 1e-6)


def _sampled(X, w, present) -> Bool[Array, " d"]:
    """`_flagged` on the sample of rows (see the module's docstring): ``O(d^3)`` flops and one
    pass over ``X``."""
    n, p = X.shape
    spaced = jnp.arange(0, n, max(1, n // (SAMPLE_ROWS_PER_PARAMETER * (p + 1))))
    # Each column's largest entry on a used row joins, so that a sparse column (the features
    # of a rarely firing neuron) is not zero on the whole sample.
    largest = jnp.argmax(jnp.abs(X) * (w > 0)[:, None], axis=0)
    sample = jnp.concatenate([spaced, largest])
    return _flagged(X[sample], w[sample], present)


def unidentified(X: Float[Array, "n p"], w: Float[Array, " n"], present) -> Bool[Array, " d"]:
    """Which of the flat ``(coef, intercept)`` (``d = p + 1``) are in a linear dependency of
    ``[X, 1]`` on the rows of positive weight ``w``; ``present`` ``(d,)``: the parameters
    (masked features and an absent intercept never count). The sample first, all rows only if
    it flags something (not under ``vmap``: a ``cond`` there would run both)."""
    return jax.lax.cond(
        jnp.any(_sampled(X, w, present)),
        lambda: _flagged(X, w, present),
        lambda: jnp.zeros(present.shape, bool),
    )


@eqx.filter_jit
def identify(fit_intercept: bool, data: Data) -> Bool[Array, "*neurons d"]:
    """`unidentified` for a model's data (`glmx._data.prepare`), per neuron for a population:
    ``(*neurons, p + 1)`` over the flat ``(coef, intercept)``."""
    data = in_dtype(data)
    rows, axes = rows_of(data)
    p = rows.X.shape[-1]

    def present(mask):
        return parameters(p, mask, fit_intercept)

    if axes is None:
        weights = jnp.where(rows.missing, 0.0, rows.sample_weight)
        return unidentified(rows.X, weights, present(rows.feature_mask))
    sample_weight = rows.sample_weight if axes.sample_weight == 1 else rows.sample_weight[:, None]
    weights = jnp.where(rows.missing, 0.0, sample_weight)  # (n, neurons)
    mask = rows.feature_mask
    per_neuron_mask = mask is not None and axes.feature_mask == 1
    n_neurons = weights.shape[1]

    def neuron(k):
        X = rows.X if axes.X is None else rows.X[k]
        return unidentified(X, weights[:, k], present(mask[:, k] if per_neuron_mask else mask))

    def each():  # one neuron at a time: no (neurons, n, d) buffer
        return jax.lax.map(neuron, jnp.arange(n_neurons))

    if axes.X is not None:
        return each()
    # Shared X: full rank on the rows every neuron uses, over the union of the masks, holds
    # for every neuron.
    union = jnp.max(mask, axis=1) if per_neuron_mask else mask
    shared = unidentified(rows.X, jnp.min(weights, axis=1), present(union))
    return jax.lax.cond(jnp.any(shared), each, lambda: jnp.zeros((n_neurons, p + 1), bool))
