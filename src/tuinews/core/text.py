"""Make untrusted text from the web safe to show in a terminal.

Feeds and pages can carry ANSI/OSC escape sequences, C0/C1 control characters, bidi overrides
and zero-width characters. :func:`clean_text` removes all of them while keeping the visible
text; it does *not* touch markup-like text such as ``[bold]``: that is kept literally, and the
UI must show it as plain text (never parse it as Rich markup).
"""

from __future__ import annotations

import re
import unicodedata

# ESC-introduced sequences: CSI (ESC [ ... final), OSC (ESC ] ... BEL or ST), DCS/SOS/PM/APC
# (ESC P/X/^/_ ... ST) and two-byte escapes. The 8-bit C1 forms (\x9b CSI, \x9d OSC...) too.
_ESCAPES = re.compile(
    r"""
    (?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]              # CSI
  | (?:\x1b\]|\x9d).*?(?:\x07|\x1b\\|\x9c|$)      # OSC, ended by BEL or ST (or end of text)
  | (?:\x1b[PX^_]|[\x90\x98\x9e\x9f]).*?(?:\x1b\\|\x9c|$)  # DCS, SOS, PM, APC
  | \x1b[ -/]*[0-~]?                              # other ESC sequences (or a lone ESC)
    """,
    re.VERBOSE | re.DOTALL,
)

# Bidi embedding/override/isolate controls and zero-width characters. U+200D (ZWJ) is kept
# because emoji sequences need it; everything else here changes how text reads, not what it is.
_INVISIBLE = dict.fromkeys(
    map(
        ord,
        "\u200b\u200c\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
        "\u2060\u2061\u2062\u2063\u2064\u2066\u2067\u2068\u2069\ufeff\u00ad",
    )
)


# Anything clean_text would have to remove or rewrite; text without it takes the fast path.
_SUSPECT = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u00ad\u200b\u200c\u200e\u200f\u202a-\u202e"
    "\u2060-\u2064\u2066-\u2069\ufeff]"
)


def clean_text(value: str | None, *, keep_newlines: bool = False) -> str:
    """Return ``value`` with escape sequences and invisible/control characters removed.

    Args:
        value: untrusted text (``None`` gives "").
        keep_newlines: keep ``\\n`` and ``\\t`` (for bodies); otherwise every run of
            whitespace, newlines included, becomes one space (for titles and names).
    """
    if not value:
        return ""
    if _SUSPECT.search(value) is None:
        if not keep_newlines:
            return " ".join(value.split())
        if "\r" not in value and "\n\n\n" not in value:
            return value.strip("\n")
    text = _ESCAPES.sub("", value.replace("\r\n", "\n"))
    text = text.translate(_INVISIBLE)
    out = []
    for ch in text:
        if ch in "\n\t" and keep_newlines:
            out.append(ch)
        elif ch == "\r":
            out.append("\n" if keep_newlines else " ")
        elif unicodedata.category(ch) == "Cc":
            out.append(" " if ch in "\n\t\x0b\x0c" else "")
        else:
            out.append(ch)
    text = "".join(out)
    if keep_newlines:
        text = re.sub(r"\n{3,}", "\n\n", text)
        return text.strip("\n")
    return " ".join(text.split())


def is_safe_url(url: str | None) -> bool:
    """True for http(s) URLs only: javascript:, file:, data: and the rest are never opened."""
    if not url:
        return False
    u = clean_text(url).strip().lower()
    return u.startswith("http://") or u.startswith("https://")


def _heading_key(text: str) -> str:
    return " ".join(re.findall(r"\w+", unicodedata.normalize("NFKC", text).casefold()))


def same_title(heading: str, title: str | None) -> bool:
    """True when ``heading`` is the article's title (the page's ``<h1>`` repeating it): the
    same words, or the title with a site-name suffix or prefix around the heading."""
    if not title:
        return False
    h, t = _heading_key(heading), _heading_key(title)
    if not h or not t:
        return False
    return h == t or (len(h) >= 12 and (t.startswith(h) or t.endswith(h) or h.startswith(t)))


def drop_leading_title(markdown: str, title: str | None) -> str:
    """``markdown`` without a heading that repeats ``title`` near its top (the header shows
    it): among the first blocks, before the first paragraph of 25 words or more.

    Used where the title known best (the feed entry's) differs from the page's own, which
    extraction already removed.
    """
    if not title:
        return markdown
    blocks = markdown.split("\n\n")
    for i, block in enumerate(blocks[:6]):
        line = block.strip()
        if line.startswith("#") and "\n" not in line:
            heading = line.lstrip("#").strip().replace("\\", "")
            if line.lstrip("#").startswith(" ") and same_title(heading, title):
                return "\n\n".join(blocks[:i] + blocks[i + 1 :]).lstrip("\n")
        if len(line.split()) >= 25:
            break
    return markdown


def clean_site_suffix(title: str, site_names: list[str]) -> str:
    """Remove a known site name after (or before) a separator: "Story | Site" -> "Story"."""
    for site in site_names:
        site = " ".join(site.split())
        if not site or len(site) >= len(title):
            continue
        for sep in (" | ", " - ", " – ", " — ", " · ", " :: ", " » "):
            if title.casefold().endswith((sep + site).casefold()):
                rest = title[: -len(sep + site)].strip()
                if len(rest.split()) >= 2:
                    return rest
            if title.casefold().startswith((site + sep).casefold()):
                rest = title[len(site + sep) :].strip()
                if len(rest.split()) >= 2:
                    return rest
    return title


def shown_title(story_title: str | None, article_title: str | None, sites: list[str]) -> str:
    """The title to show and export: the feed entry's, else the page's, with a site-name
    suffix or prefix (" | Site", "Site - ") removed when ``sites`` names it."""
    title = clean_text(story_title) or clean_text(article_title)
    return clean_site_suffix(title, [clean_text(s) for s in sites if s]) if title else ""
