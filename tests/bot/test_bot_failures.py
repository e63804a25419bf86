"""Bad input and failing servers: every case gets a clear reply, and the bot keeps running."""

from __future__ import annotations

import asyncio

from bot import replies
from fake_bot_api import FakeBotAPI, command, message, private_chat
from search.errors import AudioDecodeError, ImageTooLargeError, NoSpeechError
from stand_in_service import StandInService

CHAT_ID = 4242


def voice_fields(api: FakeBotAPI, **overrides: object) -> dict:
    return {**api.register_file(b"OggS" + bytes(100), ".ogg", file_size=overrides.pop("file_size", None)), "duration": 2, **overrides}


async def test_retry_after_waits_then_sends(fake_api: FakeBotAPI, stand_in: StandInService, launch) -> None:
    await launch(stand_in)
    fake_api.fail_next("sendMediaGroup", status=429, retry_after=1)
    fake_api.push_message(message(fake_api, private_chat(CHAT_ID), voice=voice_fields(fake_api)))

    sent = await fake_api.wait_for_replies(CHAT_ID, timeout=15)

    attempts = fake_api.calls("sendMediaGroup", ok_only=False)
    assert [attempt.status for attempt in attempts] == [429, 200]
    assert attempts[1].at - attempts[0].at >= 1.0
    assert sent[0].method == "sendMediaGroup"


async def test_dropped_connection_retried(fake_api: FakeBotAPI, stand_in: StandInService, launch) -> None:
    await launch(stand_in)
    fake_api.fail_next("sendMessage", status=None)
    fake_api.push_message(command(fake_api, private_chat(CHAT_ID), "/start"))

    sent = await fake_api.wait_for_replies(CHAT_ID, timeout=10)

    assert [attempt.status for attempt in fake_api.calls("sendMessage", ok_only=False)] == [None, 200]
    assert sent[0].params["text"] == replies.START


async def test_bad_request_not_retried_and_apologised(
    fake_api: FakeBotAPI, stand_in: StandInService, launch
) -> None:
    await launch(stand_in)
    fake_api.fail_next("sendMediaGroup", status=400)
    fake_api.push_message(message(fake_api, private_chat(CHAT_ID), voice=voice_fields(fake_api)))

    sent = await fake_api.wait_for_replies(CHAT_ID)

    assert len(fake_api.calls("sendMediaGroup", ok_only=False)) == 1
    assert sent[0].params["text"] == replies.APOLOGY


async def test_unexpected_error_apologised(fake_api: FakeBotAPI, stand_in: StandInService, launch) -> None:
    stand_in.error = RuntimeError("index file vanished")
    await launch(stand_in)
    fake_api.push_message(message(fake_api, private_chat(CHAT_ID), voice=voice_fields(fake_api)))

    sent = await fake_api.wait_for_replies(CHAT_ID)

    assert sent[0].params["text"] == "Sorry, something went wrong on my side while handling that. Please try again in a moment."
    assert "index file vanished" not in sent[0].params["text"]


async def test_bot_keeps_working_after_error(fake_api: FakeBotAPI, stand_in: StandInService, launch) -> None:
    stand_in.error = RuntimeError("boom")
    await launch(stand_in)
    fake_api.push_message(message(fake_api, private_chat(CHAT_ID), voice=voice_fields(fake_api)))
    await fake_api.wait_for_replies(CHAT_ID)
    stand_in.error = None
    fake_api.push_message(message(fake_api, private_chat(CHAT_ID), voice=voice_fields(fake_api)))

    sent = await fake_api.wait_for_replies(CHAT_ID, count=2)

    assert sent[1].method == "sendMediaGroup"


async def test_search_error_message_sent(fake_api: FakeBotAPI, stand_in: StandInService, launch) -> None:
    cases = [
        AudioDecodeError("I could not decode that recording. Please send it again as a voice note."),
        NoSpeechError("I did not hear any speech in that recording."),
        ImageTooLargeError("That picture has too many pixels (limit 40 megapixels)."),
    ]
    await launch(stand_in)
    for index, error in enumerate(cases, start=1):
        stand_in.error = error
        fake_api.push_message(message(fake_api, private_chat(CHAT_ID), voice=voice_fields(fake_api)))
        sent = await fake_api.wait_for_replies(CHAT_ID, count=index)

        assert sent[-1].params["text"] == str(error)


async def test_file_over_limit_refused_without_download(
    fake_api: FakeBotAPI, stand_in: StandInService, launch
) -> None:
    await launch(stand_in)
    fake_api.push_message(message(fake_api, private_chat(CHAT_ID), voice=voice_fields(fake_api, file_size=25 * 1024 * 1024)))

    sent = await fake_api.wait_for_replies(CHAT_ID)

    assert sent[0].params["text"] == (
        "That file is 25.0 MB, but bots can only download files up to 20 MB. "
        "Please send a shorter recording or a smaller picture."
    )
    assert fake_api.calls("getFile", ok_only=False) == []
    assert stand_in.calls == []


async def test_download_failure_explained(fake_api: FakeBotAPI, stand_in: StandInService, launch) -> None:
    await launch(stand_in)
    # An id the server does not know makes getFile fail with 400, as for a deleted file.
    voice = {"file_id": "missing", "file_unique_id": "m", "duration": 1}
    fake_api.push_message(message(fake_api, private_chat(CHAT_ID), voice=voice))

    sent = await fake_api.wait_for_replies(CHAT_ID)

    assert sent[0].params["text"] == replies.DOWNLOAD_FAILED
    assert stand_in.calls == []


async def test_sticker_lists_accepted_input(fake_api: FakeBotAPI, stand_in: StandInService, launch) -> None:
    await launch(stand_in)
    sticker = {**fake_api.register_file(b"webp", ".webp"), "width": 512, "height": 512, "type": "regular",
               "is_animated": False, "is_video": False}
    fake_api.push_message(message(fake_api, private_chat(CHAT_ID), sticker=sticker))

    sent = await fake_api.wait_for_replies(CHAT_ID)

    assert sent[0].params["text"].startswith("I can search with voice notes, audio files, round video messages, photos")


async def test_video_lists_accepted_input(fake_api: FakeBotAPI, stand_in: StandInService, launch) -> None:
    await launch(stand_in)
    video = {**fake_api.register_file(bytes(10), ".mp4"), "width": 320, "height": 240, "duration": 3}
    fake_api.push_message(message(fake_api, private_chat(CHAT_ID), video=video))

    sent = await fake_api.wait_for_replies(CHAT_ID)

    assert sent[0].params["text"] == replies.ACCEPTED_INPUT
    assert fake_api.calls("getFile") == []


async def test_pdf_document_lists_accepted_input(fake_api: FakeBotAPI, stand_in: StandInService, launch) -> None:
    await launch(stand_in)
    document = {**fake_api.register_file(b"%PDF-1.4", ".pdf"), "mime_type": "application/pdf", "file_name": "a.pdf"}
    fake_api.push_message(message(fake_api, private_chat(CHAT_ID), document=document))

    sent = await fake_api.wait_for_replies(CHAT_ID)

    assert sent[0].params["text"] == replies.ACCEPTED_INPUT


async def test_gif_document_lists_accepted_input(fake_api: FakeBotAPI, stand_in: StandInService, launch) -> None:
    await launch(stand_in)
    document = {**fake_api.register_file(b"GIF89a", ".gif"), "mime_type": "image/gif", "file_name": "a.gif"}
    fake_api.push_message(message(fake_api, private_chat(CHAT_ID), document=document))

    sent = await fake_api.wait_for_replies(CHAT_ID)

    assert sent[0].params["text"] == replies.ACCEPTED_INPUT


async def test_chat_outside_allow_list_refused_once(
    fake_api: FakeBotAPI, stand_in: StandInService, launch
) -> None:
    await launch(stand_in, allowed_chats=frozenset({CHAT_ID}))
    for _ in range(2):
        fake_api.push_message(message(fake_api, private_chat(999), voice=voice_fields(fake_api)))
    fake_api.push_message(command(fake_api, private_chat(CHAT_ID), "/start"))

    await fake_api.wait_for_replies(CHAT_ID)
    await asyncio.sleep(0.3)

    assert [request.params["text"] for request in fake_api.replies(999)] == [replies.NOT_ALLOWED]
    assert stand_in.calls == []


async def test_stats_refused_to_non_admin(fake_api: FakeBotAPI, stand_in: StandInService, launch) -> None:
    await launch(stand_in, admin_users=frozenset({1}))
    fake_api.push_message(command(fake_api, private_chat(CHAT_ID), "/stats"))

    sent = await fake_api.wait_for_replies(CHAT_ID)

    assert sent[0].params["text"] == "/stats is only available to the bot's admins."


async def test_stats_shown_to_admin(fake_api: FakeBotAPI, stand_in: StandInService, launch) -> None:
    application = await launch(stand_in, admin_users=frozenset({CHAT_ID}))
    fake_api.push_message(message(fake_api, private_chat(CHAT_ID), voice=voice_fields(fake_api)))
    await fake_api.wait_for_replies(CHAT_ID)
    # The search is counted when its handler finishes, a moment after the reply is sent.
    runner = application.bot_data["runner"]
    await fake_api.wait_for(lambda: runner.searches_in_flight == 0, timeout=10)
    fake_api.push_message(command(fake_api, private_chat(CHAT_ID), "/stats"))

    text = (await fake_api.wait_for_replies(CHAT_ID, count=2))[1].params["text"]

    assert "Searches answered: 1 (voice 1)" in text
    assert "Chats served: 1." in text


async def test_file_too_big_without_size_explained(
    fake_api: FakeBotAPI, stand_in: StandInService, launch
) -> None:
    await launch(stand_in)
    fields = fake_api.register_file(b"OggS", ".ogg", file_size=30 * 1024 * 1024)
    # The message states no size, so only getFile finds out.
    voice = {"file_id": fields["file_id"], "file_unique_id": fields["file_unique_id"], "duration": 1}
    fake_api.push_message(message(fake_api, private_chat(CHAT_ID), voice=voice))

    sent = await fake_api.wait_for_replies(CHAT_ID)

    assert sent[0].params["text"] == "That file is over 20 MB, the largest file bots can download. Please send a shorter recording or a smaller picture."
    assert stand_in.calls == []


async def test_unknown_command_points_to_help(fake_api: FakeBotAPI, stand_in: StandInService, launch) -> None:
    await launch(stand_in)
    fake_api.push_message(command(fake_api, private_chat(CHAT_ID), "/dance now"))

    sent = await fake_api.wait_for_replies(CHAT_ID)

    assert sent[0].params["text"] == "I do not know that command. /help lists what I can do."
