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
from ._population import PopulationGLM
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


#: XLA's CPU client takes a NumPy buffer without copying when it is aligned to this many bytes.
_ALIGNMENT = 64


def host_to_jax(array: np.ndarray, dtype) -> jax.Array:
    """``array`` as a JAX array of ``dtype``, through a private aligned NumPy copy.

    ``jnp.asarray`` on a large NumPy array copies it at a fraction of memory bandwidth (about
    170 ms for 160 MB here); NumPy's own copy into a 64-byte aligned buffer, which the CPU
    client then adopts without copying, takes about 40 ms. The copy is private, so later
    changes to the caller's array cannot reach a computation still running on it. On other
    backends this is an ordinary transfer.
    """
    dtype = np.dtype(dtype)
    raw = np.empty(array.size * dtype.itemsize + _ALIGNMENT, np.uint8)
    start = -raw.ctypes.data % _ALIGNMENT
    out = raw[start : start + array.size * dtype.itemsize].view(dtype).reshape(array.shape)
    np.copyto(out, array, casting="unsafe")
    return jax.device_put(out)


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


def check_solver(model: GLM | PopulationGLM, solver: AbstractSolver) -> None:
    if not isinstance(solver, AbstractSolver):
        raise TypeError(f"solver must be a glmx solver (e.g. glmx.LBFGS()), got {solver!r}.")
    if not (model.regularizer.is_smooth or solver.handles_nonsmooth):
        reg = type(model.regularizer).__name__
        raise ValueError(
            f"solver {type(solver).__name__} handles only smooth penalties, but the regularizer "
            f"is {reg}; use solver=glmx.ProximalGradient()."
        )


class Inputs(eqx.Module):
    """Validated inputs, as arrays of one floating dtype; ``X`` stays a dict if it was one.

    ``axes`` (populations only): the neuron axis of ``X``, ``y``, ``sample_weight``,
    ``offset`` and the feature mask, ``None`` where the input is shared by all neurons.
    """

    X: object
    y: jax.Array
    sample_weight: jax.Array
    offset: jax.Array
    traced: bool = eqx.field(static=True)
    axes: tuple | None = eqx.field(static=True, default=None)


def _check_series(name, array, n, n_neurons):
    """``(n,)``, or for populations also ``(n, neurons)``; returns the neuron axis."""
    if n_neurons is None or array.ndim == 1:
        _check_rows(name, array, n)
        return None
    if array.ndim != 2 or array.shape != (n, n_neurons):
        raise ValueError(
            f"{name} must have shape ({n},) or ({n}, {n_neurons}) (samples, neurons), got "
            f"shape {array.shape}."
        )
    return 1


def _shape_proxy(block, per_neuron: bool):
    """Something with the shape one neuron sees, without copying a per-neuron block."""
    return jax.ShapeDtypeStruct(block.shape[1:] if per_neuron else block.shape, block.dtype)


def prepare(model, X, y, sample_weight=None, offset=None) -> Inputs:
    """Check structure and (for concrete inputs) values; return arrays in a common dtype."""
    population = isinstance(model, PopulationGLM)
    n_neurons = model.n_neurons if population else None
    blocks = _design_blocks(X)
    named = list(blocks.items()) if isinstance(blocks, dict) else [("X", blocks)]
    allowed = (2, 3) if population else (2,)
    for name, block in named:
        label = name if name == "X" else f"X[{name!r}]"
        if block.ndim not in allowed:
            expected = (
                "2-dimensional (n_samples, n_features) or 3-dimensional (neurons, n_samples, "
                "n_features)"
                if population
                else "2-dimensional (n_samples, n_features)"
            )
            raise ValueError(f"{label} must be {expected}, got shape {block.shape}.")
    per_neuron = named[0][1].ndim == 3
    first_label = named[0][0] if named[0][0] == "X" else f"X[{named[0][0]!r}]"
    for name, block in named:
        label = name if name == "X" else f"X[{name!r}]"
        if block.ndim != named[0][1].ndim:
            raise ValueError(
                f"{label} has {block.ndim} dimensions but {first_label} has "
                f"{named[0][1].ndim}; give every block per neuron or none."
            )
        if per_neuron and block.shape[0] != n_neurons:
            raise ValueError(
                f"{label} has {block.shape[0]} neurons along its first axis but the population "
                f"has {n_neurons}; they must match."
            )
    n = named[0][1].shape[-2]
    for name, block in named[1:]:
        if block.shape[-2] != n:
            raise ValueError(
                f"X[{name!r}] has {block.shape[-2]} rows but {first_label} has {n}; every "
                "block must have the same rows."
            )
    if n == 0:
        raise ValueError("X has 0 rows; fitting needs at least one sample.")
    y = _as_real_array(y, "y")
    if population:
        if y.ndim != 2 or y.shape[1] != n_neurons:
            raise ValueError(
                f"y must be 2-dimensional (n_samples, neurons) with {n_neurons} neurons, got "
                f"shape {y.shape}."
            )
        if y.shape[0] != n:
            raise ValueError(f"y has {y.shape[0]} rows but X has {n}; they must match.")
    else:
        _check_rows("y", y, n)
    w_axis = o_axis = None
    if sample_weight is not None:
        sample_weight = _as_real_array(sample_weight, "sample_weight")
        w_axis = _check_series("sample_weight", sample_weight, n, n_neurons)
    if offset is not None:
        offset = _as_real_array(offset, "offset")
        o_axis = _check_series("offset", offset, n, n_neurons)

    proxies = (
        {k: _shape_proxy(b, per_neuron) for k, b in blocks.items()}
        if isinstance(blocks, dict)
        else _shape_proxy(blocks, per_neuron)
    )
    template = model.neuron(0) if population else model
    if template.coef is not None:
        check_coef_matches(proxies, template.coef)
    p = n_features(proxies)
    template.regularizer.check_features(p)
    if population and model.feature_mask is not None:
        _check_mask(model.feature_mask, proxies)

    extras = [a for a in (sample_weight, offset) if a is not None]
    # The floating type of the inputs, as JAX will hold it (float32 unless x64 is enabled).
    dtype = np.result_type(
        *[np.dtype(a.dtype) for _, a in named] + [y.dtype] + [np.dtype(a.dtype) for a in extras]
    )
    if not np.issubdtype(dtype, np.floating):
        dtype = np.float64
    dtype = jax.dtypes.canonicalize_dtype(dtype)

    def cast(a):
        if isinstance(a, np.ndarray):
            return host_to_jax(a, dtype)
        return jnp.asarray(a, dtype)

    X = {k: cast(v) for k, v in blocks.items()} if isinstance(blocks, dict) else cast(blocks)
    y = cast(y)
    sample_weight = jnp.ones(n, dtype) if sample_weight is None else cast(sample_weight)
    offset = jnp.zeros(n, dtype) if offset is None else cast(offset)
    traced = is_traced(X, y, sample_weight, offset, model)
    if not traced:
        _host_value_checks(model, X, y, sample_weight, offset)
    axes = None
    if population:
        m_axis = None if model.feature_mask is None else 1
        axes = (0 if per_neuron else None, 1, w_axis, o_axis, m_axis)
    return Inputs(X, y, sample_weight, offset, traced, axes)


def _check_mask(mask, proxies) -> None:
    if isinstance(mask, dict) != isinstance(proxies, dict):
        raise TypeError(
            "feature_mask must be a dict with the design's keys when X is a dict, and a "
            "(p, neurons) matrix when X is an array."
        )
    if isinstance(mask, dict):
        if sorted(mask) != sorted(proxies):
            raise ValueError(
                f"feature_mask has keys {sorted(mask)} but X has keys {sorted(proxies)}; they "
                "must match."
            )
        pairs = [(f"feature_mask[{k!r}]", mask[k], proxies[k].shape[-1]) for k in sorted(mask)]
    else:
        pairs = [("feature_mask", mask, proxies.shape[-1])]
    for label, m, width in pairs:
        if m.shape[0] != width:
            raise ValueError(
                f"{label} has {m.shape[0]} rows but X has {width} features there; give one row "
                "per feature."
            )


def _missing(X_blocks, y):
    """Where ``y`` is left out of the fit: NaN in ``y`` or anywhere in that row of ``X``.

    ``X_blocks`` are ``(n, p)`` (shared) or ``(neurons, n, p)`` (per neuron); ``y`` is ``(n,)``
    or ``(n, neurons)``; the result has the shape of ``y``.
    """
    missing = jnp.isnan(y)
    for block in X_blocks:
        rows = jnp.any(jnp.isnan(block), axis=-1)  # (n,) shared or (neurons, n) per neuron
        missing = missing | (rows.T if rows.ndim == 2 else (rows[:, None] if y.ndim == 2 else rows))
    return missing


def value_problems(observation, regularizer, X_blocks, y, sample_weight, offset):
    """Every value check, as ``(label, bad, message, values)``: ``bad`` marks offending entries
    of ``values`` (named ``label`` in messages). Evaluated on concrete inputs by `prepare` and
    on traced ones by `in_graph_checks`, so both paths enforce exactly the same rules."""
    keep = ~_missing([b for _, b in X_blocks], y)
    problems = [
        (label, jnp.isinf(block), f"{label} must be finite (NaN marks a missing row)", block)
        for label, block in X_blocks
    ]
    support = keep & ~observation.in_support(jnp.where(keep, y, 1.0))
    problems += [
        ("y", jnp.isinf(y), "y must be finite (NaN marks a missing row)", y),
        (
            "sample_weight",
            ~jnp.isfinite(sample_weight),
            "sample_weight must be finite",
            sample_weight,
        ),
        ("sample_weight", sample_weight < 0, "sample_weight must be non-negative", sample_weight),
        ("offset", ~jnp.isfinite(offset), "offset must be finite", offset),
        ("y", support, f"y must hold {observation.support} for {type(observation).__name__}", y),
    ]
    problems += [
        (None, bad, message, value)
        for bad, message, value in regularizer.value_checks() + observation.value_checks()
    ]
    return problems


@eqx.filter_jit
def _any_problem(observation, regularizer, blocks, y, sample_weight, offset):
    """Whether any value check fails, and the row-coverage facts, in one compiled pass."""
    problems = value_problems(observation, regularizer, blocks, y, sample_weight, offset)
    failed = jnp.stack([jnp.any(bad) for _, bad, _, _ in problems])
    missing = _missing([b for _, b in blocks], y)
    w = sample_weight[:, None] if missing.ndim == 2 and sample_weight.ndim == 1 else sample_weight
    all_missing = jnp.all(missing)
    no_weight = ~jnp.any(~missing & (w > 0))
    return jnp.any(failed), all_missing, no_weight


def _host_value_checks(model: GLM | PopulationGLM, X, y, sample_weight, offset) -> None:
    blocks = [(f"X[{k!r}]", v) for k, v in X.items()] if isinstance(X, dict) else [("X", X)]
    # Hyperparameters in the data's dtype and strongly typed, as the compiled fit sees them:
    # otherwise Ridge(0.1) and a fitted model's Ridge would compile the checks twice.
    observation, regularizer = (
        jax.tree.map(lambda x: jnp.asarray(x, y.dtype) if eqx.is_inexact_array(x) else x, m)
        for m in (model.observation, model.regularizer)
    )
    args = (observation, regularizer, blocks, y, sample_weight, offset)
    failed, all_missing, no_weight = (bool(v) for v in _any_problem(*args))
    if failed:
        _raise_first_problem(*args)
    if all_missing:
        raise ValueError("every row has a NaN in X or y; nothing is left to fit.")
    if no_weight:
        raise ValueError("sample_weight is zero on every row without NaN; nothing is left to fit.")


def _raise_first_problem(observation, regularizer, blocks, y, sample_weight, offset) -> None:
    """Eagerly find the first failing check and raise its message (the error path only)."""
    for label, bad, message, values in value_problems(
        observation, regularizer, blocks, y, sample_weight, offset
    ):
        if not bool(jnp.any(bad)):
            continue
        if label is None:  # a hyperparameter
            raise ValueError(f"{message}; got {_show(values)}.")
        bad, values = np.asarray(bad), np.asarray(values)
        first = tuple(np.argwhere(bad)[0])
        raise ValueError(f"{message}, but {label}{_first_bad(bad)} is {values[first]}.")


def _show(value) -> str:
    value = np.asarray(value)
    if np.issubdtype(value.dtype, np.integer):
        value = value[value >= 0]  # index lists are padded with -1
    return str(value.tolist() if value.size <= 8 else value)


def in_graph_checks(glm, data):
    """The value checks as ``eqx.error_if`` on traced inputs; returns ``data.y`` carrying them.

    ``glm`` is a `GLM` (with a leading neuron axis on its leaves for populations) and ``data``
    the flat inputs of the compiled fit.
    """
    y = data.y
    problems = value_problems(
        glm.observation, glm.regularizer, [("X", data.X)], y, data.sample_weight, data.offset
    )
    for _, bad, message, _ in problems:
        y = eqx.error_if(y, jnp.any(bad), message + ".")
    return y
