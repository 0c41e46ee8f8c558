from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LinearRegression, Ridge
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import (
    FunctionTransformer,
    OneHotEncoder,
    OrdinalEncoder,
    StandardScaler,
)

from spendcast.errors import UnsupportedModelError
from spendcast.model.dataset import generate
from spendcast.model.predictor import Predictor
from spendcast.model.schema import AGE_MAX, AGE_MIN, EDUCATION_LEVELS, INCOME_MAX, INCOME_MIN
from spendcast.model.training import TrainedModel, build_pipeline

customers = st.tuples(
    st.sampled_from(EDUCATION_LEVELS),
    st.floats(AGE_MIN, AGE_MAX),
    st.floats(INCOME_MIN, INCOME_MAX),
)


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-6)


def _reference(pipeline: Any, rows: Sequence[tuple[str, float, float]]) -> list[float]:
    table = np.array([[age, education, income] for education, age, income in rows], dtype=object)
    return [float(v) for v in pipeline.predict(table)]


@settings(max_examples=300, deadline=None)
@given(customer=customers)
def test_predict_one_equals_the_pipeline(
    trained: TrainedModel, customer: tuple[str, float, float]
) -> None:
    predictor = Predictor.from_pipeline(trained.pipeline, "v")
    [expected] = _reference(trained.pipeline, [customer])
    assert _close(predictor.predict_one(*customer), expected)


@settings(max_examples=100, deadline=None)
@given(rows=st.lists(customers, min_size=1, max_size=50))
def test_predict_many_equals_the_pipeline_and_predict_one(
    trained: TrainedModel, rows: list[tuple[str, float, float]]
) -> None:
    predictor = Predictor.from_pipeline(trained.pipeline, "v")
    many = predictor.predict_many(rows)
    assert all(_close(a, b) for a, b in zip(many, _reference(trained.pipeline, rows), strict=True))
    assert many == [predictor.predict_one(*row) for row in rows]


def test_every_education_level_and_integer_ages(trained: TrainedModel) -> None:
    predictor = Predictor.from_pipeline(trained.pipeline, "abc")
    assert predictor.version == "abc"
    rows = [(level, 42, 50_000.0) for level in EDUCATION_LEVELS]
    predictions = [predictor.predict_one(*row) for row in rows]
    assert predictions == sorted(predictions)  # the ordinal effect is monotonic here
    assert all(isinstance(p, float) for p in predictions)
    assert all(
        _close(a, b) for a, b in zip(predictions, _reference(trained.pipeline, rows), strict=True)
    )


def test_an_unknown_education_is_refused(trained: TrainedModel) -> None:
    predictor = Predictor.from_pipeline(trained.pipeline, "v")
    with pytest.raises(ValueError, match="Kindergarten"):
        predictor.predict_one("Kindergarten", 30, 1000.0)
    with pytest.raises(ValueError, match="Kindergarten"):
        predictor.predict_many([("PhD", 30, 1.0), ("Kindergarten", 30, 1000.0)])


def _fit(pipeline: Any) -> Any:
    data = generate(200, seed=6)
    return pipeline.fit(data.features(), data.spending)


def test_other_linear_shapes_compile_too() -> None:
    columns = ColumnTransformer(
        [
            ("education", OrdinalEncoder(categories=[list(EDUCATION_LEVELS)]), [1]),
            ("age", StandardScaler(with_mean=False), [0]),
        ],
        remainder="passthrough",
    )
    pipeline = _fit(Pipeline([("c", columns), ("r", LinearRegression())]))
    predictor = Predictor.from_pipeline(pipeline, "v")
    rows = [(level, 30.0, 12_345.0) for level in EDUCATION_LEVELS]
    assert all(
        _close(a, b)
        for a, b in zip(predictor.predict_many(rows), _reference(pipeline, rows), strict=True)
    )


def _one_hot() -> Any:
    columns = ColumnTransformer([("e", OneHotEncoder(), [1]), ("n", "passthrough", [0, 2])])
    return _fit(Pipeline([("c", columns), ("r", LinearRegression())]))


def _function() -> Any:
    numeric = FunctionTransformer(np.negative, feature_names_out="one-to-one")
    return _fit(build_pipeline().set_params(features__numeric=numeric))


def _three_steps() -> Any:
    steps = build_pipeline().steps
    return _fit(Pipeline([steps[0], ("scale", StandardScaler()), steps[1]]))


UNSUPPORTED: dict[str, Callable[[], Any]] = {
    "not-a-pipeline": lambda: LinearRegression().fit(np.ones((3, 3)), np.arange(3.0)),
    "unfitted": build_pipeline,
    "ridge": lambda: _fit(build_pipeline().set_params(regressor=Ridge())),
    "one-hot": _one_hot,
    "function": _function,
    "three-steps": _three_steps,
}


@pytest.mark.parametrize("name", UNSUPPORTED)
def test_unsupported_pipelines_are_refused(name: str) -> None:
    with pytest.raises(UnsupportedModelError):
        Predictor.from_pipeline(UNSUPPORTED[name](), "v")
