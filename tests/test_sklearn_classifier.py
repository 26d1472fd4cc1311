"""glmx.sklearn.ClassifierGLM: scikit-learn's classifier checks, labels of any hashable type,
and agreement with the core and with scikit-learn's LogisticRegression."""

import warnings

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score
from sklearn.utils.estimator_checks import parametrize_with_checks

import glmx
from glmx.sklearn import ClassifierGLM
from test_categorical import simulate_classes

# Newton compiles fast and converges in a few steps on the checks' small data sets; the Ridge
# penalty keeps the fit finite on their separable classes.
CHECKED = [ClassifierGLM(regularizer="Ridge", regularizer_strength=1e-2, solver_name="Newton")]


# With NaN accepted, scikit-learn's pickling check predicts labels for rows with a NaN, which
# ClassifierGLM refuses (no label stands for "unknown"; predict_proba gives NaN there).
REFUSES_NAN_ROWS = "predict refuses rows of X with a NaN"
EXPECTED_FAILURES = {
    "check_estimators_pickle": REFUSES_NAN_ROWS,
    "check_estimators_pickle(readonly_memmap=True)": REFUSES_NAN_ROWS,
}


@parametrize_with_checks(CHECKED, expected_failed_checks=lambda est: EXPECTED_FAILURES)
def test_scikit_learn_classifier_checks(estimator, check):
    check(estimator)


def test_nan_rows_are_left_out_and_counted():
    X, y = simulate_classes(n=120, seed=23)
    labels = np.array(["left", "right", "up"], dtype=object)[y]
    X_nan, labels_nan = X.copy(), labels.copy()
    X_nan[[3, 40], 1] = np.nan
    labels_nan[7] = None
    clf = ClassifierGLM("Ridge", 0.05, solver_name="Newton").fit(X_nan, labels_nan)
    keep = np.setdiff1d(np.arange(len(y)), [3, 7, 40])
    ref = ClassifierGLM("Ridge", 0.05, solver_name="Newton").fit(X[keep], labels[keep])
    assert clf.n_excluded_ == 3 and ref.n_excluded_ == 0
    np.testing.assert_allclose(clf.coef_, ref.coef_, atol=1e-8)
    proba = clf.predict_proba(X_nan)
    assert np.isnan(proba[[3, 40]]).all() and not np.isnan(np.delete(proba, [3, 40], 0)).any()
    with pytest.raises(ValueError, match=r"X has a NaN in 2 row\(s\) \(first: \[3, 40\]\)"):
        clf.predict(X_nan)
    assert clf.score(X_nan, labels_nan) == ref.score(X[keep], labels[keep])
    float_labels = y.astype(float)
    float_labels[7] = np.nan
    assert ClassifierGLM("Ridge", 0.05).fit(X, float_labels).n_excluded_ == 1


def test_string_labels_and_classes():
    X, y = simulate_classes(seed=20)
    names = np.array(["cat", "dog", "bird"])[y]
    clf = ClassifierGLM("Ridge", 0.01).fit(X, names)
    assert list(clf.classes_) == ["bird", "cat", "dog"]
    assert clf.predict(X).dtype == names.dtype
    assert set(clf.predict(X)) <= set(names)
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_allclose(np.exp(clf.predict_log_proba(X)), proba, rtol=1e-6)
    assert 0.5 < clf.score(X, names) <= 1.0


def test_matches_logistic_regression_and_the_core():
    X, y = simulate_classes(seed=21)
    labels = np.array([10, 20, 30])[y]
    strength = 0.05
    clf = ClassifierGLM("Ridge", strength, solver_name="Newton", solver_kwargs={"tol": 1e-10})
    clf.fit(X, labels)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lr = LogisticRegression(C=1 / (len(y) * strength), tol=1e-12, max_iter=10_000)
        lr.fit(X, labels)
    np.testing.assert_allclose(clf.coef_, lr.coef_, atol=1e-6)
    np.testing.assert_allclose(clf.intercept_, lr.intercept_, atol=1e-6)
    np.testing.assert_allclose(clf.predict_proba(X), lr.predict_proba(X), atol=1e-6)
    core, _ = glmx.fit(glmx.CategoricalGLM(glmx.Categorical(3), glmx.Ridge(strength)), X, y)
    np.testing.assert_allclose(clf.coef_, np.asarray(core.coef).T, atol=1e-6)
    scores = cross_val_score(clf, X, labels, cv=3)
    assert scores.shape == (3,) and np.all(scores > 0.4)


def test_classifier_errors():
    X, y = simulate_classes(n=30, seed=22)
    with pytest.raises(ValueError, match="needs samples of at least 2 classes in y"):
        ClassifierGLM().fit(X, np.zeros(30))
    with pytest.raises(ValueError, match="Unknown label type"):
        ClassifierGLM().fit(X, np.linspace(0, 1, 30))
    clf = ClassifierGLM("Ridge", 0.1).fit(X, y)
    with pytest.raises(ValueError, match="X has 3 features, but ClassifierGLM is expecting 4"):
        clf.predict(X[:, :3])
    with pytest.raises(TypeError, match="X must be one array .* got a dict of blocks"):
        ClassifierGLM().fit({"a": X}, y)
    with pytest.raises(ValueError, match="ClassifierGLM requires y to be passed"):
        ClassifierGLM().fit(X, None)
    with pytest.raises(ValueError, match="Input X contains infinity"):
        ClassifierGLM().fit(np.where(X > 1, np.inf, X), y)
    with pytest.raises(ValueError, match="Input y contains infinity"):
        ClassifierGLM().fit(X, np.where(y == 0, np.inf, y))
    with pytest.raises(ValueError, match="needs samples of at least 2 classes"):
        ClassifierGLM().fit(X, np.where(y == 0, 0.0, np.nan))


def test_a_class_whose_rows_all_weigh_zero_is_refused():
    X = np.random.default_rng(0).normal(size=(20, 2))
    y = np.repeat(["a", "b"], 10)
    with pytest.raises(ValueError, match=r"positive sample_weight, but class\(es\) \['b'\] have"):
        ClassifierGLM().fit(X, y, sample_weight=np.where(y == "b", 0.0, 1.0))
