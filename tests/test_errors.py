"""Every bad input gives a one-sentence error naming the argument, expectation and value."""

import numpy as np
import pytest

import glmx
from conftest import simulate

X, Y, _, _ = simulate("poisson")


def _fit(model=None, X=X, y=Y, solver=None, **kwargs):
    return glmx.fit(glmx.GLM() if model is None else model, X, y, solver, **kwargs)


def _with(array, index, value):
    array = np.array(array, dtype=float)
    array[index] = value
    return array


CASES = {
    "y length": (dict(y=Y[:-1]), ValueError, r"y has 399 rows but X has 400; they must match"),
    "weight length": (
        dict(sample_weight=np.ones(3)),
        ValueError,
        r"sample_weight has 3 rows but X has 400",
    ),
    "offset length": (dict(offset=np.ones(401)), ValueError, r"offset has 401 rows but X has 400"),
    "dict rows": (
        dict(X={"a": X[:, :2], "b": X[:-1, 2:]}),
        ValueError,
        r"X\['b'\] has 399 rows but X\['a'\] has 400; every block must have the same rows",
    ),
    "X 1-d": (
        dict(X=X[:, 0]),
        ValueError,
        r"X must be 2-dimensional \(n_samples, n_features\), got shape \(400,\)",
    ),
    "X 3-d": (dict(X=X[None]), ValueError, r"X must be 2-dimensional .* got shape \(1, 400, 4\)"),
    "y 2-d": (
        dict(y=Y[:, None]),
        ValueError,
        r"y must be 1-dimensional \(n_samples,\), got shape \(400, 1\)",
    ),
    "X strings": (dict(X=X.astype(str)), TypeError, r"X must hold real numbers, got dtype <U"),
    "y complex": (dict(y=Y + 0j), TypeError, r"y must hold real numbers, got dtype complex128"),
    "empty": (
        dict(X=X[:0], y=Y[:0]),
        ValueError,
        r"X has 0 rows; fitting needs at least one sample",
    ),
    "empty dict": (dict(X={}), ValueError, r"X is an empty dict"),
    "negative counts": (
        dict(y=_with(Y, 7, -1)),
        ValueError,
        r"y must hold non-negative counts for Poisson, but y\[7\] is -1.0",
    ),
    "gamma zero": (
        dict(model=glmx.GLM(glmx.Gamma()), y=_with(Y + 1, 2, 0.0)),
        ValueError,
        r"y must hold positive values for Gamma, but y\[2\] is 0.0",
    ),
    "bernoulli half": (
        dict(model=glmx.GLM(glmx.Bernoulli()), y=_with(Y > 1, 5, 0.5)),
        ValueError,
        r"y must hold values in \{0, 1\} for Bernoulli, but y\[5\] is 0.5",
    ),
    "negbin negative": (
        dict(model=glmx.GLM(glmx.NegativeBinomial(1.0)), y=_with(Y, 0, -2)),
        ValueError,
        r"y must hold non-negative counts for NegativeBinomial, but y\[0\] is -2.0",
    ),
    "X inf": (
        dict(X=_with(X, (3, 1), np.inf)),
        ValueError,
        r"X must be finite \(NaN marks a missing row\), but X\[3, 1\] is inf",
    ),
    "dict X inf": (
        dict(X={"a": _with(X, (3, 1), -np.inf)}),
        ValueError,
        r"X\['a'\] must be finite .* is -inf",
    ),
    "y inf": (dict(y=_with(Y, 9, np.inf)), ValueError, r"y must be finite .* y\[9\] is inf"),
    "weight nan": (
        dict(sample_weight=_with(np.ones(400), 4, np.nan)),
        ValueError,
        r"sample_weight must be finite, but sample_weight\[4\] is nan",
    ),
    "weight negative": (
        dict(sample_weight=_with(np.ones(400), 4, -1)),
        ValueError,
        r"sample_weight must be non-negative, but sample_weight\[4\] is -1.0",
    ),
    "weights all zero": (
        dict(sample_weight=np.zeros(400)),
        ValueError,
        r"sample_weight is zero on every row",
    ),
    "offset inf": (
        dict(offset=_with(np.zeros(400), 1, np.inf)),
        ValueError,
        r"offset must be finite, but offset\[1\] is inf",
    ),
    "all nan": (
        dict(y=np.full(400, np.nan)),
        ValueError,
        r"every row has a NaN in X or y; nothing is left to fit",
    ),
    "negative strength": (
        dict(model=glmx.GLM(glmx.Poisson(), glmx.Ridge(-1.0))),
        ValueError,
        r"Ridge strength must be non-negative; got -1.0",
    ),
    "nan strength": (
        dict(model=glmx.GLM(glmx.Poisson(), glmx.Lasso(np.nan))),
        ValueError,
        r"Lasso strength must be finite; got nan",
    ),
    "per-feature strength shape": (
        dict(model=glmx.GLM(glmx.Poisson(), glmx.Lasso(np.ones(3)))),
        ValueError,
        r"Lasso strength must be a scalar or have one value per feature, "
        r"shape \(4,\), but has shape \(3,\)",
    ),
    "ratio": (
        dict(model=glmx.GLM(glmx.Poisson(), glmx.ElasticNet(0.1, 1.5))),
        ValueError,
        r"ElasticNet ratio must lie in \[0, 1\]; got 1.5",
    ),
    "alpha": (
        dict(model=glmx.GLM(glmx.NegativeBinomial(0.0))),
        ValueError,
        r"NegativeBinomial alpha must be positive and finite; got 0.0",
    ),
    "group columns": (
        dict(model=glmx.GLM(glmx.Poisson(), glmx.GroupLasso(np.ones((2, 5), bool)))),
        ValueError,
        r"GroupLasso groups mask has 5 columns but X has 4 features; give one column per feature",
    ),
    "group overlap": (
        dict(
            model=glmx.GLM(
                glmx.Poisson(), glmx.GroupLasso(np.array([[1, 1, 0, 0], [0, 1, 1, 1]], bool))
            )
        ),
        ValueError,
        r"GroupLasso groups must not overlap",
    ),
    "group strength shape": (
        dict(model=glmx.GLM(glmx.Poisson(), glmx.GroupLasso(np.array([0, 0, 1, 1]), np.ones(3)))),
        ValueError,
        r"one value per group, shape \(2,\), but has shape \(3,\)",
    ),
    "smooth solver": (
        dict(model=glmx.GLM(glmx.Poisson(), glmx.Lasso(0.1)), solver=glmx.LBFGS()),
        ValueError,
        r"solver LBFGS handles only smooth penalties, but the regularizer is Lasso; "
        r"use solver=glmx.ProximalGradient\(\)",
    ),
    # Without the test suite's jaxtyping hook this reads "solver must be a glmx solver (e.g.
    # glmx.LBFGS()), got 'lbfgs'."; with it, the annotation check names the argument first.
    "not a solver": (dict(solver="lbfgs"), TypeError, r"solver"),
    "dict keys": (
        dict(
            model=glmx.GLM(coef={"a": np.zeros(2), "c": np.zeros(2)}, intercept=0.0),
            X={"a": X[:, :2], "b": X[:, 2:]},
        ),
        ValueError,
        r"X has keys \['a', 'b'\] but the model's coefficients have keys \['a', 'c'\]; "
        r"they must match",
    ),
    "dict vs array": (
        dict(model=glmx.GLM(coef=np.zeros(4), intercept=0.0), X={"a": X}),
        TypeError,
        r"X is a dict but the model's coefficients are an array",
    ),
    "coef width": (
        dict(model=glmx.GLM(coef=np.zeros(3), intercept=0.0)),
        ValueError,
        r"X has 4 features but the model has 3 coefficients for it; they must match",
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_bad_input_is_named(case):
    kwargs, error, message = CASES[case]
    with pytest.raises(error, match=message):
        _fit(**kwargs)


def test_bad_group_specifications():
    with pytest.raises(ValueError, match=r"GroupLasso groups given as a mask must hold only 0/1"):
        glmx.GroupLasso(np.array([[0, 2, 1]]))
    with pytest.raises(TypeError, match=r"GroupLasso groups given as labels must be integers"):
        glmx.GroupLasso(np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match=r"GroupLasso groups must be a \(groups, p\) boolean mask"):
        glmx.GroupLasso(np.zeros((1, 2, 3), bool))


def test_model_methods_need_parameters():
    with pytest.raises(ValueError, match=r"The model has no coefficients yet; fit it"):
        glmx.GLM().predict(X)
    model = glmx.GLM(coef=np.zeros(4), intercept=0.0)
    with pytest.raises(ValueError, match=r"X has 3 features but the model has 4 coefficients"):
        model.predict(X[:, :3])
    with pytest.raises(ValueError, match=r"aggregate must be 'mean', 'sum' or 'none'"):
        model.log_likelihood(X, Y, aggregate="max")


def test_fit_rejects_a_non_model():
    with pytest.raises(TypeError, match=r"model"):  # see "not a solver" above
        glmx.fit({}, X, Y)


def test_traced_bad_values_raise_inside_the_fit():
    import jax
    import jax.numpy as jnp

    def coef(strength):
        return glmx.fit(glmx.GLM(glmx.Poisson(), glmx.Ridge(strength)), X, Y)[0].coef

    with pytest.raises(Exception, match="Ridge strength must be non-negative"):
        jax.block_until_ready(jax.vmap(coef)(jnp.array([0.1, -1.0])))


@pytest.mark.parametrize("wrapper", ["filter_jit", "vmap", "jax.jit"])
def test_errors_inside_a_callers_transform_carry_the_eager_sentence(wrapper):
    """Under ``equinox.filter_jit`` (what the docs recommend) and ``vmap`` the error is an
    ``EquinoxRuntimeError`` that ends with the sentence the eager call gives; under plain
    ``jax.jit`` the same sentence is in JAX's runtime error."""
    import equinox as eqx
    import jax

    bad = _with(Y, 7, -1.0)
    with pytest.raises(
        ValueError, match=r"y must hold non-negative counts for Poisson, but y\[7\]"
    ):
        _fit(glmx.GLM(glmx.Poisson()), y=bad)

    def coef(y):
        return glmx.fit(glmx.GLM(glmx.Poisson()), X, y)[0].coef

    call = {
        "filter_jit": lambda: eqx.filter_jit(coef)(bad),
        "vmap": lambda: jax.vmap(coef)(np.stack([Y, bad])),
        "jax.jit": lambda: jax.jit(coef)(bad),
    }[wrapper]
    expected = eqx.EquinoxRuntimeError if wrapper != "jax.jit" else Exception
    with pytest.raises(expected) as raised:
        jax.block_until_ready(call())
    text = str(raised.value)
    assert "y must hold non-negative counts for Poisson." in text
    if wrapper != "jax.jit":  # the sentence is the error's own line, after the traceback
        assert "EquinoxRuntimeError: y must hold non-negative counts for Poisson." in text


def test_model_and_family_structure_errors():
    with pytest.raises(
        ValueError, match=r"coef is given but intercept is None; give both or neither"
    ):
        glmx.GLM(coef=np.zeros(4))
    with pytest.raises(
        TypeError, match=r"Poisson cannot use IdentityLink\(\).*LogLink\(\), SoftplusLink\(\)"
    ):
        glmx.Poisson(glmx.IdentityLink())
    with pytest.raises(TypeError, match=r"Bernoulli cannot use LogLink\(\)"):
        glmx.Bernoulli(glmx.LogLink())


def test_update_needs_the_solver_that_made_the_state():
    state = glmx.init_state(glmx.GLM(), X, Y, glmx.LBFGS())
    with pytest.raises(ValueError, match=r"state was made by LBFGS but solver is ProximalGradient"):
        glmx.update(glmx.GLM(), state, X, Y, glmx.ProximalGradient())


def test_group_errors_name_the_features():
    overlapping = glmx.GroupLasso(np.array([[1, 1, 0, 0], [0, 1, 1, 1]], bool))
    with pytest.raises(ValueError, match=r"features in 2\+ groups; got \[1\]"):
        _fit(glmx.GLM(glmx.Poisson(), overlapping))
