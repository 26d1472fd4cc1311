"""glmx.Smoothness: the penalty's value and prox against closed forms, a Gaussian fit against
the generalized-ridge normal equations, a Poisson fit against scipy, paths, gradients through
the fit, saving, and bad input."""

import jax
import numpy as np
import pytest
from scipy.optimize import minimize

import glmx

LABELS = np.array([0, 0, 0, 0, 0, 1, 1, 1, 1, -1])  # two filters and an unpenalised column


def smooth_data(n=300, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, LABELS.size))
    coef = np.r_[np.sin(np.linspace(0, 2, 5)), np.linspace(0.3, -0.3, 4), 0.2] * 0.4
    return X, X @ coef + 0.1 + 0.5 * rng.normal(size=n), coef


def penalty_matrix(strengths, order):
    P = np.zeros((LABELS.size, LABELS.size))
    for g, s in enumerate(strengths):
        index = np.flatnonzero(LABELS == g)
        D = np.diff(np.eye(index.size), n=order, axis=0)
        P[np.ix_(index, index)] += s * D.T @ D
    return P


@pytest.mark.parametrize("order", [1, 2])
def test_value_and_prox_are_the_closed_forms(order):
    rng = np.random.default_rng(1)
    w = rng.normal(size=LABELS.size)
    reg = glmx.Smoothness(LABELS, order=order, strength=np.array([0.5, 2.0]))
    P = penalty_matrix([0.5, 2.0], order)
    np.testing.assert_allclose(reg.penalty(w), 0.5 * w @ P @ w, rtol=1e-12)
    np.testing.assert_allclose(
        reg.prox(w, 0.3), np.linalg.solve(np.eye(w.size) + 0.3 * P, w), rtol=1e-10
    )
    assert bool(np.all(reg.smooth_at(w)))


def test_gaussian_fit_solves_the_generalized_ridge_normal_equations():
    X, y, _ = smooth_data()
    n = len(y)
    reg = glmx.Smoothness(LABELS, strength=np.array([0.05, 0.2]))
    model, result = glmx.fit(glmx.GLM(glmx.Gaussian(), reg), X, y, glmx.Newton(tol=1e-12))
    assert bool(result.converged)
    X1 = np.column_stack([X, np.ones(n)])
    A = X1.T @ X1 / n
    A[:-1, :-1] += penalty_matrix([0.05, 0.2], 2)
    solution = np.linalg.solve(A, X1.T @ y / n)
    np.testing.assert_allclose(model.coef, solution[:-1], atol=1e-9)
    np.testing.assert_allclose(model.intercept, solution[-1], atol=1e-9)


def test_poisson_fit_matches_scipy_and_smooths_the_filter():
    X, _, coef = smooth_data(seed=2)
    y = np.random.default_rng(3).poisson(np.exp(0.2 + X @ coef)).astype(float)
    P = penalty_matrix([0.1, 0.1], 2)

    def objective(theta):
        eta = X @ theta[:-1] + theta[-1]
        return np.mean(np.exp(eta) - y * eta) + 0.5 * theta[:-1] @ P @ theta[:-1]

    start = np.zeros(LABELS.size + 1)
    reference = minimize(objective, start, method="BFGS", options={"gtol": 1e-10})
    model, _ = glmx.fit(glmx.GLM(glmx.Poisson(), glmx.Smoothness(LABELS, strength=0.1)), X, y)
    np.testing.assert_allclose(model.coef, reference.x[:-1], atol=1e-5)
    rough, _ = glmx.fit(glmx.GLM(glmx.Poisson()), X, y)
    curvature = lambda c: np.sum(np.diff(np.asarray(c)[:5], n=2) ** 2)  # noqa: E731
    assert curvature(model.coef) < curvature(rough.coef)


def test_path_points_and_gradients_through_the_fit():
    X, y, _ = smooth_data(seed=4)
    model = glmx.GLM(glmx.Gaussian(), glmx.Smoothness(LABELS, strength=np.array([1.0, 3.0])))
    path = glmx.fit_path(model, X, y, np.array([1.0, 0.1, 0.01]), solver=glmx.Newton(tol=1e-12))
    single, _ = glmx.fit(path.model_at(1), X, y, glmx.Newton(tol=1e-12))
    np.testing.assert_allclose(path.coef[1], single.coef, atol=1e-9)
    np.testing.assert_allclose(path.model_at(1).regularizer.strength, [0.1, 0.3])

    def held_out(log_strength):
        reg = glmx.Smoothness(LABELS, strength=jax.numpy.exp(log_strength))
        model = glmx.GLM(glmx.Gaussian(), reg)
        fitted, _ = glmx.fit(model, X[:200], y[:200], glmx.Newton(tol=1e-12))
        return -fitted.log_likelihood(X[200:], y[200:])

    point = np.log(np.array([0.05, 0.2]))
    grad = jax.grad(held_out)(point)
    step = 1e-5
    for g in range(2):
        e = np.zeros(2)
        e[g] = step
        fd = (held_out(point + e) - held_out(point - e)) / (2 * step)
        np.testing.assert_allclose(grad[g], fd, rtol=1e-4, atol=1e-9)


def test_save_load_and_bad_input(tmp_path):
    reg = glmx.Smoothness(LABELS, order=1, strength=np.array([0.5, 2.0]))
    glmx.save_model(tmp_path / "m.npz", glmx.GLM(glmx.Poisson(), reg))
    loaded = glmx.load_model(tmp_path / "m.npz").regularizer
    assert loaded.order == 1 and repr(loaded) == repr(reg)
    np.testing.assert_array_equal(loaded.differences, reg.differences)
    with pytest.raises(ValueError, match="Smoothness order must be 1 or 2, got 3"):
        glmx.Smoothness(LABELS, order=3)
    with pytest.raises(ValueError, match=r"group 1 has 2 feature\(s\); differences of order 2"):
        glmx.Smoothness(np.array([0, 0, 0, 1, 1]))
    X, y, _ = smooth_data()
    with pytest.raises(ValueError, match="Smoothness groups mask has 10 columns but X has 9"):
        glmx.fit(glmx.GLM(glmx.Gaussian(), reg), X[:, :9], y)
    with pytest.raises(ValueError, match="Smoothness strength must be non-negative"):
        glmx.fit(glmx.GLM(glmx.Gaussian(), glmx.Smoothness(LABELS, strength=-1.0)), X, y)
