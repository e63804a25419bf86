"""Every sentence the bot sends, in one place, so wording stays consistent and tests can import it."""

from __future__ import annotations

from bot.runner import SearchStats
from search.results import Hit, QueryResult

# Bot API limits (https://core.telegram.org/bots/api): media captions and message text.
MAX_CAPTION_CHARS = 1024
MAX_MESSAGE_CHARS = 4096
# Bots may download files up to 20 MB through getFile.
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024
# sendMediaGroup takes 2 to 10 items.
MAX_ALBUM_ITEMS = 10

START = (
    "Hi! Send me a voice note and I will find pictures that match what you say. "
    "Send me a photo and I will answer with spoken captions that describe it.\n"
    "/help explains the rest."
)

HELP = (
    "What I do:\n"
    "• Voice note, audio file or round video message: I send the pictures that match what you said.\n"
    "• Photo, or a JPEG, PNG or WebP image sent as a file: I send the spoken captions that describe it, "
    "as voice messages.\n"
    "• Typed text (private chats only): I search pictures by text.\n"
    "\n"
    "Commands:\n"
    "/top N sets how many results I send in this chat (1 to 10).\n"
    "/about shows the engine, the collection and the model versions.\n"
    "/find, sent as a reply to a voice note or photo, searches with that message.\n"
    "\n"
    "In groups I only see commands and replies to my own messages. Reply to a voice note or photo with "
    "/find, or reply to one of my messages with a voice note or photo. I do not answer anything else "
    "in a group."
)

ACCEPTED_INPUT = (
    "I can search with voice notes, audio files, round video messages, photos and images sent as files "
    "(JPEG, PNG, WebP); in a private chat, typed text works too."
)

BUSY = "I am still working on your last search. Please send the next one when I have answered."

NOT_ALLOWED = "Sorry, this bot is private and does not answer in this chat."

APOLOGY = "Sorry, something went wrong on my side while handling that. Please try again in a moment."

DOWNLOAD_FAILED = "I could not download that file from Telegram. Please send it again."

FILE_TOO_BIG = (
    "That file is over 20 MB, the largest file bots can download. "
    "Please send a shorter recording or a smaller picture."
)

UNKNOWN_COMMAND = "I do not know that command. /help lists what I can do."

FIND_USAGE = "Reply to a voice note or a photo with /find, and I will search with that message."

ADMIN_ONLY = "/stats is only available to the bot's admins."

NO_VOICES = (
    "No spoken caption in the collection matches this picture closely enough. "
    "Try a photo with one clear subject."
)


def file_too_large(size_bytes: int) -> str:
    return (
        f"That file is {size_bytes / (1024 * 1024):.1f} MB, but bots can only download files up to "
        f"{MAX_DOWNLOAD_BYTES // (1024 * 1024)} MB. Please send a shorter recording or a smaller picture."
    )


def top_usage(current: int, minimum: int, maximum: int) -> str:
    return f"Use /top N to set how many results I send in this chat, from {minimum} to {maximum}. Now: {current}."


def top_set(value: int) -> str:
    return f"From now on I will send up to {value} results in this chat."


def no_pictures(result: QueryResult) -> str:
    """Explain that nothing cleared the confidence floor, instead of sending unrelated pictures."""
    if result.heard:
        opening = f"I heard “{result.heard}”, but no picture in the collection matches it closely enough."
    elif result.query.get("text"):
        opening = "No picture in the collection matches that text closely enough."
    else:
        opening = "No picture in the collection matches that closely enough."
    lines = [opening, *result.notes, "Try rephrasing: name the main thing, its colour or where it is."]
    return _truncate("\n".join(lines), MAX_MESSAGE_CHARS)


def album_heading(result: QueryResult) -> str:
    """First lines of an album's first caption: what was heard and any notes from the engine."""
    lines = []
    if result.heard:
        lines.append(f"Heard: “{result.heard}”")
    lines.extend(result.notes)
    return "\n".join(lines)


def picture_caption(hit: Hit, heading: str = "") -> str:
    return _with_heading(f"{hit.rank}. {hit.caption or hit.transcript or 'Picture ' + str(hit.item_id)}", heading)


def voice_caption(hit: Hit, heading: str = "") -> str:
    return _with_heading(f"{hit.rank}. {hit.transcript or hit.caption or 'Spoken caption ' + str(hit.item_id)}", heading)


def about(info: dict) -> str:
    lines = [f"Engine: {info.get('engine', 'unknown')}"]
    for name, counts in sorted(info.get("collections", {}).items()):
        lines.append(
            f"Collection “{name}”: {counts.get('image', 0)} pictures, {counts.get('speech', 0)} spoken captions"
        )
    models = info.get("models", {})
    if models:
        lines.append("Models:")
        lines.extend(f"• {role}: {version}" for role, version in sorted(models.items()))
    return _truncate("\n".join(lines), MAX_MESSAGE_CHARS)


def stats(search_stats: SearchStats, now: float, in_flight: int) -> str:
    served = sum(search_stats.searches.values())
    mean_ms = search_stats.total_ms / served if served else 0.0
    by_kind = ", ".join(f"{kind} {count}" for kind, count in sorted(search_stats.searches.items())) or "none"
    rejected = ", ".join(f"{reason} {count}" for reason, count in sorted(search_stats.rejected.items())) or "none"
    return (
        f"Up for {(now - search_stats.started_at) / 3600:.1f} h.\n"
        f"Searches answered: {served} ({by_kind}), mean {mean_ms / 1000:.1f} s each.\n"
        f"Chats served: {len(search_stats.chats)}.\n"
        f"Rejected: {rejected}.\n"
        f"Failed: {search_stats.failures}.\n"
        f"In flight now: {in_flight}."
    )


def _with_heading(line: str, heading: str) -> str:
    # The heading is cut first, so the rank and caption of the item always show.
    room = MAX_CAPTION_CHARS - len(line) - 2
    if not heading or room <= 0:
        return _truncate(line, MAX_CAPTION_CHARS)
    return _truncate(heading, room) + "\n\n" + line


def _truncate(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[: max(limit - 1, 0)] + "…"
