"""The default market against published figures: docs/model.md §9 quotes these findings."""

from __future__ import annotations

from marktsim.analysis.calibration import calibration_findings
from marktsim.studies.core import Study, Sweep

STUDY = Study(
    name="default_market",
    question="How do the defaults compare with published retention curves, churn levels and diffusion "
             "coefficients?",
    sweeps=(Sweep(("python -m marktsim.analysis.calibration 10",)),),
    extract=lambda sweeps: calibration_findings(replicates=10),
    compute=lambda results, out: calibration_findings(replicates=10),
)
