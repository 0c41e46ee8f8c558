"""docs/contributing.md names files a newcomer must touch: each one it names exists."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "contributing.md"
# Where a name in the guide may be rooted: the repository, the package, the kit.
ROOTS = (ROOT, ROOT / "src" / "spendcast", ROOT / "src" / "spendcast" / "loadtest")


def named_paths(text: str) -> set[str]:
    """Every `code span` that is a file path (has a folder and an extension, no placeholder)."""
    spans = re.findall(r"`([^`\s]+)`", text)
    return {
        s for s in spans if re.fullmatch(r"[\w./-]+/[\w.-]+\.(py|md|toml)", s) and "NAME" not in s
    }


def test_the_guide_names_files() -> None:
    assert len(named_paths(GUIDE.read_text())) >= 15


def test_every_file_the_guide_names_exists() -> None:
    missing = [
        p for p in named_paths(GUIDE.read_text()) if not any((r / p).is_file() for r in ROOTS)
    ]
    assert missing == []
