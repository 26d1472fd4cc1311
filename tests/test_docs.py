"""Each page's Python blocks run, in order, in one namespace: docs cannot drift from the code."""

import pathlib
import re
import warnings

import pytest

DOCS = pathlib.Path(__file__).parent.parent / "docs"
PAGES = sorted(p.name for p in DOCS.glob("*.md"))


@pytest.mark.parametrize("page", PAGES)
def test_code_blocks_run(page):
    text = (DOCS / page).read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    namespace = {"__name__": f"docs_{page}"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pages may show a ConvergenceWarning on purpose
        for block in blocks:
            exec(compile(block, f"{page}", "exec"), namespace)
