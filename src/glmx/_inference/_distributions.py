"""Tail probabilities and quantiles of the reference distributions of tests, in JAX.

``jax.scipy.stats`` has the normal and chi-squared tails but not Student's t or Fisher's F;
these follow from the regularised incomplete beta function. Everything is elementwise and works
under ``jit``, ``vmap`` and ``grad``.
"""

import jax
import jax.numpy as jnp
from jax.scipy.special import betainc
from jax.scipy.stats import chi2, norm
from jaxtyping import Array, ArrayLike, Float


def two_sided_p(statistic: Float[Array, "*k"], df: ArrayLike | None) -> Float[Array, "*k"]:
    """``P(|T| >= |statistic|)`` for a standard normal ``T`` (``df=None``) or Student's t with
    ``df`` degrees of freedom."""
    statistic = jnp.abs(statistic)
    if df is None:
        return 2.0 * norm.sf(statistic)
    df = jnp.asarray(df, statistic.dtype)
    return betainc(df / 2.0, 0.5, df / (df + statistic**2))


def two_sided_quantile(level: float, df: ArrayLike | None, dtype) -> Float[Array, "*k"]:
    """The ``q`` with ``P(|T| <= q) = level`` (normal when ``df`` is ``None``, else t(df))."""
    tail = jnp.asarray((1.0 - level) / 2.0, dtype)
    if df is None:
        return norm.isf(tail)
    df = jnp.asarray(df, dtype)

    # Bisection on the t tail: 100 halvings of [0, 1e6] reach float64's resolution.
    def body(_, bounds):
        low, high = bounds
        middle = 0.5 * (low + high)
        too_small = two_sided_p(middle, df) / 2.0 > tail
        return jnp.where(too_small, middle, low), jnp.where(too_small, high, middle)

    start = (jnp.zeros_like(df), jnp.full_like(df, 1e6))
    low, high = jax.lax.fori_loop(0, 100, body, start)
    return 0.5 * (low + high)


def chi2_sf(statistic: Float[Array, "*k"], df: ArrayLike) -> Float[Array, "*k"]:
    """``P(X >= statistic)`` for a chi-squared ``X`` with ``df`` degrees of freedom."""
    return chi2.sf(statistic, jnp.asarray(df, jnp.result_type(statistic)))


def f_sf(statistic: Float[Array, "*k"], df_num: ArrayLike, df_den: ArrayLike) -> Float[Array, "*k"]:
    """``P(F >= statistic)`` for Fisher's F with ``(df_num, df_den)`` degrees of freedom."""
    dtype = jnp.result_type(statistic)
    d1, d2 = jnp.asarray(df_num, dtype), jnp.asarray(df_den, dtype)
    x = d2 / (d2 + d1 * jnp.maximum(statistic, 0.0))
    return betainc(d2 / 2.0, d1 / 2.0, x)
