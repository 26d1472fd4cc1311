"""PopulationGLM: a vmapped fit equals a loop of single fits; masks; per-neuron convergence."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import glmx
from test_jit import count_traces

NEURONS = 3
TIGHT = glmx.LBFGS(tol=1e-11)


def population_data(n=300, p=4, seed=0, per_neuron=False):
    rng = np.random.default_rng(seed)
    shape = (NEURONS, n, p) if per_neuron else (n, p)
    X = rng.normal(size=shape) * 0.5
    W = rng.normal(size=(NEURONS, p)) * 0.4
    eta = (np.einsum("knp,kp->nk", X, W) if per_neuron else X @ W.T) - 0.2
    Y = rng.poisson(np.exp(eta)).astype(float)
    return X, Y


def _loop(observation, regularizers, X, Y, solver, masks=None):
    coefs, intercepts = [], []
    for k in range(NEURONS):
        Xk = X[k] if X.ndim == 3 else X
        if masks is not None:
            Xk = Xk[:, masks[:, k]]
        model, _ = glmx.fit(glmx.GLM(observation, regularizers[k]), Xk, Y[:, k], solver)
        coef = np.zeros(X.shape[-1])
        if masks is not None:
            coef[masks[:, k]] = model.coef
        else:
            coef = np.asarray(model.coef)
        coefs.append(coef)
        intercepts.append(float(model.intercept))
    return np.array(coefs), np.array(intercepts)


@pytest.mark.parametrize("per_neuron", [False, True], ids=["shared-X", "per-neuron-X"])
@pytest.mark.parametrize("masked", [False, True], ids=["no-mask", "mask"])
@pytest.mark.parametrize("solver", [TIGHT, glmx.Newton(tol=1e-11)], ids=["lbfgs", "newton"])
def test_population_equals_a_loop_of_single_fits(per_neuron, masked, solver):
    X, Y = population_data(per_neuron=per_neuron)
    strengths = np.array([0.01, 0.1, 0.5])
    mask = np.array([[1, 1, 0], [1, 0, 1], [0, 1, 1], [1, 1, 1]], bool) if masked else None
    pop = glmx.PopulationGLM(
        glmx.Poisson(), glmx.Ridge(strengths), n_neurons=NEURONS, feature_mask=mask
    )
    pop, result = glmx.fit(pop, X, Y, solver)
    assert result.num_steps.shape == (NEURONS,) and bool(np.all(result.converged))
    regularizers = [glmx.Ridge(s) for s in strengths]
    coefs, intercepts = _loop(glmx.Poisson(), regularizers, X, Y, solver, mask)
    np.testing.assert_allclose(pop.coef, coefs, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(pop.intercept, intercepts, rtol=1e-8)
    if masked:
        assert np.all(np.asarray(pop.coef)[~mask.T] == 0.0)  # exactly zero


@pytest.mark.parametrize(
    "solver",
    [glmx.ProximalGradient(tol=1e-11), glmx.ProximalNewton(tol=1e-11)],
    ids=["fista", "proximal-newton"],
)
def test_lasso_population_with_mask_equals_the_loop(solver):
    X, Y = population_data(seed=1)
    mask = np.array([[1, 1, 1], [1, 0, 1], [0, 1, 1], [1, 1, 0]], bool)
    pop = glmx.PopulationGLM(glmx.Poisson(), glmx.Lasso(0.02), n_neurons=NEURONS, feature_mask=mask)
    pop, result = glmx.fit(pop, X, Y, solver)
    coefs, _ = _loop(glmx.Poisson(), [glmx.Lasso(0.02)] * NEURONS, X, Y, solver, mask)
    np.testing.assert_allclose(pop.coef, coefs, rtol=1e-8, atol=1e-10)
    assert np.all(np.asarray(pop.coef)[~mask.T] == 0.0)


def test_dict_design_and_dict_mask():
    X, Y = population_data()
    design = {"stim": X[:, :3], "coupling": X[:, 3:]}
    mask = {"stim": np.ones((3, NEURONS), bool), "coupling": np.array([[1, 0, 1]], bool)}
    pop = glmx.PopulationGLM(glmx.Poisson(), n_neurons=NEURONS, feature_mask=mask)
    pop, _ = glmx.fit(pop, design, Y, TIGHT)
    assert pop.coef["stim"].shape == (NEURONS, 3) and pop.coef["coupling"].shape == (NEURONS, 1)
    assert float(pop.coef["coupling"][1, 0]) == 0.0
    flat_mask = np.vstack([mask["coupling"], mask["stim"]])  # sorted keys: coupling, stim
    flat = glmx.PopulationGLM(glmx.Poisson(), n_neurons=NEURONS, feature_mask=flat_mask)
    flat, _ = glmx.fit(flat, np.column_stack([X[:, 3:], X[:, :3]]), Y, TIGHT)
    np.testing.assert_allclose(pop.coef["coupling"][:, 0], flat.coef[:, 0], rtol=1e-10)


def test_per_neuron_convergence_and_failures_by_index():
    X, Y = population_data()
    Y = Y.copy()
    Y[:, 1] = np.nan  # neuron 1 has no data at all
    pop = glmx.PopulationGLM(glmx.Poisson(), glmx.Ridge(0.1), n_neurons=NEURONS)
    with pytest.warns(glmx.ConvergenceWarning, match=r"neurons \[1\] did not converge"):
        pop, result = glmx.fit(pop, X, Y)
    assert result.failed_neurons.tolist() == [1]
    assert bool(result.converged[0]) and bool(result.converged[2])
    single, _ = glmx.fit(glmx.GLM(glmx.Poisson(), glmx.Ridge(0.1)), X, Y[:, 2])
    np.testing.assert_allclose(pop.coef[2], single.coef, rtol=1e-6)
    # Steps are counted per neuron: an easy neuron stops early.
    Y_easy = population_data()[1]
    Y_easy[:, 0] = 1.0
    _, result = glmx.fit(glmx.PopulationGLM(glmx.Poisson(), n_neurons=NEURONS), X, Y_easy)
    assert int(result.num_steps[0]) < int(result.num_steps[1])


def test_all_zero_spike_counts_do_not_spoil_the_others():
    X, Y = population_data()
    Y = Y.copy()
    Y[:, 0] = 0.0
    pop = glmx.PopulationGLM(glmx.Poisson(), glmx.Ridge(0.01), n_neurons=NEURONS)
    with pytest.warns(glmx.ConvergenceWarning, match=r"neurons \[0\].*no finite estimate"):
        pop, result = glmx.fit(pop, X, Y)
    assert np.all(np.isfinite(np.asarray(pop.coef)))
    diverging = np.asarray(result.status == glmx.RESULTS.diverging)
    assert list(diverging) == [True] + [False] * (NEURONS - 1)
    single, _ = glmx.fit(glmx.GLM(glmx.Poisson(), glmx.Ridge(0.01)), X, Y[:, 1])
    np.testing.assert_allclose(pop.coef[1], single.coef, rtol=1e-6)


def test_refitting_a_population_does_not_retrace():
    X, Y = population_data()
    X2, Y2 = population_data(seed=3)
    glmx.fit(glmx.PopulationGLM(glmx.Poisson(), glmx.Ridge(0.1), n_neurons=NEURONS), X, Y)
    models = [
        glmx.PopulationGLM(glmx.Poisson(), glmx.Ridge(0.2), n_neurons=NEURONS),
        glmx.PopulationGLM(
            glmx.Poisson(), glmx.Ridge(np.array([0.1, 0.2, 0.3])), n_neurons=NEURONS
        ),
    ]
    with count_traces() as counter:
        for model in models:
            glmx.fit(model, X2, Y2)
    assert counter["traces"] == 0


def test_predict_score_simulate_match_the_single_models(getkey):
    X, Y = population_data()
    pop, _ = glmx.fit(
        glmx.PopulationGLM(glmx.Gamma(), n_neurons=NEURONS), X, np.exp(Y * 0.1), TIGHT
    )
    Yg = np.exp(Y * 0.1)
    rates = pop.predict(X)
    assert rates.shape == (300, NEURONS)
    per_neuron = pop.score(X, Yg, "pseudo-r2-mcfadden", aggregate="none")
    for k in range(NEURONS):
        single = pop.neuron(k)
        np.testing.assert_allclose(rates[:, k], single.predict(X), rtol=1e-12)
        np.testing.assert_allclose(per_neuron[k], single.score(X, Yg[:, k], "pseudo-r2-mcfadden"))
        reference, _ = glmx.fit(glmx.GLM(glmx.Gamma()), X, Yg[:, k], TIGHT)
        np.testing.assert_allclose(single.scale, reference.scale, rtol=1e-7)
    np.testing.assert_allclose(pop.score(X, Yg, "pseudo-r2-mcfadden"), per_neuron.mean())
    assert pop.log_likelihood(X, Yg).shape == (NEURONS,)
    samples, means = pop.simulate(getkey(), X)
    assert samples.shape == means.shape == (300, NEURONS)
    assert not np.allclose(samples[:, 0], samples[:, 1])


def test_population_step_wise_fitting():
    X, Y = population_data()
    pop = glmx.PopulationGLM(glmx.Poisson(), glmx.Ridge(0.05), n_neurons=NEURONS)
    reference, _ = glmx.fit(pop, X, Y)
    state = glmx.init_state(pop, X, Y)
    for _ in range(100):
        pop, state = glmx.update(pop, state, X, Y)
    assert state.num_steps.shape == (NEURONS,)
    np.testing.assert_allclose(pop.coef, reference.coef, rtol=1e-6, atol=1e-8)


def test_vmap_over_neurons_by_hand_equals_population():
    X, Y = population_data()

    def coef(y):
        return glmx.fit(glmx.GLM(glmx.Poisson()), X, y, TIGHT)[0].coef

    by_hand = jax.vmap(coef, in_axes=1)(jnp.asarray(Y))
    pop, _ = glmx.fit(glmx.PopulationGLM(glmx.Poisson(), n_neurons=NEURONS), X, Y, TIGHT)
    np.testing.assert_allclose(by_hand, pop.coef, rtol=1e-9)


BAD = {
    "Y 1-d": (
        dict(Y=np.ones(300)),
        r"y must be 2-dimensional \(n_samples, neurons\) with 3 neurons, got shape \(300,\)",
    ),
    "Y neurons": (dict(Y=np.ones((300, 2))), r"with 3 neurons, got shape \(300, 2\)"),
    "X neurons": (
        dict(X=np.ones((2, 300, 4))),
        r"X has 2 neurons along its first axis but the population has 3",
    ),
    "weights shape": (
        dict(sample_weight=np.ones((300, 2))),
        r"sample_weight must have shape \(300,\) or \(300, 3\)",
    ),
    "mask rows": (dict(mask=np.ones((5, 3))), r"feature_mask has 5 rows but X has 4 features"),
}


@pytest.mark.parametrize("case", BAD)
def test_bad_population_input(case):
    X, Y = population_data()
    kwargs, message = BAD[case]
    pop = glmx.PopulationGLM(
        glmx.Poisson(), n_neurons=NEURONS, feature_mask=kwargs.pop("mask", None)
    )
    with pytest.raises(ValueError, match=message):
        glmx.fit(pop, kwargs.pop("X", X), kwargs.pop("Y", Y), **kwargs)


def test_bad_population_construction():
    with pytest.raises(
        ValueError, match=r"feature_mask has 2 columns but the population has 3 neurons"
    ):
        glmx.PopulationGLM(n_neurons=3, feature_mask=np.ones((4, 2)))
    with pytest.raises(ValueError, match=r"feature_mask must hold only 0/1"):
        glmx.PopulationGLM(n_neurons=3, feature_mask=np.full((4, 3), 0.5))
    with pytest.raises(
        ValueError,
        match=r"regularizer.strength has leading size 2 but the population has 3 neurons",
    ):
        glmx.PopulationGLM(glmx.Poisson(), glmx.Ridge(np.ones(2)), n_neurons=3)
    with pytest.raises(ValueError, match=r"n_neurons must be a positive integer, got 0"):
        glmx.PopulationGLM(n_neurons=0)


def test_chunking_over_neurons_gives_the_same_fit(monkeypatch):
    import glmx._data as fit_module

    X, Y = population_data()
    pop = glmx.PopulationGLM(
        glmx.Poisson(), glmx.Ridge(np.array([0.01, 0.1, 0.5])), n_neurons=NEURONS
    )
    whole, whole_result = glmx.fit(pop, X, Y, TIGHT)
    # A budget that fits two neurons' working arrays at a time: chunks of 2, then 1.
    monkeypatch.setattr(fit_module, "WORKING_MEMORY_BYTES", 2 * 10 * 300 * 8)
    assert fit_module.neuron_chunk_size(300, 4, NEURONS, jnp.float64) == 2
    # The budget is read when the fit is traced: a solver with other settings forces a new trace.
    chunked, chunked_result = glmx.fit(pop, X, Y, glmx.LBFGS(tol=1e-11, max_steps=1001))
    np.testing.assert_allclose(chunked.coef, whole.coef, rtol=1e-10)
    np.testing.assert_array_equal(chunked_result.num_steps, whole_result.num_steps)
    state = glmx.init_state(pop, X, Y)
    pop_step, state = glmx.update(pop, state, X, Y)
    assert state.num_steps.shape == (NEURONS,)


def test_nan_rows_weights_and_offsets_per_neuron_equal_the_loop():
    X, Y = population_data()
    X = X.copy()
    X[[4, 9], 2] = np.nan  # missing rows of the shared design: excluded for every neuron
    rng = np.random.default_rng(7)
    weights = rng.integers(0, 3, size=Y.shape).astype(float)
    offset = rng.normal(size=Y.shape) * 0.1
    pop = glmx.PopulationGLM(glmx.Poisson(), glmx.Ridge(0.05), n_neurons=NEURONS)
    pop, result = glmx.fit(pop, X, Y, TIGHT, sample_weight=weights, offset=offset)
    np.testing.assert_array_equal(result.n_excluded, [2, 2, 2])
    for k in range(NEURONS):
        single, _ = glmx.fit(
            glmx.GLM(glmx.Poisson(), glmx.Ridge(0.05)),
            X,
            Y[:, k],
            TIGHT,
            sample_weight=weights[:, k],
            offset=offset[:, k],
        )
        np.testing.assert_allclose(pop.coef[k], single.coef, rtol=1e-8, atol=1e-10)


def test_float32_population():
    X, Y = population_data()
    pop = glmx.PopulationGLM(glmx.Poisson(), glmx.Ridge(0.05), n_neurons=NEURONS)
    pop32, result = glmx.fit(pop, X.astype(np.float32), Y.astype(np.float32))
    assert pop32.coef.dtype == jnp.float32 and result.objective.dtype == jnp.float32
    assert bool(np.all(result.converged))
    pop64, _ = glmx.fit(pop, X, Y, TIGHT)
    np.testing.assert_allclose(pop32.coef, pop64.coef, atol=2e-3)


def test_shared_structure_stays_shared_after_a_fit_and_refits():
    """Leaves without a neuron axis (a GroupLasso's group mask) come back as they went in, so a
    fitted population refits and gives its neurons' models."""
    X, Y = population_data()
    groups = np.array([[1, 1, 0, 0], [0, 0, 1, 1]], bool)
    pop = glmx.PopulationGLM(glmx.Poisson(), glmx.GroupLasso(groups, 0.01), n_neurons=NEURONS)
    fitted, _ = glmx.fit(pop, X, Y)
    assert fitted.regularizer.groups.shape == groups.shape
    again, result = glmx.fit(fitted, X, Y)
    assert bool(np.all(result.converged))
    np.testing.assert_allclose(again.coef, fitted.coef, rtol=1e-6, atol=1e-9)
    one = fitted.neuron(0)
    assert np.isfinite(float(one.regularizer.penalty(one.coef)))
