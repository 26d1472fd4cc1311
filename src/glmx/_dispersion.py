"""The negative binomial's dispersion ``alpha`` estimated with the coefficients, by maximum
likelihood: `fit_negative_binomial`.

The fit alternates two exact maximisations of the same log-likelihood: the coefficients at the
current ``alpha`` (`glmx.fit`, warm-started), then ``alpha`` at the current means (Newton's
method on ``log alpha``, one dimension per neuron). Each round can only raise the
log-likelihood, and at a fixed point both partial gradients vanish: the joint maximum-likelihood
estimate (statsmodels' discrete ``NegativeBinomial``, NB2), to the rounds' tolerance. With a
penalty, ``alpha`` maximises the likelihood at the penalised coefficients.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Bool, Float, Int

from ._arrays import is_traced
from ._data import glm_of
from ._fit import FitResult, fit
from ._glm import GLM
from ._observations import NegativeBinomial
from ._population import PopulationGLM
from ._repr import ValueRepr

#: ``alpha`` is searched within these bounds.
ALPHA_BOUNDS = (1e-8, 1e8)
#: An estimate outside these is reported as at a bound (``DispersionFit.at_bound``): below,
#: the counts show no overdispersion (the Poisson model describes them as well); above, the
#: model is degenerate.
REPORTED_BOUNDS = (1e-6, 1e6)


class DispersionFit(ValueRepr):
    """How `fit_negative_binomial` went; per neuron (a leading axis) for a population.

    **Fields:**

    - ``alpha``: the estimated dispersion (``Var(y) = mu + alpha mu^2``), also in the returned
      model's observation model.
    - ``rounds``: alternations of coefficient and ``alpha`` updates made (shared by a
      population's neurons).
    - ``converged``: whether ``log alpha`` moved by at most ``tol`` in the last round and the
      last coefficient fit converged.
    - ``at_bound``: whether ``alpha`` is below 1e-6 (the counts show no overdispersion: the
      likelihood is flat in ``alpha`` there and the Poisson model describes them as well) or
      above 1e6 (`REPORTED_BOUNDS`).
    - ``fit``: the last round's `FitResult`.
    """

    alpha: Float[Array, "*neurons"]
    rounds: Int[Array, ""]
    converged: Bool[Array, "*neurons"]
    at_bound: Bool[Array, "*neurons"]
    fit: FitResult


def _log_likelihood_in_alpha(log_alpha, y, mean, weights):
    """The summed weighted log-likelihood as a function of ``log alpha`` (one neuron)."""
    observation = NegativeBinomial(jnp.exp(log_alpha))
    return jnp.sum(weights * observation.log_likelihood(y, mean))


@jax.jit
def _best_alpha(start, y, mean, weights):
    """``argmax_alpha`` of the log-likelihood at fixed means, for each column (neuron): damped
    Newton steps on ``log alpha`` (at most 1 in size; gradient steps where the curvature has the
    wrong sign), 100 at most, within `ALPHA_BOUNDS`."""
    low, high = np.log(ALPHA_BOUNDS[0]), np.log(ALPHA_BOUNDS[1])
    grad = jax.grad(_log_likelihood_in_alpha)
    curvature = jax.grad(grad)

    def one(t0, y, mean, weights):
        scale = jnp.maximum(jnp.sum(weights), 1.0)

        def step(carry):
            t, _, i = carry
            g = grad(t, y, mean, weights) / scale
            h = curvature(t, y, mean, weights) / scale
            move = jnp.where(h < 0, -g / jnp.where(h < 0, h, 1.0), g)
            move = jnp.clip(move, -1.0, 1.0)
            new = jnp.clip(t + move, low, high)
            return new, jnp.abs(new - t), i + 1

        def going(carry):
            _, change, i = carry
            return (change > 1e-12) & (i < 100)

        t, _, _ = jax.lax.while_loop(going, step, (t0, jnp.inf, 0))
        return t

    return jax.vmap(one, in_axes=(0, 1, 1, 1))(start, y, mean, weights)


def _columns(a, n_columns: int):
    """``(n,)`` or ``(n, neurons)`` as ``(n, n_columns)`` (one column per neuron)."""
    a = jnp.asarray(a, float)
    return jnp.broadcast_to(a[:, None] if a.ndim == 1 else a, (a.shape[0], n_columns))


def fit_negative_binomial(
    model: GLM | PopulationGLM,
    X,
    y,
    solver=None,
    *,
    sample_weight=None,
    offset=None,
    tol: float = 1e-8,
    max_rounds: int = 100,
):
    """Fit a negative binomial GLM (NB2) with its dispersion ``alpha`` estimated by maximum
    likelihood, jointly with the coefficients.

    **Arguments:**

    - ``model``: a `GLM` or `PopulationGLM` whose observation model is `NegativeBinomial`; its
      ``alpha`` is the starting value (and its coefficients, if any, the starting point).
    - ``X``, ``y``, ``solver``, ``sample_weight``, ``offset``: as for `glmx.fit` (rows with NaN
      left out by the same rule).
    - ``tol``: the rounds stop when ``log alpha`` changes by at most ``tol`` (every neuron).
    - ``max_rounds``: the most alternations.

    **Returns:** ``(fitted_model, dispersion)``: the model with its coefficients and the
    estimated ``alpha`` (``(neurons,)`` for a population, one per neuron) in its observation
    model, and a `DispersionFit`. A round limit reached, or ``alpha`` at a bound, is reported
    there (``converged``, ``at_bound``), not raised.

    **Example:**
    ```python
    model = glmx.GLM(glmx.NegativeBinomial())
    fitted, dispersion = glmx.fit_negative_binomial(model, X, counts)
    print(float(dispersion.alpha), bool(dispersion.converged))
    ```
    """
    if not isinstance(model, GLM | PopulationGLM):
        raise TypeError(
            f"model must be a glmx.GLM or glmx.PopulationGLM, got {type(model).__name__}."
        )
    population, glm = isinstance(model, PopulationGLM), glm_of(model)
    if not isinstance(glm.observation, NegativeBinomial):
        raise TypeError(
            "fit_negative_binomial needs a NegativeBinomial observation model, got "
            f"{type(glm.observation).__name__}."
        )
    if is_traced(model, X, y, sample_weight, offset):
        raise TypeError(
            "fit_negative_binomial needs concrete inputs (its rounds stop on the data's "
            "values); under jax.jit, fit with a given alpha (glmx.fit)."
        )
    if not isinstance(max_rounds, int) or max_rounds < 1:
        raise ValueError(f"max_rounds must be a positive integer, got {max_rounds!r}.")
    if not tol > 0:
        raise ValueError(f"tol must be positive, got {tol!r}.")
    columns = model.n_neurons if population else 1
    alpha = jnp.broadcast_to(jnp.asarray(glm.observation.alpha, float), (columns,))
    log_alpha = jnp.log(jnp.clip(alpha, *ALPHA_BOUNDS))
    y_columns = _columns(y, columns)
    weights = _columns(np.ones(len(y)) if sample_weight is None else sample_weight, columns)
    if glm.coef is None:  # every round then fits the same structure: one compilation
        model = model.initialize_params(X, y, sample_weight=sample_weight)
    for rounds in range(1, max_rounds + 1):
        model = _with_alpha(model, jnp.exp(log_alpha), population)
        model, result = fit(model, X, y, solver, sample_weight=sample_weight, offset=offset)
        mean = _columns(model.predict(X, offset), columns)
        keep = ~(jnp.isnan(mean) | jnp.isnan(y_columns))
        new = _best_alpha(
            log_alpha,
            jnp.where(keep, y_columns, 0.0),
            jnp.where(keep, mean, 1.0),
            jnp.where(keep, weights, 0.0),
        )
        change = jnp.abs(new - log_alpha)
        log_alpha = new
        if bool(jnp.all(change <= tol)):
            break
    alpha = jnp.exp(log_alpha)
    model = _with_alpha(model, alpha, population)
    at_bound = (alpha < REPORTED_BOUNDS[0]) | (alpha > REPORTED_BOUNDS[1])
    converged = (change <= tol) & jnp.atleast_1d(result.converged)
    if not population:
        alpha, converged, at_bound = alpha[0], converged[0], at_bound[0]
    return model, DispersionFit(alpha, jnp.asarray(rounds), converged, at_bound, result)


def _with_alpha(model, alpha, population: bool):
    """``model`` with ``alpha`` ``(columns,)`` in its observation model (per neuron for a
    population, a scalar for one model)."""
    value = alpha if population else alpha[0]
    return eqx.tree_at(lambda m: glm_of(m).observation.alpha, model, value)
