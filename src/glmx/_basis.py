"""Temporal bases, causal convolution of spike trains, and recurrent simulation of a network.

The standard design of coupled spiking networks (Pillow et al., 2008): each neuron's rate
depends on the recent spikes of every neuron through filters expanded in a small basis. Here:
`raised_cosine_log_basis` builds the basis, `convolve_spikes` the features, and
`simulate_recurrent` runs a fitted `PopulationGLM` forward, feeding its own samples back.

Feature layout (shared by `convolve_spikes` and `simulate_recurrent`): column
``j * n_basis + b`` holds spikes of neuron ``j`` filtered by basis function ``b``; the filter
of neuron ``j`` onto neuron ``k`` is ``basis @ coef[k, j * n_basis : (j + 1) * n_basis]``.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float, PRNGKeyArray, Real

from ._population import PopulationGLM


def raised_cosine_log_basis(
    n_basis: int, window_size: int, width: float = 2.0, time_scaling: float = 50.0
) -> Float[Array, "window n_basis"]:
    """Raised-cosine bumps on a log-stretched time axis: fine near lag 1, coarse far back.

    Bump ``b`` is ``0.5 * (1 + cos(clip((log(t + c) - centre_b) * pi / (width * spacing),
    -pi, pi)))`` at lags ``t = 1 .. window_size`` (row ``t - 1``), with centres evenly spaced
    on the stretched axis and ``c`` set by ``time_scaling`` (larger: closer to linear spacing).
    With ``width = 2`` the bumps overlap by half and sum to a nearly flat profile.

    **Arguments:** ``n_basis`` (>= 1) bumps over ``window_size`` (>= 2) lags.

    **Returns:** ``(window_size, n_basis)``; the columns sum to 1 at every lag, and each peaks at
    1 where its centre falls on a lag (short windows sample some bumps off their peak).
    """
    if n_basis < 1 or window_size < 2:
        raise ValueError(
            f"need n_basis >= 1 and window_size >= 2, got n_basis={n_basis}, "
            f"window_size={window_size}."
        )
    if width <= 1 or time_scaling <= 0:
        raise ValueError(f"need width > 1 and time_scaling > 0, got {width}, {time_scaling}.")
    lags = np.arange(window_size, dtype=float)
    # Stretch so that lag 0 -> 0 and the last lag -> 1, logarithmically.
    offset = window_size / time_scaling
    stretched = np.log(lags + offset) - np.log(offset)
    stretched /= stretched[-1]
    centres = np.linspace(0.0, 1.0, n_basis)
    spacing = 1.0 if n_basis == 1 else centres[1] - centres[0]
    phase = (stretched[:, None] - centres[None, :]) * np.pi / (width * spacing / 2.0)
    bumps = 0.5 * (1.0 + np.cos(np.clip(phase, -np.pi, np.pi)))
    return jnp.asarray(bumps)


def convolve_spikes(
    spikes: Real[ArrayLike, " n *neurons"], basis: Real[ArrayLike, "window n_basis"]
) -> Float[Array, "n features"]:
    """Causal history features: row ``t`` uses spikes at ``t - 1, ..., t - window`` only.

    **Arguments:** ``spikes`` ``(n, neurons)`` (or ``(n,)`` for one neuron) and ``basis``
    ``(window, n_basis)`` with row ``s - 1`` the weight of lag ``s``.

    **Returns:** ``(n, neurons * n_basis)``: column ``j * n_basis + b`` is neuron ``j``'s
    spikes filtered by basis function ``b``. Rows before a full window see zeros (no spikes
    before the recording).
    """
    spikes = jnp.asarray(spikes)
    basis = jnp.asarray(
        basis, dtype=spikes.dtype if jnp.issubdtype(spikes.dtype, jnp.floating) else None
    )
    if spikes.ndim == 1:
        spikes = spikes[:, None]
    if spikes.ndim != 2 or basis.ndim != 2:
        raise ValueError(
            f"spikes must be (n, neurons) and basis (window, n_basis), got shapes "
            f"{spikes.shape} and {basis.shape}."
        )
    window, n_basis = basis.shape
    n, neurons = spikes.shape
    # feature[t, b] = sum_s basis[s - 1, b] * spikes[t - s]: a 'valid' convolution of the
    # zero-padded train with each basis column gives exactly this, without ever building the
    # (n, window, neurons) tensor of lagged copies.
    padded = jnp.concatenate([jnp.zeros((window, neurons), spikes.dtype), spikes], axis=0)

    def one_neuron(train):
        return jax.vmap(lambda k: jnp.convolve(train, k, mode="valid")[:n], 1, 1)(basis)

    features = jax.vmap(one_neuron, in_axes=1, out_axes=1)(padded)  # (n, neurons, n_basis)
    return features.reshape(n, neurons * n_basis)


class RecurrentSimulation(eqx.Module):
    """What `simulate_recurrent` returns: ``spikes`` and ``rates``, both ``(steps, neurons)``."""

    spikes: Float[Array, "steps neurons"]
    rates: Float[Array, "steps neurons"]


def simulate_recurrent(
    key: PRNGKeyArray,
    model: PopulationGLM,
    basis: Real[ArrayLike, "window n_basis"],
    init_spikes: Real[ArrayLike, "_window _neurons"],  # shapes checked below, with a message
    feedforward: dict | None = None,
    n_steps: int | None = None,
    coupling_key: str = "coupling",
) -> RecurrentSimulation:
    """Run a coupled population forward in time, feeding each step's samples back.

    The model must have been fitted on a dict design in which ``X[coupling_key]`` is
    ``convolve_spikes(spikes, basis)`` and the other blocks are feedforward inputs (stimulus,
    covariates). At each step the coupling features are rebuilt from the last ``window`` steps
    of the network's own samples, the mean is computed for every neuron, and new counts are
    drawn from the observation model (any model that can sample). One ``lax.scan``.

    **Arguments:**

    - ``key``: a JAX PRNG key.
    - ``model``: a fitted `PopulationGLM` with dict coefficients.
    - ``basis``: ``(window, n_basis)``, the basis used to build the coupling features.
    - ``init_spikes``: ``(window, neurons)``, the spikes before the first step, oldest first.
    - ``feedforward``: a dict with the model's other blocks, each ``(steps, p_k)``.
    - ``n_steps``: how many steps; needed only when there are no feedforward blocks.
    - ``coupling_key``: the name of the coupling block.

    **Returns:** a `RecurrentSimulation` with ``spikes`` and ``rates`` ``(steps, neurons)``;
    step ``t`` corresponds to row ``t`` of the feedforward inputs.
    """
    coef = model.coef
    if not isinstance(coef, dict) or coupling_key not in coef:
        raise ValueError(
            f"simulate_recurrent needs a model fitted on a dict design with a {coupling_key!r} "
            "block; fit it on {'coupling': convolve_spikes(spikes, basis), ...}."
        )
    basis = jnp.asarray(basis)
    window, n_basis = basis.shape
    neurons = model.n_neurons
    coupling = coef[coupling_key]
    if coupling.shape[-1] != neurons * n_basis:
        raise ValueError(
            f"the {coupling_key!r} block has {coupling.shape[-1]} coefficients per neuron but "
            f"{neurons} neurons x {n_basis} basis functions need {neurons * n_basis}."
        )
    init_spikes = jnp.asarray(init_spikes, coupling.dtype)
    if init_spikes.shape != (window, neurons):
        raise ValueError(
            f"init_spikes must have shape ({window}, {neurons}) (window, neurons), got "
            f"{init_spikes.shape}."
        )
    feedforward = {} if feedforward is None else feedforward
    other = sorted(k for k in coef if k != coupling_key)
    if sorted(feedforward) != other:
        raise ValueError(
            f"feedforward must have the model's other blocks {other}, got {sorted(feedforward)}."
        )
    if other:
        drive = sum(jnp.asarray(feedforward[k]) @ coef[k].T for k in other)  # (steps, neurons)
        if n_steps is not None and n_steps != drive.shape[0]:
            raise ValueError(f"n_steps is {n_steps} but feedforward has {drive.shape[0]} rows.")
    elif n_steps is None:
        raise ValueError("n_steps is needed when the model has no feedforward blocks.")
    else:
        drive = jnp.zeros((n_steps, neurons), coupling.dtype)
    drive = drive + model.intercept
    # coupling[k, j * n_basis + b] -> weights[j, b, k]: features (neurons, n_basis) @ weights.
    weights = coupling.reshape(neurons, neurons, n_basis).transpose(1, 2, 0)
    observation, scale = model.observation, model.scale
    link = observation.link

    def step(history, inputs):
        drive_t, key_t = inputs
        # history[s] is the spike count at lag window - s (oldest first); basis row s-1 is lag s.
        features = history[::-1].T @ basis  # (neurons, n_basis)
        eta = drive_t + jnp.einsum("jb,jbk->k", features, weights)
        rate = link.inverse(eta)
        spikes = observation.sample(key_t, rate, scale)
        return jnp.concatenate([history[1:], spikes[None]], axis=0), (spikes, rate)

    keys = jax.random.split(key, drive.shape[0])
    _, (spikes, rates) = jax.lax.scan(step, init_spikes, (drive, keys))
    return RecurrentSimulation(spikes, rates)
