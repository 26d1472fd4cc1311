"""mkdocs hook: one page per script in examples/, with its description, source, printed output
and figures. The output and figures come from running the script, unless a run newer than the
script left them next to it (the test suite's example tests do), so a docs build after the
tests does not run the examples again. Nothing generated is written into docs/.
"""

import ast
import os
import pathlib
import re
import subprocess
import sys

from mkdocs.structure.files import File

ROOT = pathlib.Path(__file__).parent.parent
EXAMPLES = ROOT / "examples"


def _figures(source: str) -> list[str]:
    return sorted(set(re.findall(r'"([\w-]+\.png)"', source)))


def output_path(script: pathlib.Path) -> pathlib.Path:
    """Where a run of ``script`` leaves its printed output (shared with the tests)."""
    return script.with_suffix(".out")


def _output(script: pathlib.Path, figures: list[str]) -> str:
    saved = output_path(script)
    fresh = saved.exists() and saved.stat().st_mtime >= script.stat().st_mtime
    fresh = fresh and all((EXAMPLES / f).exists() for f in figures)
    if not fresh:
        env = {k: v for k, v in os.environ.items() if k != "JAX_ENABLE_X64"}
        done = subprocess.run(
            [sys.executable, str(script)],
            capture_output=True,
            text=True,
            timeout=900,
            env=env,
            cwd=ROOT,
        )
        if done.returncode != 0:
            raise RuntimeError(f"{script.name} failed:\n{done.stderr[-3000:]}")
        saved.write_text(done.stdout)
    return saved.read_text()


def _page(script: pathlib.Path) -> tuple[str, list[str]]:
    source = script.read_text()
    docstring = ast.get_docstring(ast.parse(source)) or script.stem
    title, _, description = docstring.partition("\n")
    figures = _figures(source)
    output = _output(script, figures)
    parts = [
        f"# {title.strip()}",
        description.strip(),
        f"Source: `examples/{script.name}`.",
        "## Output",
        "```text\n" + output.rstrip() + "\n```",
    ]
    if figures:
        parts.append("## Figures")
        parts += [f"![{name}]({name})" for name in figures]
    parts += ["## Source", "```python\n" + source.rstrip() + "\n```"]
    return "\n\n".join(parts) + "\n", figures


def on_files(files, config):
    for script in sorted(EXAMPLES.glob("*.py")):
        content, figures = _page(script)
        files.append(File.generated(config, f"examples/{script.stem}.md", content=content))
        for name in figures:
            files.append(
                File.generated(config, f"examples/{name}", abs_src_path=str(EXAMPLES / name))
            )
    return files
