"""Group chats: the bot answers /find and replies to its own messages, and nothing else."""

from __future__ import annotations

import asyncio

from bot import replies
from fake_bot_api import BOT_USERNAME, FakeBotAPI, bot_message, command, group_chat, message, user
from stand_in_service import StandInService

GROUP_ID = -1001234
MEMBER = user(77)


def voice_note(api: FakeBotAPI) -> dict:
    voice = {**api.register_file(b"OggS" + bytes(64), ".ogg"), "duration": 2}
    return message(api, group_chat(GROUP_ID), sender=MEMBER, voice=voice)


def photo_message(api: FakeBotAPI) -> dict:
    photo = [{**api.register_file(b"\xff\xd8" + bytes(64), ".jpg"), "width": 40, "height": 30}]
    return message(api, group_chat(GROUP_ID), sender=MEMBER, photo=photo)


async def test_find_reply_to_voice_searches_it(fake_api: FakeBotAPI, stand_in: StandInService, launch) -> None:
    await launch(stand_in)
    searched = voice_note(fake_api)
    fake_api.push_message(command(fake_api, group_chat(GROUP_ID), "/find", reply_to_message=searched))

    sent = await fake_api.wait_for_replies(GROUP_ID)

    assert sent[0].method == "sendMediaGroup"
    assert sent[0].params["reply_parameters"]["message_id"] == searched["message_id"]


async def test_find_with_bot_name_searches_photo(fake_api: FakeBotAPI, stand_in: StandInService, launch) -> None:
    await launch(stand_in)
    searched = photo_message(fake_api)
    fake_api.push_message(
        command(fake_api, group_chat(GROUP_ID), f"/find@{BOT_USERNAME}", reply_to_message=searched)
    )

    sent = await fake_api.wait_for_replies(GROUP_ID, count=3)

    assert [request.method for request in sent] == ["sendVoice"] * 3
    assert sent[0].params["reply_parameters"]["message_id"] == searched["message_id"]


async def test_find_for_other_bot_ignored(fake_api: FakeBotAPI, stand_in: StandInService, launch) -> None:
    await launch(stand_in)
    fake_api.push_message(
        command(fake_api, group_chat(GROUP_ID), "/find@some_other_bot", reply_to_message=voice_note(fake_api))
    )
    fake_api.push_message(command(fake_api, group_chat(GROUP_ID), "/help"))

    sent = await fake_api.wait_for_replies(GROUP_ID)
    await asyncio.sleep(0.3)

    assert [request.params.get("text") for request in fake_api.replies(GROUP_ID)] == [replies.HELP]
    assert sent[0].params["text"] == replies.HELP
    assert stand_in.calls == []


async def test_find_without_reply_explains(fake_api: FakeBotAPI, stand_in: StandInService, launch) -> None:
    await launch(stand_in)
    fake_api.push_message(command(fake_api, group_chat(GROUP_ID), "/find"))

    sent = await fake_api.wait_for_replies(GROUP_ID)

    assert sent[0].params["text"] == "Reply to a voice note or a photo with /find, and I will search with that message."


async def test_find_reply_to_text_lists_accepted(fake_api: FakeBotAPI, stand_in: StandInService, launch) -> None:
    await launch(stand_in)
    text_message = message(fake_api, group_chat(GROUP_ID), sender=MEMBER, text="hello")
    fake_api.push_message(command(fake_api, group_chat(GROUP_ID), "/find", reply_to_message=text_message))

    sent = await fake_api.wait_for_replies(GROUP_ID)

    assert sent[0].params["text"] == replies.ACCEPTED_INPUT


async def test_voice_reply_to_bot_searched(fake_api: FakeBotAPI, stand_in: StandInService, launch) -> None:
    await launch(stand_in)
    searched = voice_note(fake_api)
    searched["reply_to_message"] = bot_message(fake_api, group_chat(GROUP_ID))
    fake_api.push_message(searched)

    sent = await fake_api.wait_for_replies(GROUP_ID)

    assert sent[0].method == "sendMediaGroup"
    assert sent[0].params["reply_parameters"]["message_id"] == searched["message_id"]


async def test_unaddressed_voice_ignored(fake_api: FakeBotAPI, stand_in: StandInService, launch) -> None:
    await launch(stand_in)
    fake_api.push_message(voice_note(fake_api))
    fake_api.push_message(photo_message(fake_api))
    fake_api.push_message(message(fake_api, group_chat(GROUP_ID), sender=MEMBER, text="nice dog"))
    # A reply to another member is not addressed to the bot either.
    reply_to_member = voice_note(fake_api)
    reply_to_member["reply_to_message"] = message(fake_api, group_chat(GROUP_ID), sender=user(78), text="hi")
    fake_api.push_message(reply_to_member)
    fake_api.push_message(command(fake_api, group_chat(GROUP_ID), "/help"))

    await fake_api.wait_for_replies(GROUP_ID)
    await asyncio.sleep(0.5)

    assert [request.params.get("text") for request in fake_api.replies(GROUP_ID)] == [replies.HELP]
    assert stand_in.calls == []
    assert fake_api.calls("getFile") == []


async def test_group_sticker_reply_to_bot_lists_accepted(
    fake_api: FakeBotAPI, stand_in: StandInService, launch
) -> None:
    await launch(stand_in)
    sticker = {**fake_api.register_file(b"webp", ".webp"), "width": 512, "height": 512, "type": "regular",
               "is_animated": False, "is_video": False}
    fake_api.push_message(
        message(fake_api, group_chat(GROUP_ID), sender=MEMBER, sticker=sticker,
                reply_to_message=bot_message(fake_api, group_chat(GROUP_ID)))
    )

    sent = await fake_api.wait_for_replies(GROUP_ID)

    assert sent[0].params["text"] == replies.ACCEPTED_INPUT


async def test_group_text_never_searched(fake_api: FakeBotAPI, stand_in: StandInService, launch) -> None:
    await launch(stand_in)
    fake_api.push_message(
        message(fake_api, group_chat(GROUP_ID), sender=MEMBER, text="a red apple",
                reply_to_message=bot_message(fake_api, group_chat(GROUP_ID)))
    )
    fake_api.push_message(command(fake_api, group_chat(GROUP_ID), "/help"))

    await fake_api.wait_for_replies(GROUP_ID)
    await asyncio.sleep(0.3)

    assert all(call["method"] != "query_text" for call in stand_in.calls)
