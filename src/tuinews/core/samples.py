"""The bundled sample articles: our own invented sites, feeds and pages.

They live in the top-level ``sample_articles/`` folder, shipped in the wheel as the package
``tuinews.sample_articles``. Their URLs are on the reserved ``.example`` domain (RFC 2606, never
resolvable), and :func:`local_response` answers exactly those URLs from the bundled files inside
the fetcher, so the offline demo goes through the real fetch, parse, extract and store code.
Every other URL goes to the network.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

log = logging.getLogger(__name__)

_TYPES = {
    ".xml": "application/rss+xml; charset=utf-8",
    ".rss": "application/rss+xml; charset=utf-8",
    ".atom": "application/atom+xml; charset=utf-8",
    ".json": "application/feed+json; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".opml": "text/x-opml; charset=utf-8",
}


def samples_root() -> Traversable:
    """The folder of the bundled samples (inside the installed package, or the source tree)."""
    try:
        root = resources.files("tuinews.sample_articles")
        if root.joinpath("manifest.json").is_file():
            return root
    except ModuleNotFoundError:  # pragma: no cover - a broken install
        pass
    return Path(__file__).resolve().parents[3] / "sample_articles"


@dataclass(frozen=True, slots=True)
class SampleFeed:
    url: str
    file: str
    title: str


@cache
def manifest() -> dict[str, Any]:
    """The samples' manifest (feeds and pages by URL); empty when the samples are missing."""
    path = samples_root().joinpath("manifest.json")
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        log.warning("sample manifest unreadable: %s", exc)
        return {"feeds": [], "pages": []}
    return data


@cache
def _url_map() -> dict[str, str]:
    data = manifest()
    out: dict[str, str] = {}
    for item in [*data.get("feeds", []), *data.get("pages", [])]:
        out[_key(item["url"])] = item["file"]
    return out


def _key(url: str) -> str:
    u = urlsplit(str(url).strip())
    return f"{(u.hostname or '')}{u.path}".rstrip("/")


def sample_feeds() -> list[SampleFeed]:
    return [SampleFeed(f["url"], f["file"], f.get("title", "")) for f in manifest()["feeds"]]


def is_sample_url(url: str) -> bool:
    try:
        host = urlsplit(str(url).strip()).hostname or ""
    except ValueError:
        return False
    return host.endswith(".example")


def sample_file(url: str) -> bytes | None:
    """The bundled bytes for a sample URL, or None."""
    rel = _url_map().get(_key(url))
    if rel is None:
        return None
    node = samples_root()
    for part in rel.split("/"):
        node = node.joinpath(part)
    return node.read_bytes()


def answer(url: str, if_none_match: str | None = None) -> tuple[int, dict[str, str], bytes]:
    """(status, headers, body) for a sample URL, as a server would answer a GET."""
    rel = _url_map().get(_key(url))
    body = sample_file(url) if rel else None
    if body is None or rel is None:
        return 404, {"Content-Type": "text/plain"}, b"not a sample page"
    etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
    if if_none_match == etag:
        return 304, {"ETag": etag}, b""
    ctype = _TYPES.get(Path(rel).suffix, "application/octet-stream")
    return 200, {"Content-Type": ctype, "ETag": etag}, body


def local_response(url: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes] | None:
    """The fetcher's answer for a sample URL: (status, headers, body); None: not a sample URL,
    use the network."""
    if not is_sample_url(url):
        return None
    inm = next((v for k, v in headers.items() if k.lower() == "if-none-match"), None)
    status, head, body = answer(url, inm)
    return status, {**head, "Content-Length": str(len(body))}, body
