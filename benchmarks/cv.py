"""Choosing penalty strengths by cross-validation for a population: glmx.cross_validate beside
glum's GeneralizedLinearRegressorCV and scikit-learn's GridSearchCV (and NeMoS's, when
installed), unit by unit as their users run them, on the same data in one run.

    python benchmarks/cv.py [--repeats 3] [--quick] [--skip-peers nemos,glum,sklearn]
                            [--peer-units 10]

Workload (a premotor-like recording): a realistic encoding design (`designs.py`: raised-cosine
history and coupling features of correlated, bursty spike trains and filtered stimuli; not
centred, strongly correlated; its condition number is printed), n = 25,000 bins, p = 100
features, 50 Poisson units, float64; 8 strengths x 3 contiguous folds (scikit-learn's
``KFold(3)`` without shuffling: the same folds everywhere). Two penalties:

- **ElasticNet** (ratio 0.5): glmx and glum (their penalties mean the same objective:
  mean negative log-likelihood + ``s (0.5 |w|_1 + 0.25 ||w||^2)``), and NeMoS's
  GridSearchCV when installed. scikit-learn has no Poisson elastic net.
- **Ridge**: glmx, glum and scikit-learn's ``GridSearchCV(PoissonRegressor)``.

Every library chooses each unit's strength by its held-out deviance (glmx ``score="deviance"``,
glum's own criterion; scikit-learn and NeMoS by their ``score``: D^2 and the log-likelihood,
which order strengths as the mean deviance does on equal folds). The table gives glmx's first
call (compilation included) and warm median, each peer's time, the ratio, and on how many units
the chosen strength agrees with glmx's. The peers loop over ``--peer-units`` of the units (their
time is scaled up to all units, marked "×k"); glmx always fits all of them.
"""

import argparse
import os
import time
import warnings

import jax

jax.config.update("jax_enable_x64", True)

import designs  # noqa: E402
import numpy as np  # noqa: E402
from _common import finish, markdown_table, time_calls  # noqa: E402

import glmx  # noqa: E402

GRID = np.logspace(-2, -4.5, 8)
FOLDS = 3
RATIO = 0.5
TOL = 1e-8


def workload(n, p, units, seed=0):
    d = designs.for_features(n, p, seed)
    X = designs.design_matrix(d)
    Y, _, _ = designs.responses(X, "poisson", d, neurons=units)
    return X, Y


def glmx_cv(X, Y, penalty):
    regularizer = glmx.ElasticNet(ratio=RATIO) if penalty == "ElasticNet" else glmx.Ridge()
    pop = glmx.PopulationGLM(glmx.Poisson(), regularizer, n_neurons=Y.shape[1])
    cv = glmx.cross_validate(pop, X, Y, GRID, folds=FOLDS, score="deviance")
    return np.asarray(cv.best_index)


def glum_cv(X, Y, penalty):
    from glum import GeneralizedLinearRegressorCV
    from sklearn.model_selection import KFold

    picks = []
    for k in range(Y.shape[1]):
        model = GeneralizedLinearRegressorCV(
            family="poisson",
            l1_ratio=RATIO if penalty == "ElasticNet" else 0.0,
            alphas=GRID,
            cv=KFold(FOLDS),
            gradient_tol=TOL,
        ).fit(X, Y[:, k])
        picks.append(int(np.argmin(np.abs(GRID - model.alpha_))))
    return np.asarray(picks)


def sklearn_cv(X, Y, penalty):
    from sklearn.linear_model import PoissonRegressor
    from sklearn.model_selection import GridSearchCV, KFold

    if penalty != "Ridge":
        return None
    picks = []
    for k in range(Y.shape[1]):
        search = GridSearchCV(
            PoissonRegressor(solver="newton-cholesky", tol=TOL, max_iter=1000),
            {"alpha": list(GRID)},
            cv=KFold(FOLDS),
        ).fit(X, Y[:, k])
        picks.append(int(np.argmin(np.abs(GRID - search.best_params_["alpha"]))))
    return np.asarray(picks)


def nemos_cv(X, Y, penalty):
    import nemos
    from sklearn.model_selection import GridSearchCV, KFold

    picks = []
    for k in range(Y.shape[1]):
        kwargs = {"regularizer": penalty}
        if penalty == "ElasticNet":
            grid = [(s, RATIO) for s in GRID]
            kwargs["solver_name"] = "ProximalGradient"
        else:
            grid = list(GRID)
        search = GridSearchCV(
            nemos.glm.GLM(**kwargs), {"regularizer_strength": grid}, cv=KFold(FOLDS)
        ).fit(X, Y[:, k])
        best = search.best_params_["regularizer_strength"]
        best = best[0] if isinstance(best, tuple) else best
        picks.append(int(np.argmin(np.abs(GRID - best))))
    return np.asarray(picks)


PEERS = {"glum": glum_cv, "sklearn": sklearn_cv, "nemos": nemos_cv}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="small shapes, for a smoke test")
    parser.add_argument("--skip-peers", default="", help="comma-separated: glum,sklearn,nemos")
    parser.add_argument("--peer-units", type=int, default=10, help="units the peers fit")
    args = parser.parse_args(argv)
    n, p, units = (2_000, 20, 4) if args.quick else (25_000, 100, 50)
    skip = set(args.skip_peers.split(","))
    peers = {}
    for name, run in PEERS.items():
        try:
            __import__(name)
        except ImportError:
            print(f"({name} is not installed: skipped)")
            continue
        if name not in skip:
            peers[name] = run
    X, Y = workload(n, p, units)
    print(f"# Cross-validated strengths for a population (jax {jax.__version__}, float64)")
    print(
        f"load average {os.getloadavg()[0]:.2f}; n={n}, p={p}, {units} units, "
        f"{len(GRID)} strengths x {FOLDS} folds; condition number of X "
        f"{designs.condition_number(X):.2g}; glmx repeats {args.repeats}\n"
    )
    warnings.filterwarnings("ignore")  # peers' convergence and deprecation chatter
    rows = []
    for penalty in ("ElasticNet", "Ridge"):
        first, warm, picks = time_calls(lambda: glmx_cv(X, Y, penalty), args.repeats)
        glmx_warm = float(np.median(warm))
        rows.append([penalty, "glmx.cross_validate", f"{first:.2f}", f"{glmx_warm:.2f}", "", ""])
        k = min(args.peer_units, units)
        for name, run in peers.items():
            start = time.perf_counter()
            theirs = run(X, Y[:, :k], penalty)
            seconds = (time.perf_counter() - start) * units / k
            if theirs is None:
                continue
            agree = int(np.sum(theirs == picks[:k]))
            scaled = f" ×{units / k:.3g}" if k < units else ""
            rows.append(
                [
                    penalty,
                    name,
                    "",
                    f"{seconds:.2f}{scaled}",
                    f"{glmx_warm / seconds:.3f}",
                    f"{agree}/{k}",
                ]
            )
    print(
        markdown_table(
            ["penalty", "library", "first call (s)", "warm (s)", "glmx / peer", "same pick"],
            rows,
        )
    )
    return 0


if __name__ == "__main__":
    finish(main())
