"""scikit-learn estimators for glmx: ``GLM`` and ``PopulationGLM`` with the seed's (NeMoS's) API.

Requires scikit-learn (``pip install "glmx[sklearn]"``).
"""

from ._sklearn import GLM as GLM
from ._sklearn import PopulationGLM as PopulationGLM
from ._sklearn import load_model as load_model
