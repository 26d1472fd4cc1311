"""Printing glmx modules with their values.

Equinox prints every array as its dtype and shape (``Ridge(strength=weak_f32[])``), which hides
what a user printing a model or a fit result wants to read: the strength, the coefficients, the
number of steps. `ValueRepr` prints small concrete arrays by value and keeps the short form for
large arrays and for tracers (inside ``jit`` or ``vmap``).
"""

import dataclasses

import equinox as eqx
import jax
import numpy as np

_MAX_VALUES = 8
_WIDTH = 88


def _array(x) -> str:
    if isinstance(x, jax.core.Tracer) or np.size(x) > _MAX_VALUES:
        dtype = np.dtype(x.dtype)
        short = {"f": "f", "i": "i", "u": "u", "b": "bool", "c": "c"}[dtype.kind]
        bits = "" if short == "bool" else str(dtype.itemsize * 8)
        return f"{short}{bits}[{','.join(map(str, np.shape(x)))}]"
    return _nested(np.asarray(x).tolist())


def _nested(value) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_nested(v) for v in value) + "]"
    return _scalar(value)


def _scalar(v) -> str:
    if not isinstance(v, float):
        return repr(v)
    text = f"{v:.6g}"
    return text if any(c in text for c in ".einf") else text + ".0"


def _format(obj, indent: int) -> str:
    if isinstance(obj, jax.Array | np.ndarray):
        return _array(obj)
    if isinstance(obj, ValueRepr):
        fields = [
            (f.name, getattr(obj, f.name))
            for f in dataclasses.fields(obj)
            if f.repr and f.name in vars(obj)
        ]
        name = type(obj).__name__
        items = [f"{key}={_format(value, indent + 2)}" for key, value in fields]
        one_line = f"{name}({', '.join(items)})"
        if len(one_line) + indent <= _WIDTH and "\n" not in one_line:
            return one_line
        pad = " " * (indent + 2)
        return f"{name}(\n" + ",\n".join(pad + item for item in items) + "\n" + " " * indent + ")"
    if type(obj) in (tuple, list):  # not named tuples, which print themselves
        items = [_format(item, indent + 2) for item in obj]
        body = ", ".join(items) + ("," if isinstance(obj, tuple) and len(items) == 1 else "")
        return ("({})" if isinstance(obj, tuple) else "[{}]").format(body)
    if isinstance(obj, dict):
        return "{" + ", ".join(f"{k!r}: {_format(v, indent + 2)}" for k, v in obj.items()) + "}"
    if isinstance(obj, eqx.Module):
        lines = eqx.tree_pformat(obj, indent=2).split("\n")
        return "\n".join(lines[:1] + [" " * indent + line for line in lines[1:]])
    return repr(obj)


class ValueRepr(eqx.Module):
    """Mixin: ``repr`` shows small arrays by value (see the module's docstring)."""

    def __repr__(self) -> str:
        return _format(self, 0)
