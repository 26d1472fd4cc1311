"""Run the concurrency tests many times in a row and report how many passed.

    python tests/loop_concurrency.py [--runs 20]

Each run is a fresh ``pytest tests/test_concurrency.py`` (its scenarios run in subprocesses
with a time limit, so a deadlock shows as a failure, not a hang). Run it on a loaded machine
too (for example beside the test suite) before changing anything that factorises matrices.
"""

import argparse
import pathlib
import subprocess
import sys
import time

HERE = pathlib.Path(__file__).parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    runs = parser.parse_args().runs
    passed = 0
    for run in range(1, runs + 1):
        start = time.perf_counter()
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-q",
                "-p",
                "no:cacheprovider",
                str(HERE / "test_concurrency.py"),
            ],
            capture_output=True,
            text=True,
        )
        ok = done.returncode == 0
        passed += ok
        print(
            f"run {run}: {'passed' if ok else 'FAILED'} in {time.perf_counter() - start:.0f} s",
            flush=True,
        )
        if not ok:
            print(done.stdout[-3000:])
    print(f"{passed} of {runs} runs passed")
    return 0 if passed == runs else 1


if __name__ == "__main__":
    sys.exit(main())
