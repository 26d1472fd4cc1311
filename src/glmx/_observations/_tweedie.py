"""The Tweedie family with ``1 < power < 2``: compound Poisson-Gamma, for non-negative signals
with exact zeros.

``y`` is the sum of ``N ~ Poisson(lambda)`` Gamma variables, ``lambda = mu^(2-p) / (phi (2-p))``,
each of shape ``k = (2-p) / (p-1)`` and scale ``phi (p-1) mu^(p-1)``, so that ``E y = mu`` and
``Var y = phi mu^p``. Its log-density is ``(y theta - kappa) / phi + log a(y, phi)`` with
``theta = mu^(1-p) / (1-p)``, ``kappa = mu^(2-p) / (2-p)`` (the kernel, all a fit needs), and
``a(0, phi) = 1`` (so ``P(y = 0) = exp(-lambda)``) and, for ``y > 0``,
``a(y, phi) = sum_{j >= 1} W_j``, the series of Dunn and Smyth (2005, Statistics and
Computing 15, 267-280), with

    log W_j = j (k log y - log(phi (2-p)) - k log(phi (p-1))) - lgamma(j+1) - lgamma(j k) - log y.

The terms peak near ``j* = y^(2-p) / (phi (2-p))`` and, as a function of ``j``, fall off roughly
like a Gaussian of standard deviation ``sd = sqrt(j* (p-1))`` (more slowly to the right, like a
Poisson's). `log_series` sums `SERIES_TERMS` terms from ``max(1, j* - 32 h)`` on, every ``h``-th
one weighted by ``h``, with ``h = max(1, ceil(8 sd / 32))``: consecutive terms over eight
standard deviations either side of the peak while that fits, and otherwise terms at most about
half a standard deviation apart, a sampling of a smooth sum whose error is far below rounding.
Against the sum of every term the result agrees to 1e-13 (relative) over powers from 1.05 to
1.999 and peaks from 0.05 to 30,000 (tests/test_families.py). It is one compiled loop of fixed
length, differentiable in ``y``, ``phi`` and ``p``; its cost is 64 pairs of ``lgamma`` per
sample.
"""

from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import gammaln
from jaxtyping import Array, Float

from .._arrays import as_float_leaf, is_traced
from .._links import AbstractLink, LogLink, SoftplusLink
from ._base import AbstractObservation, float_like

#: Terms of the series summed per sample.
SERIES_TERMS = 64
#: Standard deviations of the terms (as a function of ``j``) covered either side of the peak.
SERIES_WIDTH = 8.0


def _power_problem(power) -> Array:
    return ~jnp.isfinite(power) | (power <= 1.0) | (power >= 2.0)


_POWER_RULE = "Tweedie power must be between 1 and 2 (exclusive)"


def log_series(y, scale, power):
    """``log a(y, phi)`` for ``y > 0`` (any finite value where ``y <= 0``, which the caller
    replaces): the log of the Dunn-Smyth series, summed in a numerically stable way.

    **Arguments:** ``y``, ``scale`` (``phi``) and ``power`` (``p``), broadcastable arrays.

    **Returns:** an array of their broadcast shape, in their floating dtype.
    """
    y, scale, power = jnp.broadcast_arrays(y, scale, power)
    y = jnp.where(y > 0, y, 1.0)
    shape = (2.0 - power) / (power - 1.0)
    log_rate = -jnp.log(scale * (2.0 - power))
    per_term = shape * jnp.log(y) + log_rate - shape * jnp.log(scale * (power - 1.0))
    # The peak and the width are structure of the sum (where its terms are taken), not values
    # that the result depends on smoothly, so no derivative flows through them.
    peak = jax.lax.stop_gradient(jnp.exp((2.0 - power) * jnp.log(y) + log_rate))
    spread = jnp.sqrt(peak * jax.lax.stop_gradient(power - 1.0))
    half = SERIES_TERMS // 2
    step = jnp.maximum(1.0, jnp.ceil(SERIES_WIDTH * spread / half))
    start = jnp.maximum(1.0, jnp.round(peak) - half * step)

    def log_term(j):
        return j * per_term - gammaln(j + 1.0) - gammaln(j * shape)

    # Each term relative to the one nearest the peak, which no term exceeds by much, so the
    # running sum neither overflows nor underflows where it matters.
    top = log_term(jnp.maximum(1.0, jnp.round(peak)))

    def add(i, total):
        return total + jnp.exp(log_term(start + i * step) - top)

    total = jax.lax.fori_loop(0, SERIES_TERMS, add, jnp.zeros_like(y))
    return top + jnp.log(total) + jnp.log(step) - jnp.log(y)


class Tweedie(AbstractObservation):
    """Compound Poisson-Gamma (Tweedie with ``1 < power < 2``): ``Var(y) = scale * mu^power``,
    for non-negative signals with exact zeros (deconvolved calcium activity, for instance).

    ``y`` is a sum of a Poisson number of Gamma variables: with ``lambda = mu^(2-p) / (scale
    (2-p))`` summands, each of shape ``(2-p) / (p-1)`` and scale ``scale (p-1) mu^(p-1)``, and
    ``P(y = 0) = exp(-lambda)``. The dispersion ``scale`` is estimated by the fit (Pearson);
    the log-likelihood sums the series density of Dunn and Smyth (2005).

    **Arguments:**

    - ``power``: the variance power ``p``, an array leaf with ``1 < p < 2`` (default 1.5; one
      value per neuron in a `PopulationGLM`). Like `NegativeBinomial`'s ``alpha``, it is a
      hyperparameter of the fit, not estimated by it, and a new value does not recompile.
      ``p`` near 1 is Poisson-like, near 2 Gamma-like.
    - ``link``: `LogLink()` (default) or `SoftplusLink()`.

    **Raises:** ``ValueError`` for a concrete ``power`` outside ``(1, 2)`` (a traced one is
    checked by the fit).

    **Example:**
    ```python
    model, result = glmx.fit(glmx.GLM(glmx.Tweedie(1.4), glmx.Ridge(1e-3)), X, y)
    ```
    """

    power: Float[Array, "*neurons"] = eqx.field(default=1.5, converter=as_float_leaf)
    link: AbstractLink = LogLink()
    support: ClassVar[str] = "non-negative values"
    has_scale: ClassVar[bool] = True
    mean_range: ClassVar[tuple[float | None, float | None]] = (0.0, None)
    links: ClassVar[tuple[type, ...]] = (LogLink, SoftplusLink)

    def __check_init__(self):
        if not is_traced(self.power) and np.any(_power_problem(np.asarray(self.power))):
            raise ValueError(f"{_POWER_RULE}, got {np.asarray(self.power).tolist()}.")

    def value_checks(self):
        return [(jnp.any(_power_problem(self.power)), _POWER_RULE, self.power)]

    def _power(self, like):
        return float_like(self.power, like)

    def log_likelihood(self, y, mean, scale=1.0):
        kernel = self._kernel(y, jnp.log(mean), self._power(mean))
        return kernel / float_like(scale, mean) + self.constant_log_likelihood(y, scale)

    def _kernel(self, y, log_mean, power):
        """``y mu^(1-p) / (1-p) - mu^(2-p) / (2-p)`` from ``log(mu)``."""
        positive = y > 0
        # Rows with y = 0 never evaluate mu^(1-p), which overflows where mu underflows.
        safe = jnp.where(positive, log_mean, 0.0)
        linear = jnp.where(positive, y * jnp.exp((1.0 - power) * safe), 0.0) / (1.0 - power)
        return linear - jnp.exp((2.0 - power) * log_mean) / (2.0 - power)

    def kernel_log_likelihood(self, y, eta, scale=1.0):
        kernel = self._kernel(y, self.link.log_inverse(eta), self._power(eta))
        return kernel / float_like(scale, eta)

    def constant_log_likelihood(self, y, scale=1.0):
        series = log_series(y, float_like(scale, y), self._power(y))
        return jnp.where(y > 0, series, 0.0)

    def deviance(self, y, mean):
        power = self._power(mean)
        positive = y > 0
        at_y = jnp.where(positive, jnp.where(positive, y, 1.0) ** (2.0 - power), 0.0)
        saturated = at_y / ((1.0 - power) * (2.0 - power))
        return 2.0 * (saturated - self._kernel(y, jnp.log(mean), power))

    def variance(self, mean):
        return mean ** self._power(mean)

    def sample(self, key, mean, scale=1.0):
        count_key, size_key = jax.random.split(key)
        dtype = jnp.result_type(mean)
        power, scale = self._power(mean), float_like(scale, mean)
        rate = mean ** (2.0 - power) / (scale * (2.0 - power))
        count = jax.random.poisson(count_key, rate, jnp.shape(mean)).astype(dtype)
        # N Gamma summands of shape k add up to one Gamma of shape N k.
        total_shape = jnp.where(count > 0, count * (2.0 - power) / (power - 1.0), 1.0)
        draws = jax.random.gamma(size_key, total_shape, jnp.shape(mean), dtype)
        return jnp.where(count > 0, draws * scale * (power - 1.0) * mean ** (power - 1.0), 0.0)

    def in_support(self, y):
        return y >= 0
