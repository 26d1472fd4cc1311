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


def _run(script, *args):
    done = subprocess.run(
        [sys.executable, script, "--quick", "--repeats", "1", *args],
        cwd=BENCHMARKS,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_quick_inference_benchmark_agrees_with_statsmodels():
    out = _run("inference.py")
    rows = re.findall(r"^\| (single|population).*\| ([\d.e+-]+) \|$", out, re.M)
    assert len(rows) == 4, out
    assert all(float(diff) < 1e-6 for _, diff in rows), out


def test_quick_estimator_benchmark_picks_the_same_strength_as_scikit_learn():
    out = _run("estimator.py", "--skip-peers", "nemos,glum")
    picks = re.findall(
        r"^\| (glmx\.sklearn|scikit-learn \w+) \|(?:[^|]*\|){4} ([\d.e-]+) \|", out, re.M
    )
    assert len(picks) == 2 and picks[0][1] == picks[1][1], out
