"""`tune_strength`: penalty strengths chosen by gradient descent on the cross-validated held-out
loss, through the fits (implicit differentiation of every fold's solve).

It starts from the best point of a coarse cross-validated grid (`cross_validate`), so the
result is never worse than that grid on the same folds, and then runs L-BFGS (Optax's, with its
zoom line search) on the logarithm of the strengths, for every neuron at once, in one compiled
program. The strengths tuned have the shape of the model's own: a scalar, one per feature, or
one per group (`GroupLasso`, `Smoothness`: e.g. one per design block); for a population, per
neuron.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
from jaxtyping import Array, Float

from .._checks import run_checked
from .._data import Data, glm_of, map_neurons, restore
from .._glm import GLM
from .._population import PopulationGLM
from .._problem import setup, small_counts, solve
from .._repr import ValueRepr
from .._solvers import Implicit
from ._api import cross_validate, prepare_folds
from ._program import held_out
from ._records import CrossValidation


class Tuning(ValueRepr):
    """The result of `tune_strength`.

    **Fields:**

    - ``strength``: the tuned strengths, shaped as the model's regularizer strength (for a
      population, with the neuron axis first).
    - ``loss``: the cross-validated held-out loss there (the mean over folds of the mean
      negative log-likelihood per held-out row), ``()`` / ``(neurons,)``.
    - ``start_loss``: the loss at the best point of the starting grid (``>= loss``).
    - ``losses``: the loss at every descent step, ``(steps,)`` / ``(steps, neurons)``.
    - ``grid``: the `CrossValidation` of the starting grid.
    - ``model``: the model fitted on all rows at the tuned strengths.
    """

    strength: Float[Array, "..."]
    loss: Float[Array, "*neurons"]
    start_loss: Float[Array, "*neurons"]
    losses: Float[Array, " steps *neurons"]
    grid: CrossValidation
    model: GLM | PopulationGLM


def _tune_one(glm: GLM, rows, use_table, solver, train, test, start, steps: int):
    """One neuron: L-BFGS on ``log(strength)`` from ``start`` over the folds (all but the
    last of ``train``/``test``), then the fit on all rows (the last) at the result.
    Returns ``(fitted, strength, loss, start_loss, losses)``."""
    adjoint = Implicit()

    def at(strength):
        regularizer = eqx.tree_at(lambda r: r.strength, glm.regularizer, strength)
        return eqx.tree_at(lambda m: m.regularizer, glm, regularizer)

    def fit_fold(model, train_k):
        fold_rows = eqx.tree_at(lambda r: r.sample_weight, rows, rows.sample_weight * train_k)
        args, params, weights = setup(model, fold_rows, use_table)
        return solve(model, args, params, weights, solver, adjoint)[0]

    free = start > 0  # a strength of 0 (an unpenalised feature or group) stays 0

    def strength_of(log_strength):
        return jnp.where(free, jnp.exp(log_strength), 0.0)

    def loss(log_strength):
        model = at(strength_of(log_strength))

        def fold(train_k, test_k):
            return -held_out(fit_fold(model, train_k), rows, test_k)["log-likelihood"]

        return jnp.mean(jax.vmap(fold)(train[:-1], test[:-1]))

    optimizer = optax.lbfgs()
    value_and_grad = optax.value_and_grad_from_state(loss)

    def step(carry, _):
        x, state = carry
        value, grad = value_and_grad(x, state=state)
        updates, state = optimizer.update(grad, state, x, value=value, grad=grad, value_fn=loss)
        return (optax.apply_updates(x, updates), state), value

    x0 = jnp.log(jnp.where(free, start, 1.0))
    (x, _), losses = jax.lax.scan(step, (x0, optimizer.init(x0)), None, length=steps)
    final, start_loss = loss(x), loss(x0)
    # The line search only accepts decreases; keep the start if rounding says otherwise.
    better = final <= start_loss
    strength = jnp.where(better, strength_of(x), start)
    fitted = fit_fold(at(strength), train[-1])
    return fitted, strength, jnp.where(better, final, start_loss), start_loss, losses


def _tune_work(glm, data: Data, solver, train, test, start, steps):
    use_table = small_counts(data.y)
    start_axis = None if data.axes is None else 0
    return map_neurons(
        _tune_one,
        glm,
        data,
        use_table,
        solver,
        train,
        test,
        start,
        steps,
        extra_axes=(None, None, None, None, start_axis, None),
        copies=train.shape[0],
    )


def tune_strength(
    model,
    X,
    y,
    *,
    folds=5,
    gap: int = 0,
    n_strengths: int = 8,
    steps: int = 15,
    solver=None,
    sample_weight=None,
    offset=None,
) -> Tuning:
    """Tune the penalty strengths by gradient descent on the cross-validated held-out loss.

    **Arguments:** ``model``, ``X``, ``y``, ``sample_weight``, ``offset``, ``solver``,
    ``folds``, ``gap`` as in `cross_validate`; ``n_strengths``: the size of the starting grid
    (the default path grid); ``steps``: L-BFGS steps (each fits every fold, usually twice).

    The strengths tuned are the model's regularizer strengths, in their shape: a scalar, one
    per feature, or one per group (`GroupLasso`, `Smoothness`), and per neuron for a
    population. A grid cannot search several strengths at once; the gradient can. Every
    strength starts at the grid's best scalar (times the strengths' own relative factors).

    **Returns:** a `Tuning`; ``loss <= start_loss`` always (the descent starts at the grid's
    best point and only accepts decreases).
    """
    if not isinstance(steps, int | np.integer) or steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps!r}.")
    grid = cross_validate(
        model,
        X,
        y,
        folds=folds,
        gap=gap,
        n_strengths=n_strengths,
        solver=solver,
        sample_weight=sample_weight,
        offset=offset,
    )
    glm, data, solver, train, test = prepare_folds(
        model, X, y, sample_weight, offset, solver, (folds, gap, False, 0)
    )
    population = isinstance(model, PopulationGLM)
    best = grid.best_model
    start = jnp.asarray(glm_of(best).regularizer.strength, data.dtype)
    fitted, strength, loss, start_loss, losses = run_checked(
        _tune_work, glm, data, solver, train, test, start, int(steps)
    )
    if population:
        losses = losses.T  # (neurons, steps) -> (steps, neurons)
    return Tuning(strength, loss, start_loss, losses, grid, restore(model, fitted, data))
