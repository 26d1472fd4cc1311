"""Saving and loading models: one ``.npz`` file holding the arrays and a JSON description of
the structure (classes by name, fields, configuration). Loading reads arrays with
``allow_pickle=False`` and rebuilds modules only from an allow-list of classes, so a file can
never execute code.

The building blocks (`encode`, `decode`, `write_file`, `read_file`, `allowed_classes`,
`decode_model`) serve other file kinds too: a file that holds something other than a model
names its ``contents`` and the ``loader`` that reads it, and `load_model` says so.
"""

import dataclasses
import inspect
import json

import equinox as eqx
import jax
import numpy as np

from . import (
    _categorical,
    _categorical_glm,
    _glm,
    _links,
    _observations,
    _population,
    _regularizers,
)
from ._categorical_glm import CategoricalGLM, PopulationCategoricalGLM
from ._glm import GLM
from ._population import AbstractPopulation, PopulationGLM

FORMAT = "glmx-model/1"

# The modules whose public concrete classes a file may name.
_MODEL_MODULES = (
    _glm,
    _population,
    _categorical_glm,
    _observations,
    _categorical,
    _links,
    _regularizers,
)
_MODELS = (GLM, PopulationGLM, CategoricalGLM, PopulationCategoricalGLM)


def _concrete_classes(module) -> dict:
    """The concrete public Equinox module classes that ``module`` (or, for a package, one of
    its modules) defines, not those it imports from elsewhere."""
    home = module.__name__
    return {
        name: obj
        for name, obj in vars(module).items()
        if not name.startswith("_")
        and isinstance(obj, type)
        and issubclass(obj, eqx.Module)
        and (obj.__module__ == home or obj.__module__.startswith(home + "."))
        and not inspect.isabstract(obj)
    }


def allowed_classes(classes=()) -> dict:
    """The classes a file may name, by name: glmx's models, observation models, links and
    regularizers, and the caller's ``classes`` (Equinox module classes)."""
    allowed = {}
    for module in _MODEL_MODULES:
        allowed.update(_concrete_classes(module))
    for cls in classes:
        if not (isinstance(cls, type) and issubclass(cls, eqx.Module)):
            raise TypeError(f"classes must be Equinox module classes, got {cls!r}.")
        allowed[cls.__name__] = cls
    return allowed


def encode(value, arrays: dict):
    """A JSON-able description of ``value``; arrays go into ``arrays`` under fresh keys."""
    if value is None or isinstance(value, bool | int | float | str):
        return {"value": value}
    if isinstance(value, np.integer | np.floating):
        return {"value": value.item()}
    if isinstance(value, jax.Array | np.ndarray):
        key = f"array_{len(arrays)}"
        arrays[key] = np.asarray(value)
        return {"array": key}
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise TypeError(f"only dicts with string keys can be saved, got keys {list(value)}.")
        return {"dict": {k: encode(v, arrays) for k, v in value.items()}}
    if isinstance(value, tuple | list):
        return {"tuple" if isinstance(value, tuple) else "list": [encode(v, arrays) for v in value]}
    if isinstance(value, eqx.Module):
        # Fields the constructor derives (init=False) are rebuilt on load, not saved.
        fields = {f.name: getattr(value, f.name) for f in dataclasses.fields(value) if f.init}
        return {
            "module": type(value).__name__,
            "fields": {k: encode(v, arrays) for k, v in fields.items()},
        }
    raise TypeError(
        f"cannot save a {type(value).__name__}: models hold glmx modules, arrays, numbers, "
        "strings, tuples and dicts."
    )


def decode(node, arrays: dict, classes: dict):
    """The value `encode` described; modules only from ``classes`` (see `allowed_classes`)."""
    if "module" in node:
        return _decode_module(node, arrays, classes)
    ((kind, content),) = node.items()
    if kind == "value":
        return content
    if kind == "array":
        return arrays[content]
    if kind == "dict":
        return {k: decode(v, arrays, classes) for k, v in content.items()}
    if kind in ("tuple", "list"):
        items = [decode(v, arrays, classes) for v in content]
        return tuple(items) if kind == "tuple" else items
    raise ValueError(f"the file describes an unknown kind of value, {kind!r}; is it a glmx file?")


def _decode_module(node, arrays: dict, classes: dict):
    name = node["module"]
    if name not in classes:
        raise ValueError(
            f"the file uses the class {name!r}, which is not a glmx class; pass it to the loader "
            "as classes=(YourClass,)."
        )
    fields = {k: decode(v, arrays, classes) for k, v in node["fields"].items()}
    cls = classes[name]
    if issubclass(cls, AbstractPopulation):  # its constructor takes the member's parts
        glm = fields.pop("glm")
        parts = {f.name: getattr(glm, f.name) for f in dataclasses.fields(glm)}
        return cls(**parts, **fields)
    return cls(**fields)


def write_file(path, config: dict, arrays: dict) -> None:
    """Write ``config`` (JSON-able, stamped with `FORMAT`) and ``arrays`` to ``path``."""
    config = {"format": FORMAT, **config}
    with open(path, "wb") as f:
        np.savez(f, __config__=np.array(json.dumps(config)), **arrays)


def read_file(path) -> tuple[dict, dict]:
    """``(config, arrays)`` as `write_file` wrote them; arrays are read without pickle."""
    with np.load(path, allow_pickle=False) as data:
        if "__config__" not in data:
            raise ValueError(f"{path} is not a glmx model file (it has no configuration).")
        config = json.loads(str(data["__config__"]))
        arrays = {k: data[k] for k in data.files if k != "__config__"}
    if config.get("format") != FORMAT:
        raise ValueError(f"{path} has format {config.get('format')!r}; this glmx reads {FORMAT!r}.")
    return config, arrays


def decode_model(path, config: dict, arrays: dict, classes: dict):
    """The model in a file that `read_file` read from ``path``; modules only from ``classes``.

    **Raises:** ``ValueError`` when the file holds something else, naming the loader it records.
    """
    if "model" in config:
        return decode(config["model"], arrays, classes)
    if "contents" in config and "loader" in config:
        raise ValueError(
            f"{path} holds {config['contents']}; load it with {config['loader']}(path)."
        )
    raise ValueError(f"{path} holds no glmx model (it was not written by glmx.save_model).")


def save_model(path, model) -> None:
    """Save a `GLM`, `PopulationGLM`, `CategoricalGLM` or `PopulationCategoricalGLM` (fitted
    or not) to ``path`` as ``.npz``.

    The file holds the arrays (coefficients, strengths, masks, ...) and a JSON description of
    the model's structure; `load_model` rebuilds it without executing anything from the file.

    **Example:**
    ```python
    glmx.save_model("neuron.npz", model)
    same = glmx.load_model("neuron.npz")
    ```
    """
    if not isinstance(model, _MODELS):
        names = ", ".join(f"glmx.{cls.__name__}" for cls in _MODELS)
        raise TypeError(
            f"model must be one of {names}, got {type(model).__name__}; estimators from "
            "glmx.sklearn have their own save_params."
        )
    arrays: dict = {}
    write_file(path, {"model": encode(model, arrays)}, arrays)


def load_model(path, classes=()):
    """Load a model saved by `save_model`.

    **Arguments:** ``path``; ``classes``: your own module classes (e.g. a custom observation
    model) that the file names; glmx's own are always known.

    **Raises:** ``ValueError`` for a file that is not a glmx model (a file that holds something
    else, such as an estimator from ``glmx.sklearn``, names the function that loads it) or that
    names an unknown class.
    """
    config, arrays = read_file(path)
    return decode_model(path, config, arrays, allowed_classes(classes))
