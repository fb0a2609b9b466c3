"""The search syntax: full-text words (FTS5 syntax) plus ``feed:``, ``folder:``, ``is:``,
``after:`` and ``before:`` filters. Pure: the store turns a :class:`SearchQuery` into SQL.

Examples::

    bridge closure                 every word, the last one as a prefix ("closure*")
    "kessing bridge" OR ferry      FTS5 syntax, used as written (phrases, OR, NOT, NEAR, title:)
    feed:courier is:unread         a filter alone lists by time
    folder:news after:2026-11-01   stories of the folder's feeds published since that day
    title:sponsored                FTS5 column filter (a kill-file rule in ``[filters] hide``)

A value with spaces is quoted: ``feed:"The Civic Ledger"``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from .errors import TuinewsError

_TOKEN = re.compile(r'([A-Za-z]+):("[^"]*"?|\S*)|("[^"]*"?|\S+)')
_FILTERS = frozenset({"feed", "folder", "is", "after", "before"})
# What makes a query FTS5 syntax rather than plain words.
_FTS_SYNTAX = re.compile(r'["()*^:]|\b(?:AND|OR|NOT|NEAR)\b')
_RELATIVE = re.compile(r"^(\d+)([dwmy])$")


class SearchSyntaxError(TuinewsError):
    """A search the user typed cannot be understood."""


@dataclass(frozen=True, slots=True)
class SearchQuery:
    """A parsed search."""

    text: str
    """The full-text part as typed ("" when the query is only filters)."""
    match: str
    """The FTS5 MATCH expression for ``text`` ("" for none)."""
    feeds: tuple[str, ...] = ()
    """``feed:`` values: a feed's id, URL, or part of its title (any of them matches)."""
    folders: tuple[str, ...] = ()
    """``folder:`` values (any of them matches)."""
    unread: bool | None = None
    """``is:unread`` (True) or ``is:read`` (False)."""
    starred: bool | None = None
    """``is:starred`` (True) or ``is:unstarred`` (False)."""
    after: int | None = None
    """``after:``: published at or after this Unix time."""
    before: int | None = None
    """``before:``: published before this Unix time."""

    @property
    def has_filters(self) -> bool:
        return bool(
            self.feeds
            or self.folders
            or self.unread is not None
            or self.starred is not None
            or self.after is not None
            or self.before is not None
        )


def words_query(text: str) -> str:
    """Plain words as a safe FTS5 query: every word must match, the last as a prefix."""
    words = [w for w in "".join(c if c.isalnum() else " " for c in text).split() if w]
    if not words:
        return ""
    quoted = [f'"{w}"' for w in words]
    quoted[-1] += "*"
    return " ".join(quoted)


def _unquote(value: str) -> str:
    value = value.strip()
    if value.startswith('"'):
        value = value[1:]
    if value.endswith('"'):
        value = value[:-1]
    return value.strip()


def _date(value: str, key: str, now: datetime) -> int:
    relative = _RELATIVE.match(value.lower())
    if relative:
        n, unit = int(relative.group(1)), relative.group(2)
        days = {"d": 1, "w": 7, "m": 30, "y": 365}[unit] * n
        return int((now - timedelta(days=days)).timestamp())
    try:
        day = datetime.fromisoformat(value)
    except ValueError:
        raise SearchSyntaxError(
            f"{key}:{value} is not a date (use {key}:2026-11-01, or {key}:7d for a week ago)"
        ) from None
    if day.tzinfo is None:
        day = day.replace(tzinfo=UTC)
    return int(day.timestamp())


def parse_search(text: str, *, now: datetime | None = None) -> SearchQuery:
    """Split a search into its filters and its full-text part.

    Raises:
        SearchSyntaxError: an ``is:`` or date filter that makes no sense.
    """
    now = now or datetime.now(UTC)
    rest: list[str] = []
    found: dict[str, Any] = {"feeds": [], "folders": []}
    for match in _TOKEN.finditer(text or ""):
        key, value, plain = match.group(1), match.group(2), match.group(3)
        if key is None or key.lower() not in _FILTERS:
            rest.append(match.group(0))
            continue
        key, value = key.lower(), _unquote(value or "")
        if not value:
            raise SearchSyntaxError(f"{key}: needs a value (for example {key}:news)")
        if key == "feed":
            found["feeds"].append(value)
        elif key == "folder":
            found["folders"].append(value)
        elif key == "is":
            flag = value.lower()
            if flag in ("unread", "new"):
                found["unread"] = True
            elif flag == "read":
                found["unread"] = False
            elif flag in ("starred", "star", "saved"):
                found["starred"] = True
            elif flag in ("unstarred",):
                found["starred"] = False
            else:
                raise SearchSyntaxError(
                    f"is:{value} is not known (is:unread, is:read, is:starred, is:unstarred)"
                )
        elif key == "after":
            found["after"] = _date(value, key, now)
        else:
            found["before"] = _date(value, key, now)
        del plain
    words = " ".join(rest).strip()
    if not words:
        fts = ""
    elif _FTS_SYNTAX.search(words):
        fts = words  # FTS5 syntax, checked by SQLite (Store.check_search gives the message)
    else:
        fts = words_query(words)
    return SearchQuery(
        text=words,
        match=fts,
        feeds=tuple(found["feeds"]),
        folders=tuple(found["folders"]),
        unread=found.get("unread"),
        starred=found.get("starred"),
        after=found.get("after"),
        before=found.get("before"),
    )


def query_conditions(query: SearchQuery) -> tuple[list[str], list[Any]]:
    """SQL conditions over ``stories s`` for a query (its full text as a sub-select)."""
    clauses: list[str] = []
    params: list[Any] = []
    if query.match:
        clauses.append("s.id IN (SELECT rowid FROM story_fts WHERE story_fts MATCH ?)")
        params.append(query.match)
    clauses += _filter_conditions(query, params)
    return clauses, params


def _filter_conditions(query: SearchQuery, params: list[Any]) -> list[str]:
    clauses: list[str] = []
    if query.feeds:
        ors = []
        for name in query.feeds:
            ors.append("(CAST(id AS TEXT) = ? OR url = ? OR instr(lower(title), lower(?)) > 0)")
            params += [name, name, name]
        clauses.append(f"s.feed_id IN (SELECT id FROM feeds WHERE {' OR '.join(ors)})")
    if query.folders:
        ors = []
        for name in query.folders:
            # The folder and its subfolders ("folder:news" finds "News/Local" too).
            ors.append("(lower(folder) = lower(?) OR lower(substr(folder, 1, ?)) = lower(?))")
            params += [name, len(name) + 1, name + "/"]
        clauses.append(f"s.feed_id IN (SELECT id FROM feeds WHERE {' OR '.join(ors)})")
    if query.unread is not None:
        clauses.append("s.read = 0" if query.unread else "s.read = 1")
    if query.starred is not None:
        clauses.append("s.starred = 1" if query.starred else "s.starred = 0")
    if query.after is not None:
        clauses.append("s.sort_key >= ?")
        params.append(query.after)
    if query.before is not None:
        clauses.append("s.sort_key < ?")
        params.append(query.before)
    return clauses


def filter_conditions(query: SearchQuery) -> tuple[list[str], list[Any]]:
    """SQL conditions for the filters alone (a ranked search matches its text itself)."""
    params: list[Any] = []
    return _filter_conditions(query, params), params
