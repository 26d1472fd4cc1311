"""The records of paths and cross-validation: `Path` and `CrossValidation`."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, Int

from .._data import glm_of
from .._glm import GLM
from .._population import PopulationGLM
from .._repr import ValueRepr
from .._solvers import RESULTS


class Path(ValueRepr):
    """Fits along a grid of penalty strengths. The path axis comes first; for a
    `PopulationGLM` the neuron axis follows it.

    **Fields:**

    - ``strengths``: ``(S,)``, or ``(S, neurons)`` for a population (a grid per neuron).
    - ``coef``: ``(S, p)`` / ``(S, neurons, p)`` (a dict of blocks for a dict design);
      ``intercept`` and ``scale``: ``(S,)`` / ``(S, neurons)``.
    - ``status``, ``num_steps``, ``objective``, ``optimality``, ``dof_resid``: per point, as
      in `glmx.FitResult`.
    - ``model``: the model the path was fitted for (its strength replaced at each point).
    """

    strengths: Float[Array, " S *neurons"]
    coef: Float[Array, " S *neurons p"] | dict
    intercept: Float[Array, " S *neurons"]
    scale: Float[Array, " S *neurons"]
    status: RESULTS
    num_steps: Int[Array, " S *neurons"]
    objective: Float[Array, " S *neurons"]
    optimality: Float[Array, " S *neurons"]
    dof_resid: Float[Array, " S *neurons"]
    model: GLM | PopulationGLM

    @property
    def converged(self):
        """Booleans ``(S,)`` / ``(S, neurons)``: whether each point's solve converged."""
        return self.status == RESULTS.successful

    @property
    def n_nonzero(self) -> np.ndarray:
        """The non-zero coefficients at each point, ``(S,)`` / ``(S, neurons)``."""
        coef = self.coef
        if isinstance(coef, dict):
            coef = jnp.concatenate([coef[k] for k in sorted(coef)], axis=-1)
        return np.count_nonzero(np.asarray(coef), axis=-1)

    def plot(self, ax=None, neuron: int = 0):
        """The coefficient path: each coefficient against the strength (log scale). For a
        population, neuron ``neuron``'s. Needs matplotlib; returns the axes."""
        ax = _axes(ax)
        strengths, coef = np.asarray(self.strengths), self.coef
        if isinstance(coef, dict):
            coef = np.concatenate([np.asarray(coef[k]) for k in sorted(coef)], axis=-1)
        coef = np.asarray(coef)
        if strengths.ndim == 2:
            strengths, coef = strengths[:, neuron], coef[:, neuron]
        ax.plot(strengths, coef, lw=1)
        ax.set_xscale("log")
        ax.set_xlabel("penalty strength")
        ax.set_ylabel("coefficient")
        return ax

    def model_at(self, index):
        """The fitted model at point ``index`` (an int; for a population also one int per
        neuron, ``(neurons,)``): the coefficients, intercept, scale and strength there."""
        index = np.asarray(index)
        population = isinstance(self.model, PopulationGLM)
        if population:
            index = np.broadcast_to(index, (self.strengths.shape[1],))
        elif index.ndim != 0:
            raise ValueError(f"index must be one int for a GLM, got shape {index.shape}.")

        def take(x):
            return pick_point(x, index)

        glm = glm_of(self.model)
        regularizer = _at_strengths(glm.regularizer, take(self.strengths), population)
        fitted = eqx.tree_at(
            lambda m: (m.coef, m.intercept, m.scale, m.regularizer),
            glm,
            (jax.tree.map(take, self.coef), take(self.intercept), take(self.scale), regularizer),
            is_leaf=lambda x: x is None,
        )
        return eqx.tree_at(lambda p: p.glm, self.model, fitted) if population else fitted


class CrossValidation(ValueRepr):
    """Cross-validated scores along a regularization path, and the strengths they choose.

    **Fields** (``K`` folds, ``S`` strengths; the neuron axis last for a population):

    - ``strengths``: ``(S,)`` / ``(S, neurons)``, as in `Path`.
    - ``score``: the score that chooses (``"log-likelihood"``, ``"deviance"``,
      ``"pseudo-r2-mcfadden"`` or ``"pseudo-r2-cohen"``; deviance is minimised, the others
      maximised).
    - ``fold_scores``: a dict with every score, ``(K, S)`` / ``(K, S, neurons)``: the score on
      each fold's held-out rows (weighted mean over rows for the log-likelihood and deviance).
    - ``mean``, ``se``: the chosen score's mean over folds and its standard error
      (``std / sqrt(K)``, ``std`` with ``K - 1`` degrees of freedom), ``(S,)`` / ``(S, neurons)``.
    - ``best_index``, ``index_1se``: ``()`` / ``(neurons,)``: the best mean, and the largest
      strength whose mean is within one standard error of the best (the one-standard-error
      rule: the simplest model the folds cannot tell from the best).
    - ``fold_status``: ``(K, S)`` / ``(K, S, neurons)``, each fold fit's `RESULTS`.
    - ``path``: the `Path` on all rows (the refit at every strength).
    """

    strengths: Float[Array, " S *neurons"]
    score: str = eqx.field(static=True)
    fold_scores: dict
    mean: Float[Array, " S *neurons"]
    se: Float[Array, " S *neurons"]
    best_index: Int[Array, "*neurons"]
    index_1se: Int[Array, "*neurons"]
    fold_status: RESULTS
    path: Path

    def plot(self, ax=None, neuron: int = 0):
        """The cross-validation curve: the mean held-out score against the strength with
        one-standard-error bars, and the best and one-standard-error strengths marked. For a
        population, neuron ``neuron``'s. Needs matplotlib; returns the axes."""
        ax = _axes(ax)
        strengths, mean, se = (np.asarray(a) for a in (self.strengths, self.mean, self.se))
        best, one_se = np.asarray(self.best_index), np.asarray(self.index_1se)
        if strengths.ndim == 2:
            strengths, mean, se = strengths[:, neuron], mean[:, neuron], se[:, neuron]
            best, one_se = best[neuron], one_se[neuron]
        ax.errorbar(strengths, mean, yerr=se, fmt="o-", ms=3, lw=1, capsize=2, color="k")
        ax.axvline(strengths[best], color="C0", ls="--", label=f"best {strengths[best]:.3g}")
        ax.axvline(strengths[one_se], color="C1", ls=":", label=f"1 SE {strengths[one_se]:.3g}")
        ax.set_xscale("log")
        ax.set_xlabel("penalty strength")
        ax.set_ylabel(f"held-out {self.score}")
        ax.legend(frameon=False)
        return ax

    @property
    def best_strength(self):
        """The strength with the best mean score, ``()`` / ``(neurons,)``."""
        return pick_point(self.strengths, self.best_index)

    @property
    def strength_1se(self):
        """The one-standard-error strength, ``()`` / ``(neurons,)``."""
        return pick_point(self.strengths, self.index_1se)

    @property
    def best_model(self):
        """The model fitted on all rows at `best_strength`."""
        return self.path.model_at(self.best_index)

    @property
    def model_1se(self):
        """The model fitted on all rows at `strength_1se`."""
        return self.path.model_at(self.index_1se)


def pick_point(values, index):
    """``values`` (path axis first) at point ``index``: one int, or one per neuron
    ``(neurons,)`` for values ``(S, neurons, ...)``."""
    index = np.asarray(index)
    if index.ndim == 0:
        return values[index]
    return values[index, np.arange(index.shape[0])]


def _at_strengths(regularizer, strengths, population: bool):
    """``regularizer`` at path strength(s), one per neuron ``(neurons,)`` for a population
    (whose strengths carry the neuron axis first; a vector per neuron is relative factors)."""
    if not population:
        return regularizer.at_strength(strengths)
    own = regularizer.strength
    new = strengths if own.ndim == 1 else strengths[:, None] * own
    return eqx.tree_at(lambda r: r.strength, regularizer, new)


def _axes(ax):
    """``ax``, or new axes; matplotlib is an optional dependency."""
    if ax is not None:
        return ax
    try:
        import matplotlib.pyplot as plt
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise ImportError(
            'plotting needs matplotlib; install it with `pip install "glmx[examples]"`.'
        ) from error
    return plt.subplots(figsize=(5, 3.5))[1]
