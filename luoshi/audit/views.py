from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django_tables2.paginators import LazyPaginator

from luoshi.audit import selectors
from luoshi.audit.filters import AuditEventFilterSet
from luoshi.audit.models import AuditAction, AuditEvent
from luoshi.audit.services import record
from luoshi.audit.tables import AuditEventTable
from luoshi.core.export import csv_response
from luoshi.core.views import ObjectListView, RoleRequiredMixin
from luoshi.orgs.models import Role

AUDIT_ADMIN = frozenset({Role.AUDIT_ADMIN})


def _query(request) -> dict:
    """The filters a read or an export used, as recorded on the trail."""
    return {key: values if len(values) > 1 else values[0] for key, values in request.GET.lists()}


class AuditEventListView(ObjectListView):
    """The audit trail, newest first, read-only; only the audit admin reads it (三员分立).

    Each read is itself on the trail, with the filters used: the auditor is audited too.
    """

    required_roles = AUDIT_ADMIN
    table_class = AuditEventTable
    filterset_class = AuditEventFilterSet
    template_name = "audit/event_list.html"
    title = gettext_lazy("审计日志")
    # No COUNT(*) over millions of rows: the paginator only looks one page ahead.
    table_pagination = {"paginator_class": LazyPaginator}

    def get_queryset(self):
        return selectors.event_list()

    def get(self, request, *args, **kwargs):
        response = super().get(request, *args, **kwargs)
        record(
            action=AuditAction.VIEW,
            object_type=AuditEvent._meta.label,
            object_repr=_("审计日志"),
            after={"query": _query(request)},
        )
        return response


class AuditEventExportView(RoleRequiredMixin, View):
    """The filtered trail as a streamed CSV for the audit admin; the export is recorded first."""

    required_roles = AUDIT_ADMIN
    http_method_names = ["get"]

    def get(self, request):
        events = AuditEventFilterSet(request.GET, queryset=selectors.event_list()).qs
        record(
            action=AuditAction.EXPORT,
            object_type=AuditEvent._meta.label,
            object_repr=_("审计日志"),
            after={"query": _query(request)},
        )
        filename = _("审计日志-%(time)s.csv") % {"time": timezone.localtime().strftime("%Y%m%d-%H%M%S")}
        return csv_response(filename, selectors.EXPORT_HEADER, selectors.export_rows(events))
