"""Population fits: 100 and 1,000 neurons sharing X (n=50,000, p=100), Ridge Poisson, float64:
the suite's ``population`` and ``population-1000`` workloads (realistic designs) and
``iid-population`` (i.i.d. design, 100 neurons), glmx's PopulationGLM beside NeMoS's
PopulationGLM and loops of glum and scikit-learn fits over neurons (over the first 100 of the
1,000, their times multiplied by 10).

    python benchmarks/population.py [--designs realistic,iid] [--repeats 3] [--quick]
                                    [--skip-peers ...]

Options as in `suite.py`, which has the workloads, the peers and the measurements.
"""

import sys

from _common import finish
from suite import main

if __name__ == "__main__":
    finish(main(["--only", "population,population-1000,iid-population", *sys.argv[1:]]))
