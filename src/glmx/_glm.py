"""The GLM module: parameters, observation model, regularizer and scale, and what they compute."""

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float, PRNGKeyArray, Real

from ._arrays import as_float_leaf
from ._design import (
    check_coef_matches,
    keys_of,
    linear_predictor,
    missing_rows,
    nan_rows,
    unravel_coef,
)
from ._observations import AbstractObservation, Poisson
from ._regularizers import AbstractRegularizer, UnRegularized
from ._repr import ValueRepr
from ._typing import Coef, Design

SCORE_TYPES = ("log-likelihood", "pseudo-r2-mcfadden", "pseudo-r2-cohen")


def _as_coef(coef):
    if coef is None:
        return None
    if isinstance(coef, dict):
        return {k: jnp.asarray(v) for k, v in coef.items()}
    return jnp.asarray(coef)


def _as_optional_array(x):
    return None if x is None else jnp.asarray(x)


class GLM(ValueRepr):
    """A generalized linear model: ``E[y | x] = inverse_link(x . coef + intercept + offset)``.

    Immutable: `glmx.fit` returns a new GLM with fitted ``coef``, ``intercept`` and ``scale``.

    **Arguments:**

    - ``observation``: the observation model, e.g. `Poisson()` (default), `Gamma()`.
    - ``regularizer``: the penalty used by `glmx.fit`, e.g. `Ridge(1e-3)`; default
      `UnRegularized()`.
    - ``coef``: coefficients, ``(p,)`` or a dict of ``(p_k,)`` mirroring a dict design; ``None``
      before fitting (a fit then starts from `initialize_params`; with values it starts from them).
    - ``intercept``: a scalar, or ``None`` before fitting.
    - ``scale``: the dispersion (``Var(y) = scale * V(mu)``); estimated by the fit for Gamma and
      Gaussian, 1 for the others.
    - ``fit_intercept``: ``False`` for a model without an intercept (``E[y | x] =
      inverse_link(x . coef + offset)``; scikit-learn's ``fit_intercept=False``, statsmodels
      without a constant column): fits hold the intercept at zero, inference leaves it out of
      the parameters. Default ``True``.

    **Example:**
    ```python
    model = glmx.GLM(glmx.Poisson(), glmx.Ridge(1e-3))
    model, result = glmx.fit(model, X, y)
    rate = model.predict(X)
    ```
    """

    observation: AbstractObservation = Poisson()
    regularizer: AbstractRegularizer = UnRegularized()
    coef: Coef | None = eqx.field(default=None, converter=_as_coef)
    intercept: Float[Array, "*batch"] | None = eqx.field(default=None, converter=_as_optional_array)
    scale: Float[Array, "*batch"] = eqx.field(default=1.0, converter=as_float_leaf)
    fit_intercept: bool = eqx.field(default=True, static=True)

    def __check_init__(self):
        if not isinstance(self.fit_intercept, bool):
            raise TypeError(
                f"fit_intercept must be True or False, got {type(self.fit_intercept).__name__} "
                f"{self.fit_intercept!r}."
            )
        if (self.coef is None) != (self.intercept is None):
            given, missing = (
                ("coef", "intercept") if self.intercept is None else ("intercept", "coef")
            )
            raise ValueError(f"{given} is given but {missing} is None; give both or neither.")

    def _require_params(self, X, name="X"):
        if self.coef is None or self.intercept is None:
            raise ValueError(
                "The model has no coefficients yet; fit it with glmx.fit(model, X, y) or pass "
                "coef and intercept to GLM(...)."
            )
        check_coef_matches(X, self.coef, name)

    def linear_predictor(
        self, X: Design, offset: Real[ArrayLike, " n"] | None = None
    ) -> Float[Array, " n"]:
        """``eta = X @ coef + intercept (+ offset)``, shape ``(n,)``; NaN rows give NaN."""
        self._require_params(X)
        return linear_predictor(X, self.coef, self.intercept, offset)

    def predict(self, X: Design, offset: Real[ArrayLike, " n"] | None = None) -> Float[Array, " n"]:
        """The mean of ``y`` for each row of ``X`` (``(n, p)`` or dict), shape ``(n,)``.

        Rows of ``X`` with NaN give NaN.
        """
        return self.observation.link.inverse(self.linear_predictor(X, offset))

    def log_likelihood(
        self,
        X: Design,
        y: Real[ArrayLike, " n"],
        *,
        offset: Real[ArrayLike, " n"] | None = None,
        sample_weight: Real[ArrayLike, " n"] | None = None,
        aggregate: str = "mean",
    ) -> Float[Array, "*n"]:
        """Log-likelihood of ``y`` ``(n,)`` under the model, at the model's ``scale``.

        ``aggregate``: ``"mean"`` (weighted mean over rows, the default), ``"sum"`` (weighted
        sum, statsmodels' ``llf``), or ``"none"`` (per row, ``(n,)``). Rows with NaN in ``X`` or
        ``y`` are left out of the mean and sum (and are NaN per row).
        """
        if aggregate not in ("mean", "sum", "none"):
            raise ValueError(f"aggregate must be 'mean', 'sum' or 'none', got {aggregate!r}.")
        eta = self.linear_predictor(X, offset)
        y = jnp.asarray(y)
        keep = ~missing_rows(nan_rows(X), y)
        per_row = self.observation.predictor_log_likelihood(
            jnp.where(keep, y, 1.0), jnp.where(keep, eta, 0.0), self.scale
        )
        if aggregate == "none":
            return jnp.where(keep, per_row, jnp.nan)
        w = jnp.ones_like(per_row) if sample_weight is None else jnp.asarray(sample_weight)
        w = jnp.where(keep, w, 0.0)
        total = jnp.sum(w * jnp.where(keep, per_row, 0.0))
        return total if aggregate == "sum" else total / jnp.sum(w)

    def score(
        self,
        X: Design,
        y: Real[ArrayLike, " n"],
        score_type: str = "log-likelihood",
        *,
        offset: Real[ArrayLike, " n"] | None = None,
        sample_weight: Real[ArrayLike, " n"] | None = None,
    ) -> Float[Array, ""]:
        """A goodness-of-fit score; larger is better.

        ``score_type``: ``"log-likelihood"`` (mean per row), ``"pseudo-r2-McFadden"`` or
        ``"pseudo-r2-Cohen"`` (case-insensitive; see `AbstractObservation.pseudo_r2`).
        Rows with NaN are left out.
        """
        kind = score_type.lower()
        if kind not in SCORE_TYPES:
            raise ValueError(
                "score_type must be one of 'log-likelihood', 'pseudo-r2-McFadden', "
                f"'pseudo-r2-Cohen', got {score_type!r}."
            )
        if kind == "log-likelihood":
            return self.log_likelihood(X, y, offset=offset, sample_weight=sample_weight)
        mean = self.predict(X, offset)
        y = jnp.asarray(y)
        keep = ~missing_rows(nan_rows(X), y)
        w = jnp.ones_like(mean) if sample_weight is None else jnp.asarray(sample_weight)
        return self.observation.pseudo_r2(
            jnp.where(keep, y, 1.0),
            jnp.where(keep, mean, 1.0),
            self.scale,
            jnp.where(keep, w, 0.0),
            kind=kind,
        )

    def simulate(
        self, key: PRNGKeyArray, X: Design, offset: Real[ArrayLike, " n"] | None = None
    ) -> tuple[Float[Array, " n"], Float[Array, " n"]]:
        """Draw ``y`` for each row of ``X``: returns ``(samples, means)``, both ``(n,)``.

        Uses the model's ``scale`` (the fitted dispersion for Gamma and Gaussian). Rows of
        ``X`` with NaN give NaN in both (a sampler fed a NaN mean returns an arbitrary value,
        e.g. -1 for Poisson counts).
        """
        mean = self.predict(X, offset)
        samples = self.observation.sample(key, mean, self.scale)
        return jnp.where(jnp.isnan(mean), jnp.nan, samples), mean

    def initialize_params(
        self,
        X: Design,
        y: Real[ArrayLike, " n"],
        *,
        sample_weight: Real[ArrayLike, " n"] | None = None,
    ) -> "GLM":
        """A copy with zero coefficients (mirroring ``X``) and the intercept set so that the
        model's mean equals the (weighted) mean of ``y`` (zero without an intercept); rows with
        NaN in ``X`` or ``y`` are ignored."""
        y = jnp.asarray(y)
        keep = ~missing_rows(nan_rows(X), y)
        w = jnp.ones_like(y) if sample_weight is None else jnp.asarray(sample_weight)
        intercept = initial_intercept(
            self.observation, jnp.where(keep, y, 0.0), jnp.where(keep, w, 0.0)
        )
        if not self.fit_intercept:
            intercept = jnp.zeros_like(intercept)
        if isinstance(X, dict):
            keys = keys_of(X)
            sizes = [jnp.shape(X[k])[1] for k in keys]
            coef = unravel_coef(jnp.zeros(sum(sizes), intercept.dtype), keys, sizes)
        else:
            coef = jnp.zeros(jnp.shape(X)[1], intercept.dtype)
        return eqx.tree_at(
            lambda m: (m.coef, m.intercept), self, (coef, intercept), is_leaf=lambda x: x is None
        )


def initial_intercept(
    observation: AbstractObservation, y: Float[Array, " n"], weights: Float[Array, " n"]
) -> Float[Array, ""]:
    """``link(weighted mean of y)``, with the mean nudged inside the link's range (e.g. for
    all-zero counts); rows with zero weight do not count."""
    y_mean = jnp.sum(weights * y) / jnp.sum(weights)
    tiny = jnp.finfo(jnp.result_type(y_mean)).eps ** 0.5
    low, high = observation.mean_range
    if low is not None:
        y_mean = jnp.maximum(y_mean, low + tiny)
    if high is not None:
        y_mean = jnp.minimum(y_mean, high - tiny)
    return observation.link.link(y_mean)
