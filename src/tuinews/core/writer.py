"""The single writer thread of a refresh or a prefetch, with group commit.

SQLite has one writer at a time, and a commit is the most expensive step of storing a feed
(it flushes the full-text index and writes the WAL). :class:`BatchWriter` runs every write on
one thread with its own connection; the jobs that are queued when it is free run together in one
:meth:`Store.batch` transaction. A job's future resolves only once its batch has committed, so
"stored" always means "on disk". When a job raises, the batch is rolled back and each of its jobs
runs again alone in its own transaction: the failing one gets its error, the others are stored,
and no job ever sees another's half-done writes.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

from .store import Store

T = TypeVar("T")

_Job = tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any], "Future[Any]"]


class BatchWriter:
    """Run a store's writes on one thread, several per transaction.

    Args:
        store: the cache.
        max_jobs: at most this many jobs per transaction.
        max_seconds: a transaction stops taking new jobs after this long, so that what the
            user waits for (a feed's new stories) is never held back for long.
        linger: when the queue runs dry, wait this long (within ``max_seconds``) for more
            jobs to join the transaction before committing. 0: commit at once. For work that
            arrives one job at a time and is not waited for job by job (a prefetch).
        name: the thread's name.
    """

    def __init__(
        self,
        store: Store,
        *,
        max_jobs: int = 64,
        max_seconds: float = 0.2,
        linger: float = 0.0,
        name: str = "tuinews-store",
    ) -> None:
        self._store = store
        self._linger = min(linger, max_seconds)
        self._max_jobs = max_jobs
        self._max_seconds = max_seconds
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._closed = False
        self._lock = threading.Lock()
        self.batches = 0  # transactions committed (tests check that jobs share them)
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        """Queue ``fn(*args, **kwargs)``; the future resolves once its transaction commits."""
        future: Future[T] = Future()
        with self._lock:
            if self._closed:
                raise RuntimeError("the writer has been shut down")
            self._queue.put((fn, args, kwargs, future))
        return future

    def shutdown(self, wait: bool = True) -> None:
        """Run what is queued, then stop the thread."""
        with self._lock:
            if not self._closed:
                self._closed = True
                self._queue.put(None)
        if wait:
            self._thread.join()

    def __enter__(self) -> BatchWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown(wait=True)

    def _run(self) -> None:
        stopping = False
        while not stopping:
            job = self._queue.get()
            if job is None:
                break
            jobs: list[_Job] = []
            results: list[Any] = []
            waiting: _Job | None = job  # dequeued, not yet started
            started = time.monotonic()
            try:
                with self._store.batch():
                    while waiting is not None:
                        current, waiting = waiting, None
                        if current[3].set_running_or_notify_cancel():
                            jobs.append(current)
                            fn, args, kwargs, _ = current
                            results.append(fn(*args, **kwargs))
                        if (
                            len(jobs) >= self._max_jobs
                            or time.monotonic() - started >= self._max_seconds
                        ):
                            break
                        try:
                            item = self._queue.get_nowait()
                        except queue.Empty:
                            left = started + self._linger - time.monotonic()
                            if left <= 0:
                                break
                            try:
                                item = self._queue.get(timeout=left)
                            except queue.Empty:
                                break
                        if item is None:
                            stopping = True
                            break
                        waiting = item
            except BaseException:  # noqa: BLE001 - rolled back: replay each job on its own
                # BEGIN failed before the first job started: it runs alone too.
                if waiting is not None and waiting[3].set_running_or_notify_cancel():
                    jobs.append(waiting)
                for replayed in jobs:
                    self._alone(replayed)
                continue
            self.batches += 1
            for (_, _, _, future), result in zip(jobs, results, strict=True):
                future.set_result(result)

    def _alone(self, job: _Job) -> None:
        """Run one job in its own transaction and resolve its future."""
        fn, args, kwargs, future = job
        try:
            with self._store.batch():  # a batch of one: the job's own transactions join it
                result = fn(*args, **kwargs)
        except BaseException as exc:  # noqa: BLE001 - handed to whoever waits for this job
            future.set_exception(exc)
        else:
            self.batches += 1
            future.set_result(result)
