"""Runs the synchronous, CPU-bound search service off the event loop.

Decoding and inference take seconds. Running them in a small thread pool keeps
the event loop free, so commands such as /help are answered while searches
run, and the per-chat limit stops one chat from queueing many searches ahead
of everyone else.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from search.service import SearchService

T = TypeVar("T")


@dataclass
class SearchStats:
    """Counters since start-up, shown to admins by /stats."""

    started_at: float = field(default_factory=time.monotonic)
    searches: Counter[str] = field(default_factory=Counter)
    rejected: Counter[str] = field(default_factory=Counter)
    failures: int = 0
    total_ms: float = 0.0
    chats: set[int] = field(default_factory=set)

    def record(self, chat_id: int, kind: str, elapsed_ms: float) -> None:
        self.searches[kind] += 1
        self.total_ms += elapsed_ms
        self.chats.add(chat_id)


class SearchRunner:
    """The loaded search service, its worker pool and the searches each chat has in flight."""

    def __init__(self, service: SearchService, workers: int = 1, per_chat_limit: int = 1) -> None:
        self.service = service
        self.per_chat_limit = per_chat_limit
        self.stats = SearchStats()
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="saysee-search")
        self._in_flight: Counter[int] = Counter()

    async def run(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run `function(*args, **kwargs)` in the worker pool and await its result."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(function, *args, **kwargs))

    def try_acquire(self, chat_id: int) -> bool:
        """Reserve a search slot for the chat; False when the chat already has its limit in flight."""
        # No await between the check and the increment, so concurrent handlers cannot both pass.
        if self._in_flight[chat_id] >= self.per_chat_limit:
            return False
        self._in_flight[chat_id] += 1
        return True

    def release(self, chat_id: int) -> None:
        self._in_flight[chat_id] -= 1
        if self._in_flight[chat_id] <= 0:
            del self._in_flight[chat_id]

    @property
    def searches_in_flight(self) -> int:
        return sum(self._in_flight.values())

    def shutdown(self) -> None:
        # Queued searches are dropped; the running one finishes first, so the service can be closed after.
        self._executor.shutdown(wait=True, cancel_futures=True)
