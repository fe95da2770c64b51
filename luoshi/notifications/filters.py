import django_filters
from django.utils.translation import gettext_lazy as _

from luoshi.notifications.models import Channel, ChannelKind, Delivery, DeliveryStatus, Event, Notification
from luoshi.orgs.filters import SearchFilterSetMixin


class InboxFilterSet(SearchFilterSetMixin, django_filters.FilterSet):
    event = django_filters.ChoiceFilter(label=_("类型"), choices=Event.choices)
    unread = django_filters.BooleanFilter(label=_("只看未读"), field_name="read_at", lookup_expr="isnull")

    class Meta:
        model = Notification
        fields = []


class DeliveryFilterSet(SearchFilterSetMixin, django_filters.FilterSet):
    status = django_filters.ChoiceFilter(
        label=_("状态"),
        choices=[(DeliveryStatus.DEAD, _("已放弃")), (DeliveryStatus.FAILED, _("失败待重试"))],
    )

    class Meta:
        model = Delivery
        fields = []


class ChannelFilterSet(SearchFilterSetMixin, django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(label=_("类型"), choices=ChannelKind.choices)
    is_active = django_filters.BooleanFilter(label=_("启用"))

    class Meta:
        model = Channel
        fields = []
