"""pynapple at the edge: time series in, time series out.

A pynapple ``Tsd``/``TsdFrame`` is unwrapped into its values and its time (index and support);
results on those samples are wrapped back onto the same time. Anything that is not pynapple
passes through as it is. pynapple is imported only to wrap, so it stays optional.
"""

import numpy as np


def _is_pynapple(obj) -> bool:
    return type(obj).__module__.split(".")[0] == "pynapple"


def unwrap(obj):
    """``(array, time)``: the values of a pynapple Tsd/TsdFrame and their time index and
    support (``None`` for anything else, which is returned as it is)."""
    if _is_pynapple(obj):
        return np.asarray(obj.values), (np.asarray(obj.t), obj.time_support)
    return obj, None


def wrap(values, time):
    """``values`` as a pynapple Tsd (1-D) or TsdFrame (2-D) on ``time``, or as NumPy."""
    values = np.asarray(values)
    if time is None:
        return values
    import pynapple as nap

    t, support = time
    if values.ndim == 1:
        return nap.Tsd(t=t, d=values, time_support=support)
    return nap.TsdFrame(t=t, d=values, time_support=support)


def check_same_time(x_time, y_time) -> None:
    """Raise if X and y are both pynapple objects on different time indices."""
    if x_time is None or y_time is None:
        return
    if x_time[0].shape != y_time[0].shape or not np.array_equal(x_time[0], y_time[0]):
        raise ValueError(
            f"X and y are pynapple objects on different time indices ({x_time[0].shape[0]} and "
            f"{y_time[0].shape[0]} samples); restrict them to one IntervalSet and bin them "
            "alike (e.g. y = y.restrict(X.time_support))."
        )
