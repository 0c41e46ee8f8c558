"""The lab's prediction API as learners receive it: slow on purpose (see README.md here)."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import joblib
import pandas as pd
from fastapi import FastAPI, HTTPException
from sklearn.linear_model import LinearRegression
from sqlalchemy import create_engine

from spendcast.model.dataset import packaged_dataset_path
from spendcast.model.schema import EDUCATION_LEVELS

MODEL_PATH = Path(os.environ.get("LAB_BASELINE_MODEL", "lab_baseline_model.joblib"))
DATABASE_URL = os.environ.get("LAB_BASELINE_DATABASE_URL", "sqlite:///lab_baseline.db")
MONITORING_TABLE = "monitoring_sells_forecast"
EDUCATION_LEVEL = pd.DataFrame(
    {"education": list(EDUCATION_LEVELS), "education_level": range(len(EDUCATION_LEVELS))}
)

app = FastAPI(title="lab baseline (TP6 starting point)")


def _validate(df: pd.DataFrame) -> None:
    """Per-call schema checks, as the lab's pandera ``check_input`` decorator runs them."""
    checks = {
        "age is integer": pd.api.types.is_integer_dtype(df["age"]),
        "age in range": bool(df["age"].between(0, 120).all()),
        "income is numeric": pd.api.types.is_numeric_dtype(df["income"]),
        "income is positive": bool((df["income"] >= 0).all()),
        "education is known": bool(df["education"].isin(EDUCATION_LEVELS).all()),
        "no missing values": not bool(df.isna().to_numpy().any()),
    }
    failed = [name for name, ok in checks.items() if not ok]
    if failed:
        raise HTTPException(status_code=422, detail=f"schema checks failed: {failed}")


def _prepare(df: pd.DataFrame) -> pd.DataFrame:
    _validate(df)
    merged = df.merge(EDUCATION_LEVEL, on="education").drop(columns=["education"])
    return merged[["age", "education_level", "income"]]


def _train() -> None:
    data = pd.read_csv(packaged_dataset_path())
    model = LinearRegression().fit(_prepare(data[["age", "education", "income"]]), data["spending"])
    joblib.dump(model, MODEL_PATH)


def _load_model() -> Any:
    if not MODEL_PATH.exists():
        _train()
    return joblib.load(MODEL_PATH)


def _monitor(df: pd.DataFrame, inference: pd.DataFrame) -> None:
    row = pd.concat([df, inference], axis=1)
    row["datetime"] = datetime.now(UTC)
    engine = create_engine(DATABASE_URL)
    row.to_sql(MONITORING_TABLE, con=engine, if_exists="append", index=False)
    engine.dispose()


@app.get("/")
def root() -> dict[str, str]:
    return {"Message": "API server working fine, you can get swagger on /docs."}


@app.get("/health")
def health() -> dict[str, str]:
    return {"healthcheck": "Everything OK!"}


@app.get("/ready")
def ready() -> dict[str, str]:
    _load_model()
    return {"status": "ready"}


@app.get("/predict")
def predict(education: str, age: int, income: float) -> float:
    df = pd.DataFrame({"education": [education], "age": [age], "income": [income]})
    model = _load_model()
    inference = pd.DataFrame({"prediction": model.predict(_prepare(df))})
    _monitor(df, inference)
    return float(inference.loc[0, "prediction"])
