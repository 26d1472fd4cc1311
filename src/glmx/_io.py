"""Saving and loading models: one ``.npz`` file holding the arrays and a JSON description of
the structure (classes by name, fields, configuration). Loading reads arrays with
``allow_pickle=False`` and rebuilds modules only from an allow-list of classes, so a file can
never execute code.
"""

import dataclasses
import json

import equinox as eqx
import jax
import numpy as np

FORMAT = "glmx-model/1"


def _allowed_classes(extra=()) -> dict:
    """The classes a file may name: glmx's public modules, and the caller's ``extra``."""
    import glmx

    classes = {
        name: obj
        for name, obj in vars(glmx).items()
        if isinstance(obj, type) and issubclass(obj, eqx.Module)
    }
    for cls in extra:
        if not (isinstance(cls, type) and issubclass(cls, eqx.Module)):
            raise TypeError(f"classes must be Equinox module classes, got {cls!r}.")
        classes[cls.__name__] = cls
    return classes


def _encode(value, arrays: dict):
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
        return {"dict": {k: _encode(v, arrays) for k, v in value.items()}}
    if isinstance(value, tuple | list):
        return {
            "tuple" if isinstance(value, tuple) else "list": [_encode(v, arrays) for v in value]
        }
    if isinstance(value, eqx.Module):
        fields = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
        return {
            "module": type(value).__name__,
            "fields": {k: _encode(v, arrays) for k, v in fields.items()},
        }
    raise TypeError(
        f"cannot save a {type(value).__name__}: models hold glmx modules, arrays, numbers, "
        "strings, tuples and dicts."
    )


def _decode(node, arrays, classes: dict):
    """The value `_encode` described; modules only from ``classes``."""
    if "module" in node:
        return _decode_module(node, arrays, classes)
    ((kind, content),) = node.items()
    if kind == "value":
        return content
    if kind == "array":
        return arrays[content]
    if kind == "dict":
        return {k: _decode(v, arrays, classes) for k, v in content.items()}
    if kind in ("tuple", "list"):
        items = [_decode(v, arrays, classes) for v in content]
        return tuple(items) if kind == "tuple" else items
    raise ValueError(f"the file describes an unknown kind of value, {kind!r}; is it a glmx file?")


def _decode_module(node, arrays, classes: dict):
    name = node["module"]
    if name not in classes:
        raise ValueError(
            f"the file uses the class {name!r}, which is not a glmx class; pass it to the loader "
            "as classes=(YourClass,)."
        )
    fields = {k: _decode(v, arrays, classes) for k, v in node["fields"].items()}
    cls = classes[name]
    if name == "PopulationGLM":  # its constructor takes the GLM's parts, not the GLM
        glm = fields["glm"]
        return cls(
            glm.observation,
            glm.regularizer,
            n_neurons=fields["n_neurons"],
            feature_mask=fields["feature_mask"],
            coef=glm.coef,
            intercept=glm.intercept,
            scale=glm.scale,
        )
    return cls(**fields)


def _write(path, config: dict, arrays: dict) -> None:
    config = {"format": FORMAT, **config}
    with open(path, "wb") as f:
        np.savez(f, __config__=np.array(json.dumps(config)), **arrays)


def _read(path):
    with np.load(path, allow_pickle=False) as data:
        if "__config__" not in data:
            raise ValueError(f"{path} is not a glmx model file (it has no configuration).")
        config = json.loads(str(data["__config__"]))
        arrays = {k: data[k] for k in data.files if k != "__config__"}
    if config.get("format") != FORMAT:
        raise ValueError(f"{path} has format {config.get('format')!r}; this glmx reads {FORMAT!r}.")
    return config, arrays


def save_model(path, model) -> None:
    """Save a `GLM` or `PopulationGLM` (fitted or not) to ``path`` as ``.npz``.

    The file holds the arrays (coefficients, strengths, masks, ...) and a JSON description of
    the model's structure; `load_model` rebuilds it without executing anything from the file.

    **Example:**
    ```python
    glmx.save_model("neuron.npz", model)
    same = glmx.load_model("neuron.npz")
    ```
    """
    from ._glm import GLM
    from ._population import PopulationGLM

    if not isinstance(model, GLM | PopulationGLM):
        raise TypeError(
            f"model must be a glmx.GLM or glmx.PopulationGLM, got {type(model).__name__}; "
            "estimators from glmx.sklearn have their own save_params."
        )
    arrays: dict = {}
    _write(path, {"model": _encode(model, arrays)}, arrays)


def load_model(path, classes=()):
    """Load a model saved by `save_model` (or an estimator saved by ``save_params``).

    **Arguments:** ``path``; ``classes``: your own module classes (e.g. a custom observation
    model) that the file names; glmx's own are always known.

    **Raises:** ``ValueError`` for a file that is not a glmx model or names an unknown class.
    """
    return load(path, classes)


def load(path, classes=()):
    config, arrays = _read(path)
    allowed = _allowed_classes(classes)
    if "model" in config:
        return _decode(config["model"], arrays, allowed)
    return _load_estimator(config, arrays, allowed)


ESTIMATOR_ATTRIBUTES = ("n_features_in_", "feature_blocks_", "dof_resid_")


def save_estimator(path, estimator) -> None:
    arrays: dict = {}
    config = {
        "estimator": type(estimator).__name__,
        "params": _encode(estimator.get_params(deep=False), arrays),
        "fitted": None,
    }
    if hasattr(estimator, "model_"):
        config["fitted"] = {
            "model": _encode(estimator.model_, arrays),
            **{
                name: _encode(getattr(estimator, name, None), arrays)
                for name in ESTIMATOR_ATTRIBUTES
            },
        }
    _write(path, config, arrays)


def _load_estimator(config, arrays, allowed):
    from . import _sklearn

    estimators = {"GLM": _sklearn.GLM, "PopulationGLM": _sklearn.PopulationGLM}
    name = config.get("estimator")
    if name not in estimators:
        raise ValueError(f"the file holds an unknown estimator {name!r}.")
    params = _decode(config["params"], arrays, allowed)
    estimator = estimators[name](**params)
    fitted = config["fitted"]
    if fitted is not None:
        estimator._store(_decode(fitted["model"], arrays, allowed))
        for attribute in ESTIMATOR_ATTRIBUTES:
            value = _decode(fitted[attribute], arrays, allowed)
            if value is not None:
                setattr(estimator, attribute, value)
    return estimator
