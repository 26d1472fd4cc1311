"""mkdocs hooks.

- One page per script in ``examples/``: its prose, code, the output of each code cell right under
  it, and its figures with their captions, in the script's order (``docs/_cells.py`` splits and
  runs the scripts). The output comes from running the script, unless a run newer than the
  script left it next to the script (the example tests do), so a docs build after the tests does
  not run the examples again. Nothing generated is written into ``docs/``.
- A gallery page, ``examples/index.md``: one card per tutorial with its first figure.
- Names in prose link to the API reference: every `` `glmx.name` `` outside code blocks whose
  name has a ``:::`` entry in ``docs/api/`` becomes a link to it; in the API reference itself,
  so does a documented name in a docstring (`` `GLM` `` or `` `glmx.GLM` ``).
- The package version in the footer and wherever a page writes ``{{ version }}``.
"""

import os
import pathlib
import re
import subprocess
import sys

from mkdocs.structure.files import File

ROOT = pathlib.Path(__file__).parent.parent
EXAMPLES = ROOT / "examples"
sys.path.insert(0, str(ROOT / "docs"))

import _cells  # noqa: E402

#: A figure: an image paragraph of its own in a markdown cell; its alt text (which may run over
#: several comment lines) is the caption.
_IMAGE = re.compile(r"^!\[([^\]]+)\]\(([\w-]+\.png)\)[ \t]*$", re.M)


def output_path(script: pathlib.Path) -> pathlib.Path:
    """Where a run of ``script`` leaves its printed output (shared with the tests)."""
    return script.with_suffix(".out")


def figures(script: pathlib.Path) -> list[tuple[str, str]]:
    """(file name, caption) of each figure the script's prose shows, in order."""
    _, cells = _cells.split(script.read_text())
    found = []
    for cell in cells:
        if cell.kind == "markdown":
            for match in _IMAGE.finditer(cell.text):
                found.append((match.group(2), " ".join(match.group(1).split())))
    return found


def _output(script: pathlib.Path) -> dict[int, str]:
    saved = output_path(script)
    fresh = saved.exists() and saved.stat().st_mtime >= script.stat().st_mtime
    fresh = fresh and all((EXAMPLES / name).exists() for name, _ in figures(script))
    if not fresh:
        env = {k: v for k, v in os.environ.items() if k != "JAX_ENABLE_X64"}
        env["MPLBACKEND"] = "Agg"
        done = subprocess.run(
            [sys.executable, str(ROOT / "docs" / "_cells.py"), str(script)],
            capture_output=True,
            text=True,
            timeout=900,
            env=env,
            cwd=ROOT,
        )
        if done.returncode != 0:
            raise RuntimeError(f"{script.name} failed:\n{done.stderr[-3000:]}")
        saved.write_text(done.stdout)
    return _cells.outputs(saved.read_text())


def _figure(match: re.Match) -> str:
    caption, name = " ".join(match.group(1).split()), match.group(2)
    return (
        '<figure markdown="span">\n'
        f"  ![{caption}]({name})\n"
        f"  <figcaption>{caption}</figcaption>\n"
        "</figure>"
    )


def _title(docstring: str, stem: str) -> tuple[str, str]:
    title, _, description = (docstring or stem).partition("\n")
    return title.strip().rstrip("."), description.strip()


def _page(script: pathlib.Path) -> str:
    docstring, cells = _cells.split(script.read_text())
    title, description = _title(docstring, script.stem)
    printed = _output(script)
    parts = [
        f"# {title}",
        description,
        '!!! note "Run it yourself"\n'
        f"    This page is the script `examples/{script.name}`, with the output of each step under"
        f" it. Run it with `python examples/{script.name}` (it needs matplotlib:"
        ' `pip install "glmx[examples]"`).',
    ]
    code_index = 0
    for cell in cells:
        if cell.kind == "markdown":
            parts.append(_IMAGE.sub(_figure, cell.text))
            continue
        parts.append("```python\n" + cell.text + "\n```")
        output = printed.get(code_index, "")
        if output.strip():
            parts.append('```text title="Output"\n' + output + "\n```")
        code_index += 1
    return "\n\n".join(parts) + "\n"


def _tutorials(config) -> list[str]:
    """The example page paths in the order of the site's navigation."""
    order = []

    def walk(items):
        for item in items:
            value = next(iter(item.values())) if isinstance(item, dict) else item
            if isinstance(value, list):
                walk(value)
            elif (
                isinstance(value, str)
                and value.startswith("examples/")
                and value != ("examples/index.md")
            ):
                order.append(value)

    walk(config["nav"] or [])
    return order


def _gallery(config) -> str:
    cards = []
    for path in _tutorials(config):
        script = EXAMPLES / (pathlib.Path(path).stem + ".py")
        docstring, _ = _cells.split(script.read_text())
        title, description = _title(docstring, script.stem)
        summary = description.split("\n\n")[0].replace("\n", " ")
        name, caption = figures(script)[0]
        page = pathlib.Path(path).name
        cards.append(
            f"-   [![{caption}]({name})]({page})\n\n    **[{title}]({page})**\n\n    {summary}"
        )
    return (
        "# Tutorials\n\n"
        "Each tutorial is a script in `examples/` that runs from top to bottom; its page shows the"
        " prose, the code, what each step prints and the figures. The test suite runs every one"
        " of them and checks what they print.\n\n"
        '<div class="grid cards" markdown>\n\n' + "\n\n".join(cards) + "\n\n</div>\n"
    )


def on_config(config):
    import importlib.metadata

    version = importlib.metadata.version("glmx")
    config["copyright"] = f"glmx {version} · MIT licence"
    for page in (ROOT / "docs" / "api").glob("*.md"):
        _DOCUMENTED.update(re.findall(r"^::: (glmx[\w.]*)", page.read_text(), re.M))
    return config


_DOCUMENTED: set[str] = set()
_FENCE = re.compile(r"^( *)(```|~~~).*?^\1\2[ \t]*$", re.M | re.S)
_NAME = re.compile(r"(?<![\[\w])`(glmx\.[\w.]+)`(?!\])")


def _link_names(markdown: str) -> str:
    """Link each documented `` `glmx.name` `` in prose (not in code blocks, headings or links)."""

    def prose(text: str) -> str:
        lines = []
        for line in text.split("\n"):
            if not line.lstrip().startswith("#"):
                line = _NAME.sub(
                    lambda m: f"[`{m[1]}`][{m[1]}]" if m[1] in _DOCUMENTED else m[0], line
                )
            lines.append(line)
        return "\n".join(lines)

    pieces, last = [], 0
    for fence in _FENCE.finditer(markdown):
        pieces += [prose(markdown[last : fence.start()]), fence.group(0)]
        last = fence.end()
    return "".join(pieces + [prose(markdown[last:])])


_CODE = re.compile(r"(<a\b[^>]*>\s*)?<code>(?:glmx\.)?([A-Za-z_]\w*)</code>")


def _link_api_names(html: str) -> str:
    """``<code>GLM</code>`` in a rendered docstring becomes an autorefs link to ``glmx.GLM``
    (resolved by mkdocs-autorefs after every page is rendered)."""

    def link(match: re.Match) -> str:
        name = f"glmx.{match[2]}"
        if match[1] or name not in _DOCUMENTED:
            return match[0]
        return f'<autoref identifier="{name}" optional>{match[0]}</autoref>'

    return _CODE.sub(link, html)


def on_page_content(html, page, config, files):
    if page.file.src_uri.startswith("api/"):
        html = _link_api_names(html)
    return html


def on_page_markdown(markdown, page, config, files):
    import importlib.metadata

    markdown = markdown.replace("{{ version }}", importlib.metadata.version("glmx"))
    if not page.file.src_uri.startswith("api/"):
        markdown = _link_names(markdown)
    return markdown


def on_files(files, config):
    for script in sorted(EXAMPLES.glob("*.py")):
        files.append(File.generated(config, f"examples/{script.stem}.md", content=_page(script)))
        for name, _ in figures(script):
            files.append(
                File.generated(config, f"examples/{name}", abs_src_path=str(EXAMPLES / name))
            )
    files.append(File.generated(config, "examples/index.md", content=_gallery(config)))
    return files
