"""glmx: generalized linear models on JAX and Equinox."""

import importlib.metadata

from ._basis import (
    RecurrentSimulation as RecurrentSimulation,
    convolve_spikes as convolve_spikes,
    raised_cosine_log_basis as raised_cosine_log_basis,
    simulate_recurrent as simulate_recurrent,
)
from ._cache import enable_compilation_cache as enable_compilation_cache
from ._categorical import Categorical as Categorical
from ._categorical_glm import (
    CategoricalGLM as CategoricalGLM,
    PopulationCategoricalGLM as PopulationCategoricalGLM,
)
from ._categorical_inference import (
    CategoricalInference as CategoricalInference,
    categorical_inference as categorical_inference,
)
from ._dispersion import (
    DispersionFit as DispersionFit,
    fit_negative_binomial as fit_negative_binomial,
)
from ._fit import (
    FitResult as FitResult,
    StepState as StepState,
    fit as fit,
    init_state as init_state,
    update as update,
)
from ._glm import GLM as GLM
from ._identifiability import IdentifiabilityWarning as IdentifiabilityWarning
from ._inference import (
    Inference as Inference,
    TestResult as TestResult,
    inference as inference,
    likelihood_ratio_test as likelihood_ratio_test,
)
from ._io import (
    load_model as load_model,
    save_model as save_model,
)
from ._links import (
    AbstractLink as AbstractLink,
    IdentityLink as IdentityLink,
    InverseLink as InverseLink,
    InverseSquaredLink as InverseSquaredLink,
    LogitLink as LogitLink,
    LogLink as LogLink,
    SoftplusLink as SoftplusLink,
)
from ._observations import (
    AbstractObservation as AbstractObservation,
    Bernoulli as Bernoulli,
    Gamma as Gamma,
    Gaussian as Gaussian,
    InverseGaussian as InverseGaussian,
    NegativeBinomial as NegativeBinomial,
    Poisson as Poisson,
    Tweedie as Tweedie,
)
from ._path import (
    CrossValidation as CrossValidation,
    Path as Path,
    Tuning as Tuning,
    cross_validate as cross_validate,
    fit_path as fit_path,
    tune_strength as tune_strength,
)
from ._population import PopulationGLM as PopulationGLM
from ._problem import (
    ConvergenceWarning as ConvergenceWarning,
    default_solver as default_solver,
)
from ._regularizers import (
    AbstractRegularizer as AbstractRegularizer,
    ElasticNet as ElasticNet,
    GroupLasso as GroupLasso,
    Lasso as Lasso,
    Ridge as Ridge,
    Smoothness as Smoothness,
    UnRegularized as UnRegularized,
)
from ._solvers import (
    LBFGS as LBFGS,
    RESULTS as RESULTS,
    SVRG as SVRG,
    AbstractAdjoint as AbstractAdjoint,
    AbstractSolver as AbstractSolver,
    GradientDescent as GradientDescent,
    Implicit as Implicit,
    Newton as Newton,
    OptaxSolver as OptaxSolver,
    ProximalGradient as ProximalGradient,
    ProximalNewton as ProximalNewton,
    Unrolled as Unrolled,
)

__version__ = importlib.metadata.version("glmx")
