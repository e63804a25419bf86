"""Update handlers: one short coroutine per command or kind of message.

Which handler sees which update is decided by the filters in
`bot.app.build_application`; the search work itself lives in `bot.searching`.
"""

from __future__ import annotations

import logging
import time

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import ApplicationHandlerStop, ContextTypes

from bot import replies
from bot.searching import get_runner, get_settings, reply_parameters, results_per_reply, search_with_message, search_with_text
from bot.settings import MAX_RESULTS_PER_REPLY, MIN_RESULTS_PER_REPLY

logger = logging.getLogger(__name__)


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Greet the user and say what to send."""
    await update.effective_message.reply_text(replies.START)


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Explain what the bot searches, its commands and how to use it in groups."""
    await update.effective_message.reply_text(replies.HELP)


async def about(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Show the engine, the collection's item counts and the model versions."""
    runner = get_runner(context)
    info = await runner.run(runner.service.info)
    await update.effective_message.reply_text(replies.about(info))


async def top(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Set or show how many results this chat gets per reply (kept across restarts)."""
    message = update.effective_message
    if len(context.args) != 1 or not context.args[0].isdigit():
        await message.reply_text(replies.top_usage(results_per_reply(context), MIN_RESULTS_PER_REPLY, MAX_RESULTS_PER_REPLY))
        return
    value = int(context.args[0])
    if not MIN_RESULTS_PER_REPLY <= value <= MAX_RESULTS_PER_REPLY:
        await message.reply_text(replies.top_usage(results_per_reply(context), MIN_RESULTS_PER_REPLY, MAX_RESULTS_PER_REPLY))
        return
    context.chat_data["top_k"] = value
    await message.reply_text(replies.top_set(value))


async def stats(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Show admins the searches served, rejected and failed since start-up."""
    user = update.effective_user
    if user is None or user.id not in get_settings(context).admin_users:
        await update.effective_message.reply_text(replies.ADMIN_ONLY)
        return
    runner = get_runner(context)
    await update.effective_message.reply_text(
        replies.stats(runner.stats, time.monotonic(), runner.searches_in_flight)
    )


async def find(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Search with the message that /find replies to."""
    message = update.effective_message
    if message.reply_to_message is None:
        await message.reply_text(replies.FIND_USAGE)
        return
    await search_with_message(context, message.reply_to_message)


async def search_media(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Search with the voice note, audio, video note or picture in the message."""
    await search_with_message(context, update.effective_message)


async def search_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Search pictures with the typed text of a private message."""
    message = update.effective_message
    await search_with_text(context, message, message.text)


async def unsupported(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Say in one sentence what the bot accepts (stickers, videos, other documents)."""
    message = update.effective_message
    logger.info("chat=%s kind=unsupported outcome=accepted_input_sent", message.chat_id)
    await message.reply_text(replies.ACCEPTED_INPUT, reply_parameters=reply_parameters(message))


async def log_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Write the log line of a handled command: chat id and command name, never its arguments."""
    message = update.effective_message
    name = message.text.split()[0].split("@")[0] if message and message.text else "?"
    logger.info("chat=%s kind=command command=%s", update.effective_chat.id, name)


async def unknown_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Point to /help when a private chat sends a command the bot does not have."""
    await update.effective_message.reply_text(replies.UNKNOWN_COMMAND)


async def refuse_chat(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Reject a chat outside the allow-list with one message, then ignore it; stops all other handlers."""
    chat = update.effective_chat
    refused = context.bot_data.setdefault("refused_chats", set())
    if chat is not None and chat.id not in refused:
        refused.add(chat.id)
        logger.info("chat=%s outcome=not_allowed", chat.id)
        await context.bot.send_message(chat.id, replies.NOT_ALLOWED)
    raise ApplicationHandlerStop


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log the cause of a failed update and apologise to the chat, so the user never gets silence."""
    chat = update.effective_chat if isinstance(update, Update) else None
    logger.error(
        "Update %s in chat %s failed",
        update.update_id if isinstance(update, Update) else None,
        chat.id if chat else None,
        exc_info=context.error,
    )
    if chat is None:
        return
    try:
        await context.bot.send_message(chat.id, replies.APOLOGY)
    except TelegramError as error:
        logger.error("Could not send the apology to chat %s: %s", chat.id, error)
