"""Regularization paths and cross-validation (`fit_path`, `cross_validate`): records in
`_records`, the compiled program in `_program`, the entry points in `_api`."""

from ._api import cross_validate as cross_validate, fit_path as fit_path
from ._records import CrossValidation as CrossValidation, Path as Path
