"""A single neuron's encoding model from spike times.

A neuron is recorded for 2 minutes while a flickering stimulus plays. Starting from what a
recording gives (spike times and a stimulus, as pynapple objects), we bin the spikes, describe
the stimulus filter and the spike-history filter with raised-cosine bases, and fit a Poisson GLM
with and without spike history. The two models are compared on held-out data (McFadden
pseudo-R2) and by a likelihood-ratio test, the fitted filters are plotted with their 95%
confidence bands, and the model-based standard errors are checked against robust and
trial-clustered ones.
"""

# %% [markdown]
# ## The recording
#
# We need a neuron whose true filters we know, so the recording is simulated: 40 trials of 3 s,
# back to back. A full-field stimulus flickers at 100 Hz: every 10 ms it takes a new, random
# luminance (mean 0, standard deviation 1). The neuron's log firing rate is a baseline, plus the
# stimulus of the last 200 ms weighted by a *stimulus filter* (nothing for 10 ms, an excitatory
# lobe around 40 ms, a weaker inhibitory one around 90 ms), plus its own spikes of the last 80 ms
# weighted by a *spike-history filter* (a refractory period of a few ms, then a small rebound).
#
# Both filters are written as weights on the bases we fit with below, so that the fit can
# recover them exactly. Spikes feed back on the rate, so they are drawn one 1 ms bin at a time:
# `glmx.simulate_recurrent` runs the model forward and feeds each bin's spikes into the history
# of the next.

# %%
import pathlib

import jax
import matplotlib.pyplot as plt
import numpy as np
import pynapple as nap

import glmx

BIN = 0.001  # s: 1 ms bins
DURATION, FRAME, TRIAL = 120.0, 0.010, 3.0  # s: 2 min of 10 ms frames, in 3 s trials
STIM_WINDOW, HIST_WINDOW = 200, 80  # filter lengths, in bins (ms)

stim_basis = np.asarray(glmx.raised_cosine_log_basis(8, STIM_WINDOW, time_scaling=10.0))
hist_basis = np.asarray(glmx.raised_cosine_log_basis(6, HIST_WINDOW))
true_stim_weights = np.array([0.0, 0.0, 0.01, 0.03, 0.02, -0.015, -0.008, 0.0])
true_hist_weights = np.array([-3.0, -1.0, 0.3, 0.15, 0.0, 0.0])
true_stim_filter, true_hist_filter = stim_basis @ true_stim_weights, hist_basis @ true_hist_weights


def p_text(value) -> str:
    """A p-value as printed below."""
    value = float(value)
    return "p < 1e-10" if value < 1e-10 else f"p = {value:.2g}"


rng = np.random.default_rng(0)
n_frames, n_bins = round(DURATION / FRAME), round(DURATION / BIN)
frames = rng.standard_normal(n_frames)
stim_per_bin = np.repeat(frames, round(FRAME / BIN))  # the luminance on screen in each bin

true_model = glmx.PopulationGLM(
    glmx.Poisson(),
    n_neurons=1,
    coef={"history": true_hist_weights[None, :], "stimulus": true_stim_weights[None, :]},
    intercept=np.array([-3.2]),
)
run = glmx.simulate_recurrent(
    jax.random.key(0),
    true_model,
    hist_basis,
    np.zeros((HIST_WINDOW, 1)),
    {"stimulus": np.asarray(glmx.convolve_spikes(stim_per_bin, stim_basis))},
    coupling_key="history",
)
simulated_counts = np.asarray(run.spikes[:, 0]).astype(int)

# %% [markdown]
# What a recording gives is not counts in bins but spike times, and the stimulus as values at
# the times they were shown. We turn the simulation into exactly that: each spike gets a time
# drawn uniformly inside its 1 ms bin, and the stimulus becomes one sample per frame, at the
# frame's onset. From here on the analysis uses only these two pynapple objects, `spike_times`
# (a `Ts`) and `stimulus` (a `Tsd`), and the `recording` epoch, as it would with real data; the
# simulation comes back only to check the results against the truth.

# %%
recording = nap.IntervalSet(start=0.0, end=DURATION)
bin_of_spike = np.repeat(np.arange(n_bins), simulated_counts)
spike_times = nap.Ts(
    t=np.sort((bin_of_spike + rng.uniform(size=bin_of_spike.size)) * BIN),
    time_support=recording,
)
stimulus = nap.Tsd(t=np.arange(n_frames) * FRAME, d=frames, time_support=recording)

print(
    f"{len(spike_times)} spikes in {DURATION:.0f} s ({len(spike_times) / DURATION:.1f} Hz); "
    f"first spike times (s): {np.round(spike_times.t[:4], 4)}"
)
print(f"{len(stimulus)} stimulus frames, one every {FRAME * 1000:.0f} ms")

# %% [markdown]
# ## From spike times to a design
#
# A GLM of spike counts needs the spikes binned, and the stimulus on the same bins. Bins of
# 1 ms are short enough that the refractory period shows in the history filter. `count` bins
# the spike times; `value_from(..., mode="before")` gives each bin the last frame shown before
# its centre, i.e. the luminance on screen during that bin. Both come back as `Tsd` on the same
# bin centres.

# %%
counts = spike_times.count(BIN, ep=recording)
stim_binned = counts.value_from(stimulus, mode="before")
print(f"{len(counts)} bins of {BIN * 1000:.0f} ms; max {int(counts.max())} spikes in one bin")
print(
    "Binned spikes and stimulus equal the simulation's: "
    f"{np.array_equal(counts.values, simulated_counts)} and "
    f"{np.array_equal(stim_binned.values, stim_per_bin)}"
)

# %% [markdown]
# A filter with one weight per lag would need 200 stimulus weights and 80 history weights, each
# estimated from few spikes, and the fit would be noisy. Instead each filter is a weighted sum
# of a few smooth bumps, *raised cosines*, narrow at short lags (where a refractory period
# changes quickly) and broad at long lags: 8 for the stimulus over 200 ms and 6 for the history
# over 80 ms. `time_scaling=10` spaces the stimulus bumps more evenly than the default, since a
# stimulus filter changes about as fast at 100 ms as at 10 ms.
#
# Fitting the filters then means fitting the weights of the bumps: each regressor is the
# stimulus (or the spike train) convolved with one bump. `glmx.convolve_spikes` does the
# convolution causally: the row of bin *t* uses bins *t - 1*, *t - 2*, ... only, never bin *t*
# itself, which would let a spike predict itself. (It takes any signal, not only spikes.) The
# convolution runs on the whole recording, so the first bins of a trial see the end of the
# previous one; the regressors are wrapped as `TsdFrame` on the bins' time so that pynapple can
# cut them into epochs.

# %%
features = {
    "stimulus": nap.TsdFrame(
        t=counts.t,
        d=np.asarray(glmx.convolve_spikes(stim_binned.values, stim_basis)),
        time_support=recording,
    ),
    "history": nap.TsdFrame(
        t=counts.t,
        d=np.asarray(glmx.convolve_spikes(counts.values.astype(float), hist_basis)),
        time_support=recording,
    ),
}


def design(epoch, blocks):
    """The regressors in ``blocks`` and the spike counts, restricted to ``epoch``."""
    X = {name: features[name].restrict(epoch).values for name in blocks}
    return X, counts.restrict(epoch).values.astype(float)


# %% [markdown]
# The first 80% of the recording is for fitting, the last 20% is held out to compare the models
# on data neither has seen. `split` cuts the training epoch into its 3 s trials, and
# `in_interval` labels each bin with its trial, for the cluster-robust standard errors at the
# end.

# %%
train = nap.IntervalSet(start=0.0, end=0.8 * DURATION)
test = nap.IntervalSet(start=0.8 * DURATION, end=DURATION)
trials = train.split(TRIAL)
trial_of_bin = trials.in_interval(counts.restrict(train)).astype(int)
print(
    f"Training: {train.tot_length():.0f} s in {len(trials)} trials "
    f"({int(counts.restrict(train).sum())} spikes); "
    f"held out: {test.tot_length():.0f} s ({int(counts.restrict(test).sum())} spikes)"
)

# %% [markdown]
# ## Two models
#
# The stimulus-only model predicts the rate from the stimulus alone; the full model adds the
# spike history. Both are unpenalised Poisson GLMs with a log link, fitted on the training
# epoch. The stimulus-only model is nested in the full one (it is the full model with the
# history weights at zero), which is what the likelihood-ratio test below needs.

# %%
X_train, y_train = design(train, ["stimulus", "history"])
X_train_stim, _ = design(train, ["stimulus"])

stim_only, stim_result = glmx.fit(glmx.GLM(glmx.Poisson()), X_train_stim, y_train)
full, full_result = glmx.fit(glmx.GLM(glmx.Poisson()), X_train, y_train)
print(f"Stimulus only:       {stim_result.message}")
print(f"Stimulus + history:  {full_result.message}")

# %% [markdown]
# ## Does spike history improve the model?
#
# McFadden's pseudo-R2 is 1 - log L(model) / log L(constant rate): 0 for a model no better
# than the mean rate, higher is better. Computed on the held-out 24 s, it cannot be raised by
# overfitting. The likelihood-ratio test asks, on the training data, whether the drop in
# deviance from adding the 6 history weights is larger than chance: under the stimulus-only
# model it follows a chi-squared distribution with 6 degrees of freedom. The Wald test asks
# the same question from the full model alone, using the covariance of its history weights.
# AIC (lower is better) trades the gain in likelihood against the extra parameters.

# %%
X_test, y_test = design(test, ["stimulus", "history"])
X_test_stim, _ = design(test, ["stimulus"])
r2_stim = float(stim_only.score(X_test_stim, y_test, score_type="pseudo-r2-McFadden"))
r2_full = float(full.score(X_test, y_test, score_type="pseudo-r2-McFadden"))
print("Held-out McFadden pseudo-R2:")
print(f"  stimulus only       {r2_stim:.4f}")
print(f"  stimulus + history  {r2_full:.4f}")

info_stim = glmx.inference(stim_only, X_train_stim, y_train)
info = glmx.inference(full, X_train, y_train)
lr = glmx.likelihood_ratio_test(info_stim, info)
print(
    f"\nLikelihood-ratio test, history filter = 0: chi2 = {float(lr.statistic):.1f} on "
    f"{float(lr.df):.0f} df, {p_text(lr.p_value)}"
)
wald = info.wald_test("history")
print(
    f"Wald test, history filter = 0:            chi2 = {float(wald.statistic):.1f} on "
    f"{float(wald.df):.0f} df, {p_text(wald.p_value)}"
)
print(f"AIC: stimulus only {float(info_stim.aic):.1f}, stimulus + history {float(info.aic):.1f}")

# %% [markdown]
# History wins on every count: the held-out pseudo-R2 is higher, and both tests reject a flat
# history filter by a wide margin (the refractory period alone makes that certain). The two
# statistics agree only near the null; this far from it they differ (the Wald statistic is a
# quadratic approximation around the fitted weights), but both are enormous. Note how small
# both pseudo-R2 are: at 1 ms most bins hold no spike whatever the rate, so even the true
# model explains only a small part of the log-likelihood. Compare models by pseudo-R2; do not
# read it as a fraction of variance explained.
#
# ## The coefficient table
#
# `glmx.inference` returns the estimates with their standard errors, z statistics, p-values
# and 95% intervals, under the model's own assumptions (the model-based covariance, the default
# `cov_type="nonrobust"`).

# %%
print(info.summary())

# %% [markdown]
# Each row is the weight of one bump, and a single bump's weight says little: neighbouring
# bumps overlap, so their weights are correlated and trade off against each other. What has a
# meaning is the filter, `basis @ weights`, and what one wants is its confidence band at each
# lag. `Inference.filter_band` computes both: the band is the filter plus or minus 1.96
# standard errors, where the standard error at each lag comes from the whole covariance of the
# block's weights, `sqrt(diag(B C B^T))`, correlations included.
#
# ## The filters and their bands

# %%
stim_lags, hist_lags = np.arange(1, STIM_WINDOW + 1), np.arange(1, HIST_WINDOW + 1)
stim_fit, stim_low, stim_high = (
    np.asarray(a) for a in info.filter_band(stim_basis, block="stimulus")
)
hist_fit, hist_low, hist_high = (
    np.asarray(a) for a in info.filter_band(hist_basis, block="history")
)
for name, true_filter, low, high in [
    ("Stimulus", true_stim_filter, stim_low, stim_high),
    ("History", true_hist_filter, hist_low, hist_high),
]:
    inside = np.mean((low <= true_filter) & (true_filter <= high))
    print(f"{name} filter: the 95% band holds the true filter at {inside:.0%} of the lags.")

# %% [markdown]
# The band is pointwise: at each lag it holds the true value with probability 95%, so it
# should miss at about 5% of the lags. Because neighbouring lags share the same few weights,
# the misses come in runs rather than scattered (for the stimulus filter here, a run in its
# tail), and a run of misses alone is no sign of a wrong model.

# %%
fig, ax = plt.subplots(figsize=(6, 3.6))
ax.fill_between(stim_lags, stim_low, stim_high, color="C0", alpha=0.3, label="95% band")
ax.plot(stim_lags, stim_fit, color="C0", label="fitted")
ax.plot(stim_lags, true_stim_filter, "k--", label="true")
ax.axhline(0.0, color="0.7", lw=0.8)
ax.set(xlabel="lag (ms)", ylabel="stimulus filter (log-rate per unit, per ms)")
ax.legend()
fig.tight_layout()
fig.savefig(pathlib.Path(__file__).parent / "encoding_model_stimulus.png", dpi=110)

# %% [markdown]
# ![The stimulus filter: the fit (blue) with its 95% band and the true filter (dashed), against
# the lag since the stimulus. The fit follows the true filter closely: no response for the
# first 10 ms, excitation peaking near 40 ms, then a weaker inhibition around 90 ms. The band
# is widest at the shortest lags, where the bumps are narrowest and so each sums the least
# stimulus.](encoding_model_stimulus.png)
#
# The history filter spans a log-rate of -3 at 1 ms and about +0.3 near 8 ms, so it is plotted
# twice: whole, and from 4 ms on, where the rebound is. Lags are on a log axis, as the bumps
# are.

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 4))
for ax, (first, low, high) in zip(axes, [(1, -4.0, 1.0), (4, -0.3, 0.45)]):
    shown = hist_lags >= first
    ax.fill_between(
        hist_lags[shown],
        hist_low[shown],
        hist_high[shown],
        color="C1",
        alpha=0.3,
        label="95% band",
    )
    ax.plot(hist_lags[shown], hist_fit[shown], color="C1", label="fitted")
    ax.plot(hist_lags[shown], true_hist_filter[shown], "k--", label="true")
    ax.axhline(0.0, color="0.7", lw=0.8)
    ax.set_xscale("log")
    ticks = [t for t in (1, 2, 5, 10, 20, 50) if t >= first]
    ax.set_xticks(ticks, [str(t) for t in ticks])
    ax.minorticks_off()
    ax.set_ylim(low, high)
    ax.set_xlabel("lag since the neuron's own spike (ms)")
axes[0].set_ylabel("history filter (log-rate)")
axes[0].set_title("whole filter")
axes[1].set_title("from 4 ms: the rebound")
axes[0].legend()
fig.tight_layout()
fig.savefig(pathlib.Path(__file__).parent / "encoding_model_history.png", dpi=110)

# %% [markdown]
# ![The spike-history filter with its 95% band (orange) and the true filter (dashed). Left:
# the whole filter, a deep refractory dip over the first 5 ms. Right: the same from 4 ms on,
# the rebound, whose band lies above zero from about 6 to 30 ms: then the neuron fires more
# readily than it would without its earlier spike.](encoding_model_history.png)
#
# ## Standard errors that do not trust the model
#
# The bands above rest on the model being right: Poisson counts, independent across bins once
# the rate is known. Two other covariances drop part of that. The sandwich ("HC0") keeps the
# mean model but not the Poisson variance; the cluster-robust one also lets bins of the same
# trial be correlated in ways the model misses (a slow drift of excitability, say), and treats
# the 32 trials as the independent units. When the model is right, as here, all three agree up
# to noise; with real data, standard errors that grow under `cov_type="cluster"` say that the
# model-based bands are too narrow.

# %%
robust = glmx.inference(full, X_train, y_train, cov_type="HC0")
clustered = glmx.inference(full, X_train, y_train, cov_type="cluster", groups=trial_of_bin)
print("Standard errors   model-based      HC0   cluster (trials)")
for name in ("stimulus[3]", "stimulus[5]", "history[0]", "history[2]", "intercept"):
    i = info.names.index(name)
    se = [float(record.std_errors[i]) for record in (info, robust, clustered)]
    print(f"  {name:13s}{se[0]:>12.3g}{se[1]:>10.3g}{se[2]:>10.3g}")

# %% [markdown]
# With a real recording, drop the simulation: load the spike times into a `Ts`, the stimulus
# into a `Tsd` and the recording's epoch into an `IntervalSet` (from an NWB file, for
# instance, with `nap.load_file`), and the cells from "From spike times to a design" on run as
# they are, less the lines that compare with the truth. The
# [inference page](../inference.md) says more about the covariance types, the tests and the
# bands.
