"""HTTP fetching: limits, timeouts, size caps, redirects, conditional GET.

Every fetch is bounded: a connect timeout, a read timeout, a total deadline (a server that drips
one byte a second cannot hold us), a cap on the decoded body size (a gzip bomb is cut off), and a
limited number of redirects followed by hand (so a loop is detected and a permanent redirect is
reported to the caller, which updates the stored URL). Only http and https are fetched.

The bulk fetches of a refresh or a prefetch go through the lean asyncio client of
:mod:`.http1` (``async_client``/``fetch_async``); a single page fetched from a thread (an article
opened in the app, a related link) goes through httpx (``fetch``). Both apply the same limits,
redirect rules and error messages, and the tests run every case through both.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import socket
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urljoin, urlsplit

from . import http1
from .errors import FetchError

if TYPE_CHECKING:
    # Imported where the blocking path needs it: a refresh never loads httpx (13 MB).
    import httpx

log = logging.getLogger(__name__)

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
USER_AGENT = "tuinews/{version} (terminal news reader; +https://tuinews.invalid/)"


@dataclass(frozen=True, slots=True)
class FetchLimits:
    """The bounds on every request."""

    connect_timeout: float = 10.0
    read_timeout: float = 20.0
    total_timeout: float = 60.0
    max_bytes: int = 20 * 1024 * 1024
    max_redirects: int = 5
    concurrency: int = 16


@dataclass(frozen=True, slots=True)
class FetchResult:
    """A completed fetch."""

    url: str
    """The final URL, after redirects."""
    status: int
    content: bytes
    content_type: str | None
    etag: str | None
    last_modified: str | None
    permanent_url: str | None = None
    """Set when every redirect on the way was permanent (301/308): the new address."""
    max_age: int | None = None
    """Cache-Control max-age in seconds (the refresh schedule's floor), if the server sent one."""

    @property
    def not_modified(self) -> bool:
        return self.status == 304


def cache_max_age(value: str | None) -> int | None:
    """``max-age`` (or ``s-maxage``) seconds of a Cache-Control header; None when absent,
    malformed, or ``no-cache`` / ``no-store`` say not to rely on it."""
    if not value:
        return None
    best: int | None = None
    for part in value.lower().split(","):
        name, _, arg = part.strip().partition("=")
        if name in ("no-cache", "no-store"):
            return None
        if name in ("max-age", "s-maxage"):
            arg = arg.strip().strip('"')
            if arg.isdigit():
                best = max(best or 0, int(arg))
    return best


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(min(int(value), 7 * 86400))
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    now = time.time() if now is None else now
    return max(0.0, min(when.timestamp() - now, 7 * 86400))


def _host(url: str) -> str:
    try:
        return urlsplit(url).hostname or ""
    except ValueError:
        return ""


_LEAN_KINDS: dict[type[Exception], str] = {
    http1.ConnectTimeout: "connect_timeout",
    http1.ReadTimeout: "read_timeout",
    http1.ConnectError: "connect",
    http1.RemoteProtocolError: "protocol",
    http1.DecodingError: "decoding",
    http1.InvalidURL: "invalid",
}


def _kind(exc: Exception) -> str:
    """What went wrong, in the same words for :mod:`.http1`'s errors and httpx's."""
    if isinstance(exc, http1.HTTPError):
        return _LEAN_KINDS.get(type(exc), "other")
    import httpx

    for kind, types in (
        ("connect_timeout", httpx.ConnectTimeout),
        ("read_timeout", httpx.ReadTimeout),
        ("timeout", httpx.TimeoutException),
        ("connect", httpx.ConnectError),
        ("protocol", httpx.RemoteProtocolError),
        ("decoding", httpx.DecodingError),
        ("unsupported", httpx.UnsupportedProtocol),
        ("invalid", httpx.InvalidURL),
    ):
        if isinstance(exc, types):
            return kind
    return "other"


def _describe(exc: Exception, url: str) -> str:
    host = _host(url) if url else ""
    text = str(exc) or type(exc).__name__
    kind = _kind(exc)
    if kind == "connect_timeout":
        return f"timed out connecting to {host}"
    if kind == "read_timeout":
        return f"{host} stopped answering (read timeout)"
    if kind == "timeout":
        return f"timed out talking to {host}"
    if kind == "connect":
        # The OS error is the cause (the async backends hide it behind their own words).
        cause: BaseException | None = exc
        while cause is not None:
            if isinstance(cause, socket.gaierror):
                return f"the name {host} does not resolve (offline, or a wrong address)"
            if isinstance(cause, ConnectionRefusedError):
                return f"{host} refused the connection"
            if isinstance(cause, ExceptionGroup) and cause.exceptions:
                cause = cause.exceptions[0]
                continue
            cause = cause.__cause__ or cause.__context__
        low = text.lower()
        if (
            "name or service not known" in low
            or "nodename nor servname" in low
            or ("temporary failure in name resolution" in low)
            or "no address associated" in low
            or "getaddrinfo" in low
        ):
            return f"the name {host} does not resolve (offline, or a wrong address)"
        if "refused" in low:
            return f"{host} refused the connection"
        return f"could not connect to {host}: {text}"
    if kind == "protocol":
        return f"{host} broke off the response ({text})"
    if kind == "decoding":
        return f"{host} sent a body that does not decode ({text})"
    if kind == "unsupported":
        return f"unsupported address {url!r}: only http and https are fetched"
    if kind == "invalid":
        return f"invalid address {url!r}"
    return f"network error for {host}: {text}"


def _bad_location(exc: Exception, url: str) -> str:
    log.info("invalid redirect from %s: %s", url, exc)
    return f"{_host(url)} redirected to an invalid address: only http and https are fetched"


def _check_lean(url: str) -> str:
    """:func:`check_url` for the async client, without httpx: the URL is checked as the client
    will request it (and kept as it is written)."""
    url = url.strip()
    try:
        http1.split_url(url)
    except http1.InvalidURL as exc:
        raise FetchError(str(exc)) from None
    return url


class _Response(Protocol):
    """What the fetcher reads of a response: httpx's, or :class:`.http1.Response`."""

    @property
    def status_code(self) -> int: ...
    @property
    def reason_phrase(self) -> str: ...
    @property
    def headers(self) -> Any: ...
    @property
    def url(self) -> Any: ...


def _status_error(response: _Response) -> FetchError:
    status = response.status_code
    retry = parse_retry_after(response.headers.get("retry-after"))
    reason = response.reason_phrase or ""
    if status in (404, 410):
        what = "is gone (410 Gone)" if status == 410 else "was not found (404)"
        return FetchError(f"{response.url} {what}", status=status, gone=True)
    if status in (429, 503) and retry is not None:
        return FetchError(
            f"the server answered {status} {reason}; it asks to wait {int(retry)} s",
            status=status,
            retry_after=retry,
        )
    return FetchError(
        f"the server answered {status} {reason}".rstrip(), status=status, retry_after=retry
    )


def check_url(url: str) -> str:
    """Reject anything that is not an absolute http(s) URL (file:, data:, javascript:...)."""
    import httpx

    try:
        parsed = httpx.URL(url.strip())
    except (httpx.InvalidURL, TypeError) as exc:
        raise FetchError(f"invalid address {url!r}") from exc
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise FetchError(f"unsupported address {url!r}: only http and https are fetched")
    return str(parsed)


class Fetcher:
    """Fetches URLs with one pooled client (async for refresh, sync for single articles).

    Args:
        limits: timeouts and caps.
        user_agent: the User-Agent header.
        transport: a custom httpx transport for the blocking fetches (the bundled samples are
            served through one unless ``serve_samples`` is false).
        serve_samples: answer the bundled samples' ``.example`` URLs from the package.
    """

    def __init__(
        self,
        limits: FetchLimits | None = None,
        *,
        user_agent: str | None = None,
        transport: httpx.BaseTransport | None = None,
        serve_samples: bool = True,
    ) -> None:
        from .. import __version__

        self.limits = limits or FetchLimits()
        self.user_agent = user_agent or USER_AGENT.format(version=__version__)
        self._transport = transport
        self._serve_samples = serve_samples
        self._client: httpx.Client | None = None

    def _pool_limits(self) -> httpx.Limits:
        import httpx

        n = max(self.limits.concurrency, 4)
        return httpx.Limits(max_connections=n, max_keepalive_connections=n)

    def _sync_transport(self) -> httpx.BaseTransport:
        import httpx

        if self._transport is not None:
            return self._transport
        inner = httpx.HTTPTransport(limits=self._pool_limits())
        if not self._serve_samples:
            return inner
        from .samples import sample_transport

        return sample_transport(inner)

    def _client_kwargs(self) -> dict[str, Any]:
        import httpx

        lim = self.limits
        return {
            "timeout": httpx.Timeout(
                connect=lim.connect_timeout,
                read=lim.read_timeout,
                write=lim.read_timeout,
                pool=lim.total_timeout,
            ),
            "headers": {
                "User-Agent": self.user_agent,
                "Accept-Encoding": "gzip, deflate, br",
            },
            "follow_redirects": False,
            "trust_env": False,
        }

    def async_client(self) -> http1.Client:
        """A new pooled async client (use it as an async context manager for one refresh)."""
        lim = self.limits
        local = None
        if self._serve_samples:
            from .samples import local_response

            local = local_response
        return http1.Client(
            connect_timeout=lim.connect_timeout,
            read_timeout=lim.read_timeout,
            max_connections=max(lim.concurrency, 4),
            max_bytes=lim.max_bytes,
            headers={"User-Agent": self.user_agent, "Accept-Encoding": http1.ACCEPT_ENCODING},
            local=local,
        )

    @property
    def client(self) -> httpx.Client:
        """The shared sync client (httpx.Client is thread-safe)."""
        if self._client is None:
            import httpx

            self._client = httpx.Client(transport=self._sync_transport(), **self._client_kwargs())
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    @staticmethod
    def _headers(etag: str | None, last_modified: str | None, accept: str | None) -> dict[str, str]:
        headers: dict[str, str] = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        if accept:
            headers["Accept"] = accept
        return headers

    def _next_url(self, response: _Response, url: str, seen: set[str], lean: bool) -> str:
        location = response.headers.get("location")
        if not location:
            raise FetchError(f"redirect {response.status_code} without a Location from {url}")
        if lean:
            target: str = urljoin(url, location.strip())
            try:
                http1.split_url(target)
            except http1.InvalidURL as exc:
                raise FetchError(_bad_location(exc, url)) from None
        else:
            import httpx

            target = check_url(str(httpx.URL(url).join(location)))
        if target in seen:
            raise FetchError(f"redirect loop at {target}")
        if len(seen) > self.limits.max_redirects:
            raise FetchError(f"too many redirects (more than {self.limits.max_redirects})")
        return target

    def _result(
        self, response: _Response, body: bytes, url: str, permanent: str | None
    ) -> FetchResult:
        return FetchResult(
            url=url,
            status=response.status_code,
            content=body,
            content_type=response.headers.get("content-type"),
            etag=response.headers.get("etag"),
            last_modified=response.headers.get("last-modified"),
            permanent_url=permanent,
            max_age=cache_max_age(response.headers.get("cache-control")),
        )

    def _check_length(self, response: _Response) -> None:
        declared = response.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > self.limits.max_bytes:
            raise self._declared_too_large(int(declared))

    def _declared_too_large(self, declared: int) -> FetchError:
        return FetchError(
            f"the response is too large ({declared // 1024} KiB, the limit is "
            f"{self.limits.max_bytes // 1024} KiB)"
        )

    def _too_large(self) -> FetchError:
        return FetchError(f"the response is too large (over {self.limits.max_bytes // 1024} KiB)")

    async def fetch_async(
        self,
        client: http1.Client,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        accept: str | None = None,
    ) -> FetchResult:
        """Fetch ``url`` with ``client``; raises :class:`FetchError` with a clear message."""
        url = _check_lean(url)
        try:
            # asyncio.timeout, not wait_for: wait_for runs the fetch in a task of its own,
            # which a prefetch of a thousand pages pays for a thousand times.
            async with asyncio.timeout(self.limits.total_timeout):
                return await self._fetch_async(client, url, etag, last_modified, accept)
        except TimeoutError as exc:
            raise FetchError(
                f"{_host(url)} took longer than {self.limits.total_timeout:g} s"
            ) from exc

    async def _fetch_async(
        self,
        client: http1.Client,
        url: str,
        etag: str | None,
        last_modified: str | None,
        accept: str | None,
    ) -> FetchResult:
        walk = _Walk(self, url, deadline=None, lean=True)
        headers = self._headers(etag, last_modified, accept)
        while True:
            try:
                response = await client.get(walk.current, headers)
                if (done := walk.answer(response)) is not None:
                    return done
            except http1.TooLarge as exc:
                if exc.declared is not None:
                    raise self._declared_too_large(exc.declared) from None
                raise self._too_large() from None
            except http1.HTTPError as exc:
                raise FetchError(_describe(exc, walk.current)) from exc
            if not walk.redirected:
                return walk.result_of(response)

    def fetch(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        accept: str | None = None,
    ) -> FetchResult:
        """Blocking fetch with the shared client (for single articles, from a worker thread)."""
        import httpx

        url = check_url(url)
        walk = _Walk(self, url, deadline=time.monotonic() + self.limits.total_timeout, lean=False)
        headers = self._headers(etag, last_modified, accept)
        while True:
            try:
                with self.client.stream("GET", walk.current, headers=headers) as response:
                    if (done := walk.answer(response)) is not None:
                        return done
                    if walk.redirected:
                        continue
                    for chunk in response.iter_bytes():
                        walk.take(chunk)
                    return walk.result(response)
            except httpx.HTTPError as exc:
                raise FetchError(_describe(exc, walk.current)) from exc
            except httpx.InvalidURL as exc:
                raise FetchError(_bad_location(exc, walk.current)) from exc


class _Walk:
    """One fetch's way through redirects to a body, shared by the sync and async loops.

    Args:
        fetcher: whose limits apply.
        url: the first address.
        deadline: a ``time.monotonic()`` limit checked on every chunk (the sync loop; the async
            one is bounded by ``asyncio.timeout`` instead).
        lean: the async loop's (:mod:`.http1`): redirects are resolved without httpx.
    """

    def __init__(self, fetcher: Fetcher, url: str, *, deadline: float | None, lean: bool) -> None:
        self.fetcher = fetcher
        self.lean = lean
        self.current = url
        self.seen = {url}
        self.permanent: str | None = None
        self.all_permanent = True
        self.redirected = False
        self.deadline = deadline
        self.chunks: list[bytes] = []
        self.total = 0

    def answer(self, response: _Response) -> FetchResult | None:
        """Handle the status: follow a redirect (sets ``redirected``), return a 304, raise an
        error status, or check the announced length and let the body be read (None)."""
        status = response.status_code
        self.redirected = status in _REDIRECTS
        if self.redirected:
            self.all_permanent = self.all_permanent and status in (301, 308)
            self.current = self.fetcher._next_url(response, self.current, self.seen, self.lean)
            self.seen.add(self.current)
            self.permanent = self.current if self.all_permanent else None
            return None
        if status == 304:
            return self.fetcher._result(response, b"", self.current, self.permanent)
        if status >= 400:
            raise _status_error(response)
        self.fetcher._check_length(response)
        return None

    def take(self, chunk: bytes) -> None:
        """Add a chunk of the (decoded) body, within the size cap and the deadline."""
        self.total += len(chunk)
        if self.total > self.fetcher.limits.max_bytes:
            raise self.fetcher._too_large()
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise FetchError(
                f"{_host(self.current)} took longer than {self.fetcher.limits.total_timeout:g} s"
            )
        self.chunks.append(chunk)

    def result(self, response: _Response) -> FetchResult:
        return self.fetcher._result(response, b"".join(self.chunks), self.current, self.permanent)

    def result_of(self, response: http1.Response) -> FetchResult:
        """The result of a response read whole (the async client's)."""
        return self.fetcher._result(response, response.content, self.current, self.permanent)


def retry_at(seconds: float | None) -> datetime | None:
    """The UTC time ``seconds`` from now (for storing a Retry-After)."""
    if seconds is None:
        return None
    return datetime.fromtimestamp(time.time() + seconds, UTC)
