"""The customer record the model reads, shared by the dataset, the API and the load tests."""

from __future__ import annotations

from typing import Final, Literal

Education = Literal["High School", "Bachelor", "Master", "PhD"]

# Ordered from least to most schooling: the model encodes education by this rank, as the lab did.
EDUCATION_LEVELS: Final[tuple[Education, ...]] = ("High School", "Bachelor", "Master", "PhD")

# Inclusive bounds accepted by the API. The lab's own example asks for age=12, so minors are valid.
AGE_MIN: Final = 0
AGE_MAX: Final = 120
INCOME_MIN: Final = 0.0
INCOME_MAX: Final = 10_000_000.0

FEATURES: Final[tuple[str, ...]] = ("age", "education", "income")
TARGET: Final = "spending"
