"""Fixtures for the hostile suite: a fault-capable loopback server and the closing tally."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.hostile.faults import TALLY, HostileServer


@pytest.fixture
def hostile() -> Iterator[HostileServer]:
    """A :class:`HostileServer` on 127.0.0.1, stopped after the test."""
    srv = HostileServer().start()
    try:
        yield srv
    finally:
        srv.stop()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not TALLY.counts:
        return
    terminalreporter.section("hostile inputs (per category)")
    for line in TALLY.lines():
        terminalreporter.write_line(line)
