"""scikit-learn estimators for glmx: ``GLM`` and ``PopulationGLM`` with NeMoS's API, their
cross-validated forms ``GLMCV`` and ``PopulationGLMCV``, and ``ClassifierGLM``.

Requires scikit-learn (``pip install "glmx[sklearn]"``).
"""

try:
    import sklearn as _sklearn  # noqa: F401
except ImportError as error:  # pragma: no cover - exercised in a subprocess test
    raise ImportError(
        "glmx.sklearn needs scikit-learn, which is not installed; install it with "
        '`pip install "glmx[sklearn]"` (or `pip install scikit-learn`).'
    ) from error

from ._sklearn import (
    GLM as GLM,
    GLMCV as GLMCV,
    ClassifierGLM as ClassifierGLM,
    PopulationGLM as PopulationGLM,
    PopulationGLMCV as PopulationGLMCV,
    load_model as load_model,
)
