"""glmx.fit_path and glmx.cross_validate: every path point equals a single fit, the path starts
where the penalty zeroes every coefficient, cross-validation equals scikit-learn's
GridSearchCV over the same folds, the one-standard-error rule, folds, and bad input."""

import warnings

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV, KFold

import glmx
import glmx.sklearn

TIGHT = glmx.ProximalNewton(tol=1e-11)


def design(n=240, p=6, seed=0):
    """Correlated, non-centred columns (as basis-convolved features are) and Poisson counts."""
    rng = np.random.default_rng(seed)
    latent = rng.normal(size=(n, 2))
    X = latent @ rng.normal(size=(2, p)) + 0.5 * rng.normal(size=(n, p)) + 0.3
    coef = np.r_[0.4, -0.3, 0.25, np.zeros(p - 3)]
    return X, rng.poisson(np.exp(-0.2 + X @ coef)).astype(float)


X, Y = design()
GROUPS = np.array([0, 0, 1, 1, 2, 2])
# ElasticNet's path is checked against GridSearchCV in test_cross_validation_equals_grid_search_cv.
PENALTIES = {
    "Lasso": glmx.Lasso(),
    "GroupLasso": glmx.GroupLasso(GROUPS),
    "Ridge": glmx.Ridge(),
}


@pytest.mark.parametrize("name", list(PENALTIES))
def test_every_point_equals_a_single_fit_and_the_path_starts_at_zero(name):
    model = glmx.GLM(glmx.Poisson(), PENALTIES[name])
    path = glmx.fit_path(model, X, Y, n_strengths=6, solver=TIGHT)
    assert path.strengths.shape == (6,) and np.all(np.diff(path.strengths) < 0)
    assert np.all(path.converged)
    for i in (0, 2, 5):
        single, _ = glmx.fit(path.model_at(i), X, Y, solver=TIGHT)
        np.testing.assert_allclose(path.coef[i], single.coef, atol=1e-8)
        np.testing.assert_allclose(path.intercept[i], single.intercept, atol=1e-8)
    if name == "Ridge":  # never exactly zero: the top is the elastic net's at ratio 1e-3
        assert np.max(np.abs(path.coef[0])) < 0.05 * np.max(np.abs(path.coef[-1]))
        return
    # The first strength is the smallest with every coefficient zero: just below it, one moves.
    assert path.n_nonzero[0] == 0
    below = path.model_at(0).regularizer.at_strength(path.strengths[0] * (1 - 1e-3))
    nudged, _ = glmx.fit(glmx.GLM(glmx.Poisson(), below), X, Y, solver=TIGHT)
    assert np.count_nonzero(nudged.coef) > 0


def test_bernoulli_path_with_per_feature_factors_and_a_given_grid():
    rng = np.random.default_rng(1)
    yb = (rng.random(X.shape[0]) < 1 / (1 + np.exp(-(X[:, 0] - X[:, 1])))).astype(float)
    factors = np.array([1.0, 1.0, 2.0, 2.0, 0.5, 0.0])  # the last feature unpenalised
    model = glmx.GLM(glmx.Bernoulli(), glmx.Lasso(factors))
    grid = np.array([0.2, 0.05, 0.01])
    path = glmx.fit_path(model, X, yb, grid, solver=TIGHT)
    np.testing.assert_array_equal(path.strengths, grid)
    for i, strength in enumerate(grid):
        direct, _ = glmx.fit(
            glmx.GLM(glmx.Bernoulli(), glmx.Lasso(strength * factors)), X, yb, TIGHT
        )
        np.testing.assert_allclose(path.coef[i], direct.coef, atol=1e-8)
        np.testing.assert_allclose(path.model_at(i).regularizer.strength, strength * factors)


def test_population_path_equals_a_loop_with_a_grid_per_neuron():
    rng = np.random.default_rng(2)
    Ys = np.stack([Y, rng.poisson(np.exp(0.1 + 0.2 * X[:, 3])), np.zeros(len(Y))], axis=1)
    Ys[:5, 2] = 1.0  # a nearly silent neuron
    pop = glmx.PopulationGLM(glmx.Poisson(), glmx.Lasso(), n_neurons=3)
    path = glmx.fit_path(pop, X, Ys, n_strengths=4, solver=TIGHT)
    assert path.strengths.shape == (4, 3) and path.coef.shape == (4, 3, X.shape[1])
    for k in range(3):
        alone = glmx.fit_path(
            glmx.GLM(glmx.Poisson(), glmx.Lasso()), X, Ys[:, k], n_strengths=4, solver=TIGHT
        )
        np.testing.assert_allclose(path.strengths[:, k], alone.strengths, rtol=1e-10)
        np.testing.assert_allclose(path.coef[:, k], alone.coef, atol=1e-8)
    picked = path.model_at(np.array([0, 3, 1]))
    np.testing.assert_allclose(picked.glm.coef[1], path.coef[3, 1])
    np.testing.assert_allclose(
        picked.glm.regularizer.strength, path.strengths[[0, 3, 1], [0, 1, 2]]
    )


def test_cross_validation_equals_grid_search_cv():
    grid = np.array([0.3, 0.1, 0.03, 0.01, 0.003])
    cv = glmx.cross_validate(
        glmx.GLM(glmx.Poisson(), glmx.ElasticNet(ratio=0.5)), X, Y, grid, folds=4, solver=TIGHT
    )
    estimator = glmx.sklearn.GLM(
        regularizer=glmx.ElasticNet(ratio=0.5),
        solver_name="ProximalNewton",
        solver_kwargs={"tol": 1e-11},
    )
    search = GridSearchCV(estimator, {"regularizer_strength": list(grid)}, cv=KFold(4))
    search.fit(X, Y)
    sk = np.stack([search.cv_results_[f"split{k}_test_score"] for k in range(4)])
    np.testing.assert_allclose(cv.fold_scores["log-likelihood"], sk, atol=1e-8)
    np.testing.assert_allclose(cv.mean, search.cv_results_["mean_test_score"], atol=1e-8)
    assert cv.best_strength == search.best_params_["regularizer_strength"]
    np.testing.assert_allclose(cv.best_model.coef, search.best_estimator_.coef_, atol=1e-8)
    # The other scores are the fold fits' own, on the held-out rows.
    test = np.arange(len(Y)) < len(Y) // 4
    fold0, _ = glmx.fit(cv.path.model_at(2), X[~test], Y[~test], solver=TIGHT)
    for kind in ("pseudo-r2-McFadden", "pseudo-r2-Cohen"):
        np.testing.assert_allclose(
            cv.fold_scores[kind.lower()][0, 2], fold0.score(X[test], Y[test], kind), atol=1e-8
        )
    mean = fold0.predict(X[test])
    deviance = np.mean(glmx.Poisson().deviance(Y[test], mean))
    np.testing.assert_allclose(cv.fold_scores["deviance"][0, 2], deviance, atol=1e-8)


def test_one_standard_error_rule_follows_its_definition():
    rng = np.random.default_rng(3)
    Xn = np.concatenate([X, rng.normal(size=(X.shape[0], 10))], axis=1)  # ten useless columns
    cv = glmx.cross_validate(
        glmx.GLM(glmx.Poisson(), glmx.Lasso()), Xn, Y, folds=5, n_strengths=12, score="deviance"
    )
    scores = cv.fold_scores["deviance"]
    mean, se = scores.mean(axis=0), scores.std(axis=0, ddof=1) / np.sqrt(5)
    best = np.argmin(mean)
    within = np.flatnonzero(mean <= mean[best] + se[best])
    expected = within[np.argmax(cv.strengths[within])]
    assert cv.best_index == best and cv.index_1se == expected
    assert cv.index_1se < cv.best_index  # a case where the rule chooses a larger strength
    assert cv.strength_1se > cv.best_strength
    assert cv.model_1se.regularizer.strength == cv.strength_1se
    assert np.count_nonzero(cv.model_1se.coef) <= np.count_nonzero(cv.best_model.coef)


def test_population_cross_validation_chooses_per_neuron():
    Ys = np.stack([Y, design(seed=4)[1]], axis=1)
    pop = glmx.PopulationGLM(glmx.Poisson(), glmx.Ridge(), n_neurons=2)
    cv = glmx.cross_validate(pop, X, Ys, folds=3, n_strengths=5)
    assert cv.fold_scores["log-likelihood"].shape == (3, 5, 2)
    assert cv.best_index.shape == (2,) and cv.best_model.glm.coef.shape == (2, X.shape[1])
    for k in range(2):
        alone = glmx.cross_validate(
            glmx.GLM(glmx.Poisson(), glmx.Ridge()), X, Ys[:, k], folds=3, n_strengths=5
        )
        np.testing.assert_allclose(cv.mean[:, k], alone.mean, atol=1e-8)
        assert cv.best_index[k] == alone.best_index


def test_folds_as_labels_test_sets_gaps_and_shuffles():
    from glmx._folds import make_folds

    train, test = make_folds(3, 9)
    np.testing.assert_array_equal(test.argmax(axis=0), [0, 0, 0, 1, 1, 1, 2, 2, 2])
    assert np.all(train == ~test)
    train, test = make_folds(3, 9, gap=1)
    np.testing.assert_array_equal(train[1], [1, 1, 0, 0, 0, 0, 0, 1, 1])
    train, test = make_folds(np.array([1, 1, 0, 0, -1, 1]), 6)
    np.testing.assert_array_equal(test, [[0, 0, 1, 1, 0, 0], [1, 1, 0, 0, 0, 1]])
    assert train[:, 4].all()  # never tested, always trained on
    _, test = make_folds([[0, 1], np.arange(6) > 3], 6)
    np.testing.assert_array_equal(test, [[1, 1, 0, 0, 0, 0], [0, 0, 0, 0, 1, 1]])
    _, shuffled = make_folds(3, 30, shuffle=True, seed=1)
    assert np.all(shuffled.sum(axis=1) == 10) and not np.all(np.diff(shuffled.argmax(0)) >= 0)
    labels = np.arange(len(Y)) * 4 // len(Y)
    by_labels = glmx.cross_validate(
        glmx.GLM(glmx.Poisson(), glmx.Lasso()), X, Y, folds=labels, n_strengths=3
    )
    by_count = glmx.cross_validate(
        glmx.GLM(glmx.Poisson(), glmx.Lasso()), X, Y, folds=4, n_strengths=3
    )
    np.testing.assert_allclose(by_labels.mean, by_count.mean, atol=1e-10)


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (dict(strengths=[]), ValueError, "strengths is empty; give at least one strength"),
        (
            dict(strengths=[0.1, -1.0]),
            ValueError,
            "strengths must be finite and non-negative, but entry 1 is -1.0",
        ),
        (
            dict(strengths=[[0.1]]),
            ValueError,
            r"strengths must have shape \(S,\), got shape \(1, 1\)",
        ),
        (dict(n_strengths=0), ValueError, "n_strengths must be a positive integer, got 0"),
        (dict(min_ratio=2.0), ValueError, r"min_ratio must be a number in \(0, 1\], got 2.0"),
        (dict(folds=np.zeros(5, int)), ValueError, "folds has 5 labels but X has 240 rows"),
        (dict(folds=[np.arange(10), []]), ValueError, "fold 1 has an empty test set"),
        (
            dict(folds=1),
            ValueError,
            r"folds must be between 2 and the number of rows \(240\), got 1",
        ),
        (dict(folds=2, gap=-1), ValueError, "gap must be a non-negative number of rows, got -1"),
        (
            dict(folds=[np.arange(120), np.arange(120, 240)], gap=200),
            ValueError,
            "fold 0 leaves no rows to train on",
        ),
        (dict(folds="blocks"), TypeError, "folds must be a number of contiguous blocks"),
        (dict(score="accuracy"), ValueError, "score must be one of 'log-likelihood', 'deviance'"),
    ],
)
def test_bad_input_gets_one_sentence(kwargs, error, message):
    with pytest.raises(error, match=message):
        glmx.cross_validate(glmx.GLM(glmx.Poisson(), glmx.Lasso()), X, Y, **kwargs)


def test_models_without_a_strength_are_refused():
    with pytest.raises(TypeError, match="the model's regularizer UnRegularized has none"):
        glmx.fit_path(glmx.GLM(), X, Y)
    with pytest.raises(TypeError, match="model must be a glmx.GLM or glmx.PopulationGLM"):
        glmx.fit_path(glmx.Poisson(), X, Y)
    pop = glmx.PopulationGLM(glmx.Poisson(), glmx.Lasso(), n_neurons=2)
    with pytest.raises(ValueError, match="strengths has 3 columns but the population has 2"):
        glmx.fit_path(pop, X, np.stack([Y, Y], 1), np.ones((4, 3)))


def test_an_unconverged_point_warns():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        path = glmx.fit_path(
            glmx.GLM(glmx.Poisson(), glmx.Lasso()),
            X,
            Y,
            n_strengths=3,
            solver=glmx.ProximalGradient(max_steps=2),
        )
    assert not np.all(path.converged)
    assert any("path points did not converge" in str(w.message) for w in caught)


def test_glmcv_estimator_chooses_as_cross_validate_and_works_in_a_pipeline(tmp_path):
    from sklearn.base import clone
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    estimator = glmx.sklearn.GLMCV(regularizer="Lasso", n_strengths=6, folds=3, selection="1se")
    estimator.fit(X, Y)
    cv = glmx.cross_validate(glmx.GLM(glmx.Poisson(), glmx.Lasso()), X, Y, folds=3, n_strengths=6)
    assert estimator.best_index_ == cv.index_1se
    assert estimator.regularizer_strength_ == estimator.alpha_ == cv.strength_1se
    np.testing.assert_allclose(estimator.coef_, cv.model_1se.coef)
    results = estimator.cv_results_
    np.testing.assert_allclose(results["split2_test_score"], cv.fold_scores["log-likelihood"][2])
    assert results["rank_test_score"][cv.best_index] == 1
    assert estimator.n_excluded_ == 0 and estimator.predict(X).shape == Y.shape
    estimator.save_params(tmp_path / "cv.npz")
    loaded = glmx.sklearn.load_model(tmp_path / "cv.npz")
    assert isinstance(loaded, glmx.sklearn.GLMCV) and loaded.selection == "1se"
    assert loaded.regularizer_strength_ == estimator.regularizer_strength_
    np.testing.assert_allclose(loaded.predict(X), estimator.predict(X))
    pipe = make_pipeline(StandardScaler(), clone(estimator).set_params(selection="min"))
    assert np.isfinite(pipe.fit(X, Y).score(X, Y))
    with pytest.raises(ValueError, match="selection must be 'min' or '1se', got 'best'"):
        glmx.sklearn.GLMCV(selection="best").fit(X, Y)


def test_population_glmcv_has_a_strength_per_neuron():
    Ys = np.stack([Y, design(seed=5)[1]], axis=1)
    estimator = glmx.sklearn.PopulationGLMCV(regularizer="Ridge", n_strengths=4, folds=3)
    estimator.fit(X, Ys)
    assert estimator.regularizer_strength_.shape == (2,)
    assert estimator.coef_.shape == (X.shape[1], 2)
    assert estimator.cv_results_["mean_test_score"].shape == (4, 2)
    np.testing.assert_allclose(
        estimator.model_.glm.regularizer.strength, estimator.regularizer_strength_
    )
