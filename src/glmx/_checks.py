"""The value checks on a fit's inputs: one list of rules, enforced three ways.

Structure (shapes, dtypes, keys) is checked in Python by `glmx._data` before anything runs.
Values are checked by two lists of rules: `value_problems` (non-finite entries, ``y`` outside
the family's support, negative weights or strengths) and `_coverage_problems` (some rows are
left to fit, with positive weight). Both are enforced:

- on concrete inputs, inside the call's own compiled program (`run_checked`): `value_flags`
  says which rules fail (one scan of the data, shared with the work), the program skips the
  work if any does, and the caller raises `raise_first_problem`'s message, which names the
  argument, the rule and the first offending entry;
- on traced inputs (the caller's ``jit``/``vmap``/``grad``), with ``eqx.error_if`` in the
  graph (`with_checks`), so bad values never pass silently there either.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ._data import Data, design_nan_rows, in_dtype
from ._design import missing_rows


def _blocks(X) -> list:
    """``(label, block)`` pairs of a design, as messages name them."""
    if isinstance(X, dict):
        return [(f"X[{k!r}]", X[k]) for k in sorted(X)]
    return [("X", X)]


def value_problems(glm, X, y, sample_weight, offset, x_nan) -> list:
    """Every value rule, as ``(label, bad, message, values)``: ``bad`` marks offending entries
    of ``values`` (named ``label`` in messages; ``None`` for a hyperparameter). ``X`` is an
    array or dict design, ``x_nan`` its rows holding a NaN (`glmx._data.design_nan_rows`)."""
    observation, regularizer = glm.observation, glm.regularizer
    keep = ~missing_rows(x_nan, y)
    problems = [
        (label, jnp.isinf(block), f"{label} must be finite (NaN marks a missing row)", block)
        for label, block in _blocks(X)
    ]
    support = keep & ~observation.in_support(jnp.where(keep, y, 1.0))
    problems.append(("y", jnp.isinf(y), "y must be finite (NaN marks a missing row)", y))
    w = sample_weight
    problems.append(("sample_weight", ~jnp.isfinite(w), "sample_weight must be finite", w))
    problems.append(("sample_weight", w < 0, "sample_weight must be non-negative", w))
    problems.append(("offset", ~jnp.isfinite(offset), "offset must be finite", offset))
    problems.append(
        ("y", support, f"y must hold {observation.support} for {type(observation).__name__}", y)
    )
    problems += [
        (None, bad, message, value)
        for bad, message, value in regularizer.value_checks() + observation.value_checks()
    ]
    return problems


def _coverage(x_nan, y, sample_weight) -> tuple:
    """Whether every observation is missing, and whether none left has a positive weight. Over
    all neurons of a population: a neuron without data is reported as failed by its status
    while the others are fitted (docs/populations.md)."""
    missing = missing_rows(x_nan, y)
    w = sample_weight[:, None] if missing.ndim == 2 and sample_weight.ndim == 1 else sample_weight
    return jnp.all(missing), ~jnp.any(~missing & (w > 0))


_ALL_MISSING = "every row has a NaN in X or y; nothing is left to fit."
_NO_WEIGHT = "sample_weight is zero on every row without NaN; nothing is left to fit."


def _coverage_problems(x_nan, y, sample_weight) -> list:
    """The two rows-left-to-fit rules as ``(bad, message)``."""
    all_missing, no_weight = _coverage(x_nan, y, sample_weight)
    return [(all_missing, _ALL_MISSING), (no_weight, _NO_WEIGHT)]


def value_flags(glm, X, y, sample_weight, offset, x_nan):
    """One boolean per rule of `value_problems`, then the two coverage rules: which fail."""
    problems = value_problems(glm, X, y, sample_weight, offset, x_nan)
    flags = [jnp.any(bad) for _, bad, _, _ in problems]
    flags += [jnp.any(bad) for bad, _ in _coverage_problems(x_nan, y, sample_weight)]
    return jnp.stack(flags)


def raise_first_problem(glm, X, y, sample_weight, offset, x_nan) -> None:
    """Raise the message of the first failing rule, naming the first offending entry. Runs
    eagerly, on the error path only."""
    for label, bad, message, values in value_problems(glm, X, y, sample_weight, offset, x_nan):
        if not bool(jnp.any(bad)):
            continue
        if label is None:  # a hyperparameter
            raise ValueError(f"{message}; got {_show(values)}.")
        bad, values = np.asarray(bad), np.asarray(values)
        first = tuple(np.argwhere(bad)[0])
        where = "[" + ", ".join(str(int(i)) for i in first) + "]"
        raise ValueError(f"{message}, but {label}{where} is {values[first]}.")
    for bad, message in _coverage_problems(x_nan, y, sample_weight):
        if bool(jnp.any(bad)):
            raise ValueError(message)


def _show(value) -> str:
    value = np.asarray(value)
    if np.issubdtype(value.dtype, np.integer):
        value = value[value >= 0]  # index lists are padded with -1
    return str(value.tolist() if value.size <= 8 else value)


def with_checks(glm, X, y, sample_weight, offset, x_nan):
    """``y`` carrying every value rule as ``eqx.error_if``, for traced inputs."""
    for _, bad, message, _ in value_problems(glm, X, y, sample_weight, offset, x_nan):
        y = eqx.error_if(y, jnp.any(bad), message + ".")
    for bad, message in _coverage_problems(x_nan, y, sample_weight):
        y = eqx.error_if(y, bad, message)
    return y


def _inputs(data: Data) -> tuple:
    """The arguments of the rules (`value_problems`), from `in_dtype` data."""
    return data.X, data.y, data.sample_weight, data.offset, design_nan_rows(data)


@eqx.filter_jit
def _checked_program(work, glm, data: Data, args: tuple):
    data = in_dtype(data)
    inputs = _inputs(data)
    if data.traced:
        data = eqx.tree_at(lambda d: d.y, data, with_checks(glm, *inputs))
        return work(glm, data, *args), None
    flags = value_flags(glm, *inputs)
    # Compiled as one inner program, so that its shapes (which the skipping branch needs) and
    # its body come from a single trace.
    inner = eqx.filter_jit(work)
    shapes = eqx.filter_eval_shape(inner, glm, data, *args)
    dynamic_shapes, static = eqx.partition(shapes, lambda x: isinstance(x, jax.ShapeDtypeStruct))

    def skip(_):
        return jax.tree.map(lambda s: jnp.zeros(s.shape, s.dtype), dynamic_shapes)

    def run(_):
        return eqx.filter(inner(glm, data, *args), eqx.is_array)

    dynamic = jax.lax.cond(jnp.any(flags), skip, run, None)
    return eqx.combine(dynamic, static), flags


def run_checked(work, glm, data: Data, *args):
    """``work(glm, data, *args)`` and the value checks, compiled together into one program
    (once per shapes, dtypes and static arguments; ``work`` must be a module-level function).

    Traced inputs carry the checks as ``eqx.error_if``. For concrete ones the program skips
    the work when a check fails, and this raises the first failing rule's message (a
    ``ValueError`` naming the argument and the first offending entry)."""
    out, flags = _checked_program(work, glm, data, args)
    if flags is not None and bool(np.any(np.asarray(flags))):
        raise_first_problem(glm, *_inputs(in_dtype(data)))
        # Never return the skipped work's placeholder, even if the failing rule was not found.
        raise ValueError("the inputs failed a value check (non-finite or out-of-range values).")
    return out
