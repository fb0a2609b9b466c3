"""Errors with a user-facing message.

Every error the core raises on purpose derives from :class:`TuinewsError`; its ``message`` is
written for a person (it is what the CLI prints and what the app shows in a notification).
"""

from __future__ import annotations


class TuinewsError(Exception):
    """Base error: ``str(err)`` is a short, user-facing message."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class FetchError(TuinewsError):
    """A network fetch failed (DNS, connect, timeout, HTTP status, size cap...).

    Attributes:
        status: the HTTP status when the server answered, else ``None``.
        retry_after: seconds the server asked us to wait (429/503), else ``None``.
        gone: the resource is permanently gone (404/410).
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
        gone: bool = False,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after
        self.gone = gone


class ParseError(TuinewsError):
    """Bytes that should have been a feed (or OPML) could not be read as one."""


class ExtractError(TuinewsError):
    """A page yielded no readable article (not HTML, empty, too big, timed out...)."""


class StoreError(TuinewsError):
    """The cache database failed or cannot be used (corrupt, newer schema, locked...)."""


class NotFoundError(TuinewsError):
    """A feed or story asked for by id, URL or name does not exist."""


class ExportError(TuinewsError):
    """An export could not be written (existing file without force, bad directory...)."""


class SyncError(TuinewsError):
    """Talking to the sync server failed (issue 16).

    Attributes:
        auth: the server refused the login or the saved token (log in again).
        network: the server could not be reached, timed out or failed (5xx): worth retrying
            later; local changes stay queued.
        status: the HTTP status when the server answered with an error, else ``None``.
    """

    def __init__(
        self,
        message: str,
        *,
        auth: bool = False,
        network: bool = False,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.auth = auth
        self.network = network
        self.status = status
