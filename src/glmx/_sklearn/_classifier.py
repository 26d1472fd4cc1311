"""`ClassifierGLM`: the categorical GLM as a scikit-learn classifier (``predict``,
``predict_proba``, ``classes_``, accuracy as ``score``).

Any hashable labels are accepted: they are encoded as ``0 .. K-1`` in sorted order (as
scikit-learn's ``LabelEncoder`` does) and ``classes_`` maps back. No maths lives here: fitting
is `glmx.fit` of a `glmx.CategoricalGLM`.
"""

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    assert_all_finite,
    check_consistent_length,
    check_is_fitted,
    column_or_1d,
)

from .._categorical import Categorical
from .._categorical_glm import CategoricalGLM
from .._fit import fit as core_fit
from ._inputs import check_sample_weight, check_X, is_design_dict
from ._options import build_regularizer, build_solver


class ClassifierGLM(ClassifierMixin, BaseEstimator):
    """Multinomial logistic regression (a `glmx.CategoricalGLM`) with scikit-learn's
    classifier protocol.

    **Arguments:**

    - ``regularizer``: a name (``"UnRegularized"``, ``"Ridge"``, ``"Lasso"``, ``"ElasticNet"``)
      or a glmx regularizer (e.g. ``glmx.GroupLasso(groups)``, whose groups are features and
      hold their coefficients in every class).
    - ``regularizer_strength``: the penalty's strength (``None``: the regularizer's own).
      ``Ridge(strength)`` is scikit-learn's ``LogisticRegression(C=1 / (n_samples *
      strength))``.
    - ``solver_name``, ``solver_kwargs``: as for `glmx.sklearn.GLM` (``None``: `glmx.fit`
      chooses).

    **Attributes after fit:** ``classes_`` ``(K,)`` (the labels, sorted), ``coef_`` ``(K,
    p)`` and ``intercept_`` ``(K,)`` (scikit-learn's layout; one row per class, also for two
    classes), ``model_`` (the fitted `glmx.CategoricalGLM`), ``n_iter_``, ``n_features_in_``,
    ``n_excluded_`` (the rows left out; see below).

    The identifiability convention is `glmx.CategoricalGLM`'s: without a penalty the first
    class is the reference (its row of ``coef_`` and its intercept are zero); with one, all
    classes are fitted and the intercepts sum to zero. ``X`` must be finite.
    """

    def __init__(
        self,
        regularizer="UnRegularized",
        regularizer_strength=None,
        solver_name=None,
        solver_kwargs=None,
    ):
        self.regularizer = regularizer
        self.regularizer_strength = regularizer_strength
        self.solver_name = solver_name
        self.solver_kwargs = solver_kwargs

    def fit(self, X, y, sample_weight=None):
        """Fit to ``X`` ``(n, p)`` and labels ``y`` ``(n,)`` of at least two classes."""
        if y is None:
            raise ValueError("ClassifierGLM requires y to be passed, but the target y is None.")
        if is_design_dict(X):
            raise TypeError(
                "X must be one array (n_samples, n_features) for ClassifierGLM, got a dict of "
                "blocks; join them with np.hstack."
            )
        X, _ = check_X(self, X, reset=True)
        y = column_or_1d(np.asarray(y), warn=True)
        check_consistent_length(X, y)
        missing = _missing_labels(y)
        check_classification_targets(y[~missing])
        self.classes_, codes = np.unique(y[~missing], return_inverse=True)
        encoded = np.full(len(y), np.nan, X.dtype)
        encoded[~missing] = codes
        if len(self.classes_) < 2:
            label = np.asarray(self.classes_[0]).tolist() if len(self.classes_) else None
            found = f"one class ({label!r})" if len(self.classes_) else "no label"
            raise ValueError(
                "ClassifierGLM needs samples of at least 2 classes in y, but y contains "
                f"{found} (missing labels, NaN or None, do not count)."
            )
        weights = check_sample_weight(sample_weight)
        # Other shapes, or no positive weight at all: the fit's own error.
        if weights is not None and weights.shape == y.shape and np.any(weights[~missing] > 0):
            # A class whose rows all weigh zero has no finite intercept (the fit would report
            # it as diverging); say so before fitting, as for a single class.
            totals = np.bincount(codes, weights[~missing], len(self.classes_))
            empty = [np.asarray(c).tolist() for c in self.classes_[totals <= 0]]
            if empty:
                raise ValueError(
                    "ClassifierGLM needs every class of y to have rows of positive "
                    f"sample_weight, but class(es) {empty} have none."
                )
        regularizer = build_regularizer(self.regularizer, self.regularizer_strength)
        model = CategoricalGLM(Categorical(len(self.classes_)), regularizer)
        model, result = core_fit(
            model,
            X,
            encoded,
            build_solver(self.solver_name, self.solver_kwargs),
            sample_weight=weights,
        )
        self.model_ = model
        self.coef_ = np.asarray(model.coef).T
        self.intercept_ = np.asarray(model.intercept)
        self.n_iter_ = np.asarray([int(result.num_steps)])
        self.n_excluded_ = int(result.n_excluded)
        return self

    def _X(self, X):
        check_is_fitted(self, "model_")
        return check_X(self, X, reset=False)[0]

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities ``(n, K)``, columns in the order of ``classes_``."""
        X = self._X(X)
        return np.asarray(self.model_.predict_proba(X))

    def predict_log_proba(self, X) -> np.ndarray:
        """Log class probabilities ``(n, K)``."""
        X = self._X(X)
        eta = self.model_.linear_predictor(X)
        return np.asarray(self.model_.observation.log_probabilities(eta))

    def predict(self, X) -> np.ndarray:
        """The most probable label of each row of ``X`` (``(n,)``, of ``classes_``'s type)."""
        proba = self.predict_proba(X)
        unknown = np.flatnonzero(np.isnan(proba).any(axis=1))
        if unknown.size:
            raise ValueError(
                f"X has a NaN in {unknown.size} row(s) (first: {unknown[:5].tolist()}): no "
                "class can be predicted for them; drop those rows, or use predict_proba, which "
                "gives NaN there."
            )
        return self.classes_[np.argmax(proba, axis=1)]

    def score(self, X, y, sample_weight=None) -> float:
        """Accuracy on the rows of ``X`` without a NaN and with a label in ``y``."""
        X = self._X(X)
        y = column_or_1d(np.asarray(y), warn=True)
        keep = ~(np.isnan(X).any(axis=1) | _missing_labels(y))
        weights = None if sample_weight is None else np.asarray(sample_weight)[keep]
        return super().score(X[keep], y[keep], sample_weight=weights)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True  # rows with NaN are left out of the fit
        return tags


def _missing_labels(y: np.ndarray) -> np.ndarray:
    """``(n,)`` booleans: the labels that mark a missing sample (NaN in a float ``y``; None or
    a float NaN in an object ``y``)."""
    if y.dtype.kind == "f":
        assert_all_finite(y, allow_nan=True, input_name="y")
        return np.isnan(y)
    if y.dtype.kind == "O":
        return np.array([v is None or (isinstance(v, float) and v != v) for v in y], bool)
    return np.zeros(len(y), bool)
