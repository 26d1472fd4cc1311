"""Statistical inference for fitted GLMs: `inference` computes an `Inference` record
(`_compute`), whose methods give standard errors, tests and intervals (`_record`), reports
(`_summary`) and reference distributions (`_distributions`)."""

from ._compute import inference as inference
from ._record import (
    Inference as Inference,
    TestResult as TestResult,
    likelihood_ratio_test as likelihood_ratio_test,
)
