"""Estimator files: ``save_params`` writes an estimator's parameters and, if it is fitted, its
core model and fitted attributes in glmx's model file format (`glmx._io`: arrays and a JSON
description, nothing executed on load); `read_estimator` reads them back. Building the
estimator from what was read is left to the estimators' module."""

from typing import NamedTuple

from .._io import allowed_classes, decode, decode_model, encode, read_file, write_file

# The fitted attributes saved besides the core model (the others are derived from the model).
ESTIMATOR_ATTRIBUTES = (
    "n_features_in_",
    "feature_blocks_",
    "dof_resid_",
    "n_excluded_",
    # the cross-validated estimators' choice (their `glmx.CrossValidation`, cv_, is not saved)
    "regularizer_strength_",
    "alpha_",
    "best_index_",
    "cv_results_",
)
LOADER = "glmx.sklearn.load_model"


class SavedEstimator(NamedTuple):
    """An estimator as a file holds it."""

    name: str  # the estimator's class name
    params: dict  # its get_params(deep=False)
    model: object  # the fitted core model; None if it was not fitted
    attributes: dict  # the ESTIMATOR_ATTRIBUTES it had (None for those it had not)


def save_estimator(path, estimator) -> None:
    """Save ``estimator`` (a glmx.sklearn estimator) to ``path``; see ``save_params``."""
    name = type(estimator).__name__
    arrays: dict = {}
    config = {
        "estimator": name,
        "contents": f"a glmx.sklearn {name} estimator",
        "loader": LOADER,
        "params": encode(estimator.get_params(deep=False), arrays),
        "fitted": None,
    }
    state = vars(estimator)
    if "model_" in state:
        config["fitted"] = {
            "model": encode(state["model_"], arrays),
            **{
                attribute: encode(state.get(attribute), arrays)
                for attribute in ESTIMATOR_ATTRIBUTES
            },
        }
    write_file(path, config, arrays)


def read_estimator(path, classes=()):
    """What the file at ``path`` holds: a `SavedEstimator`, or the core model of a file saved by
    `glmx.save_model`. ``classes``: the caller's own module classes that the file may name."""
    config, arrays = read_file(path)
    allowed = allowed_classes(classes)
    if "estimator" not in config:
        return decode_model(path, config, arrays, allowed)
    fitted = config["fitted"]
    if fitted is None:
        model, attributes = None, {}
    else:
        model = decode(fitted["model"], arrays, allowed)
        # Files written before an attribute was saved do not have it: None (not set on load).
        attributes = {
            attribute: decode(fitted[attribute], arrays, allowed) if attribute in fitted else None
            for attribute in ESTIMATOR_ATTRIBUTES
        }
    return SavedEstimator(
        config["estimator"], decode(config["params"], arrays, allowed), model, attributes
    )
