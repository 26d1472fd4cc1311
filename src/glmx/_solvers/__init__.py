from ._base import (
    RESULTS as RESULTS,
)
from ._base import (
    AbstractSolver as AbstractSolver,
)
from ._base import (
    AbstractRows as AbstractRows,
)
from ._base import (
    Curvature as Curvature,
)
from ._base import (
    NonSmooth as NonSmooth,
)
from ._base import (
    Solution as Solution,
)
from ._base import (
    default_tol as default_tol,
)
from ._base import (
    iterative_solve as iterative_solve,
)
from ._implicit import AbstractAdjoint as AbstractAdjoint
from ._implicit import Implicit as Implicit
from ._implicit import Stationarity as Stationarity
from ._implicit import Unrolled as Unrolled
from ._lbfgs import LBFGS as LBFGS
from ._newton import Newton as Newton
from ._newton import ProximalNewton as ProximalNewton
from ._optax import OptaxSolver as OptaxSolver
from ._proximal import GradientDescent as GradientDescent
from ._proximal import ProximalGradient as ProximalGradient
from ._svrg import SVRG as SVRG
