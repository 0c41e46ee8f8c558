from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.linear_model import LinearRegression
from sklearn.preprocessing import OrdinalEncoder

from spendcast.model.artifact import current_version, load_predictor
from spendcast.model.dataset import generate, packaged_dataset_path, read_csv, write_csv
from spendcast.model.schema import EDUCATION_LEVELS
from spendcast.model.training import TrainedModel, train, train_and_save
from spendcast.settings import Settings


def test_the_model_learns_the_spending_relation(trained: TrainedModel) -> None:
    metrics = trained.metrics
    assert (metrics.n_train, metrics.n_test) == (800, 200)
    assert metrics.r2_train > 0.75
    assert metrics.r2_test > 0.75
    assert 0 < metrics.mse_train < 4_000_000
    assert 0 < metrics.mse_test < 4_000_000
    assert set(metrics.as_dict()) == {
        "mse_train",
        "mse_test",
        "r2_train",
        "r2_test",
        "n_train",
        "n_test",
    }


def test_education_is_ordinal_encoded_in_rank_order(trained: TrainedModel) -> None:
    columns, regressor = trained.pipeline[0], trained.pipeline[-1]
    encoder = columns.named_transformers_["education"]
    assert isinstance(encoder, OrdinalEncoder)
    assert list(encoder.categories_[0]) == list(EDUCATION_LEVELS)
    assert isinstance(regressor, LinearRegression)
    assert regressor.coef_[0] > 0  # more schooling, more spending


def test_training_is_reproducible_with_its_seed() -> None:
    data = generate(300, seed=4)
    first, again, other = train(data, seed=1), train(data, seed=1), train(data, seed=2)
    assert first.metrics == again.metrics
    assert first.metrics != other.metrics
    rows = data.features()[:5]
    assert np.array_equal(first.pipeline.predict(rows), again.pipeline.predict(rows))


@pytest.mark.parametrize(("n_rows", "test_size"), [(3, 0.2), (100, 0.0), (100, 1.0)])
def test_too_small_splits_are_refused(n_rows: int, test_size: float) -> None:
    with pytest.raises(ValueError, match=r"test_size|too few"):
        train(generate(n_rows), test_size=test_size)


def test_train_and_save_uses_the_packaged_dataset_by_default(tmp_path: Path) -> None:
    saved = train_and_save(Settings(model_dir=tmp_path / "models"))
    assert current_version(tmp_path / "models") == saved.version
    assert saved.metrics["n_train"] + saved.metrics["n_test"] == len(
        read_csv(packaged_dataset_path())
    )
    assert load_predictor(tmp_path / "models").version == saved.version


def test_train_and_save_reads_the_configured_dataset(tmp_path: Path) -> None:
    path = tmp_path / "small.csv"
    write_csv(generate(100, seed=9), path)
    saved = train_and_save(Settings(model_dir=tmp_path / "models", dataset_path=path))
    assert (saved.metrics["n_train"], saved.metrics["n_test"]) == (80, 20)
    assert saved.path.parent == tmp_path / "models"
