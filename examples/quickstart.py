"""Quickstart: fit a Poisson GLM to one simulated neuron with a stimulus filter and spike history.

Run: python examples/quickstart.py
"""

import time

import jax
import jax.numpy as jnp
import numpy as np

import glmx

STIM_LAGS, HIST_LAGS = 12, 6
N_BINS = 30_000  # 1 ms bins: 30 s of recording


def true_filters():
    lags = np.arange(STIM_LAGS)
    stimulus = 0.6 * np.exp(-lags / 3.0) * np.sin(lags / 2.0 + 0.8)  # biphasic
    history = -1.5 * np.exp(-np.arange(1, HIST_LAGS + 1) / 2.0)  # refractory
    return stimulus, history, -3.0  # baseline: e^-3 ~ 0.05 spikes per bin


def lagged(signal, n_lags, first_lag):
    """Columns signal[t - first_lag - k] for k = 0..n_lags-1 (zeros before the start)."""
    padded = np.concatenate([np.zeros(n_lags + first_lag - 1), signal])
    windows = np.lib.stride_tricks.sliding_window_view(padded, n_lags)[: len(signal)]
    return windows[:, ::-1]


def simulate_neuron(key):
    stim_filter, hist_filter, baseline = true_filters()
    stim_key, spike_key = jax.random.split(key)
    stimulus = np.asarray(jax.random.normal(stim_key, (N_BINS,)))
    drive = lagged(stimulus, STIM_LAGS, 0) @ stim_filter + baseline

    # Spikes feed back through the history filter, so simulate bin by bin with lax.scan.
    def step(past, inputs):
        drive_t, key_t = inputs
        rate = jnp.exp(drive_t + past @ hist_filter)
        spike = jax.random.poisson(key_t, rate).astype(drive_t.dtype)
        return jnp.concatenate([spike[None], past[:-1]]), spike

    keys = jax.random.split(spike_key, N_BINS)
    _, spikes = jax.lax.scan(step, jnp.zeros(HIST_LAGS), (jnp.asarray(drive), keys))
    return stimulus, np.asarray(spikes)


def main():
    stimulus, spikes = simulate_neuron(jax.random.key(0))
    X = {"stimulus": lagged(stimulus, STIM_LAGS, 0), "history": lagged(spikes, HIST_LAGS, 1)}
    print(
        f"Simulated {N_BINS} bins, {int(spikes.sum())} spikes "
        f"({spikes.mean() * 1000:.1f} Hz at 1 ms bins)."
    )

    model = glmx.GLM(glmx.Poisson(), glmx.Ridge(1e-4))
    start = time.perf_counter()
    model, result = glmx.fit(model, X, spikes)
    jax.block_until_ready(model.coef)
    elapsed = time.perf_counter() - start

    print(f"\nFit: {result.message}")
    print(
        f"     {int(result.num_steps)} L-BFGS steps, {elapsed:.2f} s including compilation, "
        f"optimality {float(result.optimality):.1e}"
    )

    stim_filter, hist_filter, baseline = true_filters()
    print("\nStimulus filter        true   fitted")
    for lag, (t, f) in enumerate(zip(stim_filter, np.asarray(model.coef["stimulus"]))):
        print(f"  lag {lag:2d} ms          {t:+.3f}   {f:+.3f}")
    print("Spike-history filter   true   fitted")
    for lag, (t, f) in enumerate(zip(hist_filter, np.asarray(model.coef["history"])), start=1):
        print(f"  lag {lag:2d} ms          {t:+.3f}   {f:+.3f}")
    print(f"Baseline (intercept)   {baseline:+.3f}   {float(model.intercept):+.3f}")

    mcfadden = model.score(X, spikes, score_type="pseudo-r2-McFadden")
    cohen = model.score(X, spikes, score_type="pseudo-r2-Cohen")
    print(
        f"\nPseudo-R2: McFadden {float(mcfadden):.3f}, Cohen (deviance explained) "
        f"{float(cohen):.3f}"
    )
    simulated, rate = model.simulate(jax.random.key(1), X)
    print(
        f"Mean rate: data {spikes.mean():.4f}, model {float(rate.mean()):.4f}, "
        f"one simulated draw {float(simulated.mean()):.4f} spikes/bin"
    )
    return model, result


if __name__ == "__main__":
    main()
