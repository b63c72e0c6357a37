"""Above laws and fitting: the extrapolation corpus, benchmarks of selection rules on it, and the
leave-one-source-out protocol that tunes a rule on some sources and scores it on another.

- `scalinglab.selection.corpus`: learning-curve extrapolation problems from several independent
  sources (`load_corpus`).
- `scalinglab.selection.protocol`: scoring any rule on the corpus per source, the standard
  estimators as rules, and `leave_one_source_out`.
- `scalinglab.selection.backtest`, `scalinglab.selection.rule`: backtests at the asked horizon and
  the auto rule's knobs.

Import the submodules directly; this package imports nothing so that `import scalinglab` stays fast.
"""
