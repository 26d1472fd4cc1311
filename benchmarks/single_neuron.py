"""Single-neuron Poisson fits (unregularized and Ridge, n=100k, p=200): the suite's ``poisson``
and ``poisson-ridge`` workloads (realistic designs) and ``iid-poisson``, ``iid-poisson-ridge``
(i.i.d. designs), glmx beside NeMoS, scikit-learn, glum and statsmodels.

    python benchmarks/single_neuron.py [--designs realistic,iid] [--repeats 3] [--quick]
                                       [--skip-peers ...]

Options as in `suite.py`, which has the workloads, the peers and the measurements.
"""

import sys

from _common import finish
from suite import main

if __name__ == "__main__":
    finish(main(["--only", "poisson,poisson-ridge,iid-poisson,iid-poisson-ridge", *sys.argv[1:]]))
