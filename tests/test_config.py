"""The config file's ``[export] dir`` and its default (issue 17: never the current directory)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tuinews.config import default_export_dir, load_config
from tuinews.core.errors import TuinewsError


def test_export_dir_defaults_to_documents_else_a_folder_in_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_DOCUMENTS_DIR", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "no-user-dirs"))
    # No documents folder: ~/tuinews-export.
    assert default_export_dir() == home / "tuinews-export"
    assert load_config(data_dir=tmp_path / "data").export_dir == home / "tuinews-export"
    (home / "Documents").mkdir()
    assert default_export_dir() == home / "Documents"
    assert default_export_dir() != Path.cwd()


def test_export_dir_from_the_config_file(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text('[export]\ndir = "~/notes/news"\n', encoding="utf-8")
    config = load_config(data_dir=tmp_path)
    assert config.export_dir == Path("~/notes/news").expanduser()
    (tmp_path / "config.toml").write_text("[export]\ndir = 3\n", encoding="utf-8")
    with pytest.raises(TuinewsError, match=r"\[export\] dir must be a string"):
        load_config(data_dir=tmp_path)
