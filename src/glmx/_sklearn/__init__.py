"""The scikit-learn adapter behind `glmx.sklearn`: the estimators (`_estimators`), their
options by name (`_options`), input checks (`_inputs`) and files (`_files`). It holds no maths:
every estimator method converts its inputs and calls the core."""

from ._estimators import GLM as GLM
from ._estimators import PopulationGLM as PopulationGLM
from ._estimators import load_model as load_model
