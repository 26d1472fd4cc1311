"""The estimators' options by name: tables from the names the estimators accept (any case;
``_``, ``-`` and spaces ignored) to glmx classes, and the builders that turn the estimators'
parameters into core modules (observation model, regularizer, solver)."""

import dataclasses
import warnings

from .._links import (
    AbstractLink,
    IdentityLink,
    InverseLink,
    InverseSquaredLink,
    LogitLink,
    LogLink,
    SoftplusLink,
)
from .._observations import (
    AbstractObservation,
    Bernoulli,
    Gamma,
    Gaussian,
    InverseGaussian,
    NegativeBinomial,
    Poisson,
    Tweedie,
)
from .._regularizers import AbstractRegularizer, ElasticNet, GroupLasso, Lasso, Ridge, UnRegularized
from .._solvers import (
    LBFGS,
    SVRG,
    AbstractSolver,
    GradientDescent,
    Newton,
    ProximalGradient,
    ProximalNewton,
)

OBSERVATIONS = {
    "poisson": Poisson,
    "gamma": Gamma,
    "bernoulli": Bernoulli,
    "gaussian": Gaussian,
    "negativebinomial": NegativeBinomial,
    # Tweedie's power defaults to 1.5; another power needs an instance, glmx.Tweedie(power).
    "tweedie": Tweedie,
    "inversegaussian": InverseGaussian,
}
LINKS = {
    "log": LogLink,
    "softplus": SoftplusLink,
    "identity": IdentityLink,
    "logit": LogitLink,
    "inverse": InverseLink,
    "inversesquared": InverseSquaredLink,
}
REGULARIZERS = {
    "unregularized": UnRegularized,
    "ridge": Ridge,
    "lasso": Lasso,
    "elasticnet": ElasticNet,
    "grouplasso": GroupLasso,
}
SOLVERS = {
    "lbfgs": LBFGS,
    "newton": Newton,
    "proximalnewton": ProximalNewton,
    "proximalgradient": ProximalGradient,
    "gradientdescent": GradientDescent,
    "svrg": SVRG,
}
# Observation models whose targets cannot be negative (scikit-learn's positive_only tag).
POSITIVE_OBSERVATIONS = ("poisson", "gamma", "negativebinomial", "tweedie", "inversegaussian")


def name_key(name: str) -> str:
    """``name`` as the tables spell it: lower case, without ``_``, ``-`` and spaces."""
    return name.lower().replace("_", "").replace("-", "").replace(" ", "")


def lookup(table: dict, value, argument: str):
    """The class that ``value`` names in ``table``; a ValueError naming ``argument`` if none."""
    if isinstance(value, str) and name_key(value) in table:
        return table[name_key(value)]
    raise ValueError(f"{argument} must be one of {sorted(table)} (any case), got {value!r}.")


def has_positive_targets(observation_model) -> bool:
    """Whether ``observation_model`` (a name or a glmx observation model) needs ``y >= 0``."""
    name = (
        observation_model
        if isinstance(observation_model, str)
        else type(observation_model).__name__
    )
    return name_key(name) in POSITIVE_OBSERVATIONS


def build_observation(observation_model, link) -> AbstractObservation:
    """The observation model for the estimators' ``observation_model`` and ``link``."""
    if isinstance(observation_model, AbstractObservation):
        if link is not None:
            raise ValueError(
                "link is set but observation_model is a glmx observation model, which "
                f"carries its own link ({observation_model.link!r}); give one or the other."
            )
        return observation_model
    cls = lookup(OBSERVATIONS, observation_model, "observation_model")
    if link is None:
        return cls()
    if not isinstance(link, AbstractLink):
        link = lookup(LINKS, link, "link")()
    return cls(link=link)


def build_regularizer(regularizer, strength) -> AbstractRegularizer:
    """The regularizer for the estimators' ``regularizer`` and ``regularizer_strength``
    (``None``: the regularizer's own strength; for ElasticNet a ``(strength, ratio)`` pair)."""
    if isinstance(regularizer, AbstractRegularizer):
        if strength is None or isinstance(regularizer, UnRegularized):
            return regularizer
        cls = type(regularizer)
        fields = {f.name: getattr(regularizer, f.name) for f in dataclasses.fields(regularizer)}
    else:
        cls, fields = lookup(REGULARIZERS, regularizer, "regularizer"), {}
        if cls is UnRegularized:
            if strength is not None:
                warnings.warn(
                    "regularizer_strength is ignored without a penalty (regularizer="
                    f"{regularizer!r}).",
                    UserWarning,
                    stacklevel=3,
                )
            return UnRegularized()
        if cls is GroupLasso:
            raise ValueError(
                'regularizer="GroupLasso" needs the groups: pass regularizer=glmx.GroupLasso('
                "groups) (and the strength as regularizer_strength or in it)."
            )
        if strength is None:
            return cls()
    if cls is ElasticNet and isinstance(strength, tuple):
        return ElasticNet(strength[0], strength[1])
    return cls(**{**fields, "strength": strength})


def build_solver(solver_name, solver_kwargs) -> AbstractSolver | None:
    """The solver for the estimators' ``solver_name`` and ``solver_kwargs`` (``None``: let
    `glmx.fit` choose)."""
    kwargs = {} if solver_kwargs is None else dict(solver_kwargs)
    if solver_name is None:
        if kwargs:
            raise ValueError(
                "solver_kwargs need a solver_name: the automatic choice depends on the "
                "penalty and the number of features."
            )
        return None
    cls = lookup(SOLVERS, solver_name, "solver_name")
    try:
        return cls(**kwargs)
    except TypeError as error:
        raise TypeError(f"solver_kwargs do not fit {cls.__name__}: {error}") from None
