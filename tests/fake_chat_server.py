"""A hosted chat model played by a small HTTP server on loopback (the world outside, which tests
cannot reach): POST /v1/chat/completions answers with the reply `respond(request body)` returns, and
every request body is recorded. Registered as an upstream, it becomes a real `UpstreamTaskModel`
through `open_task_models(["NAME/model"], ...)`, so the code under test runs unchanged. A reply that is
an `HTTPError` is sent as that error status (with Retry-After when given): a rate limit, an outage."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class HTTPError:
    status: int
    retry_after: str | None = None


class FakeChatServer:
    def __init__(self, respond: Callable[[dict], str | HTTPError]) -> None:
        self.respond, self.requests = respond, []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"null")
                fake.requests.append(body)
                content = fake.respond(body)
                if isinstance(content, HTTPError):
                    self._error(content)
                    return
                data = json.dumps({
                    "id": "chatcmpl-fake", "object": "chat.completion", "created": 1, "model": body.get("model"),
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                                 "finish_reason": "stop"}],
                    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _error(self, err: HTTPError) -> None:
                data = json.dumps({"error": {"message": f"fake error {err.status}", "type": "server_error"}}).encode()
                self.send_response(err.status)
                if err.retry_after is not None:
                    self.send_header("Retry-After", err.retry_after)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def register(self, store, name: str = "hosted") -> str:
        """Add the server as upstream `name`; returns the task model spec `name/model`."""
        from tunelab.upstreams import UpstreamRegistry

        UpstreamRegistry(store).add(name, self.url)
        return f"{name}/model"

    def __enter__(self) -> FakeChatServer:
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
