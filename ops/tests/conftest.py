"""Fixtures of the operations tests: a fake clock, alert webhooks on 127.0.0.1, eager Celery."""

import json
import socket
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from dealscale.celery import app as celery_app

# A fixed Wednesday noon, far from any day or hour boundary surprises.
T0 = datetime(2026, 11, 25, 12, 0, 0, tzinfo=UTC)


@pytest.fixture
def clock(time_machine):
    """The fake clock, stopped at T0; `clock.move_to(...)` / `clock.shift(seconds)` move it."""
    time_machine.move_to(T0, tick=False)
    return time_machine


class WebhookServer:
    """A tiny HTTP server that records JSON posts and answers `statuses[path]`, else `status`."""

    def __init__(self):
        self.status = 204
        self.statuses: dict[str, int] = {}
        self.received: list[dict] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                server.received.append(
                    {
                        "path": self.path,
                        "json": json.loads(body or b"null"),
                        "content_type": self.headers.get("Content-Type"),
                    }
                )
                status = server.statuses.get(self.path, server.status)
                self.send_response(status)
                self.end_headers()
                if status >= 300:
                    self.wfile.write(b'{"message": "nope"}')

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def webhook_server():
    server = WebhookServer()
    yield server
    server.close()


@pytest.fixture
def refused_url():
    """A URL on 127.0.0.1 where nothing listens (the port was just released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/webhook"


@pytest.fixture
def eager_celery():
    """Run Celery tasks inline, retries included: Celery re-applies an eager retry at once, but only
    when eager errors do not propagate (with propagation the Retry itself would be raised)."""
    previous = celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates
    celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates = True, False
    yield
    celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates = previous
