"""A blocking HTTP helper on the standard library for the sync tests' "other device" and fault
proxy: independent of the client under test, and of any HTTP library (tuinews needs none but
aiohttp)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from email.message import Message
from typing import Any
from urllib.parse import urlencode


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a redirect is answered as it came, as by httpx's default


# Loopback only: no proxy from the environment, and redirects not followed.
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirects())


@dataclass(frozen=True)
class Response:
    status_code: int
    content: bytes
    headers: Message

    @property
    def text(self) -> str:
        return self.content.decode(self.headers.get_content_charset() or "utf-8", "replace")

    def json(self) -> Any:
        return json.loads(self.text)

    def raise_for_status(self) -> None:
        if self.status_code >= 400:
            raise RuntimeError(f"HTTP {self.status_code}: {self.text[:200]}")


def request(
    method: str,
    url: str,
    *,
    params: dict[str, str] | None = None,
    data: dict[str, str] | list[tuple[str, str]] | None = None,
    content: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 60,
) -> Response:
    """One request; an error status is a :class:`Response` too (no exception)."""
    if params:
        url += ("&" if "?" in url else "?") + urlencode(params)
    headers = dict(headers or {})
    if data is not None:
        content = urlencode(data).encode("ascii")
        headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
    req = urllib.request.Request(url, data=content, headers=headers, method=method)
    try:
        with _opener.open(req, timeout=timeout) as r:
            return Response(r.status, r.read(), r.headers)
    except urllib.error.HTTPError as exc:
        with exc:
            return Response(exc.code, exc.read(), exc.headers)
