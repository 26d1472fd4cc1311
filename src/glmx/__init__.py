"""glmx: generalized linear models on JAX and Equinox."""

import importlib.metadata

from ._fit import (
    ConvergenceWarning as ConvergenceWarning,
    fit as fit,
    FitResult as FitResult,
    init_state as init_state,
    StepState as StepState,
    update as update,
)
from ._glm import GLM as GLM
from ._links import (
    AbstractLink as AbstractLink,
    IdentityLink as IdentityLink,
    InverseLink as InverseLink,
    LogitLink as LogitLink,
    LogLink as LogLink,
    SoftplusLink as SoftplusLink,
)
from ._observations import (
    AbstractObservation as AbstractObservation,
    Bernoulli as Bernoulli,
    Gamma as Gamma,
    Gaussian as Gaussian,
    NegativeBinomial as NegativeBinomial,
    Poisson as Poisson,
)
from ._regularizers import (
    AbstractRegularizer as AbstractRegularizer,
    ElasticNet as ElasticNet,
    GroupLasso as GroupLasso,
    Lasso as Lasso,
    Ridge as Ridge,
    UnRegularized as UnRegularized,
)
from ._solvers import (
    AbstractSolver as AbstractSolver,
    GradientDescent as GradientDescent,
    LBFGS as LBFGS,
    ProximalGradient as ProximalGradient,
    RESULTS as RESULTS,
)

__version__ = importlib.metadata.version("glmx")
