"""Shared fixtures: every test gets its own data and config directories (never ~)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.loopback import LoopbackServer

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
SAMPLES = REPO / "sample_articles"


def shared_data(*parts: str) -> Path:
    """A path under ../shared/data, or skip the test where the folder is absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip("../shared/data is absent (a user's clone): real-world inputs not available")
    return path


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "tuinews-home"
    monkeypatch.setenv("TUINEWS_HOME", str(home))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    return home


@pytest.fixture(autouse=True, scope="module")
def _fresh_related_caches() -> None:
    """Each test module starts with the related module's word caches empty, as a fresh app
    does: they are process-wide, and the idf of a term depends on the words seen before it
    was computed (the English prior of a term is the highest among its words seen so far), so
    one module's words must not change another module's rankings."""
    from tuinews.core import related

    related._STEMS.clear()
    related._KEY_TERMS.clear()
    related._EVENT_TERMS.clear()
    related._TERM_PRIOR.clear()
    with related._FREQUENCIES_LOCK:
        related._FREQUENCIES.clear()


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    """A real HTTP server on 127.0.0.1, stopped after the test."""
    srv = LoopbackServer().start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture(autouse=True)
def _no_proxy_from_the_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fetcher honours HTTP(S)_PROXY: a proxy set on the machine must not catch the tests'
    loopback requests (the proxy tests set their own)."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
