"""The app syncs in the background (a worker): on start, and with r/R; the status line shows
the progress and the last error; the UI keeps answering keys meanwhile."""

from __future__ import annotations

from pathlib import Path

from tests.sync.conftest import PASSWORD, ServerUser, Site
from tests.ui.conftest import main_screen, make_service, settle, wait_for
from tuinews.config import load_config
from tuinews.core.sync.account import Account, save_account
from tuinews.core.sync.engine import pending_changes
from tuinews.ui.app import TuinewsApp


def _status(app: TuinewsApp) -> str:
    return main_screen(app).status.render().plain


async def test_sync_on_start_and_with_R_never_blocks_the_ui(
    tmp_path: Path, server_user: ServerUser, site: Site
) -> None:
    server_user.subscribe(site.publish("appsync", 600, title="App Sync"), "Reading")
    service = make_service(tmp_path / "cache.sqlite3")
    service.add_account("greader", server_user.server.api, server_user.name, PASSWORD)
    app = TuinewsApp(service, load_config(data_dir=tmp_path))
    seen: list[str] = []
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            screen = main_screen(app)
            screen.watch(screen.status, "sync", lambda value: seen.append(value))
            # While the sync runs the app answers keys: the help screen opens and closes.
            await pilot.press("question_mark")
            assert app.screen.id != "main"
            await pilot.press("escape")
            await wait_for(pilot, lambda: screen._cancel_sync is None, timeout=60)
            await settle(app, pilot)
            assert any("sync:" in s for s in seen), seen
            assert "synced" in _status(app) and "600 new" in _status(app)
            assert screen.stories.count == 600
            feed = next(f for f in service.feeds() if f.title == "App Sync")
            assert feed.folder == "Reading"

            # Star the story under the cursor: queued, then sent by R.
            await pilot.press("s")
            await wait_for(pilot, lambda: pending_changes(service.store) == 1)
            await pilot.press("R")
            await wait_for(pilot, lambda: pending_changes(service.store) == 0, timeout=30)
            await settle(app, pilot)
            assert len(server_user.starred_ids()) == 1
            assert "synced" in _status(app)
    finally:
        service.close()


async def test_a_failed_sync_shows_in_the_status_line(
    tmp_path: Path, server_user: ServerUser
) -> None:
    service = make_service(tmp_path / "cache.sqlite3")
    save_account(
        service.data_dir,
        Account("greader", server_user.server.api, server_user.name, f"{server_user.name}/bad"),
    )
    app = TuinewsApp(service, load_config(data_dir=tmp_path))
    try:
        async with app.run_test(size=(160, 40)) as pilot:
            await wait_for(pilot, lambda: "sync failed" in _status(app), timeout=30)
            assert "log in again" in _status(app)
            await pilot.press("j")  # still answering
    finally:
        service.close()


def test_first_start_with_an_account_skips_the_samples(
    tmp_path: Path, server_user: ServerUser
) -> None:
    service = make_service(tmp_path / "cache.sqlite3")
    try:
        assert service.needs_first_run()
        service.add_account("greader", server_user.server.api, server_user.name, PASSWORD)
        assert not service.needs_first_run()
    finally:
        service.close()


async def test_changes_made_in_the_app_are_sent_without_a_key(
    tmp_path: Path, server_user: ServerUser, site: Site, monkeypatch
) -> None:
    import tuinews.ui.screens.main as main_module

    monkeypatch.setattr(main_module, "PUSH_INTERVAL", 0.2)
    server_user.subscribe(site.publish("autopush", 5))
    service = make_service(tmp_path / "cache.sqlite3")
    service.add_account("greader", server_user.server.api, server_user.name, PASSWORD)
    app = TuinewsApp(service, load_config(data_dir=tmp_path))
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            screen = main_screen(app)
            await wait_for(pilot, lambda: screen.stories.count == 5, timeout=30)
            await pilot.press("enter")  # opening a story marks it read
            await wait_for(pilot, lambda: len(server_user.unread_ids()) == 4, timeout=30)
            # The sync's child leaves the outbox just after the server confirmed: wait for it.
            await wait_for(pilot, lambda: pending_changes(service.store) == 0, timeout=10)
    finally:
        service.close()
