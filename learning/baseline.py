"""The plain baseline every backtest reports: a logistic regression on the same rows and the champion's
features, as anyone would fit first. Numeric features raw (missing as 0 plus a missing indicator),
categoricals one-hot (categories with at least 50 training rows), inputs standardised, L2 with C = 1.
The champion must not rank worse than this by more than 0.005 AUC (issue 11)."""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from learning.dataset import Dataset
from services.scoring.domain.features import CATEGORICAL_FEATURES, NUMERIC_FEATURES

MIN_CATEGORY_ROWS = 50


def _design(train: Dataset, other: Dataset) -> tuple[np.ndarray, np.ndarray]:
    train_columns, other_columns = [], []
    for name in NUMERIC_FEATURES:
        a, b = train.column(name).astype(float), other.column(name).astype(float)
        missing_a, missing_b = np.isnan(a), np.isnan(b)
        train_columns.append(np.nan_to_num(a)[:, None])
        other_columns.append(np.nan_to_num(b)[:, None])
        if missing_a.any():
            train_columns.append(missing_a[:, None].astype(float))
            other_columns.append(missing_b[:, None].astype(float))
    for name in CATEGORICAL_FEATURES:
        a, b = train.column(name).astype(str), other.column(name).astype(str)
        values, counts = np.unique(a, return_counts=True)
        for category in values[counts >= MIN_CATEGORY_ROWS]:
            train_columns.append((a == category)[:, None].astype(float))
            other_columns.append((b == category)[:, None].astype(float))
    return np.hstack(train_columns), np.hstack(other_columns)


def plain_logistic(train: Dataset, test: Dataset) -> np.ndarray:
    """The violation probability of each test row."""
    x_train, x_test = _design(train, test)
    scaler = StandardScaler().fit(x_train)
    model = LogisticRegression(C=1.0, max_iter=3000).fit(scaler.transform(x_train), train.label)
    return np.asarray(model.predict_proba(scaler.transform(x_test))[:, 1])
