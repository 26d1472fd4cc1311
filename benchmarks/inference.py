"""Standard errors, p-values and confidence intervals: glmx beside statsmodels, on the same data.

    python benchmarks/inference.py [--repeats 5] [--quick]

Workloads (float64, Poisson with log link, unregularized, ``X ~ N(0, 1) / sqrt(p)``):

- ``single``: one neuron, n=100k, p=50; covariance nonrobust, HC0 and cluster-robust (200
  groups, e.g. trials).
- ``population``: 50 neurons sharing X, n=20k, p=50, nonrobust; glmx fits and infers all neurons
  in one vmapped program, statsmodels loops over them.

Each row times a fit plus everything a user reads off it (standard errors, p-values, 95%
intervals): glmx's ``fit`` then ``inference``, and statsmodels' ``GLM(...).fit(cov_type=...)``
(IRLS) then ``bse``, ``pvalues`` and ``conf_int()``. glmx's ``inference`` alone (on a fitted
model) is timed too. Medians of warm calls; glmx's first call (with compilation) is shown. The
largest relative difference between the two libraries' standard errors is printed as a check
that both computed the same thing.
"""

import argparse
import os
import sys

import jax

jax.config.update("jax_enable_x64", True)

import numpy as np  # noqa: E402
from _common import finish, markdown_table, time_calls  # noqa: E402

import glmx  # noqa: E402

SOLVER = glmx.Newton(tol=1e-10)


def simulate(n, p, neurons, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p)) / np.sqrt(p)
    coef = rng.normal(size=(neurons or 1, p))
    Y = rng.poisson(np.exp(X @ coef.T - 1.0)).astype(float)
    return X, (Y if neurons else Y[:, 0])


def glmx_run(X, y, neurons, cov_type, groups):
    if neurons:
        model = glmx.PopulationGLM(glmx.Poisson(), n_neurons=neurons)
    else:
        model = glmx.GLM(glmx.Poisson())

    def fit_and_infer():
        fitted, _ = glmx.fit(model, X, y, SOLVER)
        info = glmx.inference(fitted, X, y, cov_type=cov_type, groups=groups)
        out = info.std_errors, info.p_values, info.conf_int(0.95)
        jax.block_until_ready(out)
        return fitted, np.asarray(info.std_errors)

    def infer_only(fitted):
        info = glmx.inference(fitted, X, y, cov_type=cov_type, groups=groups)
        return jax.block_until_ready((info.std_errors, info.p_values, info.conf_int(0.95)))

    return fit_and_infer, infer_only


def statsmodels_run(X, y, neurons, cov_type, groups):
    import statsmodels.api as sm

    X1 = np.column_stack([X, np.ones(len(X))])
    kwargs = {"cov_type": cov_type}
    if cov_type == "cluster":
        kwargs["cov_kwds"] = {"groups": groups}

    def one(target):
        res = sm.GLM(target, X1, family=sm.families.Poisson()).fit(tol=1e-10, **kwargs)
        _ = res.pvalues, res.conf_int(0.05)
        return np.asarray(res.bse)

    def run():
        if neurons:
            return np.stack([one(y[:, k]) for k in range(neurons)])
        return one(y)

    return run


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="small shapes, for a smoke test")
    args = parser.parse_args(argv)
    scale = 10 if args.quick else 1
    print(
        f"# Inference: glmx {glmx.__version__} beside statsmodels (jax {jax.__version__}, float64)"
    )
    print(f"load average {os.getloadavg()[0]:.2f}, repeats {args.repeats}\n")
    cases = [
        ("single", 100_000 // scale, 50, 0, "nonrobust"),
        ("single", 100_000 // scale, 50, 0, "HC0"),
        ("single", 100_000 // scale, 50, 0, "cluster"),
        ("population", 20_000 // scale, 50, 5 if args.quick else 50, "nonrobust"),
    ]
    rows = []
    for name, n, p, neurons, cov_type in cases:
        name = f"{name} ({neurons} neurons)" if neurons else name
        X, y = simulate(n, p, neurons)
        groups = np.repeat(np.arange(200), -(-n // 200))[:n] if cov_type == "cluster" else None
        fit_and_infer, infer_only = glmx_run(X, y, neurons, cov_type, groups)
        first, warm, (fitted, se_glmx) = time_calls(fit_and_infer, args.repeats)
        _, warm_infer, _ = time_calls(lambda: infer_only(fitted), args.repeats)
        sm_repeats = max(1, args.repeats // (5 if neurons else 1))
        _, sm_warm, se_sm = time_calls(statsmodels_run(X, y, neurons, cov_type, groups), sm_repeats)
        t_glmx, t_infer, t_sm = np.median(warm), np.median(warm_infer), np.median(sm_warm)
        diff = np.max(np.abs(se_glmx - se_sm) / np.abs(se_sm))
        rows.append(
            [
                f"{name}, n={n}, p={p}",
                cov_type,
                f"{t_glmx:.3f} (first {first:.1f})",
                f"{t_infer:.4f}",
                f"{t_sm:.3f}",
                f"{t_glmx / t_sm:.3f}",
                f"{diff:.1e}",
            ]
        )
    header = [
        "workload",
        "covariance",
        "glmx fit + inference, s",
        "glmx inference alone, s",
        "statsmodels fit + inference, s",
        "glmx / statsmodels",
        "max rel. SE difference",
    ]
    print(markdown_table(header, rows))
    return 0


if __name__ == "__main__":
    finish(main(sys.argv[1:]))
