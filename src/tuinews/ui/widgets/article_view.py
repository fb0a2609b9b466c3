"""The article pane: a header (title, source, author, date, reading time, cache mark) over the
story's text rendered from Markdown.

Everything shown comes from the web, so the header is built from plain strings into
``rich.text.Text`` (never markup) and the body goes through Textual's Markdown widget, which
parses Markdown only: ``[bold]`` in an article stays ``[bold]``. A clicked link is posted as
:class:`ArticleView.LinkOpened`; the screen opens it only when it is http(s).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, tzinfo

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import Markdown, Static

from tuinews.core.models import Article, Story
from tuinews.core.text import clean_text, shown_title

WORDS_PER_MINUTE = 230

WELCOME = (
    "# tuinews\n\nPick a story on the left and press **Enter** to read it.\n\n"
    "Press **?** for every key, **Ctrl+P** for the command palette."
)


def reading_minutes(words: int) -> int:
    """Minutes to read ``words`` words at :data:`WORDS_PER_MINUTE` (at least 1)."""
    return max(1, math.ceil(words / WORDS_PER_MINUTE))


def count_words(markdown: str) -> int:
    return sum(1 for w in markdown.split() if any(c.isalnum() for c in w))


@dataclass(frozen=True, slots=True)
class ArticleState:
    """What the pane shows and where its text came from."""

    story: Story
    article: Article | None
    source: str
    """"cache" (stored full text), "network" (just fetched), "loading" (summary while the
    full text is fetched) or "summary" (no full text: see ``error``)."""
    error: str | None = None


def format_date(value: datetime | None, timezone: tzinfo | None = None) -> str:
    """A date as "2026-03-04 12:00" in ``timezone`` (None: the local time zone)."""
    return value.astimezone(timezone).strftime("%Y-%m-%d %H:%M") if value else ""


class ArticleView(VerticalScroll, can_focus=True):
    """The open story."""

    BINDINGS = [
        Binding("down", "scroll_down", "Scroll down", show=False, id="article_down"),
        Binding("up", "scroll_up", "Scroll up", show=False, id="article_up"),
    ]

    class LinkOpened(Message):
        """A link in the article was clicked."""

        def __init__(self, url: str) -> None:
            super().__init__()
            self.url = url
            """The link's address (not yet checked for safety)."""

    def __init__(
        self,
        *,
        timezone: tzinfo | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.state: ArticleState | None = None
        """What is shown (None: the welcome text)."""
        self.timezone = timezone
        """Dates show in this zone (None: the local one)."""
        self.add_class("welcome")

    def compose(self) -> ComposeResult:
        yield Static(Text(""), id="article-header", markup=False)
        yield Static(Text(""), id="article-status", markup=False)
        yield Markdown(WELCOME, id="article-body", open_links=False)

    @property
    def story(self) -> Story | None:
        return self.state.story if self.state else None

    @property
    def body(self) -> Markdown:
        return self.query_one("#article-body", Markdown)

    def header_text(self, state: ArticleState) -> Text:
        """Title, then source · author · date · reading time · cache mark."""
        story, article = state.story, state.article
        title = shown_title(
            story.title,
            article.title if article else None,
            [story.feed_title, (article.site_name if article else None) or ""],
        )
        text = Text(title or "(untitled)", style="bold")
        text.append("\n")
        meta: list[str] = []
        source = clean_text((article.site_name if article else None) or story.feed_title)
        if source:
            meta.append(source)
        # The same author as the export and `tuinews read` (core.export.byline): the feed's.
        author = clean_text(story.author or (article.author if article else None))
        if author:
            meta.append(f"by {author}")
        date = format_date(
            story.published or (article.published if article else None), self.timezone
        )
        if date:
            meta.append(date)
        markdown = article.markdown if article and article.markdown else story.summary
        words = (article.word_count if article and not article.error else 0) or count_words(
            markdown
        )
        meta.append(f"{reading_minutes(words)} min read")
        language = clean_text(article.language if article else None)
        if language:
            meta.append(language)
        text.append(" · ".join(meta), style="dim")
        mark = {
            "cache": ("  [from cache]", "green"),
            "network": ("  [fetched]", "cyan"),
            "loading": ("  [summary, loading full text…]", "yellow"),
            "summary": ("  [summary only]", "yellow"),
        }[state.source]
        # The mark is ours, but it is still appended as plain text: nothing here is markup.
        text.append(mark[0], style=mark[1])
        if story.link:
            text.append("\n")
            text.append(clean_text(story.link), style="dim underline")
        return text

    def status_text(self, state: ArticleState) -> Text:
        if state.source == "loading":
            return Text("⟳ fetching the full text…", style="italic yellow")
        if state.error:
            text = Text("✗ full text unavailable: ", style="bold red")
            text.append(clean_text(state.error), style="red")
            return text
        notice = state.article.notice if state.article else None
        if notice:
            text = Text("⚠ ", style="bold yellow")
            text.append(clean_text(notice), style="yellow")
            return text
        return Text("")

    async def show(self, state: ArticleState, *, scroll_y: float = 0.0) -> None:
        """Show a story (full text, or its summary while loading or after a failure)."""
        same_story = self.state is not None and self.state.story.id == state.story.id
        self.state = state
        article = state.article
        if article is not None and article.markdown:
            markdown = clean_text(article.markdown, keep_newlines=True)
        else:
            markdown = clean_text(state.story.summary, keep_newlines=True) or "*(no summary)*"
        self.query_one("#article-header", Static).update(self.header_text(state))
        self.remove_class("welcome")
        status_text = self.status_text(state)
        status = self.query_one("#article-status", Static)
        status.update(status_text)
        status.display = bool(status_text.plain)
        await self.body.query(".article-image").remove()
        await self.body.update(markdown)
        if not same_story:
            self.scroll_to(y=scroll_y, animate=False, immediate=True)
            if scroll_y:
                # The Markdown blocks are laid out after the next refresh: scroll again then.
                self.call_after_refresh(self.scroll_to, y=scroll_y, animate=False)

    async def clear(self) -> None:
        """Back to the welcome text."""
        self.state = None
        self.query_one("#article-header", Static).update(Text(""))
        self.add_class("welcome")
        self.query_one("#article-status", Static).display = False
        await self.body.update(WELCOME)

    @property
    def at_end(self) -> bool:
        """The last line is visible."""
        return self.scroll_y >= self.max_scroll_y

    def on_markdown_link_clicked(self, event: Markdown.LinkClicked) -> None:
        event.stop()
        event.prevent_default()
        self.post_message(self.LinkOpened(event.href))
