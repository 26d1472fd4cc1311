"""The records of inference: `Inference` (estimates, covariance, fit statistics, and what is
derived from them: standard errors, p-values, intervals, Wald tests, filter bands) and
`TestResult`; `likelihood_ratio_test` compares two records. Host-side logic and small array
algebra only: the computation that fills an `Inference` lives in `_compute`."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Bool, Float

from .._linalg import pinv
from .._repr import ValueRepr
from ._distributions import chi2_sf, f_sf, two_sided_p, two_sided_quantile
from ._summary import coefficient_table, summary_text

COV_TYPES = ("nonrobust", "HC0", "HC1", "cluster")
INFORMATION = ("expected", "observed")


class TestResult(ValueRepr):
    """A test's statistic, degrees of freedom and p-value (per neuron for populations).

    ``distribution`` is ``"chi2"`` or ``"F"`` (then ``df_denominator`` is set).
    """

    statistic: Float[Array, "*neurons"]
    df: Float[Array, "*neurons"]
    p_value: Float[Array, "*neurons"]
    df_denominator: Float[Array, "*neurons"] | None = None
    distribution: str = eqx.field(static=True, default="chi2")


class Inference(ValueRepr):
    """Inference for a fitted GLM, as returned by `glmx.inference`. For a `PopulationGLM` every
    array has a leading neuron axis; `neuron(k)` selects one.

    Parameters are flat, ``(coef..., intercept)``, named by `names` (``"x[3]"`` for an array
    design, ``"stim[3]"`` for block ``"stim"`` of a dict design, ``"intercept"`` last); a model
    without an intercept (``fit_intercept=False``) has the coefficients only.

    **Fields:**

    - ``params`` ``(d,)``: the estimates; ``cov`` ``(d, d)``: their covariance (`cov_type`).
    - ``free`` ``(d,)``: False for coefficients held at zero by the penalty (Lasso zeros) or
      masked out; their standard error is 0 and they are not tested.
    - ``scale``: the dispersion (Pearson chi-squared over ``dof_resid_effective``; 1 for Poisson,
      Bernoulli, negative binomial). ``edf``: effective number of parameters (trace of the hat
      matrix); ``dof_resid_effective = n_obs - edf``; ``dof_model = edf - 1``. Without a
      penalty with curvature these equal the fit's counts (`FitResult.dof_resid`, and the
      model's ``scale``); with Ridge-type penalties the effective count is smaller.
    - ``identified`` ``(d,)``: False for the parameters of an unpenalised model that a linear
      dependency among the columns of ``X`` (with the intercept) leaves unidentified; their
      rows and columns of ``cov`` (so their standard errors) are NaN.
    - ``n_obs``: the weighted number of rows used; ``n_rows``: rows used (not NaN).
    - ``deviance``, ``null_deviance`` (intercept-only model, with the offset),
      ``pearson_chi2``, ``log_likelihood`` and ``null_log_likelihood`` (statsmodels' ``llf``
      and ``llnull``), ``aic``, ``bic`` (log-likelihood based), ``bic_deviance``.
    - ``df_inference``: degrees of freedom of t statistics when ``use_t``
      (``dof_resid_effective``, or clusters - 1 for ``cov_type="cluster"``).
    """

    params: Float[Array, "*neurons d"]
    cov: Float[Array, "*neurons d d"]
    free: Bool[Array, "*neurons d"]
    scale: Float[Array, "*neurons"]
    edf: Float[Array, "*neurons"]
    dof_resid_effective: Float[Array, "*neurons"]
    n_obs: Float[Array, "*neurons"]
    n_rows: Float[Array, "*neurons"]
    deviance: Float[Array, "*neurons"]
    null_deviance: Float[Array, "*neurons"]
    pearson_chi2: Float[Array, "*neurons"]
    log_likelihood: Float[Array, "*neurons"]
    null_log_likelihood: Float[Array, "*neurons"]
    df_inference: Float[Array, "*neurons"]
    names: tuple[str, ...] = eqx.field(static=True)
    blocks: tuple[tuple[str, int, int], ...] = eqx.field(static=True)
    cov_type: str = eqx.field(static=True)
    information: str = eqx.field(static=True)
    use_t: bool = eqx.field(static=True)
    description: str = eqx.field(static=True)
    fit_intercept: bool = eqx.field(static=True, default=True)
    identified: Bool[Array, "*neurons d"] | None = None

    # --- fit statistics -------------------------------------------------------------------

    @property
    def dof_model(self):
        """``edf - 1``: the model's degrees of freedom beside the intercept (``edf`` for a
        model without one)."""
        return self.edf - float(self.fit_intercept)

    @property
    def aic(self):
        """``-2 log_likelihood + 2 edf``."""
        return -2.0 * self.log_likelihood + 2.0 * self.edf

    @property
    def bic(self):
        """``-2 log_likelihood + edf log(n_obs)``."""
        return -2.0 * self.log_likelihood + self.edf * jnp.log(self.n_obs)

    @property
    def bic_deviance(self):
        """``deviance - dof_resid_effective log(n_obs)``."""
        return self.deviance - self.dof_resid_effective * jnp.log(self.n_obs)

    @property
    def pseudo_r2_mcfadden(self):
        """``1 - log_likelihood / null_log_likelihood``."""
        return 1.0 - self.log_likelihood / self.null_log_likelihood

    @property
    def pseudo_r2_cohen(self):
        """``1 - deviance / null_deviance``: the deviance explained."""
        return 1.0 - self.deviance / self.null_deviance

    # --- per-parameter statistics ----------------------------------------------------------

    @property
    def std_errors(self) -> Float[Array, "*neurons d"]:
        """Standard errors ``sqrt(diag(cov))`` (0 for coefficients that are not free)."""
        variance = jnp.diagonal(self.cov, axis1=-2, axis2=-1)
        return jnp.sqrt(jnp.maximum(variance, 0.0))

    @property
    def statistics(self) -> Float[Array, "*neurons d"]:
        """Wald statistics ``params / std_errors`` (z, or t when ``use_t``); 0 where the
        standard error is 0."""
        se = self.std_errors
        return jnp.where(se > 0, self.params / jnp.where(se > 0, se, 1.0), 0.0)

    @property
    def p_values(self) -> Float[Array, "*neurons d"]:
        """Two-sided p-values of ``parameter = 0`` (1 for coefficients that are not free)."""
        df = self._df()
        p = two_sided_p(self.statistics, df)
        return jnp.where(self.std_errors > 0, p, 1.0)

    def conf_int(self, level: float | int = 0.95) -> Float[Array, "*neurons d 2"]:
        """Confidence intervals ``params -+ q std_errors``, shape ``(..., d, 2)``; ``q`` the
        normal (or t) quantile for a two-sided ``level``."""
        check_level(level)
        df = self.df_inference if self.use_t else None
        q = two_sided_quantile(level, df, self.params.dtype)
        half = jnp.asarray(q)[..., None] * self.std_errors
        return jnp.stack([self.params - half, self.params + half], axis=-1)

    def _df(self):
        return self.df_inference[..., None] if self.use_t else None

    # --- tests and bands --------------------------------------------------------------------

    def wald_test(self, restrictions, value=None) -> TestResult:
        """Wald test of the linear hypothesis ``R theta = value``.

        **Arguments:**

        - ``restrictions``: the matrix ``R`` ``(r, d)`` over the flat parameters; or a block
          name of a dict design (all its coefficients are zero); or a list of parameter names
          or indices (those parameters are zero).
        - ``value``: ``(r,)``, default zeros.

        **Returns:** a `TestResult`: chi-squared with ``r`` degrees of freedom, or F with
        ``(r, df_inference)`` when ``use_t`` (as statsmodels' ``wald_test``).
        """
        R = self._restriction_matrix(restrictions)
        r = R.shape[0]
        q = jnp.zeros(r, self.params.dtype) if value is None else jnp.asarray(value)
        if q.shape[-1] != r:
            raise ValueError(f"value has {q.shape[-1]} entries but there are {r} restrictions.")
        diff = jnp.einsum("rd,...d->...r", R, self.params) - q
        middle = jnp.einsum("rd,...de,se->...rs", R, self.cov, R)
        statistic = jnp.einsum("...r,...rs,...s->...", diff, pinv(middle), diff)
        df = jnp.full(statistic.shape, float(r), statistic.dtype)
        if self.use_t:
            f = statistic / r
            p = f_sf(f, r, self.df_inference)
            return TestResult(f, df, p, self.df_inference, "F")
        return TestResult(statistic, df, chi2_sf(statistic, r))

    def _restriction_matrix(self, restrictions) -> Array:
        d = len(self.names)
        if isinstance(restrictions, str):
            spans = {name: (start, stop) for name, start, stop in self.blocks}
            if restrictions not in spans:
                raise ValueError(
                    f"restrictions names block {restrictions!r}, but the design's blocks are "
                    f"{sorted(spans)}."
                )
            start, stop = spans[restrictions]
            indices = list(range(start, stop))
        elif isinstance(restrictions, list | tuple) and all(
            isinstance(r, str | int | np.integer) for r in restrictions
        ):
            indices = [self._index(r) for r in restrictions]
        else:
            R = jnp.asarray(restrictions)
            if R.ndim == 1:
                R = R[None, :]
            if R.ndim != 2 or R.shape[1] != d:
                order = (
                    f"the {d - 1} coefficients, then the intercept"
                    if self.fit_intercept
                    else f"the {d} coefficients; the model has no intercept"
                )
                raise ValueError(
                    f"restrictions must be a (r, {d}) matrix over the {d} parameters ({order}), "
                    f"or names/indices of parameters, or a block name; got shape {R.shape}."
                )
            return R.astype(self.params.dtype)
        if not indices:
            raise ValueError("restrictions selects no parameters.")
        return jnp.eye(d, dtype=self.params.dtype)[jnp.asarray(indices)]

    def _index(self, name) -> int:
        if isinstance(name, str):
            if name not in self.names:
                raise ValueError(
                    f"{name!r} is not a parameter name; names are like {list(self.names[:3])} "
                    f"and {self.names[-1]!r}."
                )
            return self.names.index(name)
        if not 0 <= int(name) < len(self.names):
            raise ValueError(f"parameter index {name} is out of range [0, {len(self.names)}).")
        return int(name)

    def filter_band(self, basis, block: str | None = None, columns=None, level: float | int = 0.95):
        """A filter ``basis @ coefficients`` and its pointwise confidence band.

        **Arguments:**

        - ``basis``: ``(window, k)``, e.g. `glmx.raised_cosine_log_basis`.
        - ``block``: the dict design's block holding the ``k`` coefficients; or ``columns``, a
          sequence of ``k`` parameter indices (for array designs).
        - ``level``: the band's coverage at each lag (not simultaneous).

        **Returns:** ``(filter, lower, upper)``, each ``(window,)`` (``(neurons, window)`` for
        a population). The band is ``filter -+ q sqrt(diag(B C B^T))`` with ``C`` the
        coefficients' covariance.
        """
        check_level(level)
        if (block is None) == (columns is None):
            raise ValueError("give exactly one of block (a dict design's key) or columns.")
        if block is not None:
            spans = {name: (start, stop) for name, start, stop in self.blocks}
            if block not in spans:
                raise ValueError(f"block {block!r} is not one of the design's {sorted(spans)}.")
            index = np.arange(*spans[block])
        else:
            index = np.array([self._index(c) for c in columns])
        basis = jnp.asarray(basis, self.params.dtype)
        if basis.ndim != 2 or basis.shape[1] != index.size:
            raise ValueError(
                f"basis must be (window, {index.size}) for {index.size} coefficients, got shape "
                f"{basis.shape}."
            )
        coef = self.params[..., index]
        cov = self.cov[..., index[:, None], index[None, :]]
        filt = jnp.einsum("wk,...k->...w", basis, coef)
        variance = jnp.einsum("wk,...kl,wl->...w", basis, cov, basis)
        q = two_sided_quantile(
            level, self.df_inference[..., None] if self.use_t else None, coef.dtype
        )
        half = q * jnp.sqrt(jnp.maximum(variance, 0.0))
        return filt, filt - half, filt + half

    def neuron(self, k: int) -> "Inference":
        """The record of neuron ``k`` of a population."""
        if self.params.ndim != 2:
            raise ValueError("neuron(k) applies to the inference of a PopulationGLM.")
        dynamic, static = eqx.partition(self, eqx.is_array)
        return eqx.combine(jax.tree.map(lambda x: x[k], dynamic), static)

    def table(self, level: float | int = 0.95) -> dict:
        """The coefficient table as a dict of NumPy columns (``name``, ``coef``, ``std_err``,
        ``statistic``, ``p_value``, ``lower``, ``upper``): ready for ``pandas.DataFrame``."""
        return coefficient_table(self, level)

    def summary(self, level: float | int = 0.95) -> str:
        """A readable report: the model, fit statistics and the coefficient table (for a
        population, one line of statistics per neuron)."""
        return summary_text(self, level)

    def __str__(self) -> str:
        return self.summary()


def check_level(level) -> None:
    if not (isinstance(level, float | int) and 0 < level < 1):
        raise ValueError(f"level must be a number in (0, 1), e.g. 0.95, got {level!r}.")


def likelihood_ratio_test(restricted: Inference, full: Inference) -> TestResult:
    """Likelihood-ratio test of a restricted model nested in a full one (same data, family).

    The statistic is the drop in deviance, ``deviance(restricted) - deviance(full)``, which is
    ``2 (llf_full - llf_restricted)`` for families with a fixed dispersion; for Gamma and
    Gaussian it is divided by the full model's estimated dispersion (an analysis of deviance).
    Degrees of freedom: ``edf(full) - edf(restricted)``; chi-squared reference.

    **Example:**
    ```python
    test = glmx.likelihood_ratio_test(glmx.inference(small, X[:, :2], y), glmx.inference(big, X, y))
    ```
    """
    for name, value in (("restricted", restricted), ("full", full)):
        if not isinstance(value, Inference):
            raise TypeError(f"{name} must come from glmx.inference, got {type(value).__name__}.")
    if restricted.description.split(",")[0] != full.description.split(",")[0]:
        raise ValueError(
            f"restricted is {restricted.description} but full is {full.description}; nested "
            "models share the observation model."
        )
    if restricted.params.shape[:-1] != full.params.shape[:-1]:
        raise ValueError("restricted and full must both be single models or equal populations.")
    drop = restricted.deviance - full.deviance
    statistic = drop / full.scale
    df = full.edf - restricted.edf
    return TestResult(statistic, df, chi2_sf(statistic, df))
