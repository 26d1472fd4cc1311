"""Bases, causal convolution and recurrent simulation of coupled networks."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import glmx


def test_raised_cosine_basis_shape_and_partition_of_unity():
    basis = np.asarray(glmx.raised_cosine_log_basis(5, 60))
    assert basis.shape == (60, 5)
    np.testing.assert_allclose(basis.sum(axis=1), 1.0, atol=1e-12)
    peaks = basis.argmax(axis=0)
    assert np.all(np.diff(peaks) > 0)  # centres move back in time...
    assert np.all(np.diff(np.diff(peaks)) >= 0)  # ...and spread out (log spacing)
    with pytest.raises(ValueError, match=r"need n_basis >= 1 and window_size >= 2"):
        glmx.raised_cosine_log_basis(0, 10)


def test_convolution_is_causal_and_matches_a_loop():
    rng = np.random.default_rng(0)
    spikes = rng.poisson(0.5, size=(40, 3)).astype(float)
    basis = np.asarray(glmx.raised_cosine_log_basis(4, 9))
    features = np.asarray(glmx.convolve_spikes(spikes, basis))
    expected = np.zeros((40, 3, 4))
    for t in range(40):
        for lag in range(1, 10):
            if t - lag >= 0:
                expected[t] += np.outer(spikes[t - lag], basis[lag - 1])
    np.testing.assert_allclose(features, expected.reshape(40, 12), atol=1e-12)
    # A spike at t never affects row t (causal).
    impulse = np.zeros((20, 1))
    impulse[5] = 1.0
    response = np.asarray(glmx.convolve_spikes(impulse, basis))
    assert np.all(response[:6] == 0) and response[6:15].sum() > 0


def _network(neurons=4, n_basis=3, window=20, seed=0):
    rng = np.random.default_rng(seed)
    coupling = rng.normal(size=(neurons, neurons * n_basis)) * 0.3
    for k in range(neurons):  # refractory self-coupling
        coupling[k, k * n_basis : (k + 1) * n_basis] = -1.0
    coef = {"coupling": coupling, "stimulus": rng.normal(size=(neurons, 2)) * 0.3}
    model = glmx.PopulationGLM(
        glmx.Poisson(), n_neurons=neurons, coef=coef, intercept=np.full(neurons, -1.5)
    )
    return model, glmx.raised_cosine_log_basis(n_basis, window)


def test_recurrent_simulation_rates_equal_the_model_on_its_own_spikes():
    model, basis = _network()
    window = basis.shape[0]
    stimulus = np.random.default_rng(1).normal(size=(500, 2))
    init = np.zeros((window, 4))
    sim = glmx.simulate_recurrent(jax.random.key(0), model, basis, init, {"stimulus": stimulus})
    assert sim.spikes.shape == sim.rates.shape == (500, 4)
    features = glmx.convolve_spikes(sim.spikes, basis)
    rates = model.predict({"coupling": features, "stimulus": stimulus})
    np.testing.assert_allclose(sim.rates, rates, rtol=1e-10)


def test_fit_to_simulated_network_recovers_coupling_and_rates():
    model, basis = _network(neurons=3, seed=2)
    window = basis.shape[0]
    stimulus = np.random.default_rng(3).normal(size=(20_000, 2))
    sim = glmx.simulate_recurrent(
        jax.random.key(1), model, basis, np.zeros((window, 3)), {"stimulus": stimulus}
    )
    design = {"coupling": glmx.convolve_spikes(sim.spikes, basis), "stimulus": stimulus}
    fitted, result = glmx.fit(glmx.PopulationGLM(glmx.Poisson(), n_neurons=3), design, sim.spikes)
    assert bool(np.all(result.converged))
    true_filters = np.einsum("wb,kjb->kjw", basis, model.coef["coupling"].reshape(3, 3, 3))
    fit_filters = np.einsum("wb,kjb->kjw", basis, fitted.coef["coupling"].reshape(3, 3, 3))
    assert np.max(np.abs(true_filters - fit_filters)) < 0.25
    resim = glmx.simulate_recurrent(
        jax.random.key(2), fitted, basis, np.zeros((window, 3)), {"stimulus": stimulus}
    )
    np.testing.assert_allclose(resim.spikes.mean(0), sim.spikes.mean(0), rtol=0.1)


def test_recurrent_simulation_errors():
    model, basis = _network()
    with pytest.raises(ValueError, match=r"init_spikes must have shape \(20, 4\)"):
        glmx.simulate_recurrent(
            jax.random.key(0), model, basis, np.zeros((5, 4)), {"stimulus": np.zeros((3, 2))}
        )
    with pytest.raises(
        ValueError, match=r"feedforward must have the model's other blocks \['stimulus'\]"
    ):
        glmx.simulate_recurrent(jax.random.key(0), model, basis, np.zeros((20, 4)))
    plain = glmx.PopulationGLM(n_neurons=2, coef=np.zeros((2, 3)), intercept=np.zeros(2))
    with pytest.raises(
        ValueError, match=r"needs a model fitted on a dict design with a 'coupling' block"
    ):
        glmx.simulate_recurrent(jax.random.key(0), plain, basis, np.zeros((20, 2)), n_steps=5)
    with pytest.raises(
        ValueError, match=r"12 coefficients per neuron but 4 neurons x 2 basis functions need 8"
    ):
        glmx.simulate_recurrent(
            jax.random.key(0),
            model,
            basis[:, :2],
            np.zeros((20, 4)),
            {"stimulus": np.zeros((3, 2))},
        )


def test_simulation_works_for_other_observation_models():
    model, basis = _network()
    nb = glmx.PopulationGLM(
        glmx.NegativeBinomial(0.3), n_neurons=4, coef=model.coef, intercept=model.intercept
    )
    sim = glmx.simulate_recurrent(
        jax.random.key(0), nb, basis, jnp.zeros((20, 4)), {"stimulus": np.zeros((300, 2))}
    )
    assert np.all(np.asarray(sim.spikes) >= 0) and np.all(np.isfinite(sim.rates))
