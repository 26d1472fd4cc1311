"""The categorical GLM against scikit-learn's multinomial LogisticRegression and statsmodels'
MNLogit, its penalties, populations, differentiation, jit/vmap and its errors (float64)."""

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import statsmodels.api as sm
from sklearn.linear_model import LogisticRegression

import glmx

K = 3
TIGHT = glmx.LBFGS(tol=1e-11)


def simulate_classes(n=300, p=4, k=K, seed=0, noise_features=0):
    """Labels drawn from a multinomial logit with ``p`` informative features (and
    ``noise_features`` more that carry nothing)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p + noise_features))
    W = np.concatenate([rng.normal(size=(p, k)), np.zeros((noise_features, k))])
    eta = X @ W + rng.normal(size=k)
    prob = np.exp(eta - eta.max(axis=1, keepdims=True))
    prob /= prob.sum(axis=1, keepdims=True)
    y = np.array([rng.choice(k, p=row) for row in prob])
    return X, y


def _model(regularizer=glmx.UnRegularized(), k=K):
    return glmx.CategoricalGLM(glmx.Categorical(k), regularizer)


def _sklearn(X, y, **kwargs):
    kwargs = {"tol": 1e-12, "max_iter": 100_000} | kwargs
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return LogisticRegression(**kwargs).fit(X, y)


@pytest.mark.parametrize("solver", [TIGHT, glmx.Newton(tol=1e-11)], ids=["lbfgs", "newton"])
def test_unpenalised_matches_statsmodels_mnlogit(solver):
    X, y = simulate_classes()
    model, result = glmx.fit(_model(), X, y, solver)
    res = sm.MNLogit(y, sm.add_constant(X)).fit(method="newton", tol=1e-13, disp=0)
    assert bool(result.converged)
    # class 0 is the reference: its column and intercept are zero, the others are MNLogit's
    np.testing.assert_array_equal(model.coef[:, 0], 0.0)
    assert float(model.intercept[0]) == 0.0
    np.testing.assert_allclose(model.coef[:, 1:], res.params[1:], rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(model.intercept[1:], res.params[0], rtol=1e-7, atol=1e-9)
    inference = glmx.categorical_inference(model, X, y)
    np.testing.assert_allclose(inference.coef_se[:, 1:], res.bse[1:], rtol=1e-7)
    np.testing.assert_allclose(inference.intercept_se[1:], res.bse[0], rtol=1e-7)
    np.testing.assert_allclose(inference.covariance.shape, (2 * 5, 2 * 5))
    np.testing.assert_allclose(model.log_likelihood(X, y, aggregate="sum"), res.llf, rtol=1e-10)
    np.testing.assert_allclose(model.score(X, y, "pseudo-r2-McFadden"), res.prsquared, rtol=1e-9)
    np.testing.assert_allclose(model.predict_proba(X), res.predict(sm.add_constant(X)), atol=1e-9)
    np.testing.assert_allclose(result.dof_resid, res.df_resid)


def test_unpenalised_matches_sklearn_after_the_reference_transformation():
    X, y = simulate_classes(seed=1)
    model, _ = glmx.fit(_model(), X, y, TIGHT)
    lr = _sklearn(X, y, C=np.inf)
    coef, intercept = lr.coef_.T, lr.intercept_
    np.testing.assert_allclose(model.coef, coef - coef[:, :1], atol=2e-6)
    np.testing.assert_allclose(model.intercept, intercept - intercept[0], atol=2e-6)
    np.testing.assert_allclose(model.predict_proba(X), lr.predict_proba(X), atol=1e-7)
    np.testing.assert_array_equal(model.predict(X), lr.predict(X))


@pytest.mark.parametrize(
    "solver",
    [TIGHT, glmx.Newton(tol=1e-11), glmx.ProximalGradient(tol=1e-10, max_steps=10_000)],
    ids=["lbfgs", "newton", "proximal-gradient"],
)
def test_ridge_matches_sklearn_with_c_of_one_over_n_strength(solver):
    X, y = simulate_classes(seed=2)
    strength = 0.05
    model, result = glmx.fit(_model(glmx.Ridge(strength)), X, y, solver)
    lr = _sklearn(X, y, C=1.0 / (len(y) * strength))
    assert bool(result.converged)
    np.testing.assert_allclose(model.coef, lr.coef_.T, atol=1e-7)
    np.testing.assert_allclose(model.intercept, lr.intercept_, atol=1e-7)
    np.testing.assert_allclose(model.predict_proba(X), lr.predict_proba(X), atol=1e-8)
    # the symmetric convention: Ridge gives columns (and centred intercepts) summing to zero
    np.testing.assert_allclose(jnp.sum(model.coef, axis=1), 0.0, atol=1e-9)
    np.testing.assert_allclose(jnp.sum(model.intercept), 0.0, atol=1e-12)


def test_lasso_matches_sklearn_saga():
    X, y = simulate_classes(seed=3)
    strength = 0.02
    model, result = glmx.fit(_model(glmx.Lasso(strength)), X, y)  # ProximalNewton
    lr = _sklearn(X, y, C=1.0 / (len(y) * strength), l1_ratio=1.0, solver="saga", tol=1e-10)
    assert bool(result.converged)
    np.testing.assert_allclose(model.coef, lr.coef_.T, atol=1e-6)
    np.testing.assert_array_equal(model.coef == 0, lr.coef_.T == 0)
    assert int(jnp.sum(model.coef == 0)) > 0


def _gradient(model, X, y):
    """The gradient of the mean negative log-likelihood in the full ``(p, K)`` coefficients."""
    one_hot = np.eye(K)[y]
    return X.T @ (np.asarray(model.predict_proba(X)) - one_hot) / len(y)


def test_group_lasso_zeroes_whole_rows_and_is_optimal():
    X, y = simulate_classes(n=400, p=3, seed=4, noise_features=3)
    strength = 0.03
    groups = np.arange(X.shape[1])  # one group per feature: its K coefficients
    model, result = glmx.fit(_model(glmx.GroupLasso(groups, strength)), X, y)
    assert bool(result.converged)
    coef = np.asarray(model.coef)
    zero_rows = np.all(coef == 0, axis=1)
    assert zero_rows[3:].sum() >= 2 and not zero_rows[:3].any()
    assert np.all((coef == 0).any(axis=1) == zero_rows)  # all K classes or none
    grad = _gradient(model, X, y)
    # subgradient conditions: ||grad_j|| <= strength on zero rows, = strength * w_j/||w_j|| else
    assert np.all(np.linalg.norm(grad[zero_rows], axis=1) <= strength * (1 + 1e-6))
    live = coef[~zero_rows]
    expected = -strength * live / np.linalg.norm(live, axis=1, keepdims=True)
    np.testing.assert_allclose(grad[~zero_rows], expected, atol=1e-7)


def test_elastic_net_is_optimal():
    X, y = simulate_classes(seed=5)
    strength, ratio = 0.03, 0.5
    model, _ = glmx.fit(_model(glmx.ElasticNet(strength, ratio)), X, y)
    coef = np.asarray(model.coef)
    grad = _gradient(model, X, y) + strength * (1 - ratio) * coef
    nonzero = coef != 0
    np.testing.assert_allclose(grad[nonzero], -strength * ratio * np.sign(coef[nonzero]), atol=1e-7)
    assert np.all(np.abs(grad[~nonzero]) <= strength * ratio * (1 + 1e-6))


def test_population_equals_a_loop():
    X, y0 = simulate_classes(seed=6)
    _, y1 = simulate_classes(seed=7)
    Y = np.stack([y0, y1], axis=1)
    strengths = jnp.array([0.01, 0.1])
    pop = glmx.PopulationCategoricalGLM(glmx.Categorical(K), glmx.Ridge(strengths), n_neurons=2)
    pop, result = glmx.fit(pop, X, Y, TIGHT)
    assert result.num_steps.shape == (2,)
    for k in range(2):
        single, _ = glmx.fit(_model(glmx.Ridge(strengths[k])), X, Y[:, k], TIGHT)
        np.testing.assert_allclose(pop.coef[k], single.coef, atol=1e-9)
        np.testing.assert_allclose(pop.intercept[k], single.intercept, atol=1e-9)
        np.testing.assert_allclose(pop.neuron(k).predict_proba(X), single.predict_proba(X))
    assert pop.predict_proba(X).shape == (len(y0), 2, K)
    assert pop.predict(X).shape == (len(y0), 2)
    assert pop.score(X, Y, "accuracy").shape == (2,)
    labels, prob = pop.simulate(jax.random.key(0), X)
    assert labels.shape == (len(y0), 2) and prob.shape == (len(y0), 2, K)


def test_population_inference_equals_a_loop():
    X, y0 = simulate_classes(seed=8)
    _, y1 = simulate_classes(seed=9)
    Y = np.stack([y0, y1], axis=1)
    pop, _ = glmx.fit(glmx.PopulationCategoricalGLM(glmx.Categorical(K), n_neurons=2), X, Y)
    inference = glmx.categorical_inference(pop, X, Y)
    for k in range(2):
        single = glmx.categorical_inference(pop.neuron(k), X, Y[:, k])
        np.testing.assert_allclose(inference.coef_se[k], single.coef_se, rtol=1e-6)


def test_implicit_gradient_matches_finite_differences():
    X, y = simulate_classes(seed=10)
    X_valid, y_valid = simulate_classes(seed=11)
    solver = glmx.Newton(tol=1e-12)

    def loss(strength):
        model, _ = glmx.fit(_model(glmx.Ridge(strength)), X, y, solver)
        return -model.log_likelihood(X_valid, y_valid) + jnp.sum(model.coef[1]) + model.intercept[2]

    strength, h = 0.05, 1e-5
    gradient = jax.grad(loss)(jnp.asarray(strength))
    numeric = (loss(strength + h) - loss(strength - h)) / (2 * h)
    np.testing.assert_allclose(gradient, numeric, rtol=1e-6)


def test_fit_under_jit_and_vmap_over_strengths():
    X, y = simulate_classes(seed=12)
    strengths = jnp.array([0.01, 0.1, 1.0])

    @jax.jit
    def coef_for(strength):
        return glmx.fit(_model(glmx.Ridge(strength)), X, y, TIGHT)[0].coef

    batched = jax.vmap(coef_for)(strengths)
    for k, s in enumerate(strengths):
        eager, _ = glmx.fit(_model(glmx.Ridge(s)), X, y, TIGHT)
        np.testing.assert_allclose(batched[k], eager.coef, atol=1e-9)
        np.testing.assert_allclose(coef_for(s), eager.coef, atol=1e-9)


def test_missing_rows_are_left_out():
    X, y = simulate_classes(seed=13)
    X_nan, y_nan = X.copy(), y.astype(float)
    X_nan[3, 1] = np.nan
    y_nan[7] = np.nan
    model, result = glmx.fit(_model(glmx.Ridge(0.01)), X_nan, y_nan, TIGHT)
    keep = np.ones(len(y), bool)
    keep[[3, 7]] = False
    reference, _ = glmx.fit(_model(glmx.Ridge(0.01)), X[keep], y[keep], TIGHT)
    assert int(result.n_excluded) == 2
    np.testing.assert_allclose(model.coef, reference.coef, atol=1e-9)
    assert np.isnan(model.predict(X_nan)[3]) and np.isnan(model.predict_proba(X_nan)[3]).all()


def test_simulate_draws_from_the_probabilities():
    X, y = simulate_classes(n=50, seed=14)
    model, _ = glmx.fit(_model(), X, y)
    X_many = np.repeat(X[:1], 20_000, axis=0)
    labels, prob = model.simulate(jax.random.key(1), X_many)
    frequencies = np.bincount(np.asarray(labels, int), minlength=K) / len(labels)
    np.testing.assert_allclose(frequencies, prob[0], atol=0.015)


def test_float32_fits():
    X, y = simulate_classes(seed=15)
    model, result = glmx.fit(_model(glmx.Ridge(0.05)), X.astype(np.float32), y)
    assert model.coef.dtype == jnp.float32 and bool(result.converged)
    reference, _ = glmx.fit(_model(glmx.Ridge(0.05)), X, y, TIGHT)
    np.testing.assert_allclose(model.coef, reference.coef, atol=1e-3)


@pytest.mark.parametrize(
    "labels, entry",
    [(3.0, "3.0"), (-1.0, "-1.0"), (1.5, "1.5")],
    ids=["too-large", "negative", "not-integer"],
)
def test_labels_outside_the_classes_raise(labels, entry):
    X, y = simulate_classes(n=40, seed=16)
    y = y.astype(float)
    y[5] = labels
    with pytest.raises(
        ValueError,
        match=rf"^y must hold integer class labels 0\.\.2 for "
        rf"Categorical, but y\[5\] is {entry}\.$",
    ):
        glmx.fit(_model(), X, y)


def test_bad_structure_raises_one_sentence():
    X, y = simulate_classes(n=40, seed=17)
    with pytest.raises(ValueError, match="n_classes must be an integer of at least 2, got 1."):
        glmx.Categorical(1)
    model, _ = glmx.fit(_model(), X, y)
    with pytest.raises(ValueError, match="X has 3 features but the model has 4 coefficient"):
        model.predict(X[:, :3])
    with pytest.raises(TypeError, match="offset is not used by categorical models"):
        glmx.fit(_model(), X, y, offset=np.zeros(len(y)))
    with pytest.raises(TypeError, match="X must be an array"):
        glmx.fit(_model(), {"a": X}, y)
    with pytest.raises(ValueError, match="y has 39 rows but X has 40"):
        glmx.fit(_model(), X, y[1:])
    with pytest.raises(ValueError, match=r"coef must be \(p, 3\) and intercept \(3,\)"):
        glmx.CategoricalGLM(glmx.Categorical(3), coef=np.zeros((4, 2)), intercept=np.zeros(2))
    with pytest.raises(
        ValueError,
        match=r"^y must hold integer class labels 0\.\.2 for Categorical, "
        r"but y\[2\] is 3\.0\.$",
    ):
        model.score(X, np.where(np.arange(len(y)) == 2, 3, y), "accuracy")
    with pytest.raises(ValueError, match=r"but y\[0\] is -1\.0\."):
        model.log_likelihood(X, -np.ones(len(y)))
    with pytest.raises(ValueError, match="The model has no coefficients yet"):
        _model().predict(X)
    with pytest.raises(TypeError, match="use glmx.categorical_inference for categorical models"):
        glmx.inference(model, X, y)


def test_sample_weights_match_sklearn():
    X, y = simulate_classes(seed=18)
    weights = np.random.default_rng(18).integers(0, 4, size=len(y)).astype(float)
    strength = 0.05
    model, _ = glmx.fit(_model(glmx.Ridge(strength)), X, y, TIGHT, sample_weight=weights)
    # glmx's objective is a weighted mean: scikit-learn's C is 1 / (sum(weights) * strength)
    lr = _sklearn(X, y, C=1.0 / (weights.sum() * strength))
    lr.fit(X, y, sample_weight=weights)
    np.testing.assert_allclose(model.coef, lr.coef_.T, atol=1e-7)
    np.testing.assert_allclose(model.intercept, lr.intercept_, atol=1e-7)


def test_elastic_net_matches_sklearn_saga():
    X, y = simulate_classes(seed=19)
    strength, ratio = 0.03, 0.5
    model, _ = glmx.fit(_model(glmx.ElasticNet(strength, ratio)), X, y)
    lr = _sklearn(X, y, C=1.0 / (len(y) * strength), l1_ratio=ratio, solver="saga", tol=1e-10)
    np.testing.assert_allclose(model.coef, lr.coef_.T, atol=1e-6)
    np.testing.assert_allclose(model.intercept, lr.intercept_, atol=1e-6)


def test_refits_with_new_data_or_strength_do_not_retrace():
    from test_jit import count_traces

    X, y = simulate_classes(seed=23)
    X2, y2 = simulate_classes(seed=24)
    glmx.fit(_model(glmx.Ridge(0.1)), X, y)  # compile
    with count_traces() as counter:
        glmx.fit(_model(glmx.Ridge(0.1)), X2, y2)
        glmx.fit(_model(glmx.Ridge(0.37)), X, y)
    assert counter["traces"] == 0


def test_lasso_implicit_gradient_matches_finite_differences():
    X, y = simulate_classes(seed=25)
    X_valid, y_valid = simulate_classes(seed=26)
    solver = glmx.ProximalNewton(tol=1e-12)

    def loss(strength):
        model, _ = glmx.fit(_model(glmx.Lasso(strength)), X, y, solver)
        return -model.log_likelihood(X_valid, y_valid) + jnp.sum(model.coef[0])

    strength, h = 0.02, 1e-6
    model, _ = glmx.fit(_model(glmx.Lasso(strength)), X, y, solver)
    assert int(jnp.sum(model.coef == 0)) > 0  # the held set is not empty
    gradient = jax.grad(loss)(jnp.asarray(strength))
    numeric = (loss(strength + h) - loss(strength - h)) / (2 * h)
    np.testing.assert_allclose(gradient, numeric, rtol=1e-5)


def test_per_feature_ridge_strength_is_a_rescaled_design():
    X, y = simulate_classes(seed=27)
    strengths = np.array([0.01, 0.1, 1.0, 0.05])
    model, _ = glmx.fit(_model(glmx.Ridge(strengths)), X, y, TIGHT)
    # strength s_j on w_j equals strength 1 on the column X_j / sqrt(s_j), coefficient scaled
    scaled, _ = glmx.fit(_model(glmx.Ridge(1.0)), X / np.sqrt(strengths), y, TIGHT)
    np.testing.assert_allclose(model.coef, scaled.coef / np.sqrt(strengths)[:, None], atol=1e-8)
