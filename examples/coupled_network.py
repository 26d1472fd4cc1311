"""A coupled network: twelve neurons that drive each other.

We build a network of 12 neurons whose rates depend on a shared stimulus and on each other's
recent spikes, simulate 40 s of its spiking, fit one Poisson GLM per neuron with
`glmx.PopulationGLM`, and check that the fit recovers the coupling filters. Then we run the
fitted network on its own, feeding back its own spikes, and compare its firing with the data.
"""

# %% [markdown]
# ## The network
#
# Time is cut into 1 ms bins. In each bin, neuron $k$ fires a Poisson number of spikes whose
# log-rate is a baseline, plus a weighted sum of two stimulus channels, plus the recent spikes
# of every neuron $j$ (itself included) passed through a *coupling filter* $h_{kj}$ that
# spans the last 60 ms:
#
# $$
# \log \lambda_k(t) = b_k + w_k \cdot s(t) + \sum_j \sum_{\tau=1}^{60} h_{kj}(\tau)\, n_j(t - \tau)
# $$
#
# A filter with 60 free lags per pair would be 8,640 coupling weights for 12 neurons. Instead,
# each filter is a combination of 4 raised-cosine bumps on a logarithmic time axis: narrow
# near lag 1, where refractoriness and fast synaptic effects change quickly, and wide far
# back, where the filters are smooth. Each filter is then 4 numbers.

# %%
import pathlib

import jax
import matplotlib.pyplot as plt
import numpy as np

import glmx

NEURONS, N_BASIS, WINDOW, STEPS = 12, 4, 60, 40_000  # 1 ms bins: 40 s

basis = glmx.raised_cosine_log_basis(N_BASIS, WINDOW)  # (lags, bumps)
print(f"Basis: {N_BASIS} bumps over lags 1-{WINDOW} ms, peaking at lags", end=" ")
print(", ".join(f"{lag}" for lag in np.argmax(np.asarray(basis), axis=0) + 1), "ms.")

# %% [markdown]
# The true network has three ingredients:
#
# - every neuron inhibits itself after a spike: a refractory self-filter, $-2$ at lag 1
#   (the rate drops to $e^{-2}$, 14% of its baseline) and fading out over the 60 ms;
# - a quarter of the ordered pairs are connected, 60% of them excitatory: the filter peaks
#   at 4 ms and then decays slowly, with a peak strength drawn between 0.3 and 0.8;
# - each neuron has a baseline of 10-30 spikes/s and its own weights on the two stimulus
#   channels.
#
# We write the truth as a `glmx.PopulationGLM` with given coefficients, so that the same
# object can drive the simulation and be compared with the fit. Its coupling block has, for
# neuron $k$, the 4 weights of each of the 12 filters onto it: 48 numbers.

# %%
rng = np.random.default_rng(0)


def true_network(rng):
    """Sparse excitatory/inhibitory couplings, refractory self-history, a stimulus drive."""
    coupling = np.zeros((NEURONS, NEURONS, N_BASIS))  # (onto k, from j, bump)
    connected = rng.random((NEURONS, NEURONS)) < 0.25
    for k in range(NEURONS):
        for j in range(NEURONS):
            if k == j:
                coupling[k, j] = [-2.0, -1.0, -0.3, 0.0]  # refractory
            elif connected[k, j]:
                sign = 1.0 if rng.random() < 0.6 else -1.0
                coupling[k, j] = sign * rng.uniform(0.3, 0.8) * np.array([0.2, 1.0, 0.6, 0.1])
    coef = {
        "coupling": coupling.reshape(NEURONS, NEURONS * N_BASIS),
        "stimulus": rng.normal(size=(NEURONS, 2)) * 0.3,
    }
    intercept = np.log(rng.uniform(0.01, 0.03, size=NEURONS))  # 10-30 Hz
    return glmx.PopulationGLM(glmx.Poisson(), n_neurons=NEURONS, coef=coef, intercept=intercept)


def filters(model):
    """The coupling filters (onto k, from j, lag) of a model: each is basis @ its 4 weights."""
    weights = np.asarray(model.coef["coupling"]).reshape(NEURONS, NEURONS, N_BASIS)
    return np.einsum("wb,kjb->kjw", np.asarray(basis), weights)


truth = true_network(rng)
true_f = filters(truth)
peak = np.take_along_axis(true_f, np.abs(true_f).argmax(axis=2)[..., None], axis=2)[..., 0]
others = ~np.eye(NEURONS, dtype=bool)
print(
    f"{np.sum(peak[others] > 0)} excitatory and {np.sum(peak[others] < 0)} inhibitory "
    f"connections among the {others.sum()} ordered pairs of distinct neurons."
)

# %% [markdown]
# ## Simulating the network
#
# A spike changes the rates of every neuron for the next 60 ms, so the spikes must be drawn
# bin by bin: `glmx.simulate_recurrent` rebuilds the coupling features from the last 60 ms
# of the network's own spikes at each step, draws new counts, and moves on (one
# `jax.lax.scan`). It needs the spikes before the first step (here none) and the
# feedforward inputs, two channels of white-noise stimulus.

# %%
stimulus = rng.normal(size=(STEPS, 2))
init = np.zeros((WINDOW, NEURONS))  # no spikes before the recording
data = glmx.simulate_recurrent(jax.random.key(0), truth, basis, init, {"stimulus": stimulus})
spikes = np.asarray(data.spikes)  # (bins, neurons)
print(
    f"Simulated {NEURONS} neurons for {STEPS} ms: {int(spikes.sum())} spikes, "
    f"{spikes.mean(0).min() * 1000:.0f}-{spikes.mean(0).max() * 1000:.0f} Hz."
)

# %% [markdown]
# The stimulus and the coupling move the rates away from the 10-30 Hz baselines. Here are the
# wiring and one second of the recording.

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 4), gridspec_kw={"width_ratios": [1, 2.2]})
ax = axes[0]
shown = np.where(others, peak, np.nan)  # the self-filters are all the same dip; leave them out
cmap = plt.get_cmap("RdBu_r").with_extremes(bad="0.85")
image = ax.imshow(shown, cmap=cmap, vmin=-0.8, vmax=0.8)
ax.set(xlabel="from neuron", ylabel="onto neuron", title="coupling filter peak")
ax.set_xticks(range(0, NEURONS, 2))
ax.set_yticks(range(0, NEURONS, 2))
fig.colorbar(image, ax=ax, shrink=0.8, label="log-gain")
ax = axes[1]
t, n = np.nonzero(spikes[:1000])
ax.scatter(t, n, marker="|", s=30, color="k")
ax.set(xlabel="time (ms)", ylabel="neuron", title="simulated spikes, first second")
ax.set_yticks(range(0, NEURONS, 2))
fig.tight_layout()
fig.savefig(pathlib.Path(__file__).parent / "coupled_network_data.png", dpi=90)

# %% [markdown]
# ![Left: the true wiring, each square the peak of the filter from one neuron (column) onto
# another (row), red excitatory, blue inhibitory, white unconnected; the grey diagonal is the
# refractory self-filter. Right: one second of the simulated spikes of the 12
# neurons.](coupled_network_data.png)
#
# ## The design and the fit
#
# The features are the same for every neuron: `glmx.convolve_spikes` filters each neuron's
# spike train with each basis bump, and row $t$ uses only the spikes at $t-1, \dots, t-60$,
# never bin $t$ itself. That gives 12 x 4 = 48 coupling columns; with the 2 stimulus columns,
# each neuron's GLM has 50 features and an intercept.
#
# `glmx.PopulationGLM` fits the 12 GLMs at once: one design `X` shared by all neurons, one
# column of `spikes` per neuron, and a single compiled solve vectorised over neurons, each
# stopping on its own convergence criterion. A small ridge penalty keeps the weights of
# rarely active features finite.

# %%
design = {"coupling": glmx.convolve_spikes(spikes, basis), "stimulus": stimulus}
print({name: block.shape for name, block in design.items()})

model = glmx.PopulationGLM(glmx.Poisson(), glmx.Ridge(1e-5), n_neurons=NEURONS)
model, result = glmx.fit(model, design, spikes)
n_features = sum(block.shape[1] for block in design.values())
print(f"Fit {NEURONS} GLMs ({n_features} features each): {result.message}.")

# %% [markdown]
# ## Did it recover the coupling?
#
# The fitted filters are the basis times the fitted weights, as for the truth. We measure
# each of the 144 filters' error as its root-mean-square difference from the true filter
# over the 60 lags, in units of log-gain (0.1 is about a 10% change of the rate).

# %%
fit_f = filters(model)
rms = np.sqrt(np.mean((true_f - fit_f) ** 2, axis=2))  # one number per (onto, from) filter
worst_k, worst_j = np.unravel_index(np.argmax(rms), rms.shape)
worst_lag = np.argmax(np.abs(true_f - fit_f)[worst_k, worst_j]) + 1
self_filters = np.eye(NEURONS, dtype=bool)
print(
    f"Coupling filters ({NEURONS}x{NEURONS}): RMS error median {np.median(rms):.3f}, "
    f"worst {rms.max():.3f} (the filters reach {np.abs(true_f).max():.1f})."
)
print(
    f"Median RMS error: self-filters {np.median(rms[self_filters]):.3f}, "
    f"between neurons {np.median(rms[~self_filters]):.3f}."
)
if worst_k == worst_j:
    # Spikes of the neuron in the 5 ms after each of its spikes: observed, and expected from
    # the true rates of the simulation.
    after = sum(np.roll(spikes[:, worst_k], -lag) for lag in range(1, 6))[:-5]
    expected = sum(np.roll(np.asarray(data.rates)[:, worst_k], -lag) for lag in range(1, 6))[:-5]
    weight = spikes[:-5, worst_k]
    print(
        f"The worst is the self-filter of neuron {worst_k} ({spikes[:, worst_k].mean() * 1000:.0f}"
        f" Hz), off most at lag {worst_lag} ms.\nSpikes within 5 ms after one of its spikes: "
        f"{int(weight @ after)}, where the true network expects {weight @ expected:.1f}."
    )
else:
    print(f"The worst is the filter from neuron {worst_j} onto {worst_k}, at lag {worst_lag} ms.")

show = [0, 3, 4, 5, 7]  # five neurons with excitatory and inhibitory links among them
fig, axes = plt.subplots(len(show), len(show), figsize=(10, 8), sharex=True, sharey=True)
lags = np.arange(1, WINDOW + 1)
for row, k in enumerate(show):
    for col, j in enumerate(show):
        ax = axes[row, col]
        ax.axhline(0, color="0.85", lw=0.8)
        ax.plot(lags, true_f[k, j], "k", lw=1.5, label="true")
        ax.plot(lags, fit_f[k, j], "r--", lw=1.2, label="recovered")
        if row == len(show) - 1:
            ax.set_xlabel(f"lag (ms)\nfrom {j}")
        if col == 0:
            ax.set_ylabel(f"onto {k}")
axes[0, 0].legend(fontsize=7)
fig.suptitle("Coupling filters (log-gain): true vs recovered")
fig.tight_layout()
fig.savefig(pathlib.Path(__file__).parent / "coupled_network_filters.png", dpi=90)

# %% [markdown]
# ![The coupling filters among five of the neurons, true (black) and recovered (red dashed):
# row k holds the filters onto neuron k, column j those from neuron j. The refractory dips on
# the diagonal, the excitatory and inhibitory connections and the flat unconnected pairs are
# recovered, up to small wiggles; the clear miss is the first milliseconds of neuron 7's dip
# (bottom right).](coupled_network_filters.png)
#
# The self-filters are recovered less well than the couplings between neurons, and the worst
# error is at the first milliseconds of a slow neuron's self-filter. The depth of a refractory
# dip is learned from the spikes that fall just after the neuron's own spikes, and a slow
# neuron has only a handful of them. With so few, chance matters: this neuron happened to fire
# less than half as often right after its own spikes as the true network predicts, and the fit
# explains the shortfall with a deeper dip.
#
# ## Does the fitted network behave like the data?
#
# McFadden's pseudo-R2 compares each neuron's log-likelihood with that of a constant rate.
# At 1 ms most bins are empty and whether a spike falls in one bin or the next is mostly
# chance, so values of a few percent are typical, and the true network itself scores no
# better on these data. The fit scores a little above the truth on the data it was fitted
# to: with 50 free weights per neuron it also fits some of the noise.

# %%
r2 = np.asarray(model.score(design, spikes, "pseudo-r2-McFadden", aggregate="none"))
r2_true = np.asarray(truth.score(design, spikes, "pseudo-r2-McFadden", aggregate="none"))
print("Pseudo-R2 (McFadden) per neuron")
print("  fitted:       " + " ".join(f"{v:.3f}" for v in r2))
print("  true network: " + " ".join(f"{v:.3f}" for v in r2_true))

# %% [markdown]
# A good score says the model predicts the next bin from the *recorded* past. A stricter test
# is to let the fitted network run on its own: `simulate_recurrent` with the fitted model,
# the same stimulus and a new random key, feeding back its own spikes. Small errors in the
# coupling can compound in such a closed loop and drive a network to silence or to runaway
# firing; a good fit gives back the data's rates.

# %%
resim = glmx.simulate_recurrent(jax.random.key(1), model, basis, init, {"stimulus": stimulus})
resim_spikes = np.asarray(resim.spikes)
data_rate, sim_rate = spikes.mean(0) * 1000, resim_spikes.mean(0) * 1000
print("Firing rates (Hz), data vs fitted network simulated on its own:")
print("  data: " + " ".join(f"{r:5.1f}" for r in data_rate))
print("  sim:  " + " ".join(f"{r:5.1f}" for r in sim_rate))

fig, axes = plt.subplots(2, 1, figsize=(10, 5), sharex=True)
span = slice(0, 2000)
for ax, counts, title in (
    (axes[0], spikes, "data"),
    (axes[1], resim_spikes, "fitted network, simulated"),
):
    t, n = np.nonzero(counts[span])
    ax.scatter(t, n, marker="|", s=30, color="k")
    ax.set_ylabel("neuron")
    ax.set_yticks(range(0, NEURONS, 2))
    ax.set_title(title)
axes[1].set_xlabel("time (ms)")
fig.tight_layout()
fig.savefig(pathlib.Path(__file__).parent / "coupled_network_raster.png", dpi=90)

# %% [markdown]
# ![The first two seconds of the data (top) and of the fitted network simulated on its own
# with the same stimulus (bottom). The spikes differ one by one, since they are separate random
# draws, but each neuron keeps its rate and its irregular firing, and no neuron falls silent
# or runs away.](coupled_network_raster.png)
#
# Next: [a single neuron's encoding model](encoding_model.md), for confidence bands on
# filters like these, or [choosing the penalty strength](choose_strength.md).
