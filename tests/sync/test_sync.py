"""Sync with a real FreshRSS: what tuinews pulls, what it pushes, conflicts, folders."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from tests.sync.conftest import PASSWORD, ServerUser, Site
from tuinews.core.service import Service
from tuinews.core.store import StoryFilter
from tuinews.core.sync.engine import pending_changes


@pytest.fixture
def service(tmp_path: Path):
    svc = Service(tmp_path / "home" / "cache.sqlite3", extract_workers=1)
    try:
        yield svc
    finally:
        svc.close()


def _login(service: Service, user: ServerUser) -> None:
    service.add_account("greader", user.server.api, user.name, PASSWORD)


def _by_link(service: Service) -> dict[str, object]:
    return {s.link: s for s in service.list_stories(limit=10000)}


def test_first_sync_brings_feeds_folders_stories_and_state(
    service: Service, server_user: ServerUser, site: Site
) -> None:
    news = server_user.subscribe(site.publish("first-a", 5, title="Harbour News"), "Local")
    server_user.subscribe(site.publish("first-b", 3, title="Valley Post"))
    ids = sorted(server_user.all_ids())
    assert len(ids) == 8
    server_user.edit_tag(ids[:2], add="read")
    server_user.edit_tag(ids[2:3], add="starred")
    _login(service, server_user)

    summary = service.sync()

    assert summary.new_stories == 8 and summary.feeds == 2 and not summary.warnings
    feeds = {f.title: f for f in service.feeds()}
    assert feeds["Harbour News"].folder == "Local"
    assert feeds["Valley Post"].folder == "Uncategorized"  # FreshRSS's default category
    assert feeds["Harbour News"].unread + feeds["Valley Post"].unread == 6
    starred = service.list_stories(StoryFilter(starred=True))
    assert len(starred) == 1
    stories = service.list_stories(limit=100)
    assert {s.title for s in stories} >= {"Harbour News story 0", "Valley Post story 2"}
    assert all(s.link and s.link.startswith(site.url("/")) for s in stories)
    # Ordinary stories: full text is extracted locally, and export works.
    story = next(s for s in stories if s.title == "Harbour News story 1")
    article = service.fetch_article(story.id)
    assert "harbour works" in article.markdown
    assert article.error is None
    exported = service.export([story.id], service.data_dir / "out", fetch=False)
    assert "Harbour News story 1" in exported[0].read_text()
    assert service.related(story.id) is not None
    assert news  # the server's stream id was used


def test_second_sync_with_nothing_new_is_a_few_requests(
    service: Service, server_user: ServerUser, site: Site
) -> None:
    server_user.subscribe(site.publish("second", 40))
    _login(service, server_user)
    first = service.sync()
    assert first.new_stories == 40

    again = service.sync()

    assert again.new_stories == 0 and again.state_changes == 0 and again.sent == 0
    # subscription/list, the new ids, the unread ids, the starred ids.
    assert again.requests <= 4
    assert service.count_stories() == 40


def test_new_items_on_the_server_arrive_once(
    service: Service, server_user: ServerUser, site: Site
) -> None:
    url = site.publish("growing", 5)
    server_user.subscribe(url)
    _login(service, server_user)
    service.sync()
    site.publish("growing", 9)  # four more items, the first five unchanged
    server_user.actualize()

    summary = service.sync()

    assert summary.new_stories == 4
    links = [s.link for s in service.list_stories(limit=100)]
    assert len(links) == len(set(links)) == 9


def test_local_changes_are_sent_and_survive_until_sent(
    service: Service, server_user: ServerUser, site: Site
) -> None:
    server_user.subscribe(site.publish("push", 6))
    _login(service, server_user)
    service.sync()
    stories = service.list_stories(limit=100)
    a, b, c, d = (s.id for s in stories[:4])

    service.mark([a, b], "read")
    service.mark([c], "star")
    service.mark([b], "unread")  # read then unread: the server must end unread
    service.store.mark_feed_read(stories[0].feed_id)  # marks a... too, in one go
    service.mark([d], "unread")
    assert pending_changes(service.store) > 0

    summary = service.sync()

    assert pending_changes(service.store) == 0
    assert summary.sent >= 5
    unread = server_user.unread_ids()
    local = {s.id: s for s in service.list_stories(limit=100)}
    assert len(unread) == 1  # only d
    assert server_user.starred_ids() and len(server_user.starred_ids()) == 1
    assert [sid for sid, s in local.items() if not s.read] == [d]
    assert local[c].starred


def test_changes_made_elsewhere_are_pulled(
    service: Service, server_user: ServerUser, site: Site
) -> None:
    server_user.subscribe(site.publish("elsewhere", 4))
    _login(service, server_user)
    service.sync()
    ids = sorted(server_user.all_ids())
    server_user.edit_tag(ids[:3], add="read")
    server_user.edit_tag(ids[3:], add="starred")

    summary = service.sync()

    assert summary.state_changes == 4
    stories = service.list_stories(limit=100)
    assert sum(not s.read for s in stories) == 1
    assert sum(s.starred for s in stories) == 1


def test_conflict_local_change_wins_for_its_flag_and_the_other_flag_merges(
    service: Service, server_user: ServerUser, site: Site
) -> None:
    server_user.subscribe(site.publish("conflict", 2))
    _login(service, server_user)
    service.sync()
    one = next(s for s in service.list_stories(limit=10) if s.link.endswith("story-0"))
    server_item = service.store.conn.execute(
        "SELECT item_id FROM sync_items WHERE story_id = ?", (one.id,)
    ).fetchone()[0]
    # Changed on both sides before the next sync: the phone reads story 0 and stars it...
    server_user.edit_tag([server_item], add="read")
    server_user.edit_tag([server_item], add="starred")
    # ... while this machine (offline) marked it unread again, deliberately.
    service.mark([one.id], "read")
    service.mark([one.id], "unread")

    service.sync()

    story = service.story(one.id)
    assert not story.read  # the local, later, explicit change wins for "read"
    assert story.starred  # the star made elsewhere is kept: the flags merge
    assert server_item in server_user.unread_ids()
    assert server_item in server_user.starred_ids()


def test_subscribe_unsubscribe_and_folder_moves_are_sent(
    service: Service, server_user: ServerUser, site: Site
) -> None:
    keep = site.publish("keep", 2, title="Keep")
    server_user.subscribe(keep, "Old")
    _login(service, server_user)
    service.sync()
    feed = next(f for f in service.feeds() if f.title == "Keep")

    service.store.set_feed_folder(feed.id, "Tech")
    service.subscribe_on_account(site.publish("added", 3, title="Added"), "Later")
    service.sync()

    subs = {s["url"]: s for s in server_user.subscriptions()}
    assert subs[keep]["categories"][0]["label"] == "Tech"  # type: ignore[index]
    added = subs[site.url("/added/feed.xml")]
    assert added["categories"][0]["label"] == "Later"  # type: ignore[index]
    local = {f.title: f for f in service.feeds()}
    assert local["Added"].folder == "Later" and local["Keep"].folder == "Tech"
    assert local["Added"].unread == 3  # its stories came with the same sync

    service.remove_feed(local["Added"].id)
    service.sync()
    assert site.url("/added/feed.xml") not in {s["url"] for s in server_user.subscriptions()}
    assert "Added" not in {f.title for f in service.feeds()}


def test_changes_to_subscriptions_made_elsewhere_are_pulled(
    service: Service, server_user: ServerUser, site: Site
) -> None:
    gone = server_user.subscribe(site.publish("gone", 2, title="Gone"))
    moved = server_user.subscribe(site.publish("moved", 2, title="Moved"))
    _login(service, server_user)
    service.sync()
    server_user.post("subscription/edit", [("ac", "unsubscribe"), ("s", gone)])
    server_user.post(
        "subscription/edit", [("ac", "edit"), ("s", moved), ("a", "user/-/label/Elsewhere")]
    )

    summary = service.sync()

    assert summary.feeds_removed == 1
    local = {f.title: f for f in service.feeds()}
    assert "Gone" not in local
    assert local["Moved"].folder == "Elsewhere"
    assert service.count_stories() == 2


def test_a_story_carried_locally_and_by_the_server_appears_once(
    service: Service, server_user: ServerUser, site: Site
) -> None:
    # The same feed subscribed locally and on the server: adopted, not doubled.
    same = site.publish("same", 3, title="Same")
    service.add_feed(same)
    local_story = next(s for s in service.list_stories() if s.link.endswith("story-1"))
    service.mark([local_story.id], "read")
    server_user.subscribe(same)
    _login(service, server_user)

    service.sync()

    links = [s.link for s in service.list_stories(limit=100)]
    assert len(links) == len(set(links)) == 3
    assert {f.title for f in service.feeds()} == {"Same"}
    # The story read here before the first sync is read on the server now.
    assert len(server_user.unread_ids()) == 2
    assert service.story(local_story.id).read


def test_a_local_feed_and_a_server_feed_with_the_same_pages(
    service: Service, server_user: ServerUser, site: Site
) -> None:
    local_url = site.publish("mirror-local", 3, title="Mirror")
    service.add_feed(local_url)
    # The server subscribes to a different feed URL carrying the very same pages.
    site.server.routes["/mirror-remote/feed.xml"] = site.server.routes["/mirror-local/feed.xml"]
    server_user.subscribe(site.url("/mirror-remote/feed.xml"))
    _login(service, server_user)

    service.sync()
    service.sync()

    links = [s.link for s in service.list_stories(limit=100)]
    assert len(links) == len(set(links)) == 3
    story = service.list_stories(limit=1)[0]
    service.mark([story.id], "read")
    service.sync()
    assert len(server_user.unread_ids()) == 2  # the server's copy follows the local story


def test_refresh_leaves_the_servers_feeds_to_the_sync(
    service: Service, server_user: ServerUser, site: Site
) -> None:
    server_user.subscribe(site.publish("norefresh", 2))
    local = site.publish("localonly", 2)
    service.add_feed(local)
    _login(service, server_user)
    service.sync()
    hits = site.server.hits["/norefresh/feed.xml"]

    summary = service.refresh()

    assert [r.url for r in summary.results] == [local]
    assert site.server.hits["/norefresh/feed.xml"] == hits


def test_account_file_holds_the_token_only_mode_0600(
    service: Service, server_user: ServerUser
) -> None:
    _login(service, server_user)
    path = service.data_dir / "account.json"
    text = path.read_text()
    assert PASSWORD not in text and server_user.name in text
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    account = service.account()
    assert account is not None and account.token == server_user.token


def test_account_remove_keeps_feeds_as_local_feeds(
    service: Service, server_user: ServerUser, site: Site
) -> None:
    server_user.subscribe(site.publish("stay", 2, title="Stay"))
    _login(service, server_user)
    service.sync()
    service.mark([service.list_stories()[0].id], "read")

    had, dropped = service.remove_account()

    assert had and dropped == 1
    assert service.account() is None
    assert [f.title for f in service.feeds()] == ["Stay"]
    assert service.count_stories() == 2
    assert not service.account_feed_ids()
    service.refresh()  # a local feed now: refreshed from its site
    assert service.count_stories() == 2


def test_the_apps_sync_in_a_child_process_reports_and_can_be_stopped(
    service: Service, server_user: ServerUser, site: Site
) -> None:
    import threading

    from tuinews.core.errors import SyncError

    server_user.subscribe(site.publish("child", 30))
    _login(service, server_user)
    phases: list[str] = []
    summary = service.sync_in_child(progress=lambda phase, done, total: phases.append(phase))
    assert summary.new_stories == 30 and "items" in phases
    assert service.count_stories() == 30
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(SyncError, match="stopped"):
        service.sync_in_child(cancel=cancel)


def test_text_from_the_server_is_stored_inert(
    service: Service, server_user: ServerUser, site: Site
) -> None:
    from tests.loopback import Route
    from tests.sync.conftest import feed_xml

    evil = "Evil [bold red]markup[/] \u202eesrever\u202c \u200bend"
    body = feed_xml(evil, site.url("/evil"), [("s0", evil)])
    site.server.routes["/evil/feed.xml"] = Route(body)
    server_user.subscribe(site.url("/evil/feed.xml"), "[red]Folder[/red]\u202e")
    _login(service, server_user)

    service.sync()

    story = service.list_stories()[0]
    feed = service.feeds()[0]
    for text in (story.title, feed.title, feed.folder or ""):
        assert "\u202e" not in text and "\u200b" not in text and "\x1b" not in text
    assert "[bold red]markup[/]" in story.title  # kept literally, never interpreted
    assert feed.folder and feed.folder.startswith("[red]Folder[/red]")
