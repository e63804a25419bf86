"""Settings of the Telegram bot, read from the environment (and `.env`) once at start-up.

Every value is checked here, before any model is loaded, so a typo in a
setting stops the bot with a message naming the variable instead of failing
on the first message hours later.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from search.config import ENGINES, Settings

MIN_RESULTS_PER_REPLY = 1
# Telegram albums hold at most 10 pictures.
MAX_RESULTS_PER_REPLY = 10
DEFAULT_RESULTS_PER_REPLY = 5
MAX_SEARCH_WORKERS = 4

MISSING_TOKEN_MESSAGE = (
    "TELEGRAM_BOT_TOKEN is not set. Create a bot by talking to @BotFather in Telegram "
    "(send /newbot), then put the token it gives you in TELEGRAM_BOT_TOKEN, in the "
    "environment or in a .env file (see .env.example).\n"
    "To try the search engine without Telegram, run:\n"
    "  saysee query --collection demo --audio FILE"
)

# Search settings whose error messages from `Settings.validate` name the field, not the variable.
_SEARCH_FIELD_VARIABLES = {
    "engine": "SAYSEE_ENGINE",
    "max_audio_seconds": "SAYSEE_MAX_AUDIO_SECONDS",
    "max_image_pixels": "SAYSEE_MAX_IMAGE_PIXELS",
    "threads": "SAYSEE_THREADS",
}


class SettingsError(ValueError):
    """A setting is missing or invalid; the message names the variable and the fix."""


@dataclass(frozen=True)
class BotSettings:
    """Everything the bot needs to start: the Bot API connection, chat rules and the search settings."""

    token: str
    search: Settings
    api_base_url: str | None = None
    file_base_url: str | None = None
    results_per_reply: int = DEFAULT_RESULTS_PER_REPLY
    # None lets every chat use the bot.
    allowed_chats: frozenset[int] | None = None
    admin_users: frozenset[int] = frozenset()
    search_workers: int = 1
    # None keeps the per-chat settings in bot_state.pickle in the data folder.
    state_path: Path | None = None

    @property
    def state_file(self) -> Path:
        """Pickle file with the per-chat settings (/top values)."""
        return self.state_path or self.search.data_dir / "bot_state.pickle"

    def __repr__(self) -> str:
        # The token must never reach a log line, even through a debug print of the settings.
        return (
            f"BotSettings(token=<hidden>, search={self.search!r}, api_base_url={self.api_base_url!r}, "
            f"file_base_url={self.file_base_url!r}, results_per_reply={self.results_per_reply}, "
            f"allowed_chats={self.allowed_chats!r}, admin_users={self.admin_users!r}, "
            f"search_workers={self.search_workers}, state_path={self.state_path!r})"
        )

    @classmethod
    def from_env(cls) -> "BotSettings":
        """Read and check every setting; raise `SettingsError` naming the first bad variable."""
        env = os.environ

        token = env.get("TELEGRAM_BOT_TOKEN", "").strip()
        if not token:
            raise SettingsError(MISSING_TOKEN_MESSAGE)

        return cls(
            token=token,
            search=_read_search_settings(env),
            api_base_url=_read_url(env, "TELEGRAM_API_BASE_URL"),
            file_base_url=_read_url(env, "TELEGRAM_FILE_BASE_URL"),
            results_per_reply=_read_int(
                env, "SAYSEE_RESULTS_PER_REPLY", DEFAULT_RESULTS_PER_REPLY, MIN_RESULTS_PER_REPLY, MAX_RESULTS_PER_REPLY
            ),
            allowed_chats=_read_ids(env, "SAYSEE_ALLOWED_CHATS", "chat ids"),
            admin_users=_read_ids(env, "SAYSEE_ADMIN_USERS", "user ids") or frozenset(),
            search_workers=_read_int(env, "SAYSEE_SEARCH_WORKERS", 1, 1, MAX_SEARCH_WORKERS),
            state_path=_read_path(env, "SAYSEE_BOT_STATE"),
        )


def _read_url(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name, "").strip()
    if not value:
        return None
    if not value.startswith(("http://", "https://")):
        raise SettingsError(f"{name} must be an http:// or https:// URL, got {value!r}.")
    return value


def _read_path(env: Mapping[str, str], name: str) -> Path | None:
    value = env.get(name, "").strip()
    return Path(value).expanduser() if value else None


def _read_int(env: Mapping[str, str], name: str, default: int, minimum: int, maximum: int) -> int:
    value = env.get(name, "").strip()
    if not value:
        return default
    try:
        number = int(value)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number from {minimum} to {maximum}, got {value!r}.") from None
    if not minimum <= number <= maximum:
        raise SettingsError(f"{name} must be from {minimum} to {maximum}, got {number}.")
    return number


def _read_ids(env: Mapping[str, str], name: str, id_kind: str) -> frozenset[int] | None:
    value = env.get(name, "").strip()
    if not value:
        return None
    ids = set()
    for part in value.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            ids.add(int(part))
        except ValueError:
            raise SettingsError(
                f"{name} must be a comma-separated list of {id_kind} (whole numbers), got {part!r}."
            ) from None
    return frozenset(ids)


def _read_search_settings(env: Mapping[str, str]) -> Settings:
    engine = env.get("SAYSEE_ENGINE", "").strip()
    if engine and engine not in ENGINES:
        raise SettingsError(f"SAYSEE_ENGINE must be one of {', '.join(ENGINES)}, got {engine!r}.")

    seed_weights = env.get("SAYSEE_SEED_WEIGHTS", "").strip()
    if seed_weights and not Path(seed_weights).expanduser().is_dir():
        raise SettingsError(
            f"SAYSEE_SEED_WEIGHTS must be a folder containing audio_encoder_weights.pt and "
            f"image_encoder_weights.pt, but {seed_weights!r} is not a folder."
        )

    try:
        return Settings.from_env()
    except ValueError as error:
        message = str(error)
        for field_name, variable in _SEARCH_FIELD_VARIABLES.items():
            if message.startswith(field_name + " "):
                message = variable + message[len(field_name) :]
        raise SettingsError(f"Invalid search setting: {message}.") from None
