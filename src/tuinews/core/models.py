"""Plain data passed between the core modules, the CLI and the app.

All datetimes are timezone-aware UTC. All classes are frozen: a change is a new value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class ParsedEntry:
    """One item of a feed as the feed parser read it (not stored yet)."""

    guid: str | None
    """The entry's id/guid as given by the feed, or ``None``."""
    link: str | None
    """Absolute URL of the story's page, or ``None``."""
    title: str
    """Plain-text title ("" when the feed gives none)."""
    author: str | None = None
    published: datetime | None = None
    """Publication (or update) time in UTC; ``None`` when absent or unparseable."""
    summary: str = ""
    """Plain-text (or light Markdown) summary from the feed, never raw HTML."""
    content_html: str | None = None
    """Full HTML content when the feed carries it (content:encoded, atom content)."""
    content_packed: bytes | None = None
    """``content_html`` already compressed for the cache (:func:`tuinews.core.blobs.pack`):
    parsing workers do it, so that the refresh's own process does not."""

    def __reduce__(self) -> tuple[type[ParsedEntry], tuple[Any, ...]]:
        # Parsing workers send entries back by the thousand: positional arguments unpickle
        # several times faster than the generic state of a slotted dataclass.
        return (
            ParsedEntry,
            (
                self.guid,
                self.link,
                self.title,
                self.author,
                self.published,
                self.summary,
                self.content_html,
                self.content_packed,
            ),
        )


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    """A feed document as the parser read it."""

    title: str
    site_url: str | None
    entries: list[ParsedEntry]
    format: str
    """"rss", "atom", "json" or "unknown"."""
    parser: str = ""
    """Which parser produced this ("feedparser-rs" or "feedparser")."""
    warning: str | None = None
    """A non-fatal problem the parser flagged (the feed was still read)."""


@dataclass(frozen=True, slots=True)
class OpmlOutline:
    """One subscription from an OPML file."""

    xml_url: str
    title: str = ""
    html_url: str | None = None
    category: str | None = None


@dataclass(frozen=True, slots=True)
class RelatedLink:
    """A related-article link found on a page (a "Related" / "Read next" box)."""

    url: str
    title: str
    source: str | None = None
    """The site or section the page shows next to the link, if any."""
    published: str | None = None
    """The time text the page shows next to the link, if any (kept as shown)."""


@dataclass(frozen=True, slots=True)
class ExtractedArticle:
    """What extraction made of one HTML page."""

    markdown: str
    """The main text as Markdown (headings, lists, quotes, emphasis, links, images)."""
    text: str
    """The main text as plain text (for search and similarity)."""
    title: str | None = None
    author: str | None = None
    published: datetime | None = None
    site_name: str | None = None
    language: str | None = None
    top_image: str | None = None
    word_count: int = 0
    related_links: list[RelatedLink] = field(default_factory=list)
    extractor: str = "trafilatura"
    """What found the text: "trafilatura", or "readability" when trafilatura's looked cut
    and readability-lxml's second opinion held more (see ``extract._looks_cut``)."""
    notice: str | None = None
    """What the reader must know about this text, e.g. "only a teaser was available (the
    page asks to subscribe)"; ``None`` when it is the article."""


@dataclass(frozen=True, slots=True)
class Feed:
    """A subscription as stored."""

    id: int
    url: str
    title: str
    site_url: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    last_status: int | None = None
    last_error: str | None = None
    last_checked: datetime | None = None
    retry_after: datetime | None = None
    """Do not fetch before this time (from a 429/503 Retry-After)."""
    gone: bool = False
    """The server said 404/410; refresh skips it unless asked by name."""
    prefetch: bool = False
    """Fetch full text of new stories during refresh."""
    unread: int = 0
    total: int = 0
    last_warning: str | None = None
    """What the parser flagged on the last feed it read (the feed was still stored)."""
    folder: str | None = None
    """The folder the feed belongs to (``None``: no folder)."""


@dataclass(frozen=True, slots=True)
class Story:
    """A story (feed item) as stored, with its feed's title for display."""

    id: int
    feed_id: int
    feed_title: str
    guid: str
    link: str | None
    title: str
    author: str | None
    published: datetime | None
    summary: str
    read: bool = False
    starred: bool = False
    has_article: bool = False
    """A full-text article (or a recorded failure) is stored for this story."""


@dataclass(frozen=True, slots=True)
class Article:
    """A story's full text as stored in the cache."""

    story_id: int
    url: str
    markdown: str
    title: str | None = None
    author: str | None = None
    published: datetime | None = None
    site_name: str | None = None
    language: str | None = None
    top_image: str | None = None
    word_count: int = 0
    fetched_at: datetime | None = None
    error: str | None = None
    """Why no full text is available (the markdown then holds the feed summary)."""
    related_links: list[RelatedLink] = field(default_factory=list)
    notice: str | None = None
    """What the reader must know about the text (see :attr:`ExtractedArticle.notice`)."""


@dataclass(frozen=True, slots=True)
class RelatedStory:
    """One entry of the related-stories sidebar."""

    group: str
    """"same" (same event elsewhere), "page" (linked from this page) or "topic"."""
    title: str
    url: str | None
    story_id: int | None
    """The cached story, when the item is in the cache."""
    source: str | None = None
    published: datetime | None = None
    published_text: str | None = None
    score: float = 0.0
    reason: str = ""
    """Why it is related: shared key terms, or "linked from this page"."""
