"""The solvers' shared machinery, on problems that are not GLMs: the one backtracking search and
its acceptance rules, the loop kind the adjoint hands down in a `Problem`, and the declared
interfaces (`NonSmooth`, `AbstractRows`) checked with clear errors."""

import pathlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import glmx
from conftest import simulate
from glmx._solvers import AbstractRows, NonSmooth, Problem, iterative_solve
from glmx._solvers._search import armijo_wolfe, backtrack, line_search, model_decrease
from glmx._solvers._shared import flat_value_and_grad

# --- a small smooth problem where Newton's full step overshoots -------------------------------
# f(x) = sum(log cosh(x - a)) + 0.05 |x|^2: far from a, the Hessian is nearly 0.1 I while the
# gradient is about 1 + 0.1 x, so a full Newton step lands far on the other side.

X0 = jnp.array([8.0, -6.0, 5.0])
A = jnp.array([0.5, -1.0, 2.0])
READOUT = jnp.array([0.3, -0.7, 1.1])


def _smooth(x, args):
    u = x - args["a"]
    return jnp.sum(jnp.logaddexp(u, -u) - jnp.log(2.0)) + 0.05 * jnp.sum(x**2)


def _l1_prox(x, step, args):
    return jnp.sign(x) * jnp.maximum(jnp.abs(x) - step * args["lam"], 0.0)


def _l1_value(x, args):
    return args["lam"] * jnp.sum(jnp.abs(x))


L1 = NonSmooth(_l1_prox, _l1_value)

SOLVERS = {
    "newton": (glmx.Newton(max_steps=3), None),
    "lbfgs": (glmx.LBFGS(max_steps=4), None),
    "gradient-descent": (glmx.GradientDescent(max_steps=8), None),
    "proximal-newton": (glmx.ProximalNewton(max_steps=3, inner_max_steps=60), L1),
    "proximal-gradient": (glmx.ProximalGradient(max_steps=8), L1),
}


def _readout(solver, prox, loop):
    def readout(a):
        solution = iterative_solve(solver, _smooth, prox, X0, {"a": a, "lam": 0.3}, loop=loop)
        return solution.params @ READOUT

    return readout


def test_the_full_newton_step_overshoots_so_the_search_backtracks():
    grad = jax.grad(_smooth)(X0, {"a": A})
    newton = -jnp.linalg.solve(jax.hessian(_smooth)(X0, {"a": A}), grad)
    assert _smooth(X0 + newton, {"a": A}) > _smooth(X0, {"a": A})


@pytest.mark.parametrize("name", SOLVERS)
def test_bounded_loops_reach_every_inner_loop(name):
    """``loop="bounded"`` must reach the line search, the inner FISTA and the momentum
    backtracking too: reverse mode then goes through the early-stopped solve and agrees with
    finite differences of it; with ``lax`` loops it cannot."""
    solver, prox = SOLVERS[name]
    gradient = jax.jit(jax.grad(_readout(solver, prox, "bounded")))(A)
    forward = jax.jit(_readout(solver, prox, "lax"))
    h = 1e-6
    eye = np.eye(A.shape[0])
    expected = [(forward(A + h * e) - forward(A - h * e)) / (2 * h) for e in eye]
    np.testing.assert_allclose(gradient, expected, rtol=1e-6, atol=1e-9)
    with pytest.raises(ValueError, match="Reverse-mode differentiation does not work"):
        jax.grad(_readout(solver, prox, "lax"))(A)


def test_unrolled_fit_differentiates_an_early_stopped_solve_through_its_line_search():
    """From a start where Newton must backtrack (rates near zero: its first full step
    overshoots, and the search takes 1/16 of it), the unrolled derivative of a two-step fit is
    the derivative of what those two steps computed (not of the optimum)."""
    X, y, _, _ = simulate("poisson")
    # An exact Hessian: one formed in float32 would leave finite differences only its rounding.
    solver = glmx.Newton(max_steps=2, low_precision_hessian=False)
    start = dict(coef=jnp.zeros(X.shape[1]), intercept=-4.0)

    def readout(strength, adjoint):
        model = glmx.GLM(glmx.Poisson(), glmx.Ridge(strength), **start)
        fitted, _ = glmx.fit(model, X, y, solver, adjoint=adjoint)
        return fitted.coef @ jnp.array([0.3, -0.7, 1.1, 0.2]) + fitted.intercept

    unrolled = jax.jit(jax.grad(lambda s: readout(s, glmx.Unrolled())))(0.05)
    value = jax.jit(lambda s: readout(s, glmx.Unrolled()))
    h = 1e-6
    np.testing.assert_allclose(unrolled, (value(0.05 + h) - value(0.05 - h)) / (2 * h), rtol=1e-6)
    # Two steps are far from the optimum, so the implicit derivative is a different number.
    implicit = jax.jit(jax.grad(lambda s: readout(s, glmx.Implicit())))(0.05)
    assert abs(float(unrolled - implicit)) > 1e-3 * abs(float(implicit))


# --- the one search -----------------------------------------------------------------------------


def _quartic(x, args):
    return jnp.sum((x - args["a"]) ** 4)


def _rules(x, value, grad, direction, args):
    smooth = armijo_wolfe(value, grad, direction)
    whole = model_decrease(lambda v: _l1_value(v, args), x, x + direction, value, grad)
    return {"armijo-wolfe": smooth, "model-decrease": whole}


@pytest.mark.parametrize("rule", ["armijo-wolfe", "model-decrease"])
def test_line_search_takes_the_first_halving_its_rule_accepts(rule):
    args = {"a": jnp.array([1.0, -0.5]), "lam": 0.2}
    x = jnp.zeros(2)
    value_and_grad = flat_value_and_grad(_quartic, lambda v: v, args)
    value, grad = value_and_grad(x)
    direction, accepted = _rules(x, value, grad, jnp.array([10.0, -6.0]), args)[rule]
    tries = []
    for k in range(41):
        t = 0.5**k
        point = x + t * direction
        tries.append(bool(accepted(t, point, *value_and_grad(point))))
    first = tries.index(True)
    assert first >= 2  # the search had to backtrack
    step, f, g, ok = line_search(
        Problem(_quartic, None), value_and_grad, x, value, grad, direction, accepted
    )
    assert bool(ok)
    np.testing.assert_allclose(step, 0.5**first * direction, rtol=1e-15)
    want_f, want_g = value_and_grad(x + step)
    np.testing.assert_allclose(f, want_f, rtol=1e-14)
    np.testing.assert_allclose(g, want_g, rtol=1e-14)


def test_line_search_gives_up_after_forty_halvings():
    def nowhere_finite(x, args):  # finite only at the start
        return jnp.sum(x) + jnp.where(jnp.all(x == 0), 0.0, jnp.inf)

    x = jnp.zeros(2)
    value_and_grad = flat_value_and_grad(nowhere_finite, lambda v: v, None)
    value, grad = value_and_grad(x)
    direction, accepted = armijo_wolfe(value, grad, -grad)
    step, _, _, ok = line_search(
        Problem(nowhere_finite, None), value_and_grad, x, value, grad, direction, accepted
    )
    assert not bool(ok)
    np.testing.assert_array_equal(step, 0.5**40 * direction)


@pytest.mark.parametrize("threshold, expected", [(0.5, 1.0), (5.0, 8.0), (1e9, 2.0**10)])
def test_backtrack_tries_first_then_multiplies(threshold, expected):
    """Growing from 1 by 2 (as ProximalGradient's Lipschitz search does): the first value
    accepted, or the last of the ``1 + 10`` tries."""
    problem = Problem(_quartic, None)

    def trial(t):
        return -t

    first = jnp.array(1.0)
    t, result, ok = backtrack(problem, trial, lambda t, r: -r >= threshold, first, 2.0, 10, first)
    assert float(t) == expected and float(result) == -expected
    assert bool(ok) == (threshold < 1e9)


@pytest.mark.parametrize("name", ["newton", "lbfgs", "proximal-newton"])
def test_searching_solvers_never_increase_the_objective(name):
    """Newton and L-BFGS (Armijo / approximate Wolfe) and ProximalNewton (model decrease of
    ``fn + g``) step through the same search: from a start where full steps overshoot, the
    whole objective never increases, and they reach the optimum."""
    solver, prox = SOLVERS[name]
    solver = type(solver)()
    args = {"a": A, "lam": 0.3}

    def whole(x):
        return _smooth(x, args) + (0.0 if prox is None else _l1_value(x, args))

    problem = Problem(_smooth, prox)
    step = jax.jit(lambda x, state: solver.step(problem, x, state, args, False))
    x, state = X0, solver.init(problem, X0, args)
    objectives = [float(whole(x))]
    for _ in range(30):
        x, state = step(x, state)
        objectives.append(float(whole(x)))
    assert np.all(np.diff(objectives) <= 1e-13 * abs(objectives[0]))
    reference = iterative_solve(
        glmx.ProximalGradient(tol=1e-12, max_steps=20_000), _smooth, prox, X0, args
    )
    np.testing.assert_allclose(x, reference.params, atol=1e-7)


# --- declared interfaces --------------------------------------------------------------------------


@pytest.mark.parametrize("solver", [glmx.ProximalNewton(), glmx.ProximalGradient()])
def test_a_bare_prox_function_is_refused_with_the_solvers_name(solver):
    message = rf"{type(solver).__name__} needs the penalty's value as well as its prox"
    args = {"a": A, "lam": 0.3}
    with pytest.raises(TypeError, match=message):
        iterative_solve(solver, _smooth, _l1_prox, X0, args)
    with pytest.raises(TypeError, match="prox"):
        Problem(_smooth, _l1_prox)


def test_non_smooth_needs_both_parts():
    with pytest.raises(TypeError, match="value"):
        NonSmooth(_l1_prox)
    with pytest.raises(TypeError, match="value"):
        NonSmooth(_l1_prox, 0.3)


def test_problem_loop_kinds():
    assert Problem(_smooth, None).loop == "lax"
    with pytest.raises((TypeError, ValueError), match="loop"):
        Problem(_smooth, None, loop="checkpointed")


def _least_squares(x, args):
    design, target = args
    return 0.5 * jnp.mean((design @ x - target) ** 2)


class _Rows(AbstractRows):
    design: jax.Array
    target: jax.Array

    @property
    def n_rows(self):
        return self.design.shape[0]

    def take_rows(self, index):
        return _Rows(self.design[index], self.target[index])


def _rows_least_squares(x, rows):
    return _least_squares(x, (rows.design, rows.target))


def _regression(n=400, p=3):
    rng = np.random.default_rng(3)
    design = jnp.asarray(rng.normal(size=(n, p)))
    target = design @ jnp.array([0.5, -1.0, 2.0]) + 0.1 * jnp.asarray(rng.normal(size=n))
    return design, target, jnp.linalg.lstsq(design, target)[0]


def test_svrg_samples_any_abstract_rows():
    design, target, expected = _regression()
    solution = iterative_solve(
        glmx.SVRG(batch_size=40, tol=1e-10),
        _rows_least_squares,
        None,
        jnp.zeros(3),
        _Rows(design, target),
    )
    assert bool(solution.status == glmx.RESULTS.successful)
    np.testing.assert_allclose(solution.params, expected, atol=1e-8)


def test_svrg_full_solve_refuses_args_that_are_not_rows():
    design, target, _ = _regression()
    with pytest.raises(TypeError, match=r"must be a glmx._solvers.AbstractRows .* got tuple"):
        iterative_solve(glmx.SVRG(), _least_squares, None, jnp.zeros(3), (design, target))


def test_svrg_streams_batches_of_plain_args():
    """Streamed batches need no AbstractRows: the learning rate is then estimated on the
    whole first batch."""
    design, target, expected = _regression()
    batches = [(design[i : i + 100], target[i : i + 100]) for i in range(0, 400, 100)]
    solver = glmx.SVRG(batches_per_epoch=len(batches))
    problem = Problem(_least_squares, None)
    step = jax.jit(lambda x, state, batch: solver.step(problem, x, state, batch, True))
    x, state = jnp.zeros(3), solver.init(problem, jnp.zeros(3), batches[0])
    for _ in range(150):
        for batch in batches:
            x, state = step(x, state, batch)
    np.testing.assert_allclose(x, expected, atol=1e-6)


def test_solvers_probe_no_attributes():
    package = pathlib.Path(glmx.__file__).parent / "_solvers"
    for path in package.glob("*.py"):
        assert "hasattr(" not in path.read_text(), path.name
