"""The documentation site builds with ``mkdocs build --strict``: every page, the API reference
generated from the docstrings, and the examples with their output and figures."""

import os
import pathlib
import re
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
    _check_api_reference(tmp_path / "api")


#: Public names whose heading has no call signature by nature: an enumeration users do not
#: construct, and warning classes.
NO_SIGNATURE = {"glmx.RESULTS", "glmx.ConvergenceWarning", "glmx.IdentifiabilityWarning"}


def _check_api_reference(api: pathlib.Path) -> None:
    """Argument lists render as lists (a paragraph with ``\n- `` in it is a run-on list), no
    private base class shows, and every public class and function shows its signature."""
    pages = {page.parent.name: page.read_text() for page in api.rglob("index.html")}
    run_on = re.compile(r"<p>(?:(?!</p>).)*\n- ", re.S)
    heading = re.compile(r'<h([2-4]) id="(glmx\.[^"]+)" class="doc doc-heading">(.*?)</h\1>', re.S)
    unsigned = []
    for name, html in pages.items():
        assert not run_on.search(html), f"api/{name}: a list renders as one paragraph"
        assert "ValueRepr" not in html, f"api/{name}: a private base class is shown"
        for match in heading.finditer(html):
            qualified = match.group(2)
            top_level = qualified.count(".") == 1 or qualified.startswith("glmx.sklearn.")
            text = re.sub(r"<[^>]+>", "", match.group(3))
            if top_level and qualified not in NO_SIGNATURE and "(" not in text:
                unsigned.append(qualified)
    assert not unsigned, f"headings without a signature: {unsigned}"
