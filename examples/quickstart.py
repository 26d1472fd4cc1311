"""Quickstart: one neuron, a stimulus filter and spike history.

We simulate a neuron whose firing depends on a stimulus and on its own recent spikes, fit a
Poisson GLM to its spike counts, and check that the fit recovers the filters that made the
data. It is the smallest complete glmx program: a design, a model, a fit, and what to look at
afterwards.
"""

# %% [markdown]
# ## The neuron
#
# Time is cut into 1 ms bins. In each bin the neuron fires a Poisson number of spikes whose
# log-rate is a baseline, plus the stimulus of the last 12 ms weighted by a *stimulus filter*,
# plus the neuron's own spikes of the last 6 ms weighted by a *spike-history filter*. The
# stimulus filter is biphasic; the history filter is negative (a refractory period).

# %%
import pathlib

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np

import glmx

STIM_LAGS, HIST_LAGS = 12, 6
N_BINS = 30_000  # 1 ms bins: 30 s of recording

lags = np.arange(STIM_LAGS)
true_stimulus = 0.6 * np.exp(-lags / 3.0) * np.sin(lags / 2.0 + 0.8)  # biphasic
true_history = -1.5 * np.exp(-np.arange(1, HIST_LAGS + 1) / 2.0)  # refractory
true_baseline = -3.0  # e^-3 ~ 0.05 spikes per bin


def lagged(signal, n_lags, first_lag):
    """Columns signal[t - first_lag - k] for k = 0..n_lags-1 (zeros before the start)."""
    padded = np.concatenate([np.zeros(n_lags + first_lag - 1), signal])
    windows = np.lib.stride_tricks.sliding_window_view(padded, n_lags)[: len(signal)]
    return windows[:, ::-1]


# %% [markdown]
# Because each spike changes the rate of the next bins, the spikes are drawn bin by bin, with
# `jax.lax.scan` carrying the last 6 ms of spikes from one bin to the next.

# %%
stim_key, spike_key = jax.random.split(jax.random.key(0))
stimulus = np.asarray(jax.random.normal(stim_key, (N_BINS,)))
drive = lagged(stimulus, STIM_LAGS, 0) @ true_stimulus + true_baseline


def step(past, inputs):
    drive_t, key_t = inputs
    rate = jnp.exp(drive_t + past @ true_history)
    spike = jax.random.poisson(key_t, rate).astype(drive_t.dtype)
    return jnp.concatenate([spike[None], past[:-1]]), spike


keys = jax.random.split(spike_key, N_BINS)
_, spikes = jax.lax.scan(step, jnp.zeros(HIST_LAGS), (jnp.asarray(drive), keys))
spikes = np.asarray(spikes)
print(
    f"Simulated {N_BINS} bins, {int(spikes.sum())} spikes "
    f"({spikes.mean() * 1000:.1f} Hz at 1 ms bins)."
)

# %% [markdown]
# ## The design and the fit
#
# The design is a dict of blocks, one per filter: each row holds the stimulus of the last
# 12 ms and the spikes of the 6 ms before the bin (never the bin itself). The fitted model's
# coefficients come back as a dict with the same keys.
#
# A `glmx.GLM` holds the structure: a Poisson observation model (log link by default) and a
# small ridge penalty. `glmx.fit` returns a new, fitted model and a `FitResult` that says
# whether the solve converged; it never changes the model you pass in.

# %%
X = {"stimulus": lagged(stimulus, STIM_LAGS, 0), "history": lagged(spikes, HIST_LAGS, 1)}

model = glmx.GLM(glmx.Poisson(), glmx.Ridge(1e-4))
model, result = glmx.fit(model, X, spikes)

print(f"Fit: {result.message}")
print(f"     {int(result.num_steps)} steps, optimality {float(result.optimality):.1e}")

# %% [markdown]
# ## Did it recover the neuron?
#
# The data were simulated, so the fitted filters can be compared with the true ones.

# %%
fitted_stimulus = np.asarray(model.coef["stimulus"])
fitted_history = np.asarray(model.coef["history"])
print("Stimulus filter        true   fitted")
for lag, (t, f) in enumerate(zip(true_stimulus, fitted_stimulus)):
    print(f"  lag {lag:2d} ms          {t:+.3f}   {f:+.3f}")
print("Spike-history filter   true   fitted")
for lag, (t, f) in enumerate(zip(true_history, fitted_history), start=1):
    print(f"  lag {lag:2d} ms          {t:+.3f}   {f:+.3f}")
print(f"Baseline (intercept)   {true_baseline:+.3f}   {float(model.intercept):+.3f}")

fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
axes[0].plot(lags, true_stimulus, "k--", label="true")
axes[0].plot(lags, fitted_stimulus, "o-", color="C0", label="fitted")
axes[0].set(xlabel="lag (ms)", ylabel="weight on the log-rate", title="stimulus filter")
history_lags = np.arange(1, HIST_LAGS + 1)
axes[1].plot(history_lags, true_history, "k--", label="true")
axes[1].plot(history_lags, fitted_history, "o-", color="C1", label="fitted")
axes[1].set(xlabel="lag (ms)", title="spike-history filter")
for ax in axes:
    ax.axhline(0.0, color="0.8", lw=0.8)
axes[0].legend()
fig.tight_layout()
fig.savefig(pathlib.Path(__file__).parent / "quickstart_filters.png", dpi=110)

# %% [markdown]
# ![True (dashed) and fitted (dots) filters: the biphasic stimulus filter and the refractory
# spike-history filter are recovered from 30 s of data.](quickstart_filters.png)
#
# ## How good is the model?
#
# A pseudo-R2 compares the model's log-likelihood with that of a constant rate (McFadden) or
# the deviance it explains (Cohen). `model.simulate` draws new spike counts from the fitted
# model: its mean rate should match the data's.

# %%
mcfadden = model.score(X, spikes, score_type="pseudo-r2-McFadden")
cohen = model.score(X, spikes, score_type="pseudo-r2-Cohen")
print(f"Pseudo-R2: McFadden {float(mcfadden):.3f}, Cohen (deviance explained) {float(cohen):.3f}")
simulated, rate = model.simulate(jax.random.key(1), X)
print(
    f"Mean rate: data {spikes.mean():.4f}, model {float(rate.mean()):.4f}, "
    f"one simulated draw {float(simulated.mean()):.4f} spikes/bin"
)

# %% [markdown]
# Next: [an encoding model from spike times](encoding_model.md), with standard errors, or the
# [Getting started](../getting-started.md) page for what happens when a fit compiles, float32
# against float64, and how to read a convergence warning.
