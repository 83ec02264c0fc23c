"""Learning from inspection outcomes: point-in-time datasets, a monotone scorecard champion, a gradient
boosting challenger, backtests and model cards.

Offline only: the running services never import this package (an import contract checks it). It reads
scoring's domain (features, policy, scorecard) and writes model versions into scoring's model store
(`services.scoring.adapters.model_store`), from which the scoring service reads the promoted scorecard.
"""
