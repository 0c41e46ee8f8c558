"""A model trained once for the model tests."""

from __future__ import annotations

import pytest

from spendcast.model.dataset import generate
from spendcast.model.training import TrainedModel, train


@pytest.fixture(scope="session")
def trained() -> TrainedModel:
    return train(generate())
