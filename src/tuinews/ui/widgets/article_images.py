"""The article's images, drawn inline under the paragraph that holds them.

textual-image draws them with the best the terminal offers: the kitty graphics protocol, sixel,
or coloured half blocks (and Unicode blocks when not on a terminal at all, as in tests). The
screen fetches them in a worker (:meth:`tuinews.core.service.Service.article_images`), decodes
them there with Pillow, and hands the decoded images to :func:`mount_images`: nothing here
touches the network or decodes on the UI's event loop.
"""

from __future__ import annotations

import io
import logging
from typing import Any

from textual.widget import Widget
from textual.widgets import Markdown

log = logging.getLogger(__name__)

MAX_PIXELS = 40_000_000
"""Images larger than this are not decoded (a decompression bomb must not stall the app)."""


def detect_terminal() -> None:
    """Import textual-image before the app starts: it queries the terminal then."""
    try:
        import textual_image.widget  # noqa: F401
    except Exception:  # a terminal that answers oddly must not stop the reader
        log.warning("textual-image could not query the terminal", exc_info=True)


def decode_images(images: list[tuple[str, bytes]]) -> list[tuple[str, Any]]:
    """Decode image bytes with Pillow (in a worker thread); undecodable ones are skipped."""
    from PIL import Image as PILImage

    decoded = []
    for url, data in images:
        try:
            with PILImage.open(io.BytesIO(data)) as image:
                if image.width * image.height > MAX_PIXELS:
                    continue
                image.load()
                decoded.append(
                    (
                        url,
                        image.convert("RGB") if image.mode not in ("RGB", "RGBA") else image.copy(),
                    )
                )
        except Exception:  # not an image Pillow reads: the link stays in the text
            log.info("image %s could not be decoded", url, exc_info=True)
    return decoded


def image_widget(image: Any, url: str) -> Widget:
    """The widget for one decoded image."""
    from textual_image.widget import Image

    widget: Widget = Image(image, classes="article-image")
    widget.tooltip = url
    return widget


async def mount_images(body: Markdown, images: list[tuple[str, Any]]) -> int:
    """Mount each image after the Markdown block whose source holds its link (the lead
    image and any image whose block is not found go first). Returns how many were shown."""
    from textual.widgets._markdown import MarkdownBlock

    await body.query(".article-image").remove()
    lines = body.source.splitlines()
    blocks = [b for b in body.children if isinstance(b, MarkdownBlock)]
    shown = 0
    for url, image in images:
        after = None
        for block in blocks:
            start, end = block.source_range
            if any(url in line for line in lines[start:end]):
                after = block
                break
        widget = image_widget(image, url)
        if after is not None:
            await body.mount(widget, after=after)
        elif blocks:
            await body.mount(widget, before=blocks[0])
        else:
            await body.mount(widget)
        shown += 1
    return shown
