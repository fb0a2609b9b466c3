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
    prefetch_limit = 200  # pages per refresh at most (new stories, then the newest without text)
    fold_events = true    # one row per event: other feeds' reports of it fold in ("+2 sources")
    fold_read_together = true  # opening a folded row marks all its reports read
    theme = "textual-dark"
    images = true         # show the article's images inline (kitty, sixel or half blocks)

    [export]
    dir = "~/Documents/news"   # where `e` and `tuinews export` write (default below)

    [keys]
    next_story = "j,down"
    quit = "q"

    [refresh]
    interval = "30m"      # each feed's default; `tuinews feeds set FEED --interval 2h`
    auto = true           # refresh due feeds in the background while the app is open

    [retention]
    keep_days = 90        # stories older than this are deleted (0: keep them all)
    keep_per_feed = 500   # at most this many per feed (0: no limit)
    full_text_days = 30   # the stored page and full text of older stories go first (0: keep)
    auto = true           # the app cleans up by itself, at most once a day

    [filters]
    hide = ["title:sponsored"]   # searches whose stories are hidden everywhere
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
    prefetch_limit: int = 200
    """Pages one refresh prefetches at most: its new stories, then the newest without text."""
    fold_events: bool = True
    """One row per event in the story list: reports of one event from other feeds fold in."""
    fold_read_together: bool = True
    """Opening a folded row marks every report in it read (False: only the one opened)."""
    extract_workers: int = 0
    """Processes for extraction (0: one per core)."""
    extract_timeout: float = 20.0
    theme: str | None = None
    images: bool = True
    """Show the article's images inline (``[reader] images = false`` turns them off)."""
    keys: dict[str, str] = field(default_factory=dict)
    """Action id -> comma-separated keys, overriding the defaults."""
    refresh_interval: int = 30 * 60
    """Seconds between refreshes of a feed, unless the feed has its own (``[refresh]``)."""
    auto_refresh: bool = True
    """Refresh due feeds in the background while the app is open."""
    keep_days: int = 90
    """Retention: stories older than this many days are deleted (0: never)."""
    keep_per_feed: int = 500
    """Retention: at most this many stories per feed (0: no limit)."""
    full_text_days: int = 30
    """Retention: older stories lose their stored page and full text first (0: never)."""
    auto_cleanup: bool = True
    """The app runs the retention by itself, at most once a day."""
    hide: tuple[str, ...] = ()
    """Kill-file: searches whose stories are hidden from every list (``[filters] hide``)."""
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
    refresh = _section(data, "refresh")
    retention = _section(data, "retention")
    filters = _section(data, "filters")
    hide = filters.get("hide", [])
    if isinstance(hide, str):
        hide = [hide]
    if not isinstance(hide, list) or not all(isinstance(h, str) for h in hide):
        raise TuinewsError(f"config file {cfg_path}: [filters] hide must be a list of searches")
    from .core.schedule import parse_duration

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
            prefetch_limit=int(reader.get("prefetch_limit", 200)),
            fold_events=bool(reader.get("fold_events", True)),
            fold_read_together=bool(reader.get("fold_read_together", True)),
            extract_workers=int(reader.get("extract_workers", 0)),
            extract_timeout=float(reader.get("extract_timeout", 20.0)),
            theme=reader.get("theme"),
            images=bool(reader.get("images", True)),
            keys={str(k): str(v) for k, v in keys.items()},
            refresh_interval=parse_duration(refresh.get("interval", "30m")),
            auto_refresh=bool(refresh.get("auto", True)),
            keep_days=_non_negative(retention, "keep_days", 90),
            keep_per_feed=_non_negative(retention, "keep_per_feed", 500),
            full_text_days=_non_negative(retention, "full_text_days", 30),
            auto_cleanup=bool(retention.get("auto", True)),
            hide=tuple(h.strip() for h in hide if h.strip()),
            export_dir=(Path(export_dir).expanduser() if export_dir else default_export_dir()),
        )
    except TuinewsError as exc:
        raise TuinewsError(f"config file {cfg_path}: {exc}") from exc
    except (TypeError, ValueError) as exc:
        raise TuinewsError(f"config file {cfg_path}: {exc}") from exc


def _non_negative(section: dict[str, Any], key: str, default: int) -> int:
    value = int(section.get(key, default))
    if value < 0:
        raise ValueError(f"{key} must be 0 or more")
    return value
