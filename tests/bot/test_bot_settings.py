"""Settings from the environment, and how `python -m bot` exits when they are missing or invalid."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from bot.__main__ import main
from bot.settings import BotSettings, SettingsError

SETTING_NAMES = [
    "TELEGRAM_BOT_TOKEN",
    "TELEGRAM_API_BASE_URL",
    "TELEGRAM_FILE_BASE_URL",
    "SAYSEE_RESULTS_PER_REPLY",
    "SAYSEE_ALLOWED_CHATS",
    "SAYSEE_ADMIN_USERS",
    "SAYSEE_SEARCH_WORKERS",
    "SAYSEE_BOT_STATE",
    "SAYSEE_ENGINE",
    "SAYSEE_COLLECTION",
    "SAYSEE_SEED_WEIGHTS",
    "SAYSEE_DATA_DIR",
    "SAYSEE_MAX_AUDIO_SECONDS",
    "SAYSEE_MAX_IMAGE_PIXELS",
]


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in SETTING_NAMES:
        monkeypatch.delenv(name, raising=False)
    # main() reads .env from the working folder; an empty folder keeps a developer's .env out.
    monkeypatch.chdir(tmp_path)


def test_settings_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "1:abc")

    settings = BotSettings.from_env()

    assert settings.results_per_reply == 5
    assert settings.allowed_chats is None
    assert settings.admin_users == frozenset()
    assert settings.api_base_url is None
    assert settings.search.collection == "demo"


def test_settings_reads_every_value(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "1:abc")
    monkeypatch.setenv("TELEGRAM_API_BASE_URL", "http://127.0.0.1:8081/bot")
    monkeypatch.setenv("TELEGRAM_FILE_BASE_URL", "http://127.0.0.1:8081/file/bot")
    monkeypatch.setenv("SAYSEE_RESULTS_PER_REPLY", "3")
    monkeypatch.setenv("SAYSEE_ALLOWED_CHATS", "12, -1001234")
    monkeypatch.setenv("SAYSEE_ADMIN_USERS", "7")
    monkeypatch.setenv("SAYSEE_ENGINE", "cascade")
    monkeypatch.setenv("SAYSEE_COLLECTION", "holiday")
    monkeypatch.setenv("SAYSEE_DATA_DIR", str(tmp_path / "state"))

    settings = BotSettings.from_env()

    assert settings.api_base_url == "http://127.0.0.1:8081/bot"
    assert settings.file_base_url == "http://127.0.0.1:8081/file/bot"
    assert settings.results_per_reply == 3
    assert settings.allowed_chats == frozenset({12, -1001234})
    assert settings.admin_users == frozenset({7})
    assert settings.search.engine == "cascade"
    assert settings.search.collection == "holiday"
    assert settings.state_file == tmp_path / "state" / "bot_state.pickle"


def test_settings_state_file_override(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "1:abc")
    monkeypatch.setenv("SAYSEE_BOT_STATE", str(tmp_path / "chats.pickle"))

    assert BotSettings.from_env().state_file == tmp_path / "chats.pickle"


def test_settings_repr_hides_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "1:very-secret")

    assert "very-secret" not in repr(BotSettings.from_env())


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("SAYSEE_RESULTS_PER_REPLY", "0", "SAYSEE_RESULTS_PER_REPLY must be from 1 to 10, got 0."),
        ("SAYSEE_RESULTS_PER_REPLY", "five", "SAYSEE_RESULTS_PER_REPLY must be a whole number from 1 to 10"),
        ("SAYSEE_ALLOWED_CHATS", "12,abc", "SAYSEE_ALLOWED_CHATS must be a comma-separated list of chat ids"),
        ("SAYSEE_ADMIN_USERS", "x", "SAYSEE_ADMIN_USERS must be a comma-separated list of user ids"),
        ("SAYSEE_SEARCH_WORKERS", "9", "SAYSEE_SEARCH_WORKERS must be from 1 to 4, got 9."),
        ("SAYSEE_ENGINE", "turbo", "SAYSEE_ENGINE must be one of auto, cascade, seed, hybrid, got 'turbo'."),
        ("SAYSEE_SEED_WEIGHTS", "/nonexistent/weights", "SAYSEE_SEED_WEIGHTS must be a folder"),
        ("SAYSEE_MAX_AUDIO_SECONDS", "-5", "SAYSEE_MAX_AUDIO_SECONDS must be positive"),
        ("SAYSEE_MAX_AUDIO_SECONDS", "long", "SAYSEE_MAX_AUDIO_SECONDS must be a number"),
        ("TELEGRAM_API_BASE_URL", "127.0.0.1:8081", "TELEGRAM_API_BASE_URL must be an http:// or https:// URL"),
    ],
)
def test_settings_invalid_value_named(monkeypatch: pytest.MonkeyPatch, name: str, value: str, expected: str) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "1:abc")
    monkeypatch.setenv(name, value)

    with pytest.raises(SettingsError) as raised:
        BotSettings.from_env()

    assert expected in str(raised.value)


def test_main_without_token_exits(capsys: pytest.CaptureFixture[str]) -> None:
    code = main()

    error = capsys.readouterr().err
    assert code == 2
    assert "TELEGRAM_BOT_TOKEN is not set" in error
    assert "@BotFather" in error
    assert "saysee query --collection demo --audio FILE" in error


def test_main_invalid_setting_exits_2(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "1:abc")
    monkeypatch.setenv("SAYSEE_RESULTS_PER_REPLY", "50")

    code = main()

    assert code == 2
    assert "SAYSEE_RESULTS_PER_REPLY must be from 1 to 10, got 50." in capsys.readouterr().err


def test_main_reads_dotenv_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / ".env").write_text("TELEGRAM_BOT_TOKEN=1:abc\nSAYSEE_ENGINE=warp\n")

    try:
        code = main()
    finally:
        # load_dotenv writes into os.environ, which monkeypatch does not know about.
        os.environ.pop("TELEGRAM_BOT_TOKEN", None)
        os.environ.pop("SAYSEE_ENGINE", None)

    assert code == 2
    assert "SAYSEE_ENGINE must be one of" in capsys.readouterr().err


def test_logging_hides_request_urls() -> None:
    from bot.__main__ import configure_logging

    configure_logging()

    assert logging.getLogger("httpx").getEffectiveLevel() >= logging.WARNING
