"""A coupled network: simulate 12 neurons, fit a PopulationGLM, recover the coupling filters.

Each neuron's rate depends on a shared stimulus and on the recent spikes of every neuron
through filters built from a log-spaced raised-cosine basis. We simulate the network with
`glmx.simulate_recurrent`, fit one GLM per neuron (vmapped) on the spike-history features,
and compare true and recovered filters; then we simulate the fitted network and compare its
spikes with the data. Figures are saved next to this file as PNG.

Run: python examples/coupled_network.py
"""

import pathlib
import time

import jax
import matplotlib
import numpy as np

import glmx

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

NEURONS, N_BASIS, WINDOW, STEPS = 12, 4, 60, 40_000  # 1 ms bins: 40 s
OUT = pathlib.Path(__file__).parent


def true_network(rng):
    """Sparse excitatory/inhibitory couplings, refractory self-history, a stimulus drive."""
    coupling = np.zeros((NEURONS, NEURONS, N_BASIS))
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


def filters(model, basis):
    """Filters (post, pre, lag) of a model's coupling block."""
    weights = np.asarray(model.coef["coupling"]).reshape(NEURONS, NEURONS, N_BASIS)
    return np.einsum("wb,kjb->kjw", np.asarray(basis), weights)


def main():
    rng = np.random.default_rng(0)
    basis = glmx.raised_cosine_log_basis(N_BASIS, WINDOW)
    truth = true_network(rng)
    stimulus = rng.normal(size=(STEPS, 2))
    init = np.zeros((WINDOW, NEURONS))
    data = glmx.simulate_recurrent(jax.random.key(0), truth, basis, init, {"stimulus": stimulus})
    spikes = np.asarray(data.spikes)
    print(
        f"Simulated {NEURONS} neurons for {STEPS} ms: "
        f"{spikes.mean(0).min() * 1000:.0f}-{spikes.mean(0).max() * 1000:.0f} Hz."
    )

    design = {"coupling": glmx.convolve_spikes(spikes, basis), "stimulus": stimulus}
    model = glmx.PopulationGLM(glmx.Poisson(), glmx.Ridge(1e-5), n_neurons=NEURONS)
    start = time.perf_counter()
    model, result = glmx.fit(model, design, spikes)
    jax.block_until_ready(model.intercept)
    print(
        f"Fit {NEURONS} GLMs ({design['coupling'].shape[1] + 2} features each) in "
        f"{time.perf_counter() - start:.2f} s: {result.message}."
    )

    true_f, fit_f = filters(truth, basis), filters(model, basis)
    rms = np.sqrt(np.mean((true_f - fit_f) ** 2, axis=2))  # one number per (post, pre) filter
    print(
        f"Coupling filters ({NEURONS}x{NEURONS}): RMS error median {np.median(rms):.3f}, "
        f"worst {rms.max():.3f} (filters reach {np.abs(true_f).max():.1f}; the worst is a "
        "lag-1 refractory dip of a slow neuron, which few spikes constrain)."
    )
    r2 = np.asarray(model.score(design, spikes, "pseudo-r2-McFadden", aggregate="none"))
    print("Pseudo-R2 (McFadden) per neuron: " + " ".join(f"{v:.3f}" for v in r2))

    resim = glmx.simulate_recurrent(jax.random.key(1), model, basis, init, {"stimulus": stimulus})
    data_rate, sim_rate = spikes.mean(0) * 1000, np.asarray(resim.spikes).mean(0) * 1000
    print("Firing rates (Hz), data vs fitted network simulated on its own:")
    print("  data: " + " ".join(f"{r:5.1f}" for r in data_rate))
    print("  sim:  " + " ".join(f"{r:5.1f}" for r in sim_rate))

    # Figure 1: filters, true (black) vs recovered (red), for the first 5 x 5 pairs.
    show = 5
    fig, axes = plt.subplots(show, show, figsize=(10, 8), sharex=True, sharey=True)
    lags = np.arange(1, WINDOW + 1)
    for k in range(show):
        for j in range(show):
            ax = axes[k, j]
            ax.axhline(0, color="0.85", lw=0.8)
            ax.plot(lags, true_f[k, j], "k", lw=1.5, label="true")
            ax.plot(lags, fit_f[k, j], "r--", lw=1.2, label="recovered")
            if k == show - 1:
                ax.set_xlabel(f"lag (ms)\nfrom {j}")
            if j == 0:
                ax.set_ylabel(f"onto {k}")
    axes[0, 0].legend(fontsize=7)
    fig.suptitle("Coupling filters (log-gain): true vs recovered")
    fig.tight_layout()
    fig.savefig(OUT / "coupled_network_filters.png", dpi=90)

    # Figure 2: rasters of the data and of the fitted network simulated on its own.
    fig, axes = plt.subplots(2, 1, figsize=(10, 5), sharex=True)
    span = slice(0, 2000)
    for ax, counts, title in (
        (axes[0], spikes, "data"),
        (axes[1], np.asarray(resim.spikes), "fitted network, simulated"),
    ):
        t, n = np.nonzero(counts[span])
        ax.scatter(t, n, marker="|", s=30, color="k")
        ax.set_ylabel("neuron")
        ax.set_yticks(range(0, NEURONS, 2))
        ax.set_title(title)
    axes[1].set_xlabel("time (ms)")
    fig.tight_layout()
    fig.savefig(OUT / "coupled_network_raster.png", dpi=90)
    print(f"Saved {OUT / 'coupled_network_filters.png'} and {OUT / 'coupled_network_raster.png'}.")
    return rms, data_rate, sim_rate


if __name__ == "__main__":
    main()
