import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from luoshi.assessment.models import Scheme


class SchemeFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("方案名称"), method="filter_search")
    year = django_filters.NumberFilter(label=_("年度"))

    class Meta:
        model = Scheme
        fields = ["q", "year"]

    def filter_search(self, queryset, name, value):
        return queryset.filter(Q(name__icontains=value.strip())) if value.strip() else queryset
