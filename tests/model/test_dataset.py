from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from spendcast.model.dataset import (
    AGE_RANGE,
    AGE_WEIGHT,
    BASE_SPENDING,
    EDUCATION_EFFECT,
    EDUCATION_SHARES,
    INCOME_WEIGHT,
    generate,
    packaged_dataset_path,
    read_csv,
    sample_customers,
    write_csv,
)
from spendcast.model.schema import EDUCATION_LEVELS


def test_shipped_csv_is_regenerated_bit_for_bit(tmp_path: Path) -> None:
    path = tmp_path / "customers.csv"
    write_csv(generate(), path)
    assert path.read_bytes() == packaged_dataset_path().read_bytes()


def test_shipped_csv_has_the_expected_columns_and_rows() -> None:
    lines = packaged_dataset_path().read_text().splitlines()
    assert lines[0] == "age,education,income,spending"
    assert len(lines) == 1001
    assert len(read_csv(packaged_dataset_path())) == 1000


def test_same_seed_same_rows_other_seed_other_rows() -> None:
    first, again, other = generate(200, seed=7), generate(200, seed=7), generate(200, seed=8)
    assert first.education == again.education
    assert np.array_equal(first.spending, again.spending)
    assert not np.array_equal(first.spending, other.spending)


def test_columns_are_realistic() -> None:
    data = generate(20_000, seed=1)
    assert data.age.dtype == np.int64
    assert (data.age.min(), data.age.max()) == AGE_RANGE
    assert (data.income > 0).all()
    assert np.array_equal(data.income, np.round(data.income, 2))
    shares = Counter(data.education)
    for level, share in zip(EDUCATION_LEVELS, EDUCATION_SHARES, strict=True):
        assert shares[level] / len(data) == pytest.approx(share, abs=0.02)
    medians = [
        float(np.median(data.income[np.array(data.education) == e])) for e in EDUCATION_LEVELS
    ]
    assert medians == sorted(medians)  # income grows with education


def test_spending_follows_the_documented_formula() -> None:
    data = generate(50_000, seed=3)
    education = np.array(data.education)
    dummies = [(education == level).astype(float) for level in EDUCATION_LEVELS[1:]]
    design = np.column_stack([np.ones(len(data)), data.income, data.age, *dummies])
    fitted, *_ = np.linalg.lstsq(design, data.spending, rcond=None)
    intercept, income_weight, age_weight, *effects = fitted
    assert intercept == pytest.approx(BASE_SPENDING, abs=100)
    assert income_weight == pytest.approx(INCOME_WEIGHT, abs=0.005)
    assert age_weight == pytest.approx(AGE_WEIGHT, abs=2)
    for level, effect in zip(EDUCATION_LEVELS[1:], effects, strict=True):
        assert effect == pytest.approx(EDUCATION_EFFECT[level], abs=80)


def test_csv_round_trip(tmp_path: Path) -> None:
    data = generate(50, seed=5)
    path = tmp_path / "data.csv"
    write_csv(data, path)
    back = read_csv(path)
    assert back.education == data.education
    assert np.array_equal(back.age, data.age)
    assert np.array_equal(back.income, data.income)
    assert np.array_equal(back.spending, data.spending)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("age,education,income\n30,PhD,1000\n", "missing columns ['spending']"),
        ("age,education,income,spending\n", "no rows"),
        ("age,education,income,spending\nold,PhD,1,2\n", "invalid literal"),
        ("age,education,income,spending\n30,Kindergarten,1,2\n", "Kindergarten"),
    ],
)
def test_read_csv_names_what_is_wrong(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match=r"bad\.csv") as error:
        read_csv(path)
    assert message in str(error.value)


def test_features_are_an_object_table_in_feature_order() -> None:
    table = generate(3, seed=2).features()
    assert table.shape == (3, 3)
    assert table.dtype == object
    age, education, income = table[0]
    assert isinstance(education, str)
    assert education in EDUCATION_LEVELS
    assert float(age) == int(age)
    assert float(income) > 0


def test_sample_customers_are_seeded_and_valid() -> None:
    customers = sample_customers(500, seed=11)
    assert customers == sample_customers(500, seed=11)
    assert customers != sample_customers(500, seed=12)
    assert len(customers) == 500
    for education, age, income in customers:
        assert education in EDUCATION_LEVELS
        assert isinstance(age, int)
        assert AGE_RANGE[0] <= age <= AGE_RANGE[1]
        assert isinstance(income, float)
        assert income > 0
    assert {c[0] for c in customers} == set(EDUCATION_LEVELS)
