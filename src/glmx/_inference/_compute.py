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
  number of free parameters without a penalty), ``dof_resid_effective = S - edf``.
"""

import functools
import warnings

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._arrays import is_traced
from .._categorical_glm import CategoricalGLM, PopulationCategoricalGLM
from .._checks import run_checked
from .._data import Data, glm_of, map_neurons, prepare
from .._design import block_sizes, keys_of
from .._glm import GLM, initial_intercept
from .._identifiability import IdentifiabilityWarning, identify
from .._linalg import restricted_to, spd_inverse
from .._links import IdentityLink
from .._objective import (
    fisher_hessian,
    fisher_weights,
    free_coordinates,
    masked,
    observed_weights,
    penalised_objective,
    predictor,
    weighted_gram,
)
from .._observations import Gaussian
from .._population import PopulationGLM
from .._problem import setup, small_counts
from .._regularizers import UnRegularized
from .._solvers import Curvature, Newton, iterative_solve
from ._record import COV_TYPES, INFORMATION, Inference

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


def _inference_one(glm: GLM, rows, use_table, groups, cov_type, information, n_groups):
    args, _, weights = setup(glm, rows, use_table)
    observation, missing, y = glm.observation, rows.missing, args.y
    coef = masked(glm.coef, args)
    params = (coef, glm.intercept)
    dtype = coef.dtype
    total = jnp.sum(weights)
    eta = predictor(params, args)
    mean = observation.link.inverse(eta)
    d = coef.shape[0] + 1

    # Information at unit dispersion, summed over rows (args.weights are normalised to 1).
    per_row = fisher_weights if information == "expected" else observed_weights
    info = weighted_gram(params, args, per_row(params, args) * total, False)
    penalty = jnp.zeros((d, d), dtype)
    penalty = penalty.at[:-1, :-1].set(total * jax.hessian(args.regularizer.penalty)(coef))
    free = free_coordinates(params, args)
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
            X1 = jnp.concatenate([args.X, jnp.ones((args.X.shape[0], 1), dtype)], 1)
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
    null_eta = args.offset + (_null_fit(args, start) if glm.fit_intercept else 0.0)
    null_mean = observation.link.inverse(null_eta)
    null_deviance = jnp.sum(weights * jnp.where(missing, 0.0, observation.deviance(y, null_mean)))
    # statsmodels' llf: the Gaussian with identity link at its maximum-likelihood variance.
    llf_scale = scale
    if isinstance(observation, Gaussian) and isinstance(observation.link, IdentityLink):
        llf_scale = jnp.sum(weights * residual**2) / total

    def loglik(m, s):
        return jnp.sum(weights * jnp.where(missing, 0.0, observation.log_likelihood(y, m, s)))

    # Without an intercept, the parameters are the coefficients only.
    d = d if glm.fit_intercept else d - 1
    return dict(
        params=jnp.concatenate([coef, glm.intercept[None]])[:d],
        cov=cov[:d, :d],
        free=free[:d],
        scale=scale,
        edf=edf,
        dof_resid_effective=dof_resid,
        n_obs=total,
        n_rows=n_rows,
        deviance=deviance,
        null_deviance=null_deviance,
        pearson_chi2=pearson,
        log_likelihood=loglik(mean, llf_scale),
        null_log_likelihood=loglik(null_mean, scale),
        df_inference=df_inference,
    )


def _inference_work(glm: GLM, data: Data, groups, cov_type, information, n_groups):
    return map_neurons(
        _inference_one,
        glm,
        data,
        small_counts(data.y),
        groups,
        cov_type,
        information,
        n_groups,
    )


# --- the public entry point --------------------------------------------------------------


def _names_and_blocks(X, n_features: int, fit_intercept: bool):
    last = ("intercept",) if fit_intercept else ()
    keys = keys_of(X)
    if keys is None:
        return tuple(f"x[{i}]" for i in range(n_features)) + last, ()
    names, blocks, start = [], [], 0
    for key, size in zip(keys, block_sizes(X)):
        names += [f"{key}[{i}]" for i in range(size)]
        blocks.append((key, start, start + size))
        start += size
    return tuple(names) + last, tuple(blocks)


def _warn_if_unidentified(identified, names) -> None:
    if is_traced(identified) or bool(np.all(np.asarray(identified))):
        return
    lost = np.flatnonzero(~np.all(np.asarray(identified).reshape(-1, len(names)), axis=0))
    listed = ", ".join(names[j] for j in lost)
    warnings.warn(
        f"glmx.inference: {listed} are not identified: the columns of X (with the intercept) "
        "are linearly dependent to the dtype's precision, so their covariance and standard "
        "errors are NaN; drop or combine those columns, or fit with a penalty.",
        IdentifiabilityWarning,
        stacklevel=3,
    )


def _describe(model) -> str:
    observation, regularizer = glm_of(model).observation, glm_of(model).regularizer
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
    model: GLM | PopulationGLM | CategoricalGLM | PopulationCategoricalGLM,
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
    if isinstance(model, CategoricalGLM | PopulationCategoricalGLM):
        raise TypeError(
            f"glmx.inference takes a GLM or PopulationGLM, got {type(model).__name__}; use "
            "glmx.categorical_inference for categorical models."
        )
    if not isinstance(model, GLM | PopulationGLM):
        raise TypeError(
            f"model must be a fitted glmx.GLM or glmx.PopulationGLM, got {type(model).__name__}."
        )
    if model.coef is None:
        raise ValueError("model has no coefficients; fit it first with glmx.fit(model, X, y).")
    glm, data = prepare(model, X, y, sample_weight, offset)
    n = data.y.shape[0]
    if (groups is None) != (cov_type != "cluster"):
        raise ValueError(
            'groups must be given exactly when cov_type="cluster" (one cluster label per row).'
        )
    if groups is None:
        labels, n_groups = jnp.zeros(n, jnp.int32), 1
    else:
        labels, n_groups = _cluster_labels(groups, n)
    values = run_checked(_inference_work, glm, data, labels, cov_type, information, n_groups)
    # An unpenalised model on linearly dependent columns: the parameters in a dependency have
    # no standard error (the pseudo-inverse would give one that means nothing).
    d = values["params"].shape[-1]
    if isinstance(glm.regularizer, UnRegularized):
        identified = ~identify(glm.fit_intercept, data)[..., :d]
    else:
        identified = jnp.ones(values["params"].shape, bool)
    both = identified[..., :, None] & identified[..., None, :]
    values["cov"] = jnp.where(both, values["cov"], jnp.nan)
    values["identified"] = identified
    names, blocks = _names_and_blocks(data.X, data.n_features, glm.fit_intercept)
    _warn_if_unidentified(values["identified"], names)
    return Inference(
        **values,
        names=names,
        blocks=blocks,
        fit_intercept=glm.fit_intercept,
        cov_type=cov_type,
        information=information,
        use_t=use_t,
        description=_describe(model),
    )
