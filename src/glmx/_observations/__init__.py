"""Observation models: the distribution of ``y`` given its mean.

Each model gives the per-sample log-likelihood (with normalising constants), the unit deviance,
the variance function, sampling, and, through shared functions on the base class, scale
(dispersion) estimation and pseudo-R2. Everything is elementwise over samples; reductions with
sample weights happen in the shared methods.

- `_base`: the contract (`AbstractObservation`) and the shared methods;
- `_counts`: `Poisson`, `Bernoulli`, `NegativeBinomial`;
- `_continuous`: `Gamma`, `Gaussian`, `InverseGaussian`;
- `_tweedie`: `Tweedie` and its series density.
"""

from ._base import AbstractObservation as AbstractObservation
from ._continuous import (
    Gamma as Gamma,
    Gaussian as Gaussian,
    InverseGaussian as InverseGaussian,
)
from ._counts import (
    Bernoulli as Bernoulli,
    NegativeBinomial as NegativeBinomial,
    Poisson as Poisson,
)
from ._tweedie import Tweedie as Tweedie
