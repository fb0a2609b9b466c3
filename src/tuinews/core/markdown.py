"""trafilatura's output tree -> the Markdown that tuinews stores, shows and exports.

trafilatura's own Markdown (``xmltotxt(..., True)``) loses structure a reader relies on: a
``<quote>`` comes out as plain paragraphs (a quotation reads as the outlet's own words), the
page's indentation survives inside list items and turns them into code blocks, and link and
image targets are left relative. :func:`render_markdown` walks the same tree (trafilatura's
elements: ``head``, ``p``, ``quote``, ``list``/``item``, ``code``, ``table``/``row``/``cell``,
``graphic``, ``ref``, ``hi``, ``del``, ``lb``) and writes CommonMark + GFM tables:

* whitespace of the page collapsed everywhere but in code, so nothing becomes a code block
  by accident;
* quotes as ``>`` blocks (nested quotes nest), lists with their nesting, fenced code,
  pipe tables, headings at their level;
* links and images resolved against the page's URL, kept only when they are http(s) (a
  ``javascript:`` link keeps its text only); Markdown characters in the page's text escaped
  so that they show as written.
"""

from __future__ import annotations

import re
from urllib.parse import urljoin

from lxml import etree

from tuinews.core.text import is_safe_url

_SPACE = re.compile(r"\s+")
# Characters that would start inline syntax in CommonMark when they come from the page's text.
_INLINE_SPECIAL = re.compile(r"([\\`*_\[\]<])")
# Line starts that CommonMark would read as a block (heading, quote, list, rule, fence).
_BLOCK_START = re.compile(r"^(\s*)([#>+]|-(?=\s|$)|=+\s*$|(\d{1,9})([.)])(?=\s|$))")
_HEADINGS = {f"h{i}": i for i in range(1, 7)}
_EMPHASIS = {"#b": "**", "#i": "*", "#t": "`", "#s": "~~"}


def escape_inline(text: str) -> str:
    """Escape the characters of ``text`` that CommonMark would read as inline syntax."""
    return _INLINE_SPECIAL.sub(r"\\\1", text)


def _escape_block_start(line: str) -> str:
    match = _BLOCK_START.match(line)
    if not match:
        return line
    if match.group(3):  # "1. " -> "1\. "
        return line[: match.end(3)] + "\\" + line[match.end(3) :]
    return line[: match.end(1)] + "\\" + line[match.end(1) :]


class _Renderer:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    # -- inline ------------------------------------------------------------------------

    def url(self, value: str | None) -> str | None:
        if not value:
            return None
        value = value.strip()
        resolved = urljoin(self.base_url, value) if self.base_url else value
        return resolved if is_safe_url(resolved) else None

    def inline(self, el: etree._Element, *, in_cell: bool = False) -> str:
        """The inline Markdown of ``el``'s content (its text and children, not its tail)."""
        parts = [escape_inline(_SPACE.sub(" ", el.text))] if el.text else []
        for child in el:
            parts.append(self.inline_element(child, in_cell=in_cell))
            if child.tail:
                parts.append(escape_inline(_SPACE.sub(" ", child.tail)))
        return "".join(parts)

    def inline_element(self, el: etree._Element, *, in_cell: bool = False) -> str:
        tag = el.tag if isinstance(el.tag, str) else ""
        if tag == "lb":
            return " " if in_cell else "\\\n"
        if tag == "graphic":
            return self.image(el)
        content = self.inline(el, in_cell=in_cell)
        if tag == "ref":
            target = self.url(el.get("target"))
            if target and content.strip():
                return f"[{content.strip()}]({_link_target(target)})"
            return content
        if tag == "hi" or tag == "del":
            marker = "~~" if tag == "del" else _EMPHASIS.get(el.get("rend") or "", "")
            stripped = content.strip()
            if not marker or not stripped:
                return content
            if marker == "`":
                raw = _SPACE.sub(" ", "".join(el.itertext())).strip()
                fence = "``" if "`" in raw else "`"
                stripped = f" {raw} " if fence == "``" else raw
            lead = " " if content[:1].isspace() else ""
            trail = " " if content[-1:].isspace() else ""
            return f"{lead}{marker}{stripped}{marker}{trail}"
        return content

    def image(self, el: etree._Element) -> str:
        src = self.url(el.get("src"))
        if not src:
            return ""
        alt = _SPACE.sub(" ", el.get("alt") or el.get("title") or "").strip()
        return f"![{escape_inline(alt)}]({_link_target(src)})"

    # -- blocks ------------------------------------------------------------------------

    def blocks(self, el: etree._Element) -> list[str]:
        """The Markdown blocks of ``el``'s children (and of its own text, if any)."""
        out: list[str] = []
        pending: list[str] = []  # inline content between blocks (text directly in a div)

        def flush() -> None:
            text = "".join(pending).strip()
            pending.clear()
            if text:
                out.append(_paragraph(text))

        if el.text and el.text.strip():
            pending.append(escape_inline(_SPACE.sub(" ", el.text)))
        for child in el:
            block = self.block(child)
            if block is None:
                pending.append(self.inline_element(child))
            else:
                flush()
                if block:
                    out.append(block)
            if child.tail and child.tail.strip():
                pending.append(escape_inline(_SPACE.sub(" ", child.tail)))
        flush()
        return out

    def block(self, el: etree._Element) -> str | None:
        """``el`` as one Markdown block; ``None`` when it is inline content."""
        tag = el.tag if isinstance(el.tag, str) else ""
        if tag == "p":
            if len(el) and all(_is_block(c) for c in el) and not (el.text or "").strip():
                return "\n\n".join(self.blocks(el))
            return _paragraph(self.inline(el).strip())
        if tag == "head":
            text = self.inline(el).strip().replace("\\\n", " ")
            if not text:
                return ""
            level = _HEADINGS.get(el.get("rend") or "", 2)
            return f"{'#' * level} {text}"
        if tag == "quote":
            inner = "\n\n".join(self.blocks(el))
            return _prefix_lines(inner, "> ") if inner.strip() else ""
        if tag == "list":
            return self.list_block(el)
        if tag == "code":
            return _fenced("".join(el.itertext()))
        if tag == "table":
            return self.table(el)
        if tag == "graphic":
            return self.image(el)
        if tag in ("div", "main", "body", "doc", "item", "cell", "row", "figure", "note"):
            return "\n\n".join(self.blocks(el))
        return None

    def list_block(self, el: etree._Element) -> str:
        ordered = (el.get("rend") or "").lower() in ("ol", "ordered") or el.get("rend") == "1"
        lines: list[str] = []
        number = 0
        for item in el:
            if not isinstance(item.tag, str):
                continue
            if item.tag == "list":  # a list directly inside a list: nest it under the last item
                nested = self.list_block(item)
                if nested and lines:
                    lines.append(_indent(nested, "   " if ordered else "  "))
                continue
            if item.tag != "item":
                inner = self.block(item)
                if inner:
                    lines.append(inner)
                continue
            number += 1
            marker = f"{number}. " if ordered else "- "
            body = self.item_body(item)
            if not body:
                continue
            first, *rest = body.split("\n")
            text = marker + first
            if rest:
                text += "\n" + _indent("\n".join(rest), " " * len(marker))
            lines.append(text)
        # A blank line between items only when one of them has several blocks.
        loose = any("\n\n" in line for line in lines)
        return ("\n\n" if loose else "\n").join(lines)

    def item_body(self, item: etree._Element) -> str:
        """A list item's blocks: a nested list right under its line (a tight list), other
        blocks a blank line apart."""
        parts: list[str] = []
        for block in self.blocks(item):
            nested = bool(re.match(r"(- |\d+\. )", block))
            if parts and nested:
                parts[-1] += "\n" + block
            else:
                parts.append(block)
        return "\n\n".join(parts).strip()

    def table(self, el: etree._Element) -> str:
        rows: list[list[str]] = []
        head_first = False
        for row in el.iter("row"):
            cells = [c for c in row if c.tag == "cell"]
            if not cells:
                continue
            if not rows:
                head_first = all(c.get("role") == "head" for c in cells)
            rows.append(
                [self.inline(c, in_cell=True).strip().replace("|", "\\|") or " " for c in cells]
            )
        if not rows:
            return ""
        width = max(len(r) for r in rows)
        if width == 1:  # a one-column "table" is a layout box: its cells are paragraphs
            return "\n\n".join(_paragraph(r[0]) for r in rows if r[0].strip())
        rows = [r + [" "] * (width - len(r)) for r in rows]
        header = rows[0] if head_first else [" "] * width
        body = rows[1:] if head_first else rows
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * width]
        lines += ["| " + " | ".join(r) + " |" for r in body]
        return "\n".join(lines)


def _is_block(el: etree._Element) -> bool:
    return el.tag in ("list", "quote", "code", "table", "head", "p")


def _paragraph(text: str) -> str:
    lines = [_escape_block_start(line.strip()) for line in text.split("\n")]
    return "\n".join(line for line in lines if line)


def _prefix_lines(text: str, prefix: str) -> str:
    return "\n".join((prefix + line).rstrip() for line in text.split("\n"))


def _indent(text: str, pad: str) -> str:
    return "\n".join(pad + line if line else line for line in text.split("\n"))


def _fenced(code: str) -> str:
    code = code.strip("\n")
    if not code.strip():
        return ""
    longest = max((len(m) for m in re.findall(r"`{3,}", code)), default=2)
    fence = "`" * max(3, longest + 1)
    return f"{fence}\n{code}\n{fence}"


def _link_target(url: str) -> str:
    """A link destination: bare when it is plain, in ``<...>`` when it has parentheses."""
    url = url.replace(" ", "%20").replace("<", "%3C").replace(">", "%3E")
    return f"<{url}>" if re.search(r"[()\\]", url) else url


def render_markdown(body: etree._Element, base_url: str = "") -> str:
    """Render trafilatura's output tree (``Document.body``) as Markdown.

    Args:
        body: the tree, as ``bare_extraction`` returns it.
        base_url: the page's URL (or its ``<base href>``), to resolve links and images.

    Returns:
        Markdown blocks separated by blank lines, without trailing whitespace.
    """
    blocks = _Renderer(base_url).blocks(body)
    return "\n\n".join(b for b in blocks if b.strip()).strip()


_HTML_INLINE = {
    "b": ("hi", "#b"),
    "strong": ("hi", "#b"),
    "i": ("hi", "#i"),
    "em": ("hi", "#i"),
    "cite": ("hi", "#i"),
    "code": ("hi", "#t"),
    "kbd": ("hi", "#t"),
    "del": ("del", None),
    "s": ("del", None),
    "strike": ("del", None),
}
_HTML_DROPPED = {"script", "style", "noscript", "template", "svg", "button", "form", "iframe"}


def html_to_tree(element: etree._Element) -> etree._Element:
    """An HTML fragment (a cleaned article, e.g. readability-lxml's) as the element tree that
    trafilatura produces, so that :func:`render_markdown` renders both alike."""
    out = etree.Element("body")
    _convert_children(element, out)
    return out


def _convert_children(source: etree._Element, target: etree._Element) -> None:
    if source.text:
        _append_text(target, source.text)
    for child in source:
        _convert(child, target)
        if child.tail:
            _append_text(target, child.tail)


def _append_text(target: etree._Element, text: str) -> None:
    last = target[-1] if len(target) else None
    if last is None:
        target.text = (target.text or "") + text
    else:
        last.tail = (last.tail or "") + text


def _convert(el: etree._Element, target: etree._Element) -> None:
    tag = el.tag.lower() if isinstance(el.tag, str) else ""
    if not tag or tag in _HTML_DROPPED:
        return
    new: etree._Element
    if tag in _HEADINGS:
        new = etree.SubElement(target, "head", rend=tag)
    elif tag == "p":
        new = etree.SubElement(target, "p")
    elif tag == "blockquote":
        new = etree.SubElement(target, "quote")
    elif tag in ("ul", "ol"):
        new = etree.SubElement(target, "list", rend=tag)
    elif tag in ("li", "dd", "dt"):
        new = etree.SubElement(target, "item")
    elif tag == "pre":
        new = etree.SubElement(target, "code")
        new.text = "".join(el.itertext())
        return
    elif tag == "table":
        new = etree.SubElement(target, "table")
    elif tag == "tr":
        new = etree.SubElement(target, "row")
    elif tag in ("td", "th"):
        new = etree.SubElement(target, "cell")
        if tag == "th":
            new.set("role", "head")
    elif tag == "img":
        src = el.get("src") or el.get("data-src")
        if src:
            etree.SubElement(target, "graphic", src=src, alt=el.get("alt") or "")
        return
    elif tag == "br":
        etree.SubElement(target, "lb")
        return
    elif tag == "a":
        new = etree.SubElement(target, "ref", target=el.get("href") or "")
    elif tag in _HTML_INLINE:
        name, rend = _HTML_INLINE[tag]
        new = etree.SubElement(target, name)
        if rend:
            new.set("rend", rend)
    elif tag == "figcaption":
        new = etree.SubElement(target, "p")
    else:  # containers and anything else: their content, in place
        _convert_children(el, target)
        return
    _convert_children(el, new)


_IMAGE = re.compile(r"!\[(?:[^\]\\]|\\.)*\]\((<[^>\n]+>|[^)\s]+)\)")


def image_urls(markdown: str) -> list[str]:
    """The http(s) image URLs of a Markdown document, in order, each once."""
    urls: list[str] = []
    for match in _IMAGE.finditer(markdown):
        url = match.group(1).strip("<>")
        if is_safe_url(url) and url not in urls:
            urls.append(url)
    return urls


def with_lead_image(markdown: str, image: str | None, alt: str = "") -> str:
    """``markdown`` opening with the page's lead image, unless the body already shows it."""
    if not image or not is_safe_url(image) or image in image_urls(markdown):
        return markdown
    return f"![{escape_inline(alt)}]({_link_target(image)})\n\n{markdown}"
