"""The scikit-learn adapter behind `glmx.sklearn`: the estimators (`_estimators`; the classifier
in `_classifier`), their options by name (`_options`), input checks (`_inputs`) and files
(`_files`). It holds no maths: every estimator method converts its inputs and calls the core."""

from ._classifier import ClassifierGLM as ClassifierGLM
from ._cv import GLMCV as GLMCV, PopulationGLMCV as PopulationGLMCV
from ._estimators import GLM as GLM, PopulationGLM as PopulationGLM
from ._load import load_model as load_model
