"""Regularizers: penalties on the coefficients (never on the intercept) and their proxes.

Strengths are array leaves (a scalar, or one per feature; one per group for `GroupLasso` and
`Smoothness`), so a new value never recompiles a fit, and they can be vmapped and
differentiated. Scaling follows scikit-learn and NeMoS: the objective is the mean negative
log-likelihood plus

- `Ridge`:      ``0.5 * lam * ||w||^2``
- `Lasso`:      ``lam * ||w||_1``
- `ElasticNet`: ``lam * (r * ||w||_1 + 0.5 * (1 - r) * ||w||^2)``
- `GroupLasso`: ``lam * sum_g sqrt(|g|) * ||w_g||_2``
- `Smoothness`: ``0.5 * sum_g lam_g * ||D w_g||^2`` (``D``: differences of order 1 or 2)

The penalties are in `_penalties`, the smoothness penalty for basis filters in `_smoothness`.
"""

from ._penalties import (
    SMOOTH_PATH_RATIO as SMOOTH_PATH_RATIO,
    AbstractRegularizer as AbstractRegularizer,
    ElasticNet as ElasticNet,
    GroupLasso as GroupLasso,
    Lasso as Lasso,
    Ridge as Ridge,
    UnRegularized as UnRegularized,
)
from ._smoothness import Smoothness as Smoothness
