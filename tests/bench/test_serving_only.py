"""bench.serving_only: what the serving-only install is built from, and when it is reused
(its real build, serve and measure run in tests/packaging/test_plain_install.py)."""

from __future__ import annotations

from pathlib import Path

from bench.serving_only import (
    STAMP,
    build_venv,
    serve_spec,
    server_name,
    serving_env,
    source_digest,
    source_files,
)


def _tree(root: Path) -> Path:
    for relative, text in {
        "pyproject.toml": "[project]\nname = 'x'\n",
        "README.md": "# x\n",
        "src/x/__init__.py": "",
        "src/x/core.py": "VALUE = 1\n",
        "src/x/__pycache__/core.cpython-311.pyc": "compiled",
        "src/x.egg-info/PKG-INFO": "Name: x\n",
        "tests/test_x.py": "",
        "runs/bench/results.json": "{}",
    }.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(text)
    return root


def test_the_source_is_what_pip_builds_from_without_caches(tmp_path: Path) -> None:
    repo = _tree(tmp_path)
    assert [p.as_posix() for p in source_files(repo)] == [
        "pyproject.toml",
        "README.md",
        "src/x/__init__.py",
        "src/x/core.py",
    ]


def test_the_digest_follows_the_source_only(tmp_path: Path) -> None:
    repo = _tree(tmp_path)
    first = source_digest(repo)
    (repo / "src/x/__pycache__/core.cpython-311.pyc").write_text("recompiled")
    (repo / "tests/test_x.py").write_text("def test(): pass\n")
    assert source_digest(repo) == first
    (repo / "src/x/core.py").write_text("VALUE = 2\n")
    assert source_digest(repo) != first


def test_a_venv_built_from_the_same_source_is_reused_as_it_is(tmp_path: Path) -> None:
    repo = _tree(tmp_path / "repo")
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "spendcast").write_text("#!/bin/sh\n")
    (venv / STAMP).write_text(source_digest(repo) + "\n")
    (venv / "kept").write_text("")
    assert build_venv(venv, repo) == venv
    assert (venv / "kept").exists()


def test_the_server_runs_the_venvs_own_command(tmp_path: Path) -> None:
    env = serving_env(tmp_path / "models", tmp_path, "t0ken")
    assert env["PYTHONPATH"] == ""
    assert env["SPENDCAST_API_TOKEN"] == "t0ken"
    assert env["SPENDCAST_MODEL_DIR"] == str((tmp_path / "models").resolve())
    spec = serve_spec(tmp_path / "venv", 2, env, tmp_path, "0,1")
    assert spec.name == server_name(2) == "spendcast-2w-serving-only"
    assert spec.command[:2] == (str(tmp_path / "venv" / "bin" / "spendcast"), "serve")
    assert spec.command[-2:] == ("--workers", "2")
    assert (spec.workers, spec.cpus, spec.ready_path) == (2, "0,1", "/ready")
