"""Time and memory of glmx's default fit against the number of rows and against the number of
neurons, on realistic designs (`designs.py`), each size in a fresh process.

    python benchmarks/scaling.py [--min-n 1e5] [--max-n 1e7] [--compare-n 2e6]
                                 [--neurons 10,100,1000] [--population-n 50000]
                                 [--plot FILE.png] [--quick] [--timeout 3600]

Poisson, Ridge 1e-3, p=100 throughout, glmx's default solver (``solver=None``), NumPy inputs.

(a) **Rows**: float32, n in 1e5, 3e5, 1e6, 3e6, 1e7 (from ``--min-n`` to ``--max-n``; the
    1-3-10 steps). Each n gets a fresh process (`_child.py`, as `fresh.py` uses): the first
    fit (compilation included), one warm fit, the warm time per row, and the peak resident
    memory above the data (also as a multiple of ``X.nbytes``; 4 GB at n=1e7). The design is
    simulated in float64 one signal at a time and stored in float32
    (`_workloads.design_matrix_lean`: the same values as `designs.design_matrix`, about 8 GB
    at the peak and 4 minutes at n=1e7), written to a temporary directory and freed before the
    child starts.
    Then glmx beside glum at n = ``--compare-n`` (2e6) in float64, in fresh processes too:
    their warm times, the ratio, and their objectives (relative to the better one).
(b) **Neurons**: a population of 10, 100 and 1,000 neurons (``--neurons``) sharing one float64
    design, n = ``--population-n`` (50,000), one ``PopulationGLM`` fit each, in a fresh process:
    the warm time per fit and per neuron, and the first fit and memory as in (a).
(c) ``--plot FILE.png`` (matplotlib): warm time against n (log-log, with a line proportional
    to n through the smallest size) and against neurons (log-log, likewise).

``--quick``: a smoke test (n 1e4 and 3e4, comparison at n=2e4, 2/5/10 neurons at n=3,000) unless
the sizes are given. Every child has a timeout (``--timeout`` seconds).
"""

import argparse
import os
import platform
import sys
import tempfile
import time

import designs
import numpy as np
from _child import run_child, spec_for, write_data
from _common import finish, markdown_table
from _workloads import Workload, design_matrix_lean

P = 100
RIDGE = 1e-3
#: The sizes of (a): 1-3-10 steps, from which --min-n and --max-n select.
N_STEPS = (1e4, 3e4, 1e5, 3e5, 1e6, 3e6, 1e7, 3e7)
QUICK = {"min_n": 1e4, "max_n": 3e4, "compare_n": 2e4, "neurons": "2,5,10", "population_n": 3000}
FULL = {"min_n": 1e5, "max_n": 1e7, "compare_n": 2e6, "neurons": "10,100,1000"}


def workload(n: int, neurons: int | None = None) -> Workload:
    key = f"n={n:,}" if neurons is None else f"{neurons} neurons"
    return Workload(key, "Poisson Ridge", "poisson", "ridge", RIDGE, n, P, "realistic", neurons)


class _RowsAsFloat64:
    """``X`` seen by `designs.responses` in float64, one block of rows at a time: its ``X @
    coef`` does not copy a float32 ``X`` whole to float64."""

    def __init__(self, X, rows=1 << 20):
        self.X, self.rows = X, rows

    def __matmul__(self, other):
        out = np.empty((self.X.shape[0], other.shape[1]))
        for start in range(0, self.X.shape[0], self.rows):
            block = self.X[start : start + self.rows]
            out[start : start + self.rows] = block.astype(np.float64) @ other
        return out


def simulate(n: int, dtype, neurons=None):
    """``(X, y, seconds)``: a realistic design of ``n`` rows and ``P`` columns, Poisson
    responses (``(n, neurons)`` for a population), both in ``dtype``."""
    start = time.perf_counter()
    d = designs.for_features(n, P)
    X = design_matrix_lean(d, dtype)
    y = designs.responses(_RowsAsFloat64(X), "poisson", d, neurons=neurons)[0].astype(dtype)
    return X, y, time.perf_counter() - start


def _child_row(result) -> dict:
    """A child's result with the derived numbers, or its error."""
    if "error" in result:
        return result
    memory = result["memory"]
    return {
        **result,
        "peak_mb": memory["peak"] / 1e6,
        "peak_x": memory["peak"] / result["x_nbytes"],
        "warm_x": memory.get("warm", np.nan) / result["x_nbytes"],
    }


def rows_part(tmp, ns, timeout) -> list:
    """(a): one child per n, float32."""
    out = []
    for n in ns:
        print(f"  rows: n={n:,} (simulating)", file=sys.stderr, flush=True)
        X, y, seconds = simulate(n, np.float32)
        directory = os.path.join(tmp, "rows")
        write_data(directory, X, y)
        del X, y
        print(f"  rows: n={n:,} (fitting)", file=sys.stderr, flush=True)
        result = _child_row(run_child(spec_for("glmx", workload(n), directory), timeout))
        out.append({"n": n, "simulate": seconds, **result})
    return out


def print_rows(rows):
    body = []
    for r in rows:
        if "error" in r:
            body.append([f"{r['n']:,}", f"{r['simulate']:.1f}", r["error"]] + [""] * 7)
            continue
        body.append(
            [
                f"{r['n']:,}",
                f"{r['simulate']:.1f}",
                f"{r['first']:.2f}",
                f"{r['warm']:.3f}",
                f"{r['warm'] / r['n'] * 1e9:.0f}",
                r["iters"],
                f"{r['x_nbytes'] / 1e6:.0f}",
                f"{r['peak_mb']:.0f}",
                f"{r['peak_x']:.2f}",
                f"{r['warm_x']:.2f}",
            ]
        )
    header = [
        "n",
        "simulate s",
        "first fit s",
        "warm s",
        "warm ns/row",
        "iters",
        "X MB",
        "peak above data MB",
        "× X",
        "warm fit's peak × X",
    ]
    print(markdown_table(header, body))


def compare_part(tmp, n, timeout) -> list:
    """glmx and glum at ``n`` rows, float64, one child each."""
    print(f"  compare: n={n:,} (simulating)", file=sys.stderr, flush=True)
    X, y, _ = simulate(n, np.float64)
    directory = os.path.join(tmp, "compare")
    write_data(directory, X, y)
    del X, y
    out = []
    for library in ("glmx", "glum"):
        print(f"  compare: {library}", file=sys.stderr, flush=True)
        spec = spec_for(library, workload(n), directory, objective=True)
        out.append({"library": library, **_child_row(run_child(spec, timeout))})
    return out


def print_compare(rows, n):
    done = [r for r in rows if "error" not in r]
    best = min((r["objective"][0] for r in done), default=np.nan)
    body = []
    for r in rows:
        if "error" in r:
            body.append([r["library"], r["error"]] + [""] * 6)
            continue
        body.append(
            [
                r["label"],
                f"{r['first']:.2f}",
                f"{r['warm']:.3f}",
                r["iters"],
                f"{r['peak_mb']:.0f}",
                f"{r['peak_x']:.2f}",
                f"{r['warm_x']:.2f}",
                f"{(r['objective'][0] - best) / abs(best):.1e}",
            ]
        )
    header = [
        "library",
        "first fit s",
        "warm s",
        "iters",
        "peak above data MB",
        "× X",
        "warm fit's peak × X",
        "obj above the better",
    ]
    print(markdown_table(header, body))
    warm = {r["library"]: r["warm"] for r in done}
    if {"glmx", "glum"} <= warm.keys():
        print(
            f"n={n:,}, float64: glum warm {warm['glum']:.3f} s, glmx warm {warm['glmx']:.3f} s, "
            f"glmx/glum {warm['glmx'] / warm['glum']:.3f}"
        )


def neurons_part(tmp, counts, n, timeout) -> list:
    """(b): one child per population size, float64, one shared design."""
    out = []
    d = designs.for_features(n, P)
    X = design_matrix_lean(d)
    for k in counts:
        print(f"  neurons: {k}", file=sys.stderr, flush=True)
        Y = designs.responses(X, "poisson", d, neurons=k)[0]
        directory = os.path.join(tmp, "neurons")
        write_data(directory, X, Y)
        del Y
        result = _child_row(run_child(spec_for("glmx", workload(n, k), directory), timeout))
        out.append({"neurons": k, **result})
    return out


def print_neurons(rows):
    body = []
    for r in rows:
        if "error" in r:
            body.append([r["neurons"], r["error"]] + [""] * 6)
            continue
        body.append(
            [
                r["neurons"],
                f"{r['first']:.2f}",
                f"{r['warm']:.3f}",
                f"{r['warm'] / r['neurons'] * 1e3:.2f}",
                r["iters"],
                f"{r['peak_mb']:.0f}",
                f"{r['peak_x']:.2f}",
                f"{r['warm_x']:.2f}",
            ]
        )
    header = [
        "neurons",
        "first fit s",
        "warm s",
        "warm ms/neuron",
        "iters (max)",
        "peak above data MB",
        "× X",
        "warm fit's peak × X",
    ]
    print(markdown_table(header, body))


def plot(path, rows, neurons):
    """Two panels: warm time against n and against neurons, log-log, with a line proportional
    to the size through the smallest one."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, data, key, label in (
        (axes[0], rows, "n", "rows n (float32, p=100)"),
        (axes[1], neurons, "neurons", "neurons (float64, p=100)"),
    ):
        done = [r for r in data if "error" not in r]
        if not done:
            ax.set_title(f"no results against {key}")
            continue
        x = np.array([r[key] for r in done], float)
        warm = np.array([r["warm"] for r in done])
        first = np.array([r["first"] for r in done])
        ax.loglog(x, warm, "o-", label="glmx warm fit")
        ax.loglog(x, first, "s--", alpha=0.6, label="glmx first fit (fresh process)")
        ax.loglog(x, warm[0] * x / x[0], "k:", label="proportional to " + key)
        ax.set_xlabel(label)
        ax.set_ylabel("seconds")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    axes[0].set_title("Poisson Ridge, glmx default solver")
    axes[1].set_title("PopulationGLM, Poisson Ridge")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    print(f"plot: {path}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--min-n", type=float, help=f"smallest n of (a) (default {FULL['min_n']:g})"
    )
    parser.add_argument("--max-n", type=float, help=f"largest n of (a) (default {FULL['max_n']:g})")
    parser.add_argument(
        "--compare-n",
        type=float,
        help=f"n of glmx vs glum, 0 to skip (default {FULL['compare_n']:g})",
    )
    parser.add_argument(
        "--neurons", help=f"population sizes of (b), '' to skip (default {FULL['neurons']})"
    )
    parser.add_argument(
        "--population-n", type=int, default=None, help="rows in (b) (default 50000)"
    )
    parser.add_argument("--plot", metavar="FILE.png", help="save the two panels here")
    parser.add_argument("--quick", action="store_true", help="tiny sizes (smoke test)")
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds per child")
    args = parser.parse_args(argv)
    preset = {**FULL, "population_n": 50_000, **(QUICK if args.quick else {})}
    for name, value in preset.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    ns = [int(v) for v in N_STEPS if args.min_n <= v <= args.max_n]
    if not ns:
        ns = [int(args.max_n)]
    counts = [int(k) for k in args.neurons.split(",") if k.strip()]

    print(
        f"Python {platform.python_version()}, numpy {np.__version__}, {os.cpu_count()} cores, "
        f"load average {os.getloadavg()[0]:.2f}; Poisson Ridge {RIDGE:g}, p={P}, glmx "
        f"solver=None, realistic designs; one process per size, timeout {args.timeout:g} s"
    )
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="glmx-scaling-") as tmp:
        rows = rows_part(tmp, ns, args.timeout)
        print("\n## (a) Rows: float32, one fresh process per n\n")
        print_rows(rows)
        if args.compare_n:
            n = int(args.compare_n)
            compare = compare_part(tmp, n, args.timeout)
            print(f"\n## glmx beside glum at n={n:,}, float64, fresh processes\n")
            print_compare(compare, n)
        neurons = neurons_part(tmp, counts, args.population_n, args.timeout) if counts else []
        if neurons:
            print(f"\n## (b) Neurons: PopulationGLM, n={args.population_n:,}, float64\n")
            print_neurons(neurons)
    results = rows + neurons + (compare if args.compare_n else [])
    for r in results:
        for warning in r.get("warnings", []):
            print(f"note: {r.get('label', 'glmx')} warned: {warning}")
    if args.plot:
        plot(args.plot, rows, neurons)
    print(
        "\nfirst fit: in a new process (imports and start-up before it, compilation in it); "
        "warm: the fit after it; peak above data: the largest RSS during both fits minus the "
        "RSS just before the first (× X: over X.nbytes; includes the compiler's memory and "
        "glmx's aligned copy of X); warm fit's peak: the largest RSS during the warm fit minus "
        f"the RSS just before it. total {time.perf_counter() - start:.0f} s; load average "
        f"{os.getloadavg()[0]:.2f}"
    )
    return 1 if any("error" in r for r in results) else 0


if __name__ == "__main__":
    finish(main())
