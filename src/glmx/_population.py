"""A population of GLMs: one per neuron, as the single-neuron `GLM` with a leading neuron axis.

Nothing here re-implements GLM math: every method is the `GLM` method vmapped over neurons.
"""

import abc

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, PRNGKeyArray

from ._glm import GLM
from ._observations import AbstractObservation, Poisson
from ._regularizers import AbstractRegularizer, UnRegularized
from ._repr import ValueRepr


def _design_axis(X) -> int | None:
    """``None`` for a design shared by all neurons, 0 for a per-neuron design."""
    first = X[sorted(X)[0]] if isinstance(X, dict) else X
    return 0 if np.ndim(first) == 3 else None


def _series_axis(a) -> int | None:
    """``None`` for an ``(n,)`` series shared by all neurons, 1 for ``(n, neurons)``."""
    return None if a is None or np.ndim(a) == 1 else 1


def neuron_axis(leaf) -> int | None:
    """The neuron axis of a leaf of a population's `GLM`: its floating arrays (parameters and
    hyperparameters) carry the neuron axis first; other leaves (masks, group indices) are shared.
    Usable as an ``in_axes`` entry of ``eqx.filter_vmap``."""
    return 0 if eqx.is_inexact_array(leaf) else None


def neuron_of(glm: eqx.Module, k) -> eqx.Module:
    """Neuron ``k``'s `GLM` from a population's (its leaves with a neuron axis indexed)."""
    return jax.tree.map(lambda x: x[k] if neuron_axis(x) == 0 else x, glm)


def neuron_shapes(glm: GLM) -> GLM:
    """One neuron's `GLM` as shapes: leaves with a neuron axis become ``jax.ShapeDtypeStruct``
    without it (for checks of shapes, which then run no device computation to compile)."""

    def one(x):
        return jax.ShapeDtypeStruct(x.shape[1:], x.dtype) if neuron_axis(x) == 0 else x

    return jax.tree.map(one, glm)


def broadcast_neurons(glm: eqx.Module, n_neurons: int) -> eqx.Module:
    """Give every floating leaf of ``glm`` a leading neuron axis (scalars are repeated)."""

    def expand(path, leaf):
        if not eqx.is_inexact_array(leaf):
            return leaf
        if leaf.ndim == 0:
            return jnp.broadcast_to(leaf, (n_neurons,))
        if leaf.shape[0] != n_neurons:
            name = jax.tree_util.keystr(path).lstrip(".")
            raise ValueError(
                f"{name} has leading size {leaf.shape[0]} but the population has {n_neurons} "
                "neurons; give a scalar (shared) or one entry per neuron along the first axis."
            )
        return leaf

    return jax.tree_util.tree_map_with_path(expand, glm)


def _as_mask(mask):
    if mask is None:
        return None
    if isinstance(mask, dict):
        return {k: _as_mask(v) for k, v in mask.items()}
    raw = np.asarray(mask)
    if raw.ndim != 2:
        raise ValueError(f"feature_mask must be a (p, neurons) matrix, got shape {raw.shape}.")
    if raw.dtype != bool and not np.isin(raw, (0, 1)).all():
        raise ValueError(
            "feature_mask must hold only 0/1 (or booleans), got values "
            f"{np.unique(raw)[:5].tolist()}."
        )
    return jnp.asarray(raw, dtype=bool)


def checked_neurons(n_neurons) -> int:
    """``n_neurons`` as an int, after checking it is a positive integer."""
    if not isinstance(n_neurons, int | np.integer) or n_neurons < 1:
        raise ValueError(f"n_neurons must be a positive integer, got {n_neurons!r}.")
    return int(n_neurons)


class AbstractPopulation(ValueRepr):
    """What every population model shares: a member model ``glm`` whose floating leaves carry
    a leading neuron axis (`neuron_axis`), ``n_neurons``, and views of the members' parts.
    Subclasses declare the ``glm`` and ``n_neurons`` fields."""

    glm: eqx.AbstractVar[eqx.Module]
    n_neurons: eqx.AbstractVar[int]

    @abc.abstractmethod
    def _map(self, method, X, *series, **options):
        """``method`` (a member model's method) for every member, over the neuron axis."""

    @property
    def observation(self):
        return self.glm.observation

    @property
    def regularizer(self) -> AbstractRegularizer:
        return self.glm.regularizer

    @property
    def coef(self):
        """The members' coefficients, neuron axis first; ``None`` before fitting."""
        return self.glm.coef

    @property
    def intercept(self):
        """The members' intercepts, neuron axis first; ``None`` before fitting."""
        return self.glm.intercept

    def neuron(self, k: int):
        """Member ``k``'s own model (no neuron axis)."""
        return neuron_of(self.glm, k)


class PopulationGLM(AbstractPopulation):
    """GLMs for a population of neurons, fitted together by `glmx.fit` (vmap of the single fit).

    **Arguments:**

    - ``observation``, ``regularizer``: as for `GLM`. A hyperparameter may differ per neuron:
      give it a leading neuron axis (``Lasso(jnp.array([...]))`` with one strength per neuron,
      or ``(neurons, p)`` per neuron and feature). Scalars are shared.
    - ``n_neurons``: the number of neurons.
    - ``feature_mask``: optional 0/1 matrix ``(p, neurons)`` (or, for dict designs, a dict of
      ``(p_k, neurons)``): entry ``(i, k)`` says whether neuron ``k`` uses feature ``i``.
      Masked coefficients are exactly zero after a fit and take no part in it.
    - ``coef`` ``(neurons, p)`` (or a dict of ``(neurons, p_k)``), ``intercept`` ``(neurons,)``,
      ``scale`` ``(neurons,)``: parameters, usually left to `glmx.fit`.
    - ``fit_intercept``: ``False`` for neurons without an intercept (as for `GLM`).

    Fit with ``glmx.fit(pop, X, Y)`` where ``Y`` is ``(n, neurons)`` and ``X`` is shared
    ``(n, p)`` or per neuron ``(neurons, n, p)`` (or a dict of either). Each neuron stops on its
    own criterion; the `FitResult` has one entry per neuron.

    **Example:**
    ```python
    pop = glmx.PopulationGLM(glmx.Poisson(), glmx.Ridge(1e-3), n_neurons=Y.shape[1])
    pop, result = glmx.fit(pop, X, Y)
    rates = pop.predict(X)  # (n, neurons)
    ```
    """

    glm: GLM
    feature_mask: Array | dict | None
    n_neurons: int = eqx.field(static=True)

    def __init__(
        self,
        observation: AbstractObservation = Poisson(),
        regularizer: AbstractRegularizer = UnRegularized(),
        *,
        n_neurons: int,
        feature_mask=None,
        coef=None,
        intercept=None,
        scale=1.0,
        fit_intercept: bool = True,
    ):
        self.n_neurons = checked_neurons(n_neurons)
        glm = GLM(observation, regularizer, coef, intercept, scale, fit_intercept)
        self.glm = broadcast_neurons(glm, self.n_neurons)
        self.feature_mask = _as_mask(feature_mask)
        masks = (
            self.feature_mask if isinstance(self.feature_mask, dict) else {None: self.feature_mask}
        )
        for key, mask in masks.items():
            if mask is not None and mask.shape[1] != self.n_neurons:
                label = "feature_mask" if key is None else f"feature_mask[{key!r}]"
                raise ValueError(
                    f"{label} has {mask.shape[1]} columns but the population has "
                    f"{self.n_neurons} neurons; give one column per neuron."
                )

    @property
    def fit_intercept(self) -> bool:
        return self.glm.fit_intercept

    @property
    def scale(self):
        """``(neurons,)``: the dispersion of each neuron's model."""
        return self.glm.scale

    def _map(self, method, X, *series, key_axis=None, extra=()):
        """Run ``method(glm_k, X_k, *series_k, *extra)`` for every neuron; outputs get the
        neuron axis last (``(n, neurons)``) for per-row results, first for scalars."""
        axes = (
            neuron_axis,
            _design_axis(X),
            *[_series_axis(s) for s in series],
            *[key_axis for _ in extra],
        )
        out = eqx.filter_vmap(method, in_axes=axes)(self.glm, X, *series, *extra)
        return jax.tree.map(lambda o: jnp.moveaxis(o, 0, -1) if o.ndim > 1 else o, out)

    def predict(self, X, offset=None) -> Float[Array, "n neurons"]:
        """Mean of each neuron for each row: ``(n, neurons)``. ``X`` is ``(n, p)`` shared or
        ``(neurons, n, p)``; ``offset`` ``(n,)`` or ``(n, neurons)``."""
        return self._map(lambda m, X, o: m.predict(X, o), X, offset)

    def log_likelihood(self, X, Y, *, offset=None, sample_weight=None, aggregate="mean"):
        """Per-neuron log-likelihood: ``(neurons,)`` for ``aggregate="mean"``/``"sum"``,
        ``(n, neurons)`` for ``"none"``. Arguments as `GLM.log_likelihood`, with ``Y`` ``(n,
        neurons)``."""
        return self._map(
            lambda m, X, y, o, w: m.log_likelihood(
                X, y, offset=o, sample_weight=w, aggregate=aggregate
            ),
            X,
            Y,
            offset,
            sample_weight,
        )

    def score(
        self,
        X,
        Y,
        score_type="log-likelihood",
        *,
        offset=None,
        sample_weight=None,
        aggregate="mean",
    ):
        """Score per neuron (``aggregate="none"``, shape ``(neurons,)``) or their mean over
        neurons (``"mean"``, a scalar). ``score_type`` as `GLM.score`."""
        if aggregate not in ("mean", "none"):
            raise ValueError(f"aggregate must be 'mean' or 'none', got {aggregate!r}.")
        per_neuron = self._map(
            lambda m, X, y, o, w: m.score(X, y, score_type, offset=o, sample_weight=w),
            X,
            Y,
            offset,
            sample_weight,
        )
        return jnp.mean(per_neuron) if aggregate == "mean" else per_neuron

    def simulate(self, key: PRNGKeyArray, X, offset=None):
        """``(samples, means)``, both ``(n, neurons)``; an independent draw per neuron."""
        keys = jax.random.split(key, self.n_neurons)
        return self._map(
            lambda m, X, o, k: m.simulate(k, X, o), X, offset, key_axis=0, extra=(keys,)
        )

    def initialize_params(self, X, Y, *, sample_weight=None) -> "PopulationGLM":
        """A copy with zero coefficients ``(neurons, p)`` (or a dict of ``(neurons, p_k)``) and
        each neuron's intercept set so that its mean equals the (weighted) mean of its column
        of ``Y`` ``(n, neurons)``; rows with NaN in ``X`` or ``Y`` are ignored."""

        def one(glm, X, y, w):
            glm = glm.initialize_params(X, y, sample_weight=w)
            return glm.coef, glm.intercept

        axes = (neuron_axis, _design_axis(X), 1, _series_axis(sample_weight))
        coef, intercept = eqx.filter_vmap(one, in_axes=axes)(
            without_params(self.glm), X, jnp.asarray(Y), sample_weight
        )
        return eqx.tree_at(
            lambda p: (p.glm.coef, p.glm.intercept),
            self,
            (coef, intercept),
            is_leaf=lambda x: x is None,
        )


def without_params(glm: GLM) -> GLM:
    """``glm`` with ``coef`` and ``intercept`` set to ``None``."""
    return eqx.tree_at(
        lambda m: (m.coef, m.intercept), glm, (None, None), is_leaf=lambda x: x is None
    )
