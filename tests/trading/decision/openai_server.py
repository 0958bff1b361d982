"""A local OpenAI-compatible HTTP server speaking the real Chat Completions wire format.

Tests script its replies (content, status, delay, finish reason, refusal, or raw bytes) and read
the requests it received. The ``openai`` client talks to it over real HTTP: nothing is mocked.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    content: str | None = None
    status: int = 200
    delay_s: float = 0.0
    finish_reason: str = "stop"
    refusal: str | None = None
    raw_body: bytes | None = None
    respond: Callable[[dict[str, Any]], str] | None = None
    """Compute the content from the request body (e.g. pick a candidate from the table sent)."""


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class ChatServer:
    replies: deque[Reply] = field(default_factory=deque)
    received: list[Received] = field(default_factory=list)
    default: Reply = field(
        default_factory=lambda: Reply(
            content='{"action":"hold","instrument_name":null,"size_contracts":null,"reason":"default"}'
        )
    )
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def script(self, *replies: Reply) -> None:
        with self._lock:
            self.replies.extend(replies)

    def reset(self) -> None:
        with self._lock:
            self.replies.clear()
            self.received.clear()
            self.default = ChatServer().default

    def _next(self, path: str, headers: dict[str, str], body: dict[str, Any]) -> Reply:
        with self._lock:
            self.received.append(Received(path, headers, body))
            return self.replies.popleft() if self.replies else self.default


def _completion(model: str, reply: Reply, content: str | None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-local-1",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "system_fingerprint": "fp_local",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content, "refusal": reply.refusal},
                "logprobs": None,
                "finish_reason": reply.finish_reason,
            }
        ],
        "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120},
    }


def _handler(server: ChatServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
            return

        def _send(self, status: int, payload: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client gave up (timeouts)
                self.wfile.write(payload)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = json.loads(self.rfile.read(length) or b"{}")
            reply = server._next(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
            if reply.delay_s:
                time.sleep(reply.delay_s)
            if self.path.rstrip("/") != "/v1/chat/completions":
                self._send(404, b'{"error":{"message":"not found","type":"invalid_request_error"}}')
                return
            if reply.raw_body is not None:
                self._send(reply.status, reply.raw_body)
                return
            if reply.status != 200:
                error = {"error": {"message": "scripted failure", "type": "server_error", "code": None}}
                self._send(reply.status, json.dumps(error).encode())
                return
            content = reply.respond(body) if reply.respond is not None else reply.content
            self._send(200, json.dumps(_completion(body.get("model", "?"), reply, content)).encode())

    return Handler


def serve() -> Iterator[tuple[ChatServer, str]]:
    """Start a server on a free port; yields it and its ``base_url`` (``http://127.0.0.1:N/v1``)."""
    state = ChatServer()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    finally:
        httpd.shutdown()
        httpd.server_close()
