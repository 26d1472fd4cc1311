"""A Tweedie GLM for calcium imaging: a stimulus filter from deconvolved activity with zeros.

Deconvolved calcium traces are exactly zero in most frames and positive, of variable size, in the
rest: in each frame a Poisson number of events, each with a Gamma-distributed amplitude. That is
the Tweedie (compound Poisson-Gamma) distribution, whose variance grows as ``mean^power``. We
simulate 10 minutes at 30 frames per second of a neuron driven by brief flashes through a filter
built from a raised-cosine basis, fit it with `glmx.Tweedie`, choose the power by held-out
log-likelihood, and plot the observed and predicted activity and the fitted filter, with its 95%
band, against the true one. The figure is saved next to this file as PNG.

Run: python examples/tweedie_calcium.py
"""

import pathlib

import matplotlib
import numpy as np

import glmx

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

FPS, N_FRAMES, WINDOW, N_BASIS = 30, 18_000, 45, 6  # 10 min; the filter spans 1.5 s
POWER, SCALE, BASELINE = 1.4, 1.2, -2.3  # the true Tweedie power, dispersion and log-baseline
POWERS = (1.1, 1.4, 1.7, 1.9)  # candidates, compared on held-out frames
OUT = pathlib.Path(__file__).parent

#: The true filter's weights on the basis: a fast rise, a slow decay, a small undershoot.
TRUE_WEIGHTS = np.array([0.2, 1.4, 1.1, 0.5, -0.1, -0.2])


def simulate(rng, basis):
    """Flashes of random contrast drive the mean through the filter; each frame's activity is
    the sum of a Poisson number of Gamma-sized events (drawn with NumPy, not glmx)."""
    flashes = (rng.random(N_FRAMES) < 0.04) * rng.uniform(0.5, 1.0, N_FRAMES)
    X = {"stimulus": np.asarray(glmx.convolve_spikes(flashes, basis))}
    mean = np.exp(X["stimulus"] @ TRUE_WEIGHTS + BASELINE)
    events = rng.poisson(mean ** (2 - POWER) / (SCALE * (2 - POWER)))
    shape = (2 - POWER) / (POWER - 1)
    size = SCALE * (POWER - 1) * mean ** (POWER - 1)
    activity = np.where(events > 0, rng.gamma(np.maximum(events, 1) * shape, size), 0.0)
    return flashes, X, activity, mean


def main():
    basis = np.asarray(glmx.raised_cosine_log_basis(N_BASIS, WINDOW))
    flashes, X, y, true_mean = simulate(np.random.default_rng(0), basis)
    train = np.arange(N_FRAMES) < 2 * N_FRAMES // 3
    X_train, X_test = ({k: v[rows] for k, v in X.items()} for rows in (train, ~train))
    y_train, y_test = y[train], y[~train]
    print(
        f"Simulated {N_FRAMES} frames ({N_FRAMES // FPS} s at {FPS} Hz): "
        f"{np.mean(y == 0):.0%} exact zeros, mean activity {y.mean():.3f}."
    )

    # The power is a hyperparameter: one compiled fit serves every candidate.
    print("\nPower   held-out log-likelihood per frame")
    scores = {}
    for power in POWERS:
        model = glmx.GLM(glmx.Tweedie(power), glmx.Ridge(1e-4))
        model, _ = glmx.fit(model, X_train, y_train)
        scores[power] = float(model.score(X_test, y_test))
        print(f"  {power:.1f}   {scores[power]:+.4f}")
    best = max(scores, key=scores.get)
    print(f"Best power by held-out log-likelihood: {best:.1f} (true {POWER:.1f})")

    model, result = glmx.fit(glmx.GLM(glmx.Tweedie(best), glmx.Ridge(1e-4)), X_train, y_train)
    print(f"\nFit: {result.message}")
    print(f"Dispersion: true {SCALE:.2f}, fitted {float(model.scale):.2f}")
    print(f"Baseline (intercept): true {BASELINE:+.2f}, fitted {float(model.intercept):+.2f}")
    cohen = float(model.score(X_test, y_test, "pseudo-r2-cohen"))
    print(f"Held-out deviance explained (Cohen's pseudo-R2): {cohen:.3f}")

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
    fig.savefig(OUT / "tweedie_calcium.png", dpi=120)
    return model, result


if __name__ == "__main__":
    main()
