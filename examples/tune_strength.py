"""Tuning Ridge strengths by gradient descent.

A short recording of a neuron with a 50-lag stimulus filter overfits without a penalty. We
choose the Ridge strength that best predicts held-out data in two ways: a grid search, and
gradient descent on the strength, where each gradient goes through the fit itself (`glmx.fit`
is differentiable). Then a population, where every neuron gets its own strength and one
descent tunes all of them at once.
"""

# %% [markdown]
# ## Six neurons, a short recording
#
# Six neurons see the same white-noise stimulus, one value per bin, and each weighs its last
# 50 bins through its own smooth filter. Their baseline rates run from 0.02 to 0.5 spikes per
# bin. We record 2000 bins to fit the models on, and 4000 more, the *validation* bins, to
# judge which penalty predicts best.
#
# A 50-lag filter is 50 coefficients, and 2000 bins hold few spikes for the quieter neurons:
# an unpenalised fit follows the noise of the training bins. A Ridge penalty, strength times
# the sum of the squared coefficients, pulls the filter towards zero; the question is how
# hard. The best strength differs between neurons, since it depends on how many spikes each
# one fired and on the shape of its filter.

# %%
import pathlib

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
import optax

import glmx

LAGS, N_TRAIN, N_VALID = 50, 2000, 4000
NEURONS = 6
GRID = np.logspace(-5, 0, 26)  # 26 strengths, 5 per decade


def smooth_filter(rng, width):
    """A smooth random filter over the lags (a sum of three bumps), peak 0.4."""
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


rng = np.random.default_rng(0)
widths = rng.uniform(2.0, 4.0, size=NEURONS)
filters = np.stack([smooth_filter(rng, w) for w in widths])
baselines = np.log(np.geomspace(0.02, 0.5, NEURONS))  # 0.02 to 0.5 spikes per bin
X, Y = simulate(rng, filters, baselines, N_TRAIN)
X_valid, Y_valid = simulate(rng, filters, baselines, N_VALID)
for k in range(NEURONS):
    rate, spikes = np.exp(baselines[k]), int(Y[:, k].sum())
    print(f"neuron {k}: baseline {rate:.3f} spikes/bin, {spikes:4d} spikes in the training bins")

# %% [markdown]
# ## One neuron: the held-out loss as a function of the strength
#
# For neuron 0, the quietest, we write the quantity to minimise as a plain function of the
# strength: fit the model on the training bins with that Ridge strength, and return the
# negative log-likelihood per bin (NLL) of the validation bins. Since `glmx.fit` is a JAX
# function, `jax.vmap` runs it for all 26 grid strengths at once, and `jax.jit` compiles the
# lot into one program.

# %%
x_train, y_train, x_valid, y_valid = X, Y[:, 0], X_valid, Y_valid[:, 0]


def held_out(strength):
    model, _ = glmx.fit(glmx.GLM(glmx.Poisson(), glmx.Ridge(strength)), x_train, y_train)
    return -model.log_likelihood(x_valid, y_valid)


grid_losses = np.asarray(jax.jit(jax.vmap(held_out))(jnp.asarray(GRID, jnp.float32)))
best = int(np.argmin(grid_losses))
unregularized = float(held_out(jnp.float32(0.0)))
print("One neuron, Ridge strength for the held-out log-likelihood")
print(f"  no penalty:      held-out NLL {unregularized:.5f}")
print(f"  grid search:     strength {GRID[best]:.2e}, held-out NLL {grid_losses[best]:.5f}")

# %% [markdown]
# The penalty helps: the best grid strength predicts the validation bins better than no
# penalty. But the grid can only return one of its own points, 26 fits spaced by a factor of
# 1.58; to do better it needs more fits.
#
# ## Descending the gradient through the fit
#
# `held_out` can also be differentiated. At the fitted coefficients the gradient of the
# penalised objective is zero, and the implicit function theorem turns that condition into the
# derivative of the coefficients with respect to the strength: one linear solve with the
# objective's Hessian, without going back through the solver's iterations. JAX's chain rule
# does the rest, from the coefficients to the validation NLL.
#
# We descend on log(strength) rather than on the strength: strengths span orders of
# magnitude, and the logarithm keeps them positive. The optimizer is Optax's L-BFGS, started
# at 0.1, for 15 steps; every step is a fit and its gradient, plus any fits its line search
# tries. Each line below is the strength a step started from and the NLL there.


# %%
def descend(loss, log_strength, steps=15):
    """L-BFGS on log(strength). Returns the strengths visited and the loss at each."""
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


path = descend(held_out, jnp.log(jnp.float32(1e-1)))
previous = None
for i, (s, loss) in enumerate(path):
    line = f"strength {s:.3e}, held-out NLL {loss:.6f}"
    if line == previous:
        print(f"  steps {i} to {len(path) - 1}: no change at this precision")
        break
    print(f"  step {i:2d}: {line}")
    previous = line
strength, loss = path[-1]
print(f"  grid search:     strength {GRID[best]:.2e}, held-out NLL {grid_losses[best]:.5f}")
print(f"  gradient descent: strength {strength:.2e}, held-out NLL {loss:.5f}")

# %% [markdown]
# The descent settles within a few steps, between two grid points, with a validation NLL as
# low as the grid's best or a little lower. The figure puts both on the curve.

# %%
fig, ax = plt.subplots(figsize=(6, 4))
strengths, losses = zip(*path)
ax.semilogx(GRID, grid_losses - unregularized, "o-", color="0.6", label="grid search")
ax.semilogx(strengths, np.array(losses) - unregularized, ".-", color="C0", label="L-BFGS")
ax.semilogx([strength], [loss - unregularized], "*", ms=14, color="C0")
ax.axhline(0.0, ls=":", color="k", label="no penalty")


def zoom(ax, excess):
    """Show the region around the optimum, where the curves differ, not the steep flank."""
    low = float(np.min(excess))
    ax.set_ylim(1.3 * low, -1.5 * low)


zoom(ax, grid_losses - unregularized)
ax.set_xlabel("Ridge strength")
ax.set_ylabel("held-out NLL per bin, minus no penalty's")
ax.legend()
fig.tight_layout()
fig.savefig(pathlib.Path(__file__).parent / "tune_strength_single.png", dpi=120)

# %% [markdown]
# ![Neuron 0's validation NLL per bin, relative to the unpenalised fit's, against the Ridge
# strength: the 26 grid fits (grey) and the strengths visited by L-BFGS (blue), ending at the
# star. Below the dotted line the penalty predicts better than no penalty; the curve is lowest
# near 0.05, where the descent ends.](tune_strength_single.png)
#
# ## A population, one strength per neuron
#
# `glmx.PopulationGLM` fits all six neurons on the same design in one call, and a Ridge
# strength of shape `(6,)` gives each neuron its own. The held-out loss is now a vector, one
# NLL per neuron. The neurons are fitted independently, so neuron k's NLL depends on its own
# strength only.
#
# The grid search runs every neuron at each of the 26 strengths, 26 population fits, and picks
# each neuron's best. The descent minimises the sum of the six NLLs over all six
# log-strengths at once: since each term depends on one strength only, the gradient of the sum
# holds every neuron's own gradient, and each step is one population fit.


# %%
def held_out_population(strengths):
    pop = glmx.PopulationGLM(glmx.Poisson(), glmx.Ridge(strengths), n_neurons=NEURONS)
    pop, _ = glmx.fit(pop, X, Y)
    return pop.log_likelihood(X_valid, Y_valid)  # (neurons,)


# Grid search: every neuron at every grid strength (neurons are independent).
per_neuron_grid = jax.jit(jax.vmap(lambda s: -held_out_population(jnp.full(NEURONS, s))))
pop_grid_losses = np.asarray(per_neuron_grid(jnp.asarray(GRID, jnp.float32)))  # (grid, neurons)
grid_best = GRID[np.argmin(pop_grid_losses, axis=0)]

# Gradient descent on all log-strengths at once: the sum of the neurons' losses.
pop_path = descend(
    lambda s: -jnp.sum(held_out_population(s)), jnp.log(jnp.full(NEURONS, 1e-1, jnp.float32))
)
descended = pop_path[-1][0]
final = -np.asarray(held_out_population(jnp.asarray(descended)))
print(f"Population of {NEURONS} neurons, one Ridge strength each")
print("  neuron   grid strength   descent strength   held-out NLL grid   descent")
for k in range(NEURONS):
    print(
        f"  {k:6d}   {grid_best[k]:13.2e}   {descended[k]:16.2e}   "
        f"{pop_grid_losses[:, k].min():17.5f}   {final[k]:.5f}"
    )
gap = float(np.max(final - pop_grid_losses.min(axis=0)))
print(f"  largest held-out NLL excess of descent over the grid: {gap:+.2e}")

# %% [markdown]
# Neuron 0 is the neuron of the first part, and its grid columns repeat what we found there.
# The best strengths differ between neurons. For every neuron the descent ends less than one
# grid step from the grid's choice, with a validation NLL as low as the grid's best or a
# little lower; the last line is the largest excess of the descent's NLL over the grid's,
# over the six neurons. The NLLs grow down the table because busier neurons have more spikes
# per bin to predict, not because they are fitted worse.

# %%
fig, axes = plt.subplots(2, 3, figsize=(10, 6), sharex=True)
for k, ax in enumerate(axes.ravel()):
    excess = pop_grid_losses[:, k] - pop_grid_losses[0, k]  # against the weakest penalty
    ax.semilogx(GRID, excess, "o-", color="0.6", ms=3)
    ax.axvline(grid_best[k], color="0.6", ls="--")
    ax.semilogx([descended[k]], [final[k] - pop_grid_losses[0, k]], "*", ms=12, color="C0")
    zoom(ax, excess)
    ax.set_title(f"neuron {k}")
for ax in axes[-1]:
    ax.set_xlabel("Ridge strength")
for ax in axes[:, 0]:
    ax.set_ylabel(f"held-out NLL - at {GRID[0]:.0e}")
fig.suptitle("grid search (grey) and L-BFGS on the strength's gradient (star), per neuron")
fig.tight_layout()
fig.savefig(pathlib.Path(__file__).parent / "tune_strength_population.png", dpi=120)

# %% [markdown]
# ![For each of the six neurons, the validation NLL per bin against the Ridge strength,
# relative to the weakest strength of the grid (grey, the grid's best dashed), and the
# strength that gradient descent reached (star). Each star sits at the bottom of its neuron's
# curve.](tune_strength_population.png)
#
# ## When to use which
#
# Here the grid is cheap: the neurons are independent, so 26 population fits give every
# neuron its whole curve. The gradient pays off when strengths interact, as with one strength
# per group of features of a single neuron (say the stimulus, the spike history and the
# coupling): a grid over k strengths needs 26^k fits, while a step of the descent is still
# one fit and its gradient. The held-out loss must be a smooth function of the strengths for
# the descent to find its minimum, and it can stop at a local one.
#
# The validation bins chose the strengths, so their NLL at the chosen strengths is an
# optimistic estimate of how well the models predict; judge the final models on data used for
# neither the fit nor the choice, as in
# [Choosing a strength by cross-validation](choose_strength.md).
# [Differentiating through fits](../differentiation.md) explains what `glmx.fit`'s gradients
# cover.
