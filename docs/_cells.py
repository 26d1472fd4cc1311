"""Narrated example scripts: split a script into prose and code cells, and run it cell by cell.

An example in ``examples/`` is a plain Python script (``python examples/x.py`` runs it) written
in the "percent" cell format that Jupytext, VS Code and Spyder read::

    '''Title.

    One paragraph for the gallery card.
    '''

    # %% [markdown]
    # Prose in Markdown, each line behind "# ". A figure is an image line whose alt text is
    # its caption:
    #
    # ![The fitted filter and its 95% band.](encoding_model_history.png)

    # %%
    code ...

Run as ``python docs/_cells.py examples/x.py``, the script's code cells execute one after another
in one namespace, and a marker line before each cell's output lets the docs build put every
output under the cell that printed it. The tests run the examples this way and leave the output
next to the script, so the docs build reuses it instead of running the examples again.
"""

import ast
import dataclasses
import pathlib
import re
import sys

#: Printed on a line of its own before the output of code cell ``i``.
MARKER = "#%% glmx-docs cell {}"
_MARKER = re.compile(r"^#%% glmx-docs cell (\d+)$", re.M)
_HEADER = re.compile(r"^# %%(.*)$")


@dataclasses.dataclass(frozen=True)
class Cell:
    kind: str  # "markdown" or "code"
    text: str
    first_line: int  # 1-based line of the cell's first line in the script


def split(source: str) -> tuple[str, list[Cell]]:
    """The script's docstring and its cells, in order. Code before the first cell header
    (after the docstring) is a code cell of its own."""
    module = ast.parse(source)
    docstring = ast.get_docstring(module) or ""
    lines = source.splitlines()
    start = 0
    if docstring:
        start = module.body[0].end_lineno
    cells: list[Cell] = []
    kind, body, first = "code", [], start + 1

    def close():
        text = "\n".join(body).strip("\n")
        if kind == "markdown":
            text = "\n".join(_uncomment(line) for line in text.splitlines()).strip("\n")
        if text.strip():
            cells.append(Cell(kind, text, first))

    for number, line in enumerate(lines[start:], start=start + 1):
        header = _HEADER.match(line)
        if header:
            close()
            kind = "markdown" if "[markdown]" in header.group(1) else "code"
            body, first = [], number + 1
        else:
            if not body:
                first = number
            body.append(line)
    close()
    return docstring, cells


def _uncomment(line: str) -> str:
    if line.startswith("# "):
        return line[2:]
    if line.strip() == "#":
        return ""
    raise ValueError(f"a markdown cell line must start with '# ' or be '#', got {line!r}")


def outputs(printed: str) -> dict[int, str]:
    """The output of each code cell, from what ``run`` printed."""
    pieces = _MARKER.split(printed)
    return {int(index): text.strip("\n") for index, text in zip(pieces[1::2], pieces[2::2])}


def run(script: pathlib.Path) -> None:
    """Execute the script's code cells in one namespace, as ``python script`` would."""
    _, cells = split(script.read_text())
    namespace = {"__name__": "__main__", "__file__": str(script)}
    sys.path.insert(0, str(script.parent))
    for index, cell in enumerate(c for c in cells if c.kind == "code"):
        print(MARKER.format(index), flush=True)
        # Pad with blank lines so tracebacks name the script's own line numbers.
        code = compile("\n" * (cell.first_line - 1) + cell.text, str(script), "exec")
        exec(code, namespace)
        sys.stdout.flush()


if __name__ == "__main__":
    run(pathlib.Path(sys.argv[1]).resolve())
