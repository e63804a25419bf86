"""Measure how long the bot takes from a voice note to its album, through the fake Bot API server.

Runs the real bot (`bot.app.build_application`) with the real search service
over the demo collection, against the fake server of the bot tests on
127.0.0.1, and prints:

- p50/p95 time from a voice note to the first reply, for notes sent one by one;
- the same for notes sent at once from different chats (they queue in the
  worker pool, so this shows queueing as well as search time);
- how long /help takes to be answered while those searches run.

Run with: .venv/bin/python benchmarks/bot_latency.py [--notes 20] [--workers 1]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
FIXTURES = REPO_ROOT / ".." / "shared" / "fixtures" / "telegram"
VOICE_FIXTURES = ["voice_dog_on_beach.ogg", "voice_red_apple.ogg", "voice_fire_truck.ogg"]

# The fake server and the start/stop steps are shared with the bot tests.
sys.path.insert(0, str(REPO_ROOT / "tests" / "bot"))

from fake_bot_api import FakeBotAPI, command, message, private_chat  # noqa: E402
from harness import bot_settings, start_bot, stop_bot  # noqa: E402

from search.config import Settings  # noqa: E402
from search.service import SearchService  # noqa: E402

HELP_CHAT = 999_999
REPLY_TIMEOUT = 600.0


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def describe(label: str, seconds: list[float]) -> str:
    return (
        f"{label}: n={len(seconds)} p50={percentile(seconds, 0.5):.2f} s "
        f"p95={percentile(seconds, 0.95):.2f} s max={max(seconds):.2f} s mean={statistics.mean(seconds):.2f} s"
    )


def push_voice(api: FakeBotAPI, chat_id: int, data: bytes) -> float:
    voice = {**api.register_file(data, ".ogg"), "duration": 3, "mime_type": "audio/ogg"}
    pushed = time.monotonic()
    api.push_message(message(api, private_chat(chat_id), voice=voice))
    return pushed


async def first_reply_at(api: FakeBotAPI, chat_id: int, after: int) -> float:
    """Server-side time of the chat's reply number `after + 1`."""
    replies = await api.wait_for(lambda: len(api.replies(chat_id)) > after and api.replies(chat_id), REPLY_TIMEOUT)
    return replies[after].at


async def one_by_one(api: FakeBotAPI, voices: list[bytes], count: int) -> list[float]:
    chat_id = 1
    times = []
    for index in range(count):
        pushed = push_voice(api, chat_id, voices[index % len(voices)])
        replied = await first_reply_at(api, chat_id, after=index)
        times.append(replied - pushed)
    return times


async def all_at_once(api: FakeBotAPI, voices: list[bytes], count: int) -> tuple[list[float], list[float]]:
    chats = list(range(101, 101 + count))
    pushed = {chat_id: push_voice(api, chat_id, voices[index % len(voices)]) for index, chat_id in enumerate(chats)}
    waiting = asyncio.gather(*(first_reply_at(api, chat_id, after=0) for chat_id in chats))

    help_times = []
    help_sent = 0
    while not waiting.done():
        await asyncio.sleep(1.0)
        if waiting.done():
            break
        asked = time.monotonic()
        api.push_message(command(api, private_chat(HELP_CHAT), "/help"))
        answered = await first_reply_at(api, HELP_CHAT, after=help_sent)
        help_sent += 1
        help_times.append(answered - asked)

    replied = await waiting
    return [at - pushed[chat_id] for chat_id, at in zip(chats, replied)], help_times


async def run(notes: int, workers: int) -> None:
    voices = [(FIXTURES / name).read_bytes() for name in VOICE_FIXTURES]
    started = time.perf_counter()
    service = SearchService.open(Settings.from_env(data_dir=REPO_ROOT / "var"), progress=True)
    print(f"engine {service.engine_name} opened in {time.perf_counter() - started:.1f} s")

    api = FakeBotAPI().start()
    with tempfile.TemporaryDirectory(prefix="saysee-bench-") as folder:
        application = await start_bot(bot_settings(api, Path(folder), search_workers=workers), service)
        try:
            sequential = await one_by_one(api, voices, notes)
            concurrent, help_times = await all_at_once(api, voices, notes)
        finally:
            await stop_bot(application)
            api.stop()

    print(f"{notes} voice notes, {workers} search worker(s), engine {service.engine_name}")
    print(describe("voice note to album, one by one", sequential))
    print(describe(f"voice note to album, {notes} chats at once", concurrent))
    if help_times:
        print(describe("/help answered while searches run", help_times))
    else:
        print("/help while searches run: not measured (the searches ended within a second)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notes", type=int, default=20, help="voice notes per run (default 20)")
    parser.add_argument("--workers", type=int, default=1, help="search worker threads of the bot (default 1)")
    arguments = parser.parse_args()
    if not FIXTURES.is_dir():
        sys.exit(f"Voice note fixtures not found in {FIXTURES.resolve()}")
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(run(arguments.notes, arguments.workers))


if __name__ == "__main__":
    main()
