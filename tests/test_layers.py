"""The architecture as a test: imports only point down the layers of docs/architecture.md, no
cycles, no private names across layers, no package-face imports inside the package, no
``hasattr`` probing, and small files."""

import ast
import pathlib

import pytest

SRC = pathlib.Path(__file__).parent.parent / "src" / "glmx"

#: Bottom to top. A unit (a module, or a private package such as ``_solvers``) may import only
#: units of lower layers, and modules of its own package.
LAYERS = (
    ("_typing", "_arrays", "_repr", "_design", "_linalg", "_cache", "_folds"),
    ("_links", "_structure"),
    ("_observations", "_categorical"),
    ("_prox",),
    ("_regularizers",),
    ("_solvers",),
    ("_glm",),
    ("_population",),
    ("_categorical_glm",),
    ("_data",),
    ("_identifiability",),
    ("_checks",),
    ("_objective",),
    ("_problem",),
    ("_diagnostics",),
    ("_categorical_problem",),
    ("_fit", "_inference", "_basis", "_categorical_inference", "_path"),
    ("_io", "_pynapple", "_dispersion"),
    ("_sklearn",),
    ("sklearn", "__init__"),  # the public faces
)
RANK = {unit: rank for rank, units in enumerate(LAYERS) for unit in units}
MAX_LINES = 400


def _modules():
    """``{dotted name: path}`` of every module of the package."""
    found = {}
    for path in sorted(SRC.rglob("*.py")):
        parts = path.relative_to(SRC.parent).with_suffix("").parts
        if parts[-1] == "__init__" and len(parts) > 2:
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _unit(module: str) -> str:
    """The layer unit of a module: ``glmx._solvers._newton`` -> ``_solvers``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _package(module: str, path: pathlib.Path) -> str:
    return module if path.name == "__init__.py" else module.rsplit(".", 1)[0]


def _imports(module: str, path: pathlib.Path):
    """``(imported module, imported name or None, line)`` for every import, including those
    inside functions; relative imports resolved."""
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, None, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = _package(module, path).split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module
            for alias in node.names:
                yield target, alias.name, node.lineno


def _glmx_edges():
    """``(importer, imported module, name, line)`` for imports of glmx modules."""
    for module, path in MODULES.items():
        for target, name, line in _imports(module, path):
            if target != "glmx" and not target.startswith("glmx."):
                continue
            # ``from . import _io`` imports a module, not a name.
            if name is not None and f"{target}.{name}" in MODULES:
                target, name = f"{target}.{name}", None
            yield module, target, name, line


def test_every_unit_has_a_layer():
    units = {_unit(m) for m in MODULES}
    assert units <= set(RANK), f"modules without a layer in LAYERS: {sorted(units - set(RANK))}"


def test_imports_point_down_the_layers():
    wrong = []
    for module, target, _, line in _glmx_edges():
        if target == "glmx" and module != "glmx":
            wrong.append(f"{module}:{line} imports the package face glmx")
            continue
        importer, imported = _unit(module), _unit(target)
        if importer != imported and RANK[imported] >= RANK[importer]:
            wrong.append(
                f"{module}:{line} imports {target} (layer {RANK[imported]} >= {RANK[importer]})"
            )
    assert not wrong, "\n".join(wrong)


def test_no_private_names_across_layers():
    wrong = [
        f"{module}:{line} imports {name} from {target}"
        for module, target, name, line in _glmx_edges()
        if name is not None and name.startswith("_") and _unit(module) != _unit(target)
    ]
    assert not wrong, "\n".join(wrong)


def test_no_import_cycles():
    graph = {m: set() for m in MODULES}
    for module, target, _, _ in _glmx_edges():
        if target in MODULES and target != module:
            graph[module].add(target)
    state = {}

    def visit(node, stack):
        state[node] = "open"
        for nxt in graph[node]:
            if state.get(nxt) == "open":
                pytest.fail("import cycle: " + " -> ".join(stack + [node, nxt]))
            if nxt not in state:
                visit(nxt, stack + [node])
        state[node] = "done"

    for module in graph:
        if module not in state:
            visit(module, [])


def test_no_hasattr_and_small_files():
    probing = [str(p) for p in MODULES.values() if "hasattr(" in p.read_text()]
    assert not probing, f"hasattr( in {probing}"
    long = {
        str(p.relative_to(SRC)): n
        for p in MODULES.values()
        if (n := len(p.read_text().splitlines())) > MAX_LINES
    }
    assert not long, f"files over {MAX_LINES} lines: {long}"


def test_the_checker_catches_an_upward_import(tmp_path):
    """The rules above can fail: an upward import and a private name across layers are seen."""
    module = "glmx._glm"
    path = tmp_path / "_glm.py"
    path.write_text("from ._fit import _run\nfrom . import _problem\n")
    found = list(_imports(module, path))
    assert ("glmx._fit", "_run", 1) in found and ("glmx", "_problem", 2) in found
    assert RANK[_unit("glmx._fit")] > RANK[_unit(module)]
