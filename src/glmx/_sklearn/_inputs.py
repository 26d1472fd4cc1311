"""The estimators' input checks, in scikit-learn's manner (`validate_data` on the estimator):
arrays, dicts of blocks and pynapple objects in; validated NumPy designs and targets out,
with ``n_features_in_`` and ``feature_blocks_`` set on the estimator when fitting.

NaN is let through in ``X`` and ``y`` (the core leaves those rows out, by its one rule);
infinities are refused here, with scikit-learn's message naming ``X`` (or the block) or ``y``.
"""

import numpy as np
from scipy.sparse import issparse
from sklearn.utils.validation import (
    check_array,
    check_consistent_length,
    column_or_1d,
    validate_data,
)

from .._pynapple import check_same_time, unwrap

FLOATS = (np.float64, np.float32)


def is_design_dict(X) -> bool:
    """A dict of blocks (not a scipy ``dok`` sparse matrix, which is a dict too)."""
    return isinstance(X, dict) and not issparse(X)


def check_X(estimator, X, reset: bool):
    """``(X, time)``: a validated design (array or dict of arrays) and its pynapple time.

    ``reset``: record the design's shape on ``estimator`` (when fitting); otherwise check it.
    """
    X, time = unwrap(X)
    if is_design_dict(X):
        if not X:
            raise ValueError("X is an empty dict; give at least one block of features.")
        blocks = {
            k: check_array(
                unwrap(v)[0], ensure_all_finite="allow-nan", dtype=FLOATS, input_name=f"X[{k!r}]"
            )
            for k, v in X.items()
        }
        sizes = {k: v.shape[1] for k, v in blocks.items()}
        if reset:
            estimator.n_features_in_ = sum(sizes.values())
            estimator.feature_blocks_ = sizes
        elif estimator.feature_blocks_ != sizes:
            raise ValueError(
                f"X has blocks {sizes} but {type(estimator).__name__} was fitted with "
                f"{estimator.feature_blocks_ or 'an array'}."
            )
        return blocks, time
    X = validate_data(estimator, X, reset=reset, ensure_all_finite="allow-nan", dtype=FLOATS)
    if reset:
        estimator.feature_blocks_ = None
    return X, time


def _check_y(estimator, y, multi_output: bool):
    """``y`` as floats, NaN allowed (scikit-learn's own ``check_X_y`` refuses NaN in ``y``);
    ``(n,)`` unless ``multi_output`` (a column vector is raveled with scikit-learn's warning)."""
    y = check_array(
        y,
        ensure_2d=False,
        ensure_all_finite="allow-nan",
        dtype=FLOATS,
        input_name="y",
        estimator=estimator,
    )
    return y if multi_output else column_or_1d(y, warn=True)


def check_Xy(estimator, X, y, reset: bool, multi_output: bool):
    """``(X, y)`` validated (see `check_X`); ``y`` is ``(n, neurons)`` if ``multi_output``.
    NaN may be anywhere in both: those rows are left out by the core."""
    X, x_time = unwrap(X)
    y, y_time = unwrap(y)
    check_same_time(x_time, y_time)
    if y is None:
        raise ValueError(
            f"{type(estimator).__name__} requires y to be passed, but the target y is None."
        )
    X, _ = check_X(estimator, X, reset)
    y = _check_y(estimator, y, multi_output)
    if not is_design_dict(X):
        check_consistent_length(X, y)
    if multi_output and y.ndim == 1:
        raise ValueError(
            f"y must be 2-dimensional (n_samples, neurons) for PopulationGLM, got shape "
            f"{y.shape}; for one neuron use glmx.sklearn.GLM."
        )
    return X, y


def check_sample_weight(sample_weight):
    """``sample_weight`` (an array or pynapple Tsd) as a validated 1-D float array, or None."""
    if sample_weight is None:
        return None
    return check_array(
        unwrap(sample_weight)[0], ensure_2d=False, dtype=FLOATS, input_name="sample_weight"
    )
