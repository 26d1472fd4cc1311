"""Differentiating through `fit`: implicit gradients against finite differences and unrolling,
forward and reverse mode, vmap over strengths and neurons, compilation, and errors."""

import inspect

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import glmx
from conftest import FAMILIES, simulate
from test_jit import count_traces

GROUPS = np.array([0, 0, 1, 1])
REGULARIZERS = {
    "unregularized": lambda s: glmx.UnRegularized(),
    "ridge": glmx.Ridge,
    "lasso": glmx.Lasso,
    "elasticnet": lambda s: glmx.ElasticNet(s, 0.5),
    "grouplasso": lambda s: glmx.GroupLasso(GROUPS, s),
}
SMOOTH = ("unregularized", "ridge")
# Tight solves: finite differences of the fitted model only resolve what the solver resolves.
TIGHT = {True: glmx.Newton(tol=1e-12), False: glmx.ProximalNewton(tol=1e-12)}
WEIGHTS = jnp.array([0.3, -0.2, 0.5, 0.1, 0.7])  # a fixed linear read-out of (coef, intercept)
H = 1e-5


def _downstream(family, make, solver, X_valid, y_valid, adjoint=glmx.Implicit()):
    """A scalar that depends on everything a fit returns: the held-out negative
    log-likelihood, a read-out of the parameters, the objective and the scale."""

    def loss(strength, y, X, offset):
        model, result = glmx.fit(
            glmx.GLM(FAMILIES[family], make(strength)), X, y, solver, offset=offset, adjoint=adjoint
        )
        params = jnp.concatenate([model.coef, model.intercept[None]])
        held_out = -model.log_likelihood(X_valid, y_valid)
        return held_out + params @ WEIGHTS + result.objective + model.scale

    return loss


def _central_difference(fn, args, which, index, h=H):
    plus = [np.array(a, copy=True) for a in args]
    minus = [np.array(a, copy=True) for a in args]
    plus[which][index] += h
    minus[which][index] -= h
    return float((fn(*plus) - fn(*minus)) / (2 * h))


#: Every penalty with Poisson, and each other family with two penalties, so that every penalty
#: meets three families: the gradient's code paths are per family and per penalty, not per pair,
#: and each pair costs a compilation.
PAIRS = [("poisson", reg) for reg in REGULARIZERS] + [
    ("gamma", "ridge"),
    ("gamma", "grouplasso"),
    ("gamma-inverse", "unregularized"),
    ("gamma-inverse", "lasso"),
    ("bernoulli", "elasticnet"),
    ("bernoulli", "ridge"),
    ("gaussian", "grouplasso"),
    ("gaussian", "lasso"),
    ("negbin", "unregularized"),
    ("negbin", "elasticnet"),
]


@pytest.mark.parametrize("family, reg", PAIRS, ids=[f"{f}-{r}" for f, r in PAIRS])
def test_gradients_match_finite_differences(family, reg):
    X, y, _, _ = simulate(family)
    X_valid, y_valid, _, _ = simulate(family, seed=5)
    offset = 0.05 * np.sin(np.arange(len(y)))
    loss = _downstream(family, REGULARIZERS[reg], TIGHT[reg in SMOOTH], X_valid, y_valid)
    args = (np.float64(0.01), y, X, offset)
    # One compiled program serves the gradient and the finite differences' values.
    value_and_grad = jax.jit(jax.value_and_grad(loss, argnums=(0, 1, 2, 3)))
    grads = value_and_grad(*args)[1]

    def value(*a):
        return value_and_grad(*a)[0]

    # Entries of y stay inside the support (Bernoulli's {0, 1} has no interior to move in).
    inside = np.flatnonzero(y > 0.5)[:2] if family != "bernoulli" else []
    checks = [(0, ())] + [(1, (int(i),)) for i in inside]
    checks += [(2, (5, 1)), (2, (9, 3)), (3, (2,)), (3, (11,))]
    for which, index in checks:
        fd = _central_difference(value, args, which, index)
        np.testing.assert_allclose(
            grads[which][index], fd, rtol=1e-5, atol=1e-8, err_msg=f"argument {which} {index}"
        )


@pytest.mark.parametrize("reg", ["ridge", "lasso", "grouplasso"])
def test_gradient_with_respect_to_per_feature_or_group_strengths(reg):
    X, y, _, _ = simulate("poisson")
    X_valid, y_valid, _, _ = simulate("poisson", seed=5)
    size = 2 if reg == "grouplasso" else X.shape[1]
    strengths = np.linspace(0.005, 0.03, size)
    loss = _downstream("poisson", REGULARIZERS[reg], TIGHT[reg in SMOOTH], X_valid, y_valid)
    args = (strengths, y, X, np.zeros(len(y)))
    grad = jax.grad(loss)(*args)
    assert grad.shape == (size,)
    for k in range(size):
        fd = _central_difference(jax.jit(loss), args, 0, (k,))
        np.testing.assert_allclose(grad[k], fd, rtol=1e-5, atol=1e-8)


def test_gradient_with_respect_to_negative_binomial_dispersion():
    X, y, _, _ = simulate("negbin")

    def loss(alpha):
        observation = glmx.NegativeBinomial(alpha)
        model, result = glmx.fit(glmx.GLM(observation, glmx.Ridge(0.01)), X, y, TIGHT[True])
        return result.objective + model.coef @ WEIGHTS[:4] + model.intercept

    grad = jax.grad(loss)(0.5)
    fd = _central_difference(jax.jit(loss), (np.float64(0.5),), 0, ())
    np.testing.assert_allclose(grad, fd, rtol=1e-5)


def test_non_canonical_link_uses_the_observed_hessian():
    """Poisson with a softplus link: the Fisher information is not the Hessian there, and the
    implicit derivative must use the Hessian."""
    X, y, _, _ = simulate("poisson")

    def loss(strength):
        model, _ = glmx.fit(
            glmx.GLM(glmx.Poisson(glmx.SoftplusLink()), glmx.Ridge(strength)), X, y, TIGHT[True]
        )
        return model.coef @ WEIGHTS[:4] + model.intercept

    fd = _central_difference(jax.jit(loss), (np.float64(0.02),), 0, ())
    np.testing.assert_allclose(jax.grad(loss)(0.02), fd, rtol=1e-5)


@pytest.mark.parametrize(
    "reg, solver",
    [
        ("ridge", glmx.Newton(max_steps=20, tol=1e-12)),
        ("ridge", glmx.LBFGS(max_steps=60, tol=1e-12)),
        ("lasso", glmx.ProximalNewton(max_steps=20, tol=1e-12, inner_max_steps=300)),
        ("grouplasso", glmx.ProximalGradient(max_steps=400, tol=1e-12)),
    ],
    ids=["ridge-newton", "ridge-lbfgs", "lasso-proximal-newton", "grouplasso-fista"],
)
def test_implicit_matches_unrolled_differentiation(reg, solver):
    X, y, _, _ = simulate("poisson")
    X_valid, y_valid, _, _ = simulate("poisson", seed=5)
    make = REGULARIZERS[reg]
    implicit = _downstream("poisson", make, solver, X_valid, y_valid)
    unrolled = _downstream("poisson", make, solver, X_valid, y_valid, glmx.Unrolled())
    args = (np.float64(0.01), y, X, np.zeros(len(y)))
    expected = jax.grad(implicit, argnums=(0, 2))(*args)
    reverse = jax.jit(jax.grad(unrolled, argnums=(0, 2)))(*args)
    forward = jax.jvp(lambda s: unrolled(s, *args[1:]), (args[0],), (1.0,))[1]
    for got, want in zip(reverse, expected):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(forward, expected[0], rtol=1e-6)


def test_forward_and_reverse_mode_agree():
    """jvp, vjp and jacfwd/jacrev of the fitted parameters with respect to X give one
    Jacobian."""
    X, y, _, _ = simulate("gamma")

    def params(X):
        model, _ = glmx.fit(glmx.GLM(glmx.Gamma(), glmx.Lasso(0.01)), X, y, TIGHT[False])
        return jnp.concatenate([model.coef, model.intercept[None]])

    X = jnp.asarray(X)
    direction = jnp.asarray(np.random.default_rng(1).normal(size=X.shape))
    _, tangent = jax.jvp(params, (X,), (direction,))
    _, pullback = jax.vjp(params, X)
    (cotangent,) = pullback(WEIGHTS)
    np.testing.assert_allclose(WEIGHTS @ tangent, jnp.sum(cotangent * direction), rtol=1e-9)
    forward = jax.jacfwd(params)(X)
    reverse = jax.jacrev(params)(X)
    np.testing.assert_allclose(forward, reverse, rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize("reg", ["lasso", "grouplasso"])
def test_coefficients_held_at_zero_have_zero_derivative(reg):
    X, y, _, _ = simulate("gaussian")
    strength = 0.08  # strong enough that some coefficients (or a group) are exactly zero

    def coef(X, y):
        model, _ = glmx.fit(glmx.GLM(glmx.Gaussian(), REGULARIZERS[reg](strength)), X, y)
        return model.coef

    fitted = coef(X, y)
    zero = np.asarray(fitted) == 0
    assert zero.any() and not zero.all()
    d_X, d_y = jax.jacrev(coef, argnums=(0, 1))(jnp.asarray(X), jnp.asarray(y))
    assert np.all(np.asarray(d_X)[zero] == 0) and np.all(np.asarray(d_y)[zero] == 0)
    assert np.any(np.asarray(d_y)[~zero] != 0)


def _strength_loss(make, X, y, X_valid, y_valid):
    def loss(strength):
        model, _ = glmx.fit(glmx.GLM(glmx.Poisson(), make(strength)), X, y)
        return -model.log_likelihood(X_valid, y_valid)

    return loss


@pytest.mark.parametrize("make", [glmx.Ridge, glmx.Lasso], ids=["ridge", "lasso"])
def test_vmap_of_grad_over_strengths_matches_a_loop(make):
    X, y, _, _ = simulate("poisson")
    X_valid, y_valid, _, _ = simulate("poisson", seed=5)
    loss = _strength_loss(make, X, y, X_valid, y_valid)
    strengths = jnp.array([0.001, 0.01, 0.05])
    batched = jax.vmap(jax.grad(loss))(strengths)
    looped = [jax.grad(loss)(s) for s in strengths]
    np.testing.assert_allclose(batched, looped, rtol=1e-7)


@pytest.mark.parametrize("make", [glmx.Ridge, glmx.Lasso], ids=["ridge", "lasso"])
def test_population_gradient_per_neuron_strength_matches_a_loop(make):
    from test_population import NEURONS, population_data

    X, Y = population_data()
    X_valid, Y_valid = population_data(seed=1)
    mask = np.array([[1, 1, 0], [1, 0, 1], [0, 1, 1], [1, 1, 1]], bool)

    def population_loss(strengths):
        pop = glmx.PopulationGLM(
            glmx.Poisson(), make(strengths), n_neurons=NEURONS, feature_mask=mask
        )
        pop, _ = glmx.fit(pop, X, Y)
        return -jnp.sum(pop.log_likelihood(X_valid, Y_valid))

    strengths = jnp.array([0.005, 0.02, 0.05])
    grad = jax.grad(population_loss)(strengths)
    for k in range(NEURONS):
        used = mask[:, k]
        loss = _strength_loss(make, X[:, used], Y[:, k], X_valid[:, used], Y_valid[:, k])
        np.testing.assert_allclose(grad[k], jax.grad(loss)(strengths[k]), rtol=1e-7)


@pytest.mark.parametrize("reg", ["ridge", "lasso"])
def test_conjugate_gradients_match_cholesky(reg):
    X, y, _, _ = simulate("bernoulli")
    X_valid, y_valid, _, _ = simulate("bernoulli", seed=5)
    grads = []
    for method in ("cholesky", "cg"):
        loss = _downstream(
            "bernoulli", REGULARIZERS[reg], None, X_valid, y_valid, glmx.Implicit(method)
        )
        grads.append(jax.grad(loss, argnums=(0, 2))(np.float64(0.01), y, X, np.zeros(len(y))))
    for a, b in zip(*grads):
        np.testing.assert_allclose(a, b, rtol=1e-7, atol=1e-10)


def test_differentiated_fit_compiles_once():
    X, y, _, _ = simulate("poisson")
    X2, y2, _, _ = simulate("poisson", seed=1)
    X_valid, y_valid, _, _ = simulate("poisson", seed=5)

    @jax.jit
    def grad_of_loss(strength, X, y):
        return jax.grad(lambda s: _strength_loss(glmx.Lasso, X, y, X_valid, y_valid)(s))(strength)

    def eager_grad(strength, X, y):
        return jax.grad(_strength_loss(glmx.Lasso, X, y, X_valid, y_valid))(strength)

    grad_of_loss(0.01, X, y)
    eager_grad(0.01, X, y)
    with count_traces() as counter:
        grad_of_loss(0.02, X2, y2)
        grad_of_loss(0.005, X, y)
        eager_grad(0.03, X2, y2)  # the compiled fit and its derivative are reused
    assert counter["traces"] == 0


@pytest.mark.parametrize("method", ["cg", "cholesky"])
def test_second_derivative_with_respect_to_strength(method):
    X, y, _, _ = simulate("poisson")
    X_valid, y_valid, _, _ = simulate("poisson", seed=5)

    def loss(strength):
        model, _ = glmx.fit(
            glmx.GLM(glmx.Poisson(), glmx.Lasso(strength)),
            X,
            y,
            TIGHT[False],
            adjoint=glmx.Implicit(method),
        )
        return -model.log_likelihood(X_valid, y_valid)

    second = jax.hessian(loss)(0.01)
    fd = _central_difference(jax.jit(jax.grad(loss)), (np.float64(0.01),), 0, ())
    np.testing.assert_allclose(second, fd, rtol=1e-5)


def test_nan_rows_do_not_reach_the_gradient():
    X, y, _, _ = simulate("poisson")
    X_valid, y_valid, _, _ = simulate("poisson", seed=5)
    X_nan = X.copy()
    X_nan[[3, 40]] = np.nan
    keep = np.ones(len(y), bool)
    keep[[3, 40]] = False

    def loss(strength, X, y):
        model, _ = glmx.fit(glmx.GLM(glmx.Poisson(), glmx.Ridge(strength)), X, y, TIGHT[True])
        return -model.log_likelihood(X_valid, y_valid)

    g_nan = jax.grad(loss, argnums=(0, 1))(0.01, X_nan, y)
    g_dropped = jax.grad(loss, argnums=(0, 1))(0.01, X[keep], y[keep])
    np.testing.assert_allclose(g_nan[0], g_dropped[0], rtol=1e-7)
    np.testing.assert_allclose(g_nan[1][keep], g_dropped[1], rtol=1e-7, atol=1e-14)
    assert np.all(np.asarray(g_nan[1])[~keep] == 0)


def test_dict_design_gradient():
    X, y, _, _ = simulate("poisson")
    design = {"stim": jnp.asarray(X[:, :2]), "hist": jnp.asarray(X[:, 2:])}

    def loss(design):
        model, _ = glmx.fit(glmx.GLM(glmx.Poisson(), glmx.Ridge(0.01)), design, y)
        return jnp.sum(model.coef["stim"]) - jnp.sum(model.coef["hist"])

    grads = jax.grad(loss)(design)
    flat = jax.grad(
        lambda X: (lambda m: jnp.sum(m.coef[:2]) - jnp.sum(m.coef[2:]))(
            glmx.fit(glmx.GLM(glmx.Poisson(), glmx.Ridge(0.01)), X, y)[0]
        )
    )(jnp.asarray(X))
    np.testing.assert_allclose(grads["stim"], flat[:, :2], rtol=1e-8)
    np.testing.assert_allclose(grads["hist"], flat[:, 2:], rtol=1e-8)


def test_float32_gradient_is_close_to_float64():
    X, y, _, _ = simulate("poisson")
    X_valid, y_valid, _, _ = simulate("poisson", seed=5)
    g64 = jax.grad(_strength_loss(glmx.Ridge, X, y, X_valid, y_valid))(0.01)
    as32 = [np.asarray(a, np.float32) for a in (X, y, X_valid, y_valid)]
    g32 = jax.grad(_strength_loss(glmx.Ridge, *as32))(np.float32(0.01))
    assert g32.dtype == jnp.float32
    np.testing.assert_allclose(g32, g64, rtol=1e-3)


def test_model_pytree_gradient_with_filter_grad():
    """Differentiating with respect to the whole model reaches its hyperparameters."""
    X, y, _, _ = simulate("negbin")

    def loss(model):
        fitted, _ = glmx.fit(model, X, y, TIGHT[True])
        return jnp.sum(fitted.coef)

    model = glmx.GLM(glmx.NegativeBinomial(0.5), glmx.Ridge(0.01))
    grads = eqx.filter_grad(loss)(model)
    expected = jax.grad(lambda s: loss(glmx.GLM(glmx.NegativeBinomial(0.5), glmx.Ridge(s))))(0.01)
    np.testing.assert_allclose(grads.regularizer.strength, expected, rtol=1e-10)
    assert np.isfinite(grads.observation.alpha)


def test_adjoint_errors():
    X, y, _, _ = simulate("poisson")
    # The test suite's jaxtyping hook rejects the annotation first; users get glmx's message.
    with pytest.raises(TypeError, match="adjoint"):
        glmx.fit(glmx.GLM(), X, y, adjoint="implicit")
    unchecked_fit = inspect.unwrap(glmx.fit)
    with pytest.raises(
        TypeError, match=r"adjoint must be glmx.Implicit\(\) or glmx.Unrolled\(\), got 'implicit'"
    ):
        unchecked_fit(glmx.GLM(), X, y, adjoint="implicit")
    with pytest.raises(ValueError, match="linear_solver must be one of"):
        glmx.Implicit("qr")
    with pytest.raises(ValueError, match="cg_tol must be a positive float, got -1"):
        glmx.Implicit(cg_tol=-1.0)
    with pytest.raises(ValueError, match="cg_max_steps must be a positive integer, got 0"):
        glmx.Implicit(cg_max_steps=0)


def test_gradient_with_respect_to_sample_weights():
    X, y, _, _ = simulate("gamma")
    X_valid, y_valid, _, _ = simulate("gamma", seed=5)
    weights = np.linspace(0.5, 1.5, len(y))

    def loss(weights, strength):
        model, result = glmx.fit(
            glmx.GLM(FAMILIES["gamma"], glmx.Lasso(strength)),
            X,
            y,
            TIGHT[False],
            sample_weight=weights,
        )
        params = jnp.concatenate([model.coef, model.intercept[None]])
        return -model.log_likelihood(X_valid, y_valid) + params @ WEIGHTS + model.scale

    value_and_grad = jax.jit(jax.value_and_grad(loss))
    args = (weights, np.float64(0.005))
    grad = value_and_grad(*args)[1]
    assert np.any(np.asarray(grad) != 0)
    for index in [(0,), (17,), (250,)]:
        fd = _central_difference(lambda *a: value_and_grad(*a)[0], args, 0, index)
        np.testing.assert_allclose(grad[index], fd, rtol=1e-5, atol=1e-9)


@pytest.mark.parametrize(
    "solver",
    [
        glmx.GradientDescent(max_steps=20_000, tol=1e-11),
        glmx.LBFGS(tol=1e-11),
        glmx.Newton(tol=1e-11),
        glmx.OptaxSolver(optax.adam(3e-2), max_steps=20_000, tol=1e-9),
        glmx.ProximalGradient(max_steps=20_000, tol=1e-11),
        glmx.ProximalNewton(tol=1e-11),
        glmx.SVRG(max_steps=2_000, tol=1e-10),
    ],
    ids=lambda s: type(s).__name__,
)
def test_every_solver_gives_the_same_implicit_gradient(solver):
    """The derivative is taken at the solution, so it does not depend on the solver that found
    it (only on how closely it found it)."""
    X, y, _, _ = simulate("poisson")
    X_valid, y_valid, _, _ = simulate("poisson", seed=5)
    # Proximal solvers get a penalty with kinks (some coefficients at zero), smooth ones Ridge.
    make = REGULARIZERS["elasticnet" if solver.handles_nonsmooth else "ridge"]
    loss = _downstream("poisson", make, solver, X_valid, y_valid)
    reference = _downstream("poisson", make, TIGHT[not solver.handles_nonsmooth], X_valid, y_valid)
    args = (np.float64(0.01), y, X, np.zeros(len(y)))
    got = jax.grad(loss, argnums=(0, 2))(*args)
    want = jax.grad(reference, argnums=(0, 2))(*args)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-8)
