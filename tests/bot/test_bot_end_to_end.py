"""The real bot and the real search service over the demo collection, fed recorded voice notes and photos.

The service is opened once per test session over the default data folder
`var/`, where the demo index is cached after its first build.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from telegram.ext import Application

from bot import replies
from fake_bot_api import FakeBotAPI, RecordedRequest, command, message, private_chat
from search.config import Settings
from search.service import SearchService

pytestmark = pytest.mark.slow

REPO_ROOT = Path(__file__).resolve().parents[2]
CHAT_ID = 5150
# Loading models and searching on two CPU cores takes seconds per query.
REPLY_TIMEOUT = 120.0
DOG_WORDS = re.compile(r"\b(dog|dogs|puppy|puppies|wolf|fox|dingo|hound|terrier|retriever|coyote|jackal)\b", re.IGNORECASE)


@pytest.fixture(scope="session")
def real_service() -> Iterator[SearchService]:
    service = SearchService.open(Settings.from_env(data_dir=REPO_ROOT / "var"), progress=False)
    yield service
    close = getattr(service, "close", None)
    if close is not None:
        close()


def captions(requests: list[RecordedRequest]) -> list[str]:
    """Every caption and text the bot sent, album items included."""
    found = []
    for request in requests:
        if request.method == "sendMediaGroup":
            found.extend(item.get("caption") or "" for item in request.params["media"])
        else:
            found.append(request.params.get("caption") or request.params.get("text") or "")
    return found


async def wait_until_answered(api: FakeBotAPI, application: Application) -> list[RecordedRequest]:
    """Wait for the first reply and for the search to end, so every voice message has been sent."""
    runner = application.bot_data["runner"]
    await api.wait_for(lambda: api.replies(CHAT_ID) and runner.searches_in_flight == 0, timeout=REPLY_TIMEOUT)
    return api.replies(CHAT_ID)


async def send_voice(api: FakeBotAPI, application: Application, path: Path) -> list[RecordedRequest]:
    voice = {**api.register_file(path.read_bytes(), ".ogg"), "duration": 3, "mime_type": "audio/ogg"}
    api.push_message(message(api, private_chat(CHAT_ID), voice=voice))
    return await wait_until_answered(api, application)


@pytest.mark.parametrize(
    ("fixture_name", "expected"),
    [
        ("voice_dog_on_beach.ogg", re.compile(r"\bdog", re.IGNORECASE)),
        ("voice_red_apple.ogg", re.compile(r"\bred apple", re.IGNORECASE)),
        ("voice_fire_truck.ogg", re.compile(r"\bfire (truck|engine)", re.IGNORECASE)),
    ],
)
async def test_voice_finds_picture(
    fake_api: FakeBotAPI, real_service: SearchService, launch, telegram_fixtures: Path, fixture_name: str, expected: re.Pattern
) -> None:
    application = await launch(real_service)

    sent = await send_voice(fake_api, application, telegram_fixtures / fixture_name)

    assert sent[0].method in {"sendMediaGroup", "sendPhoto"}, captions(sent)
    assert any(expected.search(caption) for caption in captions(sent)), captions(sent)


async def test_voice_album_says_what_was_heard(
    fake_api: FakeBotAPI, real_service: SearchService, launch, telegram_fixtures: Path
) -> None:
    application = await launch(real_service)

    sent = await send_voice(fake_api, application, telegram_fixtures / "voice_red_apple.ogg")

    assert captions(sent)[0].startswith("Heard: “")
    assert "apple" in captions(sent)[0].lower()


async def test_silence_answered_nothing_heard(
    fake_api: FakeBotAPI, real_service: SearchService, launch, telegram_fixtures: Path
) -> None:
    application = await launch(real_service)

    sent = await send_voice(fake_api, application, telegram_fixtures / "voice_silence_3s.ogg")

    assert sent[0].method == "sendMessage"
    assert sent[0].params["text"].startswith("No speech was heard")


async def test_long_voice_states_limit(
    fake_api: FakeBotAPI, real_service: SearchService, launch, telegram_fixtures: Path
) -> None:
    application = await launch(real_service)

    sent = await send_voice(fake_api, application, telegram_fixtures / "voice_long_rambling.ogg")

    limit = f"only the first {real_service.settings.max_audio_seconds:.0f} s were searched"
    assert any(limit in caption for caption in captions(sent)), captions(sent)


async def test_corrupt_voice_answered_decode_error(
    fake_api: FakeBotAPI, real_service: SearchService, launch, tmp_path: Path
) -> None:
    application = await launch(real_service)
    corrupt = tmp_path / "corrupt.ogg"
    corrupt.write_bytes(bytes(range(256)) * 40)

    sent = await send_voice(fake_api, application, corrupt)

    assert sent[0].method == "sendMessage"
    assert sent[0].params["text"] == "The audio is corrupt or truncated, so it could not be decoded."


async def test_dog_photo_finds_dog_voice(
    fake_api: FakeBotAPI, real_service: SearchService, launch, telegram_fixtures: Path
) -> None:
    application = await launch(real_service)
    data = (telegram_fixtures / "photo_dog_exif_rotated.jpg").read_bytes()
    photo = [{**fake_api.register_file(data, ".jpg"), "width": 64, "height": 48}]
    fake_api.push_message(message(fake_api, private_chat(CHAT_ID), photo=photo))

    sent = await wait_until_answered(fake_api, application)

    assert sent[0].method == "sendVoice", captions(sent)
    assert any(DOG_WORDS.search(caption) for caption in captions(sent)), captions(sent)
    assert all(request.files["voice"].data.startswith(b"OggS") for request in sent)


async def test_dog_png_document_finds_dog_voice(
    fake_api: FakeBotAPI, real_service: SearchService, launch, telegram_fixtures: Path
) -> None:
    application = await launch(real_service)
    data = (telegram_fixtures / "photo_dog_alpha.png").read_bytes()
    document = {**fake_api.register_file(data, ".png"), "mime_type": "image/png", "file_name": "dog.png"}
    fake_api.push_message(message(fake_api, private_chat(CHAT_ID), document=document))

    sent = await wait_until_answered(fake_api, application)

    assert sent[0].method == "sendVoice", captions(sent)
    assert any(DOG_WORDS.search(caption) for caption in captions(sent)), captions(sent)


def bot_process_environment(api: FakeBotAPI, tmp_path: Path, **settings: str) -> dict[str, str]:
    """Environment for `python -m bot` against the fake server, with the demo index of `var/`."""
    environment = {
        name: value for name, value in os.environ.items() if not name.startswith(("SAYSEE_", "TELEGRAM_"))
    }
    environment.update(
        TELEGRAM_BOT_TOKEN=api.token,
        TELEGRAM_API_BASE_URL=api.base_url,
        TELEGRAM_FILE_BASE_URL=api.file_base_url,
        SAYSEE_DATA_DIR=str(REPO_ROOT / "var"),
        SAYSEE_BOT_STATE=str(tmp_path / "bot_state.pickle"),
    )
    environment.update(settings)
    return environment


async def test_process_starts_and_answers_help(fake_api: FakeBotAPI, tmp_path: Path) -> None:
    log_path = tmp_path / "bot.log"
    with log_path.open("wb") as log:
        # The working folder is tmp_path, so no developer .env is read.
        process = subprocess.Popen(
            [sys.executable, "-m", "bot"],
            cwd=tmp_path,
            env=bot_process_environment(fake_api, tmp_path),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            await fake_api.wait_for(lambda: fake_api.calls("getUpdates") or process.poll() is not None, timeout=300)
            fake_api.push_message(command(fake_api, private_chat(CHAT_ID), "/help"))
            sent = await fake_api.wait_for_replies(CHAT_ID, timeout=30)
        finally:
            process.send_signal(signal.SIGINT)
            exit_code = process.wait(timeout=60)
    output = log_path.read_text()

    assert sent[0].params["text"] == replies.HELP
    assert exit_code == 0, output
    assert "Loaded engine" in output
    assert "Collection demo:" in output
    assert fake_api.token not in output
    assert fake_api.token.split(":")[1] not in output


def test_process_unknown_collection_exits_1(fake_api: FakeBotAPI, tmp_path: Path) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "bot"],
        cwd=tmp_path,
        env=bot_process_environment(
            fake_api, tmp_path, SAYSEE_COLLECTION="no_such_collection", SAYSEE_DATA_DIR=str(tmp_path / "data")
        ),
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert completed.returncode == 1
    assert "Could not open the search engine" in completed.stderr
    assert "no_such_collection" in completed.stderr
    assert fake_api.token not in completed.stderr + completed.stdout
