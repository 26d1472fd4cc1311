"""Single-neuron Poisson fits: glmx beside scikit-learn, glum and statsmodels on the same data.

    python benchmarks/single_neuron.py [--n 100000] [--p 200] [--repeats 3]

For each workload and library: first fit (including glmx's compilation), the median of warm
fits, the relative objective gap to a tight float64 reference, the largest coefficient error
against that reference, and glmx's warm time as a ratio to each peer. Also glmx's warm time in
"passes over X" (the time of one X^T r product). Peers that are not installed are skipped.
"""

import argparse
import os
import time

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from _common import finish, poisson_objective, print_table, time_calls  # noqa: E402

import glmx  # noqa: E402


def make_data(n, p, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p)) / np.sqrt(p)
    coef = rng.normal(size=p) * 0.5
    y = rng.poisson(np.exp(X @ coef - 1.0)).astype(float)
    return X, y


def glmx_fit(X, y, strength, solver):
    regularizer = glmx.Ridge(strength) if strength > 0 else glmx.UnRegularized()

    def run():
        model, result = glmx.fit(glmx.GLM(glmx.Poisson(), regularizer), X, y, solver)
        jax.block_until_ready(model.coef)
        return np.asarray(model.coef), float(model.intercept)

    return run


def peers(X, y, strength):
    out = {}
    try:
        from sklearn.linear_model import PoissonRegressor

        def sk():
            m = PoissonRegressor(alpha=strength, solver="newton-cholesky", tol=1e-10, max_iter=500)
            m.fit(X, y)
            return m.coef_, m.intercept_

        out["scikit-learn newton-cholesky"] = sk
    except ImportError:
        pass
    try:
        from glum import GeneralizedLinearRegressor

        def gl():
            m = GeneralizedLinearRegressor(
                family="poisson", alpha=strength, l1_ratio=0.0, gradient_tol=1e-10, max_iter=500
            )
            m.fit(X, y)
            return m.coef_, m.intercept_

        out["glum"] = gl
    except ImportError:
        pass
    if strength == 0:
        try:
            import statsmodels.api as sm

            Xc = np.column_stack([np.ones(len(y)), X])

            def st():
                res = sm.GLM(y, Xc, family=sm.families.Poisson()).fit(tol=1e-10)
                return res.params[1:], res.params[0]

            out["statsmodels IRLS"] = st
        except ImportError:
            pass
    return out


def reference(X, y, strength):
    model, _ = glmx.fit(
        glmx.GLM(glmx.Poisson(), glmx.Ridge(strength)), X, y, glmx.LBFGS(tol=1e-13, max_steps=5000)
    )
    return np.asarray(model.coef), float(model.intercept)


def pass_time(X, repeats=5):
    Xj = jnp.asarray(X)
    r = jnp.ones(X.shape[0])
    product = jax.jit(lambda X, r: X.T @ r)
    product(Xj, r).block_until_ready()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        product(Xj, r).block_until_ready()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def run_workload(name, X, y, strength, repeats):
    print(f"\n## {name}: n={X.shape[0]}, p={X.shape[1]}, Ridge strength={strength}")
    ref_coef, ref_intercept = reference(X, y, strength)
    f_ref = poisson_objective(X, y, ref_coef, ref_intercept, strength)
    rows = []
    for label, fn in [
        ("glmx LBFGS", glmx_fit(X, y, strength, glmx.LBFGS())),
        ("glmx ProximalGradient", glmx_fit(X, y, strength, glmx.ProximalGradient())),
        *peers(X, y, strength).items(),
    ]:
        first, warm, (coef, intercept) = time_calls(fn, repeats)
        gap = (poisson_objective(X, y, coef, intercept, strength) - f_ref) / abs(f_ref)
        err = np.max(np.abs(coef - ref_coef))
        rows.append((label, first, warm, gap, err))
    print_table(rows)
    best_glmx = min(r[2] for r in rows if r[0].startswith("glmx"))
    seconds = pass_time(X)
    print(
        f"one X^T r pass: {seconds * 1e3:.1f} ms; best glmx warm fit = "
        f"{best_glmx / seconds:.0f} passes"
    )


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--p", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    X, y = make_data(args.n, args.p)
    print(f"glmx {glmx.__version__}, jax {jax.__version__}, {os.cpu_count()} cores, float64")
    run_workload("Poisson, unregularized", X, y, 0.0, args.repeats)
    run_workload("Poisson, Ridge", X, y, 1e-3, args.repeats)


if __name__ == "__main__":
    main()
    finish()
