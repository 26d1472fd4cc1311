from ._base import (
    AbstractSolver as AbstractSolver,
    default_tol as default_tol,
    iterative_solve as iterative_solve,
    RESULTS as RESULTS,
    Solution as Solution,
)
from ._lbfgs import LBFGS as LBFGS
from ._proximal import GradientDescent as GradientDescent, ProximalGradient as ProximalGradient
