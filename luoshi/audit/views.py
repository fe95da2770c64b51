from django.utils.translation import gettext_lazy as _
from django_tables2.paginators import LazyPaginator

from luoshi.audit import selectors
from luoshi.audit.filters import AuditEventFilterSet
from luoshi.audit.tables import AuditEventTable
from luoshi.core.views import ObjectListView
from luoshi.orgs.models import Role


class AuditEventListView(ObjectListView):
    """The audit trail, newest first, read-only; only the audit admin reads it (三员分立)."""

    required_roles = frozenset({Role.AUDIT_ADMIN})
    table_class = AuditEventTable
    filterset_class = AuditEventFilterSet
    template_name = "audit/event_list.html"
    title = _("审计日志")
    # No COUNT(*) over millions of rows: the paginator only looks one page ahead.
    table_pagination = {"paginator_class": LazyPaginator}

    def get_queryset(self):
        return selectors.event_list()
