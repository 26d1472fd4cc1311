"""Neuroscience-shaped GLM workloads, fitted by glmx and its peers in one run.

    python benchmarks/suite.py [--only NAME[,NAME]] [--repeats 3] [--quick]
                               [--skip-peers nemos,sklearn,glum,statsmodels]
                               [--glmx-solvers LBFGS,Newton,ProximalGradient,ProximalNewton]

Workloads (float64; data simulated with a fixed seed, ``X ~ N(0, 1) / sqrt(p)``):

- ``poisson``: Poisson, n=100k, p=200, unregularized.
- ``poisson-ridge``: the same data, Ridge 1e-3.
- ``poisson-lasso``: Poisson with 20% non-zero true coefficients, n=100k, p=200, Lasso 3e-4
  (about 20% non-zero coefficients at the optimum; the count is printed).
- ``gamma``: Gamma with log link, n=50k, p=50, unregularized.
- ``bernoulli-ridge``: Bernoulli (logit), n=100k, p=200, Ridge 1e-3.
- ``population``: 100 Poisson neurons sharing X, n=50k, p=100, Ridge 1e-3.

Libraries, where they support the problem: glmx with ``solver=None`` (the automatic choice) and
one row per specific glmx solver that exists and suits the penalty (smooth solvers for smooth
penalties, proximal ones for Lasso); NeMoS (``GLM`` / ``PopulationGLM``, its default solver and
settings); scikit-learn (``PoissonRegressor`` / ``GammaRegressor`` / ``LogisticRegression``,
newton-cholesky); glum (``GeneralizedLinearRegressor``); statsmodels (IRLS, unregularized only).
Populations are fitted by NeMoS's ``PopulationGLM`` and by loops of single-neuron fits for
scikit-learn and glum. Peers that are not installed are skipped with a note. Every library gets
the same NumPy arrays; peers' stopping tolerances are 1e-8 on their own criteria (glmx's default
is 1e-8 on the inf-norm of the gradient of the mean objective).

Every fit is scored with one NumPy objective per family (`_common.OBJECTIVES`): the mean negative
log-likelihood plus ``0.5 * strength * ||w||^2`` (Ridge) or ``strength * ||w||_1`` (Lasso), the
intercept unpenalised. Each library's strength is converted to that convention (see
`_peer_strengths`). Reported per library: the first fit (with compilation: JAX's caches are
cleared before every row), the median of warm fits (fewer for slow rows, marked), solver
iterations, the relative objective gap to a tight glmx reference optimum, the largest error in
coefficients and intercept against it, and glmx's warm time as a ratio to the row (default
solver and best glmx solver). glmx's default fit is also given in passes over X: its warm time
over the time of one ``X^T r`` product in the fastest of three formulations. A final table gives
the ratios to each peer against the targets.

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

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from _common import (  # noqa: E402
    OBJECTIVES,
    finish,
    markdown_table,
    pass_times,
    peak_memory_gb,
)

import glmx  # noqa: E402

#: A fit whose relative objective gap exceeds this did not solve the problem; it is marked, and
#: it is not a candidate for "fastest peer".
SOLVED_GAP = 1e-6
#: Warm fits stop early (at least one is made) once they have taken this long in total; such
#: rows are marked with a dagger.
WARM_BUDGET_SECONDS = 20.0
#: Peers' stopping tolerance (scikit-learn ``tol``, glum ``gradient_tol``, statsmodels ``tol``).
PEER_TOL = 1e-8
PEER_MAX_ITER = 1000
#: Reference solvers: tight float64 optima for smooth and for Lasso problems.
REFERENCE_SMOOTH = dict(tol=1e-13, max_steps=5000)
REFERENCE_LASSO = dict(tol=1e-12, max_steps=100_000)
DEFAULT_GLMX_SOLVERS = "LBFGS,Newton,ProximalGradient,ProximalNewton"
PEER_NAMES = {
    "nemos": "NeMoS",
    "sklearn": "scikit-learn",
    "glum": "glum",
    "statsmodels": "statsmodels",
}
#: The issue's targets: glmx default warm time / peer warm time.
TARGETS = {"fastest": 0.5, "glum": 0.3, "nemos": 0.03, "nemos-population": 0.1}


# --- workloads and data ----------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Workload:
    """One problem: a family, a penalty and the size and shape of its simulated data."""

    key: str
    title: str
    family: str  # "poisson", "gamma" or "bernoulli"; log link, log link, logit link
    penalty: str  # "none", "ridge" or "lasso"
    strength: float
    n: int
    p: int
    neurons: int | None = None  # a population sharing X when set
    coef_scale: float = 0.5  # true coefficients ~ N(0, coef_scale^2) ...
    nonzero: float = 1.0  # ... on this fraction of them (the rest are zero)
    intercept: float = -1.0
    seed: int = 0

    @property
    def ridge(self) -> float:
        return self.strength if self.penalty == "ridge" else 0.0

    @property
    def lasso(self) -> float:
        return self.strength if self.penalty == "lasso" else 0.0

    def describe(self) -> str:
        shape = f"n={self.n:,}, p={self.p}"
        if self.neurons:
            shape = f"{self.neurons} neurons sharing X, {shape}"
        penalty = "unregularized" if self.penalty == "none" else f"{self.penalty} {self.strength:g}"
        return f"{self.title}: {shape}, {penalty}"


def workloads(quick: bool = False) -> list[Workload]:
    """The suite; ``quick`` shrinks every workload to a smoke test's size.

    The Lasso strengths give about 20% non-zero coefficients at the optimum on this data: 40 of
    200 at full size (3e-4), 5 of 20 in quick mode (5e-3; fewer rows, noisier gradients).
    """
    n, p, medium, pop, lasso = 100_000, 200, (50_000, 50), (50_000, 100, 100), 3e-4
    if quick:
        n, p, medium, pop, lasso = 2_000, 20, (2_000, 20), (2_000, 20, 5), 5e-3
    sparse = dict(coef_scale=1.0, nonzero=0.2)
    return [
        Workload("poisson", "Poisson", "poisson", "none", 0.0, n, p),
        Workload("poisson-ridge", "Poisson Ridge", "poisson", "ridge", 1e-3, n, p),
        Workload("poisson-lasso", "Poisson Lasso", "poisson", "lasso", lasso, n, p, **sparse),
        Workload("gamma", "Gamma (log link)", "gamma", "none", 0.0, *medium, intercept=0.5),
        Workload(
            "bernoulli-ridge",
            "Bernoulli (logit) Ridge",
            "bernoulli",
            "ridge",
            1e-3,
            n,
            p,
            coef_scale=1.0,
            intercept=0.0,
        ),
        Workload("population", "Population Poisson Ridge", "poisson", "ridge", 1e-3, *pop),
    ]


def simulate(w: Workload):
    """``(X, y)`` as float64 NumPy arrays; ``y`` is ``(n,)``, or ``(n, neurons)``."""
    rng = np.random.default_rng(w.seed)
    X = rng.normal(size=(w.n, w.p)) / np.sqrt(w.p)
    k = w.neurons or 1
    if w.nonzero < 1.0:
        coef = np.zeros((k, w.p))
        count = max(1, round(w.nonzero * w.p))
        for row in coef:
            row[rng.choice(w.p, count, replace=False)] = rng.normal(size=count) * w.coef_scale
    else:
        coef = rng.normal(size=(k, w.p)) * w.coef_scale
    eta = X @ coef.T + w.intercept
    if w.family == "poisson":
        y = rng.poisson(np.exp(eta)).astype(float)
    elif w.family == "gamma":
        y = rng.gamma(2.0, np.exp(eta) / 2.0)  # shape 2, mean exp(eta)
    elif w.family == "bernoulli":
        y = (rng.random(eta.shape) < 1.0 / (1.0 + np.exp(-eta))).astype(float)
    else:
        raise ValueError(w.family)
    return X, (y if w.neurons else y[:, 0])


# --- runners: each returns a Fit, for one neuron or a population -------------------------------


@dataclasses.dataclass
class Fit:
    """Fitted ``coef`` (``(p,)`` or ``(neurons, p)``), ``intercept`` (scalar or
    ``(neurons,)``) and solver iterations (the largest over neurons), if known."""

    coef: np.ndarray
    intercept: np.ndarray
    iters: int | None = None


class Unsupported(Exception):
    """A library cannot fit this workload (the message says why)."""


def _per_neuron(w: Workload, Y, fit_one):
    """A runner for ``fit_one(y) -> Fit``: one call for a single neuron, a Python loop over the
    columns of ``Y`` for a population."""
    if not w.neurons:
        return lambda: fit_one(Y)

    def run():
        fits = [fit_one(Y[:, k]) for k in range(Y.shape[1])]
        iters = [f.iters for f in fits if f.iters is not None]
        return Fit(
            np.array([f.coef for f in fits]),
            np.array([f.intercept for f in fits]),
            max(iters) if iters else None,
        )

    return run


def _loop(w: Workload) -> str:
    """A label's suffix for a peer that fits a population one neuron at a time."""
    return f", loop over {w.neurons} neurons" if w.neurons else ""


_GLMX_OBSERVATIONS = {"poisson": glmx.Poisson, "gamma": glmx.Gamma, "bernoulli": glmx.Bernoulli}


def glmx_model(w: Workload):
    """The unfitted glmx model: a `GLM`, or a `PopulationGLM` for a population."""
    regularizer = {
        "none": glmx.UnRegularized,
        "ridge": lambda: glmx.Ridge(w.strength),
        "lasso": lambda: glmx.Lasso(w.strength),
    }[w.penalty]()
    observation = _GLMX_OBSERVATIONS[w.family]()
    if w.neurons:
        return glmx.PopulationGLM(observation, regularizer, n_neurons=w.neurons)
    return glmx.GLM(observation, regularizer)


def glmx_runner(w: Workload, X, Y, solver=None):
    """glmx: one `GLM` fit, or one `PopulationGLM` fit (a vmapped solve) for a population."""
    model = glmx_model(w)

    def run():
        fitted, result = glmx.fit(model, X, Y, solver)
        jax.block_until_ready(fitted.coef)
        return Fit(
            np.asarray(fitted.coef), np.asarray(fitted.intercept), int(np.max(result.num_steps))
        )

    return run


def _peer_strengths(w: Workload) -> dict:
    """Each peer's penalty parameters for the problem glmx solves (mean NLL + 0.5 s ||w||^2 or
    s ||w||_1, intercept free), as read in the peers' sources:

    - scikit-learn ``PoissonRegressor`` / ``GammaRegressor`` minimise
      ``1/(2 n) sum(deviance) + alpha/2 ||w||^2`` (half deviance = NLL up to constants), so
      ``alpha = s``. ``LogisticRegression`` minimises ``C sum(loss) + 0.5 ||w||^2``; dividing
      by ``C n`` gives ``mean(loss) + 0.5 / (C n) ||w||^2``, so ``C = 1 / (n s)`` (``inf``
      without a penalty).
    - glum minimises ``1/(2 sum(s_i)) deviance + alpha l1_ratio ||w||_1
      + alpha (1 - l1_ratio) / 2 ||w||^2``: ``alpha = s``, ``l1_ratio`` 0 (Ridge) or 1 (Lasso).
    - NeMoS (0.2.9) minimises ``sum over neurons of mean over samples of the NLL`` plus
      ``0.5 s ||W||^2`` (Ridge) or ``s ||W||_1`` (Lasso) summed over every neuron's coefficients,
      intercepts free: for one neuron exactly glmx's objective, for a population the sum of the
      neurons' glmx objectives (same minimiser, per neuron). So its strength is ``s``.
    """
    return {
        "alpha": w.strength,
        "C": np.inf if w.penalty == "none" else 1.0 / (w.n * w.strength),
        "l1_ratio": 1.0 if w.penalty == "lasso" else 0.0,
        "nemos": w.strength,
    }


def sklearn_runner(w: Workload, X, Y):
    """scikit-learn, newton-cholesky: one fit per neuron."""
    from sklearn import linear_model

    if w.penalty == "lasso":
        raise Unsupported("no L1 penalty for GLM families")
    strengths = _peer_strengths(w)
    common = dict(solver="newton-cholesky", tol=PEER_TOL, max_iter=PEER_MAX_ITER)
    if w.family == "bernoulli":
        label = "LogisticRegression"

        def make():
            return linear_model.LogisticRegression(C=strengths["C"], **common)
    else:
        estimator = {
            "poisson": linear_model.PoissonRegressor,
            "gamma": linear_model.GammaRegressor,
        }[w.family]
        label = estimator.__name__

        def make():
            return estimator(alpha=strengths["alpha"], **common)

    def fit_one(y):
        model = make().fit(X, y)
        iters = int(np.max(model.n_iter_))
        return Fit(np.ravel(model.coef_), float(np.ravel(model.intercept_)[0]), iters)

    return f"scikit-learn {label} (newton-cholesky){_loop(w)}", _per_neuron(w, Y, fit_one)


def glum_runner(w: Workload, X, Y):
    """glum's ``GeneralizedLinearRegressor`` (its default solver: IRLS with line search, or with
    coordinate descent for L1): one fit per neuron."""
    from glum import GeneralizedLinearRegressor

    strengths = _peer_strengths(w)
    family, link = {
        "poisson": ("poisson", "log"),
        "gamma": ("gamma", "log"),
        "bernoulli": ("binomial", "logit"),
    }[w.family]

    def fit_one(y):
        model = GeneralizedLinearRegressor(
            family=family,
            link=link,
            alpha=strengths["alpha"],
            l1_ratio=strengths["l1_ratio"],
            gradient_tol=PEER_TOL,
            max_iter=PEER_MAX_ITER,
        ).fit(X, y)
        return Fit(np.asarray(model.coef_), float(model.intercept_), int(model.n_iter_))

    return f"glum GeneralizedLinearRegressor{_loop(w)}", _per_neuron(w, Y, fit_one)


def statsmodels_runner(w: Workload, X, Y):
    """statsmodels ``GLM`` with IRLS; unregularized only. The column of ones is prepended once,
    outside the timed fits."""
    import statsmodels.api as sm

    if w.penalty != "none":
        raise Unsupported("penalised IRLS is not offered (fit_regularized is a different solver)")
    family = {
        "poisson": lambda: sm.families.Poisson(),
        "gamma": lambda: sm.families.Gamma(sm.families.links.Log()),
        "bernoulli": lambda: sm.families.Binomial(),
    }[w.family]()
    X1 = np.column_stack([np.ones(X.shape[0]), X])

    def fit_one(y):
        result = sm.GLM(y, X1, family=family).fit(method="IRLS", tol=PEER_TOL)
        iters = result.fit_history.get("iteration")
        return Fit(result.params[1:], float(result.params[0]), iters)

    return f"statsmodels GLM (IRLS){_loop(w)}", _per_neuron(w, Y, fit_one)


def nemos_runner(w: Workload, X, Y):
    """NeMoS ``GLM`` or ``PopulationGLM`` with its default solver and settings."""
    import nemos

    kwargs = dict(observation_model=w.family.capitalize())
    if w.family == "gamma":
        kwargs["inverse_link_function"] = jnp.exp  # NeMoS's default Gamma link is 1 / x
    if w.penalty == "none":
        kwargs["regularizer"] = "UnRegularized"
    else:
        kwargs["regularizer"] = w.penalty.capitalize()
        kwargs["regularizer_strength"] = _peer_strengths(w)["nemos"]
    cls = nemos.glm.PopulationGLM if w.neurons else nemos.glm.GLM

    def run():
        model = cls(**kwargs).fit(X, Y)
        coef, intercept = np.asarray(model.coef_), np.asarray(model.intercept_)
        try:
            iters = int(model.solver_state_.stats.num_steps)
        except AttributeError:  # another NeMoS version's state
            iters = None
        if w.neurons:
            return Fit(coef.T, intercept, iters)
        return Fit(coef, float(intercept[0]), iters)

    return f"NeMoS {cls.__name__} (default solver)", run


PEER_RUNNERS = {
    "nemos": nemos_runner,
    "sklearn": sklearn_runner,
    "glum": glum_runner,
    "statsmodels": statsmodels_runner,
}
_PEER_MODULES = {
    "nemos": "nemos",
    "sklearn": "sklearn",
    "glum": "glum",
    "statsmodels": "statsmodels",
}


def available_peers(skip) -> dict:
    """``{peer: version}`` for the peers that import and are not skipped; notes the others."""
    import importlib

    found = {}
    for peer, module in _PEER_MODULES.items():
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
    solvers for smooth penalties, proximal ones (``handles_nonsmooth``) for Lasso."""
    rows = []
    for name in names:
        cls = getattr(glmx, name, None)
        if cls is None:
            continue
        solver = cls()
        if bool(getattr(solver, "handles_nonsmooth", False)) == (w.penalty == "lasso"):
            rows.append((f"glmx {name}", solver))
    return rows


def default_choice(w: Workload, X, Y) -> str:
    """The solver glmx's ``solver=None`` picks here, as named by `glmx.init_state`."""
    try:
        return glmx.init_state(glmx_model(w), X, Y).solver_name
    except Exception as error:  # informative only
        return f"unknown ({type(error).__name__})"


def reference(w: Workload, X, Y):
    """A tight float64 optimum from glmx: L-BFGS for smooth problems, FISTA for Lasso."""
    if w.penalty == "lasso":
        solver = glmx.ProximalGradient(**REFERENCE_LASSO)
    else:
        solver = glmx.LBFGS(**REFERENCE_SMOOTH)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = glmx_runner(w, X, Y, solver)()
    params = f"tol={solver.tol:g}, max_steps={solver.max_steps}"
    note = f"; warned: {caught[0].message}" if caught else ""
    print(f"reference: glmx {type(solver).__name__}({params}), {fit.iters} steps{note}")
    return fit


# --- measuring ---------------------------------------------------------------------------------


@dataclasses.dataclass
class Row:
    """One library's result on one workload."""

    library: str  # "glmx" or a key of PEER_RUNNERS
    label: str
    first: float
    warm: float
    n_warm: int
    fit: Fit
    gap: float = np.nan
    error: float = np.nan
    warned: tuple = ()

    @property
    def solved(self) -> bool:
        return bool(self.gap <= SOLVED_GAP)


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
    """Fill in the row's relative objective gap and its largest parameter error."""
    f = OBJECTIVES[w.family](X, Y, row.fit.coef, row.fit.intercept, w.ridge, w.lasso)
    row.gap = float(np.sum(f - f_ref) / np.sum(np.abs(f_ref)))
    row.error = float(
        max(
            np.max(np.abs(np.asarray(row.fit.coef) - ref.coef)),
            np.max(np.abs(np.asarray(row.fit.intercept) - ref.intercept)),
        )
    )


def _ratio(a, b):
    return a / b if b > 0 else np.nan


def print_workload_table(rows: list[Row], repeats: int):
    """The per-workload markdown table; ratios are glmx default (and best glmx) warm / row."""
    default = rows[0].warm
    best = min(r.warm for r in rows if r.library == "glmx")
    body = []
    for r in rows:
        warm = f"{r.warm:.3f}" + (f" †{r.n_warm}" if r.n_warm < repeats else "")
        gap = f"{r.gap:.1e}" + ("" if r.solved else " ✗")
        body.append(
            [
                r.label,
                f"{r.first:.2f}",
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
    return {"workload": w, "rows": rows, "passes": rows[0].warm / times[fastest], "failed": failed}


# --- the summary -------------------------------------------------------------------------------


def _mark(value, target):
    if not np.isfinite(value):
        return "n/a"
    if target is None:
        return f"{value:.3f}"
    return f"{value:.3f} {'PASS' if value <= target else 'MISS'} (≤{target:g})"


def print_summary(results: list[dict], peers: dict):
    """Ratios of glmx's default warm time to each peer's, with the targets marked."""
    print("\n## Summary: glmx default (solver=None) warm time / peer warm time")
    header = (
        ["workload", "glmx default s", "passes", "best glmx", "fastest solved peer", "vs fastest"]
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
        cells = [
            w.key,
            f"{default.warm:.3f}{unsolved}",
            f"{result['passes']:.0f}",
            f"{best.label.removeprefix('glmx ')} {best.warm:.3f}",
        ]
        if solved_peers:
            fastest = min(solved_peers, key=lambda r: r.warm)
            cells.append(f"{PEER_NAMES[fastest.library]} {fastest.warm:.3f}")
            cells.append(_mark(default.warm / fastest.warm, TARGETS["fastest"]))
        else:
            cells += ["none", "n/a"]
        for peer in peers:
            row = peer_rows.get(peer)
            if row is None:
                cells.append("n/a")
                continue
            target = {"glum": TARGETS["glum"], "nemos": TARGETS["nemos"]}.get(peer)
            if peer == "nemos" and w.neurons:
                target = TARGETS["nemos-population"]
            cells.append(_mark(default.warm / row.warm, target) + ("" if row.solved else " ✗"))
        limit = 2 * default.warm + 1.5
        cells.append(
            f"{default.first:.2f} s {'PASS' if default.first <= limit else 'MISS'} (≤{limit:.2f})"
        )
        if not default.solved:
            cells = [c.replace("PASS", "MISS") for c in cells]
        body.append(cells)
    print(markdown_table(header, body))
    print(
        "Targets: glmx warm ≤ 0.5x the fastest peer that reached the optimum, ≤ 0.3x glum, "
        "≤ 0.03x NeMoS (population ≤ 0.1x NeMoS); first fit ≤ 2x warm + 1.5 s. ✗: the fit "
        f"stopped short of the optimum (gap > {SOLVED_GAP:g}); a glmx fit that did counts as MISS."
    )


# --- entry point -------------------------------------------------------------------------------


_ALIASES = {"scikit-learn": "sklearn", "NeMoS": "nemos"}


def _names(text, allowed, option):
    names = [name.strip() for name in text.split(",") if name.strip()] if text else []
    names = [_ALIASES.get(name, name) for name in names]
    unknown = sorted(set(names) - set(allowed))
    if unknown:
        raise SystemExit(f"{option}: unknown {unknown}; choose from {sorted(allowed)}")
    return names


def main(argv=None) -> int:
    """Run the suite; returns the exit status (1 if a glmx default fit failed)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", help="comma-separated workloads (default: all)")
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
    suite = workloads(args.quick)
    only = _names(args.only, [w.key for w in suite], "--only")
    skip = _names(args.skip_peers, PEER_NAMES, "--skip-peers")
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
