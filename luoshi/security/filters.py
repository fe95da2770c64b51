import django_filters
from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from luoshi.orgs.filters import SearchFilterSetMixin
from luoshi.security.models import UserSession


class UserSessionFilterSet(SearchFilterSetMixin, django_filters.FilterSet):
    q = django_filters.CharFilter(
        label=_("搜索"),
        method="filter_search",
        widget=forms.TextInput(attrs={"placeholder": _("姓名、用户名或来源地址")}),
    )

    class Meta:
        model = UserSession
        fields = []

    def filter_search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(user__full_name__icontains=value)
            | Q(user__username__icontains=value)
            | Q(ip_address__startswith=value)
        )
