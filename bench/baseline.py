"""``--baseline REV``: one benchmark measured on two trees, round by round, and paired.

The revision's ``src`` (with ``pyproject.toml`` and ``README.md``: what an install is built
from) is extracted with ``git archive`` into a temporary directory: no checkout, nothing left
in the repository. Then each round runs the benchmark twice, as the child process
``python -m bench COMMAND <the options given> --rounds 1 --out OUT/SIDE/round-N``: once with
the working tree's ``src`` first on ``PYTHONPATH`` (``candidate``), once with the revision's
(``baseline``), in alternating order so that a slow moment of the machine hits both. The
benchmark's own code (``bench/``) is this tree's on both sides: only spendcast differs, and
the servers a benchmark starts inherit the path. Each child writes its ``results.json``, whose
``source`` must be its side's ``src``; each figure of a round gives one value of the ratio
``FIGURE: candidate / baseline`` (below 1: the candidate measures less).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from bench.report import format_table
from bench.results import RESULTS_FILE, Ratio, Results, read, spendcast_source
from spendcast.cli.errors import BadInput

ROOT = Path(__file__).resolve().parent.parent
TREE = ("src", "pyproject.toml", "README.md")
OWN_OPTIONS = ("baseline", "rounds", "out")  # set per child, never replayed
SIDES = ("candidate", "baseline")


def revision_tree(revision: str, into: Path) -> Path:
    """``src`` of the repository at ``revision`` (and what an install builds from), under
    ``into``; a revision git does not know is a usage error."""
    into.mkdir(parents=True, exist_ok=True)
    archive = into / "tree.tar"
    done = subprocess.run(
        ["git", "-C", str(ROOT), "archive", "--output", str(archive), revision, *TREE],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        reason = (done.stderr.strip().splitlines() or ["git archive failed"])[-1]
        raise BadInput(f"--baseline {revision}: {reason}")
    with tarfile.open(archive) as tar:
        tar.extractall(into, filter="data")
    return (into / "src").resolve()


def replayed_arguments(context: click.Context) -> list[str]:
    """The command's path under ``python -m bench`` and the options given on its command line,
    but those each child gets its own of (``OWN_OPTIONS``)."""
    path: list[str] = []
    at: click.Context | None = context
    while at is not None and at.parent is not None:
        path.insert(0, at.info_name or "")
        at = at.parent
    arguments: list[str] = []
    for param in context.command.params:
        name = param.name or ""
        if name in OWN_OPTIONS:
            continue
        if context.get_parameter_source(name) is not ParameterSource.COMMANDLINE:
            continue
        value = context.params[name]
        if isinstance(param, click.Argument):
            arguments += [str(v) for v in value] if param.multiple else [str(value)]
        elif isinstance(param, click.Option) and param.is_flag:
            if param.secondary_opts:
                arguments.append(param.opts[0] if value else param.secondary_opts[0])
            elif value:
                arguments.append(param.opts[0])
        elif isinstance(param, click.Option) and param.multiple:
            for item in value:
                arguments += [param.opts[0], str(item)]
        else:
            arguments += [param.opts[0], str(value)]
    return [*path, *arguments]


def pair(candidate: Sequence[Results], baseline: Sequence[Results]) -> dict[str, Ratio]:
    """Per figure both sides measured in every round: ``FIGURE: candidate / baseline``, one
    value per round (a round whose baseline measured 0 gives none)."""
    ratios: dict[str, Ratio] = {}
    names = [name for name in candidate[0].figures if all(name in r.figures for r in baseline)]
    for name in names:
        values = [
            _middle(mine.figures[name]) / _middle(theirs.figures[name])
            for mine, theirs in zip(candidate, baseline, strict=True)
            if name in mine.figures and _middle(theirs.figures[name])
        ]
        if values:
            ratios[f"{name}: candidate / baseline"] = Ratio.of(values)
    return ratios


def merged(rounds: Sequence[Results]) -> tuple[dict[str, Ratio], dict[str, tuple[float, ...]]]:
    """One side's own ratios and figures over its one-round runs, as one run would give them."""
    ratio_values: dict[str, list[float]] = {}
    figures: dict[str, list[float]] = {}
    for results in rounds:
        for name, ratio in results.ratios.items():
            ratio_values.setdefault(name, []).extend(ratio.values)
        for name, values in results.figures.items():
            figures.setdefault(name, []).extend(values)
    ratios = {name: Ratio.of(values) for name, values in ratio_values.items() if values}
    return ratios, {name: tuple(values) for name, values in figures.items()}


def run_paired(context: click.Context, revision: str, rounds: int, out: Path) -> None:
    """The benchmark of ``context`` on both trees, ``rounds`` times; results.json in ``out``."""
    arguments = replayed_arguments(context)
    runs: dict[str, list[Results]] = {side: [] for side in SIDES}
    failures: list[str] = []
    with tempfile.TemporaryDirectory(prefix="spendcast-baseline-") as tmp:
        sources = {"candidate": spendcast_source(), "baseline": revision_tree(revision, Path(tmp))}
        commit = _commit(revision)
        for round_ in range(rounds):
            order = SIDES if round_ % 2 == 0 else tuple(reversed(SIDES))
            for side in order:
                side_out = out / side / f"round-{round_ + 1}"
                click.echo(f"round {round_ + 1}/{rounds}: {side} ({sources[side]}) ...", err=True)
                code = _run_child(arguments, sources[side], side_out)
                if not (side_out / RESULTS_FILE).is_file():
                    raise click.ClickException(
                        f"{side} round {round_ + 1}: exit code {code}, no {RESULTS_FILE}"
                    )
                results = read(side_out)
                if Path(results.source) != sources[side]:
                    raise click.ClickException(
                        f"{side} round {round_ + 1} imported spendcast from {results.source}"
                    )
                if code != 0:
                    failures.append(f"{side} round {round_ + 1}: exit code {code}")
                runs[side].append(results)
    ratios = pair(runs["candidate"], runs["baseline"])
    own, figures = merged(runs["candidate"])
    results = Results(
        benchmark=runs["candidate"][0].benchmark,
        command=" ".join(["python", "-m", "bench", *arguments, "--baseline", revision]),
        rounds=rounds,
        ratios={**ratios, **own},
        figures=figures,
    )
    details: dict[str, Any] = {
        "baseline": {"revision": revision, "commit": commit, "src": str(sources["baseline"])},
        "failures": failures,
        "sides": {side: _side_json(side_runs) for side, side_runs in runs.items()},
    }
    rows = [[name, f"{r.median:.3f} [{r.low:.3f}-{r.high:.3f}]"] for name, r in ratios.items()]
    click.echo(f"\n{results.benchmark}: this tree against {revision} ({commit[:12]}), "
               f"{rounds} rounds\n")  # fmt: skip
    click.echo(format_table(["figure: candidate / baseline", "median [min-max]"], rows))
    click.echo(f"\nwrote {results.write(out, details)}")
    for failure in failures:
        click.echo(f"FAILED {failure}")
    if failures:
        raise SystemExit(1)


def _run_child(arguments: list[str], src: Path, out: Path) -> int:
    """One round on one tree; its output goes to stderr (the paired table is the output)."""
    path = os.pathsep.join([str(src), str(ROOT)])
    command = [sys.executable, "-m", "bench", *arguments, "--rounds", "1", "--out", str(out)]
    done = subprocess.run(
        command, env={**os.environ, "PYTHONPATH": path}, stdout=sys.stderr, check=False
    )
    return done.returncode


def _commit(revision: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--verify", f"{revision}^{{commit}}"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return done.stdout.strip()


def _middle(values: Sequence[float]) -> float:
    return statistics.median(values) if values else 0.0


def _side_json(runs: Sequence[Results]) -> dict[str, Any]:
    ratios, figures = merged(runs)
    return {
        "source": runs[0].source if runs else "",
        "ratios": {name: ratio.to_json() for name, ratio in ratios.items()},
        "figures": {name: list(values) for name, values in figures.items()},
    }
