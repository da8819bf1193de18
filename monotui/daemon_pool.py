"""A thread pool whose threads never keep the process alive.

`concurrent.futures.ThreadPoolExecutor` joins its threads when the interpreter exits, and
asyncio's loop waits for its default executor when it closes: one poll stuck on a hanging source
(a server trickling a byte a second, a resolver that never answers) would hold `q` until that
source gave up. Every source has its own deadline, but quitting must not wait for any of them:
here the threads are daemons, `shutdown()` never waits, and what is still running when the
process ends is simply dropped (a write in flight has its intent in the audit log already).

It is a ThreadPoolExecutor subclass so it can stand where one is expected; none of the base
class's threads are ever started. The poll scheduler runs its cycles here. (Textual's thread
workers stay on asyncio's default executor: replacing it made Textual's repaints after a thread
worker flaky, so an action in flight at quit still holds the exit until its own deadline.)
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")
_Job = tuple[Future[Any], Callable[..., Any], tuple[Any, ...], dict[str, Any]]


class DaemonPool(ThreadPoolExecutor):
    """At most `max_workers` daemon threads, started as work arrives, fed from one queue."""

    def __init__(self, max_workers: int, thread_name_prefix: str = "daemon") -> None:
        super().__init__(max_workers=max_workers, thread_name_prefix=thread_name_prefix)
        self._limit = max_workers
        self._prefix = thread_name_prefix
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._daemons: list[threading.Thread] = []
        self._guard = threading.Lock()
        self._closed = False
        self._idle = 0

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        future: Future[T] = Future()
        with self._guard:
            if self._closed:
                raise RuntimeError("cannot schedule new work after shutdown")
            self._jobs.put((future, fn, args, kwargs))
            if self._idle == 0 and len(self._daemons) < self._limit:
                name = f"{self._prefix}-{len(self._daemons)}"
                thread = threading.Thread(target=self._work, name=name, daemon=True)
                self._daemons.append(thread)
                thread.start()
            else:
                self._idle -= 1 if self._idle else 0
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Take no more work; never waits (see the module doc), whatever `wait` says."""
        with self._guard:
            if self._closed:
                return
            self._closed = True
            threads = len(self._daemons)
        if cancel_futures:
            while True:
                try:
                    job = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if job is not None:
                    job[0].cancel()
        for _ in range(threads):
            self._jobs.put(None)

    def _work(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            self._run(*job)
            del job  # nothing of a finished job is kept alive by an idle thread
            with self._guard:
                self._idle += 1

    @staticmethod
    def _run(
        future: Future[Any], fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> None:
        if not future.set_running_or_notify_cancel():
            return
        try:
            result = fn(*args, **kwargs)
        except BaseException as exc:
            future.set_exception(exc)
        else:
            future.set_result(result)
