"""Fixtures for bot tests: the fake Bot API server, the stand-in service and a running bot."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from telegram.ext import Application

from fake_bot_api import FakeBotAPI
from harness import bot_settings, start_bot, stop_bot
from stand_in_service import StandInService

REPO_ROOT = Path(__file__).resolve().parents[2]
TELEGRAM_FIXTURES = REPO_ROOT / ".." / "shared" / "fixtures" / "telegram"


@pytest.fixture
def fake_api() -> Iterator[FakeBotAPI]:
    api = FakeBotAPI().start()
    yield api
    api.stop()


@pytest.fixture
def stand_in(tmp_path: Path) -> StandInService:
    folder = tmp_path / "collection"
    folder.mkdir()
    return StandInService(folder)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
async def launch(fake_api: FakeBotAPI, data_dir: Path) -> AsyncIterator[Callable[..., Awaitable[Application]]]:
    """Start the real bot against the fake server; every bot started is stopped at teardown."""
    started: list[Application] = []

    async def launch_bot(service: Any, **overrides: Any) -> Application:
        application = await start_bot(bot_settings(fake_api, data_dir, **overrides), service)
        started.append(application)
        return application

    yield launch_bot
    for application in started:
        if application.running or application.updater.running:
            await stop_bot(application)


@pytest.fixture
def telegram_fixtures() -> Path:
    if not TELEGRAM_FIXTURES.is_dir():
        pytest.skip(f"Telegram fixture files not found in {TELEGRAM_FIXTURES.resolve()}")
    return TELEGRAM_FIXTURES
