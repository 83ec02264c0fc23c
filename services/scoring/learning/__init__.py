"""Learning from inspection outcomes: point-in-time datasets, a monotone scorecard champion, a gradient
boosting challenger, backtests and a model registry.

Only `registry` is imported by the running services (to find the promoted scorecard); it needs nothing
beyond the standard library, so the services start without loading numpy or scikit-learn.
"""
