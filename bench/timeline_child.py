"""``python bench/timeline_child.py OUT.json TUINEWS-ARGS...``: run the tuinews CLI with
timestamps on the steps of a refresh, written to OUT.json at exit (see timeline_refresh.py).

The steps are wrapped from outside (nothing in src knows about this): the first and the last
time each wrapped function is entered and left are kept, as ``time.time()``.
"""

from __future__ import annotations

import atexit
import functools
import inspect
import json
import sys
import time
from typing import Any

MARKS: dict[str, float] = {"child: interpreter ready": time.time()}


def mark(name: str, *, last: bool = False) -> None:
    if last or name not in MARKS:
        MARKS[name] = time.time()


def wrap(owner: Any, attr: str, label: str) -> None:
    fn = getattr(owner, attr)
    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def awrapper(*args: Any, **kwargs: Any) -> Any:
            mark(f"{label}: first call")
            try:
                return await fn(*args, **kwargs)
            finally:
                mark(f"{label}: first return")
                mark(f"{label}: last return", last=True)

        setattr(owner, attr, awrapper)
    else:

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            mark(f"{label}: first call")
            try:
                return fn(*args, **kwargs)
            finally:
                mark(f"{label}: first return")
                mark(f"{label}: last return", last=True)

        setattr(owner, attr, wrapper)


def save(path: str) -> None:
    mark("child: exiting")
    with open(path, "w", encoding="utf-8") as out:
        json.dump(MARKS, out)


def main() -> int:
    out, *args = sys.argv[1:]
    atexit.register(save, out)
    import tuinews.cli as cli

    mark("child: tuinews.cli imported")
    from tuinews.core import fetch, service, store, writer

    mark("child: core imported")
    wrap(store.Store, "__init__", "Store.__init__")
    wrap(service.Service, "refresh", "Service.refresh")
    wrap(fetch.Fetcher, "fetch_async", "fetch_async")
    wrap(store.Store, "store_feed", "Store.store_feed")
    wrap(store.Store, "record_feed_status", "Store.record_feed_status")
    wrap(writer.BatchWriter, "shutdown", "BatchWriter.shutdown")
    try:
        from tuinews.core import pipes

        wrap(pipes.PipeWorkers, "_start", "worker process spawn")
        wrap(pipes.ParseWorkers, "parse", "ParseWorkers.parse")
        wrap(pipes.PipeWorkers, "close", "PipeWorkers.close")
    except (ImportError, AttributeError):
        pass
    sys.argv = ["tuinews", *args]
    code = cli.main(args)
    mark("child: cli.main returned")
    if hasattr(cli, "entry"):  # as the console script does since issue 19: no teardown
        import logging
        import os

        save(out)
        sys.stdout.flush()
        sys.stderr.flush()
        logging.shutdown()
        os._exit(int(code or 0))
    return int(code or 0)


if __name__ == "__main__":
    raise SystemExit(main())
