"""Feed parsing in worker processes, fed through pipes by the refresh's event loop.

A refresh of many feeds is CPU-bound on two things: parsing (feedparser-rs plus our own clean-up)
and the rest (HTTP, SQLite). Parsing goes to worker processes so that it runs on another core
and never holds the refresh's GIL (the UI's, in the app). The workers are plain subprocesses
(``python -m tuinews.core.parseworker``) rather than a ``multiprocessing`` pool, measured at
1,000 feeds (bench/RESULTS.md):

- a worker imports only what parsing needs (about 25 MB), where a spawned pool worker re-imports
  the caller's ``__main__`` and brings multiprocessing's resource-tracker process along;
- the event loop writes requests straight into the pipe and reads answers as they come, so a
  worker always has the next feeds queued; a process pool queues one call ahead and hands each
  answer over through two helper threads that wait for the GIL.

The protocol and the worker's side are in :mod:`tuinews.core.parseworker`.

Every feed is bounded in time: a worker that takes longer than ``timeout`` on one feed, or that
dies, is killed and replaced; the feed gets a :class:`ParseError` and the other feeds it held are
sent to the new worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import logging
import pickle
import sys

from tuinews.core.errors import ParseError
from tuinews.core.models import ParsedFeed
from tuinews.core.parseworker import HEADER

logger = logging.getLogger(__name__)

PARSE_TIMEOUT = 30.0
# Workers that may die one after the other without a single answer before every feed fails
# (a broken installation, not a bad feed).
_MAX_DEATHS_IN_A_ROW = 5


@dataclasses.dataclass(eq=False)
class _Worker:
    process: asyncio.subprocess.Process
    pending: dict[int, tuple[bytes, str, str | None]]
    """Requests sent and not answered, in order: the first is the one being parsed."""
    reader: asyncio.Task[None] | None = None
    head_since: float = 0.0
    """When the worker started on its first pending request (loop time)."""


class ParseWorkers:
    """Worker processes that parse feeds for one refresh (use inside its event loop).

    Use as an async context manager; workers start on the first :meth:`parse` (none when
    every feed answers 304) and are stopped on exit.

    Args:
        workers: processes (at least 1).
        timeout: seconds one feed may take before its worker is replaced.
        command: the worker's command line (tests pass a broken one).
    """

    def __init__(
        self,
        workers: int = 1,
        timeout: float = PARSE_TIMEOUT,
        *,
        command: list[str] | None = None,
    ) -> None:
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self.timeout = timeout
        self._size = workers
        self._command = command or [sys.executable, "-m", "tuinews.core.parseworker"]
        self._workers: list[_Worker] = []
        self._futures: dict[int, asyncio.Future[ParsedFeed]] = {}
        self._retried: set[int] = set()
        self._deaths_in_a_row = 0  # workers that died with no answer since the last answer
        self._ids = itertools.count()
        self._starting: asyncio.Lock | None = None
        self.started = 0  # processes started (for tests)

    async def __aenter__(self) -> ParseWorkers:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def parse(self, data: bytes, url: str, content_type: str | None) -> ParsedFeed:
        """Parse one feed's body in a worker.

        Raises:
            ParseError: not a feed, too slow, or the worker died on it twice.
        """
        request_id = next(self._ids)
        future: asyncio.Future[ParsedFeed] = asyncio.get_running_loop().create_future()
        self._futures[request_id] = future
        loop = asyncio.get_running_loop()
        try:
            await self._send(request_id, (data, url, content_type))
            wait = self.timeout
            while True:
                try:
                    return await asyncio.wait_for(asyncio.shield(future), wait)
                except TimeoutError:
                    pass
                # The clock runs from when its worker started on this feed, not from when it
                # was queued behind others.
                worker = self._holder(request_id)
                if worker is None or next(iter(worker.pending)) != request_id:
                    wait = self.timeout
                    continue
                wait = worker.head_since + self.timeout - loop.time()
                if wait <= 0:
                    break
            logger.warning("parsing %s took longer than %s s", url, self.timeout)
            await self._replace(worker, failed=request_id)
            raise ParseError(f"parsing the feed took longer than {self.timeout:g} s")
        finally:
            self._futures.pop(request_id, None)

    def _holder(self, request_id: int) -> _Worker | None:
        return next((w for w in self._workers if request_id in w.pending), None)

    async def _send(self, request_id: int, request: tuple[bytes, str, str | None]) -> None:
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
        if self._starting is None:
            self._starting = asyncio.Lock()
        async with self._starting:
            if len(self._workers) < self._size:
                self._workers.append(await self._start())
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
                    future.set_exception(ParseError(value))
        except Exception:  # noqa: BLE001 - EOF, a reset or a garbled frame: the worker is gone
            if worker in self._workers:  # died on its own (not killed by _replace)
                logger.warning("a feed parsing worker died")
                await self._replace(worker, failed=None)

    async def _replace(self, worker: _Worker | None, *, failed: int | None) -> None:
        """Kill ``worker`` and send its feeds other than ``failed`` to a new one.

        When the worker died (``failed`` is None), the feed it was parsing (the first pending
        one) is the suspect: it is tried once more, and fails the second time; the feeds queued
        behind it are innocent and always go again.
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
                future.set_exception(ParseError("the feed parser could not be started"))
                continue
            if failed is None and position == 0:
                if request_id in self._retried:
                    future.set_exception(ParseError("the feed parser crashed on this feed"))
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
        """Stop every worker (a feed still being parsed is abandoned)."""
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
                future.set_exception(ParseError("the refresh stopped"))
