"""One library's fit in a fresh Python process, for `fresh.py` and `scaling.py`: the first fit
(compilation included, imports not), an optional warm fit, and the peak resident memory above
what the process held just before the first fit.

The parent writes ``X`` and ``y`` once as ``.npy`` files (`write_data`, so that simulating the
data is not part of any child's memory), then `run_child` starts

    python benchmarks/_child.py '<spec as JSON>'

with the parent's interpreter and environment (so the same ``PYTHONPATH``), under a timeout.
The child:

1. for the JAX libraries (glmx, NeMoS), enables float64 and, if the spec names a directory,
   JAX's persistent compilation cache there (every compilation is written: minimum compile time
   and entry size 0);
2. loads ``X`` and ``y``, imports the library and builds the runner of `_workloads` (timed as
   "setup"; for JAX, the CPU client is started here too, ``jax.devices()``);
3. records its resident memory (RSS, from ``/proc/self/statm``), resets the kernel's high-water
   mark (``VmHWM``, through ``/proc/self/clear_refs``, where allowed) and starts a thread that
   samples RSS every 2 ms;
4. times one fit (the first: tracing and compilation for JAX libraries), then, if asked, a
   second (warm);
5. reports the peak resident memory during both fits above that of step 3 (the larger of the
   sampled peak and the high-water mark, which also catches peaks between samples), the first
   fit's alone, and the warm fit's above the memory just before it (what one more fit needs,
   once compiled programs and caches are held);
6. optionally scores the last fit with `_common.OBJECTIVES` (outside the timing and the peak);
7. prints one line, ``RESULT {json}``, and leaves with ``os._exit`` (`_common.finish`).

A peer that loops over neurons fits ``workload.loop_neurons`` of them; the parent scales its
times (`_workloads.time_scale`).
"""

import ctypes
import dataclasses
import gc
import json
import os
import pathlib
import subprocess
import sys
import threading
import time
import warnings

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
#: The sampling thread's period, seconds.
SAMPLE_SECONDS = 0.002
_PAGE = os.sysconf("SC_PAGE_SIZE")


# --- the parent's side -------------------------------------------------------------------------


def write_data(directory, X, Y) -> None:
    """Write ``X`` and ``Y`` as ``X.npy`` and ``y.npy`` in ``directory`` (created if needed)."""
    os.makedirs(directory, exist_ok=True)
    np.save(os.path.join(directory, "X.npy"), X)
    np.save(os.path.join(directory, "y.npy"), Y)


def spec_for(library: str, workload, data, *, warm=True, objective=False, cache_dir=None) -> dict:
    """A child's instructions: fit ``workload`` (a `_workloads.Workload`) with ``library``
    (``glmx`` or a key of `_workloads.PEER_RUNNERS`) on the data in directory ``data``."""
    return {
        "library": library,
        "workload": dataclasses.asdict(workload),
        "data": str(data),
        "warm": bool(warm),
        "objective": bool(objective),
        "cache_dir": None if cache_dir is None else str(cache_dir),
    }


def run_child(spec: dict, timeout: float) -> dict:
    """Run one child; its result, or ``{"error": ...}`` if it failed, printed no result or ran
    past ``timeout`` seconds (it is then killed)."""
    command = [sys.executable, str(HERE / "_child.py"), json.dumps(spec)]
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, cwd=HERE, env=os.environ
        )
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:g} s (killed)"}
    for line in reversed(done.stdout.splitlines()):
        if line.startswith("RESULT "):
            return json.loads(line.removeprefix("RESULT "))
    tail = " | ".join(done.stderr.strip().splitlines()[-3:])
    return {"error": f"exit status {done.returncode}, no result: {tail[-400:]}"}


# --- the child's side --------------------------------------------------------------------------


def rss_bytes() -> int:
    """This process's resident memory now (the second field of ``/proc/self/statm``)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * _PAGE


def _high_water_bytes() -> int | None:
    """The kernel's peak resident memory of this process (``VmHWM``), if it reports it."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _reset_high_water() -> bool:
    """Reset ``VmHWM`` to the current RSS (``echo 5 > /proc/self/clear_refs``); whether it
    worked."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        return False
    return True


class PeakMemory:
    """Peak resident memory from now on, above the RSS at construction: a thread samples RSS
    every ``SAMPLE_SECONDS``, and the kernel's high-water mark (reset here) catches the peaks
    between samples. `lap` ends one stretch (one fit) and starts the next."""

    def __init__(self):
        self.baseline = rss_bytes()
        self.high_water = _reset_high_water()
        self.sampled = self._lap_start = self.baseline
        self.samples = 0
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self):
        while not self._done.is_set():
            with self._lock:
                self.sampled = max(self.sampled, rss_bytes())
            self.samples += 1
            self._done.wait(SAMPLE_SECONDS)

    def lap(self) -> tuple[int, int]:
        """``(peak, start)``: the resident bytes at the peak since the last lap (or the start),
        the larger of the sampled peak and the high-water mark, and at the start of that lap.
        Starts the next lap."""
        with self._lock:
            sampled = max(self.sampled, rss_bytes())
            hwm = _high_water_bytes() if self.high_water else None
            self.sampled = now = rss_bytes()
            self.high_water = self.high_water and _reset_high_water()
        start, self._lap_start = self._lap_start, now
        return max(sampled, hwm or 0), start

    def stop(self):
        """Stop sampling."""
        self._done.set()
        self._thread.join()


def release_free_memory() -> None:
    """Collect garbage and hand the C heap's free pages back to the system (glibc's
    ``malloc_trim``), so that memory freed by an earlier fit and kept by the allocator does not
    hide the next fit's use."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass


def _setup_jax(cache_dir):
    import jax

    jax.config.update("jax_enable_x64", True)
    if cache_dir:
        jax.config.update("jax_compilation_cache_dir", cache_dir)
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)
        jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)


def _runner(library: str, w, X, Y):
    """``(label, run, version)``: imports the library and builds its runner."""
    import importlib

    from _workloads import PEER_MODULES, PEER_RUNNERS, glmx_runner

    if library == "glmx":
        run = glmx_runner(w, X, Y)
        label, module = "glmx (solver=None)", "glmx"
    else:
        label, run = PEER_RUNNERS[library](w, X, Y)
        module = PEER_MODULES[library]
    if library in ("glmx", "nemos"):
        import jax

        jax.devices()  # start the CPU client outside the timed fit
    return label, run, importlib.import_module(module).__version__


def child(spec: dict) -> dict:
    """Carry out one spec (see the module docstring); the result as a JSON-able dict."""
    library = spec["library"]
    if library in ("glmx", "nemos"):
        _setup_jax(spec.get("cache_dir") if library == "glmx" else None)
    from _common import OBJECTIVES
    from _workloads import Unsupported, Workload

    w = Workload(**spec["workload"])
    X = np.load(os.path.join(spec["data"], "X.npy"))
    Y = np.load(os.path.join(spec["data"], "y.npy"))
    start = time.perf_counter()
    try:
        label, run, version = _runner(library, w, X, Y)
    except Unsupported as why:
        return {"unsupported": str(why)}
    setup = time.perf_counter() - start
    release_free_memory()
    memory = PeakMemory()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        start = time.perf_counter()
        fit = run()
        first = time.perf_counter() - start
        top, _ = memory.lap()
        peaks = {"first": top - memory.baseline}
        warm = None
        if spec["warm"]:
            release_free_memory()
            memory.lap()
            start = time.perf_counter()
            fit = run()
            warm = time.perf_counter() - start
            top_warm, before = memory.lap()
            peaks["warm"] = top_warm - before
            top = max(top, top_warm)
    memory.stop()
    peaks.update(
        peak=top - memory.baseline,
        baseline=memory.baseline,
        samples=memory.samples,
        high_water=memory.high_water,
    )
    result = {
        "label": label,
        "version": version,
        "setup": setup,
        "first": first,
        "warm": warm,
        "iters": fit.iters,
        "memory": peaks,
        "x_nbytes": X.nbytes,
        "dtype": str(X.dtype),
        "warnings": sorted(
            {f"{c.category.__name__}: {' '.join(str(c.message).split())[:160]}" for c in caught}
        ),
    }
    if spec.get("objective"):
        coef, intercept = np.asarray(fit.coef), np.asarray(fit.intercept)
        if w.neurons:
            Y = Y[:, : coef.shape[0]]
        f = OBJECTIVES[w.family](X, Y, coef, intercept, w.ridge, w.lasso)
        result["objective"] = np.atleast_1d(np.asarray(f, dtype=float)).tolist()
    return result


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    from _common import finish

    try:
        outcome, status = child(json.loads(sys.argv[1])), 0
    except Exception as error:  # reported to the parent, which goes on
        outcome, status = {"error": f"{type(error).__name__}: {str(error)[:400]}"}, 1
    print("RESULT " + json.dumps(outcome), flush=True)
    finish(status)
