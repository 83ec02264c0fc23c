"""The features grading reads: the catalogue (names, risk directions, version, the event types kept in a
history) and their computation from an enterprise's history as of a date. Pure Python."""

from services.scoring.domain.features.catalogue import (
    CATEGORICAL_FEATURES,
    FEATURE_NAMES,
    FEATURE_VERSION,
    HISTORY_TYPES,
    NUMERIC_FEATURES,
    RISK_DIRECTION,
    UNSUBSTANTIATED_CAP,
    Features,
)
from services.scoring.domain.features.compute import Timeline, compute_features, decay, occurred_at

__all__ = [
    "CATEGORICAL_FEATURES",
    "FEATURE_NAMES",
    "FEATURE_VERSION",
    "HISTORY_TYPES",
    "NUMERIC_FEATURES",
    "RISK_DIRECTION",
    "UNSUBSTANTIATED_CAP",
    "Features",
    "Timeline",
    "compute_features",
    "decay",
    "occurred_at",
]
