"""The documentation site builds with ``mkdocs build --strict``: every page, the API reference
generated from the docstrings, and the examples with their output and figures."""

import html as html_text
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
    example = (tmp_path / "examples" / "encoding_model" / "index.html").read_text()
    assert "encoding_model_history.png" in example and "std err" in example
    assert (tmp_path / "examples" / "encoding_model_history.png").stat().st_size > 10_000
    _check_tutorials(tmp_path)
    _check_kept_site(tmp_path)
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
        assert "Initialize self" not in html, f"api/{name}: object.__init__'s docstring shows"
        for match in heading.finditer(html):
            qualified = match.group(2)
            top_level = qualified.count(".") == 1 or qualified.startswith("glmx.sklearn.")
            text = re.sub(r"<[^>]+>", "", match.group(3))
            if top_level and qualified not in NO_SIGNATURE and "(" not in text:
                unsigned.append(qualified)
    assert not unsigned, f"headings without a signature: {unsigned}"
    # Names in docstrings link across pages: fit's arguments to the models' page.
    assert 'href="../models/#glmx.GLM"' in pages["fit"]


def _check_tutorials(site: pathlib.Path) -> None:
    """Every example page interleaves code, output and figures with captions; the gallery has a
    card for each; no example measures time (run times would change on every build)."""
    scripts = sorted(p.stem for p in (ROOT / "examples").glob("*.py"))
    gallery = (site / "examples" / "index.html").read_text()
    for stem in scripts:
        page = (site / "examples" / stem / "index.html").read_text()
        captions = re.findall(r"<figure>.*?<figcaption>(.*?)</figcaption>", page, re.S)
        assert captions and all(len(c.split()) >= 5 for c in captions), f"{stem}: no caption"
        assert page.count('<span class="filename">Output</span>') >= 2, f"{stem}: no output"
        assert f'href="{stem}/"' in gallery, f"the gallery has no card for {stem}"
        source = (ROOT / "examples" / f"{stem}.py").read_text()
        assert "perf_counter" not in source and "time.time" not in source, stem


#: Where an absolute path of the machine that built the site would start.
MACHINE_PATHS = re.compile(r"(?<![\w.:/])/(?:home|work|tmp|Users|root|private|var/folders)/")


def _check_kept_site(site: pathlib.Path) -> None:
    """No machine paths; links out (repository, NeMoS, JAX, Equinox); concept pages link into the
    API reference; math is marked up for KaTeX; version, changelog, citation and licence exist."""
    pages = {p.relative_to(site).parent.as_posix(): p.read_text() for p in site.rglob("*.html")}
    for name, page in pages.items():
        text = html_text.unescape(re.sub(r"<[^>]+>", "", page))
        assert not MACHINE_PATHS.search(text), f"{name}: a machine path in the page"
    home = pages["."]
    links = ("nemos.readthedocs.io", "docs.jax.dev", "docs.kidger.site/equinox", "github.com")
    for target in links:
        assert f'href="https://{target}' in home, f"the home page does not link to {target}"
    concepts = ["fitting", "regularizers", "inference", "populations", "paths", "solvers"]
    for name in concepts + ["getting-started", "faq"]:
        assert re.search(r'href="\.\./api/[\w-]+/#glmx\.', pages[name]), f"{name}: no API link"
    for name in ("fitting", "regularizers", "inference", "observation-models"):
        assert 'class="arithmatex"' in pages[name], f"{name}: no rendered math"
    import glmx

    assert f"glmx {glmx.__version__}" in home
    assert "0.1.0" in pages["changelog"] and "MIT License" in pages["license"]
    citing = html_text.unescape(re.sub(r"<[^>]+>", "", pages["citing"]))
    assert "@software{glmx" in citing and f"version = {{{glmx.__version__}}}" in citing
