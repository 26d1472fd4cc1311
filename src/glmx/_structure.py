"""Host-side structure checks of a call's inputs (shapes, dimensions, keys), before any work:
one sentence per problem, naming the argument, what was expected and what was given."""

from ._arrays import as_real_array


def label(name: str) -> str:
    """How messages name a design block: ``X``, or ``X['key']`` for a dict design."""
    return name if name == "X" else f"X[{name!r}]"


def design_blocks(X) -> list:
    """``(name, block)`` pairs of the caller's design, each a real array."""
    if isinstance(X, dict):
        if not X:
            raise ValueError("X is an empty dict; give at least one block of features.")
        for k in X:
            if not isinstance(k, str):
                raise TypeError(f"X's dict keys must be strings, got {k!r}.")
        return [(k, as_real_array(X[k], f"X[{k!r}]")) for k in X]
    return [("X", as_real_array(X, "X"))]


def check_design(named, n_neurons) -> tuple[int, bool]:
    """The number of rows and whether the design is per neuron, after checking every block's
    dimensions, neuron count and rows."""
    population = n_neurons is not None
    allowed = (2, 3) if population else (2,)
    for name, block in named:
        if block.ndim not in allowed:
            expected = "2-dimensional (n_samples, n_features)"
            if population:
                expected += " or 3-dimensional (neurons, n_samples, n_features)"
            raise ValueError(f"{label(name)} must be {expected}, got shape {block.shape}.")
    first_name, first = named[0]
    per_neuron = first.ndim == 3
    for name, block in named:
        if block.ndim != first.ndim:
            raise ValueError(
                f"{label(name)} has {block.ndim} dimensions but {label(first_name)} has "
                f"{first.ndim}; give every block per neuron or none."
            )
        if per_neuron and block.shape[0] != n_neurons:
            raise ValueError(
                f"{label(name)} has {block.shape[0]} neurons along its first axis but the "
                f"population has {n_neurons}; they must match."
            )
    n = first.shape[-2]
    for name, block in named[1:]:
        if block.shape[-2] != n:
            raise ValueError(
                f"{label(name)} has {block.shape[-2]} rows but {label(first_name)} has {n}; "
                "every block must have the same rows."
            )
    if n == 0:
        raise ValueError("X has 0 rows; fitting needs at least one sample.")
    return n, per_neuron


def check_rows(name: str, array, n: int) -> None:
    if array.ndim != 1:
        raise ValueError(f"{name} must be 1-dimensional (n_samples,), got shape {array.shape}.")
    if array.shape[0] != n:
        raise ValueError(f"{name} has {array.shape[0]} rows but X has {n}; they must match.")


def check_series(name, array, n, n_neurons):
    """``(n,)``, or for populations also ``(n, neurons)``; returns the neuron axis."""
    if n_neurons is None or array.ndim == 1:
        check_rows(name, array, n)
        return None
    if array.shape != (n, n_neurons):
        raise ValueError(
            f"{name} must have shape ({n},) or ({n}, {n_neurons}) (samples, neurons), got "
            f"shape {array.shape}."
        )
    return 1


def check_y(y, n, n_neurons) -> None:
    if n_neurons is None:
        check_rows("y", y, n)
        return
    if y.ndim != 2 or y.shape[1] != n_neurons:
        raise ValueError(
            f"y must be 2-dimensional (n_samples, neurons) with {n_neurons} neurons, got "
            f"shape {y.shape}."
        )
    if y.shape[0] != n:
        raise ValueError(f"y has {y.shape[0]} rows but X has {n}; they must match.")


def check_mask(mask, proxies) -> None:
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
