import django_filters
from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from luoshi.core.forms import DateInput
from luoshi.core.widgets import AutocompleteSelect
from luoshi.ledgers.models import Item, ItemKind, ItemStatus, Ledger, ScheduleCategory, Tag, WarningColor
from luoshi.orgs.models import Organisation, User


class ItemFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("关键词"), method="filter_text")
    ledger = django_filters.ModelChoiceFilter(label=_("台账"), queryset=Ledger.objects.none())
    org = django_filters.ModelChoiceFilter(
        label=_("责任单位（含下级）"),
        queryset=Organisation.objects.all(),
        method="filter_org_subtree",
        widget=AutocompleteSelect("orgs:org_autocomplete"),
    )
    leader = django_filters.ModelChoiceFilter(
        label=_("牵头领导"),
        field_name="lead_leader",
        queryset=User.objects.all(),
        widget=AutocompleteSelect("orgs:leader_autocomplete"),
    )
    status = django_filters.MultipleChoiceFilter(
        distinct=False, label=_("状态"), choices=ItemStatus.choices, widget=forms.SelectMultiple
    )
    color = django_filters.MultipleChoiceFilter(
        distinct=False,
        label=_("预警"),
        field_name="warning_color",
        choices=WarningColor.choices,
        widget=forms.SelectMultiple,
    )
    schedule = django_filters.MultipleChoiceFilter(
        distinct=False,
        label=_("进度类别"),
        field_name="schedule_category",
        choices=ScheduleCategory.choices,
        widget=forms.SelectMultiple,
    )
    lead_org = django_filters.NumberFilter(field_name="lead_org_id", widget=forms.HiddenInput)
    kind = django_filters.ChoiceFilter(label=_("层级"), choices=ItemKind.choices)
    tag = django_filters.ModelChoiceFilter(label=_("标签"), field_name="tags", queryset=Tag.objects.all())
    deadline_after = django_filters.DateFilter(
        label=_("时限起"), field_name="deadline", lookup_expr="gte", widget=DateInput()
    )
    deadline_before = django_filters.DateFilter(
        label=_("时限止"), field_name="deadline", lookup_expr="lte", widget=DateInput()
    )
    parent = django_filters.NumberFilter(field_name="parent_id", widget=forms.HiddenInput)

    class Meta:
        model = Item
        fields = []

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        if user is not None:
            self.filters["ledger"].queryset = Ledger.objects.visible_to(user)
        for _name, field in self.form.fields.items():
            if isinstance(field.widget, forms.HiddenInput):
                continue
            css = (
                "form-select"
                if isinstance(field.widget, forms.Select | forms.SelectMultiple)
                else "form-control"
            )
            field.widget.attrs["class"] = f"{field.widget.attrs.get('class', '')} {css}".strip()

    def filter_text(self, queryset, name, value):
        term = value.strip()
        if not term:
            return queryset
        condition = (
            Q(title__icontains=term)
            | Q(code__iexact=term)
            | Q(lead_org__name__icontains=term)
            | Q(lead_org__short_name__icontains=term)
        )
        if term.isascii() and term.isalpha():
            condition |= Q(lead_org__pinyin_initials__contains=term.lower())
        return queryset.filter(condition)

    def filter_org_subtree(self, queryset, name, org):
        units = Organisation.objects.filter(path__startswith=org.path).values("id")
        return queryset.filter(lead_org_id__in=units)


class LedgerFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("名称"), field_name="name", lookup_expr="icontains")
    year = django_filters.NumberFilter(label=_("年度"))

    class Meta:
        model = Ledger
        fields = []
