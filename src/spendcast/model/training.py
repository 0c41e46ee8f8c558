"""Training: the lab's linear model, fitted on a seeded train/test split and evaluated.

The pipeline encodes education by its rank (``OrdinalEncoder`` over ``EDUCATION_LEVELS``),
standardises age and income, and fits a ``LinearRegression``. It reads numpy object arrays
whose columns are ``FEATURES`` in order (see ``Dataset.features``).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from spendcast.model.artifact import ModelVersion, encode
from spendcast.model.dataset import Dataset, packaged_dataset_path, read_csv
from spendcast.model.schema import EDUCATION_LEVELS, FEATURES
from spendcast.model.store import open_store
from spendcast.settings import Settings

__all__ = ["Metrics", "ModelVersion", "TrainedModel", "build_pipeline", "train", "train_and_save"]

MIN_SPLIT_ROWS = 2  # R² needs at least two rows on each side


@dataclass(frozen=True)
class Metrics:
    """Mean squared error and R² on the train and test sides of the split."""

    mse_train: float
    mse_test: float
    r2_train: float
    r2_test: float
    n_train: int
    n_test: int

    def as_dict(self) -> dict[str, float]:
        return {name: float(value) for name, value in asdict(self).items()}


@dataclass(frozen=True)
class TrainedModel:
    """A fitted pipeline and how well it does."""

    pipeline: Any
    metrics: Metrics


def build_pipeline() -> Any:
    """The unfitted pipeline: ordinal education + scaled age and income -> linear regression."""
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LinearRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OrdinalEncoder, StandardScaler

    encoder = OrdinalEncoder(categories=[list(EDUCATION_LEVELS)])
    columns = ColumnTransformer(
        [
            ("education", encoder, [FEATURES.index("education")]),
            ("numeric", StandardScaler(), [FEATURES.index("age"), FEATURES.index("income")]),
        ]
    )
    return Pipeline([("features", columns), ("regressor", LinearRegression())])


def train(dataset: Dataset, seed: int = 42, test_size: float = 0.2) -> TrainedModel:
    """Fit on a seeded split of ``dataset`` and measure on both sides."""
    from sklearn.metrics import mean_squared_error, r2_score
    from sklearn.model_selection import train_test_split

    if not 0.0 < test_size < 1.0:
        raise ValueError(f"test_size must be between 0 and 1, got {test_size}")
    n_test = math.ceil(test_size * len(dataset))
    if min(n_test, len(dataset) - n_test) < MIN_SPLIT_ROWS:
        raise ValueError(
            f"{len(dataset)} rows are too few to train and test (test_size={test_size})"
        )
    x_train, x_test, y_train, y_test = train_test_split(
        dataset.features(), dataset.spending, test_size=test_size, random_state=seed
    )
    pipeline = build_pipeline().fit(x_train, y_train)
    fitted, predicted = pipeline.predict(x_train), pipeline.predict(x_test)
    metrics = Metrics(
        mse_train=float(mean_squared_error(y_train, fitted)),
        mse_test=float(mean_squared_error(y_test, predicted)),
        r2_train=float(r2_score(y_train, fitted)),
        r2_test=float(r2_score(y_test, predicted)),
        n_train=len(y_train),
        n_test=len(y_test),
    )
    return TrainedModel(pipeline, metrics)


def train_and_save(settings: Settings, seed: int = 42) -> ModelVersion:
    """Train on ``settings.dataset_path`` (the packaged CSV when unset) and publish the model
    in the store of ``settings`` (``SPENDCAST_MODEL_STORE``) as the current version; a model
    directory keeps ``settings.model_keep`` versions."""
    dataset = read_csv(settings.dataset_path or packaged_dataset_path())
    trained = train(dataset, seed=seed)
    store = open_store(settings)
    try:
        return store.publish(encode(trained.pipeline, trained.metrics.as_dict()))
    finally:
        store.close()
