"""Configuration: a frozen dataclass loaded from TOML, with paths resolved at start-up.

Where things live (first match wins):

* ``--data-dir DIR`` on the command line,
* ``$TUINEWS_HOME`` (the cache, the config file and the log all go there),
* otherwise platformdirs: the user data dir for the cache and log, the user config dir for
  ``config.toml``.

The config file is optional. Example::

    [network]
    concurrency = 16
    timeout = 20          # read timeout, seconds
    max_size_mb = 20

    [reader]
    prefetch = false      # fetch full text of new stories on every refresh
    theme = "textual-dark"
    images = true         # show the article's images inline (kitty, sixel or half blocks)

    [export]
    dir = "~/Documents/news"   # where `e` and `tuinews export` write (default below)

    [keys]
    next_story = "j,down"
    quit = "q"
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .core.errors import TuinewsError

APP_NAME = "tuinews"


@dataclass(frozen=True, slots=True)
class Config:
    """Everything the service and the app need to start."""

    data_dir: Path
    config_file: Path
    concurrency: int = 16
    connect_timeout: float = 10.0
    read_timeout: float = 20.0
    total_timeout: float = 60.0
    max_bytes: int = 20 * 1024 * 1024
    prefetch: bool = False
    extract_workers: int = 0
    """Processes for extraction (0: one per core)."""
    extract_timeout: float = 20.0
    theme: str | None = None
    images: bool = True
    """Show the article's images inline (``[reader] images = false`` turns them off)."""
    keys: dict[str, str] = field(default_factory=dict)
    """Action id -> comma-separated keys, overriding the defaults."""
    export_dir: Path = field(default_factory=lambda: default_export_dir())
    """Where exports go (``[export] dir``): the user's documents folder, or
    ``~/tuinews-export`` where there is none."""

    @property
    def db_path(self) -> Path:
        return self.data_dir / "cache.sqlite3"

    @property
    def log_path(self) -> Path:
        return self.data_dir / "tuinews.log"


def default_dirs(data_dir: str | os.PathLike[str] | None = None) -> tuple[Path, Path]:
    """(data dir, config file) from the command line, ``TUINEWS_HOME`` or platformdirs."""
    if data_dir:
        base = Path(data_dir).expanduser().resolve()
        return base, base / "config.toml"
    home = os.environ.get("TUINEWS_HOME")
    if home:
        base = Path(home).expanduser().resolve()
        return base, base / "config.toml"
    import platformdirs

    return (
        Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)),
        Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)) / "config.toml",
    )


def default_export_dir() -> Path:
    """The user's documents folder (platformdirs), or ``~/tuinews-export`` when the system has
    none: never the current directory (in a source checkout that is the repository)."""
    import platformdirs

    try:
        documents = Path(platformdirs.user_documents_dir())
    except Exception:  # platformdirs can fail on odd systems; the fallback is fine there
        documents = None
    if documents is not None and documents.is_dir() and documents != Path.home():
        return documents
    return Path.home() / "tuinews-export"


def _section(data: dict[str, Any], name: str) -> dict[str, Any]:
    value = data.get(name, {})
    if not isinstance(value, dict):
        raise TuinewsError(f"config: [{name}] must be a table")
    return value


def load_config(
    data_dir: str | os.PathLike[str] | None = None, config_file: str | None = None
) -> Config:
    """Resolve the paths and read the TOML config file if there is one.

    Raises:
        TuinewsError: the config file is not valid TOML or holds wrong types.
    """
    base, cfg_path = default_dirs(data_dir)
    if config_file:
        cfg_path = Path(config_file).expanduser()
    data: dict[str, Any] = {}
    if cfg_path.is_file():
        try:
            data = tomllib.loads(cfg_path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError) as exc:
            raise TuinewsError(f"config file {cfg_path} cannot be read: {exc}") from exc
    network = _section(data, "network")
    reader = _section(data, "reader")
    keys = _section(data, "keys")
    export = _section(data, "export")
    export_dir = export.get("dir")
    if export_dir is not None and not isinstance(export_dir, str):
        raise TuinewsError(f"config file {cfg_path}: [export] dir must be a string (a folder)")
    try:
        return Config(
            data_dir=base,
            config_file=cfg_path,
            concurrency=int(network.get("concurrency", 16)),
            connect_timeout=float(network.get("connect_timeout", 10.0)),
            read_timeout=float(network.get("timeout", 20.0)),
            total_timeout=float(network.get("total_timeout", 60.0)),
            max_bytes=int(float(network.get("max_size_mb", 20)) * 1024 * 1024),
            prefetch=bool(reader.get("prefetch", False)),
            extract_workers=int(reader.get("extract_workers", 0)),
            extract_timeout=float(reader.get("extract_timeout", 20.0)),
            theme=reader.get("theme"),
            images=bool(reader.get("images", True)),
            keys={str(k): str(v) for k, v in keys.items()},
            export_dir=(Path(export_dir).expanduser() if export_dir else default_export_dir()),
        )
    except (TypeError, ValueError) as exc:
        raise TuinewsError(f"config file {cfg_path}: {exc}") from exc
