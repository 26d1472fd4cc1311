"""Choose Ridge strengths by gradient descent on the held-out log-likelihood.

A short recording of a neuron driven by a 50-lag stimulus filter overfits without a penalty.
We pick the Ridge strength two ways: a grid search (one vmapped fit per strength) and L-BFGS
on log(strength), where each gradient differentiates through the fit (`glmx.fit` is
differentiable by the implicit function theorem). Then the same for a population, where every
neuron gets its own strength: the gradient tunes all of them at once, a grid search needs a
grid per neuron. Figures are saved next to this file as PNG.

Run: python examples/tune_strength.py
"""

import pathlib

import jax
import jax.numpy as jnp
import matplotlib
import numpy as np
import optax

import glmx

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

LAGS, N_TRAIN, N_VALID = 50, 2000, 4000
NEURONS = 6
GRID = np.logspace(-5, 0, 26)
OUT = pathlib.Path(__file__).parent


def smooth_filter(rng, width):
    """A smooth random filter over the lags (a sum of bumps), peak 0.4."""
    lags = np.arange(LAGS)
    centres = rng.uniform(0, LAGS / 2, size=3)
    signs = rng.choice([-1.0, 1.0], size=3)
    f = sum(s * np.exp(-0.5 * ((lags - c) / width) ** 2) for s, c in zip(signs, centres))
    return 0.4 * f / np.max(np.abs(f))


def simulate(rng, filters, baselines, n):
    """A white-noise stimulus, its lagged design ``(n, LAGS)`` and counts ``(n, neurons)``."""
    stimulus = rng.normal(size=n + LAGS)
    X = np.lib.stride_tricks.sliding_window_view(stimulus, LAGS)[:n, ::-1].copy()
    Y = rng.poisson(np.exp(X @ filters.T + baselines)).astype(np.float32)
    return X.astype(np.float32), Y


def descend(loss, log_strength, steps=15):
    """L-BFGS (Optax's, with its line search) on log(strength): every evaluation is a fit,
    every gradient goes through one. Returns the path of strengths and losses."""
    objective = lambda t: loss(jnp.exp(t))  # noqa: E731
    optimizer = optax.lbfgs()
    value_and_grad = optax.value_and_grad_from_state(objective)

    @jax.jit
    def step(log_strength, state):
        value, grad = value_and_grad(log_strength, state=state)
        updates, state = optimizer.update(
            grad, state, log_strength, value=value, grad=grad, value_fn=objective
        )
        return optax.apply_updates(log_strength, updates), state, value

    state = optimizer.init(log_strength)
    path = []
    for _ in range(steps):
        new, state, value = step(log_strength, state)
        path.append((np.exp(np.asarray(log_strength)), float(value)))
        log_strength = new
    return path


def one_neuron(X, y, X_valid, y_valid):
    def held_out(strength):
        model, _ = glmx.fit(glmx.GLM(glmx.Poisson(), glmx.Ridge(strength)), X, y)
        return -model.log_likelihood(X_valid, y_valid)

    grid_losses = np.asarray(jax.jit(jax.vmap(held_out))(jnp.asarray(GRID, jnp.float32)))
    best = int(np.argmin(grid_losses))
    path = descend(held_out, jnp.log(jnp.float32(1e-1)))
    strength, loss = path[-1]
    unregularized = float(held_out(jnp.float32(0.0)))
    print("One neuron, Ridge strength for the held-out log-likelihood")
    print(f"  no penalty:      held-out NLL {unregularized:.5f}")
    print(f"  grid search:     strength {GRID[best]:.2e}, held-out NLL {grid_losses[best]:.5f}")
    print(f"  gradient descent: strength {strength:.2e}, held-out NLL {loss:.5f}")
    print(f"  ({len(GRID)} fits for the grid, {len(path)} L-BFGS steps for the descent)")

    fig, ax = plt.subplots(figsize=(6, 4))
    strengths, losses = zip(*path)
    ax.semilogx(GRID, grid_losses - unregularized, "o-", color="0.6", label="grid search")
    ax.semilogx(strengths, np.array(losses) - unregularized, ".-", color="C0", label="L-BFGS")
    ax.semilogx([strength], [loss - unregularized], "*", ms=14, color="C0")
    ax.axhline(0.0, ls=":", color="k", label="no penalty")
    _zoom(ax, grid_losses - unregularized)
    ax.set_xlabel("Ridge strength")
    ax.set_ylabel("held-out NLL per bin, minus no penalty's")
    ax.legend()
    fig.tight_layout()
    fig.savefig(OUT / "tune_strength_single.png", dpi=120)
    return GRID[best], strength, grid_losses[best], loss


def _zoom(ax, excess):
    """Show the region around the optimum, where the curves differ, not the steep flank."""
    low = float(np.min(excess))
    ax.set_ylim(1.3 * low, -1.5 * low)


def population(X, Y, X_valid, Y_valid):
    def held_out(strengths):
        pop = glmx.PopulationGLM(glmx.Poisson(), glmx.Ridge(strengths), n_neurons=NEURONS)
        pop, _ = glmx.fit(pop, X, Y)
        return pop.log_likelihood(X_valid, Y_valid)  # (neurons,)

    # Grid search: every neuron at every grid strength (neurons are independent).
    per_neuron_grid = jax.jit(jax.vmap(lambda s: -held_out(jnp.full(NEURONS, s))))
    grid_losses = np.asarray(per_neuron_grid(jnp.asarray(GRID, jnp.float32)))  # (grid, neurons)
    grid_best = GRID[np.argmin(grid_losses, axis=0)]

    # Gradient descent on all log-strengths at once: the sum of the neurons' losses.
    path = descend(lambda s: -jnp.sum(held_out(s)), jnp.log(jnp.full(NEURONS, 1e-1, jnp.float32)))
    descended = path[-1][0]
    final = -np.asarray(held_out(jnp.asarray(descended)))
    print(f"\nPopulation of {NEURONS} neurons, one Ridge strength each")
    print("  neuron   grid strength   descent strength   held-out NLL grid   descent")
    for k in range(NEURONS):
        print(
            f"  {k:6d}   {grid_best[k]:13.2e}   {descended[k]:16.2e}   "
            f"{grid_losses[:, k].min():17.5f}   {final[k]:.5f}"
        )
    gap = float(np.max(final - grid_losses.min(axis=0)))
    print(f"  largest held-out NLL excess of descent over the grid: {gap:+.2e}")

    fig, axes = plt.subplots(2, 3, figsize=(10, 6), sharex=True)
    for k, ax in enumerate(axes.ravel()):
        excess = grid_losses[:, k] - grid_losses[0, k]  # against the weakest penalty
        ax.semilogx(GRID, excess, "o-", color="0.6", ms=3)
        ax.axvline(grid_best[k], color="0.6", ls="--")
        ax.semilogx([descended[k]], [final[k] - grid_losses[0, k]], "*", ms=12, color="C0")
        _zoom(ax, excess)
        ax.set_title(f"neuron {k}")
    for ax in axes[-1]:
        ax.set_xlabel("Ridge strength")
    for ax in axes[:, 0]:
        ax.set_ylabel(f"held-out NLL - at {GRID[0]:.0e}")
    fig.suptitle("grid search (grey) and L-BFGS on the strength's gradient (star), per neuron")
    fig.tight_layout()
    fig.savefig(OUT / "tune_strength_population.png", dpi=120)
    return grid_losses.min(axis=0), final


def main():
    rng = np.random.default_rng(0)
    widths = rng.uniform(2.0, 4.0, size=NEURONS)
    filters = np.stack([smooth_filter(rng, w) for w in widths])
    # Rates from 0.02 to 0.5 spikes per bin: each neuron has its own best penalty.
    baselines = np.log(np.geomspace(0.02, 0.5, NEURONS))
    X, Y = simulate(rng, filters, baselines, N_TRAIN)
    X_valid, Y_valid = simulate(rng, filters, baselines, N_VALID)
    one_neuron(X, Y[:, 0], X_valid, Y_valid[:, 0])
    population(X, Y, X_valid, Y_valid)


if __name__ == "__main__":
    main()
