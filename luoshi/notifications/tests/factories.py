from luoshi.notifications import services
from luoshi.notifications.models import Channel, ChannelKind
from luoshi.notifications.tests.conftest import SECRET, TOKEN


def make_channel(
    *, user, ledger=None, organisation=None, kind=ChannelKind.DINGTALK, url="", **fields
) -> Channel:
    """A robot saved through the service (so it is validated); ``url`` defaults to an unused local one."""
    url = (
        url
        or {
            ChannelKind.DINGTALK: f"http://127.0.0.1:9/dingtalk/send?access_token={TOKEN}",
            ChannelKind.WECOM: f"http://127.0.0.1:9/wecom/send?key={TOKEN}",
            ChannelKind.FEISHU: f"http://127.0.0.1:9/feishu/{TOKEN}",
        }[kind]
    )
    fields.setdefault("secret", "" if kind == ChannelKind.WECOM else SECRET)
    fields.setdefault("name", f"{kind}群")
    channel = Channel(kind=kind, webhook_url=url, ledger=ledger, organisation=organisation, **fields)
    return services.save_channel(user=user, channel=channel)
