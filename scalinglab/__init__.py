"""scalinglab: make deep-learning scaling predictable.

Run Hestness-style scaling studies (Hestness et al. 2017, arXiv:1712.00409), fit learning curves
and scaling laws with honest uncertainty, predict, and plan compute-optimal runs.
"""

from scalinglab.errors import FitWarning, ScalingLabError

__version__ = "0.1.0"
__all__ = ["FitWarning", "ScalingLabError", "__version__"]
