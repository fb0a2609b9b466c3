"""Bad servers and bad answers: one clear line, exit 1, no traceback, nothing lost."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest

from tests.loopback import LoopbackServer, Route, closed_port
from tests.sync.conftest import PASSWORD, ServerUser, Site
from tests.sync.proxy import FaultProxy
from tuinews.cli import main
from tuinews.core.service import Service
from tuinews.core.sync.account import Account, save_account
from tuinews.core.sync.engine import pending_changes


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert lines[0].startswith("tuinews: ")
    return lines[0]


def login(capsys, monkeypatch, url: str, user: str, password: str = PASSWORD):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TUINEWS_PASSWORD", password)
    return run(capsys, "account", "add", "greader", url, "--user", user)


def test_wrong_password(capsys, monkeypatch, server_user: ServerUser, _isolated_home: Path) -> None:
    code, _, err = login(capsys, monkeypatch, server_user.server.api, server_user.name, "nope")
    assert code == 1
    assert "wrong user name or password" in one_error_line(err)
    assert not (_isolated_home / "account.json").exists()


def test_not_a_google_reader_api(capsys, monkeypatch, server: LoopbackServer) -> None:
    code, _, err = login(capsys, monkeypatch, server.url("/"), "alice")
    assert code == 1
    assert "is not a Google Reader API" in one_error_line(err)


def test_a_server_answering_html(capsys, monkeypatch, server: LoopbackServer) -> None:
    page = Route(b"<!DOCTYPE html><html><body>Welcome</body></html>", 200, "text/html")
    server.routes["/accounts/ClientLogin"] = page
    server.routes["/api/greader.php/accounts/ClientLogin"] = page
    code, _, err = login(capsys, monkeypatch, server.url(""), "alice")
    assert code == 1
    assert "web page, not the Google Reader API" in one_error_line(err)


def test_nothing_listening(capsys, monkeypatch) -> None:
    code, _, err = login(
        capsys, monkeypatch, f"http://127.0.0.1:{closed_port()}/api/greader.php", "alice"
    )
    assert code == 1
    assert "cannot reach the sync server" in one_error_line(err)


def _synced(capsys, monkeypatch, user: ServerUser, site: Site, name: str) -> None:  # type: ignore[no-untyped-def]
    user.subscribe(site.publish(name, 4))
    assert login(capsys, monkeypatch, user.server.api, user.name)[0] == 0
    assert run(capsys, "sync", "-q")[0] == 0


def _mark_first_read(capsys) -> int:  # type: ignore[no-untyped-def]
    code, out, _ = run(capsys, "list", "--json", "--limit", "1")
    story = json.loads(out)[0]["id"]
    assert run(capsys, "mark", str(story), "read")[0] == 0
    return int(story)


def _pending(home: Path) -> int:
    with Service(home / "cache.sqlite3") as svc:
        return pending_changes(svc.store)


def test_expired_token_says_log_in_again_and_keeps_the_changes(
    capsys, monkeypatch, server_user: ServerUser, site: Site, _isolated_home: Path
) -> None:
    _synced(capsys, monkeypatch, server_user, site, "expire")
    _mark_first_read(capsys)
    # The API password changes on the server (another client, the web UI): the token dies.
    server_user.server.php(
        "update-user.php", "--user", server_user.name, "--api-password", "anotherpass9"
    )

    code, _, err = run(capsys, "sync", "-q")

    assert code == 1
    line = one_error_line(err)
    assert "refused the saved login" in line and "tuinews account add" in line
    assert _pending(_isolated_home) == 1
    server_user.password = "anotherpass9"
    assert (
        login(capsys, monkeypatch, server_user.server.api, server_user.name, "anotherpass9")[0] == 0
    )
    assert run(capsys, "sync", "-q")[0] == 0
    assert _pending(_isolated_home) == 0
    server_user.login()
    assert len(server_user.unread_ids()) == 3


def _use_proxy(home: Path, proxy: FaultProxy, user: ServerUser) -> None:
    account = json.loads((home / "account.json").read_text())
    save_account(home, Account("greader", proxy.api, user.name, account["token"]))


def test_5xx_mid_sync_keeps_everything(
    capsys, monkeypatch, server_user: ServerUser, site: Site, _isolated_home: Path
) -> None:
    _synced(capsys, monkeypatch, server_user, site, "gateway")
    _mark_first_read(capsys)
    site.publish("gateway", 8)
    server_user.actualize()
    proxy = FaultProxy(f"http://127.0.0.1:{server_user.server.port}")
    try:
        _use_proxy(_isolated_home, proxy, server_user)
        proxy.fault = lambda path, status, body: (
            (502, b"<html>Bad Gateway</html>") if path.endswith("items/contents") else None
        )
        code, _, err = run(capsys, "sync", "-q")
        assert code == 1
        assert "HTTP 502" in one_error_line(err)
        # The change was sent before the pull failed; nothing stored was lost.
        assert _pending(_isolated_home) == 0
        assert len(server_user.unread_ids()) == 7
        code, out, _ = run(capsys, "list", "--json", "--limit", "100")
        assert len(json.loads(out)) == 4
        proxy.fault = None
        assert run(capsys, "sync", "-q")[0] == 0
        code, out, _ = run(capsys, "list", "--json", "--limit", "100")
        assert len(json.loads(out)) == 8
    finally:
        proxy.stop()


def test_a_malformed_item_is_skipped_reported_and_fetched_again(
    capsys, monkeypatch, server_user: ServerUser, site: Site, _isolated_home: Path
) -> None:
    server_user.subscribe(site.publish("malformed", 5))
    assert login(capsys, monkeypatch, server_user.server.api, server_user.name)[0] == 0
    proxy = FaultProxy(f"http://127.0.0.1:{server_user.server.port}")

    def mangle(path: str, status: int, body: bytes) -> tuple[int, bytes] | None:
        if not path.endswith("items/contents"):
            return None
        data = json.loads(body)
        data["items"][0]["id"] = {"not": "an id"}
        data["items"][1] = "garbage"
        return status, json.dumps(data).encode()

    try:
        _use_proxy(_isolated_home, proxy, server_user)
        proxy.fault = mangle
        code, out, err = run(capsys, "sync", "-q")
        assert code == 1
        assert "malformed item" in err and "Traceback" not in err
        assert "synced:" in out
        code, out, _ = run(capsys, "list", "--json", "--limit", "100")
        assert len(json.loads(out)) == 3
        proxy.fault = None
        assert run(capsys, "sync", "-q")[0] == 0
        code, out, _ = run(capsys, "list", "--json", "--limit", "100")
        assert len(json.loads(out)) == 5
    finally:
        proxy.stop()


def test_json_that_is_not_json(
    capsys, monkeypatch, server_user: ServerUser, site: Site, _isolated_home: Path
) -> None:
    _synced(capsys, monkeypatch, server_user, site, "notjson")
    proxy = FaultProxy(f"http://127.0.0.1:{server_user.server.port}")
    try:
        _use_proxy(_isolated_home, proxy, server_user)
        proxy.fault = lambda path, status, body: (
            (200, b'{"subscriptions": [') if path.endswith("subscription/list") else None
        )
        code, _, err = run(capsys, "sync", "-q")
        assert code == 1
        assert "not JSON" in one_error_line(err)
    finally:
        proxy.stop()


def test_a_server_that_stops_answering_times_out(
    capsys, monkeypatch, server_user: ServerUser, site: Site, _isolated_home: Path
) -> None:
    _synced(capsys, monkeypatch, server_user, site, "hang")
    _mark_first_read(capsys)
    (_isolated_home / "config.toml").write_text("[network]\ntimeout = 1\n")
    os.kill(server_user.server.pid, signal.SIGSTOP)
    try:
        code, _, err = run(capsys, "sync", "-q")
    finally:
        os.kill(server_user.server.pid, signal.SIGCONT)
    assert code == 1
    assert "did not answer within 1 s" in one_error_line(err)
    assert _pending(_isolated_home) == 1
    assert run(capsys, "sync", "-q")[0] == 0
    assert _pending(_isolated_home) == 0


def test_sync_without_an_account(capsys) -> None:
    code, _, err = run(capsys, "sync")
    assert code == 1
    assert "no sync account" in one_error_line(err)


def test_mark_works_for_local_feeds_without_an_account(capsys, server: LoopbackServer) -> None:
    from tests.loopback import rss

    server.routes["/f.xml"] = Route(
        rss("Local", [(f"g{i}", f"Story {i}", server.url(f"/s{i}")) for i in range(3)])
    )
    assert run(capsys, "add", server.url("/f.xml"))[0] == 0
    code, out, _ = run(capsys, "list", "--json")
    ids = [str(s["id"]) for s in json.loads(out)]
    assert run(capsys, "mark", ids[0], ids[1], "read")[0] == 0
    assert run(capsys, "mark", ids[2], "star")[0] == 0
    code, out, _ = run(capsys, "list", "--json", "--unread")
    assert [str(s["id"]) for s in json.loads(out)] == [ids[2]]
    code, out, _ = run(capsys, "list", "--json", "--starred")
    assert [str(s["id"]) for s in json.loads(out)] == [ids[2]]
    assert run(capsys, "mark", "--feed", "Local", "--all", "read")[0] == 0
    code, out, _ = run(capsys, "list", "--json", "--unread")
    assert json.loads(out) == []
    code, _, err = run(capsys, "mark", "99999", "read")
    assert code == 1 and "no story with id 99999" in one_error_line(err)
    code, _, err = run(capsys, "mark", ids[0], "bogus")
    assert code == 1 and "read, unread, star, unstar" in one_error_line(err)


def test_an_oversized_answer_is_refused(capsys, server: LoopbackServer) -> None:
    from tuinews.core.errors import SyncError
    from tuinews.core.sync.greader import GReaderClient

    server.routes["/accounts/ClientLogin"] = Route(b"Auth=" + b"x" * 5000, 200, "text/plain")
    with (
        GReaderClient(server.url(""), max_bytes=1000) as client,
        pytest.raises(SyncError, match="sent more than 1,000 bytes"),
    ):
        client.login("alice", "pw")
    with GReaderClient(server.url("")) as client:
        assert client.login("alice", "pw") == "x" * 5000
