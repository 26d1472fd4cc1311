"""Array conventions shared by the modules: hyperparameter leaves, input conversion, host
transfer, dtype casts and the traced/concrete distinction."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array


def as_float_leaf(x) -> Array:
    """A hyperparameter as a floating array leaf (integers become the default float), so that
    ``Ridge(1)`` and ``Ridge(1.0)`` are the same structure to JAX."""
    x = jnp.asarray(x)
    return x if jnp.issubdtype(x.dtype, jnp.inexact) else x.astype(float)


def as_real_array(value, name: str):
    """``value`` as a NumPy or JAX array of real numbers (integers, floats or booleans); a
    ``TypeError`` naming ``name`` otherwise. JAX arrays (and tracers) are kept as they are."""
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


def is_traced(*trees) -> bool:
    """Whether any leaf of ``trees`` is a tracer (the caller's ``jit``, ``vmap`` or ``grad``)."""
    return any(isinstance(x, jax.core.Tracer) for t in trees for x in jax.tree.leaves(t))


#: XLA's CPU client takes a NumPy buffer without copying when it is aligned to this many bytes.
_ALIGNMENT = 64


def host_to_jax(array: np.ndarray, dtype, zero_rows: np.ndarray | None = None) -> jax.Array:
    """``array`` as a JAX array of ``dtype``; ``zero_rows`` (boolean, ``array.shape[:-1]``):
    rows to hold zeros instead of their values.

    On the CPU, a C-contiguous array already in ``dtype`` whose buffer is 64-byte aligned is
    adopted as it is, without a copy (no rows to zero): the fits that take it wait for their
    program before returning, so no later change of the caller's array can reach it. Any other
    array is copied by NumPy into a private aligned buffer, which the CPU client adopts:
    ``jnp.asarray`` on a large NumPy array copies at a fraction of memory bandwidth (about
    170 ms for 160 MB here, against about 40 ms). On other backends this is an ordinary
    transfer.
    """
    dtype = np.dtype(dtype)
    if (
        zero_rows is None
        and array.dtype == dtype
        and array.flags.c_contiguous
        and array.ctypes.data % _ALIGNMENT == 0
    ):
        return jax.device_put(array)
    raw = np.empty(array.size * dtype.itemsize + _ALIGNMENT, np.uint8)
    start = -raw.ctypes.data % _ALIGNMENT
    out = raw[start : start + array.size * dtype.itemsize].view(dtype).reshape(array.shape)
    np.copyto(out, array, casting="unsafe")
    if zero_rows is not None:
        out[zero_rows] = 0
    return jax.device_put(out)


#: Elements read at a time by `host_nan_rows` (its temporaries stay this small).
_CHUNK_ELEMENTS = 1 << 20


def host_nan_rows(array: np.ndarray) -> np.ndarray:
    """Which rows of a NumPy array (its last axis reduced) hold a NaN: a boolean array of
    shape ``array.shape[:-1]``, found a chunk of rows at a time, without an array-sized
    temporary."""
    out = np.zeros(array.shape[:-1], bool)
    if not np.issubdtype(array.dtype, np.floating) or array.size == 0:
        return out
    step = max(1, _CHUNK_ELEMENTS // array.shape[-1])
    for lead in np.ndindex(array.shape[:-2]):
        rows, flags = array[lead], out[lead]
        for start in range(0, rows.shape[0], step):
            np.any(np.isnan(rows[start : start + step]), axis=-1, out=flags[start : start + step])
    return out


def cast_floating(tree, dtype):
    """Every floating array leaf of ``tree`` in ``dtype`` and strongly typed, so that
    ``Ridge(0.1)`` and ``Ridge(np.float64(0.2))`` are the same input to a compiled function."""
    return jax.tree.map(lambda x: jnp.asarray(x, dtype) if eqx.is_inexact_array(x) else x, tree)


def strongly_typed(tree):
    """Every array leaf strongly typed in its own dtype, so that a state fed back into a
    compiled step never retraces it."""
    return jax.tree.map(lambda x: jnp.asarray(x, x.dtype) if eqx.is_array(x) else x, tree)
