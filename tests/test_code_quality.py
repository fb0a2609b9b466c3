"""The rules we say we follow are enforced: ruff lint and format, mypy --strict on the whole
package."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CHECKED = ["src", "tests", "tools"]


def _tool(name: str) -> list[str]:
    exe = Path(sys.executable).parent / name
    if exe.exists():
        return [str(exe)]
    found = shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed (pip install '.[test]')")
    return [found]


def test_ruff_lint() -> None:
    proc = subprocess.run(
        [*_tool("ruff"), "check", *CHECKED], cwd=REPO, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_ruff_format() -> None:
    proc = subprocess.run(
        [*_tool("ruff"), "format", "--check", *CHECKED], cwd=REPO, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_mypy_strict_whole_package() -> None:
    """The whole package, the app and the CLI too (issue 15), not only the core."""
    proc = subprocess.run(
        [*_tool("mypy"), "--strict", "src"], cwd=REPO, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
