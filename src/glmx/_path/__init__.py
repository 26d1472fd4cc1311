"""Regularization paths, cross-validation and gradient-tuned strengths (`fit_path`,
`cross_validate`, `tune_strength`): records in `_records`, the compiled program in `_program`,
the entry points in `_api`, the gradient tuner in `_tune`."""

from ._api import SCORES as SCORES, cross_validate as cross_validate, fit_path as fit_path
from ._records import CrossValidation as CrossValidation, Path as Path, pick_point as pick_point
from ._tune import Tuning as Tuning, tune_strength as tune_strength
