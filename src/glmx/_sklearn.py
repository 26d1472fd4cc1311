"""scikit-learn estimators over the pure core: the `GLM` and `PopulationGLM` API of the seed
(NeMoS), for pipelines, cross-validation and grid searches.

The estimators hold configuration (strings or glmx objects) and, after ``fit``, the fitted
core model in ``model_``; every method converts its inputs and calls the core (`glmx.fit`,
`glmx.init_state`, `glmx.update`, the model's ``predict``, ``score``, ``simulate``). No maths
lives here. Requires scikit-learn; pynapple objects are accepted when pynapple is installed.
"""

import dataclasses
import warnings

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from scipy.sparse import issparse
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from . import _io
from ._design import ravel_coef
from ._fit import StepState, init_state, update
from ._fit import fit as core_fit
from ._glm import GLM as CoreGLM
from ._links import AbstractLink, IdentityLink, InverseLink, LogitLink, LogLink, SoftplusLink
from ._observations import (
    AbstractObservation,
    Bernoulli,
    Gamma,
    Gaussian,
    NegativeBinomial,
    Poisson,
)
from ._population import PopulationGLM as CorePopulationGLM
from ._regularizers import AbstractRegularizer, ElasticNet, GroupLasso, Lasso, Ridge, UnRegularized
from ._solvers import (
    LBFGS,
    SVRG,
    AbstractSolver,
    GradientDescent,
    Newton,
    ProximalGradient,
    ProximalNewton,
)

OBSERVATIONS = {
    "poisson": Poisson,
    "gamma": Gamma,
    "bernoulli": Bernoulli,
    "gaussian": Gaussian,
    "negativebinomial": NegativeBinomial,
}
LINKS = {
    "log": LogLink,
    "softplus": SoftplusLink,
    "identity": IdentityLink,
    "logit": LogitLink,
    "inverse": InverseLink,
}
REGULARIZERS = {
    "unregularized": UnRegularized,
    "ridge": Ridge,
    "lasso": Lasso,
    "elasticnet": ElasticNet,
    "grouplasso": GroupLasso,
}
SOLVERS = {
    "lbfgs": LBFGS,
    "newton": Newton,
    "proximalnewton": ProximalNewton,
    "proximalgradient": ProximalGradient,
    "gradientdescent": GradientDescent,
    "svrg": SVRG,
}


def _key(name: str) -> str:
    return name.lower().replace("_", "").replace("-", "").replace(" ", "")


def _lookup(table: dict, value, argument: str):
    if isinstance(value, str) and _key(value) in table:
        return table[_key(value)]
    raise ValueError(f"{argument} must be one of {sorted(table)} (any case), got {value!r}.")


# --- pynapple at the edge --------------------------------------------------------------------


def _is_pynapple(obj) -> bool:
    return type(obj).__module__.split(".")[0] == "pynapple"


def _unwrap(obj):
    """``(array, time)``: the values of a pynapple Tsd/TsdFrame and their time index and
    support (``None`` for anything else)."""
    if _is_pynapple(obj):
        return np.asarray(obj.values), (np.asarray(obj.t), obj.time_support)
    return obj, None


def _wrap(values, time):
    """``values`` as a pynapple Tsd (1-D) or TsdFrame (2-D) on ``time``, or as NumPy."""
    values = np.asarray(values)
    if time is None:
        return values
    import pynapple as nap

    t, support = time
    if values.ndim == 1:
        return nap.Tsd(t=t, d=values, time_support=support)
    return nap.TsdFrame(t=t, d=values, time_support=support)


def _is_design_dict(X) -> bool:
    """A dict of blocks (not a scipy ``dok`` sparse matrix, which is a dict too)."""
    return isinstance(X, dict) and not issparse(X)


def _same_time(x_time, y_time) -> None:
    if x_time is None or y_time is None:
        return
    if x_time[0].shape != y_time[0].shape or not np.array_equal(x_time[0], y_time[0]):
        raise ValueError(
            f"X and y are pynapple objects on different time indices ({x_time[0].shape[0]} and "
            f"{y_time[0].shape[0]} samples); restrict them to one IntervalSet and bin them "
            "alike (e.g. y = y.restrict(X.time_support))."
        )


# --- the shared estimator ----------------------------------------------------------------------


class _GLMEstimator(RegressorMixin, BaseEstimator):
    """What `GLM` and `PopulationGLM` share; subclasses set ``_population``."""

    _population = False

    def __init__(
        self,
        observation_model="Poisson",
        regularizer="UnRegularized",
        regularizer_strength=None,
        solver_name=None,
        solver_kwargs=None,
        link=None,
    ):
        self.observation_model = observation_model
        self.regularizer = regularizer
        self.regularizer_strength = regularizer_strength
        self.solver_name = solver_name
        self.solver_kwargs = solver_kwargs
        self.link = link

    def _observation(self) -> AbstractObservation:
        observation = self.observation_model
        if isinstance(observation, AbstractObservation):
            if self.link is not None:
                raise ValueError(
                    "link is set but observation_model is a glmx observation model, which "
                    f"carries its own link ({observation.link!r}); give one or the other."
                )
            return observation
        cls = _lookup(OBSERVATIONS, observation, "observation_model")
        if self.link is None:
            return cls()
        link = (
            self.link
            if isinstance(self.link, AbstractLink)
            else _lookup(LINKS, self.link, "link")()
        )
        return cls(link=link)

    def _regularizer(self) -> AbstractRegularizer:
        regularizer, strength = self.regularizer, self.regularizer_strength
        if isinstance(regularizer, AbstractRegularizer):
            if strength is None or isinstance(regularizer, UnRegularized):
                return regularizer
            cls, fields = type(regularizer), _fields(regularizer)
        else:
            cls, fields = _lookup(REGULARIZERS, regularizer, "regularizer"), {}
            if cls is UnRegularized:
                if strength is not None:
                    warnings.warn(
                        "regularizer_strength is ignored without a penalty (regularizer="
                        f"{regularizer!r}).",
                        UserWarning,
                        stacklevel=3,
                    )
                return UnRegularized()
            if cls is GroupLasso:
                raise ValueError(
                    'regularizer="GroupLasso" needs the groups: pass regularizer=glmx.GroupLasso('
                    "groups) (and the strength as regularizer_strength or in it)."
                )
            if strength is None:
                return cls()
        if cls is ElasticNet and isinstance(strength, tuple):
            return ElasticNet(strength[0], strength[1])
        return cls(**{**fields, "strength": strength})

    def _solver(self) -> AbstractSolver | None:
        kwargs = {} if self.solver_kwargs is None else dict(self.solver_kwargs)
        if self.solver_name is None:
            if kwargs:
                raise ValueError(
                    "solver_kwargs need a solver_name: the automatic choice depends on the "
                    "penalty and the number of features."
                )
            return None
        cls = _lookup(SOLVERS, self.solver_name, "solver_name")
        try:
            return cls(**kwargs)
        except TypeError as error:
            raise TypeError(f"solver_kwargs do not fit {cls.__name__}: {error}") from None

    def _n_neurons(self, y):
        return y.shape[1] if self._population else None

    def _core(self, n_neurons=None, params=None):
        observation, regularizer = self._observation(), self._regularizer()
        coef, intercept = (None, None) if params is None else params
        if self._population:
            return CorePopulationGLM(
                observation,
                regularizer,
                n_neurons=n_neurons,
                feature_mask=self.feature_mask,
                coef=coef,
                intercept=intercept,
            )
        return CoreGLM(observation, regularizer, coef, intercept)

    # --- inputs ---------------------------------------------------------------------------

    def _check_X(self, X, reset: bool):
        """``(X, time)``: a validated design (array or dict of arrays) and its pynapple time."""
        X, time = _unwrap(X)
        if _is_design_dict(X):
            if not X:
                raise ValueError("X is an empty dict; give at least one block of features.")
            blocks = {}
            for k, v in X.items():
                v, _ = _unwrap(v)
                blocks[k] = check_array(
                    v,
                    ensure_all_finite="allow-nan",
                    dtype=(np.float64, np.float32),
                    input_name=f"X[{k!r}]",
                )
            sizes = {k: v.shape[1] for k, v in blocks.items()}
            if reset:
                self.n_features_in_ = sum(sizes.values())
                self.feature_blocks_ = sizes
            elif getattr(self, "feature_blocks_", None) != sizes:
                raise ValueError(
                    f"X has blocks {sizes} but {type(self).__name__} was fitted with "
                    f"{getattr(self, 'feature_blocks_', 'an array')}."
                )
            return blocks, time
        X = validate_data(
            self, X, reset=reset, ensure_all_finite="allow-nan", dtype=(np.float64, np.float32)
        )
        if reset:
            self.feature_blocks_ = None
        return X, time

    def _check_Xy(self, X, y, reset: bool):
        X, x_time = _unwrap(X)
        y, y_time = _unwrap(y)
        _same_time(x_time, y_time)
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None."
            )
        if _is_design_dict(X):
            X, _ = self._check_X(X, reset)
            y = check_array(
                y,
                ensure_2d=False,
                ensure_all_finite="allow-nan",
                dtype=(np.float64, np.float32),
                input_name="y",
            )
        else:
            X, y = validate_data(
                self,
                X,
                y,
                reset=reset,
                ensure_all_finite="allow-nan",
                dtype=(np.float64, np.float32),
                y_numeric=True,
                multi_output=self._population,
            )
            if reset:
                self.feature_blocks_ = None
        if self._population and y.ndim == 1:
            raise ValueError(
                f"y must be 2-dimensional (n_samples, neurons) for PopulationGLM, got shape "
                f"{y.shape}; for one neuron use glmx.sklearn.GLM."
            )
        return X, y, x_time

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

    def _store(self, model, result=None, state=None):
        self.model_ = model
        self.coef_ = self._coef_out(model.coef)
        self.intercept_ = np.asarray(model.intercept)
        self.scale_ = np.asarray(model.scale)
        if result is not None:
            self.dof_resid_ = np.asarray(result.dof_resid)
            self.solver_state_ = result
        if state is not None:
            self.solver_state_ = state

    # --- the seed's API ----------------------------------------------------------------------

    def fit(self, X, y, sample_weight=None, init_params=None):
        """Fit the model: ``X`` ``(n, p)`` (or a dict of blocks, or a pynapple TsdFrame), ``y``
        ``(n,)`` (``(n, neurons)`` for populations). ``init_params``: an optional
        ``(coef, intercept)`` warm start. Returns ``self`` with ``coef_``, ``intercept_``,
        ``scale_``, ``dof_resid_`` and ``solver_state_`` (the core's `FitResult`)."""
        X, y, _ = self._check_Xy(X, y, reset=True)
        if sample_weight is not None:
            sample_weight, _ = _unwrap(sample_weight)
            sample_weight = check_array(
                sample_weight,
                ensure_2d=False,
                dtype=(np.float64, np.float32),
                input_name="sample_weight",
            )
        n_neurons = self._n_neurons(y)
        params = None
        if init_params is not None:
            coef, intercept = init_params
            params = (self._coef_in(coef), intercept)
        model = self._core(n_neurons, params)
        fitted, result = core_fit(model, X, y, self._solver(), sample_weight=sample_weight)
        self._store(fitted, result=result)
        return self

    def _fitted(self):
        check_is_fitted(self, "model_")
        return self.model_

    def predict(self, X):
        """The predicted mean: ``(n,)`` (``(n, neurons)`` for populations); a pynapple Tsd
        (TsdFrame) on ``X``'s time index and support when ``X`` is pynapple."""
        model = self._fitted()
        X, time = self._check_X(X, reset=False)
        return _wrap(model.predict(X), time)

    def score(self, X, y, score_type="log-likelihood", sample_weight=None):
        """Goodness of fit (larger is better): ``"log-likelihood"`` (mean per sample, the
        default, so that ``GridSearchCV`` maximises it), ``"pseudo-r2-McFadden"`` or
        ``"pseudo-r2-Cohen"``. For populations, the mean over neurons."""
        model = self._fitted()
        X, y, _ = self._check_Xy(X, y, reset=False)
        if sample_weight is not None:
            sample_weight = np.asarray(_unwrap(sample_weight)[0])
        value = model.score(X, y, score_type, sample_weight=sample_weight)
        return float(value)

    def simulate(self, random_key, feedforward_input):
        """Draw observations: returns ``(samples, means)``, each ``(n,)`` (``(n, neurons)``);
        pynapple objects on the input's time index when it is pynapple."""
        model = self._fitted()
        X, time = self._check_X(feedforward_input, reset=False)
        samples, means = model.simulate(random_key, X)
        return _wrap(samples, time), _wrap(means, time)

    def initialize_params(self, X, y, init_params=None):
        """``(coef, intercept)`` to start from: ``init_params`` if given, else zero
        coefficients and the intercept that matches the mean of ``y``."""
        X, y, _ = self._check_Xy(X, y, reset=True)
        if init_params is not None:
            return init_params
        n_neurons = self._n_neurons(y)
        model = self._core(n_neurons).initialize_params(X, y)
        return self._coef_out(model.coef), np.asarray(model.intercept)

    def initialize_state(self, X, y, init_params):
        """The solver state for step-wise fitting from ``init_params`` (see `update`)."""
        X, y, _ = self._check_Xy(X, y, reset=True)
        n_neurons = self._n_neurons(y)
        coef, intercept = init_params
        model = self._core(n_neurons, (self._coef_in(coef), intercept))
        state = init_state(model, X, y, self._solver())
        self._store(model, state=state)
        return state

    def update(self, params, opt_state, X, y, sample_weight=None):
        """One solver step on the batch ``(X, y)`` from ``params`` with ``opt_state`` (from
        `initialize_state` or the previous call). Returns ``(params, opt_state)`` and sets the
        fitted attributes (the scale is estimated on the batch)."""
        X, y, _ = self._check_Xy(X, y, reset=False)
        n_neurons = self._n_neurons(y)
        coef, intercept = params
        model = self._core(n_neurons, (self._coef_in(coef), intercept))
        flat = _flat_params(model)
        opt_state = _with_params(opt_state, flat)
        model, state = update(model, opt_state, X, y, self._solver(), sample_weight=sample_weight)
        self._store(model, state=state)
        return (self.coef_, self.intercept_), state

    # --- scikit-learn protocol ------------------------------------------------------------------

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True  # rows with NaN are left out of the fit
        # The score is a log-likelihood, not an R^2: sklearn's "score > 0.5" check does not apply.
        tags.regressor_tags.poor_score = True
        observation = self.observation_model
        name = observation if isinstance(observation, str) else type(observation).__name__
        if _key(name) in ("poisson", "gamma", "negativebinomial"):
            tags.target_tags.positive_only = True
        if self._population:
            tags.target_tags.single_output = False
            tags.target_tags.multi_output = True
        return tags

    def save_params(self, path) -> None:
        """Save the configuration and (if fitted) the fitted model to ``path`` (``.npz``); load
        with `glmx.sklearn.load_model`. Nothing in the file executes code on load."""
        _io.save_estimator(path, self)


def _fields(module) -> dict:
    return {f.name: getattr(module, f.name) for f in dataclasses.fields(module)}


def _flat_params(model):
    glm = model.glm if isinstance(model, CorePopulationGLM) else model
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
    """A scikit-learn estimator for one neuron's GLM (the seed's ``GLM``), over `glmx.fit`.

    **Arguments** (stored as given; resolved at ``fit``):
    - ``observation_model``: ``"Poisson"`` (default), ``"Gamma"``, ``"Bernoulli"``,
      ``"Gaussian"``, ``"NegativeBinomial"`` (any case), or a glmx observation model.
    - ``regularizer``: ``"UnRegularized"`` (default), ``"Ridge"``, ``"Lasso"``,
      ``"ElasticNet"``, or a glmx regularizer (needed for ``GroupLasso``, which needs groups).
    - ``regularizer_strength``: the penalty's strength (a float, or per feature); for
      ElasticNet a ``(strength, ratio)`` pair. ``None``: the regularizer's default.
    - ``solver_name``: ``"LBFGS"``, ``"Newton"``, ``"ProximalNewton"``, ``"ProximalGradient"``,
      ``"GradientDescent"``, ``"SVRG"``, or ``None`` for `glmx.default_solver`;
      ``solver_kwargs``: a dict for the solver (``max_steps``, ``tol``, ...).
    - ``link``: ``None`` (the family's default, so changing ``observation_model`` changes the
      link too), or ``"log"``, ``"softplus"``, ``"identity"``, ``"logit"``, ``"inverse"``.

    **Attributes after fit:** ``coef_`` ``(p,)`` (a dict for dict designs), ``intercept_``,
    ``scale_``, ``dof_resid_``, ``solver_state_`` (the `glmx.FitResult`, or the step state
    after `update`), ``model_`` (the fitted `glmx.GLM`), ``n_features_in_``.

    **Example:**
    ```python
    from sklearn.model_selection import GridSearchCV
    search = GridSearchCV(GLM(regularizer="Ridge"), {"regularizer_strength": [1e-3, 1e-2, 1e-1]})
    search.fit(X, spikes).best_params_
    ```
    """


class PopulationGLM(_GLMEstimator):
    """A scikit-learn estimator for a population of GLMs (the seed's ``PopulationGLM``).

    Arguments as `GLM`, plus ``feature_mask``: an optional 0/1 matrix ``(p, neurons)`` (or a
    dict of ``(p_k, neurons)``) saying which features each neuron uses. ``y`` is
    ``(n, neurons)``; ``regularizer_strength`` may have one value per neuron.

    **Attributes after fit:** ``coef_`` ``(p, neurons)`` (as the seed), ``intercept_``
    ``(neurons,)``, ``scale_`` and ``dof_resid_`` ``(neurons,)``, ``solver_state_``,
    ``model_`` (the fitted `glmx.PopulationGLM`, whose ``coef`` is ``(neurons, p)``).
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
    ):
        super().__init__(
            observation_model, regularizer, regularizer_strength, solver_name, solver_kwargs, link
        )
        self.feature_mask = feature_mask

    def score(self, X, y, score_type="log-likelihood", sample_weight=None, aggregate="mean"):
        """As `GLM.score`; ``aggregate="none"`` gives one score per neuron ``(neurons,)``."""
        if aggregate == "mean":
            return super().score(X, y, score_type, sample_weight)
        model = self._fitted()
        X, y, _ = self._check_Xy(X, y, reset=False)
        return np.asarray(
            model.score(X, y, score_type, sample_weight=sample_weight, aggregate=aggregate)
        )


def load_model(path, classes=()):
    """Load an estimator saved with ``save_params`` (or a core model saved with
    `glmx.save_model`). ``classes``: your own observation/regularizer classes, if the model
    uses any (nothing is imported or executed from the file)."""
    return _io.load(path, classes)
