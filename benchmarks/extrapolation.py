"""Learning-curve extrapolation benchmark (Alabdulmohsin, Neyshabur & Zhai 2022, Sec. 4).

For each of the 20 evaluations of ../shared/data/alabdulmohsin2022_lang.csv: fit on Training == 1,
predict Training == 0, and print the RMSE of log(predicted) − log(actual) for M1–M4, BNSL with 1
and 2 breaks, power_const and auto (backtested selection, scalinglab.fitting.select), then each
estimator's median RMSE, win rate and the coverage of its 90% intervals, and a summary line.

    .venv/bin/python benchmarks/extrapolation.py [CSV] [--json OUT] [--workers N]

The same as `scalinglab benchmark extrapolation CSV [--json OUT]`.

    .venv/bin/python benchmarks/extrapolation.py --corpus [OPTIONS]

runs the benchmark on the whole development corpus instead, per source (lang, datablations,
studies, synthetic; benchmarks/extrapolation_corpus.py, which lists the options).
"""

from __future__ import annotations

import sys

from scalinglab.cli import run_app

DEFAULT_CSV = "../shared/data/alabdulmohsin2022_lang.csv"

if __name__ == "__main__":
    args = sys.argv[1:]
    if "--corpus" in args:
        from extrapolation_corpus import main

        sys.exit(main([a for a in args if a != "--corpus"]))
    if not args or args[0].startswith("-"):
        args = [DEFAULT_CSV, *args]
    sys.exit(run_app(["benchmark", "extrapolation", *args]))
