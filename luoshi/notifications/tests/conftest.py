"""A real local HTTP server playing the DingTalk, WeCom and Feishu robots.

It checks each request the way the robots do (message format, token, signature recomputed from its
own copy of the secret) and answers as they do: success, or the robot's own error for a wrong key
or signature. Paths: ``/dingtalk/send?access_token=…``, ``/wecom/send?key=…``, ``/feishu/<token>``,
``/feishu-old/<token>`` (an older robot answering ``StatusCode``), ``/broken`` (HTTP 500, not JSON).
"""

import base64
import hashlib
import hmac
import json
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

SECRET = "SEC-robot-secret"
TOKEN = "good-token"


def _sign(key: bytes, msg: bytes) -> str:
    return base64.b64encode(hmac.new(key, msg, hashlib.sha256).digest()).decode()


class Robot:
    """What the server saw: every request (path, query, JSON body) and how often each title arrived."""

    def __init__(self):
        self.requests: list[dict] = []
        self.titles: Counter = Counter()
        self.lock = threading.Lock()
        self.base = ""

    def url(self, kind: str, token: str = TOKEN) -> str:
        return {
            "dingtalk": f"{self.base}/dingtalk/send?access_token={token}",
            "wecom": f"{self.base}/wecom/send?key={token}",
            "feishu": f"{self.base}/feishu/{token}",
            "feishu-old": f"{self.base}/feishu-old/{token}",
            "broken": f"{self.base}/broken",
        }[kind]

    def answer(self, path: str, query: dict, body: dict) -> tuple[int, dict]:
        if path.startswith("/dingtalk/"):
            return 200, self.dingtalk(query, body)
        if path.startswith("/wecom/"):
            return 200, self.wecom(query, body)
        if path.startswith("/feishu/"):
            return 200, self.feishu(path, body, old=False)
        if path.startswith("/feishu-old/"):
            return 200, self.feishu(path, body, old=True)
        return 404, {}

    @staticmethod
    def dingtalk(query: dict, body: dict) -> dict:
        if query.get("access_token") != [TOKEN]:
            return {"errcode": 300001, "errmsg": "token is not exist"}
        if "timestamp" in query:
            timestamp = query["timestamp"][0]
            expected = _sign(SECRET.encode(), f"{timestamp}\n{SECRET}".encode())
            if query.get("sign") != [expected]:
                return {"errcode": 310000, "errmsg": "sign not match, more: [https://ding-doc.dingtalk.com/]"}
        markdown = body.get("markdown", {})
        if body.get("msgtype") != "markdown" or not markdown.get("title") or not markdown.get("text"):
            return {"errcode": 40035, "errmsg": "缺少参数 markdown"}
        return {"errcode": 0, "errmsg": "ok"}

    @staticmethod
    def wecom(query: dict, body: dict) -> dict:
        if query.get("key") != [TOKEN]:
            return {"errcode": 93000, "errmsg": "invalid webhook url, hint: [1700000000_1_abc]"}
        if body.get("msgtype") != "markdown" or not body.get("markdown", {}).get("content"):
            return {"errcode": 40008, "errmsg": "invalid message type"}
        return {"errcode": 0, "errmsg": "ok"}

    @staticmethod
    def feishu(path: str, body: dict, *, old: bool) -> dict:
        if not path.endswith(f"/{TOKEN}"):
            return {"code": 19001, "msg": "param invalid: incoming webhook access token invalid"}
        expected = _sign(f"{body.get('timestamp')}\n{SECRET}".encode(), b"")
        if body.get("sign") != expected:
            return {
                "code": 19021,
                "msg": "sign match fail or timestamp is not within one hour from current time",
            }
        post = body.get("content", {}).get("post", {}).get("zh_cn", {})
        if (
            body.get("msg_type") != "post"
            or not post.get("title")
            or not isinstance(post.get("content"), list)
        ):
            return {"code": 9499, "msg": "Bad Request"}
        return (
            {"StatusCode": 0, "StatusMessage": "success"}
            if old
            else {"code": 0, "msg": "success", "data": {}}
        )


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        robot: Robot = self.server.robot
        parts = urlsplit(self.path)
        raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if parts.path == "/broken":
            self.send_response(500)
            self.end_headers()
            self.wfile.write(b"<html>Internal Server Error</html>")
            return
        body = json.loads(raw or b"{}")
        query = parse_qs(parts.query)
        status, answer = robot.answer(parts.path, query, body)
        with robot.lock:
            robot.requests.append({"path": parts.path, "query": query, "body": body, "answer": answer})
            robot.titles[_title(body)] += 1
        payload = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


def _title(body: dict) -> str:
    if "markdown" in body:
        return body["markdown"].get("title") or body["markdown"].get("content", "").split("\n")[0]
    return body.get("content", {}).get("post", {}).get("zh_cn", {}).get("title", "")


@pytest.fixture
def robot():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.robot = Robot()
    server.robot.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.robot
    server.shutdown()
    server.server_close()


@pytest.fixture
def closed_port() -> str:
    """A URL on a port nothing listens on: the connection is refused at once."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    port = server.server_address[1]
    server.server_close()
    return f"http://127.0.0.1:{port}/dingtalk/send?access_token={TOKEN}"
