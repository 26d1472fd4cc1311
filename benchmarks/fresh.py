"""First fits in a fresh process, and the peak memory a fit needs above its data, on the
suite's realistic workloads.

    python benchmarks/fresh.py [--only NAME[,NAME]] [--quick] [--no-warm]
                               [--libraries glmx,sklearn,glum,statsmodels,nemos]
                               [--compilation-cache DIR] [--timeout 1800]

For every realistic workload of `suite.py` (``poisson``, ``poisson-ridge``, ``poisson-lasso``,
``bernoulli-ridge``, ``gamma``, ``population``, ``population-1000``; float64) and every library
(glmx with its default solver, scikit-learn, glum, statsmodels for the unregularized workloads
only, NeMoS if it is installed), one new Python process (`_child.py`) loads the data from
``.npy`` files the parent wrote once, imports the library, and then times one fit: the
**first fit** in a fresh process (imports and JAX's start-up done before, tracing and
compilation included), then one more fit (**warm**; ``--no-warm`` skips it). The **peak memory
above the data** is the largest resident memory during the two fits minus the resident memory
just before the first (sampled every 2 ms, and the kernel's high-water mark), in MB and as a
multiple of ``X.nbytes``; the first fit's includes the compiler's memory and what stays held
(compiled programs, caches), so the warm fit's own peak, above the memory just before it, is
given too. The libraries get NumPy arrays, as a user's script would pass them
(glmx copies them to an aligned device buffer; statsmodels' column of ones is added before the
baseline). Also printed: the setup time (the library's import and the runner's construction)
and each fit's objective above the best of the workload's fits (relative; at most ~1e-8 means
they reached the same optimum).

On ``population-1000`` the peers that loop over neurons fit the first 100 neurons only; their
times are multiplied by 10 (marked "×10": extrapolated) and their memory is that of the
100-neuron loop (a loop holds one neuron's work at a time).

``--compilation-cache DIR``: glmx is run in two processes with JAX's persistent compilation
cache in ``DIR`` (every compilation written): the first fills the cache, and the second
process's first fit is the "cache warm" first fit. Both are printed. Remove ``DIR`` between
runs to see a cold first process (its current number of files is printed).

Every child has a timeout (``--timeout`` seconds; it is killed, and the row says so).
"""

import argparse
import importlib.util
import os
import platform
import sys
import tempfile
import time

import numpy as np
from _child import run_child, spec_for, write_data
from _common import finish, markdown_table, parse_names
from _workloads import PEER_NAMES, data_key, realistic_workloads, simulate, time_scale

LIBRARIES = ("glmx", "sklearn", "glum", "statsmodels", "nemos")
NAMES = {"glmx": "glmx", **PEER_NAMES}
_MODULES = {"glmx": "glmx", "sklearn": "sklearn", "glum": "glum", "statsmodels": "statsmodels"}


def installed(libraries) -> list:
    """The libraries that can be imported (without importing them here); notes the others."""
    found = []
    for library in libraries:
        module = _MODULES.get(library, library)
        if importlib.util.find_spec(module) is None:
            print(f"({NAMES[library]}: not installed, skipped)")
        else:
            found.append(library)
    return found


def runs_for(w, libraries, cache_dir) -> list:
    """``(library, row suffix, cache directory)`` for one workload: one child per library, two
    for glmx with a compilation cache; statsmodels only without a penalty."""
    runs = []
    for library in libraries:
        if library == "statsmodels" and w.penalty != "none":
            continue
        if library == "glmx" and cache_dir:
            runs.append((library, ", compilation cache: 1st process", cache_dir))
            runs.append((library, ", compilation cache: 2nd process", cache_dir))
        else:
            runs.append((library, "", None))
    return runs


def _excess(objective, best) -> float:
    """Relative objective above the best, over the neurons the row fitted."""
    objective = np.asarray(objective)
    best = best[: objective.size]
    return float(np.sum(objective - best) / np.sum(np.abs(best)))


def table(records) -> str:
    """The markdown table of ``(workload, library, suffix, result)`` records."""
    best = {}
    for w, _, _, result in records:  # per workload, the best objective of each neuron
        f = result.get("objective")
        if f is None:
            continue
        f = np.asarray(f)
        old = best.get(w.key)
        if old is None or old.size < f.size:
            merged = f.copy()
            if old is not None:
                merged[: old.size] = np.minimum(merged[: old.size], old)
            best[w.key] = merged
        else:
            old[: f.size] = np.minimum(old[: f.size], f)
    body = []
    for w, library, suffix, result in records:
        name = f"{w.key} (X {w.n * w.p * 8 / 1e6:.3g} MB)"
        if "error" in result or "unsupported" in result:
            why = result.get("error") or f"unsupported: {result['unsupported']}"
            body.append([name, NAMES[library] + suffix, why] + [""] * 7)
            continue
        scale = time_scale(library, w)
        mark = f" ×{scale:g}" if scale != 1 else ""
        memory = result["memory"]
        x = result["x_nbytes"]
        warm = "" if result["warm"] is None else f"{result['warm'] * scale:.3f}{mark}"
        excess = (
            "" if "objective" not in result else f"{_excess(result['objective'], best[w.key]):.1e}"
        )
        body.append(
            [
                name,
                result["label"] + suffix,
                f"{result['setup']:.2f}",
                f"{result['first'] * scale:.2f}{mark}",
                warm,
                f"{memory['peak'] / 1e6:.0f}",
                f"{memory['peak'] / x:.2f}",
                "" if "warm" not in memory else f"{memory['warm'] / x:.2f}",
                "" if result["iters"] is None else result["iters"],
                excess,
            ]
        )
    header = [
        "workload",
        "library",
        "setup s",
        "first fit s",
        "warm s",
        "peak above data MB",
        "× X",
        "warm fit's peak × X",
        "iters",
        "obj above best",
    ]
    return markdown_table(header, body)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", help="comma-separated realistic workloads (default: all)")
    parser.add_argument(
        "--libraries", default=",".join(LIBRARIES), help=f"comma-separated, from {LIBRARIES}"
    )
    parser.add_argument("--quick", action="store_true", help="tiny sizes (smoke test)")
    parser.add_argument("--no-warm", action="store_true", help="first fits only")
    parser.add_argument(
        "--compilation-cache",
        metavar="DIR",
        help="run glmx twice with JAX's persistent compilation cache in DIR",
    )
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds per child")
    args = parser.parse_args(argv)
    suite = realistic_workloads(args.quick)
    only = parse_names(args.only, [w.key for w in suite], "--only")
    selected = [w for w in suite if not only or w.key in only]
    libraries = installed(parse_names(args.libraries, LIBRARIES, "--libraries"))
    cache_dir = args.compilation_cache and os.path.abspath(args.compilation_cache)

    print(
        f"Python {platform.python_version()}, numpy {np.__version__}, {os.cpu_count()} cores, "
        f"float64, load average {os.getloadavg()[0]:.2f}; one process per row, timeout "
        f"{args.timeout:g} s"
    )
    if cache_dir:
        os.makedirs(cache_dir, exist_ok=True)
        print(f"compilation cache {cache_dir}: {len(os.listdir(cache_dir))} files before")
    records, start = [], time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="glmx-fresh-") as tmp:
        written = None
        for w in selected:
            directory = os.path.join(tmp, "data")
            if data_key(w) != written:
                X, Y = simulate(w)
                write_data(directory, X, Y)
                written = data_key(w)
                del X, Y
            for library, suffix, cache in runs_for(w, libraries, cache_dir):
                print(f"  {w.key}: {NAMES[library]}{suffix} ...", file=sys.stderr, flush=True)
                spec = spec_for(
                    library, w, directory, warm=not args.no_warm, objective=True, cache_dir=cache
                )
                result = run_child(spec, args.timeout)
                records.append((w, library, suffix, result))
    versions = sorted(
        {f"{r['label'].split()[0]} {r['version']}" for *_, r in records if "version" in r}
    )
    print("libraries: " + ", ".join(versions))
    print()
    print(table(records))
    scaled = sorted({w.loop_scale for w, library, *_ in records if time_scale(library, w) != 1})
    for scale in scaled:
        print(
            f"×{scale:g}: a loop over some of the neurons (as labelled), its times multiplied by "
            f"{scale:g} (extrapolated); its memory is the partial loop's"
        )
    for w, library, suffix, result in records:
        for warning in result.get("warnings", []):
            print(f"note: {w.key}, {NAMES[library]}{suffix} warned: {warning}")
    if cache_dir:
        print(f"compilation cache {cache_dir}: {len(os.listdir(cache_dir))} files after")
    print(
        "first fit: in a new process, imports and start-up before it; warm: the fit after it; "
        "peak above data: the largest RSS during both fits minus the RSS just before the first "
        "(× X: over X.nbytes; the first fit's includes the compiler's memory); warm fit's "
        "peak: the largest RSS during the warm fit minus the RSS just before it.\n"
        f"total {time.perf_counter() - start:.0f} s; load average "
        f"{os.getloadavg()[0]:.2f}"
    )
    return 1 if any("error" in r for *_, r in records) else 0


if __name__ == "__main__":
    finish(main())
