"""A fake Telegram Bot API server on 127.0.0.1, so bot tests run over real HTTP without Telegram.

It implements the methods the bot calls: getMe, getUpdates with long polling,
getFile and file downloads, sendMessage, sendPhoto, sendMediaGroup with
attach:// uploads, sendVoice, sendChatAction, setMyCommands and deleteWebhook.
It records every request with its parameters and uploaded files, and returns
the errors a test queues (HTTP 429 with retry_after, 400, or a dropped
connection). Only the standard library is used.
"""

from __future__ import annotations

import asyncio
import email.parser
import email.policy
import itertools
import json
import threading
import time
import urllib.parse
from collections import defaultdict, deque
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

TOKEN = "123456:TEST-token-for-the-fake-api"
BOT_ID = 123456
BOT_USERNAME = "saysee_test_bot"

# Parameters python-telegram-bot sends as JSON text inside form fields.
JSON_PARAMS = {
    "media",
    "reply_parameters",
    "reply_markup",
    "commands",
    "allowed_updates",
    "scope",
    "caption_entities",
    "entities",
    "link_preview_options",
}


@dataclass
class UploadedFile:
    """One file part of a multipart request."""

    name: str
    filename: str | None
    content_type: str
    data: bytes


@dataclass
class RecordedRequest:
    """One Bot API call the bot made, with the status the fake answered."""

    method: str
    params: dict[str, Any]
    files: dict[str, UploadedFile]
    status: int | None
    at: float = field(default_factory=time.monotonic)


@dataclass
class InjectedFailure:
    """An error to return for the next call of a method; status None drops the connection."""

    status: int | None
    description: str
    retry_after: int | None = None


class FakeBotAPI:
    """A Bot API server for one bot token; start() binds a random free port on 127.0.0.1."""

    def __init__(self, token: str = TOKEN, bot_id: int = BOT_ID, username: str = BOT_USERNAME) -> None:
        self.token = token
        self.bot_id = bot_id
        self.username = username
        self.requests: list[RecordedRequest] = []
        self.downloads: list[str] = []
        self._files: dict[str, dict[str, Any]] = {}
        self._file_data: dict[str, bytes] = {}
        self._updates: list[dict[str, Any]] = []
        self._failures: dict[str, deque[InjectedFailure]] = defaultdict(deque)
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1000)
        self._file_ids = itertools.count(1)
        self._condition = threading.Condition()
        self._closing = False
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- life cycle ---------------------------------------------------------------

    def start(self) -> "FakeBotAPI":
        handler = _make_handler(self)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-bot-api", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        with self._condition:
            self._closing = True
            self._condition.notify_all()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def port(self) -> int:
        assert self._server is not None, "start() the server first"
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def file_base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/file/bot"

    # --- what tests feed in -------------------------------------------------------

    def push_update(self, update: dict[str, Any]) -> int:
        """Queue an update for getUpdates; returns its update_id."""
        with self._condition:
            update_id = next(self._update_ids)
            self._updates.append({"update_id": update_id, **update})
            self._condition.notify_all()
        return update_id

    def push_message(self, message: dict[str, Any]) -> int:
        """Queue a new message (built with `message()`) as an update."""
        return self.push_update({"message": message})

    def register_file(self, data: bytes, suffix: str = ".bin", file_size: int | None = None) -> dict[str, Any]:
        """Store a file users 'sent'; returns the fields to put in a Voice, PhotoSize or Document.

        `file_size` overrides the size Telegram reports, to test the bot's size check without a big file.
        """
        number = next(self._file_ids)
        file_id = f"file-{number}"
        fields = {
            "file_id": file_id,
            "file_unique_id": f"unique-{number}",
            "file_size": len(data) if file_size is None else file_size,
        }
        with self._condition:
            self._files[file_id] = {**fields, "file_path": f"uploads/file_{number}{suffix}"}
            self._file_data[f"uploads/file_{number}{suffix}"] = data
        return fields

    def fail_next(
        self, method: str, status: int | None = 429, description: str = "", retry_after: int | None = None, times: int = 1
    ) -> None:
        """Fail the next `times` calls of `method` with this error instead of handling them."""
        if not description:
            description = {
                429: f"Too Many Requests: retry after {retry_after}",
                400: "Bad Request: injected failure",
            }.get(status or 0, "Injected failure")
        with self._condition:
            for _ in range(times):
                self._failures[method].append(InjectedFailure(status, description, retry_after))

    def next_message_id(self) -> int:
        with self._condition:
            return next(self._message_ids)

    # --- what tests read back -----------------------------------------------------

    def calls(self, method: str, chat_id: int | None = None, ok_only: bool = True) -> list[RecordedRequest]:
        with self._condition:
            found = [request for request in self.requests if request.method == method]
        if ok_only:
            found = [request for request in found if request.status == HTTPStatus.OK]
        if chat_id is not None:
            found = [request for request in found if request.params.get("chat_id") == chat_id]
        return found

    def replies(self, chat_id: int | None = None) -> list[RecordedRequest]:
        """Successful sendMessage, sendPhoto, sendMediaGroup and sendVoice calls, in order."""
        sending = {"sendMessage", "sendPhoto", "sendMediaGroup", "sendVoice"}
        with self._condition:
            found = [r for r in self.requests if r.method in sending and r.status == HTTPStatus.OK]
        if chat_id is not None:
            found = [request for request in found if request.params.get("chat_id") == chat_id]
        return found

    async def wait_for(
        self, condition: Callable[[], Any], timeout: float = 10.0, interval: float = 0.02
    ) -> Any:
        """Poll `condition` until it returns something truthy; raise TimeoutError after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            value = condition()
            if value:
                return value
            if time.monotonic() > deadline:
                raise TimeoutError(f"condition not met within {timeout} s; requests so far: {self.summary()}")
            await asyncio.sleep(interval)

    async def wait_for_replies(self, chat_id: int, count: int = 1, timeout: float = 10.0) -> list[RecordedRequest]:
        return await self.wait_for(lambda: len(self.replies(chat_id)) >= count and self.replies(chat_id), timeout)

    def summary(self) -> list[str]:
        with self._condition:
            return [f"{r.method}:{r.status}" for r in self.requests]

    # --- request handling (called from server threads) ----------------------------

    def _pop_failure(self, method: str) -> InjectedFailure | None:
        with self._condition:
            queue = self._failures.get(method)
            return queue.popleft() if queue else None

    def _record(self, method: str, params: dict[str, Any], files: dict[str, UploadedFile], status: int | None) -> None:
        with self._condition:
            self.requests.append(RecordedRequest(method, params, files, status))

    def handle_method(self, method: str, params: dict[str, Any], files: dict[str, UploadedFile]) -> tuple[int, Any]:
        """Return (HTTP status, result or error description) for one Bot API call."""
        handlers: dict[str, Callable[[dict[str, Any], dict[str, UploadedFile]], tuple[int, Any]]] = {
            "getMe": lambda p, f: (200, self._bot_user()),
            "deleteWebhook": lambda p, f: (200, True),
            "setMyCommands": lambda p, f: (200, True),
            "getMyCommands": lambda p, f: (200, self._last_commands()),
            "sendChatAction": lambda p, f: (200, True),
            "getUpdates": lambda p, f: (200, self._get_updates(p)),
            "getFile": lambda p, f: self._get_file(p),
            "sendMessage": lambda p, f: (200, self._sent_message(p, text=p.get("text", ""))),
            "sendPhoto": lambda p, f: self._send_photo(p, f),
            "sendVoice": lambda p, f: self._send_voice(p, f),
            "sendMediaGroup": lambda p, f: self._send_media_group(p, f),
            "close": lambda p, f: (200, True),
        }
        if method not in handlers:
            return 404, "Not Found: method not found"
        return handlers[method](params, files)

    def file_bytes(self, file_path: str) -> bytes | None:
        with self._condition:
            self.downloads.append(file_path)
            return self._file_data.get(file_path)

    def _bot_user(self) -> dict[str, Any]:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": "Saysee Test",
            "username": self.username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    def _last_commands(self) -> list[Any]:
        calls = self.calls("setMyCommands")
        return calls[-1].params.get("commands", []) if calls else []

    def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset", 0) or 0)
        timeout = float(params.get("timeout", 0) or 0)
        limit = int(params.get("limit", 100) or 100)
        deadline = time.monotonic() + timeout
        with self._condition:
            # Like Telegram, an offset confirms (and forgets) every update before it.
            self._updates = [update for update in self._updates if update["update_id"] >= offset]
            while not self._updates and not self._closing:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._condition.wait(remaining)
            return self._updates[:limit]

    def _get_file(self, params: dict[str, Any]) -> tuple[int, Any]:
        with self._condition:
            info = self._files.get(str(params.get("file_id")))
        if info is None:
            return 400, "Bad Request: invalid file_id"
        if info["file_size"] > 20 * 1024 * 1024:
            return 400, "Bad Request: file is too big"
        return 200, dict(info)

    def _sent_message(self, params: dict[str, Any], **content: Any) -> dict[str, Any]:
        chat_id = params.get("chat_id")
        message: dict[str, Any] = {
            "message_id": self.next_message_id(),
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private" if isinstance(chat_id, int) and chat_id > 0 else "group"},
            "from": self._bot_user(),
            **content,
        }
        return message

    def _send_photo(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> tuple[int, Any]:
        if "photo" not in files and not params.get("photo"):
            return 400, "Bad Request: there is no photo in the request"
        photo = [{"file_id": f"sent-photo-{len(self.requests)}", "file_unique_id": "p", "width": 64, "height": 64}]
        return 200, self._sent_message(params, photo=photo, caption=params.get("caption"))

    def _send_voice(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> tuple[int, Any]:
        if "voice" not in files and not params.get("voice"):
            return 400, "Bad Request: there is no voice in the request"
        voice = {"file_id": f"sent-voice-{len(self.requests)}", "file_unique_id": "v", "duration": 1}
        return 200, self._sent_message(params, voice=voice, caption=params.get("caption"))

    def _send_media_group(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> tuple[int, Any]:
        media = params.get("media")
        if not isinstance(media, list) or not 2 <= len(media) <= 10:
            return 400, "Bad Request: media must be a list of 2 to 10 items"
        messages = []
        for item in media:
            reference = str(item.get("media", ""))
            if reference.startswith("attach://") and reference.removeprefix("attach://") not in files:
                return 400, f"Bad Request: file {reference} is not attached"
            photo = [{"file_id": f"sent-photo-{len(self.requests)}", "file_unique_id": "p", "width": 64, "height": 64}]
            messages.append(self._sent_message(params, photo=photo, caption=item.get("caption")))
        return 200, messages


def _parse_body(content_type: str, body: bytes) -> tuple[dict[str, Any], dict[str, UploadedFile]]:
    params: dict[str, Any] = {}
    files: dict[str, UploadedFile] = {}
    if content_type.startswith("multipart/form-data"):
        head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True) or b""
            filename = part.get_filename()
            if filename is not None:
                files[name] = UploadedFile(name, filename, part.get_content_type(), payload)
            else:
                params[name] = payload.decode("utf-8")
    elif content_type.startswith("application/json"):
        params = json.loads(body or b"{}")
    elif body:
        params = {key: values[-1] for key, values in urllib.parse.parse_qs(body.decode("utf-8")).items()}

    for name, value in list(params.items()):
        if name in JSON_PARAMS and isinstance(value, str):
            params[name] = json.loads(value)
        elif name in {"chat_id", "offset", "limit", "timeout", "reply_to_message_id"}:
            try:
                params[name] = int(value)
            except (TypeError, ValueError):
                pass
    return params, files


def _make_handler(api: FakeBotAPI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - name fixed by the base class
            pass

        def do_GET(self) -> None:  # noqa: N802 - name fixed by http.server
            file_prefix = f"/file/bot{api.token}/"
            # python-telegram-bot percent-encodes the download path, including the ':' of the token.
            path = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path)
            if path.startswith(file_prefix):
                data = api.file_bytes(path[len(file_prefix) :])
                if data is None:
                    self._send_json(404, {"ok": False, "error_code": 404, "description": "Not Found"})
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                return
            self._handle_method()

        def do_POST(self) -> None:  # noqa: N802 - name fixed by http.server
            self._handle_method()

        def _handle_method(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            prefix = f"/bot{api.token}/"
            path = urllib.parse.urlsplit(self.path).path
            if not path.startswith(prefix):
                self._send_json(401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
                return
            method = path[len(prefix) :]
            params, files = _parse_body(self.headers.get("Content-Type", ""), body)

            failure = api._pop_failure(method)
            if failure is not None:
                api._record(method, params, files, failure.status)
                if failure.status is None:
                    # Dropping the connection without a response looks like a network failure to the client.
                    self.close_connection = True
                    self.connection.close()
                    return
                error: dict[str, Any] = {"ok": False, "error_code": failure.status, "description": failure.description}
                if failure.retry_after is not None:
                    error["parameters"] = {"retry_after": failure.retry_after}
                self._send_json(failure.status, error)
                return

            status, result = api.handle_method(method, params, files)
            api._record(method, params, files, status)
            if status == 200:
                self._send_json(200, {"ok": True, "result": result})
            else:
                self._send_json(status, {"ok": False, "error_code": status, "description": result})

        def _send_json(self, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                # The client gave up (for example, a long poll cancelled at shutdown).
                pass

    return Handler


# --- builders for the objects users send ----------------------------------------------


def private_chat(chat_id: int) -> dict[str, Any]:
    return {"id": chat_id, "type": "private", "first_name": "Test"}


def group_chat(chat_id: int) -> dict[str, Any]:
    return {"id": chat_id, "type": "supergroup", "title": "Test group"}


def user(user_id: int) -> dict[str, Any]:
    return {"id": user_id, "is_bot": False, "first_name": f"User {user_id}"}


def message(api: FakeBotAPI, chat: dict[str, Any], sender: dict[str, Any] | None = None, **content: Any) -> dict[str, Any]:
    """A message from a user; `content` holds its fields (voice, photo, text, reply_to_message, ...)."""
    return {
        "message_id": api.next_message_id(),
        "date": int(time.time()),
        "chat": chat,
        "from": sender or user(abs(chat["id"])),
        **content,
    }


def command(api: FakeBotAPI, chat: dict[str, Any], text: str, **content: Any) -> dict[str, Any]:
    """A message whose text starts with a bot command, with the entity Telegram adds."""
    length = len(text.split()[0])
    return message(api, chat, text=text, entities=[{"type": "bot_command", "offset": 0, "length": length}], **content)


def bot_message(api: FakeBotAPI, chat: dict[str, Any], text: str = "Earlier answer") -> dict[str, Any]:
    """A message the bot sent earlier, for replies to it."""
    return message(api, chat, sender=api._bot_user(), text=text)
