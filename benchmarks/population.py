"""Population fits: 100 neurons sharing X (n=50,000, p=100), Ridge Poisson, float64.

    python benchmarks/population.py [--neurons 100] [--n 50000] [--p 100] [--repeats 2]

glmx's PopulationGLM (one vmapped fit) beside NeMoS's PopulationGLM and loops of glum and
scikit-learn fits over neurons, on the same data in one run. Prints first-fit and warm-fit
medians, the summed objective gap to a tight reference, the largest coefficient error, and
glmx's warm time as a ratio to each. NeMoS needs Python >= 3.12; missing peers are skipped.
"""

import argparse

import jax

jax.config.update("jax_enable_x64", True)

import numpy as np  # noqa: E402
from _common import finish, peak_memory_gb, poisson_objective, print_table, time_calls  # noqa: E402

import glmx  # noqa: E402


def make_data(neurons, n, p, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p)) / np.sqrt(p)
    W = rng.normal(size=(neurons, p)) * 0.5
    Y = rng.poisson(np.exp(X @ W.T - 1.0)).astype(float)
    return X, Y


def glmx_runner(X, Y, strength, solver=None):
    def run():
        pop = glmx.PopulationGLM(glmx.Poisson(), glmx.Ridge(strength), n_neurons=Y.shape[1])
        pop, result = glmx.fit(pop, X, Y, solver)
        jax.block_until_ready(pop.coef)
        return np.asarray(pop.coef), np.asarray(pop.intercept)

    return run


def _loop_over_neurons(X, Y, make_estimator):
    """A runner fitting one scikit-learn-style estimator per neuron, in a Python loop."""

    def run():
        fits = [make_estimator().fit(X, Y[:, k]) for k in range(Y.shape[1])]
        return np.array([f.coef_ for f in fits]), np.array([f.intercept_ for f in fits])

    return run


def peer_runners(X, Y, strength):
    runners = {}
    try:
        import nemos as nmo

        def nemos_fit():
            model = nmo.glm.PopulationGLM(regularizer="Ridge", regularizer_strength=strength)
            model.fit(X, Y)
            return np.asarray(model.coef_).T, np.asarray(model.intercept_)

        runners[f"NeMoS {nmo.__version__} PopulationGLM (LBFGS)"] = nemos_fit
    except ImportError:
        print("(NeMoS not installed: skipped)")
    try:
        from glum import GeneralizedLinearRegressor

        runners["glum loop over neurons"] = _loop_over_neurons(
            X,
            Y,
            lambda: GeneralizedLinearRegressor(
                family="poisson", alpha=strength, l1_ratio=0.0, gradient_tol=1e-8
            ),
        )
    except ImportError:
        print("(glum not installed: skipped)")
    try:
        from sklearn.linear_model import PoissonRegressor

        runners["scikit-learn newton-cholesky loop"] = _loop_over_neurons(
            X,
            Y,
            lambda: PoissonRegressor(
                alpha=strength, solver="newton-cholesky", tol=1e-8, max_iter=100
            ),
        )
    except ImportError:
        print("(scikit-learn not installed: skipped)")
    return runners


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--neurons", type=int, default=100)
    parser.add_argument("--n", type=int, default=50_000)
    parser.add_argument("--p", type=int, default=100)
    parser.add_argument("--strength", type=float, default=1e-3)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    X, Y = make_data(args.neurons, args.n, args.p)
    print(f"glmx {glmx.__version__}, jax {jax.__version__}, float64")
    print(f"## Population: {args.neurons} neurons, n={args.n}, p={args.p}, Ridge {args.strength}")
    ref_coef, ref_intercept = glmx_runner(X, Y, args.strength, glmx.LBFGS(tol=1e-12))()
    f_ref = poisson_objective(X, Y, ref_coef, ref_intercept, args.strength)
    rows = []
    runners = {"glmx PopulationGLM (LBFGS)": glmx_runner(X, Y, args.strength)}
    runners.update(peer_runners(X, Y, args.strength))
    for label, run in runners.items():
        repeats = args.repeats if label.startswith("glmx") else max(1, args.repeats - 1)
        first, warm, (coef, intercept) = time_calls(run, repeats)
        f = poisson_objective(X, Y, coef, intercept, args.strength)
        gap = float(np.sum(f - f_ref) / np.sum(np.abs(f_ref)))
        rows.append((label, first, warm, gap, float(np.max(np.abs(coef - ref_coef)))))
        print(f"  done: {label} (warm {warm:.2f} s)", flush=True)
    print_table(rows)
    print(f"peak memory of this process: {peak_memory_gb():.2f} GB")


if __name__ == "__main__":
    main()
    finish()
