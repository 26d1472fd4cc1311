"""Inference for categorical GLMs: the covariance of the free parameters and standard errors."""

import jax.numpy as jnp
from jaxtyping import Array, Float

from ._categorical_glm import CategoricalGLM, PopulationCategoricalGLM
from ._categorical_problem import covariance_one, prepare_categorical
from ._checks import run_checked
from ._data import Data, map_neurons
from ._repr import ValueRepr


class CategoricalInference(ValueRepr):
    """Standard errors of a fitted categorical GLM (a leading member axis for populations).

    **Fields:**

    - ``covariance``: ``(d, d)``, the covariance of the free parameters, flat in the order
      coefficients (row-major over ``(p, m)``: feature by feature, the free classes within),
      then the intercepts of classes ``1 .. K-1``. ``m`` is ``K-1`` without a penalty (classes
      ``1 .. K-1``, class 0 the reference: statsmodels' ``MNLogit.cov_params()``) and ``K``
      with one.
    - ``coef_se``: ``(p, K)``, standard errors of ``coef``; zero where a coefficient is held
      (the reference class, or at zero by a Lasso-type penalty).
    - ``intercept_se``: ``(K,)``, standard errors of ``intercept``; zero for class 0, whose
      intercept is held (and, for penalised fits, of the intercepts relative to class 0's).
    """

    covariance: Float[Array, "*neurons d d"]
    coef_se: Float[Array, "*neurons p K"]
    intercept_se: Float[Array, "*neurons K"]


def _inference_one(glm: CategoricalGLM, rows) -> CategoricalInference:
    covariance = covariance_one(glm, rows)
    se = jnp.sqrt(jnp.maximum(jnp.diagonal(covariance), 0.0))
    p, K = glm.coef.shape
    n_coef = se.shape[0] - (K - 1)
    coef_se = se[:n_coef].reshape(p, n_coef // p)
    coef_se = jnp.concatenate([jnp.zeros((p, K - coef_se.shape[1]), se.dtype), coef_se], axis=1)
    intercept_se = jnp.concatenate([jnp.zeros(1, se.dtype), se[n_coef:]])
    return CategoricalInference(covariance, coef_se, intercept_se)


def _inference_work(glm: CategoricalGLM, data: Data):
    return map_neurons(_inference_one, glm, data)


def categorical_inference(
    model: CategoricalGLM | PopulationCategoricalGLM, X, y, *, sample_weight=None
) -> CategoricalInference:
    """The covariance of a fitted categorical GLM's free parameters and its standard errors.

    The covariance is the inverse of the Hessian of the summed (weighted) negative
    log-likelihood plus ``sum(sample_weight)`` times the penalty, at the model's parameters,
    over the free parameters (`CategoricalGLM`'s convention); coefficients held at zero by a
    Lasso-type penalty are left out. Without a penalty this is the inverse Fisher information,
    equal to statsmodels' ``MNLogit`` (``bse``).

    **Arguments:** ``model`` (fitted), ``X`` ``(n, p)``, ``y`` the labels ``(n,)`` (``(n,
    neurons)`` for a population), ``sample_weight`` ``(n,)`` frequency weights. Rows with NaN
    are left out.

    **Returns:** a `CategoricalInference`.
    """
    glm = model.glm if isinstance(model, PopulationCategoricalGLM) else model
    if not isinstance(glm, CategoricalGLM):
        raise TypeError(
            f"model must be a glmx.CategoricalGLM or PopulationCategoricalGLM, got "
            f"{type(model).__name__}."
        )
    if glm.coef is None:
        raise ValueError("The model has no coefficients yet; fit it with glmx.fit first.")
    glm, data = prepare_categorical(model, X, y, sample_weight)
    return run_checked(_inference_work, glm, data)
