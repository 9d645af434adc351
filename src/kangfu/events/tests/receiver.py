"""A real HTTP receiver for the webhook tests and the benchmark: stdlib `http.server` on a thread,
answering 500 or 200 as told, and keeping what it accepted by the event's idempotency key, as a
receiver is meant to."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Receiver:
    def __init__(self, secret: str = "", port: int = 0):
        self.secret = secret
        self.status = 200
        self.accepted: dict[str, dict] = {}  # key -> body, first copy
        self.order: list[str] = []  # keys in the order first accepted
        self.posts = 0
        self.duplicates = 0
        self.bad_signatures = 0
        self.lock = threading.Lock()
        self.port = port
        self.server: ThreadingHTTPServer | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/kangfu"

    def verify(self, headers, body: bytes) -> bool:
        timestamp = headers.get("X-Kangfu-Timestamp", "")
        expected = hmac.new(
            self.secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256
        ).hexdigest()
        return hmac.compare_digest(headers.get("X-Kangfu-Signature", ""), f"sha256={expected}")

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as the sender uses it

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.lock:
                    receiver.posts += 1
                    status = receiver.status
                    if status == 200:
                        if receiver.secret and not receiver.verify(self.headers, body):
                            receiver.bad_signatures += 1
                            status = 401
                        else:
                            key = self.headers["X-Kangfu-Event-Id"]
                            if key in receiver.accepted:
                                receiver.duplicates += 1
                            else:
                                receiver.accepted[key] = json.loads(body)
                                receiver.order.append(key)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        """Down: connections to its port are refused."""
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None
