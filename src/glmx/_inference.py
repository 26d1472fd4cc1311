"""Statistical inference for fitted GLMs: covariances, standard errors, tests, fit statistics.

`inference(model, X, y)` evaluates everything at the model's parameters on the data given,
in one compiled pass (vmapped over neurons for a `PopulationGLM`), and returns an `Inference`
record. Conventions follow statsmodels' ``GLM`` so that numbers can be compared one to one;
the docs (docs/inference.md) list them.

Notation, over the flat parameters ``theta = (coef..., intercept)`` and the rows used (no NaN):
``s_i`` frequency weights, ``S = sum s_i``, ``W`` the information weights (expected or observed,
at unit dispersion), ``I = X1^T diag(W) X1`` with ``X1 = [X, 1]``, ``P = S * Hessian(penalty)``
(zero without a penalty). With ``A = I + P`` on the free coordinates (those not held at zero
by a kink of the penalty, nor masked out):

- model-based covariance: ``scale * A^{-1}`` (the inverse Fisher information scaled by the
  dispersion; for Ridge the penalised, Bayesian-style covariance);
- sandwich (``HC0``/``HC1``/``cluster``): ``A^{-1} M A^{-1}`` with ``M`` the sum of outer
  products of the per-row (or per-cluster) scores;
- effective degrees of freedom ``edf = trace(A^{-1} I)`` (the trace of the hat matrix; the
  number of free parameters without a penalty), ``dof_resid = S - edf``.
"""

import functools

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Bool, Float

from ._design import block_sizes, keys_of
from ._distributions import chi2_sf, f_sf, two_sided_p, two_sided_quantile
from ._fit import (
    _checked,
    _checked_in_graph,
    _fisher_weights,
    _free,
    _masked,
    _observed_weights,
    _per_neuron,
    _setup_one,
    fisher_hessian,
    penalised_objective,
    weighted_gram,
)
from ._linalg import pinv, restricted_to, spd_inverse
from ._glm import GLM, initial_intercept
from ._links import IdentityLink
from ._observations import Gaussian
from ._population import PopulationGLM
from ._regularizers import UnRegularized
from ._repr import ValueRepr
from ._solvers import Curvature, Newton, iterative_solve

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
    design, ``"stim[3]"`` for block ``"stim"`` of a dict design, ``"intercept"`` last).

    **Fields:**
    - ``params`` ``(d,)``: the estimates; ``cov`` ``(d, d)``: their covariance (`cov_type`).
    - ``free`` ``(d,)``: False for coefficients held at zero by the penalty (Lasso zeros) or
      masked out; their standard error is 0 and they are not tested.
    - ``scale``: the dispersion (Pearson chi-squared over ``dof_resid``; 1 for Poisson,
      Bernoulli, negative binomial). ``edf``: effective number of parameters (trace of the hat
      matrix); ``dof_resid = n_obs - edf``; ``dof_model = edf - 1``.
    - ``n_obs``: the weighted number of rows used; ``n_rows``: rows used (not NaN).
    - ``deviance``, ``null_deviance`` (intercept-only model, with the offset),
      ``pearson_chi2``, ``log_likelihood`` and ``null_log_likelihood`` (statsmodels' ``llf``
      and ``llnull``), ``aic``, ``bic`` (log-likelihood based), ``bic_deviance``.
    - ``df_inference``: degrees of freedom of t statistics when ``use_t`` (``dof_resid``, or
      clusters - 1 for ``cov_type="cluster"``).
    """

    params: Float[Array, "*neurons d"]
    cov: Float[Array, "*neurons d d"]
    free: Bool[Array, "*neurons d"]
    scale: Float[Array, "*neurons"]
    edf: Float[Array, "*neurons"]
    dof_resid: Float[Array, "*neurons"]
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

    # --- fit statistics -------------------------------------------------------------------

    @property
    def dof_model(self):
        """``edf - 1``: the model's degrees of freedom beside the intercept."""
        return self.edf - 1.0

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
        """``deviance - dof_resid log(n_obs)``."""
        return self.deviance - self.dof_resid * jnp.log(self.n_obs)

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
        _check_level(level)
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
                raise ValueError(
                    f"restrictions must be a (r, {d}) matrix over the {d} parameters (the "
                    f"{d - 1} coefficients, then the intercept), or names/indices of "
                    f"parameters, or a block name; got shape {R.shape}."
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
                    "and 'intercept'."
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
        _check_level(level)
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
        from ._summary import coefficient_table

        return coefficient_table(self, level)

    def summary(self, level: float | int = 0.95) -> str:
        """A readable report: the model, fit statistics and the coefficient table (for a
        population, one line of statistics per neuron)."""
        from ._summary import summary_text

        return summary_text(self, level)

    def __str__(self) -> str:
        return self.summary()


def _check_level(level) -> None:
    if not (isinstance(level, float | int) and 0 < level < 1):
        raise ValueError(f"level must be a number in (0, 1), e.g. 0.95, got {level!r}.")


# --- the computation, for one neuron ---------------------------------------------------------


def _null_fit(args, start):
    """The intercept of the intercept-only model (with the offset and weights): Newton's method
    on the same objective, with no columns."""
    args0 = eqx.tree_at(
        lambda a: (a.X, a.regularizer, a.feature_mask),
        args,
        (args.X[:, :0], UnRegularized(), None),
        is_leaf=lambda x: x is None,
    )
    curvature = Curvature(functools.partial(fisher_hessian, with_penalty=True), None)
    params = (jnp.zeros((0,), args.X.dtype), start)
    solution = iterative_solve(Newton(), penalised_objective, None, params, args0, curvature)
    return solution.params[1]


def _inference_one(glm: GLM, groups, *data, cov_type, information, n_groups):
    X, x_missing, y = data[0], data[1], data[2]
    args, _, weights, _ = _setup_one(glm, *data)
    observation = glm.observation
    missing = x_missing | jnp.isnan(y)
    coef = _masked(glm.coef, args)
    params = (coef, glm.intercept)
    dtype = coef.dtype
    total = jnp.sum(weights)
    eta = args.X @ coef + glm.intercept + args.offset
    mean = observation.link.inverse(eta)
    d = coef.shape[0] + 1

    # Information at unit dispersion, summed over rows (args.weights are normalised to 1).
    per_row = _fisher_weights if information == "expected" else _observed_weights
    info = weighted_gram(params, args, per_row(params, args) * total, False)
    penalty = jnp.zeros((d, d), dtype)
    penalty = penalty.at[:-1, :-1].set(total * jax.hessian(args.regularizer.penalty)(coef))
    free = _free(params, args)
    both = free[:, None] & free[None, :]
    bread = jnp.where(both, spd_inverse(restricted_to(info + penalty, free)), 0.0)
    edf = jnp.sum(bread * jnp.where(both, info, 0.0))  # trace(bread @ info), both symmetric
    dof_resid = total - edf

    variance = observation.variance(mean)
    residual = jnp.where(missing, 0.0, y - mean)
    pearson = jnp.sum(weights * residual**2 / variance)
    scale = pearson / dof_resid if observation.has_scale else jnp.ones((), dtype)
    n_rows = jnp.sum(~missing).astype(dtype)

    if cov_type == "nonrobust":
        cov = scale * bread
        df_inference = dof_resid
    else:
        # Per-row score of the unit-scale log-likelihood, per unit weight.
        score = residual * observation.link.inverse_derivative(eta) / variance
        k = jnp.sum(free).astype(dtype)
        if cov_type == "cluster":
            # Masked features are not free: their rows and columns of the meat are zeroed below.
            X1 = jnp.concatenate([args.X, jnp.ones((X.shape[0], 1), dtype)], 1)
            sums = jax.ops.segment_sum(X1 * (weights * score)[:, None], groups, n_groups)
            meat = sums.T @ sums
            correction = n_groups / (n_groups - 1.0) * (n_rows - 1.0) / (n_rows - k)
            df_inference = jnp.asarray(n_groups - 1.0, dtype)
        else:
            meat = weighted_gram(params, args, weights * score**2, False)
            correction = n_rows / (n_rows - k) if cov_type == "HC1" else 1.0
            df_inference = dof_resid
        meat = jnp.where(both, meat, 0.0)
        cov = correction * bread @ meat @ bread

    unit_deviance = jnp.where(missing, 0.0, observation.deviance(y, mean))
    deviance = jnp.sum(weights * unit_deviance)
    # The null fit's Cholesky factorisations must not run beside the eigendecomposition above:
    # two batched LAPACK calls at once on XLA's CPU pool can deadlock it (seen with jaxlib 0.10
    # on two cores), so the barrier orders them.
    bread, start = jax.lax.optimization_barrier(
        (bread, initial_intercept(observation, args.y, weights))
    )
    null_eta = _null_fit(args, start) + args.offset
    null_mean = observation.link.inverse(null_eta)
    null_deviance = jnp.sum(weights * jnp.where(missing, 0.0, observation.deviance(y, null_mean)))
    # statsmodels' llf: the Gaussian with identity link at its maximum-likelihood variance.
    llf_scale = scale
    if isinstance(observation, Gaussian) and isinstance(observation.link, IdentityLink):
        llf_scale = jnp.sum(weights * residual**2) / total

    def loglik(m, s):
        return jnp.sum(weights * jnp.where(missing, 0.0, observation.log_likelihood(y, m, s)))

    return dict(
        params=jnp.concatenate([coef, glm.intercept[None]]),
        cov=cov,
        free=free,
        scale=scale,
        edf=edf,
        dof_resid=dof_resid,
        n_obs=total,
        n_rows=n_rows,
        deviance=deviance,
        null_deviance=null_deviance,
        pearson_chi2=pearson,
        log_likelihood=loglik(mean, llf_scale),
        null_log_likelihood=loglik(null_mean, scale),
        df_inference=df_inference,
    )


@eqx.filter_jit
def _inference_core(glm, data, groups, check_in_graph, *, cov_type, information, n_groups):
    data = _checked_in_graph(glm, data, check_in_graph)
    one = functools.partial(
        _inference_one, cov_type=cov_type, information=information, n_groups=n_groups
    )
    axes = () if data.axes is None else (None,)
    return _per_neuron(one, glm, data, groups, leading_axes=axes)


# --- the public entry point --------------------------------------------------------------


def _names_and_blocks(X, n_features: int):
    keys = keys_of(X)
    if keys is None:
        return tuple(f"x[{i}]" for i in range(n_features)) + ("intercept",), ()
    names, blocks, start = [], [], 0
    for key, size in zip(keys, block_sizes(X)):
        names += [f"{key}[{i}]" for i in range(size)]
        blocks.append((key, start, start + size))
        start += size
    return tuple(names) + ("intercept",), tuple(blocks)


def _describe(model) -> str:
    glm = model.glm if isinstance(model, PopulationGLM) else model
    observation, regularizer = glm.observation, glm.regularizer
    return (
        f"{type(observation).__name__} ({type(observation.link).__name__}), "
        f"{type(regularizer).__name__}"
    )


def _cluster_labels(groups, n: int):
    """Host-side: labels ``0..G-1`` and ``G`` from any hashable labels ``(n,)``."""
    if isinstance(groups, jax.core.Tracer):
        raise TypeError(
            "groups must be a concrete array (NumPy or JAX), not a traced value: the number of "
            "clusters fixes the shape of the computation."
        )
    raw = np.asarray(groups)
    if raw.ndim != 1 or raw.shape[0] != n:
        raise ValueError(f"groups must have shape ({n},), one label per row, got {raw.shape}.")
    _, labels = np.unique(raw, return_inverse=True)
    count = int(labels.max()) + 1
    if count < 2:
        raise ValueError("groups has a single cluster; cluster-robust covariance needs 2 or more.")
    return jnp.asarray(labels, jnp.int32), count


def inference(
    model: GLM | PopulationGLM,
    X,
    y,
    *,
    sample_weight=None,
    offset=None,
    cov_type: str = "nonrobust",
    groups=None,
    information: str | None = None,
    use_t: bool = False,
) -> Inference:
    """Covariance, standard errors, tests and fit statistics of a fitted model on ``(X, y)``.

    **Arguments:**
    - ``model``: a fitted `GLM` or `PopulationGLM`.
    - ``X``, ``y``, ``sample_weight``, ``offset``: the data the model was fitted on, as in
      `glmx.fit` (rows with NaN are left out).
    - ``cov_type``: ``"nonrobust"`` (model-based: the inverse information times the
      dispersion), ``"HC0"`` (sandwich), ``"HC1"`` (sandwich times ``n / (n - k)``, ``k`` free
      parameters; statsmodels' GLM returns HC0 for ``"HC1"``) or ``"cluster"``
      (cluster-robust by ``groups``, times ``G / (G - 1) (n - 1) / (n - k)`` as statsmodels).
    - ``groups``: ``(n,)`` cluster labels (trials, sessions) for ``cov_type="cluster"``.
    - ``information``: the curvature in the covariance: ``"expected"`` (the Fisher information)
      or ``"observed"`` (the Hessian of the log-likelihood); they differ only for
      non-canonical links (Gamma or negative binomial with a log link, ...). Default, as
      statsmodels: expected for ``"nonrobust"``, observed for the sandwiches (whose bread
      must be the Hessian to stay valid when the variance function is wrong).
    - ``use_t``: t and F reference distributions with ``df_inference`` degrees of freedom
      instead of the normal and chi-squared.

    For a `Ridge` (and the L2 part of `ElasticNet`), the information includes the penalty's
    curvature: the covariance is the penalised (Bayesian-style) one and ``edf`` is the trace of
    the hat matrix. For Lasso-type penalties, coefficients held at zero are reported with zero
    standard error, and the others' intervals are conditional on that selection (they do not
    account for it).

    **Returns:** an `Inference` (per neuron for populations, computed under ``vmap``).

    **Example:**
    ```python
    model, _ = glmx.fit(glmx.GLM(glmx.Poisson()), X, y)
    info = glmx.inference(model, X, y, cov_type="HC1")
    print(info.summary())
    info.p_values, info.conf_int(0.9), info.wald_test(["x[1]", "x[2]"]).p_value
    ```
    """
    if cov_type not in COV_TYPES:
        raise ValueError(f"cov_type must be one of {COV_TYPES}, got {cov_type!r}.")
    if information is None:
        information = "expected" if cov_type == "nonrobust" else "observed"
    if information not in INFORMATION:
        raise ValueError(f"information must be one of {INFORMATION}, got {information!r}.")
    if not isinstance(use_t, bool):
        raise TypeError(f"use_t must be True or False, got {use_t!r}.")
    if not isinstance(model, GLM | PopulationGLM):
        raise TypeError(
            f"model must be a fitted glmx.GLM or glmx.PopulationGLM, got {type(model).__name__}."
        )
    if model.coef is None:
        raise ValueError("model has no coefficients; fit it first with glmx.fit(model, X, y).")
    _, inputs, glm, data = _checked(model, X, y, None, sample_weight, offset)
    n = data.X.shape[-2]
    if (groups is None) != (cov_type != "cluster"):
        raise ValueError(
            'groups must be given exactly when cov_type="cluster" (one cluster label per row).'
        )
    if groups is None:
        labels, n_groups = jnp.zeros(n, jnp.int32), 1
    else:
        labels, n_groups = _cluster_labels(groups, n)
    values = _inference_core(
        glm,
        data,
        labels,
        inputs.traced,
        cov_type=cov_type,
        information=information,
        n_groups=n_groups,
    )
    names, blocks = _names_and_blocks(inputs.X, data.X.shape[-1])
    return Inference(
        **values,
        names=names,
        blocks=blocks,
        cov_type=cov_type,
        information=information,
        use_t=use_t,
        description=_describe(model),
    )


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
