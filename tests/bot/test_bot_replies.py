"""Reply texts: caption limits, headings and the attachment each message kind maps to."""

from __future__ import annotations

from telegram import Message

from bot import replies
from bot.media import find_attachment
from search.results import Hit, QueryResult


def hit(rank: int = 1, caption: str | None = "A dog.", transcript: str | None = None) -> Hit:
    return Hit(rank=rank, item_id=7, kind="image", path="/x.jpg", score=0.8, caption=caption, transcript=transcript)


def result(heard: str | None = "a dog", notes: list[str] | None = None, text: str | None = None) -> QueryResult:
    query = {"type": "text", "text": text} if text else {"type": "audio"}
    return QueryResult(engine="cascade", collection="demo", query=query, heard=heard, results=[], notes=notes or [])


def test_caption_long_heading_keeps_rank() -> None:
    caption = replies.picture_caption(hit(), "Heard: " + "word " * 400)

    assert len(caption) <= replies.MAX_CAPTION_CHARS
    assert caption.endswith("\n\n1. A dog.")
    assert "…" in caption


def test_caption_falls_back_to_item_id() -> None:
    assert replies.picture_caption(hit(caption=None)) == "1. Picture 7"


def test_voice_caption_prefers_transcript() -> None:
    assert replies.voice_caption(hit(caption="A dog.", transcript="a dog barks")) == "1. a dog barks"


def test_heading_lists_heard_and_notes() -> None:
    heading = replies.album_heading(result(notes=["Only the first 30 s were searched."]))

    assert heading == "Heard: “a dog”\nOnly the first 30 s were searched."


def test_no_pictures_without_transcript() -> None:
    text = replies.no_pictures(result(heard=None))

    assert text.startswith("No picture in the collection matches that closely enough.")


def test_no_pictures_for_text_query() -> None:
    text = replies.no_pictures(result(heard=None, text="zebra"))

    assert text.startswith("No picture in the collection matches that text closely enough.")


def test_file_too_large_states_sizes() -> None:
    text = replies.file_too_large(21 * 1024 * 1024)

    assert text.startswith("That file is 21.0 MB, but bots can only download files up to 20 MB.")


def message_with(**fields: object) -> Message:
    data = {"message_id": 1, "date": 0, "chat": {"id": 1, "type": "private"}, **fields}
    return Message.de_json(data, None)


def test_attachment_document_by_extension() -> None:
    document = {"file_id": "a", "file_unique_id": "a", "file_name": "note.OGG", "mime_type": "application/octet-stream"}

    attachment = find_attachment(message_with(document=document))

    assert attachment is not None
    assert attachment.query_kind == "audio"
    assert attachment.suffix == ".ogg"


def test_attachment_jpeg_document_is_image() -> None:
    document = {"file_id": "a", "file_unique_id": "a", "file_name": "photo", "mime_type": "image/jpeg"}

    attachment = find_attachment(message_with(document=document))

    assert attachment is not None
    assert attachment.query_kind == "image"
    assert attachment.suffix == ".jpg"


def test_attachment_text_has_none() -> None:
    assert find_attachment(message_with(text="hello")) is None
