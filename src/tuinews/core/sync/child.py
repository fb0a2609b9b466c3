"""A sync in its own process, for the app: ``python -m tuinews.core.sync.child DB [options]``.

The app's event loop shares the GIL with any thread of its process; a sync parses JSON and
writes thousands of stories, and in a thread it held the loop for up to 370 ms at a time
(bench/RESULTS.md). In a child process it holds nothing of the app's. The child writes one
JSON object a line on stdout: ``{"progress": [phase, done, total]}`` as it goes, then
``{"summary": {...}}`` or ``{"error": message, "auth": bool}``. Killing it at any point is
safe: that is what the sync is built for (see :mod:`.engine`).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from dataclasses import asdict

from ..errors import SyncError, TuinewsError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tuinews.core.sync.child")
    parser.add_argument("db")
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--timeout", type=float, default=30.0)
    args = parser.parse_args(argv)
    # Background work: on a busy machine the app's own process (the UI) goes first.
    with contextlib.suppress(OSError):
        os.nice(10)

    import logging
    from pathlib import Path

    from ..fetch import FetchLimits
    from ..service import Service

    logging.basicConfig(
        filename=Path(args.db).parent / "tuinews.log",
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s[sync]: %(message)s",
    )

    def emit(obj: object) -> None:
        sys.stdout.write(json.dumps(obj) + "\n")
        sys.stdout.flush()

    def progress(phase: str, done: int, total: int) -> None:
        emit({"progress": [phase, done, total]})

    try:
        with Service(args.db, limits=FetchLimits(read_timeout=args.timeout)) as service:
            summary = service.sync(progress=progress, recent_days=args.days)
    except SyncError as exc:
        emit({"error": exc.message, "auth": exc.auth})
        return 1
    except TuinewsError as exc:
        emit({"error": exc.message, "auth": False})
        return 1
    emit({"summary": asdict(summary)})
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
