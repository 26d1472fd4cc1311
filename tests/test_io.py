"""glmx._io: which classes a file may name, files that hold something other than a model, and
the layer rule that saving and loading know no adapter. (Round trips and the refusal of code
in files are in test_sklearn.py.)"""

import ast
import inspect
import json

import equinox as eqx
import jax
import numpy as np
import pytest

import glmx
import glmx.sklearn
from glmx import _io


def test_files_may_name_the_concrete_model_classes_and_the_callers():
    allowed = _io.allowed_classes()
    concrete = [glmx.GLM, glmx.PopulationGLM, glmx.Poisson, glmx.Gamma, glmx.Bernoulli]
    concrete += [glmx.Gaussian, glmx.NegativeBinomial, glmx.Tweedie, glmx.InverseGaussian]
    concrete += [glmx.LogLink, glmx.SoftplusLink, glmx.IdentityLink, glmx.LogitLink]
    concrete += [glmx.InverseLink, glmx.InverseSquaredLink, glmx.UnRegularized]
    concrete += [glmx.Ridge, glmx.Lasso, glmx.ElasticNet, glmx.GroupLasso, glmx.Smoothness]
    concrete += [glmx.CategoricalGLM, glmx.PopulationCategoricalGLM, glmx.Categorical]
    assert allowed == {cls.__name__: cls for cls in concrete}  # no abstract classes or solvers

    class Custom(eqx.Module):
        pass

    assert _io.allowed_classes((Custom,))["Custom"] is Custom
    with pytest.raises(TypeError, match="classes must be Equinox module classes"):
        _io.allowed_classes((dict,))


@pytest.mark.parametrize("estimator", [glmx.sklearn.GLM, glmx.sklearn.PopulationGLM])
def test_load_model_names_the_loader_of_an_estimator_file(tmp_path, estimator):
    path = tmp_path / "estimator.npz"
    estimator(regularizer="Ridge").save_params(path)
    message = (
        rf"holds a glmx.sklearn {estimator.__name__} estimator; "
        r"load it with glmx.sklearn.load_model\(path\)\."
    )
    with pytest.raises(ValueError, match=message):
        glmx.load_model(path)
    assert glmx.sklearn.load_model(path).get_params()["regularizer"] == "Ridge"


def test_the_estimator_loader_loads_model_files_and_refuses_unknown_estimators(tmp_path):
    model = glmx.GLM(glmx.Gamma(glmx.InverseLink()), glmx.Ridge(0.5))
    glmx.save_model(tmp_path / "model.npz", model)
    loaded = glmx.sklearn.load_model(tmp_path / "model.npz")
    assert isinstance(loaded, glmx.GLM) and isinstance(loaded.observation.link, glmx.InverseLink)
    assert float(loaded.regularizer.strength) == 0.5

    glmx.sklearn.GLM().save_params(tmp_path / "estimator.npz")
    with np.load(tmp_path / "estimator.npz") as data:
        config = json.loads(str(data["__config__"]))
    config["estimator"] = "Pipeline"
    np.savez(tmp_path / "unknown.npz", __config__=np.array(json.dumps(config)))
    with pytest.raises(ValueError, match="the file holds an unknown estimator 'Pipeline'"):
        glmx.sklearn.load_model(tmp_path / "unknown.npz")


def test_a_file_without_a_model_or_its_loader_is_refused(tmp_path):
    # An estimator file written before files named their loader.
    config = {"format": _io.FORMAT, "estimator": "GLM", "params": {"dict": {}}, "fitted": None}
    np.savez(tmp_path / "old.npz", __config__=np.array(json.dumps(config)))
    with pytest.raises(ValueError, match="holds no glmx model"):
        glmx.load_model(tmp_path / "old.npz")
    loaded = glmx.sklearn.load_model(tmp_path / "old.npz")
    assert loaded.get_params() == glmx.sklearn.GLM().get_params()


def test_saving_and_loading_import_only_lower_layers():
    """_io imports neither the package face (glmx) nor an adapter, not even inside functions."""
    lower = {"_glm", "_population", "_observations", "_links", "_regularizers"}
    lower |= {"_categorical", "_categorical_glm"}
    lower |= {"_arrays", "_design", "_repr", "_typing"}
    imported = set()
    for node in ast.walk(ast.parse(inspect.getsource(_io))):
        if isinstance(node, ast.Import):
            imported |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            imported.add(node.module)
        elif isinstance(node, ast.ImportFrom):  # from . import _glm; from ._glm import GLM
            imported |= {node.module} if node.module else {a.name for a in node.names}
    ours = {name for name in imported if name.startswith(("_", "glmx"))}
    assert ours and ours <= lower, ours - lower


def test_categorical_models_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    y = rng.integers(0, 3, size=60).astype(float)
    single, _ = glmx.fit(glmx.CategoricalGLM(glmx.Categorical(3), glmx.Ridge(0.1)), X, y)
    pop = glmx.PopulationCategoricalGLM(
        glmx.Categorical(3), glmx.Lasso(np.array([0.1, 0.2])), n_neurons=2
    )
    for model in (single, glmx.CategoricalGLM(glmx.Categorical(4)), pop):
        glmx.save_model(tmp_path / "m.npz", model)
        loaded = glmx.load_model(tmp_path / "m.npz")
        assert type(loaded) is type(model) and repr(loaded) == repr(model)
        for a, b in zip(jax.tree.leaves(model), jax.tree.leaves(loaded)):
            np.testing.assert_array_equal(a, b)
    glmx.save_model(tmp_path / "single.npz", single)
    again = glmx.load_model(tmp_path / "single.npz").predict_proba(X)
    np.testing.assert_array_equal(again, single.predict_proba(X))
    with pytest.raises(TypeError, match="model must be one of glmx.GLM, .*got Poisson"):
        glmx.save_model(tmp_path / "m.npz", glmx.Poisson())
