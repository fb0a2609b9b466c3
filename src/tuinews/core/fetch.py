"""HTTP fetching: limits, timeouts, size caps, redirects, conditional GET.

Every fetch is bounded: a connect timeout, a read timeout, a total deadline (a server that drips
one byte a second cannot hold us), a cap on the decoded body size (a gzip bomb is cut off), and a
limited number of redirects followed by hand (so a loop is detected and a permanent redirect is
reported to the caller, which updates the stored URL). Only http and https are fetched.

Every fetch goes through one client library, aiohttp (measured against httpx, httpx on
aiohttp's transport and our former hand-written client in ``bench/compare_http.py``): the bulk
fetches of a refresh or a prefetch with a client per run (``async_client``/``fetch_async``), and
a single page fetched from a thread (an article opened in the app, an image, ``tuinews read``)
with :meth:`Fetcher.fetch`, which runs the same coroutine on the fetcher's own event loop thread
and keeps its connections between calls. ``HTTP_PROXY``, ``HTTPS_PROXY`` and ``NO_PROXY`` (and
their lower-case forms) are honoured, as by curl and most HTTP libraries.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import socket
import ssl
import threading
import time
from collections.abc import Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from .errors import FetchError

if TYPE_CHECKING:
    import aiohttp

log = logging.getLogger(__name__)

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
USER_AGENT = "tuinews/{version} (terminal news reader; +https://tuinews.invalid/)"
ACCEPT_ENCODING = "gzip, deflate, br"
"""What the client decodes (aiohttp decodes brotli with the ``brotli`` package installed)."""
_CHUNK = 64 * 1024
T = TypeVar("T")


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


def _kind(exc: BaseException) -> str:
    """What went wrong, in a few words, from aiohttp's exception types."""
    import aiohttp

    for kind, types in (
        ("connect_timeout", aiohttp.ConnectionTimeoutError),
        ("read_timeout", aiohttp.SocketTimeoutError),
        ("timeout", aiohttp.ServerTimeoutError),
        ("certificate", (aiohttp.ClientConnectorCertificateError, aiohttp.ClientSSLError)),
        ("connect", aiohttp.ClientConnectorError),
        ("invalid", aiohttp.InvalidURL),
    ):
        if isinstance(exc, types):
            return kind
    if isinstance(exc, aiohttp.ClientPayloadError):
        low = str(exc).lower()
        if "decod" in low or "decompress" in low or "content-encoding" in low:
            return "decoding"
        return "protocol"
    if isinstance(exc, aiohttp.ClientResponseError | aiohttp.ClientConnectionError):
        return "protocol"
    return "other"


def _describe(exc: BaseException, url: str) -> str:
    host = _host(url) if url else ""
    text = str(exc) or type(exc).__name__
    kind = _kind(exc)
    if kind == "connect_timeout":
        return f"timed out connecting to {host}"
    if kind == "read_timeout":
        return f"{host} stopped answering (read timeout)"
    if kind == "timeout":
        return f"timed out talking to {host}"
    if kind == "certificate":
        return f"could not connect to {host}: {text}"
    if kind == "connect":
        cause: BaseException | None = getattr(exc, "os_error", None) or exc.__cause__
        seen = 0
        while cause is not None and seen < 8:  # the OS error, under the library's words
            if isinstance(cause, socket.gaierror):
                return f"the name {host} does not resolve (offline, or a wrong address)"
            if isinstance(cause, ConnectionRefusedError):
                return f"{host} refused the connection"
            if isinstance(cause, ExceptionGroup) and cause.exceptions:
                cause = cause.exceptions[0]
            else:
                cause = cause.__cause__ or cause.__context__
            seen += 1
        low = text.lower()
        if (
            "name or service not known" in low
            or "nodename nor servname" in low
            or "temporary failure in name resolution" in low
            or "no address associated" in low
            or "getaddrinfo" in low
            or "dns" in low
        ):
            return f"the name {host} does not resolve (offline, or a wrong address)"
        if "refused" in low:
            return f"{host} refused the connection"
        return f"could not connect to {host}: {text}"
    if kind == "protocol":
        return f"{host} broke off the response ({text})"
    if kind == "decoding":
        return f"{host} sent a body that does not decode ({text})"
    if kind == "invalid":
        return f"invalid address {url!r}"
    return f"network error for {host}: {text}"


def _bad_location(exc: Exception, url: str) -> str:
    log.info("invalid redirect from %s: %s", url, exc)
    return f"{_host(url)} redirected to an invalid address: only http and https are fetched"


def _parse_url(url: str) -> Any:
    """The :class:`yarl.URL` of an absolute http(s) address.

    Raises:
        FetchError: not http(s), no host, a bad port, or a control character in it.
    """
    from yarl import URL

    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in url):
        raise FetchError(f"invalid address {url!r}")
    try:
        parsed = URL(url)
        scheme, host = parsed.scheme, parsed.raw_host
        parsed.port  # noqa: B018 - a port out of range raises here
    except (ValueError, TypeError) as exc:
        raise FetchError(f"invalid address {url!r}") from exc
    if scheme not in ("http", "https"):
        raise FetchError(f"unsupported address {url!r}: only http and https are fetched")
    if not host:
        raise FetchError(f"invalid address {url!r}")
    return parsed


def check_url(url: str) -> str:
    """Reject anything that is not an absolute http(s) URL (file:, data:, javascript:...);
    returns the address as it will be requested (non-ASCII characters encoded)."""
    if not isinstance(url, str):
        raise FetchError(f"invalid address {url!r}")
    return str(_parse_url(url.strip()))


@dataclass(frozen=True, slots=True)
class _Head:
    """What the fetcher reads of a response before its body."""

    status_code: int
    reason_phrase: str
    headers: Any
    """Case-insensitive ``get(name)`` (aiohttp's headers, or a dict with lower-case keys)."""
    url: str


_ssl_lock = threading.Lock()
_default_ssl: ssl.SSLContext | None = None


def default_ssl_context() -> ssl.SSLContext:
    """Certificate checks against certifi's roots (as before with httpx), made once, on the
    first https request (loading the roots takes a few tens of milliseconds)."""
    global _default_ssl
    with _ssl_lock:
        if _default_ssl is None:
            try:
                import certifi

                context = ssl.create_default_context(cafile=certifi.where())
            except ImportError:  # pragma: no cover - certifi is a dependency
                context = ssl.create_default_context()
            context.set_alpn_protocols(["http/1.1"])
            _default_ssl = context
        return _default_ssl


class EnvProxies:
    """The proxy rule of ``HTTP_PROXY`` / ``HTTPS_PROXY`` / ``NO_PROXY`` (and their lower-case
    forms), read once when made (a client's life), as curl and most HTTP libraries read it.

    Args:
        trust_env: False: no proxy at all.
    """

    def __init__(self, *, trust_env: bool = True) -> None:
        import urllib.request

        self._proxies: dict[str, str] = urllib.request.getproxies_environment() if trust_env else {}
        self._bypass: dict[str, bool] = {}

    def for_url(self, url: Any) -> str | None:
        """The proxy for ``url`` (a :class:`yarl.URL`), or None: connect directly."""
        proxy = self._proxies.get(url.scheme) if self._proxies else None
        if proxy is None:
            return None
        host = url.raw_host or ""
        bypass = self._bypass.get(host)
        if bypass is None:
            import urllib.request

            # Public, documented in urllib's source, absent from typeshed.
            check = urllib.request.proxy_bypass_environment  # type: ignore[attr-defined]
            bypass = bool(check(host, self._proxies))
            self._bypass[host] = bypass
        return None if bypass else proxy


LocalAnswer = Any
"""``(url, headers) -> (status, headers, body) | None``: answers without the network."""


class AsyncClient:
    """One pooled aiohttp session for one event loop (a refresh, a prefetch, or the fetcher's
    own loop for single pages). Use it as an async context manager.

    Args:
        limits: timeouts and the pool size (``concurrency``).
        headers: sent with every request.
        local: answers some URLs without the network (the bundled samples).
        ssl_context: for https (default: certifi's roots).
        trust_env: honour HTTP_PROXY / HTTPS_PROXY / NO_PROXY (read when the client opens).
    """

    def __init__(
        self,
        limits: FetchLimits,
        headers: dict[str, str],
        *,
        local: LocalAnswer | None = None,
        ssl_context: ssl.SSLContext | None = None,
        trust_env: bool = True,
    ) -> None:
        self.limits = limits
        self._headers = headers
        self._local = local
        self._ssl = ssl_context
        self._trust_env = trust_env
        self._session: aiohttp.ClientSession | None = None
        self._proxies = EnvProxies(trust_env=False)

    async def __aenter__(self) -> AsyncClient:
        import aiohttp

        # Read here, once, rather than by aiohttp's trust_env, which looks the proxy and
        # ~/.netrc up in an executor thread on every request: 0.3-0.9 ms a request, measured
        # on 200 answers of 304 (bench/RESULTS.md).
        self._proxies = EnvProxies(trust_env=self._trust_env)
        lim = self.limits
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=max(lim.concurrency, 4), ttl_dns_cache=300),
            headers=self._headers,
            timeout=aiohttp.ClientTimeout(
                total=None, sock_connect=lim.connect_timeout, sock_read=lim.read_timeout
            ),
            # Cookies a site sets (a consent cookie on a redirect) come back for the client's
            # life, also for a numeric host (the jar refuses those unless "unsafe").
            cookie_jar=aiohttp.CookieJar(unsafe=True),
            trust_env=False,
            auto_decompress=True,
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    def local(self, url: str, headers: dict[str, str]) -> tuple[_Head, bytes] | None:
        """The answer for a URL served without the network, or None."""
        if self._local is None:
            return None
        answer = self._local(url, headers)
        if answer is None:
            return None
        status, head, body = answer
        return _Head(status, "", {k.lower(): v for k, v in head.items()}, url), body

    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise RuntimeError("use the client as an async context manager")
        return self._session

    def proxy_for(self, url: Any) -> str | None:
        """The proxy for ``url`` from the environment (None: connect directly)."""
        return self._proxies.for_url(url)

    def ssl_for(self, url: Any) -> ssl.SSLContext | bool:
        if url.scheme != "https":
            return True
        return self._ssl if self._ssl is not None else default_ssl_context()


class LoopThread:
    """An event loop on a thread of its own, for blocking callers (:meth:`Fetcher.fetch`, the
    sync's :class:`~tuinews.core.sync.greader.GReaderClient`).

    Args:
        name: the thread's name.
    """

    def __init__(self, name: str = "tuinews-fetch") -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name=name)
        self.thread.daemon = True
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the loop and wait for its result (from any other thread)."""
        if threading.current_thread() is self.thread:
            coro.close()
            raise RuntimeError("a blocking fetch called from its own event loop thread")
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return future.result()
        except BaseException:
            future.cancel()  # an interrupted caller must not leave the fetch running
            raise

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)
        if not self.thread.is_alive():
            self.loop.close()


class Fetcher:
    """Fetches URLs: a pooled client per refresh (async), and a shared one for single pages.

    Args:
        limits: timeouts and caps.
        user_agent: the User-Agent header.
        serve_samples: answer the bundled samples' ``.example`` URLs from the package.
        ssl_context: for https (default: certifi's roots).
        trust_env: honour HTTP_PROXY / HTTPS_PROXY / NO_PROXY.
    """

    def __init__(
        self,
        limits: FetchLimits | None = None,
        *,
        user_agent: str | None = None,
        serve_samples: bool = True,
        ssl_context: ssl.SSLContext | None = None,
        trust_env: bool = True,
    ) -> None:
        from .. import __version__

        self.limits = limits or FetchLimits()
        self.user_agent = user_agent or USER_AGENT.format(version=__version__)
        self._serve_samples = serve_samples
        self._ssl = ssl_context
        self._trust_env = trust_env
        self._lock = threading.Lock()
        self._thread: LoopThread | None = None
        self._shared: AsyncClient | None = None

    def async_client(self) -> AsyncClient:
        """A new pooled async client (use it as an async context manager for one refresh)."""
        local = None
        if self._serve_samples:
            from .samples import local_response

            local = local_response
        return AsyncClient(
            self.limits,
            {"User-Agent": self.user_agent, "Accept-Encoding": ACCEPT_ENCODING},
            local=local,
            ssl_context=self._ssl,
            trust_env=self._trust_env,
        )

    def close(self) -> None:
        """Close the shared client of :meth:`fetch` and stop its thread."""
        with self._lock:
            thread, self._thread = self._thread, None
            shared, self._shared = self._shared, None
        if thread is None:
            return
        if shared is not None:
            try:
                thread.run(shared.aclose())
            except Exception:  # noqa: BLE001 - closing: nothing left to tell anyone
                log.debug("closing the shared client failed", exc_info=True)
        thread.stop()

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

    def _next_url(self, head: _Head, url: str, seen: set[str]) -> str:
        location = head.headers.get("location")
        if not location:
            raise FetchError(f"redirect {head.status_code} without a Location from {url}")
        try:
            from yarl import URL

            target = check_url(str(URL(url).join(URL(location.strip()))))
        except (FetchError, ValueError, TypeError) as exc:
            raise FetchError(_bad_location(exc, url)) from None
        if target in seen:
            raise FetchError(f"redirect loop at {target}")
        if len(seen) > self.limits.max_redirects:
            raise FetchError(f"too many redirects (more than {self.limits.max_redirects})")
        return target

    def _result(self, head: _Head, body: bytes, url: str, permanent: str | None) -> FetchResult:
        return FetchResult(
            url=url,
            status=head.status_code,
            content=body,
            content_type=head.headers.get("content-type"),
            etag=head.headers.get("etag"),
            last_modified=head.headers.get("last-modified"),
            permanent_url=permanent,
            max_age=cache_max_age(head.headers.get("cache-control")),
        )

    def _declared_too_large(self, declared: int) -> FetchError:
        return FetchError(
            f"the response is too large ({declared // 1024} KiB, the limit is "
            f"{self.limits.max_bytes // 1024} KiB)"
        )

    def _too_large(self) -> FetchError:
        return FetchError(f"the response is too large (over {self.limits.max_bytes // 1024} KiB)")

    async def fetch_async(
        self,
        client: AsyncClient,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        accept: str | None = None,
    ) -> FetchResult:
        """Fetch ``url`` with ``client``; raises :class:`FetchError` with a clear message."""
        url = check_url(url)
        try:
            # asyncio.timeout, not wait_for: wait_for runs the fetch in a task of its own,
            # which a prefetch of a thousand pages pays for a thousand times.
            async with asyncio.timeout(self.limits.total_timeout):
                return await self._fetch_async(client, url, etag, last_modified, accept)
        except TimeoutError as exc:
            if isinstance(exc, FetchError):  # pragma: no cover - FetchError is no TimeoutError
                raise
            raise FetchError(
                f"{_host(url)} took longer than {self.limits.total_timeout:g} s"
            ) from exc

    async def _fetch_async(
        self,
        client: AsyncClient,
        url: str,
        etag: str | None,
        last_modified: str | None,
        accept: str | None,
    ) -> FetchResult:
        import aiohttp

        walk = _Walk(self, url)
        headers = self._headers(etag, last_modified, accept)
        for value in headers.values():
            if "\r" in value or "\n" in value:
                raise FetchError(f"refusing to send a header with a line break to {_host(url)}")
        while True:
            local = client.local(walk.current, headers)
            if local is not None:
                head, body = local
                if (done := walk.answer(head)) is not None:
                    return done
                if not walk.redirected:
                    return walk.result(head, body)
                continue
            target = _parse_url(walk.current)
            try:
                async with client.session().get(
                    target,
                    headers=headers,
                    allow_redirects=False,
                    ssl=client.ssl_for(target),
                    proxy=client.proxy_for(target),
                ) as response:
                    head = _Head(response.status, response.reason or "", response.headers, url)
                    if (done := walk.answer(head)) is not None:
                        return done
                    if walk.redirected:
                        continue
                    body = await self._body(response, walk)
                    return walk.result(head, body)
            except aiohttp.ClientError as exc:
                raise FetchError(_describe(exc, walk.current)) from exc
            except ValueError as exc:  # aiohttp refuses what it cannot send (a bad header)
                raise FetchError(f"invalid request to {_host(walk.current)}: {exc}") from exc

    async def _body(self, response: aiohttp.ClientResponse, walk: _Walk) -> bytes:
        """The decoded body, within the size cap."""
        limit = self.limits.max_bytes
        declared = response.headers.get("content-length")
        if declared and declared.isdigit() and "content-encoding" not in response.headers:
            return await response.read()  # framed by a length already checked against the cap
        chunks: list[bytes] = []
        total = 0
        async for chunk in response.content.iter_chunked(_CHUNK):
            total += len(chunk)
            if total > limit:
                raise self._too_large()
            chunks.append(chunk)
        return b"".join(chunks)

    def fetch(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        accept: str | None = None,
    ) -> FetchResult:
        """Blocking fetch with the shared client (for single pages, from any thread but the
        fetcher's own); the same limits, redirects and messages as :meth:`fetch_async`."""
        check_url(url)  # a bad address fails at once, without starting the loop thread
        with self._lock:
            if self._thread is None:
                self._thread = LoopThread()
            thread = self._thread
        return thread.run(self._fetch_shared(url, etag, last_modified, accept))

    async def _fetch_shared(
        self, url: str, etag: str | None, last_modified: str | None, accept: str | None
    ) -> FetchResult:
        if self._shared is None:  # only ever touched on the loop thread
            self._shared = await self.async_client().__aenter__()
        return await self.fetch_async(
            self._shared, url, etag=etag, last_modified=last_modified, accept=accept
        )


class _Walk:
    """One fetch's way through redirects to a body.

    Args:
        fetcher: whose limits apply.
        url: the first address.
    """

    def __init__(self, fetcher: Fetcher, url: str) -> None:
        self.fetcher = fetcher
        self.current = url
        self.seen = {url}
        self.permanent: str | None = None
        self.all_permanent = True
        self.redirected = False

    def answer(self, head: _Head) -> FetchResult | None:
        """Handle the status: follow a redirect (sets ``redirected``), return a 304, raise an
        error status, or check the announced length and let the body be read (None)."""
        status = head.status_code
        self.redirected = status in _REDIRECTS
        if self.redirected:
            self.all_permanent = self.all_permanent and status in (301, 308)
            self.current = self.fetcher._next_url(head, self.current, self.seen)
            self.seen.add(self.current)
            self.permanent = self.current if self.all_permanent else None
            return None
        if status == 304:
            return self.fetcher._result(head, b"", self.current, self.permanent)
        if status >= 400:
            raise _status_error(head, self.current)
        declared = head.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > self.fetcher.limits.max_bytes:
            raise self.fetcher._declared_too_large(int(declared))
        return None

    def result(self, head: _Head, body: bytes) -> FetchResult:
        return self.fetcher._result(head, body, self.current, self.permanent)


def _status_error(head: _Head, url: str) -> FetchError:
    status = head.status_code
    retry = parse_retry_after(head.headers.get("retry-after"))
    reason = head.reason_phrase or ""
    if status in (404, 410):
        what = "is gone (410 Gone)" if status == 410 else "was not found (404)"
        return FetchError(f"{url} {what}", status=status, gone=True)
    if status in (429, 503) and retry is not None:
        return FetchError(
            f"the server answered {status} {reason}; it asks to wait {int(retry)} s",
            status=status,
            retry_after=retry,
        )
    return FetchError(
        f"the server answered {status} {reason}".rstrip(), status=status, retry_after=retry
    )


def retry_at(seconds: float | None) -> datetime | None:
    """The UTC time ``seconds`` from now (for storing a Retry-After)."""
    if seconds is None:
        return None
    return datetime.fromtimestamp(time.time() + seconds, UTC)
