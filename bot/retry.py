"""A rate limiter that also retries network failures, so a brief outage does not lose a reply.

`AIORateLimiter` keeps the bot under Telegram's flood limits and retries
`RetryAfter` (HTTP 429). Timeouts and connection errors it passes straight on;
this subclass retries those with exponential back-off. Every Bot API call
except getUpdates (which the updater already retries) goes through it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from telegram.error import BadRequest, NetworkError
from telegram.ext import AIORateLimiter

logger = logging.getLogger(__name__)


class RetryingRateLimiter(AIORateLimiter):
    """`AIORateLimiter` that retries network errors and timeouts with exponential back-off."""

    def __init__(self, *, network_retries: int = 3, backoff_seconds: float = 0.5, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.network_retries = network_retries
        self.backoff_seconds = backoff_seconds

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        retries = 0 if endpoint == "getUpdates" else self.network_retries
        for attempt in range(retries + 1):
            try:
                return await super().process_request(callback, args, kwargs, endpoint, data, rate_limit_args)
            except BadRequest:
                # python-telegram-bot derives BadRequest from NetworkError, but a rejected request fails again.
                raise
            except NetworkError as error:
                # NOTE: after a timeout Telegram may already have delivered the message, so a retried
                # send can show up twice. A lost reply is the worse outcome for a search bot.
                if attempt == retries:
                    raise
                delay = self.backoff_seconds * 2**attempt
                logger.warning(
                    "%s failed (attempt %d of %d: %s); retrying in %.1f s",
                    endpoint,
                    attempt + 1,
                    retries + 1,
                    error,
                    delay,
                )
                await asyncio.sleep(delay)
        raise AssertionError("unreachable: the last attempt returns or raises")
