"""Cross-validation folds, made on the host: which rows each fold trains on and tests on.

A fold is a pair of ``(n,)`` boolean masks. The default is contiguous blocks, the right choice
for time series (neighbouring bins are correlated, so a shuffled fold leaks its test rows'
neighbours into training); ``gap`` drops from training the rows within ``gap`` rows of a test
row. Folds come as a number of blocks, as fold labels, or as the test sets themselves.
"""

import numpy as np


def _test_sets(folds, n: int, shuffle: bool, seed: int) -> list[np.ndarray]:
    """The ``(n,)`` boolean test mask of every fold."""
    if isinstance(folds, int | np.integer) and not isinstance(folds, bool):
        if not 2 <= folds <= n:
            raise ValueError(
                f"folds must be between 2 and the number of rows ({n}), got {int(folds)}."
            )
        labels = np.arange(n) * int(folds) // n  # contiguous blocks of (nearly) equal size
        if shuffle:
            labels = np.random.default_rng(seed).permutation(labels)
        return [labels == k for k in range(int(folds))]
    if shuffle:
        raise ValueError("shuffle applies to folds given as a number; shuffle your own labels.")
    if isinstance(folds, list | tuple) and folds and all(np.isscalar(f) for f in folds):
        folds = np.asarray(folds)  # labels given as a list
    if isinstance(folds, np.ndarray) and folds.ndim == 1 and folds.dtype.kind in "iu":
        if folds.shape[0] != n:
            raise ValueError(
                f"folds has {folds.shape[0]} labels but X has {n} rows; give one per row."
            )
        names = np.unique(folds[folds >= 0])
        if names.size < 2:
            raise ValueError(
                f"folds must name at least 2 folds (labels >= 0), got {names.tolist()}."
            )
        return [folds == k for k in names]
    if isinstance(folds, list | tuple):
        return [_one_test_set(t, n, k) for k, t in enumerate(folds)]
    raise TypeError(
        "folds must be a number of contiguous blocks, an (n,) array of integer fold labels, or "
        f"a list of test sets (index arrays or boolean masks), got {type(folds).__name__}."
    )


def _one_test_set(test, n: int, k: int) -> np.ndarray:
    test = np.asarray(test)
    if test.size == 0:
        return np.zeros(n, bool)
    if test.dtype == bool:
        if test.shape != (n,):
            raise ValueError(
                f"folds[{k}] is a boolean mask of shape {test.shape}; it must have one entry "
                f"per row, ({n},)."
            )
        return test
    if test.ndim != 1 or test.dtype.kind not in "iu":
        raise ValueError(f"folds[{k}] must be an index array or a boolean mask, got {test!r:.60}.")
    if test.min() < -n or test.max() >= n:
        raise ValueError(f"folds[{k}] holds row {test.max()} but X has {n} rows.")
    mask = np.zeros(n, bool)
    mask[test] = True
    return mask


def _near(test: np.ndarray, gap: int) -> np.ndarray:
    """Rows within ``gap`` rows of a test row (the test rows included)."""
    if gap == 0:
        return test
    counts = np.concatenate([[0], np.cumsum(test)])
    index = np.arange(test.shape[0])
    low, high = np.maximum(index - gap, 0), np.minimum(index + gap + 1, test.shape[0])
    return counts[high] - counts[low] > 0


def make_folds(folds, n: int, gap: int = 0, shuffle: bool = False, seed: int = 0):
    """``(train, test)``: ``(K, n)`` boolean masks, one row per fold.

    **Raises:** ``ValueError`` for fewer than 2 folds, labels of the wrong length, a fold with
    no test rows or (after the gap) no training rows, or a negative ``gap``.
    """
    if not isinstance(gap, int | np.integer) or isinstance(gap, bool) or gap < 0:
        raise ValueError(f"gap must be a non-negative number of rows, got {gap!r}.")
    tests = _test_sets(folds, n, shuffle, seed)
    if len(tests) < 2:
        raise ValueError(f"folds must hold at least 2 test sets, got {len(tests)}.")
    test = np.stack(tests)
    train = ~np.stack([_near(t, int(gap)) for t in tests])
    for k in range(test.shape[0]):
        if not test[k].any():
            raise ValueError(f"fold {k} has an empty test set; every fold needs test rows.")
        if not train[k].any():
            raise ValueError(
                f"fold {k} leaves no rows to train on (gap={gap}); use more folds or a smaller gap."
            )
    return train, test
