"""Finding the searchable file in a message and downloading it from the Bot API.

A message can carry its query in several places (voice, audio, video note,
photo, document). This module maps each to one `Attachment` with a query kind,
so the handlers never look at message fields themselves.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path

from telegram import Audio, Document, Message, PhotoSize, VideoNote, Voice
from telegram.error import BadRequest, NetworkError

logger = logging.getLogger(__name__)

AUDIO_SUFFIXES = {".ogg", ".oga", ".opus", ".mp3", ".m4a", ".wav", ".flac"}
IMAGE_MIME_SUFFIXES = {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp"}
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp"}

DOWNLOAD_TIMEOUT_SECONDS = 60.0
DOWNLOAD_ATTEMPTS = 3
DOWNLOAD_BACKOFF_SECONDS = 1.0


@dataclass(frozen=True)
class Attachment:
    """The file in a message that the bot searches with."""

    # "audio" searches pictures, "image" searches spoken captions.
    query_kind: str
    # Message field that carried the file: voice, audio, video_note, photo or document.
    source: str
    media: Voice | Audio | VideoNote | PhotoSize | Document
    suffix: str

    @property
    def file_size(self) -> int | None:
        return self.media.file_size


def find_attachment(message: Message) -> Attachment | None:
    """Return the searchable file of the message, or None when it carries none the bot accepts."""
    if message.voice:
        return Attachment("audio", "voice", message.voice, ".ogg")
    if message.audio:
        return Attachment("audio", "audio", message.audio, _audio_suffix(message.audio.mime_type, message.audio.file_name))
    if message.video_note:
        return Attachment("audio", "video_note", message.video_note, ".mp4")
    if message.photo:
        # Telegram lists the sizes of one photo from smallest to largest.
        return Attachment("image", "photo", message.photo[-1], ".jpg")
    if message.document:
        return _document_attachment(message.document)
    return None


def _document_attachment(document: Document) -> Attachment | None:
    mime_type = (document.mime_type or "").lower()
    suffix = Path(document.file_name or "").suffix.lower()
    if mime_type in IMAGE_MIME_SUFFIXES:
        return Attachment("image", "document", document, IMAGE_MIME_SUFFIXES[mime_type])
    if suffix in IMAGE_SUFFIXES and not mime_type.startswith("audio/"):
        return Attachment("image", "document", document, suffix)
    if mime_type.startswith("audio/") or suffix in AUDIO_SUFFIXES:
        return Attachment("audio", "document", document, _audio_suffix(mime_type, document.file_name))
    return None


def _audio_suffix(mime_type: str | None, file_name: str | None) -> str:
    suffix = Path(file_name or "").suffix.lower()
    if suffix in AUDIO_SUFFIXES:
        return suffix
    by_mime = {"audio/mpeg": ".mp3", "audio/ogg": ".ogg", "audio/wav": ".wav", "audio/x-wav": ".wav", "audio/mp4": ".m4a"}
    return by_mime.get((mime_type or "").lower(), ".audio")


async def download(attachment: Attachment, folder: Path) -> Path:
    """Download the attachment into `folder`, retrying network failures with back-off.

    Raises `telegram.error.TelegramError` when every attempt failed, and `BadRequest` at once,
    because the Bot API rejected the file itself (for example, a file over its 20 MB limit).
    """
    destination = folder / f"query{attachment.suffix}"
    # getFile goes through the bot's rate limiter, which already retries network failures.
    telegram_file = await attachment.media.get_file(read_timeout=DOWNLOAD_TIMEOUT_SECONDS)
    for attempt in range(1, DOWNLOAD_ATTEMPTS + 1):
        try:
            await telegram_file.download_to_drive(
                destination, read_timeout=DOWNLOAD_TIMEOUT_SECONDS, connect_timeout=10.0
            )
            return destination
        except BadRequest:
            raise
        except NetworkError as error:
            if attempt == DOWNLOAD_ATTEMPTS:
                raise
            delay = DOWNLOAD_BACKOFF_SECONDS * 2 ** (attempt - 1)
            logger.warning(
                "Download of a %s failed (attempt %d of %d: %s); retrying in %.1f s",
                attachment.source,
                attempt,
                DOWNLOAD_ATTEMPTS,
                error,
                delay,
            )
            await asyncio.sleep(delay)
    raise AssertionError("unreachable: the last attempt returns or raises")
