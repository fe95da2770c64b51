"""Each sender against a real local robot server that checks its format and recomputes its signature."""

import base64
import hashlib
import hmac

import httpx

from luoshi.notifications import senders
from luoshi.notifications.tests.conftest import SECRET

MESSAGE = senders.Message(
    title="事项超期提醒", text="推进重大项目建设\n已超期 3 天", link="https://luoshi.example/items/1/"
)


def test_signatures_follow_the_robots_documentation():
    # DingTalk: HMAC keyed by the secret over "timestamp\nsecret"; Feishu: keyed by "timestamp\nsecret" over "".
    expected_dingtalk = hmac.new(b"s3", b"1700000000000\ns3", hashlib.sha256).digest()
    expected_feishu = hmac.new(b"1700000000\ns3", b"", hashlib.sha256).digest()
    assert senders.dingtalk_sign("s3", 1700000000000) == base64.b64encode(expected_dingtalk).decode()
    assert senders.feishu_sign("s3", 1700000000) == base64.b64encode(expected_feishu).decode()


def test_dingtalk_signed_markdown_is_accepted(robot):
    result = senders.send_webhook("dingtalk", robot.url("dingtalk"), SECRET, MESSAGE)

    assert result.ok, result.answer
    request = robot.requests[-1]
    assert request["body"]["msgtype"] == "markdown"
    assert request["body"]["markdown"]["title"] == "事项超期提醒"
    assert "[查看详情](https://luoshi.example/items/1/)" in request["body"]["markdown"]["text"]
    assert len(request["query"]["timestamp"][0]) == 13  # milliseconds
    assert request["query"]["access_token"] == ["good-token"]


def test_dingtalk_wrong_secret_is_the_robots_error(robot):
    result = senders.send_webhook("dingtalk", robot.url("dingtalk"), "wrong", MESSAGE)

    assert not result.ok
    assert "310000" in result.answer and "sign not match" in result.answer


def test_dingtalk_without_secret_sends_no_signature(robot):
    assert senders.send_webhook("dingtalk", robot.url("dingtalk"), "", MESSAGE).ok
    assert "sign" not in robot.requests[-1]["query"]


def test_wecom_markdown_with_its_key(robot):
    result = senders.send_webhook("wecom", robot.url("wecom"), "", MESSAGE)

    assert result.ok, result.answer
    body = robot.requests[-1]["body"]
    assert body == {"msgtype": "markdown", "markdown": {"content": body["markdown"]["content"]}}
    assert body["markdown"]["content"].startswith("### 事项超期提醒")


def test_wecom_wrong_key_is_the_robots_error(robot):
    result = senders.send_webhook("wecom", robot.url("wecom", token="bad-key"), "", MESSAGE)

    assert not result.ok and "93000" in result.answer


def test_wecom_long_content_is_cut_to_its_limit(robot):
    long = senders.Message(title="摘要", text="进展" * 3000)
    assert senders.send_webhook("wecom", robot.url("wecom"), "", long).ok
    assert len(robot.requests[-1]["body"]["markdown"]["content"].encode()) <= senders.WECOM_MAX_BYTES


def test_feishu_signed_post_is_accepted(robot):
    result = senders.send_webhook("feishu", robot.url("feishu"), SECRET, MESSAGE)

    assert result.ok, result.answer
    body = robot.requests[-1]["body"]
    assert body["msg_type"] == "post" and body["timestamp"].isdigit() and len(body["timestamp"]) == 10
    post = body["content"]["post"]["zh_cn"]
    assert post["title"] == "事项超期提醒"
    assert [{"tag": "a", "text": "查看详情", "href": "https://luoshi.example/items/1/"}] in post["content"]


def test_feishu_older_answer_counts_as_success(robot):
    assert senders.send_webhook("feishu", robot.url("feishu-old"), SECRET, MESSAGE).ok


def test_feishu_wrong_secret_is_the_robots_error(robot):
    result = senders.send_webhook("feishu", robot.url("feishu"), "wrong", MESSAGE)

    assert not result.ok and "19021" in result.answer


def test_unreachable_robot_is_a_result_not_an_exception(closed_port):
    result = senders.send_webhook("dingtalk", closed_port, SECRET, MESSAGE)

    assert not result.ok and "ConnectError" in result.answer


def test_a_timeout_is_a_failure(robot, monkeypatch):
    def slow(*args, **kwargs):
        raise httpx.ReadTimeout("timed out")

    monkeypatch.setattr(httpx, "post", slow)
    result = senders.send_webhook("wecom", robot.url("wecom"), "", MESSAGE)
    assert not result.ok and "ReadTimeout" in result.answer


def test_an_error_page_is_a_failure(robot):
    result = senders.send_webhook("dingtalk", robot.url("broken"), "", MESSAGE)

    assert not result.ok and "HTTP 500" in result.answer


def test_email_goes_through_django_mail(mailoutbox, settings):
    settings.DEFAULT_FROM_EMAIL = "luoshi@example.gov.cn"
    assert senders.send_email("zhao@example.gov.cn", MESSAGE).ok

    [mail] = mailoutbox
    assert mail.subject == "事项超期提醒" and mail.to == ["zhao@example.gov.cn"]
    assert "https://luoshi.example/items/1/" in mail.body


def test_email_refused_by_the_server_is_a_failure(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 1, 2
    result = senders.send_email("zhao@example.gov.cn", MESSAGE)
    assert not result.ok and "ConnectionRefusedError" in result.answer
