"""Worker processes with a time limit per call: the base of the extraction pool that the app's
threads use for one article at a time.

(Bulk work in an event loop, a refresh's feeds or a prefetch's pages, goes to the pipe-fed
workers of :mod:`tuinews.core.pipes`: this pool's helper threads cost too much there.)

Slow pure functions (trafilatura on a page) run in other processes so
that they use the other cores and never hold the caller's GIL, and so that one pathological input
can be stopped: a call that takes longer than its time limit kills its pool, which is replaced
for the next calls. A worker that dies (segfault, out of memory) is replaced the same way.
"""

from __future__ import annotations

import concurrent.futures
import logging
import multiprocessing
import threading
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool
from types import TracebackType
from typing import Any, Self

from tuinews.core.errors import TuinewsError

logger = logging.getLogger(__name__)


def _start_method() -> str:
    """forkserver where there is one, else spawn. Never "fork": the caller runs threads, and
    forking a threaded process can deadlock."""
    methods = multiprocessing.get_all_start_methods()
    return "forkserver" if "forkserver" in methods else "spawn"


class WorkerPool:
    """Run picklable module-level functions in worker processes, each call bounded in time.

    A call that takes longer than ``timeout`` seconds raises ``error`` (an instance of the
    subclass's :attr:`error_type`); its pool is then killed and replaced so later calls work. A
    worker that dies gives such an error and a fresh pool too. Calls that were running on a pool
    that was killed for someone else's timeout are retried once on the new pool. Errors the
    function itself raises reach the caller unchanged.

    Use as a context manager, or call :meth:`close`.

    Args:
        max_workers: worker processes (and concurrent calls).
        timeout: seconds one call may take.
        initializer: run once in each worker (imports, so the first call is not the slow one).
    """

    error_type: type[TuinewsError] = TuinewsError
    what = "the work"  # for messages: "<what> took longer than 20 s"

    def __init__(
        self,
        max_workers: int,
        timeout: float,
        *,
        initializer: Callable[[], None] | None = None,
    ) -> None:
        if max_workers < 1:
            raise ValueError("max_workers must be at least 1")
        self.max_workers = max_workers
        self.timeout = timeout
        self._initializer = initializer
        self._lock = threading.Lock()
        self._context = multiprocessing.get_context(_start_method())
        self._executor: concurrent.futures.ProcessPoolExecutor | None = None
        self._generation = 0
        self._closed = False
        self._active = 0  # calls submitted and not finished

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _current(self) -> tuple[concurrent.futures.ProcessPoolExecutor, int]:
        with self._lock:
            if self._closed:
                raise self.error_type(f"{self.what}: the workers have been shut down")
            if self._executor is None:
                self._executor = concurrent.futures.ProcessPoolExecutor(
                    max_workers=self.max_workers,
                    mp_context=self._context,
                    initializer=self._initializer,
                )
                self._generation += 1
            return self._executor, self._generation

    def _replace(self, generation: int) -> None:
        """Kill the pool of ``generation`` (if it is still the current one)."""
        with self._lock:
            if self._executor is None or generation != self._generation:
                return
            executor, self._executor = self._executor, None
        kill(executor)

    def run(self, function: Callable[..., Any], args: tuple[Any, ...], label: str) -> Any:
        """Run ``function(*args)`` in a worker, waiting at most ``timeout`` seconds.

        Args:
            function: a picklable module-level callable.
            args: its (picklable) arguments.
            label: what is being worked on (a URL), for the log.

        Raises:
            error_type: too slow, or the worker crashed; or whatever ``function`` raised.
        """
        with self._lock:
            self._active += 1
            # A call from one more thread than there are workers waits for another first.
            ahead = max(0, self._active - self.max_workers)
        try:
            return self._attempts(function, args, label, self.timeout * (1 + ahead))
        finally:
            with self._lock:
                self._active -= 1

    def _attempts(
        self, function: Callable[..., Any], args: tuple[Any, ...], label: str, limit: float
    ) -> Any:
        for attempt in range(2):
            executor, generation = self._current()
            try:
                future = executor.submit(function, *args)
            except (BrokenProcessPool, RuntimeError):
                # Killed or shut down between _current() and submit(): take the next pool.
                self._replace(generation)
                continue
            try:
                return future.result(timeout=limit)
            except concurrent.futures.TimeoutError:
                logger.warning("%s for %s took longer than %s s", self.what, label, self.timeout)
                self._replace(generation)
                raise self.error_type(f"{self.what} took longer than {self.timeout:g} s") from None
            except BrokenProcessPool as exc:
                with self._lock:
                    killed_by_us = generation != self._generation or self._executor is None
                if killed_by_us and attempt == 0 and not self._closed:
                    continue  # another call's timeout killed our worker: try once more
                self._replace(generation)
                logger.warning("worker for %s died", label)
                raise self.error_type(f"the worker crashed during {self.what}") from exc
        raise self.error_type(f"the worker crashed during {self.what}")

    def close(self) -> None:
        """Stop the workers (a running call is killed). Idempotent."""
        with self._lock:
            self._closed = True
            executor, self._executor = self._executor, None
        if executor is not None:
            kill(executor)


def kill(executor: concurrent.futures.ProcessPoolExecutor) -> None:
    """Kill an executor's processes and shut it down without waiting for its tasks."""
    kill_workers = getattr(executor, "kill_workers", None)  # Python >= 3.14
    if callable(kill_workers):
        try:
            kill_workers()
        except Exception:  # pragma: no cover - already broken or shut down
            logger.debug("kill_workers failed", exc_info=True)
    else:
        # No public way before 3.14: _processes maps pid -> Process.
        processes = getattr(executor, "_processes", None) or {}
        for process in list(processes.values()):
            try:
                process.kill()
            except Exception:  # pragma: no cover - process already gone
                logger.debug("killing worker failed", exc_info=True)
    executor.shutdown(wait=False, cancel_futures=True)
