"""Worker processes fed through pipes by an event loop: feed parsing and page extraction.

A refresh of many feeds, or a prefetch of many pages, is CPU-bound on two things: the slow pure
step (parsing a feed; trafilatura on a page) and the rest (HTTP, SQLite). The slow step goes to
worker processes so that it runs on the other cores and never holds the event loop's GIL (the
UI's, in the app). The workers are plain subprocesses (``python -m tuinews.core.pipeworker
TASK``) rather than a ``multiprocessing`` pool, measured (bench/RESULTS.md):

- a worker imports only what its task needs, where a spawned pool worker re-imports the caller's
  ``__main__`` and brings multiprocessing's resource-tracker process along;
- the event loop writes requests straight into the pipe and reads answers as they come, so a
  worker always has its next requests queued; a process pool queues one call ahead and hands
  each answer over through helper threads that wait for the GIL (at 1,000 pages that cost the
  prefetch's process a millisecond a page, on a machine with two cores to share).

The protocol and the workers' side are in :mod:`tuinews.core.pipeworker`.

Every request is bounded in time: a worker that takes longer than ``timeout`` on one request,
or that dies, is killed and replaced; that request fails with the pool's error type and the
others the worker held go to the new worker. A request a worker died on is tried once more
(the crash may have been its neighbour's doing), and fails the second time.

(One-off extractions from the app's threads use :class:`tuinews.core.extract.ExtractorPool`:
they need no event loop, and their throughput does not matter.)
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import logging
import pickle
import sys
from typing import Any, Generic, TypeVar

from tuinews.core.errors import ExtractError, ParseError, TuinewsError
from tuinews.core.models import ExtractedArticle, ParsedFeed
from tuinews.core.pipeworker import HEADER

logger = logging.getLogger(__name__)

PARSE_TIMEOUT = 30.0
EXTRACT_TIMEOUT = 20.0
# Workers that may die one after the other without a single answer before every request fails
# (a broken installation, not a bad input).
_MAX_DEATHS_IN_A_ROW = 5


@dataclasses.dataclass(eq=False)
class _Worker:
    process: asyncio.subprocess.Process
    pending: dict[int, tuple[Any, ...]]
    """Requests sent and not answered, in order: the first is the one being worked on."""
    reader: asyncio.Task[None] | None = None
    head_since: float = 0.0
    """When the worker started on its first pending request (loop time)."""


R = TypeVar("R")


class PipeWorkers(Generic[R]):
    """Worker processes that run one task for one event loop (a refresh, a prefetch).

    Use as an async context manager; workers start on the first :meth:`call` (or
    :meth:`start`) and are stopped on exit. Subclasses name the task, its error type and its
    words for messages.

    Args:
        workers: processes (at least 1).
        timeout: seconds one request may take, from when its worker starts on it
            (default: :attr:`default_timeout`).
        command: the worker's command line (tests pass a fake or broken one).
    """

    task = ""
    """The worker's TASK (see :mod:`tuinews.core.pipeworker`)."""
    error_type: type[TuinewsError] = TuinewsError
    doing = "the work"
    """For messages: "<doing> took longer than 20 s"."""
    crashed = "the worker crashed on this input"
    cannot_start = "the worker could not be started"
    stopped = "the work stopped"
    default_timeout = PARSE_TIMEOUT
    """Seconds one request may take when the caller does not say."""

    def __init__(
        self,
        workers: int = 1,
        timeout: float | None = None,
        *,
        command: list[str] | None = None,
    ) -> None:
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self.timeout = self.default_timeout if timeout is None else timeout
        self._size = workers
        self._command = command or [sys.executable, "-m", "tuinews.core.pipeworker", self.task]
        self._workers: list[_Worker] = []
        self._futures: dict[int, asyncio.Future[R]] = {}
        self._retried: set[int] = set()
        self._deaths_in_a_row = 0  # workers that died with no answer since the last answer
        self._ids = itertools.count()
        self._starting: asyncio.Lock | None = None
        self.started = 0  # processes started (for tests)

    async def __aenter__(self) -> PipeWorkers[R]:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self) -> None:
        """Start every worker now, before the first request (they take a moment to import
        their task's libraries, which can then overlap the caller's first fetches)."""
        if self._starting is None:
            self._starting = asyncio.Lock()
        async with self._starting:
            while len(self._workers) < self._size:
                self._workers.append(await self._start())

    async def call(self, *args: Any, label: str = "") -> R:
        """Run the task on ``args`` in a worker.

        Raises:
            error_type: the task's own error, too slow, or a worker died on it twice.
        """
        request_id = next(self._ids)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[R] = loop.create_future()
        self._futures[request_id] = future
        try:
            await self._send(request_id, args)
            wait = self.timeout
            while True:
                try:
                    return await asyncio.wait_for(asyncio.shield(future), wait)
                except TimeoutError:
                    pass
                # The clock runs from when its worker started on this request, not from when
                # it was queued behind others.
                worker = self._holder(request_id)
                if worker is None or next(iter(worker.pending)) != request_id:
                    wait = self.timeout
                    continue
                wait = worker.head_since + self.timeout - loop.time()
                if wait <= 0:
                    break
            logger.warning("%s for %s took longer than %s s", self.doing, label, self.timeout)
            await self._replace(worker, failed=request_id)
            raise self.error_type(f"{self.doing} took longer than {self.timeout:g} s")
        finally:
            self._futures.pop(request_id, None)

    @property
    def size(self) -> int:
        """How many workers this pool runs."""
        return self._size

    @property
    def pending(self) -> int:
        """Requests sent to the workers and not answered yet (queued ones included)."""
        return sum(len(w.pending) for w in self._workers)

    def _holder(self, request_id: int) -> _Worker | None:
        return next((w for w in self._workers if request_id in w.pending), None)

    async def _send(self, request_id: int, request: tuple[Any, ...]) -> None:
        worker = await self._least_busy()
        if not worker.pending:
            worker.head_since = asyncio.get_running_loop().time()
        worker.pending[request_id] = request
        body = pickle.dumps((request_id, *request), protocol=pickle.HIGHEST_PROTOCOL)
        stdin = worker.process.stdin
        assert stdin is not None
        try:
            stdin.write(HEADER.pack(len(body)) + body)
            await stdin.drain()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the worker died: its reader sees EOF and retries what it held

    async def _least_busy(self) -> _Worker:
        if len(self._workers) < self._size:  # the first request, or a worker was replaced
            await self.start()
        return min(self._workers, key=lambda w: len(w.pending))

    async def _start(self) -> _Worker:
        process = await asyncio.create_subprocess_exec(
            *self._command,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,  # never onto the app's screen
        )
        self.started += 1
        worker = _Worker(process, {})
        worker.reader = asyncio.create_task(self._read(worker))
        return worker

    async def _read(self, worker: _Worker) -> None:
        stdout = worker.process.stdout
        assert stdout is not None
        try:
            while True:
                header = await stdout.readexactly(HEADER.size)
                (size,) = HEADER.unpack(header)
                request_id, ok, value = pickle.loads(await stdout.readexactly(size))
                worker.pending.pop(request_id, None)
                worker.head_since = asyncio.get_running_loop().time()
                self._deaths_in_a_row = 0
                future = self._futures.get(request_id)
                if future is None or future.done():
                    continue
                if ok:
                    future.set_result(value)
                else:
                    future.set_exception(self.error_type(value))
        except Exception:  # noqa: BLE001 - EOF, a reset or a garbled frame: the worker is gone
            if worker in self._workers:  # died on its own (not killed by _replace)
                logger.warning("a worker (%s) died", self.task)
                await self._replace(worker, failed=None)

    async def _replace(self, worker: _Worker | None, *, failed: int | None) -> None:
        """Kill ``worker`` and send its requests other than ``failed`` to a new one.

        When the worker died (``failed`` is None), the request it was working on (the first
        pending one) is the suspect: it is tried once more, and fails the second time; the
        requests queued behind it are innocent and always go again.
        """
        if worker is None or worker not in self._workers:
            return
        self._workers.remove(worker)
        await self._kill(worker)
        if failed is None:
            self._deaths_in_a_row += 1
        pending = list(worker.pending.items())
        for position, (request_id, request) in enumerate(pending):
            future = self._futures.get(request_id)
            if request_id == failed or future is None or future.done():
                continue
            if self._deaths_in_a_row > _MAX_DEATHS_IN_A_ROW:
                future.set_exception(self.error_type(self.cannot_start))
                continue
            if failed is None and position == 0:
                if request_id in self._retried:
                    future.set_exception(self.error_type(self.crashed))
                    continue
                self._retried.add(request_id)
            await self._send(request_id, request)

    async def _kill(self, worker: _Worker) -> None:
        if worker.reader is not None and worker.reader is not asyncio.current_task():
            worker.reader.cancel()
        with contextlib.suppress(ProcessLookupError):
            worker.process.kill()
        with contextlib.suppress(Exception):
            await worker.process.wait()

    async def close(self) -> None:
        """Stop every worker (a request still being worked on is abandoned)."""
        workers, self._workers = self._workers, []
        for worker in workers:
            stdin = worker.process.stdin
            if stdin is not None:
                stdin.close()
        for worker in workers:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(worker.process.wait(), 2)
            await self._kill(worker)
        for future in self._futures.values():
            if not future.done():
                future.set_exception(self.error_type(self.stopped))


class ParseWorkers(PipeWorkers[ParsedFeed]):
    """Workers that parse feeds for one refresh (use inside its event loop); they start on the
    first :meth:`parse`, so none start when every feed answers 304."""

    task = "parse"
    error_type = ParseError
    doing = "parsing the feed"
    crashed = "the feed parser crashed on this feed"
    cannot_start = "the feed parser could not be started"
    stopped = "the refresh stopped"

    async def parse(self, data: bytes, url: str, content_type: str | None) -> ParsedFeed:
        """Parse one feed's body in a worker (see :func:`tuinews.core.feeds.parse_feed`).

        Raises:
            ParseError: not a feed, too slow, or the worker died on it twice.
        """
        return await self.call(data, url, content_type, label=url)


class ExtractWorkers(PipeWorkers[tuple[bytes, ExtractedArticle | None, str]]):
    """Workers that extract fetched pages for one prefetch (use inside its event loop)."""

    task = "extract"
    error_type = ExtractError
    doing = "extraction"
    crashed = "the worker crashed during extraction"
    cannot_start = "the extraction worker could not be started"
    stopped = "the prefetch stopped"
    default_timeout = EXTRACT_TIMEOUT

    async def extract_page(
        self, body: bytes, content_type: str | None, url: str
    ) -> tuple[bytes, ExtractedArticle | None, str]:
        """Sniff, decode and extract a page as fetched, and compress it for the cache, in a
        worker (see :func:`tuinews.core.pipeworker.extract_for_cache`).

        Returns:
            (the page compressed for :meth:`Store.store_fetched_page`, the article or
            None, why there is no article).

        Raises:
            ExtractError: too slow, or the worker died on this page twice.
        """
        return await self.call(body, content_type, url, label=url)
