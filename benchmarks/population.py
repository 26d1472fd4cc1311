"""Population fits: 100 neurons sharing X (n=50,000, p=100), Ridge Poisson, float64: the suite's
``population`` workload, glmx's PopulationGLM beside NeMoS's PopulationGLM and loops of glum and
scikit-learn fits over neurons.

    python benchmarks/population.py [--repeats 3] [--quick] [--skip-peers ...]

Options as in `suite.py`, which has the workloads, the peers and the measurements.
"""

import sys

from _common import finish
from suite import main

if __name__ == "__main__":
    finish(main(["--only", "population", *sys.argv[1:]]))
