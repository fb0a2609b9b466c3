"""A small client of the Google Reader API (FreshRSS, Miniflux, Inoreader, The Old Reader...).

Every HTTP call of the sync lives here, in one transport method on aiohttp, the client library
of every fetch of tuinews (``core/fetch.py``: its event loop thread, certifi's roots, the proxy
rule of ``HTTP_PROXY`` / ``HTTPS_PROXY`` / ``NO_PROXY``). The conversation the sync relies on
(paths relative to the API root, e.g. ``https://host/api/greader.php``):

* ``POST accounts/ClientLogin`` (``Email``, ``Passwd``) -> ``Auth=...`` line: the auth token,
  sent afterwards as ``Authorization: GoogleLogin auth=TOKEN``.
* ``GET reader/api/0/token`` -> the short write token ``T`` that every POST carries.
* ``GET reader/api/0/subscription/list?output=json`` -> feeds with their labels (folders).
* ``GET reader/api/0/stream/items/ids?s=STREAM&n=N[&xt=..][&ot=..][&c=..]`` -> item ids
  (decimal), paged by ``continuation``.
* ``POST reader/api/0/stream/items/contents`` (``i=ID`` repeated) -> the items themselves.
* ``POST reader/api/0/edit-tag`` (``i`` repeated, ``a``/``r`` = ``user/-/state/com.google/read``
  or ``.../starred``): read, unread, star, unstar.
* ``POST reader/api/0/subscription/edit`` (``ac`` = subscribe / unsubscribe / edit, ``s`` =
  ``feed/URL`` or the feed's stream id, ``a``/``r`` = ``user/-/label/FOLDER``).

Errors are :class:`~tuinews.core.errors.SyncError` with a one-line message for a person.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

from ..errors import SyncError
from ..fetch import AsyncClient, FetchLimits, LoopThread
from ..text import clean_text

log = logging.getLogger(__name__)

READING_LIST = "user/-/state/com.google/reading-list"
READ = "user/-/state/com.google/read"
STARRED = "user/-/state/com.google/starred"
LABEL_PREFIX = "user/-/label/"
ITEM_PREFIX = "tag:google.com,2005:reader/item/"
USER_AGENT = "tuinews (Google Reader API client)"
_CHUNK = 64 * 1024
RELOGIN = "log in again with `tuinews account add greader URL --user NAME`"


def item_id_of(value: str) -> int:
    """An item id as an integer, from the long form (``tag:...item/<16 hex>``) or decimal.

    Raises:
        ValueError: neither form.
    """
    if value.startswith(ITEM_PREFIX):
        return int(value[len(ITEM_PREFIX) :], 16)
    if value.isdigit():
        return int(value)
    raise ValueError(f"not an item id: {value[:80]!r}")


@dataclass(frozen=True, slots=True)
class Answer:
    """A response, read whole (up to the client's size cap)."""

    status: int
    content_type: str
    content: bytes

    @property
    def text(self) -> str:
        charset = "utf-8"
        for part in self.content_type.split(";")[1:]:
            key, _, value = part.strip().partition("=")
            if key.lower() == "charset" and value:
                charset = value.strip('"')
        try:
            return self.content.decode(charset, "replace")
        except LookupError:
            return self.content.decode("utf-8", "replace")


@dataclass(frozen=True, slots=True)
class Subscription:
    """A feed the server's user is subscribed to."""

    stream_id: str
    """``feed/...``: how the API names it."""
    url: str
    title: str
    site_url: str | None
    folder: str | None
    """The first label (a Google Reader "folder"), or None."""


@dataclass(slots=True)
class RequestCounter:
    """How many requests a client made, by endpoint (for the sync summary and the bench)."""

    total: int = 0
    by_path: dict[str, int] = field(default_factory=dict)

    def add(self, path: str) -> None:
        self.total += 1
        self.by_path[path] = self.by_path.get(path, 0) + 1


class GReaderClient:
    """One server, one user. Blocking; use it from one thread.

    Args:
        api_url: the API root (``https://host/api/greader.php`` for FreshRSS).
        token: the auth token of an earlier :meth:`login` (None: log in first).
        timeout: connect and read timeout, seconds.
        max_bytes: the largest response body accepted.
    """

    def __init__(
        self,
        api_url: str,
        token: str | None = None,
        *,
        timeout: float = 30.0,
        max_bytes: int = 200 * 1024 * 1024,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self.max_bytes = max_bytes
        """The largest response accepted (a batch of 500 full items is a few MB)."""
        self.requests = RequestCounter()
        self._write_token: str | None = None
        self._thread: LoopThread | None = None
        """The event loop of the transport, started on the first request."""
        self._client: AsyncClient | None = None

    def close(self) -> None:
        thread, self._thread = self._thread, None
        client, self._client = self._client, None
        if thread is None:
            return
        if client is not None:
            try:
                thread.run(client.aclose())
            except Exception:  # noqa: BLE001 - closing: nothing left to tell anyone
                log.debug("closing the sync client failed", exc_info=True)
        thread.stop()

    def __enter__(self) -> GReaderClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transport -----------------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: Sequence[tuple[str, str]] | None = None,
        data: Sequence[tuple[str, str]] | None = None,
        auth: bool = True,
    ) -> Answer:
        headers: dict[str, str] = {}
        if auth and self.token:
            headers["Authorization"] = f"GoogleLogin auth={self.token}"
        body: bytes | None = None
        if data is not None:
            body = urlencode(list(data)).encode("ascii")
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        self.requests.add(path.split("?")[0])
        host = urlsplit(self.api_url).netloc or self.api_url
        if self._thread is None:
            self._thread = LoopThread(name="tuinews-sync")
        answer = self._thread.run(self._send(method, path, list(params or ()), body, headers))
        status = answer.status
        if status in (401, 403):
            if auth:
                raise SyncError(
                    f"the sync server {host} refused the saved login (HTTP {status}): {RELOGIN}",
                    auth=True,
                    status=status,
                )
            raise SyncError(
                f"the sync server {host} refused the login (HTTP {status}): wrong user name or"
                " password?",
                auth=True,
                status=status,
            )
        if status in (404, 405, 501):
            raise SyncError(
                f"{self.api_url} is not a Google Reader API (HTTP {status} at {path.split('?')[0]})",
                status=status,
            )
        if status >= 500:
            raise SyncError(
                f"the sync server {host} failed (HTTP {status} at {path.split('?')[0]}); "
                "try again later",
                network=True,
                status=status,
            )
        if status >= 400:
            raise SyncError(f"the sync server {host} refused {path} (HTTP {status})", status=status)
        return answer

    async def _send(
        self,
        method: str,
        path: str,
        params: list[tuple[str, str]],
        body: bytes | None,
        headers: dict[str, str],
    ) -> Answer:
        """One request on the loop thread, its body read whole (redirects followed)."""
        import aiohttp
        from yarl import URL

        host = urlsplit(self.api_url).netloc or self.api_url
        try:
            if self._client is None:  # only ever touched on the loop thread
                limits = FetchLimits(
                    connect_timeout=min(self.timeout, 10.0),
                    read_timeout=self.timeout,
                    max_bytes=self.max_bytes,
                    concurrency=4,
                )
                self._client = await AsyncClient(limits, {"User-Agent": USER_AGENT}).__aenter__()
            client = self._client
            target = URL(f"{self.api_url}/{path}")
            async with client.session().request(
                method,
                target,
                params=params or None,
                data=body,
                headers=headers,
                allow_redirects=True,
                ssl=client.ssl_for(target),
                proxy=client.proxy_for(target),
            ) as response:
                chunks: list[bytes] = []
                size = 0
                async for chunk in response.content.iter_chunked(_CHUNK):
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise SyncError(
                            f"the sync server {host} sent more than {self.max_bytes:,} bytes"
                            f" for {path.split('?')[0]}"
                        )
                    chunks.append(chunk)
                return Answer(
                    response.status, response.headers.get("content-type", ""), b"".join(chunks)
                )
        except TimeoutError as exc:  # aiohttp's timeouts are TimeoutErrors too
            raise SyncError(
                f"the sync server {host} did not answer within {self.timeout:g} s", network=True
            ) from exc
        except (aiohttp.InvalidURL, aiohttp.NonHttpUrlClientError) as exc:  # not http(s)
            raise SyncError(
                f"cannot reach the sync server {host}: invalid or not an http(s) address {exc}",
                network=True,
            ) from exc
        except (aiohttp.ClientError, ValueError) as exc:  # ValueError: an address it refuses
            reason = str(exc) or type(exc).__name__
            raise SyncError(f"cannot reach the sync server {host}: {reason}", network=True) from exc

    def _json(self, response: Answer, path: str) -> dict[str, Any]:
        text = response.text
        if _looks_like_html(response):
            raise SyncError(
                f"{self.api_url} answered {path} with a web page, not the Google Reader API"
                " (is the address the API's, e.g. https://host/api/greader.php?)"
            )
        try:
            value = json.loads(text)
        except ValueError as exc:
            raise SyncError(
                f"the sync server answered {path} with something that is not JSON ({_short(text)})"
            ) from exc
        if not isinstance(value, dict):
            raise SyncError(f"the sync server answered {path} with unexpected JSON")
        return value

    # -- the API -------------------------------------------------------------------------

    def login(self, user: str, password: str) -> str:
        """ClientLogin: returns (and keeps) the auth token.

        Raises:
            SyncError: wrong password, not a Google Reader API, unreachable...
        """
        path = "accounts/ClientLogin"
        response = self._request(
            "POST", path, data=[("Email", user), ("Passwd", password)], auth=False
        )
        if _looks_like_html(response):
            raise SyncError(
                f"{self.api_url} answered the login with a web page, not the Google Reader API"
                " (is the address the API's, e.g. https://host/api/greader.php?)"
            )
        token = None
        for line in response.text.splitlines():
            key, _, value = line.partition("=")
            if key.strip() == "Auth" and value.strip():
                token = value.strip()
        if not token:
            raise SyncError(
                f"{self.api_url} is not a Google Reader API (its login gave no Auth token:"
                f" {_short(response.text)})"
            )
        self.token = token
        self._write_token = None
        return token

    def write_token(self) -> str:
        """The short-lived token every POST carries (fetched once per client)."""
        if self._write_token is None:
            response = self._request("GET", "reader/api/0/token")
            token = response.text.strip()
            if not token or len(token) > 200 or "<" in token:
                raise SyncError("the sync server gave no write token (reader/api/0/token)")
            self._write_token = token
        return self._write_token

    def _post_write(self, path: str, data: list[tuple[str, str]]) -> str:
        """A write call with the T token; a stale token is fetched again once."""
        for attempt in range(2):
            try:
                response = self._request("POST", path, data=[("T", self.write_token()), *data])
            except SyncError as exc:
                if exc.auth and attempt == 0 and self._write_token is not None:
                    self._write_token = None
                    continue
                raise
            return response.text.strip()
        raise AssertionError("unreachable")  # pragma: no cover

    def subscriptions(self) -> list[Subscription]:
        path = "reader/api/0/subscription/list"
        data = self._json(self._request("GET", path, params=[("output", "json")]), path)
        subs = data.get("subscriptions")
        if not isinstance(subs, list):
            raise SyncError(f"the sync server answered {path} without a subscription list")
        out: list[Subscription] = []
        for sub in subs:
            if not isinstance(sub, dict):
                continue
            stream_id, url = sub.get("id"), sub.get("url")
            if not isinstance(stream_id, str) or not stream_id:
                continue
            if not isinstance(url, str) or not url:
                # Some servers leave the URL out: the stream id carries it (feed/URL).
                url = stream_id[5:] if stream_id.startswith("feed/") else ""
                if "://" not in url:
                    continue
            folder = None
            for cat in sub.get("categories") or []:
                if isinstance(cat, dict):
                    label = cat.get("label")
                    cid = cat.get("id")
                    if not isinstance(label, str) and isinstance(cid, str):
                        label = cid.rsplit("/label/", 1)[-1] if "/label/" in cid else None
                    if isinstance(label, str) and clean_text(label):
                        folder = clean_text(label)
                        break
            title = sub.get("title")
            html_url = sub.get("htmlUrl")
            out.append(
                Subscription(
                    stream_id=stream_id,
                    url=url,
                    title=clean_text(title) if isinstance(title, str) else "",
                    site_url=html_url if isinstance(html_url, str) and html_url else None,
                    folder=folder,
                )
            )
        return out

    def item_ids(
        self,
        stream: str,
        *,
        exclude: str | None = None,
        newer_than: int | None = None,
        page: int = 10000,
        limit: int | None = None,
    ) -> list[int]:
        """Every item id of a stream (newest first), following ``continuation``.

        Args:
            stream: a stream id (reading list, starred, a feed).
            exclude: ``xt``, e.g. :data:`READ` for unread items only.
            newer_than: ``ot``, Unix seconds: items the server got at or after it.
            page: ids per request.
            limit: stop after this many.
        """
        path = "reader/api/0/stream/items/ids"
        ids: list[int] = []
        continuation: str | None = None
        seen: set[str] = set()
        while True:
            params = [("output", "json"), ("s", stream), ("n", str(page))]
            if exclude:
                params.append(("xt", exclude))
            if newer_than is not None:
                params.append(("ot", str(max(0, newer_than))))
            if continuation:
                params.append(("c", continuation))
            data = self._json(self._request("GET", path, params=params), path)
            refs = data.get("itemRefs") or []
            if not isinstance(refs, list):
                raise SyncError(f"the sync server answered {path} without item references")
            for ref in refs:
                value = ref.get("id") if isinstance(ref, dict) else None
                if isinstance(value, int):
                    value = str(value)
                if not isinstance(value, str):
                    continue
                try:
                    ids.append(item_id_of(value))
                except ValueError:
                    log.warning("ignored an item reference %r", value[:80])
            next_c = data.get("continuation")
            if not refs or not isinstance(next_c, str | int) or str(next_c) in seen:
                break
            if limit is not None and len(ids) >= limit:
                break
            continuation = str(next_c)
            seen.add(continuation)
        return ids[:limit] if limit is not None else ids

    def items(self, ids: Sequence[int]) -> list[Any]:
        """The items with these ids (as the server's JSON objects; unknown ids left out)."""
        if not ids:
            return []
        path = "reader/api/0/stream/items/contents"
        data = self._json(
            self._request(
                "POST",
                path,
                params=[("output", "json")],
                data=[("i", str(i)) for i in ids],
            ),
            path,
        )
        items = data.get("items")
        if not isinstance(items, list):
            raise SyncError(f"the sync server answered {path} without items")
        return items

    def edit_tag(
        self, ids: Iterable[int], *, add: str | None = None, remove: str | None = None
    ) -> None:
        """Add or remove a state (read, starred) on items."""
        data = [("i", str(i)) for i in ids]
        if add:
            data.append(("a", add))
        if remove:
            data.append(("r", remove))
        answer = self._post_write("reader/api/0/edit-tag", data)
        if answer.upper() != "OK":
            raise SyncError(f"the sync server did not confirm edit-tag ({_short(answer)})")

    def subscription_edit(
        self,
        action: str,
        stream: str,
        *,
        title: str | None = None,
        add_label: str | None = None,
        remove_label: str | None = None,
    ) -> None:
        """subscribe / unsubscribe / edit (folder moves: ``add_label``, ``remove_label``)."""
        data = [("ac", action), ("s", stream)]
        if title:
            data.append(("t", title))
        if add_label:
            data.append(("a", LABEL_PREFIX + add_label))
        if remove_label:
            data.append(("r", LABEL_PREFIX + remove_label))
        answer = self._post_write("reader/api/0/subscription/edit", data)
        if answer.upper() != "OK":
            raise SyncError(f"the sync server did not confirm subscription/edit ({_short(answer)})")


def _looks_like_html(response: Answer) -> bool:
    ctype = response.content_type.lower()
    head = response.content[:200].lstrip().lower()
    if head.startswith((b"<!doctype", b"<html", b"<?xml", b"<head", b"<body")):
        return True
    return "html" in ctype and head.startswith(b"<")


def _short(text: str) -> str:
    text = " ".join(text.split())
    text = "".join(c for c in text if c.isprintable())
    return (text[:60] + "…") if len(text) > 60 else (text or "empty")
