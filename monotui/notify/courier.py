"""The delivery of one sink, on its own thread: never blocks a poll or an action.

`offer()` only appends to an in-memory inbox under a lock. The courier's thread moves each
message into the sink's spool (on disk, fsynced) unless its ledger says it was queued already (a
restart, a second monotui), then delivers the spool's front in order:

- a burst (messages about one rollout within `batch_s` of the first) goes out as one payload,
  for transports that batch;
- a token bucket spaces deliveries (`per_minute`, bursts of `burst`);
- a failure retries with exponential backoff up to `max_backoff_s`, or after the server's
  Retry-After (at most `MAX_RETRY_AFTER_S`); the message stays at the front, so nothing is
  lost or reordered while the sink is down (the spool's cap drops the oldest, counted);
- a payload the server refuses outright (HTTP 400) is dropped and counted, so it cannot block
  the queue behind it;
- `failing_after` failures in a row report the sink as failing (`on_health(label, problem)`),
  and the first delivery after that as fine again (`on_health(label, None)`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable

from monotui.errors import MonotuiError
from monotui.notify.ledger import Ledger
from monotui.notify.message import Message
from monotui.notify.spool import Spool
from monotui.notify.transport import DeliveryError, Transport
from monotui.outside_text import literal

log = logging.getLogger(__name__)

Health = Callable[[str, str | None], None]
"""(the sink's label, what is wrong, or None once it delivers again)."""
MAX_BATCH = 10
MAX_RETRY_AFTER_S = 300.0
"""The longest a Retry-After holds a sink's queue before the next try."""
IDLE_WAIT_S = 0.5


class TokenBucket:
    """`rate_per_s` tokens a second, at most `capacity` saved up."""

    def __init__(self, rate_per_s: float, capacity: int, clock: Callable[[], float]) -> None:
        self.rate_per_s = rate_per_s
        self.capacity = float(capacity)
        self.clock = clock
        self._tokens = float(capacity)
        self._at = clock()

    def wait_s(self) -> float:
        """Seconds until a token is there (0: now)."""
        self._refill()
        return 0.0 if self._tokens >= 1 else (1 - self._tokens) / self.rate_per_s

    def take(self) -> None:
        self._refill()
        self._tokens -= 1

    def _refill(self) -> None:
        now = self.clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._at) * self.rate_per_s)
        self._at = now


class Courier:
    """One sink's queue and delivery thread."""

    def __init__(
        self,
        label: str,
        transport: Transport,
        *,
        spool: Spool,
        ledger: Ledger,
        per_minute: float,
        burst: int,
        batch_s: float,
        failing_after: int,
        on_health: Health | None = None,
        max_backoff_s: float = 60.0,
        first_backoff_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.label = label
        self.transport = transport
        self.spool = spool
        self.ledger = ledger
        self.batch_s = batch_s
        self.failing_after = failing_after
        self.on_health = on_health
        self.max_backoff_s = max_backoff_s
        self.first_backoff_s = first_backoff_s
        self.clock = clock
        self.bucket = TokenBucket(per_minute / 60.0, burst, clock)
        self.sent = 0
        """Messages delivered by this process."""
        self.refused = 0
        """Messages the server refused outright (dropped)."""
        self.failures = 0
        """Failed deliveries in a row."""
        self.problem: str | None = None
        """What is wrong while the sink counts as failing."""
        self._cond = threading.Condition()
        self._inbox: deque[Message] = deque()
        self._arrived: dict[str, float] = {}
        self._next_try = 0.0
        self._closing: float | None = None  # the deadline of the final flush
        self._busy = False
        self._wake = False
        self._thread = threading.Thread(target=self._run, name=f"monotui {label}", daemon=True)

    @property
    def dropped(self) -> int:
        """Messages dropped because the on-disk queue was full."""
        return self.spool.dropped

    def start(self) -> Courier:
        self._thread.start()
        return self

    def offer(self, message: Message) -> None:
        """Queue `message` for delivery; returns at once."""
        with self._cond:
            self._inbox.append(message)
            self._wake = True
            self._cond.notify()

    def idle(self) -> bool:
        """Nothing waiting and nothing in flight."""
        with self._cond:
            return not self._inbox and not self._busy and len(self.spool) == 0

    def flush(self, timeout_s: float) -> bool:
        """Wait until everything queued is delivered (or `timeout_s`); True when it was."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.idle():
                return True
            with self._cond:
                self._cond.wait(0.05)
        return self.idle()

    def close(self, timeout_s: float = 5.0) -> int:
        """Deliver what can be delivered within `timeout_s`, then stop; returns how many messages
        stay queued on disk for the next run."""
        with self._cond:
            self._closing = self.clock() + timeout_s
            self._wake = True
            self._cond.notify()
        if self._thread.is_alive():
            self._thread.join(timeout_s + self._timeout_slack())
        self.transport.close()
        return len(self.spool)

    # --- the thread ------------------------------------------------------------------------------

    def _timeout_slack(self) -> float:
        return 15.0  # one delivery in flight may run to its own deadline

    def _run(self) -> None:
        while True:
            try:
                wait = self._step()
            except Exception as exc:  # a bug or a full disk must not end this sink's deliveries
                log.exception("%s: a delivery round failed", self.label)
                wait = self._after_crash(exc)
            if wait is None:
                return
            with self._cond:
                # `_wake`: an offer or a close came since the step began; never sleep past it.
                if not self._wake and wait > 0:
                    self._cond.wait(wait)
                self._wake = False

    def _after_crash(self, exc: Exception) -> float | None:
        """Counted as a failed delivery (so the sink shows as failing), tried again after the
        backoff; None once the final flush's deadline has passed."""
        # Its type only: an unexpected error's text may hold the URL (the log has it whole).
        self._failed(DeliveryError(f"{self.label}: {type(exc).__name__} (see the log)"))
        now = self.clock()
        if self._closing is not None and now >= self._closing:
            return None
        wait = max(0.0, self._next_try - now)
        return wait if self._closing is None else min(wait, self._closing - now)

    def _step(self) -> float | None:
        """One round: take in the inbox, maybe deliver; the seconds to wait (None: stop)."""
        wait = self._round()
        if wait is not None and self._closing is not None:
            wait = max(0.0, min(wait, self._closing - self.clock()))  # never past the deadline
        return wait

    def _round(self) -> float | None:
        self._accept()
        now = self.clock()
        closing = self._closing
        if closing is not None and (len(self.spool) == 0 or now >= closing):
            return None
        head = self._head()
        if not head:
            return IDLE_WAIT_S if closing is None else 0.05
        if now < self._next_try:
            return self._next_try - now
        if closing is None:
            oldest = self._arrived.get(head[0].key, 0.0)
            if now - oldest < self.batch_s:
                return self.batch_s - (now - oldest)
            head = self._head()  # what arrived while the burst gathered
        wait = self.bucket.wait_s()
        if wait > 0:
            return wait
        self._deliver(head)  # takes a token when it went through: retries are paced by backoff
        return 0.0

    def _accept(self) -> None:
        with self._cond:
            taken = list(self._inbox)
            self._inbox.clear()
            self._busy = bool(taken)
        try:
            queued = self.spool.keys() if taken else set()
            for message in taken:
                if message.key in queued or self.ledger.told(message.key):
                    continue  # told before (by this process, or one before it)
                try:
                    self.ledger.tell(message.key, message.clears)
                    self.spool.append(message)
                except OSError as exc:
                    self._failed(DeliveryError(f"{self.label}: cannot queue on disk: {exc}"))
                    continue
                queued.add(message.key)
                self._arrived[message.key] = self.clock()
        finally:
            with self._cond:
                self._busy = False

    def _head(self) -> list[Message]:
        """The front of the spool: one message, or the burst about its rollout."""
        size = MAX_BATCH if self.transport.batches else 1
        front = self.spool.peek(size)
        if not front:
            return []
        burst = [front[0]]
        for m in front[1:]:
            if m.rollout != front[0].rollout:
                break
            burst.append(m)
        return burst

    def _deliver(self, head: list[Message]) -> None:
        with self._cond:
            self._busy = True
        try:
            self.transport.send(head)
        except DeliveryError as exc:
            if exc.refused:
                log.warning("%s", exc)
                self.refused += len(head)
                self.spool.drop_front(head)
                return
            self._failed(exc)
            return
        except MonotuiError as exc:  # the secret could not be read (a ConfigError)
            self._failed(DeliveryError(str(exc)))
            return
        finally:
            with self._cond:
                self._busy = False
        self.bucket.take()
        try:
            self.spool.drop_front(head)
        except OSError as exc:
            # Delivered, and off the queue in memory; the file keeps it, so a restart may send
            # it again (once too often is better than a courier that stops).
            log.warning("%s: cannot update the queue on disk: %s", self.label, literal(exc))
        for m in head:
            self._arrived.pop(m.key, None)
        self.sent += len(head)
        self.failures = 0
        self._next_try = 0.0
        if self.problem is not None:
            self.problem = None
            self._health(None)

    def _failed(self, exc: DeliveryError) -> None:
        self.failures += 1
        backoff = min(self.max_backoff_s, self.first_backoff_s * 2 ** (self.failures - 1))
        delay = backoff
        if exc.retry_after_s is not None:
            # The server's word, within reason: a proxy's "Retry-After: 86400" must not hold
            # every message back for a day while the sink looks fine.
            delay = min(exc.retry_after_s, MAX_RETRY_AFTER_S)
        self._next_try = self.clock() + delay
        if self.failures >= self.failing_after and self.problem is None:
            # Told once when it starts failing: a retry every few seconds is not news.
            queued = len(self.spool)
            lost = f", {self.dropped} dropped (queue full)" if self.dropped else ""
            self.problem = (
                f"{exc} ({self.failures} failures in a row; {queued} queued{lost}; "
                f"next try in {delay:.0f}s)"
            )
            self._health(self.problem)

    def _health(self, problem: str | None) -> None:
        if self.on_health is None:
            return
        try:
            self.on_health(self.label, problem)
        except Exception:  # the cockpit's bookkeeping must not stop the deliveries
            log.exception("%s: reporting its health failed", self.label)
