"""The challenger: gradient boosting (HistGradientBoostingClassifier) on the champion's features, with the
catalogue's fixed risk directions as monotone constraints (none where the direction is learned, "auto"),
calibrated by isotonic regression on the latest slice of the training window.

Categoricals are integer codes over a vocabulary fixed at training time (the 250 most frequent values;
the rest count as missing), treated as categorical by the booster and left unconstrained. Missing numeric
values stay NaN (the booster learns where they go). Stored with skops (no pickle): loading names every
type it may build. It is the drift alarm: when it pulls ahead of the champion, the champion's bins are
out of date (REPORT of issue 11, B6).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import skops.io as sio
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.isotonic import IsotonicRegression

from learning.dataset import Dataset
from services.scoring.domain.features import CATEGORICAL_FEATURES, NUMERIC_FEATURES, RISK_DIRECTION

# What skops may build when loading a challenger file; anything else in the file is refused.
TRUSTED_TYPES = [
    "sklearn._loss.link.Interval",
    "sklearn._loss.link.LogitLink",
    "sklearn._loss.loss.HalfBinomialLoss",
    "sklearn.ensemble._hist_gradient_boosting.binning._BinMapper",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.ensemble._hist_gradient_boosting.gradient_boosting.HistGradientBoostingClassifier",
    "sklearn.isotonic.IsotonicRegression",
    "sklearn.utils.validation.check_array",
    "functools.partial",
    "sklearn.preprocessing._label.LabelEncoder",
    "collections.OrderedDict",
    "numpy.dtype",
    "numpy.ndarray",
    "builtins.slice",
    "builtins.float",
    "builtins.int",
]


@dataclass(frozen=True)
class ChallengerParams:
    max_iter: int = 300
    learning_rate: float = 0.05
    max_leaf_nodes: int = 31
    min_samples_leaf: int = 100
    l2_regularization: float = 1.0
    calibration_share: float = 0.2  # the latest share of training rows, held out to calibrate
    random_state: int = 0

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class Challenger:
    booster: HistGradientBoostingClassifier
    calibrator: IsotonicRegression
    vocabularies: dict[str, list[str]]  # categorical feature -> categories, code = index

    def matrix(self, dataset: Dataset) -> np.ndarray:
        return feature_matrix(dataset, self.vocabularies)

    def predict_proba(self, dataset: Dataset) -> np.ndarray:
        """Calibrated probability that each row's inspection finds a violation."""
        raw = self.booster.predict_proba(self.matrix(dataset))[:, 1]
        return np.asarray(self.calibrator.predict(raw), dtype=float)


MAX_CATEGORIES = 250  # the booster's categorical features take fewer than 255 values


def feature_matrix(dataset: Dataset, vocabularies: dict[str, list[str]]) -> np.ndarray:
    columns = [dataset.numeric]
    for name in CATEGORICAL_FEATURES:
        codes = {category: float(code) for code, category in enumerate(vocabularies[name])}
        column = dataset.column(name)
        columns.append(np.array([codes.get(str(v), np.nan) for v in column], dtype=float)[:, None])
    return np.hstack(columns)


def monotonic_constraints() -> list[int]:
    sign = {"increasing": 1, "decreasing": -1, "auto": 0}
    numeric = [sign[RISK_DIRECTION[name]] for name in NUMERIC_FEATURES]
    return numeric + [0] * len(CATEGORICAL_FEATURES)


def fit_challenger(dataset: Dataset, params: ChallengerParams = ChallengerParams()) -> Challenger:
    """Fits the booster on the earlier rows and the isotonic calibration on the latest ones (by time, as
    it will be used: on inspections after the training window)."""
    vocabularies = {name: _vocabulary(dataset.column(name)) for name in CATEGORICAL_FEATURES}
    order = np.argsort(dataset.inspected_at, kind="stable")
    split = int(len(order) * (1.0 - params.calibration_share))
    fit_rows, calibration_rows = order[:split], order[split:]
    matrix = feature_matrix(dataset, vocabularies)
    # A feature never observed in the window (all missing) breaks the binning: train on a constant, so
    # the booster never splits on it (a value that turns up later then changes nothing).
    matrix[:, np.isnan(matrix).all(axis=0)] = 0.0
    categorical = [False] * len(NUMERIC_FEATURES) + [True] * len(CATEGORICAL_FEATURES)
    booster = HistGradientBoostingClassifier(
        max_iter=params.max_iter,
        learning_rate=params.learning_rate,
        max_leaf_nodes=params.max_leaf_nodes,
        min_samples_leaf=params.min_samples_leaf,
        l2_regularization=params.l2_regularization,
        monotonic_cst=monotonic_constraints(),
        categorical_features=categorical,
        early_stopping=True,
        validation_fraction=0.1,
        random_state=params.random_state,
    )
    booster.fit(matrix[fit_rows], dataset.label[fit_rows])
    raw = booster.predict_proba(matrix[calibration_rows])[:, 1]
    calibrator = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")
    calibrator.fit(raw, dataset.label[calibration_rows])
    return Challenger(booster, calibrator, vocabularies)


def _vocabulary(column: np.ndarray) -> list[str]:
    values, counts = np.unique(np.array([str(v) for v in column if v is not None]), return_counts=True)
    frequent = values[np.argsort(-counts, kind="stable")][:MAX_CATEGORIES]
    return sorted(str(v) for v in frequent)


def save_challenger(challenger: Challenger, path: Path) -> None:
    sio.dump(
        {
            "booster": challenger.booster,
            "calibrator": challenger.calibrator,
            "vocabularies": challenger.vocabularies,
        },
        path,
    )


def load_challenger(path: Path) -> Challenger:
    untrusted = set(sio.get_untrusted_types(file=path)) - set(TRUSTED_TYPES)
    if untrusted:
        raise ValueError(f"{path} holds types that are not trusted: {sorted(untrusted)}")
    state = sio.load(path, trusted=TRUSTED_TYPES)
    if not isinstance(state, dict) or not {"booster", "calibrator", "vocabularies"} <= set(state):
        raise ValueError(f"{path} is not a challenger model file")
    return Challenger(state["booster"], state["calibrator"], state["vocabularies"])
