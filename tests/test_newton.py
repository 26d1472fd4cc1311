"""Newton (Fisher scoring) and proximal Newton: few steps, monotone, robust starts, fallbacks."""

import jax.numpy as jnp
import numpy as np
import pytest

import glmx
from conftest import flat_params, simulate
from glmx._solvers import iterative_solve

TIGHT = glmx.LBFGS(tol=1e-11)


CASES = {
    "poisson": ("poisson", glmx.Poisson()),
    "bernoulli": ("bernoulli", glmx.Bernoulli()),
    "gamma-log (non-canonical)": ("gamma", glmx.Gamma()),
    "poisson-softplus (non-canonical)": ("poisson", glmx.Poisson(glmx.SoftplusLink())),
}


@pytest.mark.parametrize("case", CASES)
def test_newton_converges_in_a_handful_of_steps(case):
    data, observation = CASES[case]
    X, y, _, _ = simulate(data)
    model, result = glmx.fit(glmx.GLM(observation, glmx.Ridge(0.01)), X, y, glmx.Newton())
    reference, ref_result = glmx.fit(glmx.GLM(observation, glmx.Ridge(0.01)), X, y, TIGHT)
    assert bool(result.converged)
    assert int(result.num_steps) <= 12
    np.testing.assert_allclose(result.objective, ref_result.objective, rtol=1e-12)
    np.testing.assert_allclose(flat_params(model), flat_params(reference), rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize(
    "regularizer, solver",
    [(glmx.UnRegularized(), glmx.Newton()), (glmx.Lasso(0.02), glmx.ProximalNewton())],
    ids=["newton", "proximal-newton"],
)
def test_steps_never_increase_the_objective_from_a_bad_start(regularizer, solver):
    X, y, _, _ = simulate("poisson")
    start = glmx.GLM(glmx.Poisson(), regularizer, coef=jnp.full(X.shape[1], 3.0), intercept=2.0)
    state = glmx.init_state(start, X, y, solver)
    model, objectives = start, []
    for _ in range(25):
        model, state = glmx.update(model, state, X, y, solver)
        penalty = regularizer.penalty(model.coef)
        objectives.append(float(state.solver_state.value + penalty))
    assert np.all(np.diff(objectives) <= 1e-12 * abs(objectives[0]))
    reference, _ = glmx.fit(glmx.GLM(glmx.Poisson(), regularizer), X, y, glmx.ProximalGradient())
    np.testing.assert_allclose(flat_params(model), flat_params(reference), rtol=1e-6, atol=1e-8)


def test_proximal_newton_needs_far_fewer_steps_than_fista():
    X, y, _, _ = simulate("poisson")
    model = glmx.GLM(glmx.Poisson(), glmx.ElasticNet(0.02, 0.5))
    _, newton = glmx.fit(model, X, y, glmx.ProximalNewton())
    _, fista = glmx.fit(model, X, y, glmx.ProximalGradient())
    assert bool(newton.converged) and int(newton.num_steps) <= 10
    assert int(newton.num_steps) < int(fista.num_steps)
    np.testing.assert_allclose(newton.objective, fista.objective, rtol=1e-10)


def test_newton_without_curvature_differentiates_the_objective():
    """On a problem that supplies no curvature, Newton forms the Hessian with jax.hessian: a
    quadratic is solved in one step (plus one to remove the factorisation's tiny jitter)."""
    A = jnp.array([[3.0, 1.0], [1.0, 2.0]])
    b = jnp.array([1.0, -1.0])

    def fn(params, args):
        x = params["x"]
        return 0.5 * x @ A @ x - b @ x + args

    solution = iterative_solve(glmx.Newton(tol=1e-12), fn, None, {"x": jnp.zeros(2)}, 0.0)
    assert int(solution.num_steps) <= 2
    np.testing.assert_allclose(solution.params["x"], jnp.linalg.solve(A, b), rtol=1e-12)


def test_low_precision_hessian_gives_the_same_solution():
    X, y, _, _ = simulate("gamma")
    model = glmx.GLM(glmx.Gamma(), glmx.Ridge(0.05))
    fast, r1 = glmx.fit(model, X, y, glmx.Newton(tol=1e-11))
    exact, r2 = glmx.fit(model, X, y, glmx.Newton(tol=1e-11, low_precision_hessian=False))
    np.testing.assert_allclose(flat_params(fast), flat_params(exact), rtol=1e-9, atol=1e-12)
    assert abs(int(r1.num_steps) - int(r2.num_steps)) <= 2


def test_default_solver_rule_and_its_use_by_fit():
    assert isinstance(glmx.default_solver(glmx.Ridge(0.1), 50), glmx.LBFGS)
    assert isinstance(glmx.default_solver(glmx.UnRegularized(), 5000), glmx.LBFGS)
    assert isinstance(glmx.default_solver(glmx.Lasso(0.1), 1000), glmx.ProximalNewton)
    assert isinstance(glmx.default_solver(glmx.Lasso(0.1), 1001), glmx.ProximalGradient)
    X, y, _, _ = simulate("poisson")
    model = glmx.GLM(glmx.Poisson(), glmx.Lasso(0.02))
    state = glmx.init_state(model, X, y)
    assert state.solver_name == "ProximalNewton"
    default, _ = glmx.fit(model, X, y)
    explicit, _ = glmx.fit(model, X, y, glmx.ProximalNewton())
    np.testing.assert_array_equal(flat_params(default), flat_params(explicit))


def test_bad_solver_configuration_and_arguments():
    # Without the test-time annotation checker, glmx's own message; with it, the checker's.
    with pytest.raises(TypeError, match=r"(?s)regularizer.*'ridge'"):
        glmx.default_solver("ridge", 10)
    with pytest.raises(ValueError, match=r"SVRG's batch_size must be an integer >= 1, got 0"):
        glmx.SVRG(batch_size=0)
    with pytest.raises(ValueError, match=r"SVRG's epoch_length must be None or an integer"):
        glmx.SVRG(epoch_length=0)
    with pytest.raises(ValueError, match=r"SVRG's learning_rate must be None or positive"):
        glmx.SVRG(learning_rate=-1.0)


def test_proximal_newton_needs_the_penalty_value():
    def fn(params, args):
        return 0.5 * jnp.sum((params - 1.0) ** 2)

    def plain_prox(x, step, args):  # a prox without the penalty's value
        return jnp.sign(x) * jnp.maximum(jnp.abs(x) - step, 0.0)

    with pytest.raises(TypeError, match=r"ProximalNewton needs the penalty's value"):
        iterative_solve(glmx.ProximalNewton(), fn, plain_prox, jnp.zeros(2), None)


def test_float32_gram_keeps_newton_fast_on_nearly_collinear_designs():
    """Overlapping basis functions make designs nearly collinear (here condition ~4e6 after
    scaling). The float32 Gram's factor must not be damped by a float32-sized jitter when it
    factorises without one, or Newton crawls along the weak direction."""
    rng = np.random.default_rng(0)
    base = rng.normal(size=(2000, 3))
    X = np.column_stack([base, base[:, :2] + 1e-3 * rng.normal(size=(2000, 2))])
    y = rng.poisson(np.exp(0.3 * base[:, 0] - 1.0)).astype(float)
    fast, result = glmx.fit(glmx.GLM(glmx.Poisson()), X, y, glmx.Newton())
    exact, exact_result = glmx.fit(
        glmx.GLM(glmx.Poisson()), X, y, glmx.Newton(low_precision_hessian=False)
    )
    assert bool(result.converged) and int(result.num_steps) <= 8, result
    # The coefficients along the weak direction are poorly determined (the gradient tolerance
    # allows ~1e-4 there, and ~1e-5 in the predictions); the objective is sharp.
    np.testing.assert_allclose(result.objective, exact_result.objective, rtol=1e-9)
    np.testing.assert_allclose(fast.predict(X), exact.predict(X), rtol=1e-4)


def _basis_design(n=1500, seed=0):
    """Spike counts through overlapping raised cosines: non-negative, uncentred, strongly
    correlated columns (condition number about 1e3), the shape of an encoding model's."""
    rng = np.random.default_rng(seed)
    spikes = rng.poisson(0.3, size=(n, 2)).astype(float)
    lags = np.log(np.arange(30) + 1.0)
    centres = np.linspace(lags[0], lags[-1], 6)
    width = centres[1] - centres[0]
    phase = np.clip((lags[:, None] - centres) * np.pi / (2 * width), -np.pi, np.pi)
    basis = 0.5 * (1 + np.cos(phase))
    X = np.concatenate(
        [np.stack([np.convolve(s, b)[:n] for b in basis.T], axis=1) for s in spikes.T], axis=1
    )
    eta = -1.0 + X @ (rng.normal(size=X.shape[1]) * 0.05)
    return X, rng.poisson(np.exp(eta)).astype(float)


def test_proximal_newton_solves_lasso_on_collinear_designs_like_glum():
    from glum import GeneralizedLinearRegressor

    X, y = _basis_design()
    assert np.linalg.cond(X) > 1e2
    strength = 3e-3
    model, result = glmx.fit(glmx.GLM(glmx.Poisson(), glmx.Lasso(strength)), X, y)
    assert bool(result.converged) and int(result.num_steps) <= 20
    peer = GeneralizedLinearRegressor(
        family="poisson", alpha=strength, l1_ratio=1.0, gradient_tol=1e-10
    ).fit(X, y)

    def objective(coef, intercept):
        eta = X @ coef + intercept
        return np.mean(np.exp(eta) - y * eta) + strength * np.sum(np.abs(coef))

    ours = objective(np.asarray(model.coef), float(model.intercept))
    theirs = objective(peer.coef_, peer.intercept_)
    assert ours <= theirs + 1e-10 * abs(theirs)
    np.testing.assert_array_equal(np.asarray(model.coef) != 0, peer.coef_ != 0)
    np.testing.assert_allclose(model.coef, peer.coef_, atol=1e-5)


def test_inner_active_set_solve_meets_the_lasso_optimality_conditions():
    """The quadratic model with an ill-conditioned Hessian (condition number 1e8): the inner
    solve's answer satisfies the Lasso's KKT conditions, checked directly."""
    from glmx._solvers._base import NonSmooth, Problem
    from glmx._solvers._newton import _minimise_model

    rng = np.random.default_rng(1)
    d, lam = 12, 0.05
    vectors, _ = np.linalg.qr(rng.normal(size=(d, d)))
    hessian = jnp.asarray(vectors @ np.diag(np.logspace(0, 8, d)) @ vectors.T)
    grad = jnp.asarray(rng.normal(size=d))
    x = jnp.zeros(d)

    def prox(v, step, args):
        return jnp.sign(v) * jnp.maximum(jnp.abs(v) - step * lam, 0.0)

    problem = Problem(lambda v, a: 0.0, NonSmooth(prox, lambda v, a: lam * jnp.sum(jnp.abs(v))))
    z = np.asarray(_minimise_model(problem, lambda v: v, None, hessian, grad, x, 1e-12, 200))
    model_grad = np.asarray(grad + hessian @ (z - x))
    active = z != 0
    assert 0 < active.sum() < d
    np.testing.assert_allclose(model_grad[active], -lam * np.sign(z[active]), atol=1e-9)
    assert np.all(np.abs(model_grad[~active]) <= lam + 1e-9)


def test_grams_summed_over_blocks_of_rows_equal_the_dense_products():
    """Past `GRAM_BLOCK_ROWS` rows the Grams are summed block by block (the last block moved
    back, its shared rows counted once): equal to the dense products, under vmap too."""
    import jax
    import jax.numpy as jnp

    from glmx import _objective

    n = 2 * _objective.GRAM_BLOCK_ROWS + 123
    rng = np.random.default_rng(3)
    X = jnp.asarray(rng.normal(size=(n, 4)))
    w = jnp.asarray(rng.uniform(0.1, 2.0, size=n))
    v = jnp.asarray(rng.normal(size=n))
    symmetric = _objective._gram(X, jnp.sqrt(w), None, X.dtype)
    np.testing.assert_allclose(symmetric, (X * w[:, None]).T @ X, rtol=1e-12)
    signed = _objective._gram(X, v, jnp.ones_like(v), X.dtype)
    np.testing.assert_allclose(signed, (X * v[:, None]).T @ X, rtol=1e-10, atol=1e-10)
    W = jnp.stack([w, 2 * w])
    batched = jax.vmap(lambda s: _objective._gram(X, s, None, X.dtype))(jnp.sqrt(W))
    np.testing.assert_allclose(batched[1], 2 * symmetric, rtol=1e-12)
