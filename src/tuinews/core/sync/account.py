"""The sync account: which server, which user, and the server's auth token.

The password is never stored: ``account add`` logs in once and keeps only the token the
server hands back, in ``account.json`` in the data dir, readable by its owner only (0600).
One account at a time.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from ..errors import TuinewsError

ACCOUNT_FILE = "account.json"


@dataclass(frozen=True, slots=True)
class Account:
    """A Google Reader API account."""

    kind: str
    """"greader" (the only kind so far)."""
    url: str
    """The API root, e.g. ``https://host/api/greader.php``."""
    user: str
    token: str
    """The server's auth token (``Auth=`` of ClientLogin), not the password."""


def account_path(data_dir: Path) -> Path:
    return Path(data_dir) / ACCOUNT_FILE


def load_account(data_dir: Path) -> Account | None:
    """The saved account, or None.

    Raises:
        TuinewsError: the file exists but cannot be read.
    """
    path = account_path(data_dir)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise TuinewsError(
            f"the account file {path} cannot be read ({exc}): remove it with "
            "`tuinews account remove` and add the account again"
        ) from exc
    try:
        return Account(
            kind=str(data["kind"]),
            url=str(data["url"]),
            user=str(data["user"]),
            token=str(data["token"]),
        )
    except (KeyError, TypeError) as exc:
        raise TuinewsError(f"the account file {path} is incomplete: add the account again") from exc


def save_account(data_dir: Path, account: Account) -> Path:
    """Write the account file atomically, mode 0600 from its creation (never world-readable)."""
    path = account_path(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(asdict(account), handle, indent=2)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
    return path


def remove_account(data_dir: Path) -> bool:
    """Delete the account file; False when there was none."""
    try:
        account_path(data_dir).unlink()
    except FileNotFoundError:
        return False
    return True
