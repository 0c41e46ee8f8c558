"""``spendcast train``: fit the spending model and save it as the current version."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from spendcast.cli.env_options import EnvOptions

if TYPE_CHECKING:
    from spendcast.settings import Settings

option = EnvOptions()  # the settings' own env names: SPENDCAST_MODEL_DIR, ...


@click.command()
@option(
    "--dataset",
    type=click.Path(dir_okay=False, path_type=Path),
    env="SPENDCAST_DATASET_PATH",  # the setting's name (dataset_path)
    help="Training CSV with columns age,education,income,spending "
    "[default: the dataset shipped with spendcast].",
)
@option.model_dir("Directory the artifact is saved into and CURRENT points from [default: models].")
@option(
    "--store",
    env="SPENDCAST_MODEL_STORE",  # the setting's name (model_store)
    metavar="DIR|URL",
    help="The model store every replica reads: a directory, or a PostgreSQL URL "
    "(postgresql+psycopg://...) [default: --model-dir].",
)
@option(
    "--seed",
    type=int,
    default=42,
    show_default=True,
    help="Seed of the train/test split (and of --regenerate-dataset).",
)
@click.option(
    "--if-missing",
    is_flag=True,
    help="Only train when the model directory has no current model; "
    "otherwise print its version and exit 0.",
)
@click.option(
    "--regenerate-dataset",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="PATH",
    help="Write the synthetic dataset (1,000 rows, from --seed) to PATH and exit without training.",
)
def train(
    dataset: Path | None,
    model_dir: Path | None,
    store: str | None,
    seed: int,
    if_missing: bool,
    regenerate_dataset: Path | None,
) -> None:
    """Train the spending model and save a versioned skops artifact.

    Fits ordinal education + scaled age and income -> linear regression on an 80/20 split,
    prints train/test MSE and R², and makes the new version current: running servers pick
    it up within SPENDCAST_MODEL_POLL_SECONDS.
    """
    from spendcast.errors import ModelError
    from spendcast.model.store import open_store
    from spendcast.settings import Settings

    if regenerate_dataset is not None:
        _regenerate(regenerate_dataset, seed)
        return
    overrides = {"dataset_path": dataset, "model_dir": model_dir, "model_store": store}
    settings = Settings().model_copy(
        update={name: value for name, value in overrides.items() if value is not None}
    )
    try:
        model_store = open_store(settings)
        try:
            existing = model_store.current()
        finally:
            model_store.close()
    except ModelError as error:
        raise click.ClickException(str(error)) from error
    if if_missing and existing is not None:
        click.echo(f"model {existing} already in {model_store.location}: nothing to do")
        return
    _train(settings, seed)


def _train(settings: Settings, seed: int) -> None:
    from rich.console import Console
    from rich.table import Table

    from spendcast.errors import ModelError
    from spendcast.model.training import train_and_save

    source = settings.dataset_path
    if source is not None and not source.is_file():
        raise click.UsageError(f"dataset {source} does not exist or is not a file")
    try:
        trained = train_and_save(settings, seed=seed)
    except (ValueError, OSError, ModelError) as error:
        raise click.ClickException(f"training failed: {error}") from error
    metrics = trained.metrics
    table = Table(title=f"spendcast model {trained.version}")
    table.add_column("split")
    table.add_column("rows", justify="right")
    table.add_column("MSE", justify="right")
    table.add_column("R²", justify="right")
    for split in ("train", "test"):
        table.add_row(
            split,
            f"{metrics[f'n_{split}']:.0f}",
            f"{metrics[f'mse_{split}']:,.1f}",
            f"{metrics[f'r2_{split}']:.4f}",
        )
    console = Console(soft_wrap=True)
    console.print(table)
    console.print(f"dataset: {source or 'packaged customers.csv'}")
    console.print(f"version: {trained.version}")
    console.print(f"artifact: {trained.path}")


def _regenerate(path: Path, seed: int) -> None:
    from spendcast.model.dataset import generate, write_csv

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_csv(generate(seed=seed), path)
    except OSError as error:
        raise click.ClickException(f"cannot write {path}: {error}") from error
    click.echo(f"wrote {path}")
