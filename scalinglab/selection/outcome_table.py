"""Outcomes of a large rule grid, held column-wise, and summarised without a row per outcome.

A tuning grid scores tens of thousands of rule configurations on hundreds of problems: tens of
millions of `protocol.Outcome` objects, some 450 bytes each, and `protocol.summarise` builds a
dict per outcome on top. The six-source tuning run of 2026-12-06 (docs/auto-tuning-log.md) was
killed by the kernel at 21 GB doing that. An `OutcomeTable` keeps what the scores read — the
rule, the problem, the RMSE, and per held-out point whether it had an interval and whether the
interval held it, as two bit masks — in NumPy arrays, about 30 bytes an outcome.

`summary` gives exactly `protocol.summarise`'s frame (same rows, order and values), and
`outcomes` gives back the `Outcome`s of any rules and problems, with their scores (not the
predictions and bounds, which the grid never kept).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from scalinglab.errors import ScalingLabError
from scalinglab.selection.corpus import Problem
from scalinglab.selection.protocol import Outcome, Scorer, aggregate_outcome_rows, ties_best

MAX_POINTS = 64  # held-out points per problem: the bit masks are uint64
COLUMNS = {
    "rule": np.int32,
    "problem": np.int32,
    "rmse": np.float64,
    "hit": np.uint64,  # bit i: held-out point i lies inside its interval
    "has": np.uint64,  # bit i: held-out point i got a finite interval
    "points": np.uint8,
    "failed": np.bool_,
}


def _mask(bits: Iterable[bool]) -> int:
    return sum(1 << i for i, b in enumerate(bits) if b)


class OutcomeTable:
    """Outcomes stored column-wise; `add` them in any number of batches."""

    def __init__(self) -> None:
        self.rules: list[str] = []
        self._rule_code: dict[str, int] = {}
        self._problems: list[tuple[str, str, float]] = []  # (id, source, horizon)
        self._problem_code: dict[str, int] = {}
        self._chunks: list[dict[str, np.ndarray]] = [
            {name: np.empty(0, dtype) for name, dtype in COLUMNS.items()}
        ]
        self._errors: dict[tuple[int, int], str] = {}

    def __len__(self) -> int:
        return sum(len(c["rmse"]) for c in self._chunks)

    def _code(self, rule: str) -> int:
        code = self._rule_code.get(rule)
        if code is None:
            code = self._rule_code[rule] = len(self.rules)
            self.rules.append(rule)
        return code

    def _problem(self, pid: str, source: str, horizon: float) -> int:
        code = self._problem_code.get(pid)
        if code is None:
            code = self._problem_code[pid] = len(self._problems)
            self._problems.append((pid, source, horizon))
        return code

    def add(self, outcomes: Sequence[Outcome]) -> None:
        """Append `outcomes` (each (rule, problem) at most once over the table's life)."""
        if not outcomes:
            return
        n = len(outcomes)
        cols: dict[str, np.ndarray] = {name: np.empty(n, dtype) for name, dtype in COLUMNS.items()}
        for i, o in enumerate(outcomes):
            if len(o.hits) > MAX_POINTS:
                raise ScalingLabError(f"{o.problem}: more than {MAX_POINTS} held-out points")
            p, r = self._problem(o.problem, o.source, o.horizon), self._code(o.rule)
            cols["rule"][i], cols["problem"][i], cols["rmse"][i] = r, p, o.rmse
            cols["hit"][i] = _mask(h is True for h in o.hits)
            cols["has"][i] = _mask(h is not None for h in o.hits)
            cols["points"][i] = len(o.hits)
            cols["failed"][i] = bool(o.error)
            if o.error:
                self._errors[r, p] = o.error
        self._chunks.append(cols)

    def merge(self, other: OutcomeTable) -> None:
        """Append every outcome of `other` (a table filled elsewhere, e.g. in a worker process:
        it pickles as a few arrays, where its outcomes would pickle one object each)."""
        if not len(other):
            return
        chunk = dict(other._columns())
        rule_codes = np.array([self._code(r) for r in other.rules], dtype=np.int32)
        problem_codes = [self._problem(*problem) for problem in other._problems]
        chunk["rule"] = rule_codes[chunk["rule"]]
        chunk["problem"] = np.array(problem_codes, dtype=np.int32)[chunk["problem"]]
        self._chunks.append(chunk)
        for (r, p), error in other._errors.items():
            self._errors[int(rule_codes[r]), problem_codes[p]] = error

    def _columns(self) -> dict[str, np.ndarray]:
        """Every outcome's columns, in the order added (the chunks joined once, when read)."""
        if len(self._chunks) > 1:
            self._chunks = [{k: np.concatenate([c[k] for c in self._chunks]) for k in COLUMNS}]
        return self._chunks[0]

    def _rows(
        self, rules: Sequence[str] | None, problems: Sequence[str] | None
    ) -> dict[str, np.ndarray]:
        """The columns of the outcomes of `rules` on `problems` (None: every one)."""
        cols = self._columns()
        keep = np.ones(len(cols["rmse"]), dtype=bool)
        if rules is not None:
            codes = [self._rule_code[r] for r in rules if r in self._rule_code]
            keep &= np.isin(cols["rule"], codes)
        if problems is not None:
            codes = [self._problem_code[p] for p in problems if p in self._problem_code]
            keep &= np.isin(cols["problem"], codes)
        return {k: v[keep] for k, v in cols.items()}

    def outcomes(
        self, rules: Sequence[str] | None = None, problems: Sequence[str] | None = None
    ) -> list[Outcome]:
        """The outcomes of `rules` on `problems` (default: all), in the order added."""
        rows = self._rows(rules, problems)
        out = []
        for r, p, rmse, hit, has, points in zip(
            *(rows[k].tolist() for k in ("rule", "problem", "rmse", "hit", "has", "points")),
            strict=True,
        ):
            pid, source, horizon = self._problems[p]
            hits = tuple(bool(hit >> i & 1) if has >> i & 1 else None for i in range(points))
            out.append(
                Outcome(
                    source=source,
                    problem=pid,
                    rule=self.rules[r],
                    horizon=horizon,
                    rmse=rmse,
                    hits=hits,
                    error=self._errors.get((r, p), ""),
                )
            )
        return out

    def summary(
        self,
        rules: Sequence[str] | None = None,
        reference: Sequence[str] | None = None,
        problems: Sequence[str] | None = None,
    ) -> pd.DataFrame:
        """`protocol.summarise(outcomes, rules=rules, reference=reference)` per source, from the
        columns, `outcomes` being those of `rules` on `problems` (default: all)."""
        rows = self._rows(rules, problems)
        if not len(rows["rmse"]):
            return pd.DataFrame()
        n_rules = len(set(self.rules if rules is None else rules))
        rmse, problem = rows["rmse"], rows["problem"]
        # Winners count only where every rule asked for was scored (summarise); the rows hold
        # only those rules, so a problem is complete when it has as many as were asked for.
        complete = pd.Series(rows["rule"]).groupby(problem).nunique() == n_rules
        finite = np.isfinite(rmse)
        best = pd.Series(np.where(finite, rmse, np.inf)).groupby(problem).transform("min")
        won = finite & ties_best(rmse, best.to_numpy())
        sources = np.array([s for _, s, _ in self._problems], dtype=object)
        frame = pd.DataFrame(
            {
                "source": sources[problem],
                "rule": np.array(self.rules, dtype=object)[rows["rule"]],
                "problem": problem,
                "rmse": rmse,
                "win": np.where(complete.reindex(problem).to_numpy(), won.astype(float), math.nan),
                "covered": _popcount(rows["hit"] & rows["has"]),
                "n_intervals": _popcount(rows["has"]),
                "n_points": rows["points"].astype(np.int64),
                "failed": rows["failed"],
            }
        )
        return aggregate_outcome_rows(frame, ("source",), reference)


def _popcount(masks: np.ndarray) -> np.ndarray:
    return np.bitwise_count(masks).astype(np.int64)


class TableScorer(Scorer):
    """A Scorer whose outcomes were all computed up front, into an OutcomeTable."""

    def __init__(self, table: OutcomeTable) -> None:
        super().__init__({})
        self.table = table

    def __call__(self, problems: Sequence[Problem], names: Sequence[str]) -> list[Outcome]:
        found = self.table.outcomes(names, [p.id for p in problems])
        done = {(o.rule, o.problem): o for o in found}
        missing = [(n, p.id) for n in names for p in problems if (n, p.id) not in done]
        if missing:
            raise ScalingLabError(f"no outcome in the table for {missing[0]}")
        return [done[(n, p.id)] for n in names for p in problems]

    def summarise(
        self, problems: Sequence[Problem], names: Sequence[str], reference: Sequence[str]
    ) -> pd.DataFrame:
        return self.table.summary(names, reference, [p.id for p in problems])
