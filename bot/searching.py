"""One search from a chat message to the bot's reply: download, query, send the results.

The handlers decide whether a message is addressed to the bot, and this
module does the work. It keeps the per-chat limit, removes temporary files and
writes one log line per search: chat id, kind, engine, timings and result
count, never the message text.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

from telegram import Bot, InputMediaPhoto, Message, ReplyParameters
from telegram.constants import ChatAction, ChatType
from telegram.error import BadRequest, TelegramError
from telegram.ext import ContextTypes

from bot import replies
from bot.media import Attachment, download, find_attachment
from bot.runner import SearchRunner
from bot.settings import BotSettings
from search.errors import SearchError
from search.results import Hit, QueryResult

logger = logging.getLogger(__name__)

# Telegram shows a chat action for 5 seconds, so it is repeated a little sooner while a search runs.
CHAT_ACTION_INTERVAL_SECONDS = 4.0


def get_runner(context: ContextTypes.DEFAULT_TYPE) -> SearchRunner:
    return context.bot_data["runner"]


def get_settings(context: ContextTypes.DEFAULT_TYPE) -> BotSettings:
    return context.bot_data["settings"]


def results_per_reply(context: ContextTypes.DEFAULT_TYPE) -> int:
    """Results per reply in this chat: its /top value, or the bot's default."""
    chat_data = context.chat_data if context.chat_data is not None else {}
    return chat_data.get("top_k", get_settings(context).results_per_reply)


def reply_parameters(message: Message) -> ReplyParameters | None:
    """Quote the searched message in groups, where several people may be searching at once."""
    if message.chat.type == ChatType.PRIVATE:
        return None
    return ReplyParameters(message_id=message.message_id, allow_sending_without_reply=True)


async def search_with_message(context: ContextTypes.DEFAULT_TYPE, target: Message) -> None:
    """Search with the voice note, audio, video note or picture in `target` and send the results."""
    attachment = find_attachment(target)
    if attachment is None:
        await context.bot.send_message(target.chat_id, replies.ACCEPTED_INPUT, reply_parameters=reply_parameters(target))
        return

    runner = get_runner(context)
    if attachment.file_size is not None and attachment.file_size > replies.MAX_DOWNLOAD_BYTES:
        runner.stats.rejected["too_large"] += 1
        logger.info("chat=%s kind=%s outcome=too_large size=%d", target.chat_id, attachment.source, attachment.file_size)
        await context.bot.send_message(
            target.chat_id, replies.file_too_large(attachment.file_size), reply_parameters=reply_parameters(target)
        )
        return

    async def work(timings: dict) -> None:
        action = ChatAction.UPLOAD_PHOTO if attachment.query_kind == "audio" else ChatAction.RECORD_VOICE
        async with _chat_action(context.bot, target.chat_id, action):
            # The context manager removes the downloaded query and converted voices, even after a failure.
            with tempfile.TemporaryDirectory(prefix="saysee-") as folder:
                started = time.perf_counter()
                try:
                    path = await download(attachment, Path(folder))
                except TelegramError as error:
                    logger.warning("chat=%s download of a %s failed: %s", target.chat_id, attachment.source, error)
                    timings["outcome"] = "download_failed"
                    # The Bot API answers "file is too big" when the message did not state the size.
                    too_big = isinstance(error, BadRequest) and "too big" in str(error).lower()
                    text = replies.FILE_TOO_BIG if too_big else replies.DOWNLOAD_FAILED
                    await context.bot.send_message(target.chat_id, text, reply_parameters=reply_parameters(target))
                    return
                timings["download"] = _elapsed_ms(started)
                await _query_and_reply(context, target, attachment, path, Path(folder), timings)

    await _run_search(context, target, attachment.source, work)


async def search_with_text(context: ContextTypes.DEFAULT_TYPE, target: Message, text: str) -> None:
    """Search pictures with typed text and send them."""

    async def work(timings: dict) -> None:
        async with _chat_action(context.bot, target.chat_id, ChatAction.UPLOAD_PHOTO):
            runner = get_runner(context)
            result = await runner.run(runner.service.query_text, text, kind="image", top_k=results_per_reply(context))
            _record_result(result, timings)
            await send_pictures(context.bot, target, result, timings)

    await _run_search(context, target, "text", work)


async def _query_and_reply(
    context: ContextTypes.DEFAULT_TYPE,
    target: Message,
    attachment: Attachment,
    path: Path,
    folder: Path,
    timings: dict,
) -> None:
    runner = get_runner(context)
    top_k = results_per_reply(context)
    if attachment.query_kind == "audio":
        result = await runner.run(runner.service.query_audio, path, kind="image", top_k=top_k)
        _record_result(result, timings)
        await send_pictures(context.bot, target, result, timings)
    else:
        result = await runner.run(runner.service.query_image, path, kind="speech", top_k=top_k)
        _record_result(result, timings)
        await send_voices(context.bot, runner, target, result, folder, timings)


async def send_pictures(bot: Bot, target: Message, result: QueryResult, timings: dict) -> None:
    """Send the confident picture hits as an album, a single photo, or a 'nothing matched' message."""
    started = time.perf_counter()
    hits = result.confident_results()
    timings["results"] = len(hits)
    reply_to = reply_parameters(target)
    if not hits:
        await bot.send_message(target.chat_id, replies.no_pictures(result), reply_parameters=reply_to)
    elif len(hits) == 1:
        hit = hits[0]
        await bot.send_photo(
            target.chat_id,
            photo=Path(hit.path).read_bytes(),
            filename=Path(hit.path).name,
            caption=replies.picture_caption(hit, replies.album_heading(result)),
            reply_parameters=reply_to,
        )
    else:
        heading = replies.album_heading(result)
        album = [
            InputMediaPhoto(
                media=Path(hit.path).read_bytes(),
                filename=Path(hit.path).name,
                caption=replies.picture_caption(hit, heading if index == 0 else ""),
            )
            for index, hit in enumerate(hits[: replies.MAX_ALBUM_ITEMS])
        ]
        await bot.send_media_group(target.chat_id, media=album, reply_parameters=reply_to)
    timings["send"] = _elapsed_ms(started)


async def send_voices(
    bot: Bot, runner: SearchRunner, target: Message, result: QueryResult, folder: Path, timings: dict
) -> None:
    """Send each confident spoken caption as a voice message, or a 'nothing matched' message."""
    started = time.perf_counter()
    hits = result.confident_results()
    timings["results"] = len(hits)
    reply_to = reply_parameters(target)
    if not hits:
        text = "\n".join([replies.NO_VOICES, *result.notes])
        await bot.send_message(target.chat_id, text, reply_parameters=reply_to)
        timings["send"] = _elapsed_ms(started)
        return

    heading = replies.album_heading(result)
    for index, hit in enumerate(hits):
        voice_path = await _voice_file(runner, hit, folder)
        await bot.send_voice(
            target.chat_id,
            voice=voice_path.read_bytes(),
            filename=voice_path.name,
            caption=replies.voice_caption(hit, heading if index == 0 else ""),
            reply_parameters=reply_to,
        )
    timings["send"] = _elapsed_ms(started)


async def _voice_file(runner: SearchRunner, hit: Hit, folder: Path) -> Path:
    """Return an OGG/Opus file for the hit, converting other audio formats in the worker pool."""
    source = Path(hit.path)
    if source.suffix.lower() == ".ogg":
        return source
    # Imported here so the bot still starts, and albums still work, if the encoder cannot be imported.
    from search.audio import encode_voice_ogg

    destination = folder / f"voice_{hit.rank}.ogg"
    await runner.run(encode_voice_ogg, source, destination)
    return destination


def _record_result(result: QueryResult, timings: dict) -> None:
    timings["engine"] = result.engine
    for stage, milliseconds in result.timings_ms.items():
        timings[stage] = round(milliseconds)


def _elapsed_ms(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)


async def _run_search(
    context: ContextTypes.DEFAULT_TYPE, target: Message, kind: str, work: Callable[[dict], Awaitable[None]]
) -> None:
    """Run `work` in the chat's search slot, reply to SearchError with its message, log one line."""
    runner = get_runner(context)
    chat_id = target.chat_id
    if not runner.try_acquire(chat_id):
        runner.stats.rejected["busy"] += 1
        logger.info("chat=%s kind=%s outcome=busy", chat_id, kind)
        await context.bot.send_message(chat_id, replies.BUSY, reply_parameters=reply_parameters(target))
        return

    # Stage timings in ms, filled in by `work` and the engine, plus the outcome and result count.
    timings: dict = {"outcome": "ok"}
    started = time.perf_counter()
    try:
        await work(timings)
    except SearchError as error:
        timings["outcome"] = type(error).__name__
        await context.bot.send_message(chat_id, str(error), reply_parameters=reply_parameters(target))
    except Exception:
        timings["outcome"] = "failed"
        runner.stats.failures += 1
        # The error handler logs the traceback and apologises to the chat.
        raise
    finally:
        runner.release(chat_id)
        total_ms = _elapsed_ms(started)
        if timings["outcome"] == "ok":
            runner.stats.record(chat_id, kind, total_ms)
        logger.info(
            "chat=%s kind=%s engine=%s outcome=%s results=%s total=%dms stages=%s",
            chat_id,
            kind,
            timings.pop("engine", getattr(runner.service, "engine_name", "unknown")),
            timings.pop("outcome"),
            timings.pop("results", 0),
            total_ms,
            ",".join(f"{stage}:{ms}ms" for stage, ms in timings.items()),
        )


@contextlib.asynccontextmanager
async def _chat_action(bot: Bot, chat_id: int, action: str) -> AsyncIterator[None]:
    """Show 'sending photo…' or 'recording voice…' in the chat until the block ends."""

    async def repeat() -> None:
        while True:
            try:
                await bot.send_chat_action(chat_id, action)
            except TelegramError as error:
                # A missing chat action is cosmetic; the search goes on.
                logger.debug("chat=%s chat action failed: %s", chat_id, error)
            await asyncio.sleep(CHAT_ACTION_INTERVAL_SECONDS)

    task = asyncio.create_task(repeat())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
