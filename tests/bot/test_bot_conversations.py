"""Private-chat conversations with the real bot over HTTP, answered by the stand-in service."""

from __future__ import annotations

import asyncio
import io
import logging
import math
import struct
import wave

import pytest
from PIL import Image

from bot import replies
from bot.__main__ import configure_logging
from fake_bot_api import FakeBotAPI, command, message, private_chat
from stand_in_service import StandInService

CHAT_ID = 42


def voice_fields(api: FakeBotAPI, data: bytes = b"OggS" + bytes(100), **overrides: object) -> dict:
    return {**api.register_file(data, ".ogg"), "duration": 2, "mime_type": "audio/ogg", **overrides}


def photo_sizes(api: FakeBotAPI) -> list[dict]:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 30, 30)).save(buffer, "JPEG")
    small = {**api.register_file(b"small", ".jpg"), "width": 4, "height": 3}
    large = {**api.register_file(buffer.getvalue(), ".jpg"), "width": 40, "height": 30}
    return [small, large]


def image_bytes(image_format: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGBA" if image_format == "PNG" else "RGB", (20, 20), (10, 200, 10)).save(buffer, image_format)
    return buffer.getvalue()


async def test_voice_note_answered_with_album(fake_api: FakeBotAPI, stand_in: StandInService, launch) -> None:
    await launch(stand_in)
    fake_api.push_message(message(fake_api, private_chat(CHAT_ID), voice=voice_fields(fake_api)))

    sent = await fake_api.wait_for_replies(CHAT_ID)

    assert sent[0].method == "sendMediaGroup"
    media = sent[0].params["media"]
    assert len(media) == 5
    assert media[0]["caption"].startswith("Heard: “a dog on the beach”")
    assert media[0]["caption"].endswith("1. A brown dog runs along the beach")
    assert media[1]["caption"] == "2. A red apple on a wooden table"
    assert all(item["type"] == "photo" for item in media)
    attached = {item["media"].removeprefix("attach://") for item in media}
    assert attached == set(sent[0].files)
    assert all(upload.data.startswith(b"\xff\xd8") for upload in sent[0].files.values())


async def test_voice_note_sends_upload_photo_action(fake_api: FakeBotAPI, stand_in: StandInService, launch) -> None:
    await launch(stand_in)
    fake_api.push_message(message(fake_api, private_chat(CHAT_ID), voice=voice_fields(fake_api)))
    await fake_api.wait_for_replies(CHAT_ID)

    actions = fake_api.calls("sendChatAction", CHAT_ID)
    assert actions
    assert actions[0].params["action"] == "upload_photo"


async def test_voice_note_downloaded_bytes_reach_service(
    fake_api: FakeBotAPI, stand_in: StandInService, launch
) -> None:
    await launch(stand_in)
    data = b"OggS" + b"voice-payload" * 10
    fake_api.push_message(message(fake_api, private_chat(CHAT_ID), voice=voice_fields(fake_api, data)))
    await fake_api.wait_for_replies(CHAT_ID)

    assert stand_in.calls[0]["method"] == "query_audio"
    assert stand_in.calls[0]["kind"] == "image"
    assert stand_in.calls[0]["audio_bytes"] == data
    assert stand_in.calls[0]["audio"].endswith(".ogg")


async def test_voice_note_temporary_file_removed(fake_api: FakeBotAPI, stand_in: StandInService, launch) -> None:
    await launch(stand_in)
    fake_api.push_message(message(fake_api, private_chat(CHAT_ID), voice=voice_fields(fake_api)))
    await fake_api.wait_for_replies(CHAT_ID)

    # The reply reaches the server a moment before the handler leaves its temporary folder.
    removed = await fake_api.wait_for(lambda: not any(path.exists() for path in stand_in.downloaded_paths), timeout=3)

    assert stand_in.query_paths_existed == [True]
    assert removed


async def test_single_confident_picture_sent_as_photo(
    fake_api: FakeBotAPI, stand_in: StandInService, launch
) -> None:
    stand_in.confident = 1
    await launch(stand_in)
    fake_api.push_message(message(fake_api, private_chat(CHAT_ID), voice=voice_fields(fake_api)))

    sent = await fake_api.wait_for_replies(CHAT_ID)

    assert [request.method for request in sent] == ["sendPhoto"]
    assert sent[0].params["caption"] == "Heard: “a dog on the beach”\n\n1. A brown dog runs along the beach"
    assert "photo" in sent[0].files


async def test_nothing_confident_suggests_rephrasing(
    fake_api: FakeBotAPI, stand_in: StandInService, launch
) -> None:
    stand_in.confident = 0
    await launch(stand_in)
    fake_api.push_message(message(fake_api, private_chat(CHAT_ID), voice=voice_fields(fake_api)))

    sent = await fake_api.wait_for_replies(CHAT_ID)

    assert [request.method for request in sent] == ["sendMessage"]
    text = sent[0].params["text"]
    assert "I heard “a dog on the beach”, but no picture in the collection matches it closely enough." in text
    assert "Try rephrasing" in text


async def test_engine_notes_shown_in_caption(fake_api: FakeBotAPI, stand_in: StandInService, launch) -> None:
    stand_in.notes = ["Only the first 30 seconds of the recording were used."]
    await launch(stand_in)
    fake_api.push_message(message(fake_api, private_chat(CHAT_ID), voice=voice_fields(fake_api)))

    sent = await fake_api.wait_for_replies(CHAT_ID)

    assert "Only the first 30 seconds of the recording were used." in sent[0].params["media"][0]["caption"]


async def test_audio_file_searches_pictures(fake_api: FakeBotAPI, stand_in: StandInService, launch) -> None:
    await launch(stand_in)
    audio = {**fake_api.register_file(b"ID3" + bytes(50), ".mp3"), "duration": 3, "mime_type": "audio/mpeg", "file_name": "horse.mp3"}
    fake_api.push_message(message(fake_api, private_chat(CHAT_ID), audio=audio))

    sent = await fake_api.wait_for_replies(CHAT_ID)

    assert sent[0].method == "sendMediaGroup"
    assert stand_in.calls[0]["audio"].endswith(".mp3")


async def test_video_note_searches_pictures(fake_api: FakeBotAPI, stand_in: StandInService, launch) -> None:
    await launch(stand_in)
    video_note = {**fake_api.register_file(bytes(80), ".mp4"), "length": 240, "duration": 2}
    fake_api.push_message(message(fake_api, private_chat(CHAT_ID), video_note=video_note))

    sent = await fake_api.wait_for_replies(CHAT_ID)

    assert sent[0].method == "sendMediaGroup"
    assert stand_in.calls[0]["method"] == "query_audio"


async def test_audio_document_searches_pictures(fake_api: FakeBotAPI, stand_in: StandInService, launch) -> None:
    await launch(stand_in)
    document = {**fake_api.register_file(bytes(80), ".wav"), "mime_type": "audio/x-wav", "file_name": "note.wav"}
    fake_api.push_message(message(fake_api, private_chat(CHAT_ID), document=document))

    sent = await fake_api.wait_for_replies(CHAT_ID)

    assert sent[0].method == "sendMediaGroup"
    assert stand_in.calls[0]["audio"] == "query.wav"


async def test_photo_answered_with_voices(fake_api: FakeBotAPI, stand_in: StandInService, launch) -> None:
    await launch(stand_in)
    fake_api.push_message(message(fake_api, private_chat(CHAT_ID), photo=photo_sizes(fake_api)))

    sent = await fake_api.wait_for_replies(CHAT_ID, count=3)

    assert [request.method for request in sent] == ["sendVoice"] * 3
    assert sent[0].params["caption"] == "1. a puppy is playing with a ball"
    assert sent[2].params["caption"] == "3. the wolf howls at the moon"
    assert sent[0].files["voice"].data == stand_in.voices[0].read_bytes()


async def test_photo_largest_size_downloaded(fake_api: FakeBotAPI, stand_in: StandInService, launch) -> None:
    await launch(stand_in)
    sizes = photo_sizes(fake_api)
    fake_api.push_message(message(fake_api, private_chat(CHAT_ID), photo=sizes))
    await fake_api.wait_for_replies(CHAT_ID, count=3)

    assert fake_api.calls("getFile")[0].params["file_id"] == sizes[-1]["file_id"]
    assert stand_in.calls[0]["image_bytes"].startswith(b"\xff\xd8")


async def test_photo_sends_record_voice_action(fake_api: FakeBotAPI, stand_in: StandInService, launch) -> None:
    await launch(stand_in)
    fake_api.push_message(message(fake_api, private_chat(CHAT_ID), photo=photo_sizes(fake_api)))
    await fake_api.wait_for_replies(CHAT_ID, count=3)

    assert fake_api.calls("sendChatAction", CHAT_ID)[0].params["action"] == "record_voice"


async def test_png_document_searches_voices(fake_api: FakeBotAPI, stand_in: StandInService, launch) -> None:
    await launch(stand_in)
    document = {**fake_api.register_file(image_bytes("PNG"), ".png"), "mime_type": "image/png", "file_name": "dog.png"}
    fake_api.push_message(message(fake_api, private_chat(CHAT_ID), document=document))

    sent = await fake_api.wait_for_replies(CHAT_ID, count=3)

    assert sent[0].method == "sendVoice"
    assert stand_in.calls[0]["image"] == "query.png"


async def test_webp_document_searches_voices(fake_api: FakeBotAPI, stand_in: StandInService, launch) -> None:
    await launch(stand_in)
    document = {**fake_api.register_file(image_bytes("WEBP"), ".webp"), "mime_type": "image/webp", "file_name": "x.webp"}
    fake_api.push_message(message(fake_api, private_chat(CHAT_ID), document=document))

    sent = await fake_api.wait_for_replies(CHAT_ID, count=3)

    assert sent[0].method == "sendVoice"
    assert stand_in.calls[0]["image"] == "query.webp"


async def test_photo_nothing_confident_says_so(fake_api: FakeBotAPI, stand_in: StandInService, launch) -> None:
    stand_in.confident = 0
    await launch(stand_in)
    fake_api.push_message(message(fake_api, private_chat(CHAT_ID), photo=photo_sizes(fake_api)))

    sent = await fake_api.wait_for_replies(CHAT_ID)

    assert sent[0].method == "sendMessage"
    assert sent[0].params["text"].startswith("No spoken caption in the collection matches this picture")


async def test_private_text_searches_pictures(fake_api: FakeBotAPI, stand_in: StandInService, launch) -> None:
    await launch(stand_in)
    fake_api.push_message(message(fake_api, private_chat(CHAT_ID), text="a red apple"))

    sent = await fake_api.wait_for_replies(CHAT_ID)

    assert sent[0].method == "sendMediaGroup"
    assert stand_in.calls[0]["method"] == "query_text"
    assert stand_in.calls[0]["text"] == "a red apple"
    assert sent[0].params["media"][0]["caption"] == "1. A brown dog runs along the beach"


async def test_start_greets(fake_api: FakeBotAPI, stand_in: StandInService, launch) -> None:
    await launch(stand_in)
    fake_api.push_message(command(fake_api, private_chat(CHAT_ID), "/start"))

    sent = await fake_api.wait_for_replies(CHAT_ID)

    assert sent[0].params["text"] == replies.START


async def test_help_explains_groups_and_text(fake_api: FakeBotAPI, stand_in: StandInService, launch) -> None:
    await launch(stand_in)
    fake_api.push_message(command(fake_api, private_chat(CHAT_ID), "/help"))

    text = (await fake_api.wait_for_replies(CHAT_ID))[0].params["text"]

    assert "Typed text (private chats only): I search pictures by text." in text
    assert "In groups I only see commands and replies to my own messages." in text


async def test_about_lists_engine_and_counts(fake_api: FakeBotAPI, stand_in: StandInService, launch) -> None:
    await launch(stand_in)
    fake_api.push_message(command(fake_api, private_chat(CHAT_ID), "/about"))

    text = (await fake_api.wait_for_replies(CHAT_ID))[0].params["text"]

    assert "Engine: stand-in" in text
    assert "Collection “demo”: 11 pictures, 3 spoken captions" in text
    assert "• speech recognition: whisper-test 1.0" in text


async def test_commands_registered_at_start(fake_api: FakeBotAPI, stand_in: StandInService, launch) -> None:
    await launch(stand_in)

    commands = fake_api.calls("setMyCommands")[0].params["commands"]

    assert [entry["command"] for entry in commands] == ["start", "help", "about", "top", "find"]


async def test_top_limits_results(fake_api: FakeBotAPI, stand_in: StandInService, launch) -> None:
    await launch(stand_in)
    fake_api.push_message(command(fake_api, private_chat(CHAT_ID), "/top 3"))
    confirmation = await fake_api.wait_for_replies(CHAT_ID)
    fake_api.push_message(message(fake_api, private_chat(CHAT_ID), voice=voice_fields(fake_api)))

    sent = await fake_api.wait_for_replies(CHAT_ID, count=2)

    assert confirmation[0].params["text"] == "From now on I will send up to 3 results in this chat."
    assert stand_in.calls[0]["top_k"] == 3
    assert len(sent[1].params["media"]) == 3


async def test_top_persists_across_restart(fake_api: FakeBotAPI, stand_in: StandInService, launch) -> None:
    from harness import stop_bot

    first = await launch(stand_in)
    fake_api.push_message(command(fake_api, private_chat(CHAT_ID), "/top 3"))
    await fake_api.wait_for_replies(CHAT_ID)
    await stop_bot(first)

    await launch(stand_in)
    fake_api.push_message(command(fake_api, private_chat(CHAT_ID), "/top"))
    sent = await fake_api.wait_for_replies(CHAT_ID, count=2)

    assert sent[1].params["text"].endswith("Now: 3.")


async def test_top_rejects_out_of_range(fake_api: FakeBotAPI, stand_in: StandInService, launch) -> None:
    await launch(stand_in)
    for text in ["/top 0", "/top 11", "/top many", "/top"]:
        fake_api.push_message(command(fake_api, private_chat(CHAT_ID), text))

    sent = await fake_api.wait_for_replies(CHAT_ID, count=4)

    for request in sent:
        assert request.params["text"] == "Use /top N to set how many results I send in this chat, from 1 to 10. Now: 5."


async def test_help_answered_while_search_runs(fake_api: FakeBotAPI, stand_in: StandInService, launch) -> None:
    stand_in.gate.clear()
    await launch(stand_in)
    fake_api.push_message(message(fake_api, private_chat(CHAT_ID), voice=voice_fields(fake_api)))
    await fake_api.wait_for(lambda: stand_in.calls)
    fake_api.push_message(command(fake_api, private_chat(CHAT_ID), "/help"))

    first = await fake_api.wait_for_replies(CHAT_ID, timeout=5)
    stand_in.gate.set()
    both = await fake_api.wait_for_replies(CHAT_ID, count=2)

    assert first[0].params["text"] == replies.HELP
    assert both[1].method == "sendMediaGroup"


async def test_second_search_while_busy_refused(fake_api: FakeBotAPI, stand_in: StandInService, launch) -> None:
    stand_in.gate.clear()
    await launch(stand_in)
    fake_api.push_message(message(fake_api, private_chat(CHAT_ID), voice=voice_fields(fake_api)))
    await fake_api.wait_for(lambda: stand_in.calls)
    fake_api.push_message(message(fake_api, private_chat(CHAT_ID), voice=voice_fields(fake_api)))

    busy = await fake_api.wait_for_replies(CHAT_ID, timeout=5)
    stand_in.gate.set()
    await fake_api.wait_for_replies(CHAT_ID, count=2)
    await asyncio.sleep(0.2)

    assert busy[0].params["text"] == replies.BUSY
    assert len(stand_in.calls) == 1


async def test_other_chats_not_blocked_by_busy_chat(
    fake_api: FakeBotAPI, stand_in: StandInService, launch
) -> None:
    await launch(stand_in, search_workers=2)
    stand_in.gate.clear()
    fake_api.push_message(message(fake_api, private_chat(CHAT_ID), voice=voice_fields(fake_api)))
    await fake_api.wait_for(lambda: stand_in.calls)
    fake_api.push_message(message(fake_api, private_chat(CHAT_ID + 1), voice=voice_fields(fake_api)))
    await fake_api.wait_for(lambda: len(stand_in.calls) == 2)
    stand_in.gate.set()

    first = await fake_api.wait_for_replies(CHAT_ID)
    second = await fake_api.wait_for_replies(CHAT_ID + 1)

    assert first[0].method == "sendMediaGroup"
    assert second[0].method == "sendMediaGroup"


async def test_log_omits_text_and_token(
    fake_api: FakeBotAPI, stand_in: StandInService, launch, caplog: pytest.LogCaptureFixture
) -> None:
    configure_logging()
    caplog.set_level(logging.INFO)
    await launch(stand_in)
    fake_api.push_message(message(fake_api, private_chat(CHAT_ID), text="my secret red apple"))
    await fake_api.wait_for_replies(CHAT_ID)
    await fake_api.wait_for(lambda: "outcome=ok" in caplog.text, timeout=3)

    assert f"chat={CHAT_ID} kind=text engine=stand-in outcome=ok results=5" in caplog.text
    assert "my secret red apple" not in caplog.text
    assert fake_api.token.split(":")[1] not in caplog.text


async def test_wav_caption_converted_to_ogg(fake_api: FakeBotAPI, stand_in: StandInService, launch, tmp_path) -> None:
    wav_path = tmp_path / "spoken.wav"
    with wave.open(str(wav_path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(16000)
        samples = (int(8000 * math.sin(2 * math.pi * 440 * i / 16000)) for i in range(8000))
        wav.writeframes(b"".join(struct.pack("<h", sample) for sample in samples))
    stand_in.voices = [wav_path]
    await launch(stand_in)
    fake_api.push_message(message(fake_api, private_chat(CHAT_ID), photo=photo_sizes(fake_api)))

    sent = await fake_api.wait_for_replies(CHAT_ID)

    assert sent[0].method == "sendVoice"
    assert sent[0].files["voice"].data.startswith(b"OggS")
    assert b"OpusHead" in sent[0].files["voice"].data[:200]
