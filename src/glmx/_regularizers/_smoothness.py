"""`Smoothness`: a Tikhonov penalty on the differences of a filter's basis coefficients, so that
filters built from a basis come out smooth without hand-picking the basis size."""

from typing import ClassVar

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Bool, Float, Int

from .._arrays import as_float_leaf
from .._linalg import cho_solve, cholesky
from ._penalties import (
    SMOOTH_PATH_RATIO,
    AbstractRegularizer,
    _l1_zero_strength,
    _strength_checks,
    groups_to_mask,
)


def _differences(mask, order: int):
    """``(D, rows_group)``: the stacked difference operator ``(m, p)`` of every group (the
    differences of order ``order`` of the group's coefficients in feature order) and the group
    of each of its rows ``(m,)``."""
    mask = np.asarray(mask)
    if order not in (1, 2):
        raise ValueError(f"Smoothness order must be 1 or 2, got {order!r}.")
    rows, groups = [], []
    for g, members in enumerate(mask):
        index = np.flatnonzero(members)
        if index.size <= order:
            raise ValueError(
                f"Smoothness group {g} has {index.size} feature(s); differences of order "
                f"{order} need at least {order + 1}."
            )
        stencil = np.diff(np.eye(index.size), n=order, axis=0)  # (size - order, size)
        block = np.zeros((stencil.shape[0], mask.shape[1]))
        block[:, index] = stencil
        rows.append(block)
        groups.append(np.full(stencil.shape[0], g))
    # Integer stencils: shared by a population's neurons, never differentiated.
    return jnp.asarray(np.concatenate(rows), jnp.int32), jnp.asarray(np.concatenate(groups))


class Smoothness(AbstractRegularizer):
    """Tikhonov smoothness penalty ``0.5 * sum_g strength_g * ||D w_g||^2``.

    ``w_g`` are the coefficients of group ``g`` in feature order (one filter's basis
    coefficients, e.g. a block of a dict design), and ``D`` takes their differences of order
    ``order``: 1 penalises slope (the penalty's null space is a constant filter), 2 penalises
    curvature (a straight line is free). Only the shape is penalised, never the level, so it is
    usually combined with a basis whose neighbouring functions overlap.

    **Arguments:**

    - ``groups``: a boolean mask ``(g, p)`` or integer labels ``(p,)`` (``-1``: in no group,
      unpenalised), as for `GroupLasso`; each group needs more than ``order`` features.
    - ``order``: 1 or 2 (default 2).
    - ``strength``: a scalar or one value per group ``(g,)``.

    Smooth (quadratic), so `LBFGS` and `Newton` take it whole; its prox solves a ``p x p``
    system. In a path (`glmx.fit_path`) per-group strengths are relative factors; the top of
    the default grid is set as for `Ridge`.
    """

    groups: Bool[Array, "g p"]
    order: int = eqx.field(static=True)
    strength: Float[Array, "*g"]
    differences: Int[Array, "m p"] = eqx.field(init=False)
    row_groups: Int[Array, " m"] = eqx.field(init=False)
    is_smooth: ClassVar[bool] = True

    def __init__(self, groups, order: int = 2, strength=1.0):
        self.groups = groups_to_mask(groups)
        self.order = order
        self.strength = as_float_leaf(strength)
        self.differences, self.row_groups = _differences(self.groups, order)

    def _row_strengths(self):
        strength = jnp.broadcast_to(self.strength, (self.groups.shape[0],))
        return strength[self.row_groups]

    def penalty(self, coef):
        d = self.differences.astype(jnp.result_type(coef)) @ coef
        return 0.5 * jnp.sum(self._row_strengths() * d * d)

    def _matrix(self, like):
        D = self.differences.astype(jnp.result_type(like))
        return D.T @ (self._row_strengths()[:, None] * D)

    def prox(self, coef, step):
        system = jnp.eye(coef.shape[0], dtype=coef.dtype) + step * self._matrix(coef)
        return cho_solve(cholesky(system), coef)

    def smooth_at(self, coef):
        return jnp.ones(jnp.shape(coef), bool)

    def check_features(self, n_features):
        n_groups, width = self.groups.shape
        if width != n_features:
            raise ValueError(
                f"Smoothness groups mask has {width} columns but X has {n_features} features; "
                "give one column per feature."
            )
        if self.strength.ndim != 0 and self.strength.shape != (n_groups,):
            raise ValueError(
                "Smoothness strength must be a scalar or have one value per group, shape "
                f"({n_groups},), but has shape {self.strength.shape}."
            )

    def value_checks(self):
        counts = jnp.sum(self.groups, axis=0)
        return _strength_checks("Smoothness", self.strength) + [
            (
                jnp.any(counts > 1),
                "Smoothness groups must not overlap; features in 2+ groups",
                jnp.flatnonzero(counts > 1, size=counts.shape[0], fill_value=-1),
            )
        ]

    def zero_strength(self, gradient):
        factors = jnp.broadcast_to(self._factors(), (self.groups.shape[0],))
        per_feature = factors @ self.groups.astype(factors.dtype)  # unpenalised: 0
        return _l1_zero_strength(gradient, per_feature, SMOOTH_PATH_RATIO)
