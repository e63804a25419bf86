"""The whole bot in one place: which handler answers which update, and how the application starts.

`python -m bot` and the tests build the application with the same
`build_application`, so the tests exercise exactly what runs in production.
"""

from __future__ import annotations

import asyncio
import logging
import time

from telegram import BotCommand, Message
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CommandHandler,
    MessageHandler,
    PersistenceInput,
    PicklePersistence,
    filters,
)

from bot import handlers
from bot.media import find_attachment
from bot.retry import RetryingRateLimiter
from bot.runner import SearchRunner
from bot.settings import BotSettings
from search.service import SearchService

logger = logging.getLogger(__name__)

COMMANDS = [
    BotCommand("start", "What this bot does"),
    BotCommand("help", "How to search, also in groups"),
    BotCommand("about", "Engine, collection and model versions"),
    BotCommand("top", "Results per reply in this chat, e.g. /top 3"),
    BotCommand("find", "Reply to a voice note or photo to search with it"),
]


class _HasSearchableFile(filters.MessageFilter):
    """Messages with a voice note, audio, video note or picture the bot can search with."""

    def filter(self, message: Message) -> bool:
        return find_attachment(message) is not None


class _RepliesToBot(filters.MessageFilter):
    """Messages that reply to one of the bot's own messages."""

    def filter(self, message: Message) -> bool:
        replied = message.reply_to_message
        return bool(replied and replied.from_user and replied.from_user.id == message.get_bot().id)


def build_application(settings: BotSettings, service: SearchService | None = None) -> Application:
    """Build the bot; without `service`, the search engine is loaded in `post_init`, before polling starts."""
    settings.state_file.parent.mkdir(parents=True, exist_ok=True)
    builder = (
        ApplicationBuilder()
        .token(settings.token)
        # Searches wait in the worker pool, so other updates (such as /help) are handled meanwhile.
        .concurrent_updates(True)
        .rate_limiter(RetryingRateLimiter(max_retries=3))
        .persistence(
            PicklePersistence(
                settings.state_file,
                store_data=PersistenceInput(bot_data=False, chat_data=True, user_data=False, callback_data=False),
            )
        )
        .media_write_timeout(60.0)
        .post_init(_post_init)
        .post_shutdown(_post_shutdown)
    )
    if settings.api_base_url:
        builder = builder.base_url(settings.api_base_url)
    if settings.file_base_url:
        builder = builder.base_file_url(settings.file_base_url)
    application = builder.build()
    application.bot_data["settings"] = settings
    application.bot_data["service"] = service

    # With privacy mode on, a group shows the bot only commands and replies to it. With it off, the
    # bot receives every group message, so this filter keeps the bot to messages addressed to it.
    addressed = filters.ChatType.PRIVATE | (filters.ChatType.GROUPS & _RepliesToBot())
    new_messages = filters.UpdateType.MESSAGE

    if settings.allowed_chats is not None:
        # Group -1 runs before the others, and refuse_chat stops the update there.
        application.add_handler(
            MessageHandler(~filters.Chat(chat_id=settings.allowed_chats), handlers.refuse_chat), group=-1
        )

    application.add_handler(CommandHandler("start", handlers.start))
    application.add_handler(CommandHandler("help", handlers.help_command))
    application.add_handler(CommandHandler("about", handlers.about))
    application.add_handler(CommandHandler("top", handlers.top))
    application.add_handler(CommandHandler("stats", handlers.stats))
    application.add_handler(CommandHandler("find", handlers.find))
    application.add_handler(MessageHandler(new_messages & addressed & _HasSearchableFile(), handlers.search_media))
    application.add_handler(
        MessageHandler(new_messages & filters.ChatType.PRIVATE & filters.TEXT & ~filters.COMMAND, handlers.search_text)
    )
    application.add_handler(
        MessageHandler(new_messages & addressed & ~filters.COMMAND & ~filters.StatusUpdate.ALL, handlers.unsupported)
    )
    application.add_handler(MessageHandler(filters.COMMAND & filters.ChatType.PRIVATE, handlers.unknown_command))
    # Group 1 runs after the command's handler; searches write their own, longer log line.
    application.add_handler(MessageHandler(filters.COMMAND, handlers.log_command), group=1)
    application.add_error_handler(handlers.on_error)
    return application


async def _post_init(application: Application) -> None:
    """Load the search engine (unless one was given), start the worker pool and register the commands."""
    settings: BotSettings = application.bot_data["settings"]
    service = application.bot_data.pop("service")
    if service is None:
        started = time.perf_counter()
        logger.info(
            "Loading engine %s for collection %s from %s",
            settings.search.engine,
            settings.search.collection,
            settings.search.data_dir,
        )
        service = await asyncio.to_thread(SearchService.open, settings.search, True)
        # A service the bot opened itself is closed at shutdown; one passed in belongs to the caller.
        application.bot_data["close_service"] = True
        logger.info(
            "Loaded engine %s for collection %s in %.1f s",
            service.engine_name,
            service.collection,
            time.perf_counter() - started,
        )
    runner = SearchRunner(service, workers=settings.search_workers)
    application.bot_data["runner"] = runner
    info = await runner.run(service.info)
    counts = info.get("collections", {}).get(service.collection, {})
    logger.info(
        "Collection %s: %s pictures, %s spoken captions; models: %s",
        service.collection,
        counts.get("image", "?"),
        counts.get("speech", "?"),
        ", ".join(f"{role} {version}" for role, version in info.get("models", {}).items()) or "none listed",
    )
    await application.bot.set_my_commands(COMMANDS)
    logger.info("Bot @%s is ready", application.bot.username)


async def _post_shutdown(application: Application) -> None:
    runner: SearchRunner | None = application.bot_data.get("runner")
    if runner is None:
        return
    runner.shutdown()
    if application.bot_data.get("close_service"):
        runner.service.close()
