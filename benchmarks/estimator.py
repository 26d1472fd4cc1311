"""The scikit-learn estimator API in use: one fit, and a cross-validated grid search over Ridge
strengths, with glmx.sklearn beside NeMoS, scikit-learn and glum on the same data.

    python benchmarks/estimator.py [--repeats 3] [--quick] [--skip-peers nemos,glum]

Workload: Poisson (log link), float64, n=20k, p=50, ``X ~ N(0, 1) / sqrt(p)``, weak true
coefficients; Ridge. The grid
search is scikit-learn's ``GridSearchCV`` over 7 strengths (1e-5 to 1e-1) with 5-fold CV (35
fits and the refit), scored by each estimator's own ``score`` (glmx and NeMoS: mean
log-likelihood; scikit-learn and glum: D^2, the fraction of deviance explained). Every library's
strength means the same objective (mean NLL + 0.5 s ||w||^2, as `suite.py` explains), so every
search should pick the same strength; the pick is printed. A population row fits 20 neurons with
``PopulationGLM`` (glmx, NeMoS) or a loop (scikit-learn).

NeMoS installs on Python 3.12 and newer; run from such an environment to include it. First
calls (with compilation) and medians of warm calls are reported; glmx compiles once per shape,
so the grid search's 35 fits on equal-sized folds reuse one program.
"""

import argparse
import os
import sys
import warnings

import jax

jax.config.update("jax_enable_x64", True)

import numpy as np  # noqa: E402
from _common import finish, markdown_table, time_calls  # noqa: E402

from glmx.sklearn import GLM, PopulationGLM  # noqa: E402

STRENGTH = 1e-3
GRID = [1e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 1e-1]
TOL = 1e-8


def simulate(n, p, neurons=0, seed=0):
    """Weak true coefficients (scale 0.2), so that a moderate Ridge strength predicts best."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p)) / np.sqrt(p)
    coef = 0.2 * rng.normal(size=(max(neurons, 1), p))
    Y = rng.poisson(np.exp(X @ coef.T - 1.0)).astype(float)
    return X, (Y if neurons else Y[:, 0])


def estimators(peers):
    """``{library: (single-neuron factory(strength), population factory or None)}``."""
    out = {
        "glmx.sklearn": (
            lambda s: GLM("Poisson", "Ridge", regularizer_strength=s),
            lambda s: PopulationGLM("Poisson", "Ridge", regularizer_strength=s),
        )
    }
    if "nemos" in peers:
        import nemos

        out["NeMoS"] = (
            lambda s: nemos.glm.GLM(regularizer="Ridge", regularizer_strength=s),
            lambda s: nemos.glm.PopulationGLM(regularizer="Ridge", regularizer_strength=s),
        )
    if "sklearn" in peers:
        from sklearn.linear_model import PoissonRegressor

        out["scikit-learn PoissonRegressor"] = (
            lambda s: PoissonRegressor(alpha=s, solver="newton-cholesky", tol=TOL, max_iter=1000),
            None,
        )
    if "glum" in peers:
        from glum import GeneralizedLinearRegressor

        out["glum"] = (
            lambda s: GeneralizedLinearRegressor(
                family="poisson", alpha=s, l1_ratio=0.0, gradient_tol=TOL
            ),
            None,
        )
    return out


def available(skip):
    found = []
    for name, module in [("nemos", "nemos"), ("sklearn", "sklearn"), ("glum", "glum")]:
        if name in skip:
            continue
        try:
            __import__(module)
        except ImportError:
            print(f"({name} is not installed: skipped)")
            continue
        found.append(name)
    return found


def main(argv=None) -> int:
    from sklearn.model_selection import GridSearchCV, KFold

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="small shapes, for a smoke test")
    parser.add_argument("--skip-peers", default="", help="comma-separated: nemos,sklearn,glum")
    args = parser.parse_args(argv)
    scale = 10 if args.quick else 1
    n, p, neurons = 20_000 // scale, 50, 20
    print(f"# glmx.sklearn beside the peers' estimators (jax {jax.__version__}, float64)")
    print(f"load average {os.getloadavg()[0]:.2f}, n={n}, p={p}, repeats {args.repeats}\n")
    X, y = simulate(n, p)
    _, Y = simulate(n, p, neurons, seed=1)
    warnings.filterwarnings("ignore")  # peers' convergence and deprecation chatter
    rows, base = [], {}
    for library, (single, population) in estimators(available(args.skip_peers.split(","))).items():
        first, warm, _ = time_calls(lambda: single(STRENGTH).fit(X, y), args.repeats)

        def search():
            cv = KFold(5, shuffle=True, random_state=0)
            return GridSearchCV(single(STRENGTH), {"regularizer_strength": GRID}, cv=cv)

        def search_sklearn_names():
            cv = KFold(5, shuffle=True, random_state=0)
            return GridSearchCV(single(STRENGTH), {"alpha": GRID}, cv=cv)

        make_search = search if library in ("glmx.sklearn", "NeMoS") else search_sklearn_names
        g_first, g_warm, fitted = time_calls(lambda: make_search().fit(X, y), args.repeats)
        pick = next(iter(fitted.best_params_.values()))
        if population is not None:
            p_first, p_warm, _ = time_calls(lambda: population(STRENGTH).fit(X, Y), args.repeats)
        else:
            from sklearn.linear_model import PoissonRegressor

            def loop():
                for k in range(neurons):
                    PoissonRegressor(alpha=STRENGTH, solver="newton-cholesky", tol=TOL).fit(
                        X, Y[:, k]
                    )

            p_first, p_warm, _ = (
                time_calls(loop, max(1, args.repeats // 2))
                if library.startswith("scikit")
                else (np.nan, [np.nan], None)
            )
        times = (np.median(warm), np.median(g_warm), np.median(p_warm))
        base = base or dict(zip(("fit", "search", "population"), times, strict=True))
        rows.append(
            [
                library,
                f"{times[0]:.3f} (first {first:.2f})",
                f"{base['fit'] / times[0]:.3f}",
                f"{times[1]:.2f} (first {g_first:.2f})",
                f"{base['search'] / times[1]:.3f}",
                f"{pick:g}",
                "" if np.isnan(times[2]) else f"{times[2]:.3f} (first {p_first:.2f})",
                "" if np.isnan(times[2]) else f"{base['population'] / times[2]:.3f}",
            ]
        )
    header = [
        "estimator",
        "fit, s",
        "glmx / this",
        "grid search (7 x 5-fold), s",
        "glmx / this",
        "picked strength",
        f"population ({neurons} neurons), s",
        "glmx / this",
    ]
    print(markdown_table(header, rows))
    return 0


if __name__ == "__main__":
    finish(main(sys.argv[1:]))
