"""Encoding-model designs that look like recordings, simulated in NumPy with a fixed seed.

A design is built the way an encoding model of a recorded neuron is: spike trains and stimuli
convolved with causal, log-stretched raised-cosine bases (Pillow et al. 2008).

- **Spike trains** (``trains`` of them) are Poisson counts whose rates share a few slow latent
  processes (AR(1), time constants of hundreds of bins) and switch between a quiet and a bursting
  state (a two-state Markov chain per train): correlated, bursty, non-negative.
- **Stimuli** are a slow random walk (position-like) and low-pass filtered noise.
- **Features**: each train's spike history through ``history_bases`` basis functions (lags 1 to
  ``history_lags`` bins, strictly causal), then each stimulus through ``stimulus_bases`` functions
  (lags 0 to ``stimulus_lags - 1``). Columns are neither centred nor scaled, as users pass them.
- **Responses** come from the GLM itself, with smooth true filters (a refractory self-history, weak
  coupling, a stimulus filter) scaled so that the linear predictor's standard deviation is
  ``eta_std``.

The columns are strongly correlated (neighbouring basis functions overlap; the trains share
latents), so the condition number of ``X`` is 1e3 to 1e6 depending on the size: `condition_number`
prints it.
"""

import dataclasses

import numpy as np


def raised_cosine_basis(n_basis: int, n_lags: int, offset: float = 1.0) -> np.ndarray:
    """``(n_lags, n_basis)`` raised-cosine bumps, evenly spaced in ``log(lag + offset)``."""
    warped = np.log(np.arange(n_lags) + offset)
    centres = np.linspace(warped[0], warped[-1], n_basis)
    width = (centres[1] - centres[0]) if n_basis > 1 else warped[-1] - warped[0]
    phase = np.clip((warped[:, None] - centres[None, :]) * np.pi / (2 * width), -np.pi, np.pi)
    return 0.5 * (1 + np.cos(phase))


def causal_filter(signals: np.ndarray, kernels: np.ndarray, shift: int) -> np.ndarray:
    """``out[t, i, k] = sum_l kernels[l, k] * signals[t - shift - l, i]`` (zero before the
    start), by FFT: ``signals (n, m)``, ``kernels (L, b)`` -> ``(n, m * b)`` float64."""
    n, m = signals.shape
    length, b = kernels.shape
    size = 1 << int(np.ceil(np.log2(n + length + shift)))
    padded = np.zeros((size, b))
    padded[shift : shift + length] = kernels
    kernel_hat = np.fft.rfft(padded, axis=0)
    out = np.empty((n, m * b))
    for i in range(m):  # one signal at a time keeps the FFT buffers small at large n
        signal_hat = np.fft.rfft(signals[:, i], n=size)
        out[:, i * b : (i + 1) * b] = np.fft.irfft(
            signal_hat[:, None] * kernel_hat, n=size, axis=0
        )[:n]
    out[np.abs(out) < 1e-9] = 0.0  # FFT round-off where the exact convolution is zero
    return out


@dataclasses.dataclass(frozen=True)
class Design:
    """The shape of one simulated design; ``p = trains * history_bases + 2 * stimulus_bases``."""

    n: int
    trains: int = 24
    history_bases: int = 8
    history_lags: int = 100
    stimulus_bases: int = 4
    stimulus_lags: int = 50
    latents: int = 3
    seed: int = 0

    @property
    def p(self) -> int:
        return self.trains * self.history_bases + 2 * self.stimulus_bases


def for_features(n: int, p: int, seed: int = 0) -> Design:
    """A design with ``n`` rows and exactly ``p`` columns: 8 history bases per train, and the
    stimulus bases take up the remainder (``p - 8 * trains`` must be even and at least 4)."""
    trains = (p - 4) // 8
    rest = p - 8 * trains
    if rest % 2:
        trains -= 1
        rest += 8
    return Design(n=n, trains=trains, stimulus_bases=rest // 2, seed=seed)


def spike_trains(d: Design, rng) -> np.ndarray:
    """``(n, trains)`` correlated, bursty Poisson counts."""
    n = d.n
    taus = np.linspace(100, 800, d.latents)
    latent = _ar1(rng.normal(size=(n, d.latents)), np.exp(-1 / taus))
    loadings = rng.normal(size=(d.latents, d.trains)) * 0.8
    base = np.log(rng.uniform(0.02, 0.15, size=d.trains))
    bursting = _two_state(rng, n, d.trains, p_enter=0.002, p_leave=0.05)
    log_rate = base + latent @ loadings + np.log(6.0) * bursting
    return rng.poisson(np.exp(np.minimum(log_rate, 1.5))).astype(float)


def _ar1(shocks: np.ndarray, decay: np.ndarray) -> np.ndarray:
    """Unit-variance AR(1) processes with coefficients ``decay`` (one per column), by an IIR
    filter written as an FFT convolution with a truncated exponential kernel."""
    length = int(np.ceil(-np.log(1e-8) / np.min(1 - decay))) + 1
    lags = np.arange(min(length, shocks.shape[0]))
    out = np.empty_like(shocks)
    for k, a in enumerate(decay):
        kernel = (a**lags * np.sqrt(1 - a**2))[:, None]
        out[:, k] = causal_filter(shocks[:, k : k + 1], kernel, 0)[:, 0]
    return out


def _two_state(rng, n: int, m: int, p_enter: float, p_leave: float) -> np.ndarray:
    """``(n, m)`` 0/1 Markov chains: enter the 1 state with ``p_enter``, leave with ``p_leave``.
    Sampled as alternating geometric run lengths."""
    out = np.zeros((n, m))
    for i in range(m):
        t, state = int(rng.geometric(p_enter)), 1
        while t < n:
            run = int(rng.geometric(p_leave if state else p_enter))
            if state:
                out[t : t + run, i] = 1.0
            t += run
            state = 1 - state
    return out


def stimuli(n: int, rng) -> np.ndarray:
    """``(n, 2)``: a reflected random walk in [0, 1] (position-like) and low-pass noise."""
    walk = np.cumsum(rng.normal(scale=0.01, size=n))
    walk = np.abs((walk % 2) - 1)  # reflect into [0, 1]
    noise = _ar1(rng.normal(size=(n, 1)), np.array([np.exp(-1 / 20)]))[:, 0]
    return np.column_stack([walk, noise])


def design_matrix(d: Design) -> np.ndarray:
    """``X (n, p)`` float64 for the design (see the module docstring)."""
    rng = np.random.default_rng(d.seed)
    counts = spike_trains(d, rng)
    history = causal_filter(counts, raised_cosine_basis(d.history_bases, d.history_lags), shift=1)
    stimulus = causal_filter(
        stimuli(d.n, rng), raised_cosine_basis(d.stimulus_bases, d.stimulus_lags), shift=0
    )
    return np.concatenate([history, stimulus], axis=1)


def true_filters(d: Design, rng, neurons: int = 1) -> np.ndarray:
    """``(neurons, p)`` smooth filters in the basis: a negative self-history (the first train is
    the neuron's own), weak random coupling to a few trains, and a stimulus filter."""
    coef = np.zeros((neurons, d.p))
    b = d.history_bases
    for k in range(neurons):
        own = k % d.trains
        coef[k, own * b : (own + 1) * b] = -1.5 * np.exp(-np.arange(b) / 2)
        for j in rng.choice(d.trains, size=min(4, d.trains), replace=False):
            if j != own:
                coef[k, j * b : (j + 1) * b] += rng.normal(scale=0.3) * np.hanning(b + 2)[1:-1]
        coef[k, d.trains * b :] = rng.normal(scale=0.5, size=2 * d.stimulus_bases)
    return coef


def responses(
    X: np.ndarray,
    family: str,
    d: Design,
    neurons: int | None = None,
    eta_std: float = 0.6,
    mean_rate: float = 0.1,
):
    """``(y, coef, intercept)``: simulated responses (``(n,)``, or ``(n, neurons)``) of the given
    family (``poisson``, ``bernoulli``, ``gamma``) from smooth true filters, with the predictor's
    standard deviation ``eta_std`` and the mean rate (Poisson) near ``mean_rate``."""
    rng = np.random.default_rng(d.seed + 1)
    k = neurons or 1
    coef = true_filters(d, rng, k)
    eta = X @ coef.T
    scale = eta_std / np.maximum(eta.std(axis=0), 1e-12)
    coef = coef * scale[:, None]
    eta = eta * scale
    intercept = {
        "poisson": np.log(mean_rate) - eta.mean(axis=0) - 0.5 * eta_std**2,
        "bernoulli": np.full(k, -1.0) - eta.mean(axis=0),
        "gamma": np.full(k, 0.5) - eta.mean(axis=0),
    }[family]
    eta = eta + intercept
    if family == "poisson":
        y = rng.poisson(np.exp(eta)).astype(float)
    elif family == "bernoulli":
        y = (rng.random(eta.shape) < 1 / (1 + np.exp(-eta))).astype(float)
    elif family == "gamma":
        y = rng.gamma(2.0, np.exp(eta) / 2.0)
    else:
        raise ValueError(family)
    if neurons is None:
        return y[:, 0], coef[0], intercept[0]
    return y, coef, intercept


def condition_number(X: np.ndarray) -> float:
    """The 2-norm condition number of ``X``, from the eigenvalues of its Gram (fast at large n;
    accurate to the square root of the precision, enough to print)."""
    gram = X.T @ X
    eig = np.linalg.eigvalsh(gram.astype(np.float64))
    return float(np.sqrt(eig[-1] / max(eig[0], np.finfo(float).tiny)))
