"""The seeded synthetic customer dataset the model learns from.

Each customer is drawn independently (``numpy.random.default_rng(seed)``):

- ``education``: one of ``EDUCATION_LEVELS`` with shares 35 % High School, 35 % Bachelor,
  20 % Master, 10 % PhD;
- ``age``: an integer, uniform on 18..79;
- ``income``: lognormal with a median that grows with education (``INCOME_MEDIAN``) and
  sigma ``INCOME_SIGMA`` = 0.4, rounded to cents.

Yearly spending, rounded to cents, is linear in the features plus gaussian noise::

    spending = 2000 + 0.12 * income + 35 * age + EDUCATION_EFFECT[education] + N(0, 1500²)

    EDUCATION_EFFECT = {High School: 0, Bachelor: 400, Master: 800, PhD: 1200}

so a linear model with an ordinal education code recovers it (R² ≈ 0.85 on the shipped
data). The shipped ``data/customers.csv`` is ``write_csv(generate(), path)``, byte for byte.

``sample_customers(n, seed)`` draws ``(education, age, income)`` tuples from the same
distributions, without spending: realistic requests for load tests.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt

from spendcast.model.schema import EDUCATION_LEVELS, FEATURES, TARGET

EDUCATION_SHARES: Final = (0.35, 0.35, 0.20, 0.10)
AGE_RANGE: Final = (18, 79)
INCOME_MEDIAN: Final = {
    "High School": 30_000.0,
    "Bachelor": 45_000.0,
    "Master": 58_000.0,
    "PhD": 72_000.0,
}
INCOME_SIGMA: Final = 0.4
BASE_SPENDING: Final = 2000.0
INCOME_WEIGHT: Final = 0.12
AGE_WEIGHT: Final = 35.0
EDUCATION_EFFECT: Final = {"High School": 0.0, "Bachelor": 400.0, "Master": 800.0, "PhD": 1200.0}
NOISE_SD: Final = 1500.0

COLUMNS: Final = (*FEATURES, TARGET)
PACKAGED_CSV: Final = "customers.csv"


@dataclass(frozen=True, eq=False)
class Dataset:
    """Customers column by column: ``age`` (int64), ``education``, ``income`` and ``spending``."""

    age: npt.NDArray[np.int64]
    education: tuple[str, ...]
    income: npt.NDArray[np.float64]
    spending: npt.NDArray[np.float64]

    def __post_init__(self) -> None:
        sizes = {len(self.age), len(self.education), len(self.income), len(self.spending)}
        if len(sizes) != 1:
            raise ValueError(f"columns have different lengths: {sorted(sizes)}")
        unknown = set(self.education) - set(EDUCATION_LEVELS)
        if unknown:
            raise ValueError(f"unknown education levels: {sorted(unknown)}")

    def __len__(self) -> int:
        return len(self.education)

    def features(self) -> npt.NDArray[np.object_]:
        """An (n, 3) object array, columns in ``FEATURES`` order, as the pipeline expects."""
        table = np.empty((len(self), len(FEATURES)), dtype=object)
        table[:, FEATURES.index("age")] = self.age
        table[:, FEATURES.index("education")] = self.education
        table[:, FEATURES.index("income")] = self.income
        return table


def _draw(rng: np.random.Generator, n: int) -> tuple[list[str], npt.NDArray[np.int64], list[float]]:
    codes = rng.choice(len(EDUCATION_LEVELS), size=n, p=EDUCATION_SHARES)
    education: list[str] = [EDUCATION_LEVELS[int(c)] for c in codes]
    age = rng.integers(AGE_RANGE[0], AGE_RANGE[1], size=n, endpoint=True, dtype=np.int64)
    medians = np.array([INCOME_MEDIAN[e] for e in education])
    income = np.round(medians * np.exp(rng.normal(0.0, INCOME_SIGMA, size=n)), 2)
    return education, age, [float(x) for x in income]


def generate(n_rows: int = 1000, seed: int = 42) -> Dataset:
    """``n_rows`` customers and their spending, the same for the same seed."""
    if n_rows < 1:
        raise ValueError("n_rows must be at least 1")
    rng = np.random.default_rng(seed)
    education, age, income_list = _draw(rng, n_rows)
    income = np.array(income_list, dtype=np.float64)
    effect = np.array([EDUCATION_EFFECT[e] for e in education])
    noise = rng.normal(0.0, NOISE_SD, size=n_rows)
    spending = BASE_SPENDING + INCOME_WEIGHT * income + AGE_WEIGHT * age + effect + noise
    return Dataset(age, tuple(education), income, np.round(spending, 2))


def sample_customers(n: int, seed: int | None = None) -> list[tuple[str, int, float]]:
    """``n`` realistic customers as ``(education, age, income)``, the API's argument order.

    Drawn from the same distributions as ``generate`` (no spending), for load tests.
    """
    education, age, income = _draw(np.random.default_rng(seed), n)
    return [(e, int(a), i) for e, a, i in zip(education, age, income, strict=True)]


def write_csv(dataset: Dataset, path: Path) -> None:
    """Write ``age,education,income,spending`` rows; money with two decimals, ``\\n`` endings."""
    with Path(path).open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file, lineterminator="\n")
        writer.writerow(COLUMNS)
        for age, education, income, spending in zip(
            dataset.age, dataset.education, dataset.income, dataset.spending, strict=True
        ):
            writer.writerow((int(age), education, f"{income:.2f}", f"{spending:.2f}"))


def read_csv(path: Path) -> Dataset:
    """Read a CSV with (at least) the columns ``age,education,income,spending``.

    Raises ``ValueError`` naming the file and line when a column or a value is wrong.
    """
    path = Path(path)
    with path.open(newline="", encoding="utf-8") as file:
        reader = csv.DictReader(file)
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or ())]
        if missing:
            raise ValueError(f"{path}: missing columns {missing} (expected {', '.join(COLUMNS)})")
        rows = list(reader)
    if not rows:
        raise ValueError(f"{path}: no rows")
    try:
        age = np.array([int(r["age"]) for r in rows], dtype=np.int64)
        income = np.array([float(r["income"]) for r in rows], dtype=np.float64)
        spending = np.array([float(r["spending"]) for r in rows], dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{path}: {error}") from error
    education = tuple(r["education"] for r in rows)
    try:
        return Dataset(age, education, income, spending)
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from error


def packaged_dataset_path() -> Path:
    """The 1,000-row dataset shipped inside the package."""
    return Path(str(resources.files("spendcast.model").joinpath("data", PACKAGED_CSV)))
