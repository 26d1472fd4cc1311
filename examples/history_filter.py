"""Standard errors for a spike-history filter: fit a neuron, plot its filter with a 95% band.

A neuron's rate depends on a stimulus and on its own recent spikes through a refractory then
rebound history filter, built from a raised-cosine basis. We simulate 2 minutes at 1 ms,
fit a Poisson GLM, and ask glmx for inference: the coefficient table with standard errors, the
band of the reconstructed history filter (what one plots), a Wald test that the whole history
filter is zero, and a likelihood-ratio test against the model without history. Robust
(sandwich) and cluster-robust (by trial) standard errors are compared with the model-based
ones. The figure is saved next to this file as PNG.

Run: python examples/history_filter.py
"""

import pathlib

import jax
import matplotlib
import numpy as np

import glmx

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

N_BINS, WINDOW, N_BASIS, TRIALS = 120_000, 80, 6, 40  # 1 ms bins: 2 min in 40 trials
OUT = pathlib.Path(__file__).parent


#: The true history filter's weights on the basis: refractory for a few ms, then a rebound.
TRUE_WEIGHTS = np.array([-3.0, -1.0, 0.3, 0.15, 0.0, 0.0])


def true_history(basis):
    return np.asarray(basis) @ TRUE_WEIGHTS


def simulate(key, basis):
    """The neuron as a one-neuron population fed back on itself by `glmx.simulate_recurrent`."""
    stim_key, spike_key = jax.random.split(key)
    stimulus = np.asarray(jax.random.normal(stim_key, (N_BINS, 2)))
    truth = glmx.PopulationGLM(
        glmx.Poisson(),
        n_neurons=1,
        coef={"history": TRUE_WEIGHTS[None, :], "stimulus": np.array([[0.4, -0.25]])},
        intercept=np.array([-3.2]),
    )
    run = glmx.simulate_recurrent(
        spike_key,
        truth,
        basis,
        np.zeros((WINDOW, 1)),
        {"stimulus": stimulus},
        coupling_key="history",
    )
    return stimulus, np.asarray(run.spikes[:, 0])


def _p(value) -> str:
    value = float(value)
    return "p < 1e-10" if value < 1e-10 else f"p = {value:.2g}"


def main():
    basis = glmx.raised_cosine_log_basis(N_BASIS, WINDOW)
    stimulus, spikes = simulate(jax.random.key(0), basis)
    X = {"stimulus": stimulus, "history": np.asarray(glmx.convolve_spikes(spikes, basis))}
    print(f"Simulated {N_BINS} bins, {int(spikes.sum())} spikes ({spikes.mean() * 1000:.0f} Hz).")

    model, result = glmx.fit(glmx.GLM(glmx.Poisson()), X, spikes)
    print(f"Fit: {result.message}\n")
    info = glmx.inference(model, X, spikes)
    print(info.summary())

    lags = np.arange(1, WINDOW + 1)
    filt, lower, upper = (np.asarray(a) for a in info.filter_band(basis, block="history"))
    truth = true_history(basis)
    inside = np.mean((lower <= truth) & (truth <= upper))
    print(f"\nHistory filter: the 95% band holds the true filter at {inside:.0%} of the lags.")

    wald = info.wald_test("history")
    print(
        f"Wald test, history filter = 0: chi2 = {float(wald.statistic):.1f} on "
        f"{float(wald.df):.0f} df, {_p(wald.p_value)}"
    )
    no_history, _ = glmx.fit(glmx.GLM(glmx.Poisson()), {"stimulus": stimulus}, spikes)
    restricted = glmx.inference(no_history, {"stimulus": stimulus}, spikes)
    lr = glmx.likelihood_ratio_test(restricted, info)
    print(
        f"Likelihood-ratio test against no history: {float(lr.statistic):.1f} on "
        f"{float(lr.df):.0f} df, {_p(lr.p_value)}; AIC {float(restricted.aic):.1f} "
        f"-> {float(info.aic):.1f}"
    )

    trial = np.repeat(np.arange(TRIALS), N_BINS // TRIALS)
    robust = glmx.inference(model, X, spikes, cov_type="HC0")
    clustered = glmx.inference(model, X, spikes, cov_type="cluster", groups=trial)
    print("\nStandard errors:    model-based   HC0      cluster (trials)")
    for name in ("stimulus[0]", "stimulus[1]", "history[0]", "intercept"):
        i = info.names.index(name)
        print(
            f"  {name:15s}   {float(info.std_errors[i]):.4f}        "
            f"{float(robust.std_errors[i]):.4f}   {float(clustered.std_errors[i]):.4f}"
        )

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, (first, low, high) in zip(axes, [(1, -4.0, 1.0), (4, -0.3, 0.6)]):
        shown = lags >= first
        ax.fill_between(
            lags[shown], lower[shown], upper[shown], color="C0", alpha=0.3, label="95% band"
        )
        ax.plot(lags[shown], filt[shown], color="C0", label="fitted")
        ax.plot(lags[shown], truth[shown], "k--", label="true")
        ax.axhline(0.0, color="0.7", lw=0.8)
        ax.set_xscale("log")
        ticks = [t for t in (1, 2, 5, 10, 20, 50) if t >= first]
        ax.set_xticks(ticks, [str(t) for t in ticks])
        ax.minorticks_off()
        ax.set_ylim(low, high)
        ax.set_xlabel("lag (ms)")
    axes[0].set_ylabel("history filter (log-rate)")
    axes[0].set_title("whole filter")
    axes[1].set_title("from 4 ms: the rebound")
    axes[0].legend()
    fig.tight_layout()
    fig.savefig(OUT / "history_filter_band.png", dpi=120)


if __name__ == "__main__":
    main()
