"""Reports: the plots people read (matplotlib, data in → figure out) and one HTML page.

Plot functions (each returns a Figure; `save_figure(fig, stem)` writes stem.png and stem.svg):
- `learning_curve_figure`, `model_size_figure` — Hestness et al. (2017) curves
- `isoflop_figure`, `allocation_figure` — Hoffmann et al. (2022) Approach 2 and allocation
- `residuals_figure`, `law_comparison_figure`, `training_curves_figure` — diagnostics

`build_report(sources, out)` writes out/index.html from a study, a results table or fit files.
"""

from scalinglab.report.build import BuiltReport, build_report
from scalinglab.report.diagnostics import (
    ResidualSeries,
    law_comparison_figure,
    residuals_figure,
    training_curves_figure,
)
from scalinglab.report.isoflop import allocation_figure, isoflop_figure
from scalinglab.report.learning_curve import learning_curve_figure, model_size_figure
from scalinglab.report.style import OKABE_ITO, save_figure

__all__ = [
    "OKABE_ITO",
    "BuiltReport",
    "ResidualSeries",
    "allocation_figure",
    "build_report",
    "isoflop_figure",
    "law_comparison_figure",
    "learning_curve_figure",
    "model_size_figure",
    "residuals_figure",
    "save_figure",
    "training_curves_figure",
]
