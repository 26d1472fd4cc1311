"""Neuroscience-shaped GLM workloads, fitted by glmx and its peers in one run.

    python benchmarks/suite.py [--designs realistic,iid] [--only NAME[,NAME]] [--repeats 3]
                               [--quick] [--skip-peers nemos,sklearn,glum,statsmodels]
                               [--glmx-solvers LBFGS,Newton,ProximalGradient,ProximalNewton]

Two kinds of design, the realistic ones first (the primary table), the i.i.d. ones second
(``--designs`` picks; data simulated with fixed seeds, float64; see `_workloads.py`):

**Realistic designs** (`designs.py`): encoding-model features of recorded-looking data:
raised-cosine spike-history features of correlated, bursty spike trains and filtered stimuli,
neither centred nor scaled (condition numbers of X in the thousands to tens of thousands; each
workload prints cond(X) and cond([1, X])); responses simulated from smooth true filters.

- ``poisson``: Poisson, n=100k, p=200, unregularized.
- ``poisson-ridge``: the same data, Ridge 1e-3.
- ``poisson-lasso``: the same data, Lasso 5e-3 (meant to leave about 20% of the coefficients
  non-zero at the optimum; the count is printed).
- ``bernoulli-ridge``: Bernoulli (logit), n=100k, p=200, Ridge 1e-3.
- ``gamma``: Gamma with log link, n=50k, p=50, unregularized.
- ``population``: 100 Poisson neurons sharing X, n=50k, p=100, Ridge 1e-3.
- ``population-1000``: 1,000 Poisson neurons sharing X, n=50k, p=100, Ridge 1e-3. The peers
  that loop over neurons (scikit-learn, glum) fit the first 100 neurons only, and their times
  are multiplied by 10 (marked "×10": extrapolated); glmx and NeMoS fit all 1,000.

**i.i.d. designs** (``X ~ N(0, 1) / sqrt(p)``, normal true coefficients), keys ``iid-*``:
``iid-poisson``, ``iid-poisson-ridge``, ``iid-poisson-lasso`` (20% non-zero true coefficients,
Lasso 3e-4), ``iid-gamma``, ``iid-bernoulli-ridge``, ``iid-population``, with the sizes above.

Libraries, where they support the problem: glmx with ``solver=None`` (the automatic choice) and
one row per specific glmx solver that exists and suits the penalty (smooth solvers for smooth
penalties, proximal ones for Lasso; no Newton row on ``population-1000``, whose 1,000 Hessians
a step would take minutes a fit); NeMoS (``GLM`` / ``PopulationGLM``, its default solver and
settings); scikit-learn (``PoissonRegressor`` / ``GammaRegressor`` / ``LogisticRegression``,
newton-cholesky); glum (``GeneralizedLinearRegressor``); statsmodels (IRLS, unregularized only).
Populations are fitted by NeMoS's ``PopulationGLM`` and by loops of single-neuron fits for
scikit-learn and glum. Peers that are not installed are skipped with a note. Every library gets
the same NumPy arrays; peers' stopping tolerances are 1e-8 on their own criteria (glmx's default
is 1e-8 on the inf-norm of the gradient of the mean objective).

Every fit is scored with one NumPy objective per family (`_common.OBJECTIVES`): the mean negative
log-likelihood plus ``0.5 * strength * ||w||^2`` (Ridge) or ``strength * ||w||_1`` (Lasso), the
intercept unpenalised. Each library's strength is converted to that convention (see
`_workloads._peer_strengths`). Reported per library: the first fit (with compilation: JAX's
caches are cleared before every row; imports and JAX's start-up are not in it, see `fresh.py`
for a fresh process), the median of warm fits (fewer for slow rows, marked), solver iterations,
the relative objective gap to a reference optimum (the best of tight glmx solves), the largest
error in coefficients and intercept against it, and glmx's warm time as a ratio to the row
(default solver and best glmx solver). glmx's default fit is also given in passes over X: its
warm time over the time of one ``X^T r`` product in the fastest of three formulations.

The summary gives, per design kind, glmx's default warm time against each peer, with the
targets: warm time ≤ 0.5x the fastest peer that reached the optimum (Lasso: ≤ 0.5x glum);
populations ≤ 0.1x the scikit-learn loop; first fit (this process, after ``jax.clear_caches``)
≤ the fastest peer's first fit + 1 s; relative objective gap ≤ 1e-10.

Companions: `fresh.py` (first fits in a fresh process, and peak memory above the data, on the
realistic workloads) and `scaling.py` (time and memory against n and against neurons).

Timings are wall-clock on whatever else the machine is doing; the load average is printed.
Peers built on multi-threaded OpenBLAS (scikit-learn, statsmodels, glum) were seen to slow down
several-fold when other processes compete for the cores, more than the JAX libraries.
"""

import argparse
import dataclasses
import os
import platform
import sys
import time
import warnings

import jax

jax.config.update("jax_enable_x64", True)

import numpy as np  # noqa: E402
from _common import (  # noqa: E402
    OBJECTIVES,
    finish,
    markdown_table,
    parse_names,
    pass_times,
    peak_memory_gb,
)
from _workloads import (  # noqa: E402
    DESIGN_KINDS,
    PEER_MODULES,
    PEER_NAMES,
    PEER_RUNNERS,
    PEER_TOL,
    Fit,
    Unsupported,
    Workload,
    glmx_model,
    glmx_runner,
    simulate,
    time_scale,
    workloads,
)
from designs import condition_number  # noqa: E402

import glmx  # noqa: E402

#: A fit whose relative objective gap exceeds this did not solve the problem; it is marked, and
#: it is not a candidate for "fastest peer".
SOLVED_GAP = 1e-6
#: Warm fits stop early (at least one is made) once they have taken this long in total; such
#: rows are marked with a dagger.
WARM_BUDGET_SECONDS = 20.0
#: Reference solvers: tight float64 optima; the best of them (lowest objective) is the
#: reference. Newton is left out for populations (one Hessian per neuron and step).
REFERENCE_SMOOTH = {"LBFGS": dict(tol=1e-13, max_steps=5000), "Newton": dict(tol=1e-13)}
REFERENCE_LASSO = {
    "ProximalNewton": dict(tol=1e-12, max_steps=500),
    "ProximalGradient": dict(tol=1e-12, max_steps=100_000),
}
DEFAULT_GLMX_SOLVERS = "LBFGS,Newton,ProximalGradient,ProximalNewton"
#: glmx's Newton gets no row where its Hessians (one per neuron) cost more than this per step
#: (``population-1000``: 1e12, minutes a fit).
NEWTON_ROW_FLOPS = 2e11
#: The targets for glmx's default fit: warm time / the fastest peer that reached the optimum
#: (Lasso: / glum), population warm time / the scikit-learn loop, the first fit's margin over
#: the fastest peer's first fit (seconds), and the relative objective gap.
TARGETS = {"fastest": 0.5, "lasso-glum": 0.5, "population-sklearn": 0.1, "first": 1.0}
TARGET_GAP = 1e-10


def available_peers(skip) -> dict:
    """``{peer: version}`` for the peers that import and are not skipped; notes the others."""
    import importlib

    found = {}
    for peer, module in PEER_MODULES.items():
        if peer in skip:
            print(f"(peer {PEER_NAMES[peer]}: skipped on request)")
            continue
        try:
            found[peer] = importlib.import_module(module).__version__
        except ImportError as error:
            print(f"(peer {PEER_NAMES[peer]}: not importable, skipped: {error})")
    return found


def glmx_solver_rows(w: Workload, names) -> list:
    """``(label, solver)`` for the named glmx solvers that exist and suit the penalty: smooth
    solvers for smooth penalties, proximal ones (``handles_nonsmooth``) for Lasso. Newton is
    left out (with a note) where its Hessians cost more than ``NEWTON_ROW_FLOPS`` a step."""
    rows = []
    for name in names:
        cls = getattr(glmx, name, None)
        if cls is None:
            continue
        solver = cls()
        if bool(getattr(solver, "handles_nonsmooth", False)) != (w.penalty == "lasso"):
            continue
        flops = 2 * (w.neurons or 1) * w.n * w.p**2
        if name == "Newton" and flops > NEWTON_ROW_FLOPS:
            print(f"(glmx {name}: no row, one Hessian per neuron and step, {flops:.0e} flops)")
            continue
        rows.append((f"glmx {name}", solver))
    return rows


def default_choice(w: Workload, X, Y) -> str:
    """The solver glmx's ``solver=None`` picks here, as named by `glmx.init_state`."""
    try:
        return glmx.init_state(glmx_model(w), X, Y).solver_name
    except Exception as error:  # informative only
        return f"unknown ({type(error).__name__})"


def reference(w: Workload, X, Y):
    """A tight float64 optimum from glmx: the solvers of ``REFERENCE_SMOOTH`` (L-BFGS, then
    Newton; not Newton for populations) or ``REFERENCE_LASSO`` (proximal Newton, then FISTA) in
    turn, until one converges without a warning; the best (lowest objective) of those tried."""
    candidates = REFERENCE_LASSO if w.penalty == "lasso" else REFERENCE_SMOOTH
    tried = []
    for name, params in candidates.items():
        if name == "Newton" and w.neurons:
            continue
        solver = getattr(glmx, name)(**params)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            start = time.perf_counter()
            fit = glmx_runner(w, X, Y, solver)()
            seconds = time.perf_counter() - start
        f = float(np.sum(OBJECTIVES[w.family](X, Y, fit.coef, fit.intercept, w.ridge, w.lasso)))
        tried.append((f, name, solver, fit, seconds, caught))
        if not caught:
            break
    best = min(tried, key=lambda t: t[0])
    for f, name, solver, fit, seconds, caught in tried:
        params = f"tol={solver.tol:g}, max_steps={solver.max_steps}"
        note = f"; warned: {' '.join(str(caught[0].message).split())[:160]}" if caught else ""
        relative = (f - best[0]) / abs(best[0])
        chosen = " (the reference)" if name == best[1] else f", objective {relative:+.1e} above it"
        print(f"reference: glmx {name}({params}), {fit.iters} steps, {seconds:.1f} s{chosen}{note}")
    return best[3]


# --- measuring ---------------------------------------------------------------------------------


@dataclasses.dataclass
class Row:
    """One library's result on one workload; ``scale`` > 1 when the times were measured on
    some of the neurons and multiplied up (extrapolated)."""

    library: str  # "glmx" or a key of PEER_RUNNERS
    label: str
    first: float
    warm: float
    n_warm: int
    fit: Fit
    gap: float = np.nan
    error: float = np.nan
    warned: tuple = ()
    scale: float = 1.0

    @property
    def solved(self) -> bool:
        return bool(self.gap <= SOLVED_GAP)

    @property
    def mark(self) -> str:
        """`` ×k`` for extrapolated times, else nothing."""
        return f" ×{self.scale:g}" if self.scale != 1 else ""


def measure(library, label, run, repeats) -> Row:
    """Time ``run``: a first call after clearing JAX's caches (so compilation is included), then
    ``repeats`` warm calls, or fewer (at least one) once they take ``WARM_BUDGET_SECONDS``."""
    jax.clear_caches()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        start = time.perf_counter()
        fit = run()
        first = time.perf_counter() - start
        warm = []
        while len(warm) < repeats and sum(warm) < WARM_BUDGET_SECONDS:
            start = time.perf_counter()
            fit = run()
            warm.append(time.perf_counter() - start)
    warned = tuple(
        sorted({f"{c.category.__name__}: {' '.join(str(c.message).split())[:120]}" for c in caught})
    )
    return Row(library, label, first, float(np.median(warm)), len(warm), fit, warned=warned)


def score(w: Workload, X, Y, row: Row, ref: Fit, f_ref):
    """Fill in the row's relative objective gap and its largest parameter error (on the neurons
    the row fitted: a looping peer may have fitted the first few only)."""
    coef, intercept = np.asarray(row.fit.coef), np.asarray(row.fit.intercept)
    ref_coef, ref_intercept = np.asarray(ref.coef), np.asarray(ref.intercept)
    if w.neurons:
        k = coef.shape[0]
        Y, f_ref, ref_coef, ref_intercept = Y[:, :k], f_ref[:k], ref_coef[:k], ref_intercept[:k]
    f = OBJECTIVES[w.family](X, Y, coef, intercept, w.ridge, w.lasso)
    row.gap = float(np.sum(f - f_ref) / np.sum(np.abs(f_ref)))
    row.error = float(
        max(np.max(np.abs(coef - ref_coef)), np.max(np.abs(intercept - ref_intercept)))
    )


def _ratio(a, b):
    return a / b if b > 0 else np.nan


def print_workload_table(rows: list[Row], repeats: int):
    """The per-workload markdown table; ratios are glmx default (and best glmx) warm / row."""
    default = rows[0].warm
    best = min(r.warm for r in rows if r.library == "glmx")
    body = []
    for r in rows:
        warm = f"{r.warm:.3f}{r.mark}" + (f" †{r.n_warm}" if r.n_warm < repeats else "")
        gap = f"{r.gap:.1e}" + ("" if r.solved else " ✗")
        body.append(
            [
                r.label,
                f"{r.first:.2f}{r.mark}",
                warm,
                "" if r.fit.iters is None else r.fit.iters,
                gap,
                f"{r.error:.1e}",
                f"{_ratio(default, r.warm):.3f}",
                f"{_ratio(best, r.warm):.3f}",
            ]
        )
    header = [
        "library",
        "first s",
        "warm s",
        "iters",
        "obj gap",
        "max abs err",
        "glmx default/this",
        "glmx best/this",
    ]
    print(markdown_table(header, body))
    for scale in sorted({r.scale for r in rows if r.scale != 1}):
        print(
            f"×{scale:g}: extrapolated, fitted on the neurons the label names and the times "
            f"multiplied by {scale:g} (gap and error are over those neurons)"
        )
    if any(r.n_warm < repeats for r in rows):
        print(
            f"†k: slow, median of k < {repeats} warm fits (they stop once they have taken "
            f"{WARM_BUDGET_SECONDS:g} s)"
        )
    if not all(r.solved for r in rows):
        print(f"✗ relative objective gap above {SOLVED_GAP:g}: did not reach the optimum")
    for r in rows:
        if r.warned:
            print(f"note: {r.label} warned: {'; '.join(r.warned)}")
    if any(r.gap < -1e-12 for r in rows):
        print("note: a negative gap means the reference is not the best point found")


def run_workload(w: Workload, peers: dict, solver_names, repeats, quick=False) -> dict:
    """Fit one workload with glmx and every available peer; print its table; return a summary."""
    print(f"\n## {w.describe()}")
    X, Y = simulate(w)
    ones = np.column_stack([np.ones(w.n), X])
    print(f"condition number: X {condition_number(X):.3g}, [1, X] {condition_number(ones):.3g}")
    del ones
    ref = reference(w, X, Y)
    f_ref = OBJECTIVES[w.family](X, Y, ref.coef, ref.intercept, w.ridge, w.lasso)
    if w.penalty == "lasso":
        nonzero = int(np.count_nonzero(ref.coef))
        print(
            f"non-zero coefficients at the optimum: {nonzero} of {w.p} ({100 * nonzero / w.p:.1f}%)"
        )
    if not quick:  # init_state compiles: left out of the smoke test
        print(f"glmx solver=None chooses: {default_choice(w, X, Y)}")
    candidates = [("glmx", "glmx (solver=None)", glmx_runner(w, X, Y))]
    candidates += [
        ("glmx", label, glmx_runner(w, X, Y, solver))
        for label, solver in glmx_solver_rows(w, solver_names)
    ]
    for peer in peers:
        try:
            label, run = PEER_RUNNERS[peer](w, X, Y)
        except Unsupported as why:
            print(f"({PEER_NAMES[peer]}: {why}; skipped)")
            continue
        candidates.append((peer, label, run))
    rows, failed = [], False
    for library, label, run in candidates:
        print(f"  fitting: {label} ...", file=sys.stderr, flush=True)
        try:
            row = measure(library, label, run, repeats)
        except Exception as error:  # a failing library is reported, and the suite goes on
            print(f"({label} failed: {type(error).__name__}: {str(error)[:300]})")
            failed = failed or label == "glmx (solver=None)"
            continue
        row.scale = time_scale(library, w)
        row.first *= row.scale
        row.warm *= row.scale
        score(w, X, Y, row, ref, f_ref)
        rows.append(row)
    if not rows or rows[0].label != "glmx (solver=None)":
        print("(no table: glmx's default fit failed)")
        return {"workload": w, "rows": rows, "failed": True}
    print_workload_table(rows, repeats)
    R = np.ones((w.n, w.neurons)) if w.neurons else np.ones(w.n)
    times = pass_times(X, R)
    fastest = min(times, key=times.get)
    kind = f"X^T R (R with {w.neurons} columns)" if w.neurons else "X^T r"
    listed = ", ".join(f"{k} {v * 1e3:.3g} ms" for k, v in times.items())
    print(
        f"one pass, {kind}: {times[fastest] * 1e3:.3g} ms ({fastest}; {listed}); "
        f"glmx default warm fit = {rows[0].warm / times[fastest]:.0f} passes; "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    sys.stdout.flush()  # each workload's table reaches a redirected output as soon as it is done
    return {"workload": w, "rows": rows, "passes": rows[0].warm / times[fastest], "failed": failed}


# --- the summary -------------------------------------------------------------------------------


def _mark(value, target):
    if not np.isfinite(value):
        return "n/a"
    if target is None:
        return f"{value:.3f}"
    return f"{value:.3f} {'PASS' if value <= target else 'MISS'} (≤{target:g})"


def _peer_target(w: Workload, peer: str):
    """The target ratio against one peer's column, if any: glum for Lasso, the scikit-learn
    loop for populations."""
    if peer == "glum" and w.penalty == "lasso":
        return TARGETS["lasso-glum"]
    if peer == "sklearn" and w.neurons:
        return TARGETS["population-sklearn"]
    return None


def summary_table(results: list[dict], peers: dict) -> str:
    """One markdown table: per workload, glmx's default fit against every peer, with targets."""
    header = (
        ["workload", "glmx default s", "passes", "glmx obj gap", "best glmx"]
        + ["fastest solved peer", "vs fastest"]
        + [f"vs {PEER_NAMES[p]}" for p in peers]
        + ["first fit"]
    )
    body = []
    for result in results:
        w, rows = result["workload"], result["rows"]
        if result.get("failed") and (not rows or rows[0].label != "glmx (solver=None)"):
            body.append([w.key, "FAILED"] + [""] * (len(header) - 2))
            continue
        default = rows[0]
        unsolved = "" if default.solved else " ✗"
        best = min((r for r in rows if r.library == "glmx"), key=lambda r: r.warm)
        peer_rows = {r.library: r for r in rows if r.library != "glmx"}
        solved_peers = [r for r in peer_rows.values() if r.solved]
        gap_ok = "PASS" if default.gap <= TARGET_GAP else "MISS"
        cells = [
            w.key,
            f"{default.warm:.3f}{unsolved}",
            f"{result['passes']:.0f}",
            f"{default.gap:.1e} {gap_ok} (≤{TARGET_GAP:g})",
            f"{best.label.removeprefix('glmx ')} {best.warm:.3f}",
        ]
        if solved_peers:
            fastest = min(solved_peers, key=lambda r: r.warm)
            target = None if w.penalty == "lasso" else TARGETS["fastest"]
            cells.append(f"{PEER_NAMES[fastest.library]} {fastest.warm:.3f}{fastest.mark}")
            cells.append(_mark(default.warm / fastest.warm, target))
        else:
            cells += ["none", "n/a"]
        for peer in peers:
            row = peer_rows.get(peer)
            if row is None:
                cells.append("n/a")
                continue
            ratio = _mark(default.warm / row.warm, _peer_target(w, peer))
            cells.append(ratio + row.mark + ("" if row.solved else " ✗"))
        if solved_peers:
            first_peer = min(solved_peers, key=lambda r: r.first)
            limit = first_peer.first + TARGETS["first"]
            verdict = "PASS" if default.first <= limit else "MISS"
            cells.append(
                f"{default.first:.2f} s {verdict} (≤{limit:.2f}: "
                f"{PEER_NAMES[first_peer.library]}{first_peer.mark} + {TARGETS['first']:g})"
            )
        else:
            cells.append(f"{default.first:.2f} s")
        if not default.solved:
            cells = [c.replace("PASS", "MISS") for c in cells]
        body.append(cells)
    return markdown_table(header, body)


def print_summary(results: list[dict], peers: dict):
    """Ratios of glmx's default warm time to each peer's, with the targets marked: one table
    per design kind, the realistic designs first."""
    print("\n## Summary: glmx default (solver=None) warm time / peer warm time")
    titles = {
        "realistic": "Realistic designs (encoding-model features; the primary table)",
        "iid": "i.i.d. Gaussian designs (secondary)",
    }
    for kind in DESIGN_KINDS:
        subset = [r for r in results if r["workload"].design == kind]
        if subset:
            print(f"\n### {titles[kind]}\n")
            print(summary_table(subset, peers))
    print(
        f"\nTargets for glmx's default fit: warm ≤ {TARGETS['fastest']:g}x the fastest peer "
        f"that reached the optimum (Lasso: ≤ {TARGETS['lasso-glum']:g}x glum); populations ≤ "
        f"{TARGETS['population-sklearn']:g}x the scikit-learn loop; first fit (this process, "
        f"after jax.clear_caches) ≤ the fastest first fit of a peer that reached the optimum + "
        f"{TARGETS['first']:g} s; relative objective gap ≤ {TARGET_GAP:g}. ×k: a peer's times "
        "extrapolated from some of the neurons. ✗: the fit stopped short of the optimum "
        f"(gap > {SOLVED_GAP:g}); a glmx fit that did counts as MISS."
    )


# --- entry point -------------------------------------------------------------------------------


def main(argv=None) -> int:
    """Run the suite; returns the exit status (1 if a glmx default fit failed)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--designs",
        default=",".join(DESIGN_KINDS),
        help="comma-separated design kinds, from realistic,iid (default both, realistic first)",
    )
    parser.add_argument(
        "--only", help="comma-separated workloads (default: all of the chosen designs)"
    )
    parser.add_argument("--repeats", type=int, default=3, help="warm fits per row (median)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, 1 repeat (smoke test)")
    parser.add_argument(
        "--skip-peers", default="", help=f"comma-separated, from {','.join(PEER_NAMES)}"
    )
    parser.add_argument(
        "--glmx-solvers",
        default=DEFAULT_GLMX_SOLVERS,
        help="glmx solver classes given their own rows, where they exist and suit the penalty",
    )
    args = parser.parse_args(argv)
    kinds = parse_names(args.designs, DESIGN_KINDS, "--designs")
    kinds = [kind for kind in DESIGN_KINDS if kind in kinds]  # realistic first
    suite = workloads(args.quick, kinds)
    only = parse_names(args.only, [w.key for w in workloads(args.quick)], "--only")
    skip = parse_names(args.skip_peers, PEER_NAMES, "--skip-peers")
    repeats = 1 if args.quick else max(1, args.repeats)
    selected = [w for w in suite if not only or w.key in only]

    print(
        f"glmx {glmx.__version__}, jax {jax.__version__}, numpy {np.__version__}, "
        f"Python {platform.python_version()}, {os.cpu_count()} cores, float64, "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    solver_names = [name.strip() for name in args.glmx_solvers.split(",") if name.strip()]
    missing = [name for name in solver_names if not hasattr(glmx, name)]
    if missing:
        print(f"(glmx solvers not in this glmx, no rows: {', '.join(missing)})")
    peers = available_peers(skip)
    print("peers: " + ", ".join(f"{PEER_NAMES[p]} {v}" for p, v in peers.items()))
    print(
        f"warm = median of {repeats} fit(s) after the first; peers stop at tolerance "
        f"{PEER_TOL:g} (NeMoS: its defaults); every library gets the same NumPy arrays."
    )
    start = time.perf_counter()
    results = [run_workload(w, peers, solver_names, repeats, args.quick) for w in selected]
    print_summary(results, peers)
    print(
        f"total {time.perf_counter() - start:.0f} s; peak memory {peak_memory_gb():.2f} GB; "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    return 1 if any(r.get("failed") for r in results) else 0


if __name__ == "__main__":
    finish(main())
