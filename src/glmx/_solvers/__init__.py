from ._base import (
    RESULTS as RESULTS,
    AbstractRows as AbstractRows,
    AbstractSolver as AbstractSolver,
    Curvature as Curvature,
    LoopKind as LoopKind,
    NonSmooth as NonSmooth,
    Problem as Problem,
    Solution as Solution,
    default_tol as default_tol,
    iterative_solve as iterative_solve,
)
from ._implicit import (
    AbstractAdjoint as AbstractAdjoint,
    Implicit as Implicit,
    Stationarity as Stationarity,
    Unrolled as Unrolled,
)
from ._lbfgs import LBFGS as LBFGS
from ._newton import (
    Newton as Newton,
    ProximalNewton as ProximalNewton,
)
from ._optax import OptaxSolver as OptaxSolver
from ._proximal import (
    GradientDescent as GradientDescent,
    ProximalGradient as ProximalGradient,
)
from ._svrg import SVRG as SVRG
