import django_filters
from django import forms
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from luoshi.core.forms import DateInput
from luoshi.core.widgets import AutocompleteSelect
from luoshi.ledgers.models import Ledger
from luoshi.orgs.models import Organisation
from luoshi.supervision.models import (
    Accountability,
    AccountabilityForm,
    Inspection,
    InspectionKind,
    InspectionStatus,
    Instruction,
    Interview,
    OrderKind,
    OrderLevel,
    OrderStatus,
    SupervisionOrder,
    Urge,
)

# Urging and escalation ---------------------------------------------------------------------------------


class UrgeFilterSet(django_filters.FilterSet):
    org = django_filters.ModelChoiceFilter(
        label=_("被催办单位（含下级）"),
        queryset=Organisation.objects.all(),
        method="filter_org_subtree",
        widget=AutocompleteSelect("orgs:org_autocomplete"),
    )
    ledger = django_filters.ModelChoiceFilter(
        label=_("台账"), field_name="item__ledger", queryset=Ledger.objects.none()
    )
    since = django_filters.DateFilter(
        label=_("催办日期起"), field_name="created_at", lookup_expr="date__gte", widget=DateInput()
    )
    until = django_filters.DateFilter(
        label=_("催办日期止"), field_name="created_at", lookup_expr="date__lte", widget=DateInput()
    )
    automatic = django_filters.ChoiceFilter(
        label=_("方式"),
        choices=(("manual", _("人工催办")), ("auto", _("按规则自动"))),
        method="filter_automatic",
        empty_label=_("全部"),
    )

    class Meta:
        model = Urge
        fields = []

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        if user is not None:
            self.filters["ledger"].queryset = Ledger.objects.visible_to(user)
        for field in self.form.fields.values():
            css = "form-select" if isinstance(field.widget, forms.Select) else "form-control"
            field.widget.attrs["class"] = f"{field.widget.attrs.get('class', '')} {css}".strip()

    def filter_org_subtree(self, queryset, name, org):
        return queryset.filter(organisation__path__startswith=org.path)

    def filter_automatic(self, queryset, name, value):
        return queryset.filter(urged_by__isnull=value == "auto")


# Supervision orders and notices ---------------------------------------------------------------------


class OrderFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("关键词"), method="filter_text")
    kind = django_filters.ChoiceFilter(label=_("类别"), choices=OrderKind.choices, empty_label=_("全部"))
    level = django_filters.ChoiceFilter(
        label=_("督办级别"), choices=OrderLevel.choices, empty_label=_("全部")
    )
    status = django_filters.ChoiceFilter(label=_("状态"), choices=OrderStatus.choices, empty_label=_("全部"))
    org = django_filters.ModelChoiceFilter(
        label=_("责任单位（含下级）"),
        queryset=Organisation.objects.all(),
        method="filter_org_subtree",
        widget=AutocompleteSelect("orgs:org_autocomplete"),
    )
    year = django_filters.NumberFilter(label=_("年度"))
    overdue = django_filters.BooleanFilter(
        label=_("逾期未回复"), method="filter_overdue", widget=forms.CheckboxInput
    )

    class Meta:
        model = SupervisionOrder
        fields = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.form.fields.values():
            if isinstance(field.widget, forms.CheckboxInput):
                css = "form-check-input"
            else:
                css = "form-select" if isinstance(field.widget, forms.Select) else "form-control"
            field.widget.attrs["class"] = f"{field.widget.attrs.get('class', '')} {css}".strip()

    def filter_text(self, queryset, name, value):
        term = value.strip()
        return queryset.filter(subject__icontains=term) if term else queryset

    def filter_org_subtree(self, queryset, name, org):
        return queryset.filter(organisation__path__startswith=org.path)

    def filter_overdue(self, queryset, name, value):
        if not value:
            return queryset
        return queryset.filter(
            status__in=(OrderStatus.ISSUED, OrderStatus.SIGNED), reply_deadline__lt=timezone.localdate()
        )


# Interviews and accountability ------------------------------------------------------------------------


class _OfficeRecordFilterSet(django_filters.FilterSet):
    org = django_filters.ModelChoiceFilter(
        label=_("单位（含下级）"),
        queryset=Organisation.objects.all(),
        method="filter_org_subtree",
        widget=AutocompleteSelect("orgs:org_autocomplete"),
    )
    item = django_filters.NumberFilter(field_name="items", widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.form.fields.values():
            if isinstance(field.widget, forms.HiddenInput):
                continue
            css = "form-select" if isinstance(field.widget, forms.Select) else "form-control"
            field.widget.attrs["class"] = f"{field.widget.attrs.get('class', '')} {css}".strip()

    def filter_org_subtree(self, queryset, name, org):
        return queryset.filter(organisation__path__startswith=org.path)


class InterviewFilterSet(_OfficeRecordFilterSet):
    since = django_filters.DateFilter(
        label=_("约谈日期起"), field_name="held_on", lookup_expr="gte", widget=DateInput()
    )
    until = django_filters.DateFilter(
        label=_("约谈日期止"), field_name="held_on", lookup_expr="lte", widget=DateInput()
    )

    class Meta:
        model = Interview
        fields = []


class AccountabilityFilterSet(_OfficeRecordFilterSet):
    form = django_filters.ChoiceFilter(
        label=_("问责方式"), choices=AccountabilityForm.choices, empty_label=_("全部")
    )
    since = django_filters.DateFilter(
        label=_("决定日期起"), field_name="decided_on", lookup_expr="gte", widget=DateInput()
    )
    until = django_filters.DateFilter(
        label=_("决定日期止"), field_name="decided_on", lookup_expr="lte", widget=DateInput()
    )

    class Meta:
        model = Accountability
        fields = []


# Inspections and rectification ------------------------------------------------------------------------


class InspectionFilterSet(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(label=_("方式"), choices=InspectionKind.choices, empty_label=_("全部"))
    status = django_filters.ChoiceFilter(
        label=_("状态"), choices=InspectionStatus.choices, empty_label=_("全部")
    )
    office = django_filters.ModelChoiceFilter(
        label=_("组织单位"),
        queryset=Organisation.objects.all(),
        widget=AutocompleteSelect("orgs:org_autocomplete"),
    )
    unit = django_filters.ModelChoiceFilter(
        label=_("督查对象（含下级）"),
        queryset=Organisation.objects.all(),
        method="filter_unit",
        widget=AutocompleteSelect("orgs:org_autocomplete"),
    )
    since = django_filters.DateFilter(
        label=_("督查日期起"), field_name="planned_on", lookup_expr="gte", widget=DateInput()
    )
    until = django_filters.DateFilter(
        label=_("督查日期止"), field_name="planned_on", lookup_expr="lte", widget=DateInput()
    )

    class Meta:
        model = Inspection
        fields = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.form.fields.values():
            css = "form-select" if isinstance(field.widget, forms.Select) else "form-control"
            field.widget.attrs["class"] = f"{field.widget.attrs.get('class', '')} {css}".strip()

    def filter_unit(self, queryset, name, org):
        # A subquery, not a join: joining the targets would repeat inspections and their counts.
        targeted = Inspection.targets.through.objects.filter(organisation__path__startswith=org.path)
        return queryset.filter(pk__in=targeted.values("inspection_id"))


# Leaders' instructions ----------------------------------------------------------------------------------


class InstructionFilterSet(django_filters.FilterSet):
    state = django_filters.ChoiceFilter(
        label=_("状态"),
        choices=(("open", _("未办结")), ("closed", _("已办结"))),
        method="filter_state",
        empty_label=_("全部"),
    )
    q = django_filters.CharFilter(label=_("关键词"), method="filter_text")

    class Meta:
        model = Instruction
        fields = ()

    def filter_state(self, queryset, name, value):
        return queryset.filter(is_open=value == "open")

    def filter_text(self, queryset, name, value):
        return queryset.filter(Q(text__icontains=value) | Q(item__title__icontains=value))
