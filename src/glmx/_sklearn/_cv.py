"""`GLMCV` and `PopulationGLMCV`: estimators that choose their penalty strength by
cross-validation along a regularization path (`glmx.cross_validate`), as scikit-learn's
``LassoCV`` and glum's ``GeneralizedLinearRegressorCV`` do. No maths lives here.

Separate classes, not a ``regularizer_strength="cv"`` value: the search has its own settings
(grid, folds, gap, scoring, selection rule), and a plain `GLM` stays a plain estimator whose
``regularizer_strength`` ``GridSearchCV`` can vary.
"""

import numpy as np

from .._path import SCORES, cross_validate, pick_point
from ._estimators import GLM, PopulationGLM
from ._inputs import check_sample_weight

SELECTIONS = ("min", "1se")


class _CVMixin:
    """``fit`` by `glmx.cross_validate`, for `GLMCV` and `PopulationGLMCV`."""

    def _set_search(self, strengths, n_strengths, min_ratio, folds, gap, scoring, selection):
        """Store the search's parameters (scikit-learn wants each as given, unchecked)."""
        self.strengths = strengths
        self.n_strengths = n_strengths
        self.min_ratio = min_ratio
        self.folds = folds
        self.gap = gap
        self.scoring = scoring
        self.selection = selection

    def fit(self, X, y, sample_weight=None):
        """Cross-validate along the path, then keep the fit on all rows at the chosen
        strength. Sets what `GLM.fit` sets, and ``regularizer_strength_`` (``alpha_``),
        ``cv_results_``, ``best_index_`` and ``cv_`` (the `glmx.CrossValidation`)."""
        if self.selection not in SELECTIONS:
            raise ValueError(f"selection must be 'min' or '1se', got {self.selection!r}.")
        X, y = self._check_Xy(X, y, reset=True)
        cv = cross_validate(
            self._core(self._n_neurons(y)),
            X,
            y,
            self.strengths,
            folds=self.folds,
            gap=self.gap,
            score=self.scoring,
            n_strengths=self.n_strengths,
            min_ratio=self.min_ratio,
            solver=self._solver(),
            sample_weight=check_sample_weight(sample_weight),
        )
        index = cv.best_index if self.selection == "min" else cv.index_1se
        self._store(cv.path.model_at(index), n_excluded=self._n_excluded(X, y))
        self.dof_resid_ = np.asarray(pick_point(cv.path.dof_resid, index))
        self.best_index_ = np.asarray(index)
        self.regularizer_strength_ = np.asarray(pick_point(cv.strengths, index))
        self.alpha_ = self.regularizer_strength_
        self.cv_ = cv
        self.cv_results_ = _results(cv)
        return self


def _results(cv) -> dict:
    """scikit-learn's ``cv_results_`` layout (one entry per strength; per neuron, a column)."""
    scores = np.asarray(cv.fold_scores[cv.score])
    better_first = -np.asarray(cv.mean) if SCORES[cv.score] else np.asarray(cv.mean)
    order = np.argsort(np.argsort(better_first, axis=0, kind="stable"), axis=0)
    results = {
        "param_regularizer_strength": np.asarray(cv.strengths),
        "mean_test_score": np.asarray(cv.mean),
        "std_test_score": scores.std(axis=0),
        "se_test_score": np.asarray(cv.se),
        "rank_test_score": order + 1,
    }
    for k in range(scores.shape[0]):
        results[f"split{k}_test_score"] = scores[k]
    return results


_CV_DOC = """
    **Cross-validation arguments** (as `glmx.cross_validate`):

    - ``strengths``: the grid ``(S,)`` (``None``: ``n_strengths`` log-spaced values from the
      strength at which every penalised coefficient is zero down to ``min_ratio`` of it).
    - ``folds`` (default 5 contiguous blocks, right for time series), ``gap`` (rows dropped
      from training around each test block).
    - ``scoring``: ``"log-likelihood"`` (default), ``"deviance"``, ``"pseudo-r2-McFadden"``,
      ``"pseudo-r2-Cohen"``.
    - ``selection``: ``"min"`` (the best mean score) or ``"1se"`` (the largest strength within
      one standard error of it).

    ``regularizer_strength`` is not searched: a per-feature strength gives relative factors
    (glmnet's ``penalty.factor``), and for ElasticNet a ``(factor, ratio)`` pair sets the ratio.

    **Attributes after fit:** as the plain estimator's, and ``regularizer_strength_`` (also
    ``alpha_``) the chosen strength, ``best_index_``, ``cv_results_`` (scikit-learn's layout:
    ``param_regularizer_strength``, ``mean_test_score``, ``std_test_score``,
    ``se_test_score``, ``rank_test_score``, ``split{k}_test_score``) and ``cv_`` (the
    `glmx.CrossValidation`, with the path on all rows).
"""


class GLMCV(_CVMixin, GLM):
    __doc__ = (
        """A `GLM` estimator that chooses its penalty strength by cross-validation along a
    regularization path; the other arguments as `GLM` (``regularizer`` defaults to Lasso).
    """
        + _CV_DOC
        + """
    **Example:**
    ```python
    model = GLMCV(regularizer="Lasso", folds=5, selection="1se").fit(X, spikes)
    model.regularizer_strength_, model.cv_results_["mean_test_score"]
    ```
    """
    )

    def __init__(
        self,
        observation_model="Poisson",
        regularizer="Lasso",
        regularizer_strength=None,
        strengths=None,
        n_strengths=20,
        min_ratio=None,
        folds=5,
        gap=0,
        scoring="log-likelihood",
        selection="min",
        solver_name=None,
        solver_kwargs=None,
        link=None,
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
        self._set_search(strengths, n_strengths, min_ratio, folds, gap, scoring, selection)


class PopulationGLMCV(_CVMixin, PopulationGLM):
    __doc__ = (
        """A `PopulationGLM` estimator that chooses a penalty strength for every neuron by
    cross-validation (each neuron on its own grid and its own scores, all in one compiled
    program); other arguments as `PopulationGLM`. ``regularizer_strength_`` is
    ``(neurons,)``; ``cv_results_`` entries have a column per neuron.
    """
        + _CV_DOC
    )

    def __init__(
        self,
        observation_model="Poisson",
        regularizer="Lasso",
        regularizer_strength=None,
        strengths=None,
        n_strengths=20,
        min_ratio=None,
        folds=5,
        gap=0,
        scoring="log-likelihood",
        selection="min",
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
            feature_mask,
            fit_intercept,
        )
        self._set_search(strengths, n_strengths, min_ratio, folds, gap, scoring, selection)
