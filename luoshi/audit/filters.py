import datetime as dt

import django_filters
from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from luoshi.audit import selectors
from luoshi.audit.models import AuditAction, AuditEvent
from luoshi.core.forms import DateInput
from luoshi.core.widgets import AutocompleteSelect
from luoshi.orgs.models import User


def _start_of(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


class AuditEventFilterSet(django_filters.FilterSet):
    user = django_filters.ModelChoiceFilter(
        label=_("用户"), queryset=User.objects.all(), widget=AutocompleteSelect("orgs:user_autocomplete")
    )
    username = django_filters.CharFilter(label=_("账号"), lookup_expr="iexact")
    action = django_filters.MultipleChoiceFilter(
        label=_("操作"), choices=AuditAction.choices, widget=forms.SelectMultiple
    )
    object_type = django_filters.ChoiceFilter(label=_("对象类型"), choices=selectors.object_type_choices)
    object_id = django_filters.CharFilter(label=_("对象编号"))
    date_after = django_filters.DateFilter(label=_("日期起"), method="filter_after", widget=DateInput())
    date_before = django_filters.DateFilter(label=_("日期止"), method="filter_before", widget=DateInput())

    class Meta:
        model = AuditEvent
        fields = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.form.fields.values():
            css = (
                "form-select"
                if isinstance(field.widget, forms.Select | forms.SelectMultiple)
                else "form-control"
            )
            field.widget.attrs["class"] = f"{field.widget.attrs.get('class', '')} {css}".strip()

    # Local calendar days as half-open datetime ranges, so the created_at index is used.
    def filter_after(self, queryset, name, value):
        return queryset.filter(created_at__gte=_start_of(value))

    def filter_before(self, queryset, name, value):
        return queryset.filter(created_at__lt=_start_of(value + dt.timedelta(days=1)))
