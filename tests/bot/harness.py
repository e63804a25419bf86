"""Starting and stopping the real bot application against the fake Bot API, as `run_polling` would.

`Application.run_polling` owns the event loop and blocks, so tests and the
benchmark run the same steps one by one inside their own loop.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from telegram import Update
from telegram.ext import Application

from bot.app import build_application
from bot.settings import BotSettings
from fake_bot_api import FakeBotAPI
from search.config import Settings


def bot_settings(api: FakeBotAPI, data_dir: Path, **overrides: Any) -> BotSettings:
    """Settings that point the bot at the fake server, with per-chat state kept in `data_dir`."""
    values: dict[str, Any] = {
        "token": api.token,
        "search": Settings(data_dir=data_dir),
        "api_base_url": api.base_url,
        "file_base_url": api.file_base_url,
    }
    values.update(overrides)
    return BotSettings(**values)


async def start_bot(settings: BotSettings, service: Any) -> Application:
    """Build the application with `build_application` and start polling, in run_polling's order."""
    application = build_application(settings, service)
    await application.initialize()
    await application.post_init(application)
    # A short long-poll timeout keeps shutdown quick.
    await application.updater.start_polling(poll_interval=0.0, timeout=1, allowed_updates=[Update.MESSAGE])
    await application.start()
    return application


async def stop_bot(application: Application) -> None:
    """Stop polling and shut down in run_polling's order (this also flushes the persistence file)."""
    if application.updater.running:
        await application.updater.stop()
    if application.running:
        await application.stop()
    await application.shutdown()
    await application.post_shutdown(application)
