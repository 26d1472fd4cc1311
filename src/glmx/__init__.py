"""glmx: generalized linear models on JAX and Equinox."""

import importlib.metadata

from ._basis import (
    RecurrentSimulation as RecurrentSimulation,
)
from ._basis import (
    convolve_spikes as convolve_spikes,
)
from ._basis import (
    raised_cosine_log_basis as raised_cosine_log_basis,
)
from ._basis import (
    simulate_recurrent as simulate_recurrent,
)
from ._fit import (
    ConvergenceWarning as ConvergenceWarning,
)
from ._fit import (
    FitResult as FitResult,
)
from ._fit import (
    StepState as StepState,
)
from ._fit import (
    default_solver as default_solver,
)
from ._fit import (
    fit as fit,
)
from ._fit import (
    init_state as init_state,
)
from ._fit import (
    update as update,
)
from ._glm import GLM as GLM
from ._inference import (
    Inference as Inference,
)
from ._inference import (
    TestResult as TestResult,
)
from ._inference import (
    inference as inference,
)
from ._inference import (
    likelihood_ratio_test as likelihood_ratio_test,
)
from ._io import (
    load_model as load_model,
)
from ._io import (
    save_model as save_model,
)
from ._links import (
    AbstractLink as AbstractLink,
)
from ._links import (
    IdentityLink as IdentityLink,
)
from ._links import (
    InverseLink as InverseLink,
)
from ._links import (
    LogitLink as LogitLink,
)
from ._links import (
    LogLink as LogLink,
)
from ._links import (
    SoftplusLink as SoftplusLink,
)
from ._observations import (
    AbstractObservation as AbstractObservation,
)
from ._observations import (
    Bernoulli as Bernoulli,
)
from ._observations import (
    Gamma as Gamma,
)
from ._observations import (
    Gaussian as Gaussian,
)
from ._observations import (
    NegativeBinomial as NegativeBinomial,
)
from ._observations import (
    Poisson as Poisson,
)
from ._population import PopulationGLM as PopulationGLM
from ._regularizers import (
    AbstractRegularizer as AbstractRegularizer,
)
from ._regularizers import (
    ElasticNet as ElasticNet,
)
from ._regularizers import (
    GroupLasso as GroupLasso,
)
from ._regularizers import (
    Lasso as Lasso,
)
from ._regularizers import (
    Ridge as Ridge,
)
from ._regularizers import (
    UnRegularized as UnRegularized,
)
from ._solvers import (
    LBFGS as LBFGS,
)
from ._solvers import (
    RESULTS as RESULTS,
)
from ._solvers import (
    SVRG as SVRG,
)
from ._solvers import (
    AbstractAdjoint as AbstractAdjoint,
)
from ._solvers import (
    AbstractSolver as AbstractSolver,
)
from ._solvers import (
    GradientDescent as GradientDescent,
)
from ._solvers import (
    Implicit as Implicit,
)
from ._solvers import (
    Newton as Newton,
)
from ._solvers import (
    OptaxSolver as OptaxSolver,
)
from ._solvers import (
    ProximalGradient as ProximalGradient,
)
from ._solvers import (
    ProximalNewton as ProximalNewton,
)
from ._solvers import (
    Unrolled as Unrolled,
)

__version__ = importlib.metadata.version("glmx")
