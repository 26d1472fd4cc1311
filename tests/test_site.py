"""The documentation site builds with ``mkdocs build --strict``: every page, the API reference
generated from the docstrings, and the examples with their output and figures."""

import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).parent.parent


def test_docs_site_builds_strictly(tmp_path):
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    env.pop("JAX_ENABLE_X64", None)
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        env=env,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    assert (tmp_path / "coming-from-nemos" / "index.html").exists()
    api = (tmp_path / "api" / "inference" / "index.html").read_text()
    assert "glmx.inference" in api and "cov_type" in api
    example = (tmp_path / "examples" / "history_filter" / "index.html").read_text()
    assert "history_filter_band.png" in example and "std err" in example
    assert (tmp_path / "examples" / "history_filter_band.png").stat().st_size > 10_000
