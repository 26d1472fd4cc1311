"""The benchmarks' workloads, their data and one runner per library, shared by `suite.py`,
`fresh.py` and `scaling.py` (through `_child.py`).

This module imports NumPy only; each runner imports its own library when it is built, so a
child process that fits scikit-learn never loads JAX, and a child that fits glmx sets JAX's
configuration (float64, the compilation cache) before glmx is imported.

Two kinds of design:

- ``realistic``: encoding-model designs from `designs.py` (raised-cosine spike-history features
  of correlated, bursty spike trains, and filtered stimuli; strongly correlated columns, neither
  centred nor scaled), with responses simulated from smooth true filters.
- ``iid``: ``X ~ N(0, 1) / sqrt(p)``, with normal true coefficients (the first suite's data).
"""

import dataclasses
import functools

import designs
import numpy as np

#: Peers' stopping tolerance (scikit-learn ``tol``, glum ``gradient_tol``, statsmodels ``tol``).
PEER_TOL = 1e-8
PEER_MAX_ITER = 1000
PEER_NAMES = {
    "nemos": "NeMoS",
    "sklearn": "scikit-learn",
    "glum": "glum",
    "statsmodels": "statsmodels",
}
#: The module each peer is imported as.
PEER_MODULES = {
    "nemos": "nemos",
    "sklearn": "sklearn",
    "glum": "glum",
    "statsmodels": "statsmodels",
}
DESIGN_KINDS = ("realistic", "iid")


# --- workloads and data ----------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Workload:
    """One problem: a family, a penalty, and the kind, size and shape of its simulated data."""

    key: str
    title: str
    family: str  # "poisson", "gamma" or "bernoulli"; log link, log link, logit link
    penalty: str  # "none", "ridge" or "lasso"
    strength: float
    n: int
    p: int
    design: str = "iid"  # "realistic" (designs.py) or "iid" (X ~ N(0, 1) / sqrt(p))
    neurons: int | None = None  # a population sharing X when set
    #: Peers that loop over neurons fit only the first ``peer_neurons`` of them, and their times
    #: are scaled by ``neurons / peer_neurons`` (extrapolated, marked in the tables).
    peer_neurons: int | None = None
    # i.i.d. designs only: true coefficients ~ N(0, coef_scale^2) on the fraction ``nonzero`` of
    # them (the rest are zero), and the true intercept.
    coef_scale: float = 0.5
    nonzero: float = 1.0
    intercept: float = -1.0
    seed: int = 0

    @property
    def ridge(self) -> float:
        return self.strength if self.penalty == "ridge" else 0.0

    @property
    def lasso(self) -> float:
        return self.strength if self.penalty == "lasso" else 0.0

    @property
    def loop_neurons(self) -> int | None:
        """The neurons a looping peer fits: all of them, or the first ``peer_neurons``."""
        return self.peer_neurons or self.neurons

    @property
    def loop_scale(self) -> float:
        """The factor a looping peer's times are multiplied by (1 when it fits every neuron)."""
        return self.neurons / self.peer_neurons if self.neurons and self.peer_neurons else 1.0

    def describe(self) -> str:
        shape = f"n={self.n:,}, p={self.p}"
        if self.neurons:
            shape = f"{self.neurons:,} neurons sharing X, {shape}"
        penalty = "unregularized" if self.penalty == "none" else f"{self.penalty} {self.strength:g}"
        kind = "realistic design" if self.design == "realistic" else "i.i.d. Gaussian design"
        return f"{self.title}: {shape}, {penalty} ({kind})"


def realistic_workloads(quick: bool = False) -> list[Workload]:
    """Encoding-model designs (`designs.py`); ``quick`` shrinks them to a smoke test's size.

    The Lasso strength leaves about 20% of the coefficients non-zero at the optimum: glum left
    38 of 200 at 5e-3 (52 at 3e-3), and 5 of 20 in quick mode (1e-1; 9 at 1e-2). The suite
    prints the count.
    """
    n, p, medium, pop, lasso = 100_000, 200, (50_000, 50), (50_000, 100), 5e-3
    neurons, many, peers = 100, 1_000, 100
    if quick:
        n, p, medium, pop, lasso = 3_000, 20, (3_000, 20), (3_000, 40), 1e-1
        neurons, many, peers = 5, 20, 5
    real = dict(design="realistic")
    return [
        Workload("poisson", "Poisson", "poisson", "none", 0.0, n, p, **real),
        Workload("poisson-ridge", "Poisson Ridge", "poisson", "ridge", 1e-3, n, p, **real),
        Workload("poisson-lasso", "Poisson Lasso", "poisson", "lasso", lasso, n, p, **real),
        Workload(
            "bernoulli-ridge", "Bernoulli (logit) Ridge", "bernoulli", "ridge", 1e-3, n, p, **real
        ),
        Workload("gamma", "Gamma (log link)", "gamma", "none", 0.0, *medium, **real),
        Workload(
            "population",
            "Population Poisson Ridge",
            "poisson",
            "ridge",
            1e-3,
            *pop,
            neurons=neurons,
            **real,
        ),
        Workload(
            "population-1000",
            "Large population Poisson Ridge",
            "poisson",
            "ridge",
            1e-3,
            *pop,
            neurons=many,
            peer_neurons=peers,
            **real,
        ),
    ]


def iid_workloads(quick: bool = False) -> list[Workload]:
    """The i.i.d. Gaussian designs, keys prefixed ``iid-``; ``quick`` shrinks them.

    The Lasso strengths give about 20% non-zero coefficients at the optimum on this data: 40 of
    200 at full size (3e-4), 5 of 20 in quick mode (5e-3; fewer rows, noisier gradients).
    """
    n, p, medium, pop, lasso = 100_000, 200, (50_000, 50), (50_000, 100, 100), 3e-4
    if quick:
        n, p, medium, pop, lasso = 2_000, 20, (2_000, 20), (2_000, 20, 5), 5e-3
    sparse = dict(coef_scale=1.0, nonzero=0.2)
    return [
        Workload("iid-poisson", "Poisson", "poisson", "none", 0.0, n, p),
        Workload("iid-poisson-ridge", "Poisson Ridge", "poisson", "ridge", 1e-3, n, p),
        Workload("iid-poisson-lasso", "Poisson Lasso", "poisson", "lasso", lasso, n, p, **sparse),
        Workload("iid-gamma", "Gamma (log link)", "gamma", "none", 0.0, *medium, intercept=0.5),
        Workload(
            "iid-bernoulli-ridge",
            "Bernoulli (logit) Ridge",
            "bernoulli",
            "ridge",
            1e-3,
            n,
            p,
            coef_scale=1.0,
            intercept=0.0,
        ),
        Workload(
            "iid-population",
            "Population Poisson Ridge",
            "poisson",
            "ridge",
            1e-3,
            *pop[:2],
            neurons=pop[2],
        ),
    ]


def workloads(quick: bool = False, kinds=DESIGN_KINDS) -> list[Workload]:
    """Every workload of the given design kinds, in the order of ``kinds``."""
    make = {"realistic": realistic_workloads, "iid": iid_workloads}
    return [w for kind in kinds for w in make[kind](quick)]


def data_key(w: Workload) -> tuple:
    """What the simulated data depends on: workloads that differ only in the penalty share it."""
    fields = ("design", "family", "n", "p", "neurons", "coef_scale", "nonzero", "intercept", "seed")
    return tuple(getattr(w, name) for name in fields)


def simulate(w: Workload):
    """``(X, y)`` as float64 NumPy arrays; ``y`` is ``(n,)``, or ``(n, neurons)``. The last
    data set is kept, so consecutive workloads on the same data share one simulation (do not
    write into the arrays)."""
    return _simulate(data_key(w))


@functools.lru_cache(maxsize=1)
def _simulate(key):
    design, family, n, p, neurons, coef_scale, nonzero, intercept, seed = key
    if design == "realistic":
        d = designs.for_features(n, p, seed)
        X = realistic_design(n, p, seed)
        y = designs.responses(X, family, d, neurons=neurons)[0]
        return X, y
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p)) / np.sqrt(p)
    k = neurons or 1
    if nonzero < 1.0:
        coef = np.zeros((k, p))
        count = max(1, round(nonzero * p))
        for row in coef:
            row[rng.choice(p, count, replace=False)] = rng.normal(size=count) * coef_scale
    else:
        coef = rng.normal(size=(k, p)) * coef_scale
    eta = X @ coef.T + intercept
    if family == "poisson":
        y = rng.poisson(np.exp(eta)).astype(float)
    elif family == "gamma":
        y = rng.gamma(2.0, np.exp(eta) / 2.0)  # shape 2, mean exp(eta)
    elif family == "bernoulli":
        y = (rng.random(eta.shape) < 1.0 / (1.0 + np.exp(-eta))).astype(float)
    else:
        raise ValueError(family)
    return X, (y if neurons else y[:, 0])


@functools.lru_cache(maxsize=1)
def realistic_design(n: int, p: int, seed: int = 0) -> np.ndarray:
    """`designs.design_matrix` of ``designs.for_features(n, p, seed)`` (float64; the last one
    is kept, so the populations share theirs)."""
    return designs.design_matrix(designs.for_features(n, p, seed))


def design_matrix_lean(d: designs.Design, dtype=np.float64) -> np.ndarray:
    """`designs.design_matrix` (the same values, rounded to ``dtype``), written one signal's
    block of columns at a time into the output, so that at large ``n`` the float64 design and
    its concatenation are never held: the peak is the output, the spike counts and one signal's
    FFT buffers (about 13 GB less at n=1e7, p=100)."""
    rng = np.random.default_rng(d.seed)
    counts = designs.spike_trains(d, rng)
    stim = designs.stimuli(d.n, rng)  # the same random stream as design_matrix
    history = designs.raised_cosine_basis(d.history_bases, d.history_lags)
    stimulus = designs.raised_cosine_basis(d.stimulus_bases, d.stimulus_lags)
    X = np.empty((d.n, d.p), dtype)
    column = 0
    for signals, basis, shift in ((counts, history, 1), (stim, stimulus, 0)):
        for i in range(signals.shape[1]):
            block = designs.causal_filter(signals[:, i : i + 1], basis, shift)
            X[:, column : column + block.shape[1]] = block
            column += block.shape[1]
    assert column == d.p
    return X


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
    columns of ``Y`` for a population (the first ``w.loop_neurons`` of them)."""
    if not w.neurons:
        return lambda: fit_one(Y)

    def run():
        fits = [fit_one(Y[:, k]) for k in range(w.loop_neurons)]
        iters = [f.iters for f in fits if f.iters is not None]
        return Fit(
            np.array([f.coef for f in fits]),
            np.array([f.intercept for f in fits]),
            max(iters) if iters else None,
        )

    return run


def _loop(w: Workload) -> str:
    """A label's suffix for a peer that fits a population one neuron at a time."""
    if not w.neurons:
        return ""
    if w.loop_neurons < w.neurons:
        return f", loop over {w.loop_neurons} of {w.neurons:,} neurons"
    return f", loop over {w.neurons} neurons"


def glmx_model(w: Workload):
    """The unfitted glmx model: a `GLM`, or a `PopulationGLM` for a population."""
    import glmx

    regularizer = {
        "none": glmx.UnRegularized,
        "ridge": lambda: glmx.Ridge(w.strength),
        "lasso": lambda: glmx.Lasso(w.strength),
    }[w.penalty]()
    observation = {"poisson": glmx.Poisson, "gamma": glmx.Gamma, "bernoulli": glmx.Bernoulli}[
        w.family
    ]()
    if w.neurons:
        return glmx.PopulationGLM(observation, regularizer, n_neurons=w.neurons)
    return glmx.GLM(observation, regularizer)


def glmx_runner(w: Workload, X, Y, solver=None):
    """glmx: one `GLM` fit, or one `PopulationGLM` fit (a vmapped solve) for a population, on
    the NumPy arrays as given (each fit moves them to the device)."""
    import jax

    import glmx

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
    """NeMoS ``GLM`` or ``PopulationGLM`` with its default solver and settings (every neuron)."""
    import jax.numpy as jnp
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


def time_scale(library: str, w: Workload) -> float:
    """The factor a library's measured times are multiplied by: ``w.loop_scale`` for the peers
    that loop over neurons (scikit-learn, glum, statsmodels), 1 for glmx and NeMoS, which fit
    every neuron."""
    return w.loop_scale if library in ("sklearn", "glum", "statsmodels") else 1.0
