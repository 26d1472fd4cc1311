"""`glmx.enable_compilation_cache`: a second process loads the programs a first one compiled.

The cache changes JAX's configuration for the whole process, so every call that succeeds runs
in a child process (``sys.executable -c``); the test process's configuration is never touched.
"""

import json
import os
import pathlib
import subprocess
import sys

import jax
import pytest

import glmx

TIMEOUT = 120

#: A child: turn the cache on in ``argv[1]``, fit a tiny Poisson GLM, print what it saw.
FIT = """
import json, os, sys
import jax
jax.config.update("jax_enable_x64", True)
import numpy as np
import glmx

events = {"hits": 0, "misses": 0}
names = {"/jax/compilation_cache/cache_hits": "hits",
         "/jax/compilation_cache/cache_misses": "misses"}

def listen(event, **kwargs):
    if event in names:
        events[names[event]] += 1

jax.monitoring.register_event_listener(listen)
path = glmx.enable_compilation_cache(sys.argv[1])
rng = np.random.default_rng(0)
X = rng.normal(size=(200, 3)) / 3
y = rng.poisson(np.exp(0.2 + X @ np.array([0.5, -0.3, 0.2]))).astype(float)
model, result = glmx.fit(glmx.GLM(glmx.Poisson()), X, y)
print("RESULT " + json.dumps({
    "path": str(path),
    "config": jax.config.jax_compilation_cache_dir,
    "min_time": jax.config.jax_persistent_cache_min_compile_time_secs,
    "min_size": jax.config.jax_persistent_cache_min_entry_size_bytes,
    "coef": [float(c) for c in model.coef],
    "intercept": float(model.intercept),
    "converged": bool(result.converged),
    **events,
}))
sys.stdout.flush()
os._exit(0)
"""

#: A child: the default directory, then a switch to ``~/switched`` (a ``pathlib.Path``).
SWITCH = """
import json, os, pathlib, sys
import jax, jax.numpy as jnp
import glmx

first = glmx.enable_compilation_cache()
jax.jit(lambda x: x + 1)(jnp.ones(3)).block_until_ready()
second = glmx.enable_compilation_cache(pathlib.Path("~") / "switched")
jax.jit(lambda x: 2 * x - 1)(jnp.ones(4)).block_until_ready()
print("RESULT " + json.dumps({
    "first": str(first), "second": str(second), "config": jax.config.jax_compilation_cache_dir,
}))
sys.stdout.flush()
os._exit(0)
"""


def _child(code, *args, env=None):
    done = subprocess.run(
        [sys.executable, "-c", code, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env={**os.environ, **(env or {})},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    assert lines, done.stdout[-2000:] + done.stderr[-2000:]
    return json.loads(lines[-1].removeprefix("RESULT "))


def _files(directory: pathlib.Path) -> list:
    return [p for p in directory.rglob("*") if p.is_file()]


def test_a_second_process_loads_the_first_ones_programs(tmp_path):
    cache = tmp_path / "cache"  # created by the call
    first = _child(FIT, cache)
    assert first["path"] == first["config"] == str(cache)
    assert first["min_time"] == 0 and first["min_size"] == 0
    assert first["converged"]
    written = _files(cache)
    assert written, "the first process wrote no compiled programs"
    assert first["misses"] >= 1

    second = _child(FIT, cache)
    assert second["config"] == str(cache)
    # Every program the first process compiled, the second loaded; it compiled none.
    assert second["hits"] == first["misses"] and second["misses"] == 0, (first, second)
    assert (second["coef"], second["intercept"]) == (first["coef"], first["intercept"])


def test_the_default_directory_and_a_switch_to_another(tmp_path):
    env = {"XDG_CACHE_HOME": str(tmp_path / "xdg"), "HOME": str(tmp_path / "home")}
    seen = _child(SWITCH, env=env)
    default = tmp_path / "xdg" / "glmx" / "jax"
    switched = tmp_path / "home" / "switched"
    assert seen == {"first": str(default), "second": str(switched), "config": str(switched)}
    assert _files(default) and _files(switched)  # the second program went to the new place


@pytest.mark.parametrize(
    "directory, error, words",
    [
        (3, TypeError, "directory must be a str or os.PathLike"),
        (b"/tmp/cache", TypeError, "directory must be a str or os.PathLike"),
        ("", ValueError, "empty string"),
    ],
)
def test_bad_directories_are_refused(directory, error, words):
    before = jax.config.jax_compilation_cache_dir
    with pytest.raises(error, match=words):
        glmx.enable_compilation_cache(directory)
    assert jax.config.jax_compilation_cache_dir == before


def test_a_file_is_not_a_directory(tmp_path):
    before = jax.config.jax_compilation_cache_dir
    file = tmp_path / "file"
    file.write_text("not a cache")
    with pytest.raises(NotADirectoryError, match=f"{file} exists and is not one"):
        glmx.enable_compilation_cache(file)
    with pytest.raises(NotADirectoryError, match=f"{file} \\(on the way to {file / 'sub'}\\)"):
        glmx.enable_compilation_cache(str(file / "sub"))
    assert not (file / "sub").exists()
    assert jax.config.jax_compilation_cache_dir == before
