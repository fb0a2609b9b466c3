"""Run a ``tuinews`` command in a child process, for the app's background work.

A scheduled refresh of many feeds, or the daily cleanup, runs Python code for seconds: in a
thread of the app it would share the app's GIL and hold up its frames (measured: gaps of up to
300 ms while 1,000 feeds refreshed in a thread, bench/bench_daily.py). In its own process it
shares nothing but the SQLite file, whose transactions keep both sides consistent.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

log = logging.getLogger(__name__)


def run_tuinews(
    args: Sequence[str],
    *,
    data_dir: Path,
    config_file: Path | None = None,
    on_line: Callable[[str], None] | None = None,
    cancel: threading.Event | None = None,
) -> tuple[int, str]:
    """Run ``python -m tuinews --data-dir DIR [--config FILE] ARGS...`` to its end.

    Args:
        args: the command and its arguments.
        data_dir: the data directory (the cache inside it is the app's).
        config_file: the config file, when there is one.
        on_line: called with each line the command writes on stderr (its progress).
        cancel: set it to stop the command (SIGTERM to its process group: its writes are
            transactions, so it leaves the cache whole).

    Returns:
        (exit code, what it wrote on stdout).
    """
    cmd = [sys.executable, "-m", "tuinews", "--data-dir", str(data_dir)]
    if config_file is not None and config_file.is_file():
        cmd += ["--config", str(config_file)]
    cmd += list(args)
    with tempfile.TemporaryFile(mode="w+", encoding="utf-8") as out:
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            errors="replace",
            start_new_session=True,  # its parse workers go with it when it is stopped
        )

        def watch() -> None:
            while proc.poll() is None:
                if cancel is not None and cancel.wait(0.2):
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(proc.pid, signal.SIGTERM)
                    return

        watcher = threading.Thread(target=watch, name="tuinews-child-watch", daemon=True)
        watcher.start()
        assert proc.stderr is not None
        for line in proc.stderr:
            if on_line is not None:
                on_line(line.rstrip("\n"))
        code = proc.wait()
        watcher.join(1.0)
        out.seek(0)
        text = out.read()
    log.info("background %s: exit %d", " ".join(args[:1]), code)
    return code, text
