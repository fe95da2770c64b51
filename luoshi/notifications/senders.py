"""One message out through one channel, in each robot's own format and signature; never raises.

Each sender answers a ``Result``: sent, or the reason it was not (the robot's error code and message,
a timeout, a refused connection), which the delivery keeps as ``last_error``.
"""

import base64
import hashlib
import hmac
import logging
import time
from dataclasses import dataclass

import httpx
from django.conf import settings
from django.core.mail import send_mail

from luoshi.notifications.models import ChannelKind

logger = logging.getLogger(__name__)

# Seconds. A slow robot must not hold a worker: the delivery is retried later instead.
TIMEOUT = httpx.Timeout(10.0, connect=5.0)
WECOM_MAX_BYTES = 4096  # the robot refuses longer markdown content


@dataclass(frozen=True)
class Message:
    title: str
    text: str = ""
    link: str = ""  # absolute URL of the page the message is about, or ""


@dataclass(frozen=True)
class Result:
    ok: bool
    answer: str  # what the robot (or the mail server) said, for the test button and the dead letters


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk 加签: base64(HMAC-SHA256(key=secret, msg="{timestamp}\\n{secret}")); URL-encoded by httpx."""
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def feishu_sign(secret: str, timestamp_s: int) -> str:
    """Feishu 签名校验: base64(HMAC-SHA256(key="{timestamp}\\n{secret}", msg=b""))."""
    digest = hmac.new(f"{timestamp_s}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def _markdown(message: Message, heading: str) -> str:
    parts = [f"{heading} {message.title}"]
    if message.text:
        parts.append(message.text)
    if message.link:
        parts.append(f"[查看详情]({message.link})")
    return "\n\n".join(parts)


def dingtalk_request(url: str, secret: str, message: Message, *, now: float | None = None):
    params = {}
    if secret:
        timestamp = int((now or time.time()) * 1000)
        params = {"timestamp": str(timestamp), "sign": dingtalk_sign(secret, timestamp)}
    body = {"msgtype": "markdown", "markdown": {"title": message.title, "text": _markdown(message, "####")}}
    return params, body


def wecom_request(url: str, secret: str, message: Message, *, now: float | None = None):
    content = _markdown(message, "###")
    if len(content.encode()) > WECOM_MAX_BYTES:
        content = content.encode()[: WECOM_MAX_BYTES - 3].decode(errors="ignore") + "…"
    return {}, {"msgtype": "markdown", "markdown": {"content": content}}


def feishu_request(url: str, secret: str, message: Message, *, now: float | None = None):
    timestamp = int(now or time.time())
    lines = [[{"tag": "text", "text": line}] for line in message.text.splitlines() if line.strip()]
    if message.link:
        lines.append([{"tag": "a", "text": "查看详情", "href": message.link}])
    body = {
        "timestamp": str(timestamp),
        "sign": feishu_sign(secret, timestamp),
        "msg_type": "post",
        "content": {"post": {"zh_cn": {"title": message.title, "content": lines}}},
    }
    return {}, body


def _answer_ok(kind: str, answer: dict) -> bool:
    if kind == ChannelKind.FEISHU:
        # Current robots answer {"code": 0}; older ones {"StatusCode": 0}.
        return answer.get("code", answer.get("StatusCode")) == 0
    return answer.get("errcode") == 0


def _answer_text(answer: dict) -> str:
    code = answer.get("errcode", answer.get("code", answer.get("StatusCode")))
    text = answer.get("errmsg", answer.get("msg", answer.get("StatusMessage", "")))
    return f"{code} {text}".strip()


BUILDERS = {
    ChannelKind.DINGTALK: dingtalk_request,
    ChannelKind.WECOM: wecom_request,
    ChannelKind.FEISHU: feishu_request,
}


def send_webhook(kind: str, url: str, secret: str, message: Message, *, timeout=TIMEOUT) -> Result:
    """POST ``message`` to a robot; any failure (network, HTTP status, the robot's error code) is a Result."""
    try:
        params, body = BUILDERS[kind](url, secret, message)
        # Added to the token already in the URL (httpx's ``params=`` would replace it).
        target = httpx.URL(url).copy_merge_params(params) if params else httpx.URL(url)
        response = httpx.post(target, json=body, timeout=timeout, follow_redirects=False)
    except httpx.HTTPError as error:
        return Result(False, f"{type(error).__name__}: {error}"[:1000])
    except Exception as error:  # a sender never breaks the run that called it
        logger.exception("webhook %s failed", kind)
        return Result(False, f"{type(error).__name__}: {error}"[:1000])
    try:
        answer = response.json()
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        return Result(False, f"HTTP {response.status_code}: {response.text[:500]}")
    if response.status_code >= 400 or not _answer_ok(kind, answer):
        return Result(False, f"HTTP {response.status_code}: {_answer_text(answer)}"[:1000])
    return Result(True, _answer_text(answer) or "ok")


def send_email(address: str, message: Message) -> Result:
    body = "\n\n".join(part for part in (message.text, message.link) if part)
    try:
        send_mail(message.title, body, settings.DEFAULT_FROM_EMAIL, [address])
    except Exception as error:  # SMTP refusals, timeouts, DNS: all retried later
        return Result(False, f"{type(error).__name__}: {error}"[:1000])
    return Result(True, "ok")
