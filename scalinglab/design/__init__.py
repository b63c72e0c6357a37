"""Which runs to do next (issue 16): spend the fewest FLOPs for a trustworthy prediction at the
target scale.

- `next_runs`: the model-robust criterion (the law's variance and misfit at the target rows;
  Box & Draper 1959) and its greedy choice of runs per unit cost (`greedy_design`), from a fit
  and the runs done (`state_from_runs`) or a fit file alone (`state_from_fit`). `scalinglab
  suggest` and adaptive studies (scalinglab.study.adaptive) use it.
- `suggest`: `suggest_runs`, the `suggest` command as one call (the candidates in the shape
  range, the design state, the greedy choice, the chosen rows as a table).
- `budget_benchmark`: the budget-limited fitting protocol of Li et al. (2026, "Spend Less, Fit
  Better"), random and cheapest-first against the design (`scalinglab benchmark design`).
"""

from scalinglab.design.suggest import Suggestion, suggest_runs

__all__ = ["Suggestion", "suggest_runs"]
