"""The categorical GLM (multinomial logistic regression) and its population.

``P(y = k | x) = softmax(x @ coef + intercept)_k`` with ``coef`` ``(p, K)`` and ``intercept``
``(K,)``. Adding the same vector to every column of the coefficients (or the same number to
every intercept) leaves the probabilities unchanged, so a fit fixes a convention
(`CategoricalGLM`'s docstring and docs/categorical.md):

- without a penalty (`UnRegularized`), class 0 is the reference: its coefficients and intercept
  are zero, and the other ``K-1`` columns are the log-odds against it (statsmodels' MNLogit);
- with a penalty, the coefficients of all ``K`` classes are free and the penalty makes them
  unique (Ridge gives columns summing to zero: scikit-learn's and glmnet's symmetric form);
  the unpenalised intercepts are reported centred (summing to zero).

A population is the same model with a leading neuron axis on its floating leaves, mapped
with ``eqx.filter_vmap`` (as `glmx.PopulationGLM` is for `glmx.GLM`).
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float, PRNGKeyArray, Real

from ._arrays import is_traced
from ._categorical import Categorical
from ._design import missing_rows, nan_rows, shape_of
from ._population import AbstractPopulation, broadcast_neurons, checked_neurons, neuron_axis
from ._regularizers import AbstractRegularizer, UnRegularized
from ._repr import ValueRepr

CATEGORICAL_SCORES = ("log-likelihood", "pseudo-r2-mcfadden", "accuracy")


def _as_optional_array(x):
    return None if x is None else jnp.asarray(x)


def uses_reference(regularizer: AbstractRegularizer) -> bool:
    """Whether a fit with ``regularizer`` holds class 0 at zero (no penalty), rather than
    fitting all ``K`` classes' coefficients (a penalty makes them unique)."""
    return isinstance(regularizer, UnRegularized)


def check_design(X, n_coef_rows: int | None, name: str = "X") -> None:
    """Raise unless ``X`` is a 2-D array (with ``n_coef_rows`` columns when given)."""
    if isinstance(X, dict):
        raise TypeError(f"{name} must be an array (n_samples, n_features) for CategoricalGLM.")
    shape = shape_of(X)
    if len(shape) != 2:
        raise ValueError(f"{name} must be 2-dimensional (n_samples, n_features), got {shape}.")
    if n_coef_rows is not None and shape[1] != n_coef_rows:
        raise ValueError(
            f"{name} has {shape[1]} features but the model has {n_coef_rows} coefficient rows; "
            "they must match."
        )


class CategoricalGLM(ValueRepr):
    """A categorical GLM (multinomial logistic regression) for class labels ``0 .. K-1``.

    ``P(y = k | x) = softmax(x @ coef + intercept)_k``. Immutable: `glmx.fit` returns a new
    model with fitted ``coef`` and ``intercept``.

    **Arguments:**

    - ``observation``: `Categorical(K)`.
    - ``regularizer``: the penalty on the coefficient matrix (default `UnRegularized()`).
      `Ridge`, `Lasso` and `ElasticNet` apply to every entry (a per-feature strength ``(p,)``
      to a feature's coefficients in every class); `GroupLasso`'s groups are sets of features
      whose coefficients in all ``K`` classes form one group (``||W_g||_F``), so a group of one
      feature removes that feature from every class at once.
    - ``coef``: ``(p, K)``, or ``None`` before fitting.
    - ``intercept``: ``(K,)``, or ``None`` before fitting.

    **Identifiability.** Without a penalty, class 0 is the reference: ``coef[:, 0]`` and
    ``intercept[0]`` are zero and column ``k`` holds the log-odds of class ``k`` against class
    0 (as statsmodels' ``MNLogit``). With a penalty the coefficients of all classes are fitted
    and the penalty makes them unique (as scikit-learn's multinomial ``LogisticRegression`` and
    glmnet); the intercepts are then centred to sum to zero.

    **Example:**
    ```python
    model = glmx.CategoricalGLM(glmx.Categorical(3), glmx.Ridge(1e-2))
    model, result = glmx.fit(model, X, labels)
    probabilities = model.predict_proba(X)  # (n, 3)
    ```
    """

    observation: Categorical
    regularizer: AbstractRegularizer = UnRegularized()
    coef: Float[Array, "p K"] | None = eqx.field(default=None, converter=_as_optional_array)
    intercept: Float[Array, " K"] | None = eqx.field(default=None, converter=_as_optional_array)

    def __check_init__(self):
        if not isinstance(self.observation, Categorical):
            raise TypeError(
                "observation must be glmx.Categorical(n_classes), got "
                f"{type(self.observation).__name__}."
            )
        if not isinstance(self.regularizer, AbstractRegularizer):
            raise TypeError(
                f"regularizer must be a glmx regularizer (e.g. glmx.Ridge(0.1)), got "
                f"{self.regularizer!r}."
            )
        if (self.coef is None) != (self.intercept is None):
            given, missing = (
                ("coef", "intercept") if self.intercept is None else ("intercept", "coef")
            )
            raise ValueError(f"{given} is given but {missing} is None; give both or neither.")
        K = self.n_classes
        if self.coef is not None and (self.coef.shape[-1] != K or self.intercept.shape[-1] != K):
            raise ValueError(
                f"coef must be (p, {K}) and intercept ({K},) for {K} classes, got shapes "
                f"{self.coef.shape} and {self.intercept.shape}."
            )

    @property
    def n_classes(self) -> int:
        return self.observation.n_classes

    def _require_params(self, X):
        if self.coef is None:
            raise ValueError(
                "The model has no coefficients yet; fit it with glmx.fit(model, X, y) or pass "
                "coef and intercept to CategoricalGLM(...)."
            )
        check_design(X, self.coef.shape[-2])

    def linear_predictor(self, X: Real[ArrayLike, "n p"]) -> Float[Array, "n K"]:
        """``X @ coef + intercept``, shape ``(n, K)``; NaN rows give NaN."""
        self._require_params(X)
        return jnp.asarray(X) @ self.coef + self.intercept

    def predict_proba(self, X: Real[ArrayLike, "n p"]) -> Float[Array, "n K"]:
        """Class probabilities ``(n, K)`` for each row of ``X``; NaN rows give NaN."""
        return self.observation.probabilities(self.linear_predictor(X))

    def predict(self, X: Real[ArrayLike, "n p"]) -> Float[Array, " n"]:
        """The most probable class of each row, as integer-valued floats ``(n,)`` (NaN for
        rows of ``X`` holding a NaN)."""
        eta = self.linear_predictor(X)
        label = jnp.argmax(eta, axis=-1).astype(eta.dtype)
        return jnp.where(jnp.any(jnp.isnan(eta), axis=-1), jnp.nan, label)

    def _kept(self, X, y, sample_weight):
        y = jnp.asarray(y)
        keep = ~missing_rows(nan_rows(X), y)
        y = checked_labels(self.observation, y, keep)
        w = jnp.ones(y.shape, self.coef.dtype) if sample_weight is None else sample_weight
        return jnp.where(keep, y, 0.0), jnp.where(keep, jnp.asarray(w), 0.0), keep

    def log_likelihood(
        self,
        X: Real[ArrayLike, "n p"],
        y: Real[ArrayLike, " n"],
        *,
        sample_weight: Real[ArrayLike, " n"] | None = None,
        aggregate: str = "mean",
    ) -> Float[Array, "*n"]:
        """Log-likelihood of the labels ``y`` ``(n,)``: ``"mean"`` (weighted mean over rows,
        the default), ``"sum"`` (statsmodels' ``llf``) or ``"none"`` (per row). Rows with NaN
        in ``X`` or ``y`` are left out (NaN per row)."""
        if aggregate not in ("mean", "sum", "none"):
            raise ValueError(f"aggregate must be 'mean', 'sum' or 'none', got {aggregate!r}.")
        eta = self.linear_predictor(X)
        y, w, keep = self._kept(X, y, sample_weight)
        per_row = self.observation.predictor_log_likelihood(y, jnp.where(keep[:, None], eta, 0.0))
        if aggregate == "none":
            return jnp.where(keep, per_row, jnp.nan)
        total = jnp.sum(w * per_row)
        return total if aggregate == "sum" else total / jnp.sum(w)

    def score(
        self,
        X: Real[ArrayLike, "n p"],
        y: Real[ArrayLike, " n"],
        score_type: str = "log-likelihood",
        *,
        sample_weight: Real[ArrayLike, " n"] | None = None,
    ) -> Float[Array, ""]:
        """``"log-likelihood"`` (mean per row), ``"pseudo-r2-McFadden"`` (against the class
        frequencies) or ``"accuracy"`` (weighted fraction of rows predicted right); larger is
        better. Rows with NaN are left out."""
        kind = score_type.lower()
        if kind not in CATEGORICAL_SCORES:
            raise ValueError(
                "score_type must be one of 'log-likelihood', 'pseudo-r2-McFadden', 'accuracy', "
                f"got {score_type!r}."
            )
        if kind == "log-likelihood":
            return self.log_likelihood(X, y, sample_weight=sample_weight)
        eta = self.linear_predictor(X)
        y, w, keep = self._kept(X, y, sample_weight)
        eta = jnp.where(keep[:, None], eta, 0.0)
        if kind == "accuracy":
            right = (jnp.argmax(eta, axis=-1) == y).astype(w.dtype)
            return jnp.sum(w * right) / jnp.sum(w)
        return self.observation.pseudo_r2(y, eta, w)

    def simulate(
        self, key: PRNGKeyArray, X: Real[ArrayLike, "n p"]
    ) -> tuple[Float[Array, " n"], Float[Array, "n K"]]:
        """Draw a label for each row of ``X``: ``(labels (n,), probabilities (n, K))``."""
        eta = self.linear_predictor(X)
        return self.observation.sample(key, eta), self.observation.probabilities(eta)


def checked_labels(observation: Categorical, y, keep):
    """``y``, after checking that its kept entries are labels the model knows: on concrete
    labels a ``ValueError`` naming the first other one, on traced ones an ``eqx.error_if``."""
    bad = keep & ~observation.in_support(jnp.where(keep, y, 0.0))
    message = f"y must hold {observation.support} for Categorical"
    if is_traced(y, keep):
        return eqx.error_if(y, jnp.any(bad), message + ".")
    if bool(jnp.any(bad)):
        first = int(np.flatnonzero(np.asarray(bad))[0])
        raise ValueError(f"{message}, but y[{first}] is {float(y[first])}.")
    return y


def _design_axis(X) -> int | None:
    return 0 if np.ndim(X) == 3 else None


def _labels_axis(y) -> int | None:
    return None if y is None or np.ndim(y) == 1 else 1


class PopulationCategoricalGLM(AbstractPopulation):
    """Categorical GLMs for several label series fitted together by `glmx.fit` (``vmap`` of
    the single fit; each stops on its own criterion).

    **Arguments:**

    - ``observation``, ``regularizer``: as for `CategoricalGLM`; a strength may differ per
      member (a leading axis of size ``n_neurons``).
    - ``n_neurons``: the number of label series (columns of ``Y``).
    - ``coef`` ``(neurons, p, K)``, ``intercept`` ``(neurons, K)``: usually left to `glmx.fit`.

    Fit with ``glmx.fit(pop, X, Y)``, ``Y`` ``(n, neurons)`` and ``X`` shared ``(n, p)`` or per
    member ``(neurons, n, p)``.
    """

    glm: CategoricalGLM
    n_neurons: int = eqx.field(static=True)

    def __init__(
        self,
        observation: Categorical,
        regularizer: AbstractRegularizer = UnRegularized(),
        *,
        n_neurons: int,
        coef=None,
        intercept=None,
    ):
        self.n_neurons = checked_neurons(n_neurons)
        glm = CategoricalGLM(observation, regularizer, coef, intercept)
        self.glm = broadcast_neurons(glm, self.n_neurons)

    def _map(self, method, X, *series, extra=()):
        """``method`` for every member; per-row outputs get the member axis second."""
        axes = (neuron_axis, _design_axis(X), *[_labels_axis(s) for s in series])
        axes = axes + tuple(0 for _ in extra)
        out = eqx.filter_vmap(method, in_axes=axes)(self.glm, X, *series, *extra)
        return jax.tree.map(lambda o: jnp.moveaxis(o, 0, 1) if o.ndim > 1 else o, out)

    def predict_proba(self, X) -> Float[Array, "n neurons K"]:
        """Class probabilities ``(n, neurons, K)``."""
        return self._map(lambda m, X: m.predict_proba(X), X)

    def predict(self, X) -> Float[Array, "n neurons"]:
        """The most probable class of each member for each row, ``(n, neurons)``."""
        return self._map(lambda m, X: m.predict(X), X)

    def log_likelihood(self, X, Y, *, aggregate="mean"):
        """Per-member log-likelihood ``(neurons,)`` (``"mean"``/``"sum"``) or ``(n, neurons)``
        (``"none"``) of the labels ``Y`` ``(n, neurons)``."""
        return self._map(lambda m, X, y: m.log_likelihood(X, y, aggregate=aggregate), X, Y)

    def score(self, X, Y, score_type="log-likelihood"):
        """`CategoricalGLM.score` per member, ``(neurons,)``."""
        return self._map(lambda m, X, y: m.score(X, y, score_type), X, Y)

    def simulate(self, key: PRNGKeyArray, X):
        """``(labels (n, neurons), probabilities (n, neurons, K))``; independent draws."""
        keys = jax.random.split(key, self.n_neurons)
        return self._map(lambda m, X, k: m.simulate(k, X), X, extra=(keys,))
