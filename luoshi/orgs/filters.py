import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _

from luoshi.orgs import selectors
from luoshi.orgs.models import Organisation, OrgKind, Role, User


class SearchFilterSetMixin:
    """Tabler classes on every visible filter widget."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.form.fields.values():
            if isinstance(field.widget, forms.HiddenInput):
                continue
            css = (
                "form-select"
                if isinstance(field.widget, forms.Select | forms.SelectMultiple)
                else "form-control"
            )
            field.widget.attrs["class"] = f"{field.widget.attrs.get('class', '')} {css}".strip()


class OrganisationFilterSet(SearchFilterSetMixin, django_filters.FilterSet):
    q = django_filters.CharFilter(
        label=_("搜索"),
        method="filter_search",
        widget=forms.TextInput(attrs={"placeholder": _("名称、简称、别名或拼音首字母")}),
    )
    kind = django_filters.ChoiceFilter(label=_("类型"), choices=OrgKind.choices)
    is_active = django_filters.BooleanFilter(
        label=_("启用"),
        widget=forms.Select(choices=[("", _("全部")), ("true", _("启用")), ("false", _("停用"))]),
    )

    class Meta:
        model = Organisation
        fields = []

    def filter_search(self, queryset, name, value):
        if not value.strip():
            return queryset
        return queryset.filter(pk__in=selectors.organisation_list(search=value).values("pk"))


class UserFilterSet(SearchFilterSetMixin, django_filters.FilterSet):
    q = django_filters.CharFilter(
        label=_("搜索"),
        method="filter_search",
        widget=forms.TextInput(attrs={"placeholder": _("姓名、用户名、拼音首字母或完整手机号")}),
    )
    role = django_filters.ChoiceFilter(label=_("角色"), choices=Role.choices, method="filter_role")
    is_active = django_filters.BooleanFilter(
        label=_("状态"),
        widget=forms.Select(choices=[("", _("全部")), ("true", _("启用")), ("false", _("停用"))]),
    )

    class Meta:
        model = User
        fields = []

    def filter_search(self, queryset, name, value):
        if not value.strip():
            return queryset
        return queryset.filter(pk__in=selectors.user_list(search=value, by_phone=True).values("pk"))

    def filter_role(self, queryset, name, value):
        return queryset.filter(pk__in=selectors.people_with_role(value).values("pk"))
