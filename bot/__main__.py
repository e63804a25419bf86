"""Entry point of `python -m bot` and `saysee-bot`: read settings, load the engine, poll Telegram."""

from __future__ import annotations

import logging
import sys

from dotenv import find_dotenv, load_dotenv
from telegram import Update

from bot.app import build_application
from bot.settings import BotSettings, SettingsError
from search.errors import SearchError

# Exit codes: 2 for a missing or invalid setting, 1 when the search engine cannot be opened.
EXIT_SETTINGS = 2
EXIT_ENGINE = 1


def configure_logging() -> None:
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=logging.INFO)
    # httpx logs every request URL at INFO, and Bot API URLs contain the bot token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)


def main() -> int:
    """Start the bot with long polling; return the exit code when it stops."""
    # The .env of the working folder (or a folder above it) is read; variables already set win.
    load_dotenv(find_dotenv(usecwd=True), override=False)
    configure_logging()
    try:
        settings = BotSettings.from_env()
    except SettingsError as error:
        print(error, file=sys.stderr)
        return EXIT_SETTINGS

    application = build_application(settings)
    try:
        application.run_polling(allowed_updates=[Update.MESSAGE])
    except SearchError as error:
        logging.getLogger(__name__).error("Could not open the search engine: %s", error)
        return EXIT_ENGINE
    return 0


if __name__ == "__main__":
    sys.exit(main())
