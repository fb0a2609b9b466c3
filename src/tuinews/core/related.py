"""Related stories for the sidebar (first version: the links found on the article's page)."""

from __future__ import annotations

from .models import RelatedStory
from .store import Store


def related_stories(store: Store, story_id: int, *, limit: int = 10) -> list[RelatedStory]:
    """Related stories of ``story_id``: for now the related-article links of its page."""
    article = store.article(story_id)
    if article is None:
        return []
    links = article.related_links[:limit]
    cached = store.stories_with_link([link.url for link in links])
    stories = {s.id: s for s in store.stories_by_ids(list(cached.values()))}
    out: list[RelatedStory] = []
    for link in links:
        sid = cached.get(link.url)
        story = stories.get(sid) if sid is not None else None
        out.append(
            RelatedStory(
                group="page",
                title=story.title if story else link.title,
                url=link.url,
                story_id=sid,
                source=story.feed_title if story else link.source,
                published=story.published if story else None,
                published_text=link.published,
                reason="linked from this page",
            )
        )
    return out
