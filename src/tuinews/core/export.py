"""Story (+ article, + related stories) -> a Markdown file with YAML front matter.

:func:`export_markdown` and :func:`export_filename` are pure; :func:`write_export` does the one
bit of I/O, atomically and never outside the directory it is given.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import tempfile
import unicodedata
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from tuinews.core.errors import ExportError
from tuinews.core.models import Article, RelatedStory, Story
from tuinews.core.text import clean_text, is_safe_url, shown_title

logger = logging.getLogger(__name__)

MAX_FILENAME_CHARS = 120
"""File names longer than this are shortened (most file systems allow 255 bytes)."""
_MAX_SLUG = 80
_WINDOWS_RESERVED = frozenset(
    {"con", "prn", "aux", "nul", "conin$", "conout$"}
    | {f"com{i}" for i in range(10)}
    | {f"lpt{i}" for i in range(10)}
    | {"com¹", "com²", "com³", "lpt¹", "lpt²", "lpt³"}
)
# Characters that start or change Markdown inline syntax (links, images, emphasis, code, HTML,
# autolinks, entities). Escaping them all in a title makes it render as the literal text.
_MD_INLINE = re.compile(r"([\\`*_\[\]<>#!|~&])")


def _yaml_str(value: str) -> str:
    """A YAML double-quoted scalar; JSON string syntax is valid YAML and escapes everything."""
    quoted = json.dumps(clean_text(value), ensure_ascii=False)
    # YAML 1.1 readers take these two for line breaks; escape them like any control.
    return quoted.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def _iso(value: datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def escape_markdown(text: str) -> str:
    """Escape ``text`` so Markdown renders it literally (no links, emphasis, HTML, headings).

    The text is cleaned first (one line, no terminal escapes or invisible characters).
    """
    return _MD_INLINE.sub(r"\\\1", clean_text(text))


def _link_target(url: str) -> str:
    """A URL safe inside ``(...)`` of a Markdown link: angle-bracketed, specials encoded."""
    url = clean_text(url).replace(" ", "%20")
    return "<" + url.replace("<", "%3C").replace(">", "%3E") + ">"


def _human_date(value: datetime) -> str:
    value = value.astimezone(UTC) if value.tzinfo else value
    return f"{value.day} {value.strftime('%B %Y')}"


def byline(story: Story, article: Article | None) -> list[str]:
    """The parts of a story's byline: "By <author>", the site (or the feed), the day.

    One definition for every place that prints a byline (the export, ``tuinews read``), so
    they always agree. The feed's author and date come first: they are usually better than
    what the page's metadata gives.
    """
    author = clean_text(story.author) or clean_text(article.author if article else None)
    site = clean_text(article.site_name if article else None) or clean_text(story.feed_title)
    published = story.published or (article.published if article else None)
    parts = [f"By {author}" if author else "", site]
    parts.append(_human_date(published) if published else "")
    return [p for p in parts if p]


def byline_markdown(story: Story, article: Article | None) -> str:
    """The byline as one line of Markdown ("By Ada Quill · Valley Courier · 4 March 2026"),
    each part escaped; empty when there is nothing to say."""
    return " · ".join(escape_markdown(part) for part in byline(story, article))


def export_markdown(
    story: Story,
    article: Article | None,
    related: Sequence[RelatedStory],
    *,
    exported_at: datetime,
) -> str:
    """Render one story as a Markdown document with YAML front matter.

    Args:
        story: the story as stored.
        article: its full text, or ``None`` (the feed summary is used, with a note).
        related: related stories to list under ``## Related``.
        exported_at: the export time (passed in so the output is reproducible).

    Returns:
        The document text, ending with a newline. Untrusted text is cleaned of terminal
        escapes; titles and link texts are escaped so they cannot inject links or HTML.
    """
    has_text = article is not None and not article.error and bool(article.markdown.strip())
    title = (
        shown_title(
            story.title,
            article.title if article else None,
            [story.feed_title, (article.site_name if article else None) or ""],
        )
        or "Untitled"
    )
    author = clean_text(story.author) or clean_text(article.author if article else None)
    published = story.published or (article.published if article else None)
    site = clean_text(article.site_name if article else None)
    url = story.link or (article.url if article else None)

    byline_text = byline_markdown(story, article)
    front = ["---", f"title: {_yaml_str(title)}"]
    front.append(f"author: {_yaml_str(author)}" if author else "author: null")
    front.append(f"published: {_yaml_str(_iso(published))}" if published else "published: null")
    front.append(f"site: {_yaml_str(site)}" if site else "site: null")
    front.append(f"url: {_yaml_str(url)}" if url else "url: null")
    front.append(f"feed: {_yaml_str(story.feed_title)}")
    front.append(f"starred: {'true' if story.starred else 'false'}")
    front.append(f"exported_at: {_yaml_str(_iso(exported_at))}")
    front.append("---")

    parts = ["\n".join(front), f"# {escape_markdown(title)}"]
    if byline_text:
        parts.append(f"*{byline_text}*")
    if url and is_safe_url(url):
        parts.append(f"Original: [{escape_markdown(url)}]({_link_target(url)})")

    if has_text and article is not None:
        if article.notice:
            parts.append(f"*Note: {escape_markdown(article.notice)}.*")
        parts.append(clean_text(article.markdown, keep_newlines=True))
    else:
        reason = clean_text(article.error) if article is not None and article.error else ""
        note = "*Full text not available; this is the feed's summary"
        note += f" ({escape_markdown(reason)}).*" if reason else ".*"
        parts.append(note)
        summary = clean_text(story.summary, keep_newlines=True)
        if summary:
            parts.append(summary)

    items = []
    for entry in related:
        text = escape_markdown(entry.title) or "Untitled"
        if entry.url and is_safe_url(entry.url):
            line = f"- [{text}]({_link_target(entry.url)})"
        else:
            line = f"- {text}"
        extras = [escape_markdown(entry.source) if entry.source else ""]
        if entry.published:
            extras.append(escape_markdown(_human_date(entry.published)))
        elif entry.published_text:
            extras.append(escape_markdown(entry.published_text))
        extras = [e for e in extras if e]
        if extras:
            line += f" ({', '.join(extras)})"
        items.append(line)
    if items:
        parts.append("## Related\n\n" + "\n".join(items))
    return "\n\n".join(parts) + "\n"


def _slugify(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", clean_text(text)).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    if len(slug) > _MAX_SLUG:
        cut = slug[:_MAX_SLUG]
        # Cut at a word boundary when one is reasonably close to the limit.
        slug = cut.rsplit("-", 1)[0] if "-" in cut[_MAX_SLUG // 2 :] else cut
    return slug.strip("-")


def export_filename(story: Story, article: Article | None) -> str:
    """``YYYY-MM-DD-slug-of-title.md``: ASCII, ``[a-z0-9-]`` only, slug at most 80 characters.

    The date is the story's (or the article's) publication day in UTC, else ``undated``; the
    slug falls back to ``untitled``.
    """
    published = story.published or (article.published if article else None)
    day = published.astimezone(UTC).strftime("%Y-%m-%d") if published else "undated"
    title = story.title or (article.title if article else "") or ""
    return f"{day}-{_slugify(title) or 'untitled'}.md"


def _safe_name(filename: str) -> str:
    """Check (and shorten) a file name; refuse anything that could leave the directory."""
    if not filename or "\x00" in filename:
        raise ExportError("invalid file name for the export")
    if "/" in filename or "\\" in filename or filename in (".", ".."):
        raise ExportError(f"the export file name must not contain a path: {clean_text(filename)!r}")
    if os.path.isabs(filename) or re.match(r"^[A-Za-z]:", filename):
        raise ExportError(f"the export file name must not be absolute: {clean_text(filename)!r}")
    if any(unicodedata.category(ch) == "Cc" for ch in filename):
        raise ExportError("the export file name contains control characters")
    stem, dot, ext = filename.partition(".")
    if stem.rstrip(" .").lower() in _WINDOWS_RESERVED or not stem.strip(" ."):
        raise ExportError(f"{clean_text(filename)!r} is a reserved file name")
    if filename.endswith((" ", ".")):
        raise ExportError(f"the export file name must not end with a space or dot: {filename!r}")
    if len(filename.encode("utf-8")) > MAX_FILENAME_CHARS:
        suffix = Path(filename).suffix if len(Path(filename).suffix) <= 10 else ""
        base = filename[: len(filename) - len(suffix)] if suffix else filename
        while len((base + suffix).encode("utf-8")) > MAX_FILENAME_CHARS:
            base = base[:-1]
        filename = base.rstrip(" .-") + suffix
    return filename


def write_export(text: str, directory: Path, filename: str, *, force: bool = False) -> Path:
    """Write ``text`` to ``directory/filename`` atomically (temp file + ``os.replace``).

    Args:
        text: the document.
        directory: where to write; created if missing.
        filename: a bare file name (no path parts); very long names are shortened.
        force: overwrite an existing file.

    Returns:
        The path written.

    Raises:
        ExportError: bad file name, the file exists and ``force`` is false, or the write failed.
    """
    name = _safe_name(filename)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ExportError(f"cannot create {directory}: {exc.strerror or exc}") from exc
    target = directory / name
    # Belt and braces: the name has no separators, but never write outside `directory`.
    if target.resolve().parent != directory.resolve():
        raise ExportError(f"the export file name leaves the directory: {name!r}")
    if target.exists() and not force:
        raise ExportError(f"{target} exists; use --force to overwrite")
    tmp_path: str | None = None
    try:
        fd, tmp_path = tempfile.mkstemp(prefix=".tuinews-", suffix=".tmp", dir=directory)
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        if not force and target.exists():  # appeared meanwhile
            raise ExportError(f"{target} exists; use --force to overwrite")
        os.replace(tmp_path, target)
        tmp_path = None
    except OSError as exc:
        raise ExportError(f"cannot write {target}: {exc.strerror or exc}") from exc
    finally:
        if tmp_path is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp_path)
    logger.info("exported %s", target)
    return target
