"""The benchmark suite runs end to end (tiny sizes) and reports glmx on every workload."""

import pathlib
import re
import subprocess
import sys

BENCHMARKS = pathlib.Path(__file__).parent.parent / "benchmarks"
WORKLOADS = (
    "poisson",
    "poisson-ridge",
    "poisson-lasso",
    "gamma",
    "bernoulli-ridge",
    "population",
)


def test_quick_suite_reports_glmx_on_every_workload():
    # The slow peers (NeMoS, statsmodels) and glmx's extra solver rows are left out to keep this
    # a smoke test; every glmx fit compiles, and compilation dominates at these sizes.
    done = subprocess.run(
        [
            sys.executable,
            "suite.py",
            "--quick",
            "--skip-peers",
            "statsmodels,nemos",
            "--glmx-solvers",
            "",
        ],
        cwd=BENCHMARKS,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    sections = done.stdout.split("\n## ")[1:]
    assert len(sections) == len(WORKLOADS) + 1, done.stdout[-3000:]
    for section in sections[:-1]:
        assert re.search(r"^\| glmx \(solver=None\) \| [\d.]+ \| [\d.]+ ", section, re.M), section
    summary = sections[-1]
    assert summary.startswith("Summary"), summary
    for key in WORKLOADS:
        assert re.search(rf"^\| {re.escape(key)} \| [\d.]+ ", summary, re.M), summary
