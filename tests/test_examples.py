"""Examples run as a user runs them (fresh process, default float32) and say the right things."""

import os
import pathlib
import re
import subprocess
import sys

import numpy as np

ROOT = pathlib.Path(__file__).parent.parent
EXAMPLES = ROOT / "examples"
CELLS = ROOT / "docs" / "_cells.py"


def _run(name, timeout=300):
    """Run ``examples/name`` cell by cell as the docs build does (``docs/_cells.py``), leave its
    output next to it for the docs build, and return what it printed without the cell markers."""
    env = {k: v for k, v in os.environ.items() if k != "JAX_ENABLE_X64"}
    env["MPLBACKEND"] = "Agg"  # no display needed; the scripts only save figures
    done = subprocess.run(
        [sys.executable, "-W", "error", str(CELLS), str(EXAMPLES / name)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    (EXAMPLES / name).with_suffix(".out").write_text(done.stdout)
    return re.sub(r"^#%% glmx-docs cell \d+\n", "", done.stdout, flags=re.M)


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
    self_rms, between_rms = map(
        float, re.search(r"self-filters (\d+\.\d+), between neurons (\d+\.\d+)", out).groups()
    )
    assert self_rms > between_rms  # the self-filters are recovered less well
    worst = re.search(r"The worst is the self-filter of neuron 7 .*?lag (\d+) ms", out)
    assert worst and int(worst.group(1)) <= 10  # at the first lags of a self-filter
    close = re.search(r"after one of its spikes: (\d+), where the true \w+ expects (\d+\.\d+)", out)
    observed, expected = map(float, close.groups())
    assert observed < expected / 2
    fitted_r2 = np.array(re.search(r"fitted:\s+(.*)", out).group(1).split(), dtype=float)
    true_r2 = np.array(re.search(r"true network:\s+(.*)", out).group(1).split(), dtype=float)
    assert np.all(fitted_r2 >= true_r2) and np.all(fitted_r2 - true_r2 < 0.02)
    data = [float(v) for v in re.search(r"data:\s+(.*)", out).group(1).split()]
    sim = [float(v) for v in re.search(r"sim:\s+(.*)", out).group(1).split()]
    np.testing.assert_allclose(sim, data, rtol=0.15)
    for name in (
        "coupled_network_data.png",
        "coupled_network_filters.png",
        "coupled_network_raster.png",
    ):
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
        assert abs(np.log10(ratio)) < 0.2  # less than one grid step (5 per decade)
    assert len({grid_strength for grid_strength, _ in rows}) > 1  # the best strengths differ
    population_rows = re.findall(r"^\s+\d+\s+\S+\s+\S+\s+([.\d]+)\s+[.\d]+$", out, re.M)
    assert abs(float(population_rows[0]) - grid) < 1e-5  # neuron 0 is the single neuron
    for name in ("tune_strength_single.png", "tune_strength_population.png"):
        assert (EXAMPLES / name).stat().st_size > 10_000


def test_encoding_model_prefers_history_and_its_bands_cover_the_filters():
    out = _run("encoding_model.py")
    # Spike times and stimulus frames binned back by pynapple give the simulated data exactly.
    assert "Binned spikes and stimulus equal the simulation's: True and True" in out
    assert re.search(r"Stimulus only:\s+converged", out)
    assert re.search(r"Stimulus \+ history:\s+converged", out)
    # History helps on held-out data and by both tests.
    r2_stim = float(re.search(r"^  stimulus only\s+([-.\d]+)$", out, re.M).group(1))
    r2_full = float(re.search(r"^  stimulus \+ history\s+([-.\d]+)$", out, re.M).group(1))
    assert 0 < r2_stim < r2_full
    for test in ("Likelihood-ratio", "Wald"):
        tested = test + r" test, history filter = 0:\s+chi2 = [.\d]+ on 6 df, p < 1e-10"
        assert re.search(tested, out)
    aic = re.search(r"AIC: stimulus only ([.\d]+), stimulus \+ history ([.\d]+)", out)
    assert float(aic.group(2)) < float(aic.group(1))
    assert re.search(r"std err\s+z\s+P>\|z\|", out)
    for name in ("Stimulus", "History"):
        held = re.search(name + r" filter: the 95% band holds the true filter at (\d+)% of", out)
        assert float(held.group(1)) >= 80
    number = r"([.\de+-]+)"
    rows = re.findall(rf"^  (\w+\[\d\]|intercept)\s+{number}\s+{number}\s+{number}$", out, re.M)
    assert len(rows) == 5
    for _, model_based, hc0, cluster in rows:
        assert 0.7 < float(hc0) / float(model_based) < 1.3
        assert 0.6 < float(cluster) / float(model_based) < 1.5
    for name in ("encoding_model_stimulus.png", "encoding_model_history.png"):
        assert (EXAMPLES / name).stat().st_size > 10_000


def test_tweedie_calcium_recovers_the_power_dispersion_and_filter():
    out = _run("tweedie_calcium.py")
    zeros = float(re.search(r"(\d+)% exact zeros", out).group(1))
    assert 50 <= zeros <= 90
    expected_zeros = float(re.search(r"true model expects (\d+)% zeros", out).group(1))
    assert abs(zeros - expected_zeros) <= 3
    table = re.findall(r"^  (1\.\d)   [-+.\d]+\s+(\d+)%$", out, re.M)
    assert [power for power, _ in table] == ["1.1", "1.4", "1.7", "1.9"]
    zeros_by_power = [float(z) for _, z in table]
    assert zeros_by_power == sorted(zeros_by_power, reverse=True)  # fewer zeros as power grows
    held_out_zeros = float(re.search(r"Held-out frames that are zero: (\d+)%", out).group(1))
    assert abs(zeros_by_power[1] - held_out_zeros) <= 3 < zeros_by_power[0] - held_out_zeros
    assert "Best power by held-out log-likelihood: 1.4 (true 1.4)" in out
    assert "Fit: converged" in out
    dispersion = re.search(r"Dispersion: true ([.\d]+), fitted ([.\d]+)", out)
    true, fitted = map(float, dispersion.groups())
    assert abs(fitted - true) < 0.1 * true
    cohen = float(re.search(r"Cohen's pseudo-R2\): ([-.\d]+)", out).group(1))
    ceiling = float(re.search(r"by the true model: ([-.\d]+)", out).group(1))
    assert 0 < cohen and abs(cohen - ceiling) < 0.01  # as much as the true model explains
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
    n_tuned = int(re.search(r"(\d+) neurons are tuned", out).group(1))
    assert tuned == kept and kept < n_tuned  # drops every untuned neuron, and some tuned ones
    errors, to_neighbours = map(int, re.search(r"Errors: (\d+), of which (\d+)", out).groups())
    assert to_neighbours == errors  # only neighbouring directions are confused
    sparse_accuracy = float(re.search(r"Group lasso test accuracy ([.\d]+)", out).group(1))
    assert sparse_accuracy > accuracy - 0.05
    for name in ("categorical_decoder_confusion.png", "categorical_decoder_neurons.png"):
        assert (EXAMPLES / name).stat().st_size > 10_000


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
    assert rows["1 SE"][2] < rows["no penalty"][2]  # the 1 SE choice costs prediction
    norms = re.findall(r"^\s+(\d)\s+([.\d]+)\s+([.\d]+)$", out, re.M)
    assert [int(k) for k, _, _ in norms] == list(range(8))
    for column in (1, 2):  # neuron 0's coupling dominates at both strengths
        assert float(norms[0][column]) > 5 * max(float(row[column]) for row in norms[1:])
    kept = re.search(r"kept by the best strength from neurons \[([\d, ]+)\]", out).group(1)
    kept_1se = re.search(r"kept by the 1 SE strength from neurons \[([\d, ]+)\]", out).group(1)
    assert len(kept.split(",")) == 8 and len(kept_1se.split(",")) < 8
    best_rms = float(re.search(r"RMS error at the best strength: ([.\d]+)", out).group(1))
    one_se_rms = float(re.search(r"RMS error at the 1 SE strength: ([.\d]+)", out).group(1))
    assert best_rms < 0.1 and one_se_rms > best_rms
    for name in ("choose_strength.png", "choose_strength_filters.png"):
        assert (EXAMPLES / name).stat().st_size > 10_000
