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
import typing
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

from .store import Store

T = TypeVar("T")

_Job = tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any], "Future[Any]"]


class _Flush:
    """Queued by :meth:`BatchWriter.flush`: commit what is gathered now."""


_FLUSH = _Flush()


class BatchWriter:
    """Run a store's writes on one thread, several per transaction.

    Args:
        store: the cache.
        max_jobs: at most this many jobs per transaction.
        max_seconds: a transaction stops taking new jobs after this long, so that what the
            user waits for (a feed's new stories) is never held back for long.
        linger: after a job arrives, wait this long for more (at most ``max_jobs``) before the
            transaction begins, so that they share its commit. 0: begin at once. For work that
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
        self._linger = linger
        self._max_jobs = max_jobs
        self._max_seconds = max_seconds
        self._queue: queue.SimpleQueue[_Job | _Flush | None] = queue.SimpleQueue()
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

    def flush(self) -> None:
        """Stop lingering: what is gathered is written now (the caller knows that nothing
        more is coming soon, e.g. the last page of a prefetch)."""
        self._queue.put(_FLUSH)

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

    def _gather(self, first: _Job) -> tuple[list[_Job], bool]:
        """The jobs that arrive within ``linger`` of ``first`` (at most ``max_jobs``), and
        whether the writer was shut down meanwhile. Gathered before the transaction begins, so
        that the write lock is not held while waiting (the app writes too)."""
        jobs = [first]
        deadline = time.monotonic() + self._linger
        while len(jobs) < self._max_jobs:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            try:
                item = self._queue.get(timeout=left)
            except queue.Empty:
                break
            if item is None:
                return jobs, True
            if item is _FLUSH:
                break
            jobs.append(typing.cast(_Job, item))
        return jobs, False

    def _run(self) -> None:
        stopping = False
        while not stopping:
            job = self._queue.get()
            if job is None:
                break
            if isinstance(job, _Flush):
                continue  # nothing gathered to hurry
            gathered, stopping = self._gather(job) if self._linger > 0 else ([job], False)
            jobs: list[_Job] = []
            results: list[Any] = []
            waiting: _Job | None = None  # dequeued, not yet started
            started = time.monotonic()
            try:
                with self._store.batch():
                    while gathered or waiting is not None:
                        if waiting is None:
                            waiting = gathered.pop(0)
                        current, waiting = waiting, None
                        if current[3].set_running_or_notify_cancel():
                            jobs.append(current)
                            fn, args, kwargs, _ = current
                            results.append(fn(*args, **kwargs))
                        if gathered or stopping:
                            continue
                        if (
                            len(jobs) >= self._max_jobs
                            or time.monotonic() - started >= self._max_seconds
                        ):
                            break
                        try:  # what arrived while these ran joins them
                            item = self._queue.get_nowait()
                        except queue.Empty:
                            break
                        if item is None:
                            stopping = True
                            break
                        if isinstance(item, _Flush):
                            break
                        waiting = item
            except BaseException:  # noqa: BLE001 - rolled back: replay each job on its own
                # BEGIN failed before the first job started: it runs alone too.
                if waiting is not None:
                    gathered.insert(0, waiting)
                for left_over in gathered:
                    if left_over[3].set_running_or_notify_cancel():
                        jobs.append(left_over)
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
