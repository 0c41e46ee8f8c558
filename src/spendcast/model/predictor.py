"""The in-memory predictor used on the request path.

A fitted pipeline (ordinal education code + scaled age and income -> linear regression) is a
linear function of its inputs, so it is compiled once into closed form::

    prediction = base[education] + age_weight * age + income_weight * income

where ``base`` folds the intercept, the scaler means and the education codes together, and the
weights fold the scaler scales into the coefficients. A call is one dict lookup and a few float
operations: no numpy array, no pandas, no scikit-learn.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from spendcast.errors import UnsupportedModelError
from spendcast.model.schema import EDUCATION_LEVELS, FEATURES

AGE = FEATURES.index("age")
EDUCATION = FEATURES.index("education")
INCOME = FEATURES.index("income")


class Predictor:
    """Predicts yearly spending from ``(education, age, income)`` in closed form."""

    __slots__ = ("_age_weight", "_base", "_income_weight", "version")

    def __init__(
        self, version: str, base: Mapping[str, float], age_weight: float, income_weight: float
    ) -> None:
        self.version = version
        self._base = {str(k): float(v) for k, v in base.items()}
        self._age_weight = float(age_weight)
        self._income_weight = float(income_weight)

    @classmethod
    def from_pipeline(cls, pipeline: Any, version: str) -> Predictor:
        """Compile a fitted scikit-learn pipeline; ``UnsupportedModelError`` if it is not linear
        in the shape ``train`` builds (ColumnTransformer of OrdinalEncoder, StandardScaler or
        passthrough, then LinearRegression)."""
        base, age_weight, income_weight = _compile(pipeline)
        return cls(version, base, age_weight, income_weight)

    def to_json(self) -> dict[str, Any]:
        """The predictor as JSON values (what a loader process hands to a worker)."""
        return {
            "version": self.version,
            "base": dict(self._base),
            "age_weight": self._age_weight,
            "income_weight": self._income_weight,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Predictor:
        return cls(data["version"], data["base"], data["age_weight"], data["income_weight"])

    def predict_one(self, education: str, age: float, income: float) -> float:
        """The predicted yearly spending; ``ValueError`` for an unknown education level."""
        try:
            base = self._base[education]
        except KeyError:
            raise ValueError(f"unknown education level {education!r}") from None
        return base + self._age_weight * age + self._income_weight * income

    def predict_many(self, rows: Sequence[tuple[str, float, float]]) -> list[float]:
        """``predict_one`` for each ``(education, age, income)`` row, bit for bit."""
        base, age_weight, income_weight = self._base, self._age_weight, self._income_weight
        try:
            return [base[e] + age_weight * a + income_weight * i for e, a, i in rows]
        except KeyError as error:
            raise ValueError(f"unknown education level {error.args[0]!r}") from None


def _compile(pipeline: Any) -> tuple[dict[str, float], float, float]:
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LinearRegression
    from sklearn.pipeline import Pipeline

    if not isinstance(pipeline, Pipeline) or len(pipeline.steps) != 2:
        raise UnsupportedModelError(f"expected a 2-step Pipeline, got {type(pipeline).__name__}")
    columns, regressor = pipeline.steps[0][1], pipeline.steps[1][1]
    if not isinstance(columns, ColumnTransformer) or type(regressor) is not LinearRegression:
        raise UnsupportedModelError(
            "expected ColumnTransformer then LinearRegression, got "
            f"{type(columns).__name__} then {type(regressor).__name__}"
        )
    if not hasattr(regressor, "coef_") or not hasattr(columns, "transformers_"):
        raise UnsupportedModelError("the pipeline is not fitted")
    if getattr(columns, "n_features_in_", None) != len(FEATURES):
        raise UnsupportedModelError(f"expected {len(FEATURES)} input columns {FEATURES}")
    if regressor.coef_.ndim != 1:
        raise UnsupportedModelError("expected a single regression target")
    coef = [float(c) for c in regressor.coef_]

    weights = [0.0] * len(FEATURES)
    offset = float(regressor.intercept_)
    education_codes: dict[str, float] | None = None
    for name, transformer, raw_columns in columns.transformers_:
        if isinstance(transformer, str) and transformer == "drop":
            continue
        inputs = _column_indices(raw_columns)
        outputs = range(len(coef))[columns.output_indices_[name]]
        if len(outputs) != len(inputs):
            raise UnsupportedModelError(f"transformer {name!r} changes the number of columns")
        if EDUCATION in inputs:
            if education_codes is not None or inputs != [EDUCATION]:
                raise UnsupportedModelError("education must be encoded once, on its own")
            education_codes = _ordinal_codes(transformer, coef[outputs[0]])
            continue
        means, scales = _affine(transformer, len(inputs))
        for column, out, mean, scale in zip(inputs, outputs, means, scales, strict=True):
            weight = coef[out] / scale
            weights[column] += weight
            offset -= weight * mean
    if education_codes is None:
        education_codes = dict.fromkeys(EDUCATION_LEVELS, 0.0)
    base = {level: offset + contribution for level, contribution in education_codes.items()}
    return base, weights[AGE], weights[INCOME]


def _column_indices(raw_columns: Any) -> list[int]:
    try:
        indices = [int(c) for c in raw_columns]
    except (TypeError, ValueError):
        raise UnsupportedModelError(f"columns must be integer positions: {raw_columns!r}") from None
    if any(not 0 <= i < len(FEATURES) for i in indices) or isinstance(raw_columns, str):
        raise UnsupportedModelError(f"columns must be integer positions: {raw_columns!r}")
    return indices


def _ordinal_codes(transformer: Any, coef: float) -> dict[str, float]:
    from sklearn.preprocessing import OrdinalEncoder

    if type(transformer) is not OrdinalEncoder:
        raise UnsupportedModelError(f"education needs an OrdinalEncoder, not {transformer!r}")
    if transformer.min_frequency is not None or transformer.max_categories is not None:
        raise UnsupportedModelError("infrequent-category grouping is not supported")
    categories = [str(c) for c in transformer.categories_[0]]
    return {category: code * coef for code, category in enumerate(categories)}


def _affine(transformer: Any, width: int) -> tuple[list[float], list[float]]:
    from sklearn.preprocessing import FunctionTransformer, StandardScaler

    # A fitted ColumnTransformer stores "passthrough" as an identity FunctionTransformer.
    identity = type(transformer) is FunctionTransformer and transformer.func is None
    if identity or (isinstance(transformer, str) and transformer == "passthrough"):
        return [0.0] * width, [1.0] * width
    if type(transformer) is not StandardScaler:
        raise UnsupportedModelError(f"unsupported numeric transformer {transformer!r}")
    means = transformer.mean_ if transformer.with_mean else None
    scales = transformer.scale_ if transformer.with_std else None
    return (
        [0.0] * width if means is None else [float(m) for m in means],
        [1.0] * width if scales is None else [float(s) for s in scales],
    )
