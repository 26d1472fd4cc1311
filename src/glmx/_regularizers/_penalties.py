"""The penalties: `UnRegularized`, `Ridge`, `Lasso`, `ElasticNet`, `GroupLasso` (their formulas
are in the package's docstring), their base class, and the helpers they share."""

import abc
from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Bool, Float

from .._arrays import as_float_leaf
from .._prox import group_norms, prox_group_lasso, soft_threshold
from .._repr import ValueRepr


class AbstractRegularizer(ValueRepr):
    """Base class of penalties on the coefficient vector ``w`` of shape ``(p,)``.

    Subclass it to add a penalty. ``is_smooth`` says whether the penalty may be added to the
    objective of a smooth solver (gradient descent, L-BFGS); every regularizer supplies `prox`,
    so proximal solvers handle all of them.
    """

    is_smooth: ClassVar[bool]

    @abc.abstractmethod
    def penalty(self, coef: Float[Array, " p"]) -> Float[Array, ""]:
        """The penalty's value at ``coef``."""

    @abc.abstractmethod
    def prox(self, coef: Float[Array, " p"], step: ArrayLike) -> Float[Array, " p"]:
        """``argmin_z 0.5 ||z - coef||^2 + step * penalty(z)``."""

    @abc.abstractmethod
    def smooth_at(self, coef: Float[Array, " p"]) -> Bool[Array, " p"]:
        """Where the penalty is twice differentiable around ``coef``: ``False`` for the
        coefficients held at a kink (a zero of the lasso, a zero group of the group lasso),
        which a small change of the data leaves at zero. Implicit differentiation of a fit
        moves only the coefficients marked ``True``."""

    @abc.abstractmethod
    def check_features(self, n_features: int) -> None:
        """Raise ``ValueError`` if the regularizer's shapes do not fit ``n_features``."""

    @abc.abstractmethod
    def value_checks(self) -> list[tuple[Bool[Array, ""], str, Array | None]]:
        """``(is_bad, message, value)`` triples for the hyperparameters' values (e.g. a
        negative strength); ``value`` is what the error message shows as received."""

    # --- regularization paths (glmx.fit_path, glmx.cross_validate) -----------------------------
    # A penalty with a ``strength`` field takes part in paths: a path point's strength ``s``
    # replaces a scalar strength; per-feature (or per-group) strengths are relative factors
    # that ``s`` multiplies (glmnet's ``penalty.factor``).

    def at_strength(self, strength: Float[Array, ""]) -> "AbstractRegularizer":
        """This penalty at the path strength ``strength`` (see above)."""
        return eqx.tree_at(lambda r: r.strength, self, strength * self._factors())

    def _factors(self) -> Array:
        own = self.strength
        return own if jnp.ndim(own) else jnp.ones_like(own)

    def zero_strength(self, gradient: Float[Array, " p"]) -> Float[Array, ""]:
        """Where a regularization path starts: the smallest path strength at which zero
        coefficients are optimal, given ``gradient``, the smooth loss's gradient in the
        coefficients at zero (the intercept-only fit). Penalties without a kink at zero never
        zero coefficients exactly; they use the elastic net's value at ratio
        `SMOOTH_PATH_RATIO`, as glmnet does."""
        raise TypeError(
            f"{type(self).__name__} does not define zero_strength, so a path cannot choose its "
            "strengths; give strengths=."
        )


#: The l1 share at which a path of a penalty without a kink at zero (Ridge) starts, as if it
#: were an elastic net with this ratio (glmnet's ``alpha = 0`` convention).
SMOOTH_PATH_RATIO = 1e-3


def _l1_zero_strength(gradient, factors, ratio):
    """``max_j |g_j| / (ratio * factor_j)`` over penalised features (factor > 0)."""
    penalised = factors > 0
    per_feature = jnp.abs(gradient) / jnp.where(penalised, ratio * factors, 1.0)
    return jnp.max(jnp.where(penalised, per_feature, 0.0), initial=0.0)


def _strength_checks(name: str, strength: Array):
    return [
        (jnp.any(~jnp.isfinite(strength)), f"{name} strength must be finite", strength),
        (jnp.any(strength < 0), f"{name} strength must be non-negative", strength),
    ]


def _check_per_feature(name: str, strength: Array | jax.ShapeDtypeStruct, n_features: int) -> None:
    """Raise unless ``strength`` (an array, or its shape alone) is a scalar or per feature."""
    if len(strength.shape) == 0 or strength.shape == (n_features,):
        return
    raise ValueError(
        f"{name} strength must be a scalar or have one value per feature, shape "
        f"({n_features},), but has shape {strength.shape}."
    )


class UnRegularized(AbstractRegularizer):
    """No penalty: maximum likelihood."""

    is_smooth: ClassVar[bool] = True

    def penalty(self, coef):
        return jnp.zeros((), jnp.result_type(coef))

    def prox(self, coef, step):
        return coef

    def smooth_at(self, coef):
        return jnp.ones(jnp.shape(coef), bool)

    def check_features(self, n_features):
        return None

    def value_checks(self):
        return []

    def at_strength(self, strength):
        raise TypeError("UnRegularized has no strength to vary; a path needs a penalty.")


class Ridge(AbstractRegularizer):
    """L2 penalty ``0.5 * strength * ||w||^2`` (``strength`` scalar or ``(p,)``).

    Equal to scikit-learn's ``PoissonRegressor(alpha=strength)`` / ``GammaRegressor`` objective.
    """

    strength: Float[Array, "*p"] = eqx.field(default=1.0, converter=as_float_leaf)
    is_smooth: ClassVar[bool] = True

    def penalty(self, coef):
        return 0.5 * jnp.sum(self.strength * coef * coef)

    def prox(self, coef, step):
        return coef / (1.0 + step * self.strength)

    def smooth_at(self, coef):
        return jnp.ones(jnp.shape(coef), bool)

    def check_features(self, n_features):
        _check_per_feature("Ridge", self.strength, n_features)

    def value_checks(self):
        return _strength_checks("Ridge", self.strength)

    def zero_strength(self, gradient):
        return _l1_zero_strength(gradient, self._factors(), SMOOTH_PATH_RATIO)


class Lasso(AbstractRegularizer):
    """L1 penalty ``strength * ||w||_1`` (``strength`` scalar or ``(p,)``)."""

    strength: Float[Array, "*p"] = eqx.field(default=1.0, converter=as_float_leaf)
    is_smooth: ClassVar[bool] = False

    def penalty(self, coef):
        return jnp.sum(self.strength * jnp.abs(coef))

    def prox(self, coef, step):
        return soft_threshold(coef, step * self.strength)

    def smooth_at(self, coef):
        return (coef != 0) | (self.strength == 0)

    def check_features(self, n_features):
        _check_per_feature("Lasso", self.strength, n_features)

    def value_checks(self):
        return _strength_checks("Lasso", self.strength)

    def zero_strength(self, gradient):
        return _l1_zero_strength(gradient, self._factors(), 1.0)


class ElasticNet(AbstractRegularizer):
    """``strength * (ratio * ||w||_1 + 0.5 * (1 - ratio) * ||w||^2)``.

    ``ratio`` in ``[0, 1]`` is scikit-learn's ``l1_ratio`` (1 is the lasso, 0 ridge).
    """

    strength: Float[Array, "*p"] = eqx.field(default=1.0, converter=as_float_leaf)
    ratio: Float[Array, ""] = eqx.field(default=0.5, converter=as_float_leaf)
    is_smooth: ClassVar[bool] = False

    def penalty(self, coef):
        l1 = jnp.sum(self.strength * jnp.abs(coef))
        l2 = 0.5 * jnp.sum(self.strength * coef * coef)
        return self.ratio * l1 + (1.0 - self.ratio) * l2

    def prox(self, coef, step):
        shrunk = soft_threshold(coef, step * self.strength * self.ratio)
        return shrunk / (1.0 + step * self.strength * (1.0 - self.ratio))

    def smooth_at(self, coef):
        return (coef != 0) | (self.strength * self.ratio == 0)

    def check_features(self, n_features):
        _check_per_feature("ElasticNet", self.strength, n_features)
        if self.ratio.ndim != 0:
            raise ValueError(f"ElasticNet ratio must be a scalar, got shape {self.ratio.shape}.")

    def zero_strength(self, gradient):
        ratio = jnp.maximum(self.ratio, SMOOTH_PATH_RATIO)
        return _l1_zero_strength(gradient, self._factors(), ratio)

    def value_checks(self):
        return _strength_checks("ElasticNet", self.strength) + [
            (
                ~((self.ratio >= 0) & (self.ratio <= 1)),
                "ElasticNet ratio must lie in [0, 1]",
                self.ratio,
            )
        ]


def groups_to_mask(groups) -> Array:
    """A ``(g, p)`` 0/1 mask from a boolean mask or from integer labels ``(p,)``."""
    raw = np.asarray(groups)
    if raw.ndim == 1:
        if not np.issubdtype(raw.dtype, np.integer):
            raise TypeError(
                "GroupLasso groups given as labels must be integers (one per feature, -1 for "
                f"no group), got dtype {raw.dtype}."
            )
        labels = np.unique(raw[raw >= 0])
        return jnp.asarray(raw[None, :] == labels[:, None])
    if raw.ndim == 2:
        if raw.dtype != bool and not np.isin(raw, (0, 1)).all():
            raise ValueError(
                "GroupLasso groups given as a mask must hold only 0/1 (or booleans), got "
                f"values {np.unique(raw)[:5].tolist()}."
            )
        return jnp.asarray(raw.astype(bool))
    raise ValueError(
        "GroupLasso groups must be a (groups, p) boolean mask or (p,) integer labels, got an "
        f"array with shape {raw.shape}."
    )


class GroupLasso(AbstractRegularizer):
    """Group penalty ``strength * sum_g sqrt(|g|) * ||w_g||_2``: whole groups become zero.

    **Arguments:**

    - ``groups``: a boolean mask ``(g, p)`` (row ``k`` marks group ``k``'s features) or integer
      labels ``(p,)`` (``-1`` = in no group). Groups may not overlap; features in no group are
      not penalised. Group membership is structure: it is fixed when the regularizer is made.
    - ``strength``: a scalar or one value per group ``(g,)``.
    """

    groups: Bool[Array, "g p"] = eqx.field(converter=groups_to_mask)
    strength: Float[Array, "*g"] = eqx.field(default=1.0, converter=as_float_leaf)
    is_smooth: ClassVar[bool] = False

    def _weights(self, like):
        mask = self.groups.astype(jnp.result_type(like))
        return mask, jnp.sqrt(jnp.sum(mask, axis=1)) * self.strength

    def penalty(self, coef):
        mask, weight = self._weights(coef)
        return jnp.sum(weight * group_norms(coef, mask))

    def prox(self, coef, step):
        mask, weight = self._weights(coef)
        return prox_group_lasso(coef, step * weight, mask)

    def smooth_at(self, coef):
        mask, weight = self._weights(coef)
        # A group is smooth when it is non-zero or unpenalised; ungrouped features always are.
        smooth_group = (group_norms(coef, mask) > 0) | (weight == 0)
        kinked = (~smooth_group).astype(mask.dtype) @ mask
        return kinked == 0

    def check_features(self, n_features):
        n_groups, width = self.groups.shape
        if width != n_features:
            raise ValueError(
                f"GroupLasso groups mask has {width} columns but X has {n_features} features; "
                "give one column per feature."
            )
        if self.strength.ndim != 0 and self.strength.shape != (n_groups,):
            raise ValueError(
                "GroupLasso strength must be a scalar or have one value per group, shape "
                f"({n_groups},), but has shape {self.strength.shape}."
            )

    def zero_strength(self, gradient):
        mask = self.groups.astype(jnp.result_type(gradient))
        weight = jnp.sqrt(jnp.sum(mask, axis=1)) * self._factors()  # (g,) also for a scalar
        penalised = weight > 0
        per_group = group_norms(gradient, mask) / jnp.where(penalised, weight, 1.0)
        return jnp.max(jnp.where(penalised, per_group, 0.0), initial=0.0)

    def value_checks(self):
        counts = jnp.sum(self.groups, axis=0)
        return _strength_checks("GroupLasso", self.strength) + [
            (
                jnp.any(counts > 1),
                "GroupLasso groups must not overlap; features in 2+ groups",
                jnp.flatnonzero(counts > 1, size=counts.shape[0], fill_value=-1),
            ),
            (
                jnp.any(jnp.sum(self.groups, axis=1) == 0),
                "GroupLasso groups must not be empty; empty groups",
                jnp.flatnonzero(
                    jnp.sum(self.groups, axis=1) == 0, size=self.groups.shape[0], fill_value=-1
                ),
            ),
        ]
