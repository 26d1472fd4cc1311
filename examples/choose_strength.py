"""Choosing a Lasso strength by cross-validation.

A neuron is driven by a stimulus and by one of eight other recorded neurons, and the design
holds the stimulus and all eight neurons' spike histories: 44 correlated columns, most of them
irrelevant. One call to `glmx.cross_validate` fits the whole Lasso path on five blocks of the
recording and on all of it; we compare the best strength, the one-standard-error strength and
no penalty on a final minute that the cross-validation never saw.
"""

# %% [markdown]
# ## The recording
#
# Time is cut into 10 ms bins: 4 minutes to choose and fit the model on, then 1 minute held
# back to judge the choice. The neuron's log-rate is a baseline, plus a slow noise stimulus
# seen through a 600 ms filter (fast positive lobe, slower negative one), plus the spikes of
# one other neuron (neuron 0) over the last 600 ms.
#
# Eight other neurons are recorded, and all eight fire with a slow shared drive, so their
# spike counts are correlated with each other. Only neuron 0 affects our neuron, but the
# histories of the other seven carry a little of the same information as neuron 0's, which
# makes them tempting inputs for a model that is offered all eight.

# %%
import pathlib

import matplotlib.pyplot as plt
import numpy as np

import glmx

N_TRAIN, N_TEST = 24_000, 6_000  # 10 ms bins: 4 min to choose and fit, then 1 min held out
LAGS, OTHERS = 60, 8  # filters span 60 bins (600 ms); 8 other recorded neurons

rng = np.random.default_rng(0)
n = N_TRAIN + N_TEST
stimulus = np.convolve(rng.normal(size=n), np.ones(5) / 5, mode="same")  # slow noise
latent = np.convolve(rng.normal(size=n), np.ones(200) / 14, mode="same")  # shared slow drive
others = rng.poisson(np.exp(-2.5 + 0.8 * latent[:, None] + 0.3 * rng.normal(size=(n, OTHERS))))
print(f"Other neurons' rates (spikes/s): {np.round(others.mean(axis=0) * 100, 1)}")
pairs = np.corrcoef(others.T)[np.triu_indices(OTHERS, 1)]
print(f"Correlations of their spike counts per bin: {pairs.min():.2f} to {pairs.max():.2f}")

# %% [markdown]
# ## The design: 44 columns on raised-cosine bases
#
# Rather than one column per lag (60 for the stimulus and 60 per neuron), each filter is a
# weighted sum of a few raised-cosine bumps that are narrow at short lags and wide at long
# ones: 12 bumps for the stimulus and 4 per neuron. `glmx.convolve_spikes` filters each
# signal with each bump, using only bins before the current one. The design is a dict of two
# blocks; the fitted coefficients come back as a dict with the same keys.
#
# The true stimulus filter acts on the stimulus from one bin back, as the design does. The
# condition number of the centred design (largest over smallest singular value) measures how
# correlated its columns are: in the thousands, the unpenalised fit has directions in which
# the data hardly constrain the coefficients.

# %%
stim_basis = np.asarray(glmx.raised_cosine_log_basis(12, LAGS))
spike_basis = np.asarray(glmx.raised_cosine_log_basis(4, LAGS))
stim_features = np.asarray(glmx.convolve_spikes(stimulus[:, None], stim_basis))
coupling = np.asarray(glmx.convolve_spikes(others.astype(float), spike_basis))  # (n, 8 x 4)

lags = np.arange(LAGS)
true_filter = 0.6 * np.exp(-lags / 8) - 0.4 * np.exp(-lags / 20)
stim_drive = np.convolve(stimulus, true_filter)[:n]
stim_drive = np.concatenate([[0.0], stim_drive[:-1]])  # causal: the filter starts one bin back
# Neuron 0's spikes, through its first two bumps, are the only coupling (columns 0 and 1).
drive = -2.5 + stim_drive + 0.5 * coupling[:, 0] + 0.25 * coupling[:, 1]
spikes = rng.poisson(np.exp(drive)).astype(float)

X = {"stimulus": stim_features, "coupling": coupling}
design = np.concatenate([X[k] for k in sorted(X)], axis=1)
singular = np.linalg.svd(design - design.mean(0), compute_uv=False)
print(
    f"Design: {design.shape[0]} bins x {design.shape[1]} columns, "
    f"condition number {singular[0] / singular[-1]:.2g}, {int(spikes.sum())} spikes."
)

# %% [markdown]
# ## Cross-validating the Lasso path
#
# The Lasso penalty, strength times the sum of the coefficients' absolute values, sets weak
# coefficients exactly to zero, so the strength decides both how much the filters shrink and
# which columns stay in. `glmx.cross_validate` chooses it. It fits the model at 25 strengths,
# from the smallest one that zeroes every coefficient down by a factor of 10 000, on each of
# five folds and on all training rows, all in one compiled program.
#
# The folds are five contiguous blocks of the recording, not shuffled bins: neighbouring bins
# share most of their 600 ms of history, so a bin's neighbours would tell a shuffled fit much
# about it. For the same reason `gap=LAGS` leaves the 60 bins on either side of each test
# block out of that fold's training. Each fold's score is the mean log-likelihood per
# held-out bin.

# %%
train = {k: v[:N_TRAIN] for k, v in X.items()}
cv = glmx.cross_validate(
    glmx.GLM(glmx.Poisson(), glmx.Lasso()),
    train,
    spikes[:N_TRAIN],
    folds=5,
    gap=LAGS,
    n_strengths=25,
)
print(
    f"Path: {len(cv.strengths)} strengths from {cv.strengths[0]:.3g} down to "
    f"{cv.strengths[-1]:.3g}; all fits converged: {bool(np.all(cv.path.converged))}."
)
marks = {int(cv.best_index): "  <- best", int(cv.index_1se): "  <- 1 SE"}
print("\n  strength   CV log-likelihood (mean +- se)   non-zero")
for i in range(len(cv.strengths)):
    if i % 2 == 0 or i in marks:
        print(
            f"  {cv.strengths[i]:8.3g}   {cv.mean[i]:.5f} +- {cv.se[i]:.5f}"
            f"{cv.path.n_nonzero[i]:17d}{marks.get(i, '')}"
        )

# %% [markdown]
# Read the table from the top (it shows every other strength, and the two chosen ones). At
# the largest strength every coefficient is zero and the model predicts a constant rate. As
# the strength falls, columns enter and the held-out log-likelihood climbs; below about 0.003
# it stays level, to well within a standard error, while more and more columns enter.
#
# Two strengths are marked. The **best** strength has the highest mean score. The
# **one-standard-error (1 SE)** strength is the largest strength whose mean is within one
# standard error of the best: the sparsest model that the five folds cannot tell from the
# best one. The figure shows the same curve, and the path of every coefficient on all
# training rows.

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
cv.plot(axes[0])
axes[0].set_title("5-fold blocked CV (gap = 60 bins)")
cv.path.plot(axes[1])
axes[1].axvline(cv.best_strength, color="C0", ls="--")
axes[1].axvline(cv.strength_1se, color="C1", ls=":")
axes[1].set_title("Lasso path on all training rows")
fig.tight_layout()
fig.savefig(pathlib.Path(__file__).parent / "choose_strength.png", dpi=110)

# %% [markdown]
# ![Left: the mean held-out log-likelihood per bin over the five folds, with bars of one
# standard error, against the Lasso strength; it rises as the strength falls and levels
# off, with the best (dashed) and 1 SE (dotted) strengths marked. Right: each of the 44
# coefficients along the path fitted on all training rows; at large strengths all are zero,
# and columns enter one by one as the strength falls.](choose_strength.png)
#
# The error bars are wide compared with the differences along the plateau: the score varies
# more between blocks of the recording than between neighbouring strengths. That is why the
# 1 SE rule moves so far to the right of the best strength.
#
# ## Judging the choice on the held-out minute
#
# `cv.best_model` and `cv.model_1se` are the models fitted on all training rows at the two
# strengths. We score them, and the unpenalised fit, on the final minute, which played no
# part in choosing the strength.

# %%
best, one_se = cv.best_model, cv.model_1se
unpenalised, _ = glmx.fit(glmx.GLM(glmx.Poisson()), train, spikes[:N_TRAIN])
test = {k: v[N_TRAIN:] for k, v in X.items()}


def held_out_ll(model):
    return float(model.score(test, spikes[N_TRAIN:]))


print("choice         strength  non-zero  held-out log-likelihood (last minute)")
for name, model in (("best", best), ("1 SE", one_se), ("no penalty", unpenalised)):
    strength = float(np.ravel(model.regularizer.strength)[0]) if name != "no penalty" else 0.0
    nonzero = sum(int(np.count_nonzero(c)) for c in model.coef.values())
    print(f"{name:<12} {strength:10.3g}  {nonzero:8d}  {held_out_ll(model):.5f}")

# %% [markdown]
# The best strength keeps 28 of the 44 columns and predicts the last minute better than no
# penalty: shrinking the directions of the design that the data hardly constrain removes more
# variance than it adds bias. The 1 SE strength keeps 13 columns, but predicts the last minute
# worse than both. The differences look small because they are means per 10 ms bin; the
# minute has 6000 bins.
#
# ## What did the models keep?
#
# Each recorded neuron's coupling filter is four coefficients, and their Euclidean norm says
# how much of that neuron's history the model uses. The stimulus filter is the stimulus bumps
# weighted by their fitted coefficients, and can be compared with the true filter lag by lag.

# %%
print("Coupling filter norm per recorded neuron (the truth: neuron 0 only)")
print("  neuron     best     1 SE")
for k in range(OTHERS):
    best_norm, one_se_norm = (
        np.linalg.norm(np.asarray(m.coef["coupling"])[4 * k : 4 * k + 4]) for m in (best, one_se)
    )
    print(f"  {k:6d}  {best_norm:7.4f}  {one_se_norm:7.4f}")
kept = np.flatnonzero(np.abs(np.asarray(best.coef["coupling"])) > 0) // 4
print(
    f"Coupling kept by the best strength from neurons {sorted(set(kept.tolist()))} "
    "(the truth: neuron 0)."
)
kept_1se = np.flatnonzero(np.abs(np.asarray(one_se.coef["coupling"])) > 0) // 4
print(f"Coupling kept by the 1 SE strength from neurons {sorted(set(kept_1se.tolist()))}.")

true_coupling = 0.5 * spike_basis[:, 0] + 0.25 * spike_basis[:, 1]  # neuron 0's, lags 1..60
stim_fits = {
    name: stim_basis @ np.asarray(m.coef["stimulus"])
    for name, m in [("best", best), ("1 SE", one_se)]
}
coupling_fits = {
    name: spike_basis @ np.asarray(m.coef["coupling"])[:4]
    for name, m in [("best", best), ("1 SE", one_se)]
}
for name, fitted in stim_fits.items():
    error = np.sqrt(np.mean((fitted - true_filter) ** 2))  # row s - 1 is lag s in both
    print(f"Stimulus filter RMS error at the {name} strength: {error:.3f}")

# %% [markdown]
# Neuron 0's coupling filter dominates in both models. The best strength also keeps small
# weights on all seven other neurons: their histories carry a little of the same information
# as neuron 0's, and a strength chosen for prediction lets them in. The 1 SE strength drops
# most of them, but it also shrinks the filters that do matter: its stimulus filter is further
# from the truth. A Lasso chosen by cross-validation is a good predictor, not a reliable
# detector of which inputs are real; to ask whether a neuron's coupling is real, test its
# filter in an unpenalised fit (see [Inference](../inference.md)).

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 3.4))
lag_ms = 10 * np.arange(1, LAGS + 1)  # row s - 1 is lag s, that is 10 s ms
for ax, true, fits, title in (
    (axes[0], true_filter, stim_fits, "stimulus filter"),
    (axes[1], true_coupling, coupling_fits, "coupling filter from neuron 0"),
):
    ax.plot(lag_ms, true, "k--", label="true")
    ax.plot(lag_ms, fits["best"], color="C0", label="best strength")
    ax.plot(lag_ms, fits["1 SE"], color="C1", label="1 SE strength")
    ax.axhline(0.0, color="0.8", lw=0.8)
    ax.set(xlabel="lag (ms)", title=title)
axes[0].set_ylabel("weight on the log-rate")
axes[0].legend(frameon=False)
fig.tight_layout()
fig.savefig(pathlib.Path(__file__).parent / "choose_strength_filters.png", dpi=110)

# %% [markdown]
# ![True (dashed) and fitted filters at the best (blue) and 1 SE (orange) strengths. At the
# best strength both filters follow the truth. At the 1 SE strength the stimulus filter loses
# most of its fast positive lobe (the first 50 ms) and the coupling filter from neuron 0 is a
# little smaller at the shortest lags.](choose_strength_filters.png)
#
# ## In short
#
# - Fold by contiguous blocks, with a gap as long as the longest filter, when rows are time
#   bins.
# - The best strength is the one to use for prediction; here it beats no penalty on data the
#   cross-validation never saw. The 1 SE strength buys sparsity at a cost in prediction.
# - A non-zero Lasso coefficient is not evidence that an input is real.
#
# [Paths and cross-validation](../paths.md) has the details of the path, the folds and the
# scores; [Tuning strengths by gradient](tune_strength.md) chooses Ridge strengths without a
# grid.
