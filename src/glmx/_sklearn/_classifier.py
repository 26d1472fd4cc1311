"""`ClassifierGLM`: the categorical GLM as a scikit-learn classifier (``predict``,
``predict_proba``, ``classes_``, accuracy as ``score``).

Any hashable labels are accepted: they are encoded as ``0 .. K-1`` in sorted order (as
scikit-learn's ``LabelEncoder`` does) and ``classes_`` maps back. No maths lives here: fitting
is `glmx.fit` of a `glmx.CategoricalGLM`.
"""

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from .._categorical import Categorical
from .._categorical_glm import CategoricalGLM
from .._fit import fit as core_fit
from ._inputs import FLOATS, check_sample_weight
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
    classes), ``model_`` (the fitted `glmx.CategoricalGLM`), ``n_iter_``, ``n_features_in_``.

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
        X, y = validate_data(self, X, y, dtype=FLOATS, y_numeric=False)
        y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        self.classes_, encoded = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(
                "ClassifierGLM needs samples of at least 2 classes in y, but y contains only "
                f"one class: {self.classes_[0]!r}."
            )
        regularizer = build_regularizer(self.regularizer, self.regularizer_strength)
        model = CategoricalGLM(Categorical(len(self.classes_)), regularizer)
        model, result = core_fit(
            model,
            X,
            encoded.astype(X.dtype),
            build_solver(self.solver_name, self.solver_kwargs),
            sample_weight=check_sample_weight(sample_weight),
        )
        self.model_ = model
        self.coef_ = np.asarray(model.coef).T
        self.intercept_ = np.asarray(model.intercept)
        self.n_iter_ = np.asarray([int(result.num_steps)])
        return self

    def _X(self, X):
        check_is_fitted(self, "model_")
        return validate_data(self, X, reset=False, dtype=FLOATS)

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
        """The most probable label of each row of ``X``."""
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]
