"""Shape vocabulary shared by the annotations of glmx.

Dimension names: ``n`` samples (time bins), ``p`` features, ``neurons`` (population axis),
``g`` groups of features. Scalars are ``Float[Array, ""]``.
"""

from typing import TypeAlias

from jaxtyping import Array, ArrayLike, Float, Real

#: A design: an array ``(n, p)`` or a dict of arrays ``(n, p_k)``.
Design: TypeAlias = Real[ArrayLike, "n p"] | dict[str, Real[ArrayLike, "n _p"]]
#: Coefficients: an array ``(p,)`` or a dict mirroring a dict design.
Coef: TypeAlias = Float[Array, " p"] | dict[str, Float[Array, " _p"]]
