"""glmx.sklearn: scikit-learn's estimator checks, the seed's API, model selection tools,
pynapple input and output, and errors."""

import pickle

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.linear_model import PoissonRegressor
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

import glmx
from conftest import population_counts, simulate
from glmx.sklearn import GLM, PopulationGLM
from test_jit import count_traces

# Newton compiles in about half the time of the default L-BFGS, and the checks fit many shapes.
# The Poisson estimator takes the positive_only path of the checks; the Gaussian population
# (with a Ridge penalty) the one with real-valued targets. (A Poisson population adds nothing
# the two do not check, for 40 more compilations.)
CHECKED = [
    GLM(solver_name="Newton"),
    PopulationGLM(observation_model="Gaussian", regularizer="Ridge", solver_name="Newton"),
]


def _expected_failures(estimator):
    failures = {}
    if estimator.regularizer == "UnRegularized":
        failures["check_sample_weight_equivalence_on_dense_data"] = (
            "the check fits 15 rows with 30 features: without a penalty the minimiser is not "
            "unique, and predictions on the rows with zero weight depend on which minimiser the "
            "solver reaches (scikit-learn's linear models pick the minimum-norm one); with a "
            "Ridge penalty the check passes (see the Ridge population)"
        )
    return failures


@parametrize_with_checks(CHECKED, expected_failed_checks=_expected_failures)
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


def _population(n=300, neurons=3, seed=0):
    return population_counts(n, 4, neurons, seed)


def test_fit_matches_the_core_and_exposes_the_seeds_attributes():
    X, y, _, _ = simulate("poisson")
    est = GLM(regularizer="Ridge", regularizer_strength=0.05).fit(X, y)
    core, result = glmx.fit(glmx.GLM(glmx.Poisson(), glmx.Ridge(0.05)), X, y)
    np.testing.assert_allclose(est.coef_, core.coef, rtol=1e-12)
    np.testing.assert_allclose(est.intercept_, core.intercept, rtol=1e-12)
    assert float(est.scale_) == 1.0 and float(est.dof_resid_) == float(result.dof_resid)
    assert est.solver_state_.num_steps == result.num_steps and est.n_features_in_ == 4
    np.testing.assert_allclose(est.predict(X), core.predict(X), rtol=1e-12)
    assert est.score(X, y) == pytest.approx(float(core.score(X, y)), rel=1e-12)
    for kind in ("pseudo-r2-McFadden", "pseudo-r2-Cohen"):
        assert est.score(X, y, score_type=kind) == pytest.approx(float(core.score(X, y, kind)))
    spikes, rates = est.simulate(jax.random.key(0), X)
    assert spikes.shape == rates.shape == (len(y),)
    from_jax = GLM(regularizer="Ridge", regularizer_strength=0.05).fit(
        jnp.asarray(X), jnp.asarray(y)
    )
    np.testing.assert_allclose(from_jax.coef_, est.coef_, rtol=1e-12)


def test_population_estimator_coefficients_are_features_by_neurons():
    X, Y = _population()
    mask = np.array([[1, 1, 0], [1, 0, 1], [0, 1, 1], [1, 1, 1]])
    est = PopulationGLM(feature_mask=mask).fit(X, Y)
    assert est.coef_.shape == (4, 3) and est.intercept_.shape == (3,)
    assert np.all(est.coef_[mask == 0] == 0)
    assert est.predict(X).shape == Y.shape and est.scale_.shape == (3,)
    assert est.score(X, Y, aggregate="none").shape == (3,)
    assert isinstance(est.score(X, Y), float)


def test_refitting_the_same_shapes_does_not_recompile():
    X, y, _, _ = simulate("poisson")
    X2, y2, _, _ = simulate("poisson", seed=3)
    GLM(regularizer="Ridge", regularizer_strength=0.1).fit(X, y)
    with count_traces() as counter:
        GLM(regularizer="Ridge", regularizer_strength=0.3).fit(X2, y2)
        clone(GLM(regularizer="Ridge", regularizer_strength=0.01)).fit(X, y)
    assert counter["traces"] == 0


def test_set_params_changes_the_link_with_the_observation_model():
    X, y, _, _ = simulate("poisson")
    est = GLM(observation_model="Bernoulli")
    est.set_params(observation_model="Poisson")
    est.fit(X, y)
    assert isinstance(est.model_.observation, glmx.Poisson)
    assert isinstance(est.model_.observation.link, glmx.LogLink)
    est.set_params(link="softplus").fit(X, y)
    assert isinstance(est.model_.observation.link, glmx.SoftplusLink)
    assert est.get_params()["link"] == "softplus"


def test_grid_search_picks_the_strength_scikit_learn_picks():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 12))
    coef = np.zeros(12)
    coef[:4] = [0.5, -0.4, 0.3, 0.2]
    y = rng.poisson(np.exp(X @ coef - 0.5)).astype(float)
    grid = list(np.logspace(-4, 0, 9))
    folds = KFold(5, shuffle=True, random_state=0)
    ours = GridSearchCV(
        GLM(regularizer="Ridge", solver_name="Newton", solver_kwargs={"tol": 1e-10}),
        {"regularizer_strength": grid},
        cv=folds,
        scoring="neg_mean_poisson_deviance",
    ).fit(X, y)
    theirs = GridSearchCV(
        PoissonRegressor(solver="newton-cholesky", tol=1e-10),
        {"alpha": grid},
        cv=folds,
        scoring="neg_mean_poisson_deviance",
    ).fit(X, y)
    assert ours.best_params_["regularizer_strength"] == theirs.best_params_["alpha"]
    np.testing.assert_allclose(
        ours.cv_results_["mean_test_score"], theirs.cv_results_["mean_test_score"], rtol=1e-7
    )
    # With each estimator's own score (mean log-likelihood; D^2 for scikit-learn) too.
    ours_default = GridSearchCV(GLM(regularizer="Ridge"), {"regularizer_strength": grid}, cv=folds)
    theirs_default = GridSearchCV(PoissonRegressor(), {"alpha": grid}, cv=folds)
    assert (
        ours_default.fit(X, y).best_params_["regularizer_strength"]
        == theirs_default.fit(X, y).best_params_["alpha"]
    )


def test_pipeline_cross_validation_and_pickle():
    X, y, _, _ = simulate("poisson")
    pipe = make_pipeline(StandardScaler(), GLM(regularizer="Lasso", regularizer_strength=0.01))
    scores = cross_val_score(pipe, X * 10 + 3, y, cv=3)
    assert scores.shape == (3,) and np.all(np.isfinite(scores))
    fitted = pipe.fit(X * 10 + 3, y)
    again = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_allclose(again.predict(X * 10 + 3), fitted.predict(X * 10 + 3))
    pop = PopulationGLM().fit(*_population())
    np.testing.assert_allclose(
        pickle.loads(pickle.dumps(pop)).predict(_population()[0]), pop.predict(_population()[0])
    )


def test_dict_designs():
    X, y, _, _ = simulate("poisson")
    design = {"stim": X[:, :3], "hist": X[:, 3:]}
    est = GLM().fit(design, y)
    assert set(est.coef_) == {"stim", "hist"} and est.coef_["hist"].shape == (1,)
    flat = GLM().fit(np.column_stack([X[:, 3:], X[:, :3]]), y)  # sorted keys: hist, stim
    np.testing.assert_allclose(est.predict(design), flat.predict(X[:, [3, 0, 1, 2]]), rtol=1e-8)
    with pytest.raises(ValueError, match=r"X has blocks \{'stim': 3\} but GLM was fitted with"):
        est.predict({"stim": X[:, :3]})


def test_step_wise_fitting_with_update():
    X, y, _, _ = simulate("poisson")
    est = GLM(solver_name="LBFGS")
    params = est.initialize_params(X, y)
    np.testing.assert_allclose(params[1], np.log(y.mean()), rtol=1e-10)
    state = est.initialize_state(X, y, params)
    for _ in range(30):
        params, state = est.update(params, state, X, y)
    full = GLM(solver_name="LBFGS").fit(X, y)
    np.testing.assert_allclose(est.coef_, full.coef_, rtol=1e-6)
    np.testing.assert_allclose(params[0], full.coef_, rtol=1e-6)
    with pytest.raises(TypeError, match="opt_state must come from initialize_state or update"):
        est.update(params, "state", X, y)


def test_pynapple_in_gives_pynapple_out():
    nap = pytest.importorskip("pynapple")
    rng = np.random.default_rng(0)
    t = np.arange(2000) * 0.01
    X = nap.TsdFrame(t=t, d=rng.normal(size=(2000, 3)) * 0.5)
    y = nap.Tsd(t=t, d=rng.poisson(np.exp(X.values @ np.array([0.4, -0.3, 0.2]))).astype(float))
    epochs = nap.IntervalSet(start=[0.0, 8.0], end=[5.0, 15.0])
    X_epochs, y_epochs = X.restrict(epochs), y.restrict(epochs)
    est = GLM().fit(X_epochs, y_epochs)
    # Same as fitting the restricted arrays.
    plain = GLM().fit(X_epochs.values, y_epochs.values)
    np.testing.assert_allclose(est.coef_, plain.coef_, rtol=1e-12)
    rate = est.predict(X_epochs)
    assert isinstance(rate, nap.Tsd)
    np.testing.assert_array_equal(rate.t, X_epochs.t)
    np.testing.assert_allclose(rate.time_support.values, epochs.values)
    spikes, rates = est.simulate(jax.random.key(0), X_epochs)
    assert isinstance(spikes, nap.Tsd) and np.array_equal(spikes.t, X_epochs.t)
    # Predicting on the whole recording keeps its own support.
    assert est.predict(X).time_support.values.shape == (1, 2)
    Y = nap.TsdFrame(t=t, d=rng.poisson(1.0, size=(2000, 2)).astype(float))
    pop = PopulationGLM().fit(X, Y)
    out = pop.predict(X)
    assert isinstance(out, nap.TsdFrame) and out.shape == (2000, 2)
    with pytest.raises(ValueError, match="different time indices"):
        GLM().fit(X, y_epochs)


def test_save_and_load_round_trip(tmp_path):
    X, y, _, _ = simulate("negbin")
    model, _ = glmx.fit(
        glmx.GLM(glmx.NegativeBinomial(0.7), glmx.GroupLasso(np.array([0, 0, 1, 1]), 0.01)), X, y
    )
    glmx.save_model(tmp_path / "model.npz", model)
    loaded = glmx.load_model(tmp_path / "model.npz")
    assert type(loaded.regularizer) is glmx.GroupLasso
    np.testing.assert_array_equal(loaded.regularizer.groups, model.regularizer.groups)
    np.testing.assert_allclose(loaded.predict(X), model.predict(X), rtol=0)
    assert float(loaded.observation.alpha) == pytest.approx(0.7)

    Xp, Y = _population()
    design = {"a": Xp[:, :2], "b": Xp[:, 2:]}
    mask = {"a": np.ones((2, 3)), "b": np.array([[1, 0, 1], [1, 1, 0]])}
    pop, _ = glmx.fit(
        glmx.PopulationGLM(
            glmx.Poisson(), glmx.Ridge([0.1, 0.2, 0.3]), n_neurons=3, feature_mask=mask
        ),
        design,
        Y,
    )
    glmx.save_model(tmp_path / "pop.npz", pop)
    loaded_pop = glmx.load_model(tmp_path / "pop.npz")
    np.testing.assert_allclose(loaded_pop.predict(design), pop.predict(design), rtol=0)
    np.testing.assert_array_equal(loaded_pop.feature_mask["b"], pop.feature_mask["b"])

    est = PopulationGLM(regularizer="Ridge", regularizer_strength=0.1, solver_name="Newton")
    est.fit(Xp, Y).save_params(tmp_path / "estimator.npz")
    again = glmx.sklearn.load_model(tmp_path / "estimator.npz")
    assert again.get_params() == est.get_params()
    np.testing.assert_allclose(again.predict(Xp), est.predict(Xp), rtol=0)
    np.testing.assert_array_equal(again.dof_resid_, est.dof_resid_)
    unfitted = GLM(observation_model=glmx.Gamma(glmx.InverseLink()), regularizer="Lasso")
    unfitted.save_params(tmp_path / "unfitted.npz")
    reloaded = glmx.sklearn.load_model(tmp_path / "unfitted.npz")
    assert isinstance(reloaded.observation_model.link, glmx.InverseLink)
    assert not hasattr(reloaded, "model_")


def test_loading_never_executes_code(tmp_path):
    import json

    model, _ = glmx.fit(glmx.GLM(), *simulate("poisson")[:2])
    glmx.save_model(tmp_path / "model.npz", model)
    with np.load(tmp_path / "model.npz") as data:
        config = json.loads(str(data["__config__"]))
        arrays = {k: data[k] for k in data.files if k != "__config__"}
    config["model"]["module"] = "os.system"
    np.savez(tmp_path / "evil.npz", __config__=np.array(json.dumps(config)), **arrays)
    with pytest.raises(ValueError, match="the class 'os.system', which is not a glmx class"):
        glmx.load_model(tmp_path / "evil.npz")
    # A pickled object array is refused by NumPy (allow_pickle=False).
    np.savez(
        tmp_path / "pickled.npz",
        __config__=np.array(json.dumps(config)),
        array_0=np.array([object()], dtype=object),
    )
    with pytest.raises(ValueError, match="allow_pickle"):
        glmx.load_model(tmp_path / "pickled.npz")
    np.savez(tmp_path / "other.npz", x=np.zeros(3))
    with pytest.raises(ValueError, match="is not a glmx model file"):
        glmx.load_model(tmp_path / "other.npz")


def test_estimator_errors():
    X, y, _, _ = simulate("poisson")
    cases = [
        (GLM(observation_model="poison"), ValueError, r"observation_model must be one of"),
        (GLM(regularizer="L1"), ValueError, r"regularizer must be one of"),
        (GLM(regularizer="GroupLasso"), ValueError, r"needs the groups"),
        (GLM(solver_name="adam"), ValueError, r"solver_name must be one of"),
        (GLM(solver_kwargs={"tol": 1e-6}), ValueError, r"solver_kwargs need a solver_name"),
        (GLM(solver_name="LBFGS", solver_kwargs={"stepsize": 1}), TypeError, r"do not fit LBFGS"),
        (GLM(link="probit"), ValueError, r"link must be one of"),
        (
            GLM(observation_model=glmx.Poisson(), link="log"),
            ValueError,
            r"link is set but observation_model is a glmx observation model",
        ),
        (GLM(observation_model="Gamma", link="logit"), TypeError, r"Gamma cannot use LogitLink"),
        (GLM(regularizer="Lasso", solver_name="LBFGS"), ValueError, r"handles only smooth"),
    ]
    for estimator, error, message in cases:
        with pytest.raises(error, match=message):
            estimator.fit(X, y)
    with pytest.warns(UserWarning, match="regularizer_strength is ignored without a penalty"):
        GLM(regularizer_strength=0.1).fit(X, y)
    with pytest.raises(ValueError, match=r"y must be 2-dimensional \(n_samples, neurons\)"):
        PopulationGLM().fit(X, y)
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        GLM().predict(X)
    with pytest.raises(ValueError, match="X has 3 features, but GLM is expecting 4 features"):
        GLM().fit(X, y).predict(X[:, :3])


def test_missing_scikit_learn_gives_an_install_hint():
    import subprocess
    import sys

    code = (
        "import sys; sys.modules['sklearn'] = None\n"
        "try:\n    import glmx.sklearn\nexcept ImportError as e:\n    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert "glmx.sklearn needs scikit-learn" in out.stdout
    assert 'pip install "glmx[sklearn]"' in out.stdout
