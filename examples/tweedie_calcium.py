"""A Tweedie GLM for calcium imaging: a stimulus filter from deconvolved activity.

Deconvolved calcium traces are exactly zero in most frames and positive, of variable size, in
the rest. The Tweedie (compound Poisson-Gamma) distribution describes such data. We simulate 10
minutes of a neuron driven by brief flashes, choose the Tweedie power by held-out
log-likelihood, fit the stimulus filter with `glmx.Tweedie`, and compare it, with its 95%
confidence band, with the filter that made the data.
"""

# %% [markdown]
# ## Deconvolved activity is not a spike count
#
# Deconvolution turns a fluorescence trace into an estimate of the activity in each frame.
# The result is zero in most frames and a positive, continuous amount in the others. Neither
# of the usual observation models fits: a Poisson model wants whole numbers, a Gamma model
# cannot produce a zero, and a Gaussian model ignores both the zeros and the fact that the
# spread of the activity grows with its mean.
#
# The Tweedie distribution with a power $p$ between 1 and 2 is built for such data. In each
# frame a Poisson number of events occurs (zero events give an exact zero), and each event
# adds a Gamma-distributed amplitude. The mean $\mu$ is what the GLM models, through a log
# link, and its variance is $\phi\,\mu^p$, with a dispersion $\phi$. The power decides how
# the mean is shared between how often events occur and how large they are. Near 1 the events
# all have about the same size and the activity is a scaled Poisson count; towards 2 the events
# become many and small, zeros become rare, and the activity is nearly Gamma-distributed.
#
# ## The simulated neuron
#
# The neuron is imaged at 30 frames per second for 10 minutes. In 4% of the frames a brief
# flash of random contrast appears; the log of the mean activity is a baseline plus the
# flashes of the last 1.5 s (45 frames) weighted by a *stimulus filter*. The filter is a
# combination of 6 raised-cosine bumps on a logarithmic time axis, narrow at short lags and
# wide at long ones; the true one rises fast, decays slowly and ends in a small undershoot.

# %%
import pathlib

import matplotlib.pyplot as plt
import numpy as np

import glmx

FPS, N_FRAMES, WINDOW, N_BASIS = 30, 18_000, 45, 6  # 10 min; the filter spans 1.5 s
POWER, SCALE, BASELINE = 1.4, 1.2, -2.3  # the true Tweedie power, dispersion and log-baseline

#: The true filter's weights on the basis: a fast rise, a slow decay, a small undershoot.
TRUE_WEIGHTS = np.array([0.2, 1.4, 1.1, 0.5, -0.1, -0.2])


def event_rate(mean, power, scale):
    """The Tweedie's expected number of events in a frame; no event (rate r) has probability
    exp(-r), and then the activity is exactly zero."""
    return mean ** (2 - power) / (scale * (2 - power))


basis = np.asarray(glmx.raised_cosine_log_basis(N_BASIS, WINDOW))  # (lags, bumps)
print(f"Basis: {N_BASIS} bumps over lags 1-{WINDOW} frames, peaking at frames", end=" ")
print(", ".join(f"{lag}" for lag in np.argmax(basis, axis=0) + 1) + ".")

# %% [markdown]
# The activity is drawn with NumPy from the recipe above (a Poisson number of events, then
# their summed Gamma amplitude) rather than with glmx, so that the fit is checked against an
# independent simulation. `glmx.convolve_spikes` builds the stimulus
# features: row $t$ holds the flashes at frames $t-1, \dots, t-45$ filtered by each bump.

# %%
rng = np.random.default_rng(0)
flashes = (rng.random(N_FRAMES) < 0.04) * rng.uniform(0.5, 1.0, N_FRAMES)
X = {"stimulus": np.asarray(glmx.convolve_spikes(flashes, basis))}
true_mean = np.exp(X["stimulus"] @ TRUE_WEIGHTS + BASELINE)

# A Poisson number of events per frame, each with a Gamma amplitude.
events = rng.poisson(event_rate(true_mean, POWER, SCALE))
shape = (2 - POWER) / (POWER - 1)  # of each event's amplitude
size = SCALE * (POWER - 1) * true_mean ** (POWER - 1)
y = np.where(events > 0, rng.gamma(np.maximum(events, 1) * shape, size), 0.0)

print(
    f"Simulated {N_FRAMES} frames ({N_FRAMES // FPS} s at {FPS} Hz): "
    f"{np.mean(y == 0):.0%} exact zeros, mean activity {y.mean():.3f}."
)
print(f"The true model expects {np.mean(np.exp(-event_rate(true_mean, POWER, SCALE))):.0%} zeros.")

# %% [markdown]
# ## Held-out frames
#
# The first two thirds of the recording are used to fit, the last third to compare models.
# The split is in time, not frame by frame at random: neighbouring frames share the same
# recent flashes, so randomly held-out frames would not be new data.

# %%
train = np.arange(N_FRAMES) < 2 * N_FRAMES // 3
X_train, X_test = ({k: v[rows] for k, v in X.items()} for rows in (train, ~train))
y_train, y_test = y[train], y[~train]
print(f"{train.sum()} frames to fit, {(~train).sum()} held out.")

# %% [markdown]
# ## Choosing the power
#
# The fit estimates the filter, the baseline and the dispersion, but not the power: it is a
# hyperparameter. We fit the model at a few candidate powers and compare the log-likelihood
# of the held-out frames (`score`'s default, a mean per frame). The deviance cannot be used
# here, since its scale changes with the power; the log-likelihood of the same data can.
# The power is an array inside the model, so all four fits share one compiled solver.
#
# A small ridge penalty keeps the weights finite whatever the data. Next to each score we
# print the fraction of held-out frames that the fitted model expects to be zero, to compare
# with the fraction that is.

# %%
fits, scores = {}, {}
print("Power   held-out log-likelihood per frame   expected zeros")
for power in (1.1, 1.4, 1.7, 1.9):
    fits[power] = glmx.fit(glmx.GLM(glmx.Tweedie(power), glmx.Ridge(1e-4)), X_train, y_train)
    fitted = fits[power][0]
    scores[power] = float(fitted.score(X_test, y_test))
    rate = event_rate(np.asarray(fitted.predict(X_test)), power, float(fitted.scale))
    print(f"  {power:.1f}   {scores[power]:+.4f}{np.mean(np.exp(-rate)):32.0%}")
print(f"Held-out frames that are zero: {np.mean(y_test == 0):.0%}")
best = max(scores, key=scores.get)
print(f"Best power by held-out log-likelihood: {best:.1f} (true {POWER:.1f})")

# %% [markdown]
# The held-out log-likelihood peaks at the true power and falls off clearly on both sides. The
# expected zeros show one reason: a power too low expects too many zero frames, and one too
# high far too few.
#
# ## The fit at the chosen power
#
# The fitted model at the best power gives the dispersion (estimated from the Pearson
# residuals) and the baseline, to compare with the true values.

# %%
model, result = fits[best]
print(f"Fit: {result.message}")
print(f"Dispersion: true {SCALE:.2f}, fitted {float(model.scale):.2f}")
print(f"Baseline (intercept): true {BASELINE:+.2f}, fitted {float(model.intercept):+.2f}")

# %% [markdown]
# How much of the held-out activity does the model explain? Cohen's pseudo-R2 is the fraction
# of the deviance of a constant-mean model that the fitted mean removes. Most of the
# frame-to-frame variability is the randomness of the events themselves, which no stimulus
# model can predict; the true model, scored on the same frames, shows the ceiling.

# %%
true_model = glmx.GLM(
    glmx.Tweedie(POWER),
    coef={"stimulus": TRUE_WEIGHTS},
    intercept=BASELINE,
    scale=SCALE,
)
cohen = float(model.score(X_test, y_test, "pseudo-r2-cohen"))
ceiling = float(true_model.score(X_test, y_test, "pseudo-r2-cohen"))
print(f"Held-out deviance explained (Cohen's pseudo-R2): {cohen:.3f}")
print(f"                          by the true model: {ceiling:.3f}")

# %% [markdown]
# ## The stimulus filter and its uncertainty
#
# `glmx.inference` computes the covariance of the fitted coefficients on the training frames,
# and `filter_band` turns the 6 weights of the stimulus block into the filter at each lag
# with a pointwise 95% confidence band.

# %%
info = glmx.inference(model, X_train, y_train)
filt, lower, upper = (np.asarray(a) for a in info.filter_band(basis, block="stimulus"))
truth = basis @ TRUE_WEIGHTS
rms = np.sqrt(np.mean((filt - truth) ** 2))
inside = np.mean((lower <= truth) & (truth <= upper))
print(
    f"Stimulus filter: RMS error {rms:.3f} (true peak {truth.max():.2f}); the 95% band "
    f"holds the true filter at {inside:.0%} of the lags."
)

predicted = np.asarray(model.predict(X_test))
frames = np.arange(20 * FPS)  # 20 s of held-out frames
seconds = frames / FPS
fig, axes = plt.subplots(1, 2, figsize=(12, 4), gridspec_kw={"width_ratios": [2, 1]})
ax = axes[0]
ax.vlines(seconds, 0.0, y_test[frames], color="0.55", lw=1.0, label="observed")
ax.plot(seconds, predicted[frames], color="C0", lw=1.5, label="predicted mean")
ax.plot(seconds, true_mean[~train][frames], "k--", lw=1.0, label="true mean")
onsets = seconds[flashes[~train][frames] > 0]
ax.plot(onsets, np.full(onsets.shape, -0.15), "^", color="C1", ms=5, label="flash")
ax.set_xlabel("time (s, held-out frames)")
ax.set_ylabel("deconvolved activity")
ax.set_title(f"{np.mean(y_test[frames] == 0):.0%} of these frames are exactly zero")
ax.legend(loc="upper right", ncols=2)
ax = axes[1]
lags = np.arange(1, WINDOW + 1) / FPS
ax.fill_between(lags, lower, upper, color="C0", alpha=0.3, label="95% band")
ax.plot(lags, filt, color="C0", label="fitted")
ax.plot(lags, truth, "k--", label="true")
ax.axhline(0.0, color="0.7", lw=0.8)
ax.set_xlabel("lag (s)")
ax.set_ylabel("stimulus filter (log-mean)")
ax.set_title(f"Tweedie GLM, power {best:.1f}")
ax.legend()
fig.tight_layout()
fig.savefig(pathlib.Path(__file__).parent / "tweedie_calcium.png", dpi=120)

# %% [markdown]
# ![Left: 20 s of held-out frames, the observed activity (grey bars), the fitted model's
# predicted mean (blue) and the true mean (dashed), with the flashes marked below; the
# predicted mean follows the true one through every flash response, while the observed
# activity scatters around it, zero in most frames. Right: the fitted stimulus filter and its
# 95% band against the true filter.](tweedie_calcium.png)
#
# The band is pointwise: at each lag it covers the true value with probability 95%, so a
# true filter that leaves it at a lag or two is no sign of a poor fit. It is not a band for
# the whole filter at once, which would be wider.
#
# Next: [a single neuron's encoding model](encoding_model.md), with filters from spike times
# and robust standard errors.
