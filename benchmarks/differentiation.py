"""Gradients through fits: what a hyper-gradient costs in glmx, against the finite differences
a user of scikit-learn or glum would compute instead (no peer differentiates a fit).

    python benchmarks/differentiation.py [--repeats 5] [--quick] [--skip-peers sklearn,glum]

Workloads (float64, ``X ~ N(0, 1) / sqrt(p)``, a held-out set of n/5 rows):

- ``ridge``: Poisson, n=100k, p=200, Ridge 1e-3: d(held-out NLL)/d(strength).
- ``lasso``: Poisson with 20% non-zero true coefficients, n=100k, p=200, Lasso 3e-4.
- ``path``: Poisson, n=20k, p=100: the gradient at 20 Ridge strengths at once (``vmap``).
- ``population``: 100 Poisson neurons sharing X, n=50k, p=100, one Ridge strength per neuron:
  the gradient with respect to all 100 strengths.

For each, glmx's forward fit (fit + held-out loss, jitted, warm) and its value-and-gradient
with the default `Implicit()` adjoint (conjugate gradients preconditioned by the Gram of X)
and with `Implicit("cholesky")` (the exact Hessian, factorised); the backward pass is their
difference, given in seconds, as a ratio to the forward time and in passes over X (one
``r @ X`` product). The peers' row is a central finite difference: two fits per strength
(perturbed by 1e-4 relative), timed once, with the gradient it gives. The gradient columns
agree to the precision of the finite difference.
"""

import argparse
import sys
import time
import warnings

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from _common import finish, markdown_table, median_time  # noqa: E402

import glmx  # noqa: E402

RELATIVE_STEP = 1e-4


def simulate(n, p, neurons=None, sparse=False, seed=0):
    rng = np.random.default_rng(seed)
    shape = (p,) if neurons is None else (p, neurons)
    coef = rng.normal(size=shape) * 0.5
    if sparse:
        coef[rng.random(p) > 0.2] = 0.0
        coef *= 2.0
    X = rng.normal(size=(n + n // 5, p)) / np.sqrt(p)
    y = rng.poisson(np.exp(X @ coef - 1.0)).astype(float)
    return X[:n], y[:n], X[n:], y[n:]


def held_out_nll(coef, intercept, X, y):
    eta = X @ np.asarray(coef).T + np.asarray(intercept)
    return np.mean(np.exp(eta) - y * eta, axis=0)


def sklearn_fit(X, y, strength):
    from sklearn.linear_model import PoissonRegressor

    model = PoissonRegressor(alpha=strength, solver="newton-cholesky", tol=1e-10, max_iter=1000)
    model.fit(X, y)
    return model.coef_, model.intercept_


def glum_fit(X, y, strength, l1_ratio):
    from glum import GeneralizedLinearRegressor

    model = GeneralizedLinearRegressor(
        family="poisson", alpha=strength, l1_ratio=l1_ratio, gradient_tol=1e-10, max_iter=1000
    )
    model.fit(X, y)
    return model.coef_, model.intercept_


def finite_difference(fit_one, strengths, X, y, X_valid, y_valid, columns=None):
    """Central differences of the held-out NLL, two fits per strength (per neuron when
    ``columns`` is given). Returns ``(seconds, gradients)``."""
    start = time.perf_counter()
    grads = []
    for k, strength in enumerate(np.atleast_1d(strengths)):
        h = RELATIVE_STEP * strength
        yk = y if columns is None else y[:, k]
        vk = y_valid if columns is None else y_valid[:, k]
        values = [
            held_out_nll(*fit_one(X, yk, s), X_valid, vk) for s in (strength + h, strength - h)
        ]
        grads.append((values[0] - values[1]) / (2 * h))
    return time.perf_counter() - start, np.array(grads)


def glmx_loss(make, X_valid, y_valid, solver=None, adjoint=glmx.Implicit(), population=None):
    def loss(strength, X, y):
        if population is None:
            model = glmx.GLM(glmx.Poisson(), make(strength))
        else:
            model = glmx.PopulationGLM(glmx.Poisson(), make(strength), n_neurons=population)
        fitted, _ = glmx.fit(model, X, y, solver, adjoint=adjoint)
        return jnp.sum(-fitted.log_likelihood(X_valid, y_valid))

    return loss


def one_pass(X):
    r = jnp.ones(X.shape[0], X.dtype)
    product = jax.jit(lambda X, r: r @ X)
    return median_time(lambda: product(X, r).block_until_ready())


def run(name, make, strength, data, repeats, peers, population=None, path=False):
    X, y, X_valid, y_valid = (jnp.asarray(a) for a in data)
    strength = jnp.asarray(strength)
    rows = []
    pass_seconds = one_pass(X)
    forward_seconds = None
    for label, adjoint in [
        ("Implicit() (preconditioned CG)", glmx.Implicit()),
        ("Implicit('cholesky')", glmx.Implicit("cholesky")),
    ]:
        loss = glmx_loss(make, X_valid, y_valid, adjoint=adjoint, population=population)
        if path:
            value = jax.jit(jax.vmap(loss, in_axes=(0, None, None)))
            value_and_grad = jax.jit(jax.vmap(jax.value_and_grad(loss), in_axes=(0, None, None)))
        else:
            value = jax.jit(loss)
            value_and_grad = jax.jit(jax.value_and_grad(loss))
        if forward_seconds is None:
            forward_seconds = median_time(
                lambda: value(strength, X, y).block_until_ready(), repeats
            )
            rows.append(["glmx forward (fit + loss)", f"{forward_seconds:.3f}", "", "", "", ""])
        start = time.perf_counter()
        _, grad = jax.block_until_ready(value_and_grad(strength, X, y))
        first = time.perf_counter() - start
        seconds = median_time(
            lambda: jax.block_until_ready(value_and_grad(strength, X, y)), repeats
        )
        backward = seconds - forward_seconds
        rows.append(
            [
                f"glmx value+grad, {label}",
                f"{seconds:.3f}",
                f"{backward:.3f} ({backward / forward_seconds:.2f}x fwd)",
                f"{backward / pass_seconds:.0f}",
                _show(grad),
                f"first call {first:.1f} s",
            ]
        )
    raw = [np.asarray(a) for a in data]
    columns = population
    strengths = np.asarray(strength)
    for peer in peers:
        if peer == "sklearn" and make is glmx.Ridge:
            seconds, grad = finite_difference(sklearn_fit, strengths, *raw, columns=columns)
        elif peer == "glum":
            # glum's alpha is glmx's strength (see suite.py's _peer_strengths).
            l1_ratio = 1.0 if make is glmx.Lasso else 0.0

            def fit_one(X, y, s):
                return glum_fit(X, y, s, l1_ratio)

            seconds, grad = finite_difference(fit_one, strengths, *raw, columns=columns)
        else:
            continue
        if path or population:
            grad = grad.ravel()
        glmx_seconds = float(rows[1][1])
        rows.append(
            [
                f"{peer} central difference ({2 * strengths.size} fits)",
                f"{seconds:.3f}",
                "",
                "",
                _show(grad),
                f"glmx is {glmx_seconds / seconds:.3f}x this",
            ]
        )
    print(f"\n## {name}\n")
    header = ["method", "seconds", "backward", "backward in passes", "gradient", "note"]
    print(markdown_table(header, rows))
    sys.stdout.flush()


def _show(grad):
    grad = np.ravel(np.asarray(grad))
    shown = " ".join(f"{g:.6g}" for g in grad[:3])
    return shown + (" ..." if grad.size > 3 else "")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="tiny sizes (a smoke run)")
    parser.add_argument("--skip-peers", default="", help="comma-separated: sklearn,glum")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    skip = set(filter(None, args.skip_peers.split(",")))
    peers = [p for p in ("sklearn", "glum") if p not in skip]
    scale = 50 if args.quick else 1
    n, p = 100_000 // scale, 200 // (5 if args.quick else 1)
    print(f"# Differentiating through fits (jax {jax.__version__}, float64)")
    run("ridge", glmx.Ridge, 1e-3, simulate(n, p), args.repeats, peers)
    run("lasso", glmx.Lasso, 3e-4, simulate(n, p, sparse=True), args.repeats, peers)
    strengths = np.logspace(-4, -1, 20)
    run(
        "path (20 strengths, vmap)",
        glmx.Ridge,
        strengths,
        simulate(20_000 // scale, 100 // (5 if args.quick else 1)),
        args.repeats,
        peers,
        path=True,
    )
    neurons = 10 if args.quick else 100
    run(
        f"population ({neurons} neurons, one strength each)",
        glmx.Ridge,
        np.full(neurons, 1e-3),
        simulate(50_000 // scale, 100 // (5 if args.quick else 1), neurons=neurons),
        args.repeats,
        peers,
        population=neurons,
    )
    return 0


if __name__ == "__main__":
    finish(main())
