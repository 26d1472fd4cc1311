"""The benchmark scripts run end to end at tiny sizes (``--quick``, in subprocesses with
timeouts) and print their tables. Assertions are on the tables' structure, never on timings."""

import pathlib
import re
import subprocess
import sys

BENCHMARKS = pathlib.Path(__file__).parent.parent / "benchmarks"
#: A subset of the realistic workloads, in the suite's order: a Lasso (the proximal reference,
#: glum only), a Bernoulli Ridge (another family and scikit-learn's LogisticRegression), and the
#: large population (the peers' loops over some of the neurons, their times extrapolated). The
#: whole realistic quick run takes about a minute, mostly compiling.
SUITE_WORKLOADS = ("poisson-lasso", "bernoulli-ridge", "population-1000")
NUMBER = r"-?[\d.]+(?:e[+-]?\d+)?"
#: A time, possibly extrapolated from some of the neurons (" ×4").
TIME = rf"{NUMBER}(?: ×\d+)?"


def _script(script, *args, timeout):
    done = subprocess.run(
        [sys.executable, script, *args],
        cwd=BENCHMARKS,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    return done.stdout


def _row(out, *cells):
    """Whether a markdown table row starts with ``cells`` (regular expressions)."""
    return re.search(r"^\| " + r" \| ".join(cells) + r" \|", out, re.M) is not None


def test_quick_suite_reports_glmx_and_peers_on_realistic_workloads():
    # The slow peers (NeMoS, statsmodels) and glmx's extra solver rows are left out to keep this
    # a smoke test; every glmx fit compiles, and compilation dominates at these sizes.
    out = _script(
        "suite.py",
        "--quick",
        "--designs",
        "realistic",
        "--only",
        ",".join(SUITE_WORKLOADS),
        "--skip-peers",
        "statsmodels,nemos",
        "--glmx-solvers",
        "",
        timeout=300,
    )
    sections = out.split("\n## ")[1:]
    assert len(sections) == len(SUITE_WORKLOADS) + 1, out[-3000:]
    for section in sections[:-1]:
        assert "(realistic design)" in section.splitlines()[0], section
        assert re.search(rf"^condition number: X {NUMBER}, \[1, X\] {NUMBER}", section, re.M)
        assert _row(section, r"glmx \(solver=None\)", NUMBER, NUMBER, r"\d+", NUMBER), section
        assert _row(section, "glum GeneralizedLinearRegressor[^|]*", TIME, TIME), section
    lasso, bernoulli, population = sections[:-1]
    assert re.search(r"^non-zero coefficients at the optimum: \d+ of 20", lasso, re.M), lasso
    assert _row(bernoulli, r"scikit-learn LogisticRegression \(newton-cholesky\)", TIME), bernoulli
    assert _row(population, r"scikit-learn [^|]*loop over 5 of 20 neurons", rf"{NUMBER} ×4")
    assert re.search(r"^×4: extrapolated", population, re.M), population

    summary = sections[-1]
    assert summary.startswith("Summary"), summary
    assert "### Realistic designs" in summary and "i.i.d." not in summary, summary
    for key in SUITE_WORKLOADS:
        # glmx reaches the reference optimum: the gap target is met (a value, not a timing).
        gap = rf"{NUMBER} PASS \(≤1e-10\)"
        assert _row(summary, re.escape(key), NUMBER, r"\d+", gap), summary


def test_quick_fresh_process_table(tmp_path):
    cache = tmp_path / "cache"
    out = _script(
        "fresh.py",
        "--quick",
        "--only",
        "gamma",
        "--libraries",
        "glmx,sklearn",
        "--compilation-cache",
        str(cache),
        "--timeout",
        "120",
        timeout=300,
    )
    assert re.search(r"^\| workload \| library \| setup s \| first fit s \| warm s \|", out, re.M)
    workload = r"gamma \(X [\d.]+ MB\)"
    timed = (NUMBER, NUMBER, NUMBER, NUMBER, NUMBER)  # setup, first, warm, peak MB, × X
    for process in ("1st", "2nd"):
        label = rf"glmx \(solver=None\), compilation cache: {process} process"
        assert _row(out, workload, label, *timed), out
    assert _row(out, workload, r"scikit-learn GammaRegressor \(newton-cholesky\)", *timed), out
    after = re.search(r"^compilation cache .*: (\d+) files after", out, re.M)
    assert after and int(after.group(1)) > 0, out


def test_quick_scaling_tables(tmp_path):
    plot = tmp_path / "scaling.png"
    out = _script(
        "scaling.py",
        "--quick",
        "--min-n",
        "1e4",
        "--max-n",
        "1e4",
        "--compare-n",
        "1e4",
        "--neurons",
        "3",
        "--population-n",
        "2000",
        "--timeout",
        "120",
        "--plot",
        str(plot),
        timeout=300,
    )
    rows, compare, neurons = out.split("\n## ")[1:]
    assert rows.startswith("(a) Rows") and _row(rows, "10,000", *[NUMBER] * 4, r"\d+"), rows
    assert compare.startswith("glmx beside glum at n=10,000"), compare
    assert _row(compare, r"glmx \(solver=None\)", NUMBER, NUMBER, r"\d+"), compare
    assert _row(compare, "glum GeneralizedLinearRegressor", NUMBER, NUMBER, r"\d+"), compare
    assert neurons.startswith("(b) Neurons") and _row(neurons, "3", NUMBER, NUMBER), neurons
    assert plot.stat().st_size > 10_000


def _run(script, *args):
    return _script(script, "--quick", "--repeats", "1", *args, timeout=300)


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


def test_quick_cross_validation_benchmark_reports_every_library():
    out = _run("cv.py", "--skip-peers", "nemos", "--peer-units", "2")
    for penalty in ("ElasticNet", "Ridge"):
        assert _row(out, penalty, r"glmx\.cross_validate", NUMBER, NUMBER, "", ""), out
        assert _row(out, penalty, "glum", "", TIME, NUMBER, r"\d/2"), out
    assert _row(out, "Ridge", "sklearn", "", TIME, NUMBER, r"\d/2"), out
