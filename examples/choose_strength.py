"""Choose a Lasso strength by cross-validation along a regularization path.

A neuron is driven by a stimulus (through a smooth filter) and by one of eight other recorded
neurons; the design holds the stimulus and all eight neurons' spike histories on a
raised-cosine basis: 12 + 8 x 4 = 44 correlated columns, most of them irrelevant. One call,
`glmx.cross_validate`, fits the whole Lasso path on five contiguous blocks of the recording
(with a gap of one filter length between training and test rows, since neighbouring bins are
correlated) and on all rows, in one compiled program. We compare the best strength and the
one-standard-error choice on a held-out final minute, and plot the CV curve and the path.
Figures are saved next to this file as PNG.

Run: python examples/choose_strength.py
"""

import pathlib

import matplotlib
import numpy as np

import glmx

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

N_TRAIN, N_TEST, LAGS, OTHERS = 24_000, 6_000, 60, 8  # 10 ms bins: 4 min, then 1 min
OUT = pathlib.Path(__file__).parent


def simulate(rng):
    """Stimulus and coupling features, ``(n, 44)`` as a dict of blocks, and the neuron's counts."""
    n = N_TRAIN + N_TEST
    stim_basis = np.asarray(glmx.raised_cosine_log_basis(12, LAGS))
    spike_basis = np.asarray(glmx.raised_cosine_log_basis(4, LAGS))
    stimulus = np.convolve(rng.normal(size=n), np.ones(5) / 5, mode="same")  # slow noise
    latent = np.convolve(rng.normal(size=n), np.ones(200) / 14, mode="same")  # shared drive
    others = rng.poisson(np.exp(-2.5 + 0.8 * latent[:, None] + 0.3 * rng.normal(size=(n, OTHERS))))
    stim_features = np.asarray(glmx.convolve_spikes(stimulus[:, None], stim_basis))
    coupling = np.asarray(glmx.convolve_spikes(others.astype(float), spike_basis))
    lags = np.arange(LAGS)
    true_filter = 0.6 * np.exp(-lags / 8) - 0.4 * np.exp(-lags / 20)
    stim_drive = np.convolve(stimulus, true_filter)[:n]
    stim_drive = np.concatenate([[0.0], stim_drive[:-1]])  # causal: the filter starts one bin back
    drive = -2.5 + stim_drive + 0.5 * coupling[:, 0] + 0.25 * coupling[:, 1]  # neuron 0 couples
    spikes = rng.poisson(np.exp(drive)).astype(float)
    X = {"stimulus": stim_features, "coupling": coupling}
    return X, spikes, stim_basis, true_filter


def held_out_ll(model, X, spikes):
    test = {k: v[N_TRAIN:] for k, v in X.items()}
    return float(model.score(test, spikes[N_TRAIN:]))


def main():
    rng = np.random.default_rng(0)
    X, spikes, stim_basis, true_filter = simulate(rng)
    design = np.concatenate([X[k] for k in sorted(X)], axis=1)
    singular = np.linalg.svd(design - design.mean(0), compute_uv=False)
    print(
        f"Design: {design.shape[0]} bins x {design.shape[1]} columns, "
        f"condition number {singular[0] / singular[-1]:.2g}, {int(spikes.sum())} spikes."
    )
    train = {k: v[:N_TRAIN] for k, v in X.items()}

    cv = glmx.cross_validate(
        glmx.GLM(glmx.Poisson(), glmx.Lasso()),
        train,
        spikes[:N_TRAIN],
        folds=5,
        gap=LAGS,
        n_strengths=25,
    )
    best, one_se = cv.best_model, cv.model_1se
    unpenalised, _ = glmx.fit(glmx.GLM(glmx.Poisson()), train, spikes[:N_TRAIN])
    print(
        f"Path: {len(cv.strengths)} strengths from {cv.strengths[0]:.3g} down to "
        f"{cv.strengths[-1]:.3g}; all fits converged: {bool(np.all(cv.path.converged))}."
    )
    print("\nchoice         strength  non-zero  held-out log-likelihood (last minute)")
    for name, model in (("best", best), ("1 SE", one_se), ("no penalty", unpenalised)):
        strength = float(np.ravel(model.regularizer.strength)[0]) if name != "no penalty" else 0.0
        nonzero = sum(int(np.count_nonzero(c)) for c in model.coef.values())
        print(f"{name:<12} {strength:10.3g}  {nonzero:8d}  {held_out_ll(model, X, spikes):.5f}")
    kept = np.flatnonzero(np.abs(np.asarray(best.coef["coupling"])) > 0) // 4
    print(
        f"\nCoupling kept by the best strength from neurons {sorted(set(kept.tolist()))} "
        "(the truth: neuron 0)."
    )
    fitted_filter = stim_basis @ np.asarray(best.coef["stimulus"])
    error = np.sqrt(np.mean((fitted_filter[1:] - true_filter[:-1]) ** 2))
    print(f"Stimulus filter RMS error at the best strength: {error:.3f}")

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    cv.plot(axes[0])
    axes[0].set_title("5-fold blocked CV (gap = 60 bins)")
    cv.path.plot(axes[1])
    axes[1].axvline(cv.best_strength, color="C0", ls="--")
    axes[1].axvline(cv.strength_1se, color="C1", ls=":")
    axes[1].set_title("Lasso path on all training rows")
    fig.tight_layout()
    fig.savefig(OUT / "choose_strength.png", dpi=110)
    print("Saved choose_strength.png")


if __name__ == "__main__":
    main()
