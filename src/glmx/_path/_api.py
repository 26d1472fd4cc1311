"""Regularization paths and cross-validation: `fit_path` and `cross_validate`.

Both run ONE compiled program (with the value checks, `glmx._checks.run_checked`). For each
neuron (`glmx._data.map_neurons`): the strength grid (by default log-spaced down from the
strength at which every penalised coefficient is zero, from the intercept-only fit), then for
every fold at once (``vmap``) a ``lax.scan`` down the grid, each point's solve warm-started at
the previous point's solution, and each point scored on the fold's held-out rows. A fold is a
weighting of the rows: its training rows keep their weights, the others get zero, so no fold
copies the design. The path on all rows is one more fold, with no test rows.
"""

import dataclasses
import warnings

import jax
import jax.numpy as jnp
import numpy as np

from .._arrays import as_real_array
from .._checks import run_checked
from .._data import Data, glm_of, prepare
from .._design import block_sizes, keys_of, unravel_coef
from .._folds import make_folds
from .._glm import GLM
from .._population import PopulationGLM
from .._problem import ConvergenceWarning, resolve_solver
from .._solvers import RESULTS
from ._program import path_work
from ._records import CrossValidation, Path

#: The held-out scores every fold reports, and whether larger is better.
SCORES = {
    "log-likelihood": True,
    "deviance": False,
    "pseudo-r2-mcfadden": True,
    "pseudo-r2-cohen": True,
}


# --- on the host ------------------------------------------------------------------------------


def _check_model(model) -> None:
    if not isinstance(model, GLM | PopulationGLM):
        raise TypeError(
            f"model must be a glmx.GLM or glmx.PopulationGLM, got {type(model).__name__}."
        )
    regularizer = glm_of(model).regularizer
    fields = {f.name for f in dataclasses.fields(regularizer)}
    if "strength" not in fields:
        raise TypeError(
            "a path varies the penalty's strength, but the model's regularizer "
            f"{type(regularizer).__name__} has none; use e.g. glmx.Lasso() or glmx.Ridge()."
        )


def _check_grid(strengths, n_strengths, min_ratio, n_neurons, dtype):
    """The caller's grid as an array ``(S,)`` or ``(S, neurons)`` (``None``: the default)."""
    if not isinstance(n_strengths, int | np.integer) or n_strengths < 1:
        raise ValueError(f"n_strengths must be a positive integer, got {n_strengths!r}.")
    if not (isinstance(min_ratio, float | int) and 0 < min_ratio <= 1):
        raise ValueError(f"min_ratio must be a number in (0, 1], got {min_ratio!r}.")
    if strengths is None:
        return None
    grid = np.asarray(as_real_array(strengths, "strengths"), dtype=dtype)
    shapes = "(S,)" if n_neurons is None else "(S,) or (S, neurons)"
    if grid.ndim == 0 or grid.ndim > (1 if n_neurons is None else 2):
        raise ValueError(f"strengths must have shape {shapes}, got shape {grid.shape}.")
    if grid.shape[0] == 0:
        raise ValueError("strengths is empty; give at least one strength.")
    if grid.ndim == 2 and grid.shape[1] != n_neurons:
        raise ValueError(
            f"strengths has {grid.shape[1]} columns but the population has {n_neurons} "
            "neurons; give one column per neuron or a shared (S,) grid."
        )
    if not np.all(np.isfinite(grid)) or np.any(grid < 0):
        bad = np.flatnonzero(~(np.isfinite(grid) & (grid >= 0)).ravel())[0]
        raise ValueError(
            f"strengths must be finite and non-negative, but entry {bad} is {grid.ravel()[bad]}."
        )
    return jnp.asarray(grid.T if grid.ndim == 2 else grid)  # neuron axis first in the program


def _default_min_ratio(min_ratio, n: int, p: int) -> float:
    """glmnet's default: 1e-4 of the largest strength when there are more rows than features,
    1e-2 otherwise."""
    if min_ratio is not None:
        return min_ratio
    return 1e-4 if n > p else 1e-2


def prepare_folds(model, X, y, sample_weight, offset, solver, folds):
    """``(glm, data, solver, train, test)``: the checked inputs (`glmx._data.prepare`), the
    solver, and the folds' ``(F, n)`` train and test weights in the data's dtype. ``folds``:
    ``None`` for the path on all rows alone, or the arguments of `make_folds` without ``n``
    (``(folds, gap, shuffle, seed)``); the folds are then followed by the all-rows path."""
    _check_model(model)
    glm, data = prepare(model, X, y, sample_weight, offset)
    n = data.y.shape[0]
    all_rows = np.ones((1, n), bool)
    if folds is None:
        train, test = all_rows, ~all_rows
    else:
        spec, gap, shuffle, seed = folds
        train, test = make_folds(spec, n, gap, shuffle, seed)
        train, test = np.concatenate([train, all_rows]), np.concatenate([test, ~all_rows])
    solver = resolve_solver(solver, glm.regularizer, data.n_features)
    train, test = (jnp.asarray(a, data.dtype) for a in (train, test))
    return glm, data, solver, train, test


def _run(model, X, y, strengths, n_strengths, min_ratio, solver, sample_weight, offset, folds):
    """Prepare, run the program, and lay its outputs out path axis first: ``(grid, fits,
    scores)`` with ``fits`` and ``scores`` ``(F, S, *neurons)``."""
    glm, data, solver, train, test = prepare_folds(
        model, X, y, sample_weight, offset, solver, folds
    )
    population = isinstance(model, PopulationGLM)
    n_neurons = model.n_neurons if population else None
    min_ratio = _default_min_ratio(min_ratio, data.y.shape[0], data.n_features)
    grid = _check_grid(strengths, n_strengths, min_ratio, n_neurons, data.dtype)
    if grid is not None and population and grid.ndim == 1:
        grid = jnp.broadcast_to(grid, (n_neurons,) + grid.shape)
    grid, (fits, scores) = run_checked(
        path_work, glm, data, solver, train, test, grid, int(n_strengths), float(min_ratio)
    )
    if population:  # (neurons, F, S, ...) -> (F, S, neurons, ...); the grid -> (S, neurons)
        grid = grid.T
        fits, scores = jax.tree.map(lambda a: jnp.moveaxis(a, 0, 2), (fits, scores))
    return glm, data, grid, fits, scores


def _make_path(model, data: Data, grid, fits, fold: int) -> Path:
    """The `Path` of fold ``fold`` of the program's outputs (the last fold: all rows)."""
    coef, intercept, scale, status, num_steps, objective, optimality, dof = jax.tree.map(
        lambda a: a[fold], fits
    )
    keys = keys_of(data.X)
    if keys is not None:
        coef = unravel_coef(coef, keys, block_sizes(data.X))
    return Path(grid, coef, intercept, scale, status, num_steps, objective, optimality, dof, model)


def _warn_unconverged(name: str, status, what: str) -> None:
    converged = np.asarray(status == RESULTS.successful)
    if converged.all():
        return
    warnings.warn(
        f"glmx.{name}: {int((~converged).sum())} of {converged.size} {what} did not converge; "
        "see the status fields.",
        ConvergenceWarning,
        stacklevel=3,
    )


def fit_path(
    model,
    X,
    y,
    strengths=None,
    *,
    n_strengths: int = 20,
    min_ratio: float | None = None,
    solver=None,
    sample_weight=None,
    offset=None,
) -> Path:
    """Fit ``model`` along a grid of penalty strengths, each fit warm-started at the previous
    one, in one compiled program.

    **Arguments:**

    - ``model``: a `GLM` or `PopulationGLM` with a penalty that has a strength (`Ridge`,
      `Lasso`, `ElasticNet`, `GroupLasso`). A scalar strength is replaced by each path
      strength; per-feature (or per-group) strengths are relative factors that the path
      strength multiplies (glmnet's ``penalty.factor``).
    - ``X``, ``y``, ``sample_weight``, ``offset``: as in `glmx.fit`.
    - ``strengths``: the grid, ``(S,)`` (for a population also ``(S, neurons)``, a grid per
      neuron); fitted in the order given, so give it decreasing for the best warm starts.
      By default ``n_strengths`` values log-spaced from the smallest strength at which every
      penalised coefficient is zero (per neuron) down to ``min_ratio`` times it (default
      ``1e-4`` when there are more rows than features, else ``1e-2``, as glmnet). For `Ridge`,
      which never zeroes a coefficient, the top is the elastic net's at ratio ``1e-3``.
    - ``solver``: as in `glmx.fit`.

    **Returns:** a `Path`: strengths, coefficients, intercepts and statuses per point (path
    axis first), and ``model_at(i)`` for the fitted model at a point. Warns with a
    `glmx.ConvergenceWarning` if a point did not converge.

    **Example:**
    ```python
    path = glmx.fit_path(glmx.GLM(glmx.Poisson(), glmx.Lasso()), X, spikes)
    print(path.strengths, path.n_nonzero)
    ```
    """
    _, data, grid, fits, _ = _run(
        model, X, y, strengths, n_strengths, min_ratio, solver, sample_weight, offset, None
    )
    path = _make_path(model, data, grid, fits, 0)
    _warn_unconverged("fit_path", path.status, "path points")
    return path


def cross_validate(
    model,
    X,
    y,
    strengths=None,
    *,
    folds=5,
    gap: int = 0,
    shuffle: bool = False,
    seed: int = 0,
    score: str = "log-likelihood",
    n_strengths: int = 20,
    min_ratio: float | None = None,
    solver=None,
    sample_weight=None,
    offset=None,
) -> CrossValidation:
    """Cross-validate ``model`` along a path of strengths: every fold's path and the path on
    all rows, for every neuron, in one compiled program.

    **Arguments:** as in `fit_path`, and

    - ``folds``: the number of folds, as contiguous blocks of rows (the default, 5: right for
      time series, where neighbouring rows are correlated); or ``(n,)`` integer fold labels
      (rows labelled ``-1`` are never tested); or a list of test sets (index arrays or
      boolean masks ``(n,)``), each fold training on the other rows.
    - ``gap``: rows within ``gap`` rows of a test row are left out of that fold's training
      (for correlated neighbours, e.g. the length of the history filter).
    - ``shuffle``, ``seed``: with ``folds`` a number, assign rows to folds at random.
    - ``score``: what chooses the strength: ``"log-likelihood"`` (the default; the mean per
      held-out row, as `glmx.GLM.score`), ``"deviance"``, ``"pseudo-r2-McFadden"`` or
      ``"pseudo-r2-Cohen"``. All four are reported.

    Each fold's fit is the fit on its training rows alone (the objective's mean is over them),
    so its scores equal those of scikit-learn's ``GridSearchCV`` over `glmx.sklearn.GLM`
    with the same folds.

    **Returns:** a `CrossValidation`: scores per fold, strength (and neuron), their mean and
    standard error, the best and one-standard-error strengths, and the path on all rows
    (``best_model``, ``model_1se``).
    """
    kind = str(score).lower()
    if kind not in SCORES:
        raise ValueError(
            "score must be one of 'log-likelihood', 'deviance', 'pseudo-r2-McFadden', "
            f"'pseudo-r2-Cohen', got {score!r}."
        )
    _, data, grid, fits, scores = _run(
        model,
        X,
        y,
        strengths,
        n_strengths,
        min_ratio,
        solver,
        sample_weight,
        offset,
        (folds, gap, shuffle, seed),
    )
    fold_scores = {k: np.asarray(v[:-1]) for k, v in scores.items()}
    chosen = fold_scores[kind]
    n_folds = chosen.shape[0]
    mean = chosen.mean(axis=0)
    se = chosen.std(axis=0, ddof=1) / np.sqrt(n_folds)
    signed = mean if SCORES[kind] else -mean
    best = np.argmax(np.where(np.isnan(signed), -np.inf, signed), axis=0)
    best_mean = np.take_along_axis(signed, best[None], axis=0)
    best_se = np.take_along_axis(se, best[None], axis=0)
    within = signed >= best_mean - best_se
    largest = np.asarray(grid) == np.max(np.where(within, np.asarray(grid), -np.inf), axis=0)
    index_1se = np.argmax(within & largest, axis=0)
    fold_status = jax.tree.map(lambda a: a[:-1], fits[3])
    path = _make_path(model, data, grid, fits, -1)
    _warn_unconverged("cross_validate", fold_status, "fold fits")
    _warn_unconverged("cross_validate", path.status, "path points on all rows")
    return CrossValidation(
        grid,
        kind,
        fold_scores,
        jnp.asarray(mean),
        jnp.asarray(se),
        jnp.asarray(best),
        jnp.asarray(index_1se),
        fold_status,
        path,
    )
