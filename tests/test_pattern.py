"""Every public class is abstract (named Abstract*) or final (no subclass in the package)."""

import inspect

import equinox as eqx

import glmx


def _public_classes():
    return [obj for obj in vars(glmx).values() if inspect.isclass(obj)]


def test_abstract_or_final():
    classes = [c for c in _public_classes() if issubclass(c, eqx.Module)]
    assert len(classes) > 15
    for cls in classes:
        subclasses = [s for s in cls.__subclasses__() if s.__module__.startswith("glmx")]
        if cls.__name__.startswith("Abstract"):
            assert subclasses, f"{cls.__name__} is abstract but nothing implements it"
        else:
            assert not subclasses, f"{cls.__name__} is concrete but subclassed by {subclasses}"


def test_public_names_have_docstrings():
    for name in dir(glmx):
        obj = getattr(glmx, name)
        if name.startswith("_") or not (inspect.isclass(obj) or inspect.isfunction(obj)):
            continue
        assert obj.__doc__ and obj.__doc__.strip(), f"glmx.{name} has no docstring"
