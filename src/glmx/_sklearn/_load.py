"""`load_model`: an estimator (or a core model) from a file written by ``save_params`` (or
`glmx.save_model`)."""

from ._cv import GLMCV, PopulationGLMCV
from ._estimators import GLM, PopulationGLM
from ._files import SavedEstimator, read_estimator

ESTIMATORS = {cls.__name__: cls for cls in (GLM, PopulationGLM, GLMCV, PopulationGLMCV)}


def load_model(path, classes=()):
    """Load an estimator saved with ``save_params`` (or a core model saved with
    `glmx.save_model`). ``classes``: your own observation/regularizer classes, if the model
    uses any (nothing is imported or executed from the file)."""
    saved = read_estimator(path, classes)
    if not isinstance(saved, SavedEstimator):
        return saved
    if saved.name not in ESTIMATORS:
        raise ValueError(f"the file holds an unknown estimator {saved.name!r}.")
    estimator = ESTIMATORS[saved.name](**saved.params)
    if saved.model is not None:
        estimator._store(saved.model)
        for attribute, value in saved.attributes.items():
            if value is not None:
                setattr(estimator, attribute, value)
    return estimator
