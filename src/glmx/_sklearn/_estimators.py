"""scikit-learn estimators over the pure core: the `GLM` and `PopulationGLM` API of NeMoS,
for pipelines, cross-validation and grid searches.

The estimators hold configuration (strings or glmx objects) and, after ``fit``, the fitted
core model in ``model_``; every method converts its inputs and calls the core (`glmx.fit`,
`glmx.init_state`, `glmx.update`, the model's ``predict``, ``score``, ``simulate``). No maths
lives here. Requires scikit-learn; pynapple objects are accepted when pynapple is installed.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted

from .._data import glm_of
from .._design import missing_rows, nan_rows, ravel_coef
from .._fit import StepState, fit as core_fit, init_state, update
from .._glm import GLM as CoreGLM
from .._population import PopulationGLM as CorePopulationGLM
from .._pynapple import unwrap, wrap
from ._files import save_estimator
from ._inputs import check_sample_weight, check_X, check_Xy
from ._options import build_observation, build_regularizer, build_solver, has_positive_targets


class _GLMEstimator(RegressorMixin, BaseEstimator):
    """What `GLM` and `PopulationGLM` share; subclasses set ``_population``."""

    _population = False
    # The block sizes of a dict design, None for an array (set by fit).
    feature_blocks_: dict | None = None

    def __init__(
        self,
        observation_model="Poisson",
        regularizer="UnRegularized",
        regularizer_strength=None,
        solver_name=None,
        solver_kwargs=None,
        link=None,
        fit_intercept=True,
    ):
        self.observation_model = observation_model
        self.regularizer = regularizer
        self.regularizer_strength = regularizer_strength
        self.solver_name = solver_name
        self.solver_kwargs = solver_kwargs
        self.link = link
        self.fit_intercept = fit_intercept

    def _solver(self):
        return build_solver(self.solver_name, self.solver_kwargs)

    def _core(self, n_neurons=None, params=None):
        observation = build_observation(self.observation_model, self.link)
        regularizer = build_regularizer(self.regularizer, self.regularizer_strength)
        coef, intercept = (None, None) if params is None else params
        if self._population:
            return CorePopulationGLM(
                observation,
                regularizer,
                n_neurons=n_neurons,
                feature_mask=self.feature_mask,
                coef=coef,
                intercept=intercept,
                fit_intercept=self.fit_intercept,
            )
        return CoreGLM(observation, regularizer, coef, intercept, fit_intercept=self.fit_intercept)

    def _check_Xy(self, X, y, reset: bool):
        return check_Xy(self, X, y, reset, multi_output=self._population)

    def _n_neurons(self, y):
        return y.shape[1] if self._population else None

    def _coef_in(self, coef):
        """Coefficients as the estimator shows them -> as the core holds them."""
        if coef is None or not self._population:
            return coef
        if isinstance(coef, dict):
            return {k: jnp.asarray(v).T for k, v in coef.items()}
        return jnp.asarray(coef).T

    def _coef_out(self, coef):
        """The core's coefficients -> the estimator's (``(p, neurons)`` for populations)."""
        if isinstance(coef, dict):
            return {k: self._coef_out(v) for k, v in coef.items()}
        coef = np.asarray(coef)
        return coef.T if self._population else coef

    def _store(self, model, result=None, state=None, n_excluded=None):
        self.model_ = model
        self.coef_ = self._coef_out(model.coef)
        self.intercept_ = np.asarray(model.intercept)
        self.scale_ = np.asarray(model.scale)
        if result is not None:
            self.dof_resid_ = np.asarray(result.dof_resid)
            self.solver_state_ = result
            n_excluded = result.n_excluded
        if state is not None:
            self.solver_state_ = state
        if n_excluded is not None:
            self.n_excluded_ = self._count_out(n_excluded)

    def _count_out(self, count):
        """A count of rows as the estimator shows it: an int, ``(neurons,)`` for populations."""
        return np.asarray(count, dtype=np.int64) if self._population else int(count)

    def _n_excluded(self, X, y):
        """The rows of a batch that the core leaves out, by its one rule (`glmx._design`): the
        count that `glmx.fit` reports as ``n_excluded`` (the step state does not carry it)."""
        return jnp.sum(missing_rows(nan_rows(X), jnp.asarray(y)), axis=0)

    def _fitted(self):
        check_is_fitted(self, "model_")
        return self.model_

    # --- NeMoS's API ----------------------------------------------------------------------

    def fit(self, X, y, sample_weight=None, init_params=None):
        """Fit the model: ``X`` ``(n, p)`` (or a dict of blocks, or a pynapple TsdFrame), ``y``
        ``(n,)`` (``(n, neurons)`` for populations). ``init_params``: an optional
        ``(coef, intercept)`` warm start. Returns ``self`` with ``coef_``, ``intercept_``,
        ``scale_``, ``dof_resid_``, ``n_excluded_`` and ``solver_state_`` (the core's
        `FitResult`).

        Rows with a NaN anywhere in ``X`` or in ``y`` are left out of the fit (for populations,
        per neuron: a NaN in one neuron's column of ``y`` leaves that row out for that neuron
        only), silently, and counted in ``n_excluded_``; infinities are an error. If nothing is
        left to fit, the core's ``ValueError`` says so."""
        X, y = self._check_Xy(X, y, reset=True)
        sample_weight = check_sample_weight(sample_weight)
        params = None
        if init_params is not None:
            coef, intercept = init_params
            params = (self._coef_in(coef), intercept)
        model = self._core(self._n_neurons(y), params)
        fitted, result = core_fit(model, X, y, self._solver(), sample_weight=sample_weight)
        self._store(fitted, result=result)
        return self

    def predict(self, X):
        """The predicted mean: ``(n,)`` (``(n, neurons)`` for populations); a pynapple Tsd
        (TsdFrame) on ``X``'s time index and support when ``X`` is pynapple. Rows of ``X``
        with a NaN give NaN."""
        model = self._fitted()
        X, time = check_X(self, X, reset=False)
        return wrap(model.predict(X), time)

    def score(self, X, y, score_type="log-likelihood", sample_weight=None):
        """Goodness of fit (larger is better): ``"log-likelihood"`` (mean per sample, the
        default, so that ``GridSearchCV`` maximises it), ``"pseudo-r2-McFadden"`` or
        ``"pseudo-r2-Cohen"``. For populations, the mean over neurons. Rows with a NaN in
        ``X`` or ``y`` are left out, as in the fit."""
        return float(self._score(X, y, score_type, sample_weight))

    def _score(self, X, y, score_type, sample_weight, **aggregate):
        model = self._fitted()
        X, y = self._check_Xy(X, y, reset=False)
        if sample_weight is not None:
            sample_weight = np.asarray(unwrap(sample_weight)[0])
        return model.score(X, y, score_type, sample_weight=sample_weight, **aggregate)

    def simulate(self, random_key, feedforward_input):
        """Draw observations: returns ``(samples, means)``, each ``(n,)`` (``(n, neurons)``);
        pynapple objects on the input's time index when it is pynapple. Rows of the input
        with a NaN give NaN in both."""
        model = self._fitted()
        X, time = check_X(self, feedforward_input, reset=False)
        samples, means = model.simulate(random_key, X)
        return wrap(samples, time), wrap(means, time)

    def initialize_params(self, X, y, init_params=None):
        """``(coef, intercept)`` to start from: ``init_params`` if given, else zero
        coefficients and the intercept that matches the mean of ``y``."""
        X, y = self._check_Xy(X, y, reset=True)
        if init_params is not None:
            return init_params
        model = self._core(self._n_neurons(y)).initialize_params(X, y)
        return self._coef_out(model.coef), np.asarray(model.intercept)

    def initialize_state(self, X, y, init_params):
        """The solver state for step-wise fitting from ``init_params`` (see `update`)."""
        X, y = self._check_Xy(X, y, reset=True)
        coef, intercept = init_params
        model = self._core(self._n_neurons(y), (self._coef_in(coef), intercept))
        state = init_state(model, X, y, self._solver())
        self._store(model, state=state, n_excluded=self._n_excluded(X, y))
        return state

    def update(self, params, opt_state, X, y, sample_weight=None):
        """One solver step on the batch ``(X, y)`` from ``params`` with ``opt_state`` (from
        `initialize_state` or the previous call). Returns ``(params, opt_state)`` and sets the
        fitted attributes (the scale and ``n_excluded_`` are the batch's)."""
        X, y = self._check_Xy(X, y, reset=False)
        coef, intercept = params
        model = self._core(self._n_neurons(y), (self._coef_in(coef), intercept))
        opt_state = _with_params(opt_state, _flat_params(model))
        model, state = update(model, opt_state, X, y, self._solver(), sample_weight=sample_weight)
        self._store(model, state=state, n_excluded=self._n_excluded(X, y))
        return (self.coef_, self.intercept_), state

    # --- scikit-learn protocol ------------------------------------------------------------------

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True  # rows with NaN are left out of the fit
        # The score is a log-likelihood, not an R^2: sklearn's "score > 0.5" check does not apply.
        tags.regressor_tags.poor_score = True
        if has_positive_targets(self.observation_model):
            tags.target_tags.positive_only = True
        if self._population:
            tags.target_tags.single_output = False
            tags.target_tags.multi_output = True
        return tags

    def save_params(self, path) -> None:
        """Save the configuration and (if fitted) the fitted model to ``path`` (``.npz``); load
        with `glmx.sklearn.load_model`. Nothing in the file executes code on load."""
        save_estimator(path, self)


def _flat_params(model):
    glm = glm_of(model)
    return (ravel_coef(glm.coef), jnp.asarray(glm.intercept))


def _with_params(state, params):
    if not isinstance(state, StepState):
        raise TypeError(
            f"opt_state must come from initialize_state or update, got {type(state).__name__}."
        )
    return eqx.tree_at(
        lambda s: s.params,
        state,
        jax.tree.map(lambda new, old: jnp.asarray(new, old.dtype), params, state.params),
    )


class GLM(_GLMEstimator):
    """A scikit-learn estimator for one neuron's GLM (NeMoS's ``GLM``), over `glmx.fit`.

    **Arguments** (stored as given; resolved at ``fit``):

    - ``observation_model``: ``"Poisson"`` (default), ``"Gamma"``, ``"Bernoulli"``,
      ``"Gaussian"``, ``"NegativeBinomial"``, ``"Tweedie"`` (power 1.5),
      ``"InverseGaussian"`` (any case), or a glmx observation model such as
      ``glmx.Tweedie(1.3)`` (the way to choose another Tweedie power).
    - ``regularizer``: ``"UnRegularized"`` (default), ``"Ridge"``, ``"Lasso"``,
      ``"ElasticNet"``, or a glmx regularizer (needed for ``GroupLasso``, which needs groups).
    - ``regularizer_strength``: the penalty's strength (a float, or per feature); for
      ElasticNet a ``(strength, ratio)`` pair. ``None``: the regularizer's default.
    - ``solver_name``: ``"LBFGS"``, ``"Newton"``, ``"ProximalNewton"``, ``"ProximalGradient"``,
      ``"GradientDescent"``, ``"SVRG"``, or ``None`` for `glmx.default_solver`;
      ``solver_kwargs``: a dict for the solver (``max_steps``, ``tol``, ...).
    - ``link``: ``None`` (the family's default, so changing ``observation_model`` changes the
      link too), or ``"log"``, ``"softplus"``, ``"identity"``, ``"logit"``, ``"inverse"``,
      ``"inverse_squared"``.
    - ``fit_intercept``: ``False`` for a model without an intercept (``intercept_`` is then 0).

    **Attributes after fit:** ``coef_`` ``(p,)`` (a dict for dict designs), ``intercept_``,
    ``scale_``, ``dof_resid_``, ``n_excluded_`` (an int: the rows left out because ``X`` or
    ``y`` had a NaN there), ``solver_state_`` (the `glmx.FitResult`, or the step state after
    `update`), ``model_`` (the fitted `glmx.GLM`), ``n_features_in_``.

    **Missing rows:** a row with a NaN anywhere in ``X`` or in ``y`` is left out of the fit and
    of ``score`` (the rule of `glmx.fit`), without a warning, and counted in ``n_excluded_``;
    ``predict`` and ``simulate`` give NaN for rows of ``X`` with a NaN. Infinite values are an
    error.

    **Example:**
    ```python
    from sklearn.model_selection import GridSearchCV
    search = GridSearchCV(GLM(regularizer="Ridge"), {"regularizer_strength": [1e-3, 1e-2, 1e-1]})
    search.fit(X, spikes).best_params_
    ```
    """


class PopulationGLM(_GLMEstimator):
    """A scikit-learn estimator for a population of GLMs (NeMoS's ``PopulationGLM``).

    Arguments as `GLM`, plus ``feature_mask``: an optional 0/1 matrix ``(p, neurons)`` (or a
    dict of ``(p_k, neurons)``) saying which features each neuron uses. ``y`` is
    ``(n, neurons)``; ``regularizer_strength`` may have one value per neuron.

    **Attributes after fit:** ``coef_`` ``(p, neurons)`` (as in NeMoS), ``intercept_``
    ``(neurons,)``, ``scale_``, ``dof_resid_`` and ``n_excluded_`` ``(neurons,)``,
    ``solver_state_``, ``model_`` (the fitted `glmx.PopulationGLM`, whose ``coef`` is
    ``(neurons, p)``).

    **Missing rows** as for `GLM`, per neuron: a NaN in ``X`` leaves the row out for every
    neuron, a NaN in ``y[:, k]`` for neuron ``k`` only; ``n_excluded_[k]`` counts neuron ``k``'s.
    """

    _population = True

    def __init__(
        self,
        observation_model="Poisson",
        regularizer="UnRegularized",
        regularizer_strength=None,
        solver_name=None,
        solver_kwargs=None,
        link=None,
        feature_mask=None,
        fit_intercept=True,
    ):
        super().__init__(
            observation_model,
            regularizer,
            regularizer_strength,
            solver_name,
            solver_kwargs,
            link,
            fit_intercept,
        )
        self.feature_mask = feature_mask

    def score(self, X, y, score_type="log-likelihood", sample_weight=None, aggregate="mean"):
        """As `GLM.score`; ``aggregate="none"`` gives one score per neuron ``(neurons,)``."""
        if aggregate == "mean":
            return super().score(X, y, score_type, sample_weight)
        return np.asarray(self._score(X, y, score_type, sample_weight, aggregate=aggregate))
