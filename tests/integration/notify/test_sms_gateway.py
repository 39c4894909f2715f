"""The HTTP SMS gateway adapter against a real HTTP server on localhost (no network)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from mutua.messaging.sms import ConsoleSms, HttpSmsGateway, SmsFailed, read_console, sms_sender
from mutua.settings import Settings


class FakeGateway(BaseHTTPRequestHandler):
    received: list[dict] = []
    answer: tuple[int, dict] = (200, {"id": "gw-1"})

    def do_POST(self):  # noqa: N802 - http.server's name
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).received.append({"auth": self.headers.get("Authorization"), **body})
        status, payload = type(self).answer
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def gateway():
    FakeGateway.received = []
    FakeGateway.answer = (200, {"id": "gw-1"})
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeGateway)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/send", FakeGateway
    server.shutdown()
    server.server_close()


def test_the_gateway_posts_the_message_with_its_key(gateway):
    url, fake = gateway
    sender = sms_sender(Settings(sms_backend="http", sms_gateway_url=url, sms_gateway_key="k1"))
    assert sender.send("+8613800138000", "验证码123456") == "gw-1"
    assert fake.received == [{"auth": "Bearer k1", "to": "+8613800138000",
                              "text": "验证码123456", "sender": "Mutua"}]


@pytest.mark.parametrize(("status", "retry"), [(500, True), (429, True), (400, False)])
def test_a_refusal_says_whether_to_retry(gateway, status, retry):
    url, fake = gateway
    fake.answer = (status, {"error": "no"})
    with pytest.raises(SmsFailed) as refused:
        HttpSmsGateway(url=url, key="k").send("+8613800138000", "hi")
    assert refused.value.retry is retry


def test_an_unreachable_gateway_is_a_failure_to_retry():
    with pytest.raises(SmsFailed) as refused:
        HttpSmsGateway(url="http://127.0.0.1:9/send", key="k", timeout_seconds=2).send(
            "+8613800138000", "hi")
    assert refused.value.retry


def test_the_console_sender_writes_lines_a_test_can_read(tmp_path):
    sender = ConsoleSms(tmp_path / "sms.log")
    sender.send("+8613800138000", "one")
    sender.send("+8613800138001", "two")
    assert [m["text"] for m in read_console(tmp_path / "sms.log")] == ["one", "two"]
    assert [m["text"] for m in read_console(tmp_path / "sms.log", "+8613800138001")] == ["two"]


def test_the_http_backend_needs_its_url_and_key():
    with pytest.raises(RuntimeError):
        sms_sender(Settings(sms_backend="http"))
