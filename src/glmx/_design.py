"""Designs as arrays or dicts of arrays, and the coefficients that mirror them.

A dict design ``{"stim": (n, 10), "hist": (n, 8)}`` is the same model as the array formed by
concatenating its blocks in sorted-key order; the fit works on that flat form and hands the
coefficients back as a dict. These helpers do that mapping and the structural checks on it.
"""

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Bool, Float, Real


def shape_of(a) -> tuple[int, ...]:
    """The shape of an array, array-like or ``jax.ShapeDtypeStruct``."""
    return tuple(a.shape) if isinstance(a, jax.ShapeDtypeStruct) else np.shape(a)


def keys_of(tree) -> tuple[str, ...] | None:
    """The sorted keys of a dict design or coefficient, or ``None`` for an array."""
    return tuple(sorted(tree)) if isinstance(tree, dict) else None


def block_sizes(X) -> tuple[int, ...]:
    """Feature counts per block of a dict design, in sorted-key order."""
    return tuple(int(shape_of(X[k])[-1]) for k in sorted(X))


def n_features(X) -> int:
    return sum(block_sizes(X)) if isinstance(X, dict) else int(shape_of(X)[-1])


def ravel_design(X) -> Float[Array, "*neurons n p"]:
    """The ``(n, p)`` (or per-neuron ``(neurons, n, p)``) matrix of a design: dict blocks are
    concatenated along the feature axis in sorted-key order."""
    if isinstance(X, dict):
        return jnp.concatenate([jnp.asarray(X[k]) for k in sorted(X)], axis=-1)
    return jnp.asarray(X)


def ravel_coef(coef) -> Float[Array, "*batch p"]:
    """Coefficients as one array along the last axis (dict blocks in sorted-key order)."""
    if isinstance(coef, dict):
        return jnp.concatenate([jnp.asarray(coef[k]) for k in sorted(coef)], axis=-1)
    return jnp.asarray(coef)


def unravel_coef(flat, keys, sizes):
    """Inverse of `ravel_coef` for a design with ``keys`` and block ``sizes``."""
    if keys is None:
        return flat
    bounds = np.cumsum((0,) + tuple(sizes))
    return {k: flat[..., bounds[i] : bounds[i + 1]] for i, k in enumerate(keys)}


def check_coef_matches(X, coef, name: str = "X") -> None:
    """Raise if a design and coefficients disagree in structure or feature counts."""
    x_keys, c_keys = keys_of(X), keys_of(coef)
    if x_keys != c_keys:
        if x_keys is None or c_keys is None:
            kinds = ("a dict" if x_keys else "an array", "a dict" if c_keys else "an array")
            raise TypeError(
                f"{name} is {kinds[0]} but the model's coefficients are {kinds[1]}; give the "
                "design in the form the model was fitted with."
            )
        raise ValueError(
            f"{name} has keys {list(x_keys)} but the model's coefficients have keys "
            f"{list(c_keys)}; they must match."
        )
    pairs = [(k, X[k], coef[k]) for k in x_keys] if x_keys else [(None, X, coef)]
    for key, block, c in pairs:
        where = name if key is None else f"{name}[{key!r}]"
        if len(shape_of(block)) != 2:
            raise ValueError(
                f"{where} must be 2-dimensional (n_samples, n_features), got shape "
                f"{shape_of(block)}."
            )
        if shape_of(block)[1] != shape_of(c)[-1]:
            raise ValueError(
                f"{where} has {shape_of(block)[1]} features but the model has "
                f"{shape_of(c)[-1]} coefficients for it; they must match."
            )


def linear_predictor(X, coef, intercept, offset=None) -> Float[Array, " n"]:
    """``eta = X @ coef + intercept (+ offset)`` for an array design ``(n, p)`` with ``coef``
    ``(p,)``, or a dict design with dict coefficients: the one place glmx forms it."""
    if isinstance(X, dict):
        eta = sum(jnp.asarray(X[k]) @ coef[k] for k in sorted(X)) + intercept
    else:
        eta = jnp.asarray(X) @ coef + intercept
    return eta if offset is None else eta + jnp.asarray(offset)


def nan_rows(X) -> Bool[Array, "*neurons n"]:
    """The rows of a design that hold a NaN in any block: ``(n,)`` for a shared design
    ``(n, p)``, ``(neurons, n)`` for a per-neuron one ``(neurons, n, p)``."""
    blocks = [X[k] for k in sorted(X)] if isinstance(X, dict) else [X]
    rows = [jnp.any(jnp.isnan(jnp.asarray(b)), axis=-1) for b in blocks]
    return rows[0] if len(rows) == 1 else jnp.any(jnp.stack(rows), axis=0)


def missing_rows(x_nan: Bool[Array, "*_ n"], y: Real[Array, " n *_"]) -> Bool[Array, " n *_"]:
    """Where an observation is left out: NaN in ``y`` or anywhere in its row of ``X``
    (``x_nan`` from `nan_rows`). The one missing-row rule of glmx, used by fits, checks,
    scores and inference alike; the result has the shape of ``y`` (``(n,)`` or ``(n,
    neurons)``)."""
    if x_nan.ndim == 2:  # per-neuron design (neurons, n) against y (n, neurons)
        x_nan = x_nan.T
    elif jnp.ndim(y) == 2:
        x_nan = x_nan[:, None]
    return x_nan | jnp.isnan(y)
