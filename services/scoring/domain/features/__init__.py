"""The features grading reads: the catalogue (names, risk directions, version, the event types kept in a
history) and their computation from an enterprise's history as of a date, in one pass. Pure Python."""

from services.scoring.domain.features.catalogue import (
    CATEGORICAL_FEATURES,
    FEATURE_NAMES,
    FEATURE_VERSION,
    HIERARCHY,
    HISTORY_TYPES,
    NUMERIC_FEATURES,
    RISK_DIRECTION,
    UNSUBSTANTIATED_CAP,
    Features,
)
from services.scoring.domain.features.compute import (
    Timeline,
    compute_features,
    features_before_inspections,
    occurred_at,
)
from services.scoring.domain.features.fold import HistoryFold, severity_of

__all__ = [
    "CATEGORICAL_FEATURES",
    "FEATURE_NAMES",
    "FEATURE_VERSION",
    "HIERARCHY",
    "HISTORY_TYPES",
    "NUMERIC_FEATURES",
    "RISK_DIRECTION",
    "UNSUBSTANTIATED_CAP",
    "Features",
    "HistoryFold",
    "Timeline",
    "compute_features",
    "features_before_inspections",
    "occurred_at",
    "severity_of",
]
