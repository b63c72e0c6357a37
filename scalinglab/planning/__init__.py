"""Planning with fitted scaling laws: what to train next.

- `compute_optimal`, `allocation_exponents`, `allocation_frontier` — the best N and D for a
  budget and how they scale (Hoffmann et al. 2022), with intervals from the fit's draws.
- `compute_for_loss`, `data_for_target` — inverse queries: compute (or data) for a target.
- `fit_model_size_curve`, `model_size_for_data` — Hestness et al. (2017) model size for data.
- `envelope_analysis` (Approach 1) and `isoflop_analysis` (Approach 2) on raw runs.
- `data_constrained_optimal` — repeated data (Muennighoff et al. 2023).
- `inference_optimal` — training plus inference compute (Sardana & Frankle 2023).
- `projection_table` — Hoffmann 2022 Table 3 for a list of model sizes.
- `FlopModel` — C = k·N·D or a user function.

Every function returns a dataclass or a DataFrame (plot-ready); none prints.
"""

from scalinglab.planning.allocation import (
    Allocation,
    AllocationExponents,
    allocation_exponents,
    allocation_frontier,
    compute_optimal,
)
from scalinglab.planning.data_constrained import (
    DataConstrainedPlan,
    data_constrained_optimal,
    effective_params,
    effective_tokens,
)
from scalinglab.planning.envelope import EnvelopeResult, envelope_analysis
from scalinglab.planning.flops import FlopModel
from scalinglab.planning.inference import InferencePlan, inference_optimal
from scalinglab.planning.inverse import CurveTarget, LossTarget, compute_for_loss, data_for_target
from scalinglab.planning.isoflop import IsoFLOPResult, group_budgets, isoflop_analysis
from scalinglab.planning.lines import AllocationLines, PowerLawLine, fit_power_line
from scalinglab.planning.model_size import (
    ModelSizeCurve,
    best_model_sizes,
    fit_model_size_curve,
    model_size_for_data,
)
from scalinglab.planning.projection import GOPHER_FLOPS, HOFFMANN_TABLE3_SIZES, projection_table

__all__ = [
    "GOPHER_FLOPS",
    "HOFFMANN_TABLE3_SIZES",
    "Allocation",
    "AllocationExponents",
    "AllocationLines",
    "CurveTarget",
    "DataConstrainedPlan",
    "EnvelopeResult",
    "FlopModel",
    "InferencePlan",
    "IsoFLOPResult",
    "LossTarget",
    "ModelSizeCurve",
    "PowerLawLine",
    "allocation_exponents",
    "allocation_frontier",
    "best_model_sizes",
    "compute_for_loss",
    "compute_optimal",
    "data_constrained_optimal",
    "data_for_target",
    "effective_params",
    "effective_tokens",
    "envelope_analysis",
    "fit_model_size_curve",
    "fit_power_line",
    "group_budgets",
    "inference_optimal",
    "isoflop_analysis",
    "model_size_for_data",
    "projection_table",
]
