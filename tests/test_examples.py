"""Examples run as a user runs them (fresh process, default float32) and say the right things."""

import os
import pathlib
import re
import subprocess
import sys

import numpy as np

EXAMPLES = pathlib.Path(__file__).parent.parent / "examples"


def _run(name, timeout=300):
    env = {k: v for k, v in os.environ.items() if k != "JAX_ENABLE_X64"}
    done = subprocess.run(
        [sys.executable, "-W", "error", str(EXAMPLES / name)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    # The docs build (tests/test_site.py) shows this output beside the example's figures.
    (EXAMPLES / name).with_suffix(".out").write_text(done.stdout)
    return done.stdout


def test_quickstart_recovers_the_neuron():
    out = _run("quickstart.py")
    assert "Fit: converged" in out
    baseline = re.search(r"Baseline \(intercept\)\s+([-+.\d]+)\s+([-+.\d]+)", out)
    assert abs(float(baseline.group(1)) - float(baseline.group(2))) < 0.1
    mcfadden = float(re.search(r"McFadden ([-.\d]+)", out).group(1))
    assert 0.02 < mcfadden < 0.5
    stim = re.findall(r"lag\s+\d+ ms\s+([-+.\d]+)\s+([-+.\d]+)", out)[:12]
    true, fitted = (list(map(float, col)) for col in zip(*stim))
    assert max(abs(t - f) for t, f in zip(true, fitted)) < 0.15


def test_coupled_network_recovers_filters_and_rates():
    out = _run("coupled_network.py")
    assert "all 12 neurons converged" in out
    median_rms = float(re.search(r"RMS error median ([.\d]+)", out).group(1))
    assert median_rms < 0.1
    data = [float(v) for v in re.search(r"data:\s+(.*)", out).group(1).split()]
    sim = [float(v) for v in re.search(r"sim:\s+(.*)", out).group(1).split()]
    np.testing.assert_allclose(sim, data, rtol=0.15)
    for name in ("coupled_network_filters.png", "coupled_network_raster.png"):
        assert (EXAMPLES / name).stat().st_size > 10_000


def test_tune_strength_matches_the_grid_search():
    out = _run("tune_strength.py")
    grid = float(re.search(r"grid search:\s+strength \S+, held-out NLL ([.\d]+)", out).group(1))
    descent = float(
        re.search(r"gradient descent: strength \S+, held-out NLL ([.\d]+)", out).group(1)
    )
    unpenalised = float(re.search(r"no penalty:\s+held-out NLL ([.\d]+)", out).group(1))
    assert descent <= grid + 1e-4 < unpenalised
    excess = float(re.search(r"excess of descent over the grid: ([-+.\de]+)", out).group(1))
    assert excess < 1e-4
    rows = re.findall(r"^\s+\d+\s+([.\de+-]+)\s+([.\de+-]+)\s+[.\d]+\s+[.\d]+$", out, re.M)
    assert len(rows) == 6
    for grid_strength, descent_strength in rows:
        ratio = float(descent_strength) / float(grid_strength)
        assert 0.3 < ratio < 3.0  # within about one grid step either way
    for name in ("tune_strength_single.png", "tune_strength_population.png"):
        assert (EXAMPLES / name).stat().st_size > 10_000


def test_history_filter_band_covers_the_true_filter():
    out = _run("history_filter.py")
    assert "Fit: converged" in out
    assert re.search(r"std err\s+z\s+P>\|z\|", out)
    held = float(re.search(r"holds the true filter at (\d+)% of the lags", out).group(1))
    assert held >= 80
    assert "history filter = 0: chi2" in out and "p < 1e-10" in out
    rows = re.findall(r"^  (stimulus\[0\]|intercept)\s+([.\d]+)\s+([.\d]+)\s+([.\d]+)$", out, re.M)
    assert len(rows) == 2
    for _, model_based, hc0, cluster in rows:
        assert 0.7 < float(hc0) / float(model_based) < 1.3
        assert 0.6 < float(cluster) / float(model_based) < 1.5
    assert (EXAMPLES / "history_filter_band.png").stat().st_size > 10_000


def test_tweedie_calcium_recovers_the_power_dispersion_and_filter():
    out = _run("tweedie_calcium.py")
    zeros = float(re.search(r"(\d+)% exact zeros", out).group(1))
    assert 50 <= zeros <= 90
    assert "Best power by held-out log-likelihood: 1.4 (true 1.4)" in out
    assert "Fit: converged" in out
    dispersion = re.search(r"Dispersion: true ([.\d]+), fitted ([.\d]+)", out)
    true, fitted = map(float, dispersion.groups())
    assert abs(fitted - true) < 0.1 * true
    rms = float(re.search(r"RMS error ([.\d]+)", out).group(1))
    assert rms < 0.1
    held = float(re.search(r"holds the true filter at (\d+)% of the lags", out).group(1))
    assert held >= 80
    assert (EXAMPLES / "tweedie_calcium.png").stat().st_size > 10_000


def test_categorical_decoder_decodes_the_stimulus():
    out = _run("categorical_decoder.py")
    assert "Ridge decoder: converged" in out
    accuracy = float(re.search(r"Test accuracy ([.\d]+)", out).group(1))
    assert accuracy > 0.7
    kept, total = map(int, re.search(r"keeps (\d+) of (\d+) neurons", out).groups())
    tuned = int(re.search(r"Kept neurons that are tuned: (\d+)", out).group(1))
    assert kept < total and tuned >= 0.9 * kept
    assert (EXAMPLES / "categorical_decoder_confusion.png").stat().st_size > 10_000


def test_choose_strength_cross_validates_a_lasso_path():
    out = _run("choose_strength.py")
    assert "all fits converged: True" in out
    rows = dict(
        (name.strip(), (float(s), int(k), float(ll)))
        for name, s, k, ll in re.findall(
            r"^(best|1 SE|no penalty)\s+([.\de+-]+)\s+(\d+)\s+([-.\d]+)$", out, re.M
        )
    )
    assert rows["1 SE"][0] > rows["best"][0] > 0
    assert rows["1 SE"][1] <= rows["best"][1] < rows["no penalty"][1]
    assert rows["best"][2] > rows["no penalty"][2]  # the penalty helps on the held-out minute
    assert float(re.search(r"RMS error at the best strength: ([.\d]+)", out).group(1)) < 0.1
    assert (EXAMPLES / "choose_strength.png").stat().st_size > 10_000
