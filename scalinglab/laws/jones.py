"""Jones (2021), "Scaling Scaling Laws with Board Games" (arXiv:2104.03113): AlphaZero on Hex.

- `jones_frontier`: the compute frontier, Elo (against perfect play) of the best agent for a
  training budget C on a board of size s, a change-point model

      Elo = min(ceiling, max(incline, plateau)),
      incline = m_C·log10 C + m_s·s + c_i       (published Hex fit: m_C ≈ 510 Elo per decade of
                                                 compute, m_s ≈ −430 Elo per board size),
      plateau = p_s·s + c_p                     (p_s ≈ −270 Elo per board size),

  with ceiling = 0: Jones rates every agent against perfect play. (The fitted form smooths the
  two corners over KINK_ELO = 1 Elo, so that the solver can cross them.) The plateau is the floor an
  agent starts from (near-random play, worse on larger boards); the incline gains m_C Elo per
  10× compute and needs 10^(−m_s/m_C) ≈ 7× more compute per board size for the same Elo.
- `jones_tradeoff`: the train-time/test-time (search) trade-off at equal performance,

      log10 C_test = m·log10 C_train + k·perf + c,

  published for Hex: m ≈ −1.2, i.e. 10× train-time compute saves ≈ 10^1.2 ≈ 15× test-time
  compute (equivalently 10× test-time compute is worth 10^(1/1.2) ≈ 6.8× train-time compute).

The frontier's target is Elo, which is negative here: it is an EloLaw (scalinglab.laws.elo),
fitted by least squares on Elo. The trade-off's target, test-time compute, is positive: it is
fitted in log space like the other laws; its `perf` column may have any sign.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
import torch.nn.functional as F
from numpy.typing import ArrayLike

from scalinglab.errors import ScalingLabError
from scalinglab.laws.base import FloatArray, Param, ScalingLaw, Tensor
from scalinglab.laws.elo import EloLaw

LN10 = math.log(10.0)
KINK_ELO = 1.0  # width of the smoothed corners of the frontier, in Elo

# Jones 2021 (Hex), the published slopes; the tests recover them from synthetic data.
HEX_INCLINE_PER_DECADE = 510.0
HEX_INCLINE_PER_BOARD_SIZE = -430.0
HEX_PLATEAU_PER_BOARD_SIZE = -270.0
HEX_TRADEOFF_SLOPE = -1.2  # log10 C_test per log10 C_train at equal Elo


def require_budgets(law: ScalingLaw, x: FloatArray, columns: Sequence[int]) -> None:
    """Each of these X columns (budgets) must take at least two values: a trade-off or a slope
    cannot be read from one budget. (With fewer points than free parameters the fit itself
    says so.)"""
    if x.shape[0] < len(law.free_params()):
        return
    for j in columns:
        if np.unique(x[:, j]).size < 2:
            raise ScalingLabError(
                f"law {law.name!r}: every point has the same {law.variables[j]} "
                f"({x[0, j]:g}); one budget only cannot show how performance changes with it: "
                f"measure at two or more {law.variables[j]} values"
            )


class JonesFrontier(EloLaw):
    """Elo = min(ceiling, max(m_C·log10 C + m_s·s + c_i, p_s·s + c_p)) (Jones 2021, Hex compute
    frontier; published m_C ≈ 510, m_s ≈ −430, p_s ≈ −270; ceiling 0 = perfect play).

    X columns: (train_compute, board_size) — the training FLOPs of the frontier agent and the
    problem size. `ceiling` (option, default 0) is the Elo of perfect play.
    """

    name = "jones_frontier"
    variables = ("train_compute", "board_size")
    params = (
        Param("incline_slope", lower=0.0, upper=1e5, doc="Elo per decade of train compute"),
        Param("incline_size", lower=-1e5, upper=1e5, doc="incline Elo per unit of board size"),
        Param("incline_const", lower=-1e6, upper=1e6, doc="incline intercept (Elo)"),
        Param("plateau_size", lower=-1e5, upper=1e5, doc="plateau Elo per unit of board size"),
        Param("plateau_const", lower=-1e6, upper=1e6, doc="plateau intercept (Elo)"),
    )
    formula = "Elo = min(ceiling, max(m_C·log10 C + m_s·s + c_i, p_s·s + c_p))"

    def __init__(self, *, ceiling: float = 0.0, **options: Any) -> None:
        super().__init__(**options)
        self.ceiling = ceiling

    def get_options(self) -> dict[str, Any]:
        return {**super().get_options(), "ceiling": self.ceiling}

    def elo(self, p: Mapping[str, Tensor], x: Tensor, logx: Tensor) -> Tensor:
        size = x[:, 1]
        incline = p["incline_slope"] * logx[:, 0] / LN10 + p["incline_size"] * size
        incline = incline + p["incline_const"]
        plateau = p["plateau_size"] * size + p["plateau_const"]
        # max and min smoothed over KINK_ELO (softplus): within 0.7 Elo of the exact corners,
        # and a gradient the solver can follow across them (the exact kinks stall L-BFGS).
        above_floor = plateau + KINK_ELO * F.softplus((incline - plateau) / KINK_ELO)
        return self.ceiling - KINK_ELO * F.softplus((self.ceiling - above_floor) / KINK_ELO)

    def fit(
        self, X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None
    ) -> JonesFrontier:
        if not math.isfinite(float(self.ceiling)):
            raise ScalingLabError(f"ceiling must be a finite Elo, got {self.ceiling}")
        require_budgets(self, self.check_X(X), [0, 1])
        super().fit(X, y, sample_weight)
        return self

    def start_grid(self, x: FloatArray, y: FloatArray) -> dict[str, tuple[float, ...]]:
        # y arrives shifted by the Elo offset. Slopes from a coarse grid around the published
        # ones; each intercept from the data given those slopes (the incline through the median
        # point, the plateau through each board size's weakest agents).
        from scalinglab.laws.elo import ELO_OFFSET

        elo = y - ELO_OFFSET
        lc, size = np.log10(x[:, 0]), x[:, 1]
        slopes, sizes, plateau_sizes = (
            (150.0, 500.0, 1500.0),
            (-800.0, -300.0, 0.0),
            (
                -500.0,
                -200.0,
                0.0,
            ),
        )
        consts = sorted({float(np.median(elo - a * lc - b * size)) for a in slopes for b in sizes})
        floors = sorted(
            {float(np.quantile(elo - b * size, q)) for b in plateau_sizes for q in (0.0, 0.2)}
        )
        return {
            "incline_slope": slopes,
            "incline_size": sizes,
            "incline_const": tuple(consts),
            "plateau_size": plateau_sizes,
            "plateau_const": tuple(floors),
        }

    def inverse(self, target: ArrayLike, **known: float) -> FloatArray:
        """Train compute at which the incline reaches `target` Elo on board size `board_size`:
        C = 10^((Elo − m_s·s − c_i) / m_C); only Elo between the plateau and the ceiling is
        reached by more compute."""
        self.check_fitted()
        if set(known) != {"board_size"}:
            raise ScalingLabError(
                "jones_frontier inverts for train_compute: give board_size=..., e.g. "
                "law.inverse(-500, board_size=9)"
            )
        t = np.atleast_1d(np.asarray(target, dtype=float))
        size = float(known["board_size"])
        p = self.params_
        floor = p["plateau_size"] * size + p["plateau_const"]
        if np.any(t <= floor) or np.any(t >= self.ceiling) or p["incline_slope"] <= 0:
            raise ScalingLabError(
                f"Elo {float(t[0]):.6g} is not on the incline for board size {size:g}: more "
                f"compute reaches Elo between the plateau ({floor:.6g}) and the ceiling "
                f"({self.ceiling:g})"
            )
        out: FloatArray = 10.0 ** (
            (t - p["incline_size"] * size - p["incline_const"]) / p["incline_slope"]
        )
        return out


class JonesTradeoff(ScalingLaw):
    """log10 C_test = m·log10 C_train + k·perf + c (Jones 2021, Hex: m ≈ −1.2, 10× train-time
    compute ≈ 15× test-time compute at equal Elo).

    X columns: (train_compute, perf) — perf may have any sign (Elo); y: test-time compute per
    decision/call. Fitted in log space (y > 0).
    """

    name = "jones_tradeoff"
    variables = ("train_compute", "perf")
    params = (
        Param("m", lower=-20.0, upper=20.0, doc="log10 C_test per log10 C_train at equal perf"),
        Param("k", lower=-1e4, upper=1e4, doc="log10 C_test per unit of perf"),
        Param("c", lower=-1e4, upper=1e4, doc="intercept (log10 FLOPs)"),
    )
    formula = "log10 C_test = m·log10 C_train + k·perf + c"
    signed_variables: ClassVar[tuple[str, ...]] = ("perf",)
    train_variable: ClassVar[str] = "train_compute"

    def log_predict(self, p: Mapping[str, Tensor], x: Tensor, logx: Tensor) -> Tensor:
        return p["m"] * logx[:, 0] + LN10 * (p["k"] * x[:, 1] + p["c"])

    def fit(
        self, X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None
    ) -> JonesTradeoff:
        require_budgets(self, self.check_X(X), [0, 1])
        super().fit(X, y, sample_weight)
        return self

    def guess(self, x: FloatArray, y: FloatArray) -> dict[str, float]:
        # The law is linear in its parameters on the log10 scale: least squares gives the start.
        design = np.column_stack([np.log10(x[:, 0]), x[:, 1], np.ones(len(y))])
        coef, *_ = np.linalg.lstsq(design, np.log10(y), rcond=None)
        return {"m": float(coef[0]), "k": float(coef[1]), "c": float(coef[2])}

    def tradeoff_line(self, perf: float, theta: FloatArray) -> tuple[FloatArray, FloatArray]:
        """(slope, intercept) per parameter row of the iso-performance line
        log10 C_test = slope·log10 C_train + intercept at performance `perf`."""
        col = {n: theta[:, j] for j, n in enumerate(self.param_names)}
        return col["m"], col["k"] * perf + col["c"]

    def inverse(self, target: ArrayLike, **known: float) -> FloatArray:
        """Train compute that, with test-time compute `target`, reaches `perf`:
        log10 C_train = (log10 C_test − k·perf − c) / m."""
        self.check_fitted()
        if set(known) != {"perf"}:
            raise ScalingLabError(
                "jones_tradeoff inverts for train_compute: give perf=..., e.g. "
                "law.inverse(1e9, perf=-500)"
            )
        t = np.atleast_1d(np.asarray(target, dtype=float))
        if np.any(~np.isfinite(t)) or np.any(t <= 0):
            raise ScalingLabError("the test-time compute must be a positive number")
        p = self.params_
        if p["m"] == 0:
            raise ScalingLabError("cannot invert: the fitted trade-off slope m is 0")
        out: FloatArray = 10.0 ** ((np.log10(t) - p["k"] * known["perf"] - p["c"]) / p["m"])
        return out
