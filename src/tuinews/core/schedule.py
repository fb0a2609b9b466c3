"""When each feed is refreshed next: pure functions over the stored :class:`Feed` rows.

Every feed has an interval: the user's own for that feed (``tuinews feeds set FEED --interval
2h``), else the config's default (``[refresh] interval``). What the server asks for is a floor
under it: the feed's ``<ttl>`` and its Cache-Control ``max-age`` (both recorded by a refresh),
and a Retry-After date. A feed that keeps failing backs off, doubling its interval with each
failure in a row, up to a day. Gone feeds (404/410) are not scheduled at all.

The app asks :func:`due_feed_ids` every so often and refreshes those feeds in the background
through the ordinary :meth:`Service.refresh`; the schedule itself keeps no state beyond what the
refresh records on each feed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from .errors import TuinewsError
from .models import Feed

DEFAULT_INTERVAL = 30 * 60
"""The default interval (seconds) when the config sets none."""
MIN_INTERVAL = 60
"""No feed is fetched more often than this, whatever is configured."""
MAX_SERVER_FLOOR = 24 * 3600
"""A server's TTL or max-age is honoured up to a day (a year-long max-age is a misconfigured
static host, not a wish never to be read again)."""
MAX_BACKOFF = 24 * 3600
"""A failing feed is still tried at least once a day (or at its own interval if longer)."""
# Feeds that are not fetched: pages opened from related links are kept under this address.
_UNFETCHED = ("tuinews:",)

_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(s|sec|secs|m|min|mins|h|hr|hrs|d|day|days|w)?", re.I)
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_duration(text: str | int | float) -> int:
    """Seconds from "90s", "30m", "2h", "1h30m", "1d" (a bare number means minutes).

    Raises:
        TuinewsError: not a duration, or shorter than :data:`MIN_INTERVAL`.
    """
    if isinstance(text, int | float) and not isinstance(text, bool):
        seconds = int(float(text) * 60)
    else:
        value = str(text).strip().replace(" ", "")
        pos, seconds = 0, 0
        while pos < len(value):
            match = _DURATION.match(value, pos)
            if match is None or match.end() == pos:
                raise TuinewsError(f"{text!r} is not a duration (try 30m, 2h or 1d)")
            unit = (match.group(2) or "m")[0].lower()
            seconds += int(float(match.group(1)) * _UNIT[unit])
            pos = match.end()
        if not value:
            raise TuinewsError("an empty duration (try 30m, 2h or 1d)")
    if seconds < MIN_INTERVAL:
        raise TuinewsError(f"{text!r} is too short: feeds are refreshed at most once a minute")
    return seconds


def format_duration(seconds: float) -> str:
    """A short duration: "45s", "30m", "2h", "1h30m", "3d"."""
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h{minutes:02d}m" if minutes else f"{hours}h"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours}h" if hours else f"{days}d"


@dataclass(frozen=True, slots=True)
class FeedSchedule:
    """When one feed is due, and why."""

    feed_id: int
    interval: int
    """Seconds between refreshes, the server's floor applied (before any backoff)."""
    source: str
    """Where the interval comes from: "default", "feed" (set by the user) or "server"."""
    wait: int
    """Seconds actually waited after the last check (``interval``, or more when backing off)."""
    due: datetime
    """When the feed should be fetched next (UTC; the past means now)."""
    backing_off: bool = False
    """It failed ``failures`` times in a row and waits longer than its interval."""
    retry_after: bool = False
    """The server asked to wait (Retry-After) and that decides ``due``."""

    def describe(self, feed: Feed, now: datetime) -> str:
        """One line for ``tuinews feeds``: the interval, and when the next try is."""
        origin = {"default": "", "feed": " (set for this feed)", "server": " (the server's)"}
        text = f"every {format_duration(self.interval)}{origin[self.source]}"
        left = (self.due - now).total_seconds()
        when = "due now" if left <= 0 else f"next in {format_duration(left)}"
        if self.backing_off:
            runs = "once" if feed.failures == 1 else f"{feed.failures} times in a row"
            text += f"; failed {runs}, backing off: {when}"
        elif self.retry_after:
            text += f"; the server asked to wait: {when}"
        else:
            text += f"; {when}"
        return text


def is_scheduled(feed: Feed) -> bool:
    """Gone feeds and the pseudo-feed of linked pages are never refreshed by the schedule."""
    return not feed.gone and not feed.url.startswith(_UNFETCHED)


def feed_schedule(feed: Feed, *, default_interval: int, now: datetime) -> FeedSchedule:
    """The schedule of one feed (see the module docstring for the rules)."""
    interval, source = (
        (feed.refresh_interval, "feed") if feed.refresh_interval else (default_interval, "default")
    )
    interval = max(MIN_INTERVAL, interval)
    floor = min(feed.server_interval or 0, MAX_SERVER_FLOOR)
    if floor > interval:
        interval, source = floor, "server"
    wait = interval
    backing_off = False
    if feed.failures > 0:
        wait = min(interval * 2 ** min(feed.failures, 16), max(interval, MAX_BACKOFF))
        backing_off = wait > interval
    due = now if feed.last_checked is None else feed.last_checked + timedelta(seconds=wait)
    retry = False
    if feed.retry_after is not None and feed.retry_after > due:
        due, retry = feed.retry_after, True
    return FeedSchedule(feed.id, interval, source, wait, due, backing_off, retry)


def due_feed_ids(feeds: Iterable[Feed], *, default_interval: int, now: datetime) -> list[int]:
    """The feeds to refresh now, the longest overdue first."""
    due: list[tuple[datetime, int]] = []
    for feed in feeds:
        if not is_scheduled(feed):
            continue
        schedule = feed_schedule(feed, default_interval=default_interval, now=now)
        if schedule.due <= now:
            due.append((schedule.due, feed.id))
    due.sort()
    return [feed_id for _, feed_id in due]


def next_due(feeds: Iterable[Feed], *, default_interval: int, now: datetime) -> datetime | None:
    """When the first scheduled feed is due (None: nothing is scheduled)."""
    times = [
        feed_schedule(f, default_interval=default_interval, now=now).due
        for f in feeds
        if is_scheduled(f)
    ]
    return min(times) if times else None
