"""The one input pipeline of fits and inference: from the caller's arguments to the rows each
neuron's computation sees.

On the host (`prepare`), before anything runs: the model's kind, the structure of ``X`` (array
or dict of blocks, shared or per neuron), ``y``, ``sample_weight``, ``offset`` and the feature
mask, checked with one sentence per problem; the common floating dtype; NumPy inputs moved to
the device in it, and the default weights and offsets made. The result is a `Data` record and
the model's flat `GLM`.

Inside the compiled program (`in_dtype`, `rows_of`, `map_neurons`): the inputs cast, the dict
design flattened, ONE missing-row rule (`glmx._design.missing_rows`) applied, and the
per-neuron computation mapped over the neuron axis by ``vmap``, in chunks when the neurons'
working arrays would not fit in memory together.
"""

from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Bool, Float, Real

from ._arrays import as_real_array, cast_floating, host_nan_rows, host_to_jax, is_traced
from ._categorical_glm import CategoricalGLM
from ._design import (
    block_sizes,
    check_coef_matches,
    keys_of,
    missing_rows,
    n_features,
    nan_rows,
    ravel_coef,
    ravel_design,
    unravel_coef,
)
from ._glm import GLM
from ._population import PopulationGLM, neuron_axis, neuron_shapes, without_params
from ._structure import check_design, check_mask, check_series, check_y, design_blocks


class Data(eqx.Module):
    """Checked inputs of a fit, in one floating ``dtype``; ``X`` and the feature mask keep the
    caller's structure (array or dict); ``sample_weight`` and ``offset`` default to ones and
    zeros ``(n,)``. ``axes`` (populations only): the neuron axis of ``X``, ``y``, ``sample_weight``,
    ``offset`` and the feature mask, ``None`` where shared by all neurons. ``traced``: whether
    any input (or the model) is a tracer, so value checks must live in the graph.
    ``x_nan``: the rows of ``X`` that hold a NaN (`glmx._design.nan_rows`), found before the
    program, those rows zeroed in ``X``; ``None`` when ``X`` is traced, so the program finds
    and zeroes them itself (an ``X``-sized buffer more)."""

    X: Any
    y: Real[Array, " n *_"]
    sample_weight: Real[Array, " n *_"]
    offset: Real[Array, " n *_"]
    feature_mask: Any
    dtype: Any = eqx.field(static=True)
    axes: tuple | None = eqx.field(static=True)
    traced: bool = eqx.field(static=True)
    x_nan: Bool[Array, "*_ n"] | None = None

    @property
    def n_features(self) -> int:
        return n_features(self.X)


class Rows(eqx.Module):
    """One neuron's data as its computation sees it (batched over neurons before the map):
    ``X`` with rows holding a NaN zeroed, ``missing`` (the rows left out, by the one rule),
    weights and offset filled in (1 and 0 by default), the feature mask as 0/1 floats. Before
    the map each field may carry a neuron axis (``*_``: see `rows_of`'s axes)."""

    X: Float[Array, "*_ n p"]
    y: Float[Array, " n *_"]
    missing: Bool[Array, " n *_"]
    sample_weight: Float[Array, " n *_"]
    offset: Float[Array, " n *_"]
    feature_mask: Float[Array, " p *_"] | None


def in_dtype(data: Data) -> Data:
    """``data`` with every input in its floating dtype (inside the compiled program; NumPy
    inputs arrive in it already, JAX arrays of another dtype are cast here)."""
    cast = lambda a: jnp.asarray(a, data.dtype)  # noqa: E731
    return Data(
        X=jax.tree.map(cast, data.X),
        y=cast(data.y),
        sample_weight=cast(data.sample_weight),
        offset=cast(data.offset),
        feature_mask=jax.tree.map(cast, data.feature_mask),
        dtype=data.dtype,
        axes=data.axes,
        traced=data.traced,
        x_nan=data.x_nan,
    )


def design_nan_rows(data: Data) -> Bool[Array, "*_ n"]:
    """The rows of the data's design holding a NaN, as `glmx._design.nan_rows` finds them
    (inside the compiled program)."""
    return nan_rows(data.X) if data.x_nan is None else data.x_nan


def rows_of(data: Data) -> tuple[Rows, Rows | None]:
    """The `Rows` of every neuron (inside the compiled program, from `in_dtype` data) and
    their neuron axes (a `Rows` of axes; ``None`` for a single model)."""
    X = ravel_design(data.X)
    x_nan = design_nan_rows(data)
    rows = Rows(
        X=X if data.x_nan is not None else jnp.where(x_nan[..., None], 0.0, X),
        y=data.y,
        missing=missing_rows(x_nan, data.y),
        sample_weight=data.sample_weight,
        offset=data.offset,
        feature_mask=_ravel_mask(data.feature_mask),
    )
    if data.axes is None:
        return rows, None
    x_axis, _, w_axis, o_axis, m_axis = data.axes
    field_axes = dict(
        X=x_axis, y=1, missing=1, sample_weight=w_axis, offset=o_axis, feature_mask=m_axis
    )
    # A Rows whose leaves are axes (an ``in_axes`` tree), built without Rows' type checks.
    axes = jax.tree_util.tree_map_with_path(lambda path, _: field_axes[path[0].name], rows)
    return rows, axes


def _ravel_mask(mask):
    """A ``(p, neurons)`` mask, or a dict of ``(p_k, neurons)`` blocks concatenated along the
    features in sorted-key order (as `ravel_design` does for ``X``)."""
    if isinstance(mask, dict):
        return jnp.concatenate([mask[k] for k in sorted(mask)], axis=0)
    return mask


#: Most memory for the per-neuron working arrays of one vmapped chunk (linear predictor,
#: mean, residuals, line-search trials: about ten arrays of n values per neuron).
WORKING_MEMORY_BYTES = 2 * 1024**3
#: Fewest neurons solved together (below this, the passes over a shared design cost more
#: than the memory they save).
MIN_NEURONS_PER_CHUNK = 8


def neuron_chunk_size(n: int, p: int, n_neurons: int, dtype, copies: int = 1) -> int:
    """How many neurons to solve at once: as many as keep their working arrays within half
    the size of one neuron's ``n x p`` design (at least `MIN_NEURONS_PER_CHUNK`, at most
    `WORKING_MEMORY_BYTES`). ``copies``: solves per neuron run together (e.g. folds).

    Measured on a population of 100 neurons sharing a 50,000 x 100 design: chunks of 8-10
    fit in 5.1-5.9 s against 6.9 s for all at once, since each chunk stops at its own
    slowest neuron, and need a tenth of the memory."""
    itemsize = jnp.dtype(dtype).itemsize
    per_neuron = 10 * n * itemsize * copies
    budget = max(n * p * itemsize // 2, MIN_NEURONS_PER_CHUNK * per_neuron)
    budget = min(budget, WORKING_MEMORY_BYTES)
    return max(1, min(n_neurons, budget // max(per_neuron, 1)))


def map_neurons(
    fn: Callable,
    glm: GLM | CategoricalGLM,
    data: Data,
    *extra,
    extra_axes: tuple | None = None,
    copies: int = 1,
):
    """``fn(glm, rows, *extra)`` for a single model; for a population, mapped over neurons
    (``glm``'s floating leaves and the rows along their neuron axes, ``extra`` along
    ``extra_axes``, default shared), all at once by ``vmap`` or, when the working arrays would
    exceed `WORKING_MEMORY_BYTES`, in chunks of neurons one after another (``copies``: how
    many solves ``fn`` runs together per neuron). Call inside a compiled program."""
    rows, row_axes = rows_of(data)
    if data.axes is None:
        return fn(glm, rows, *extra)
    args = (glm, rows, *extra)
    axes = (neuron_axis, row_axes, *(extra_axes or (None,) * len(extra)))
    n_neurons = data.y.shape[1]
    chunk = neuron_chunk_size(*rows.X.shape[-2:], n_neurons, data.dtype, copies)
    if chunk >= n_neurons:
        return eqx.filter_vmap(fn, in_axes=axes)(*args)
    # Too many neurons to hold their working arrays at once: equal chunks one after another
    # (lax.map vmaps over each), neuron axes first as lax.map expects. The last neuron is
    # repeated to fill the last chunk (one traced body, no remainder), its copies dropped.
    chunks = -(-n_neurons // chunk)
    chunk = -(-n_neurons // chunks)
    pad = chunks * chunk - n_neurons
    per_leaf = tuple(_leaf_axes(part, axis) for part, axis in zip(args, axes))

    def neurons_first(x, a):
        if a < 0:
            return None
        x = jnp.moveaxis(x, a, 0)
        x = jnp.concatenate([x, jnp.repeat(x[-1:], pad, axis=0)]) if pad else x
        return x.reshape(chunks, chunk, *x.shape[1:])

    mapped = jax.tree.map(neurons_first, args, per_leaf)
    shared = jax.tree.map(lambda x, a: x if a < 0 else None, args, per_leaf)

    def one_chunk(mapped_k):
        return eqx.filter_vmap(lambda m: fn(*eqx.combine(m, shared)))(mapped_k)

    out = jax.lax.map(one_chunk, mapped)
    return jax.tree.map(lambda x: x.reshape(chunks * chunk, *x.shape[2:])[:n_neurons], out)


def _leaf_axes(part, axis):
    """A tree like ``part`` holding each leaf's neuron axis, -1 for a shared leaf; ``axis`` is
    an ``in_axes`` entry: an int or ``None`` for the whole part, a function of the leaf, or a
    tree of ints and ``None`` matching ``part``."""
    if callable(axis):
        return jax.tree.map(lambda leaf: -1 if axis(leaf) is None else axis(leaf), part)
    return jax.tree.map(
        lambda a, sub: jax.tree.map(lambda _: -1 if a is None else a, sub),
        axis,
        part,
        is_leaf=lambda a: a is None,
    )


# --- on the host: dtype, transfer (structure checks: `glmx._structure`) ---------------------


def _common_dtype(arrays) -> np.dtype:
    """The floating type of the inputs, as JAX will hold it (float32 unless x64 is enabled)."""
    dtype = np.result_type(*[np.dtype(a.dtype) for a in arrays])
    if not np.issubdtype(dtype, np.floating):
        dtype = np.float64
    return jax.dtypes.canonicalize_dtype(dtype)


def _to_device(array, dtype):
    """NumPy inputs go to the device in ``dtype``; JAX arrays stay (cast in the program)."""
    return host_to_jax(array, dtype) if isinstance(array, np.ndarray) else array


@jax.jit
def _device_nan_rows(block):
    return nan_rows(block)


@jax.jit
def _zeroed(block, rows):
    return jnp.where(rows[..., None], jnp.zeros((), block.dtype), block)


def _design_to_device(named, dtype) -> tuple[dict, Any]:
    """The design's blocks on the device and the rows holding a NaN (zeroed in every block),
    so that the program needs no second ``X``-sized buffer to leave them out. NumPy blocks
    are read on the host (and adopted without a copy when they can be, `host_to_jax`);
    concrete JAX blocks by a small program. Traced blocks stay as they are: ``None``."""
    if is_traced([b for _, b in named]):
        return dict(named), None
    rows = None
    for _, b in named:
        found = host_nan_rows(b) if isinstance(b, np.ndarray) else np.asarray(_device_nan_rows(b))
        rows = found if rows is None else rows | found
    zero = rows if rows.any() else None
    blocks = {}
    for k, b in named:
        if isinstance(b, np.ndarray):
            blocks[k] = host_to_jax(b, dtype, zero)
        else:
            blocks[k] = b if zero is None else _zeroed(b, jax.device_put(zero))
    return blocks, jax.device_put(rows)


def glm_of(model) -> GLM:
    """The single-neuron `GLM` of a model (with a leading neuron axis for populations)."""
    return model.glm if isinstance(model, PopulationGLM) else model


def prepare(model, X, y, sample_weight=None, offset=None, *, strip_params=False):
    """Check a call's structure; return ``(glm, data)``: the model's `GLM` with flat
    coefficients and floating leaves in the data's dtype (strongly typed, so refits with new
    hyperparameter values share one compilation), and the `Data`.

    ``strip_params``: drop the model's coefficients (step-wise fitting keeps them in its state).
    """
    if not isinstance(model, GLM | PopulationGLM):
        raise TypeError(
            f"model must be a glmx.GLM or glmx.PopulationGLM, got {type(model).__name__}."
        )
    population = isinstance(model, PopulationGLM)
    n_neurons = model.n_neurons if population else None
    glm = without_params(glm_of(model)) if strip_params else glm_of(model)
    named = design_blocks(X)
    n, per_neuron = check_design(named, n_neurons)
    y = as_real_array(y, "y")
    check_y(y, n, n_neurons)
    w_axis = o_axis = None
    if sample_weight is not None:
        sample_weight = as_real_array(sample_weight, "sample_weight")
        w_axis = check_series("sample_weight", sample_weight, n, n_neurons)
    if offset is not None:
        offset = as_real_array(offset, "offset")
        o_axis = check_series("offset", offset, n, n_neurons)

    # Shapes as one neuron sees them, without touching per-neuron blocks.
    def proxy(block):
        return jax.ShapeDtypeStruct(block.shape[1:] if per_neuron else block.shape, block.dtype)

    proxies = {k: proxy(b) for k, b in named} if isinstance(X, dict) else proxy(named[0][1])
    template = neuron_shapes(glm) if population else glm
    if template.coef is not None:
        check_coef_matches(proxies, template.coef)
    template.regularizer.check_features(n_features(proxies))
    mask = model.feature_mask if population else None
    if mask is not None:
        check_mask(mask, proxies)

    extras = [a for a in (sample_weight, offset) if a is not None]
    dtype = _common_dtype([b for _, b in named] + [y] + extras)
    blocks, x_nan = _design_to_device(named, dtype)
    # Defaults made on the host (no device computation to compile): a call with weights and
    # one without share one compiled program.
    if sample_weight is None:
        sample_weight = np.ones(n, dtype)
    if offset is None:
        offset = np.zeros(n, dtype)
    data = Data(
        X=blocks if isinstance(X, dict) else blocks["X"],
        y=_to_device(y, dtype),
        sample_weight=_to_device(sample_weight, dtype),
        offset=_to_device(offset, dtype),
        feature_mask=mask,
        dtype=dtype,
        axes=(0 if per_neuron else None, 1, w_axis, o_axis, None if mask is None else 1)
        if population
        else None,
        traced=is_traced(blocks, y, sample_weight, offset, model),
        x_nan=x_nan,
    )
    if isinstance(glm.coef, dict):
        glm = eqx.tree_at(lambda m: m.coef, glm, ravel_coef(glm.coef))
    return cast_floating(glm, dtype), data


def restore(model, fitted: GLM, data: Data):
    """The caller's kind of model around ``fitted``, with dict coefficients if ``X`` was a
    dict. For a population, leaves shared by all neurons (group masks, integer structure) come
    back from the map over neurons stacked per neuron; they are taken once again."""
    keys = keys_of(data.X)
    if keys is not None:
        sizes = block_sizes(data.X)
        fitted = eqx.tree_at(lambda m: m.coef, fitted, unravel_coef(fitted.coef, keys, sizes))
    if isinstance(model, PopulationGLM):
        fitted = jax.tree.map(lambda x: x if neuron_axis(x) == 0 else x[0], fitted)
        return eqx.tree_at(lambda p: p.glm, model, fitted)
    return fitted
