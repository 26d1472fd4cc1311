"""Checks on user input, made before any work: one sentence per problem, naming the argument.

Structure (shapes, dtypes, keys, solver/regularizer pairing) is always checked in Python. Values
(non-finite entries, ``y`` outside the family's support, negative strengths) are checked on the
host when the inputs are concrete, and with ``eqx.error_if`` inside the compiled fit when they
are traced (the caller's ``jit``/``vmap``), so bad values never pass silently.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ._design import check_coef_matches, n_features
from ._glm import GLM
from ._solvers import AbstractSolver


def is_traced(*trees) -> bool:
    return any(isinstance(x, jax.core.Tracer) for t in trees for x in jax.tree.leaves(t))


def _as_real_array(value, name: str):
    if isinstance(value, dict):
        raise TypeError(f"{name} must be an array, got a dict.")
    array = value if isinstance(value, jax.Array) else np.asarray(value)
    dtype = array.dtype
    if not (
        np.issubdtype(dtype, np.integer)
        or np.issubdtype(dtype, np.floating)
        or np.issubdtype(dtype, np.bool_)
        or dtype == jnp.bfloat16
    ):
        raise TypeError(f"{name} must hold real numbers, got dtype {dtype}.")
    return array


def _design_blocks(X):
    if isinstance(X, dict):
        if not X:
            raise ValueError("X is an empty dict; give at least one block of features.")
        for k in X:
            if not isinstance(k, str):
                raise TypeError(f"X's dict keys must be strings, got {k!r}.")
        return {k: _as_real_array(X[k], f"X[{k!r}]") for k in X}
    return _as_real_array(X, "X")


def _check_rows(name: str, array, n: int, ndim: int = 1):
    if array.ndim != ndim:
        shape = "(n_samples,)" if ndim == 1 else "(n_samples, n_features)"
        raise ValueError(f"{name} must be {ndim}-dimensional {shape}, got shape {array.shape}.")
    if array.shape[0] != n:
        raise ValueError(f"{name} has {array.shape[0]} rows but X has {n}; they must match.")


def _first_bad(mask) -> str:
    index = np.argwhere(np.asarray(mask))[0]
    return "[" + ", ".join(str(int(i)) for i in index) + "]"


def check_solver(model: GLM, solver: AbstractSolver) -> None:
    if not isinstance(solver, AbstractSolver):
        raise TypeError(f"solver must be a glmx solver (e.g. glmx.LBFGS()), got {solver!r}.")
    if not (model.regularizer.is_smooth or solver.handles_nonsmooth):
        reg = type(model.regularizer).__name__
        raise ValueError(
            f"solver {type(solver).__name__} handles only smooth penalties, but the regularizer "
            f"is {reg}; use solver=glmx.ProximalGradient()."
        )


class Inputs(eqx.Module):
    """Validated inputs, as arrays of one floating dtype; ``X`` stays a dict if it was one."""

    X: object
    y: jax.Array
    sample_weight: jax.Array
    offset: jax.Array
    traced: bool = eqx.field(static=True)


def prepare(model: GLM, X, y, sample_weight=None, offset=None) -> Inputs:
    """Check structure and (for concrete inputs) values; return arrays in a common dtype."""
    if not isinstance(model, GLM):
        raise TypeError(f"model must be a glmx.GLM, got {type(model).__name__}.")
    blocks = _design_blocks(X)
    for name, block in blocks.items() if isinstance(blocks, dict) else [("X", blocks)]:
        label = name if name == "X" else f"X[{name!r}]"
        if block.ndim != 2:
            raise ValueError(
                f"{label} must be 2-dimensional (n_samples, n_features), got shape {block.shape}."
            )
    leaves = list(blocks.values()) if isinstance(blocks, dict) else [blocks]
    n = leaves[0].shape[0]
    if isinstance(blocks, dict):
        for k, block in blocks.items():
            if block.shape[0] != n:
                raise ValueError(
                    f"X[{k!r}] has {block.shape[0]} rows but X[{sorted(blocks)[0]!r}] has {n}; "
                    "every block must have the same rows."
                )
    if n == 0:
        raise ValueError("X has 0 rows; fitting needs at least one sample.")
    y = _as_real_array(y, "y")
    _check_rows("y", y, n)
    if sample_weight is not None:
        sample_weight = _as_real_array(sample_weight, "sample_weight")
        _check_rows("sample_weight", sample_weight, n)
    if offset is not None:
        offset = _as_real_array(offset, "offset")
        _check_rows("offset", offset, n)
    if model.coef is not None:
        check_coef_matches(blocks, model.coef)
    model.regularizer.check_features(n_features(blocks))

    extras = [a for a in (sample_weight, offset) if a is not None]
    # The floating type of the inputs, as JAX will hold it (float32 unless x64 is enabled).
    dtype = np.result_type(*[np.dtype(a.dtype) for a in leaves + [y] + extras])
    if not np.issubdtype(dtype, np.floating):
        dtype = np.float64
    dtype = jax.dtypes.canonicalize_dtype(dtype)
    cast = lambda a: jnp.asarray(a, dtype)
    X = {k: cast(v) for k, v in blocks.items()} if isinstance(blocks, dict) else cast(blocks)
    y = cast(y)
    sample_weight = jnp.ones(n, dtype) if sample_weight is None else cast(sample_weight)
    offset = jnp.zeros(n, dtype) if offset is None else cast(offset)
    traced = is_traced(X, y, sample_weight, offset, model)
    if not traced:
        _host_value_checks(model, X, y, sample_weight, offset)
    return Inputs(X, y, sample_weight, offset, traced)


def _host_value_checks(model: GLM, X, y, sample_weight, offset) -> None:
    blocks = X.items() if isinstance(X, dict) else [("X", X)]
    missing = np.isnan(np.asarray(y))
    for name, block in blocks:
        label = name if name == "X" else f"X[{name!r}]"
        block = np.asarray(block)
        infinite = np.isinf(block)
        if infinite.any():
            raise ValueError(
                f"{label} must be finite (NaN marks a missing row), but {label}"
                f"{_first_bad(infinite)} is {block[tuple(np.argwhere(infinite)[0])]}."
            )
        missing |= np.isnan(block).any(axis=1)
    y_np = np.asarray(y)
    if np.isinf(y_np).any():
        raise ValueError(
            f"y must be finite (NaN marks a missing row), but y{_first_bad(np.isinf(y_np))} is "
            f"{y_np[np.isinf(y_np)][0]}."
        )
    for name, array in (("sample_weight", sample_weight), ("offset", offset)):
        array = np.asarray(array)
        if not np.isfinite(array).all():
            raise ValueError(
                f"{name} must be finite, but {name}{_first_bad(~np.isfinite(array))} is "
                f"{array[~np.isfinite(array)][0]}."
            )
    w = np.asarray(sample_weight)
    if (w < 0).any():
        raise ValueError(
            f"sample_weight must be non-negative, but sample_weight{_first_bad(w < 0)} is "
            f"{w[w < 0][0]}."
        )
    if missing.all():
        raise ValueError("every row has a NaN in X or y; nothing is left to fit.")
    if not (w[~missing] > 0).any():
        raise ValueError("sample_weight is zero on every row without NaN; nothing is left to fit.")
    observation = model.observation
    outside = ~np.asarray(observation.in_support(jnp.asarray(y_np))) & ~missing
    if outside.any():
        raise ValueError(
            f"y must hold {observation.support} for {type(observation).__name__}, but "
            f"y{_first_bad(outside)} is {y_np[outside][0]}."
        )
    for bad, message in model.regularizer.value_checks() + observation.value_checks():
        if bool(bad):
            raise ValueError(f"{message}; got {_describe(model, message)}.")


def _describe(model: GLM, message: str) -> str:
    """The offending hyperparameter's value, for the error message."""
    source = (
        model.observation
        if message.startswith(type(model.observation).__name__)
        else (model.regularizer)
    )
    attribute = message.split()[1]
    value = np.asarray(getattr(source, attribute, np.nan))
    return str(value.tolist() if value.size <= 6 else value)


def in_graph_checks(model: GLM, X, y, sample_weight, offset):
    """The value checks as ``eqx.error_if`` on traced inputs; returns ``y`` carrying them."""
    finite_or_nan = lambda a: jnp.all(jnp.isfinite(a) | jnp.isnan(a))
    blocks = list(X.values()) if isinstance(X, dict) else [X]
    checks = [(~finite_or_nan(b), "X must be finite (NaN marks a missing row)") for b in blocks]
    keep = ~jnp.isnan(y)
    checks += [
        (~finite_or_nan(y), "y must be finite (NaN marks a missing row)"),
        (~jnp.all(jnp.isfinite(sample_weight)), "sample_weight must be finite"),
        (jnp.any(sample_weight < 0), "sample_weight must be non-negative"),
        (~jnp.all(jnp.isfinite(offset)), "offset must be finite"),
        (
            jnp.any(keep & ~model.observation.in_support(jnp.where(keep, y, 1.0))),
            f"y must hold {model.observation.support} for {type(model.observation).__name__}",
        ),
    ]
    checks += model.regularizer.value_checks() + model.observation.value_checks()
    for bad, message in checks:
        y = eqx.error_if(y, bad, message + ".")
    return y
