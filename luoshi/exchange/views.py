"""Screens for moving ledgers in and out: Excel import and export, document outlines, briefings."""

import io
import tempfile

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View

from luoshi.audit.models import AuditAction
from luoshi.audit.services import record
from luoshi.core.documents import DOCX_CONTENT_TYPE
from luoshi.core.exceptions import StaleObjectError
from luoshi.core.forms import VersionedFormMixin
from luoshi.core.uploads import FileIntegrityError, content_disposition, stored_file_response
from luoshi.core.views import RoleRequiredMixin, ServiceFormMixin
from luoshi.exchange import selectors as exchange_selectors
from luoshi.exchange import services as import_services
from luoshi.exchange.briefing import briefing_context, render_briefing
from luoshi.exchange.export import CONTENT_TYPE as XLSX_CONTENT_TYPE
from luoshi.exchange.export import (
    export_ledger,
    export_template,
    item_fields,
    ledger_items,
    ledger_title,
    write_items_workbook,
)
from luoshi.exchange.forms import (
    ImportColumnsForm,
    ImportNamesForm,
    ImportUploadForm,
    OutlineNodeForm,
    OutlineStartForm,
)
from luoshi.exchange.models import ExportJob, ExportKind, ImportBatch, ImportStatus, OutlineDraft
from luoshi.exchange.workbook import WorkbookError
from luoshi.ledgers import selectors as ledger_selectors
from luoshi.ledgers.models import FieldTarget, Ledger
from luoshi.ledgers.views import BUSINESS_ROLES, ItemListView
from luoshi.orgs.models import Organisation, Role
from luoshi.orgs.selectors import access_profile

# Export --------------------------------------------------------------------------------------------


def workbook_response(request, write, *, name: str, title: str, ledger: Ledger | None) -> FileResponse:
    """The workbook ``write(stream)`` builds, as a download, recorded in the audit trail.

    It is built in a temporary file and streamed from there, so a large export never sits in memory.
    ``write`` returns the number of item rows (``None`` for a blank template).
    """
    stream = tempfile.TemporaryFile()  # noqa: SIM115 (the response closes it once sent)
    try:
        rows = write(stream)
    except BaseException:
        stream.close()
        raise
    stream.seek(0)
    after = {"format": "xlsx", "query": request.GET.urlencode()}
    after.update({"template": True} if rows is None else {"rows": rows})
    record(
        action=AuditAction.EXPORT,
        obj=ledger,
        object_type="" if ledger else "ledgers.Item",
        object_repr=title,
        after=after,
    )
    response = FileResponse(stream, content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = content_disposition(name, inline=False)
    response["Cache-Control"] = "private, no-store"
    return response


def _visible_ledger(request, pk: int) -> Ledger:
    return get_object_or_404(Ledger.objects.visible_to(request.user), pk=pk)


def _supervised_ledger(request, pk: int) -> Ledger:
    supervised = Ledger.objects.filter(owner_office_id__in=access_profile(request.user).supervisor_org_ids)
    return get_object_or_404(supervised, pk=pk)


def in_background(request, items, *, kind: str, title: str, ledger: Ledger | None, query: str = ""):
    """For an export of more rows than ``EXCHANGE_BACKGROUND_EXPORT_ROWS``: the job that builds it in
    the worker, and the way to 我的导出; ``None`` for one small enough to build in the request."""
    rows = items.count()
    if rows <= settings.EXCHANGE_BACKGROUND_EXPORT_ROWS:
        return None
    import_services.queue_export(
        user=request.user, kind=kind, title=title, rows=rows, ledger=ledger, query=query
    )
    messages.info(
        request,
        _("共 %(rows)s 行，已转入后台生成；完成后会发消息通知您，也可在本页下载。") % {"rows": rows},
    )
    return redirect("exchange:export_list")


class LedgerExportView(RoleRequiredMixin, View):
    """The ledger's items the user sees, as an office ledger workbook (built in the worker when large)."""

    required_roles = BUSINESS_ROLES
    http_method_names = ["get"]

    def get(self, request, pk):
        ledger = _visible_ledger(request, pk)
        title = ledger_title(ledger)
        queued = in_background(
            request, ledger_items(request.user, ledger), kind=ExportKind.LEDGER, title=title, ledger=ledger
        )
        if queued is not None:
            return queued
        return workbook_response(
            request,
            lambda stream: export_ledger(ledger, request.user, stream),
            name=f"{title}-{timezone.localdate():%Y%m%d}.xlsx",
            title=title,
            ledger=ledger,
        )


class ItemListExportView(ItemListView):
    """The item list, filtered as the list screen filters it (its selector, filter set and rules), as a
    workbook; narrowed to one ledger, it carries that ledger's title and custom columns."""

    http_method_names = ["get"]

    def get(self, request, *args, **kwargs):
        items = self.filtered_items()
        filtered = self.filtered_ledger()
        ledger = filtered["ledger"] if filtered else None
        title = ledger_title(ledger) if ledger else _("事项清单")
        queued = in_background(
            request,
            items,
            kind=ExportKind.ITEM_LIST,
            title=title,
            ledger=ledger,
            query=request.GET.urlencode(),
        )
        if queued is not None:
            return queued
        return workbook_response(
            request,
            lambda stream: write_items_workbook(
                items, stream=stream, title=title, fields=item_fields(ledger)
            ),
            name=f"{title}-{timezone.localdate():%Y%m%d}.xlsx",
            title=title,
            ledger=ledger,
        )


class ExportListView(RoleRequiredMixin, View):
    """我的导出: the user's background exports; the list refreshes itself while one is being built."""

    required_roles = BUSINESS_ROLES
    http_method_names = ["get"]
    template_name = "exchange/export_list.html"
    shown = 100

    def get(self, request):
        jobs = list(exchange_selectors.my_exports(request.user)[: self.shown])
        context = {"jobs": jobs, "polling": any(job.is_pending for job in jobs)}
        template = f"{self.template_name}#jobs" if request.htmx else self.template_name
        return render(request, template, context)


class ExportDownloadView(RoleRequiredMixin, View):
    """A finished background export, to the user who asked for it alone; audited like any export."""

    required_roles = BUSINESS_ROLES
    http_method_names = ["get"]

    def get(self, request, pk):
        try:
            job = exchange_selectors.downloadable_export(request.user, pk)
        except ExportJob.DoesNotExist:
            raise Http404 from None
        audited = {
            "obj": job.ledger,
            "object_type": "" if job.ledger else "ledgers.Item",
            "object_repr": job.title,
        }
        try:
            response = stored_file_response(job)
        except FileIntegrityError as error:
            record(
                action=AuditAction.EXPORT,
                success=False,
                after={"export": job.pk, "reason": str(error)},
                **audited,
            )
            messages.error(
                request,
                _("导出文件未通过完整性校验（%(reason)s），已停止下载。请重新导出。") % {"reason": error},
            )
            return redirect("exchange:export_list")
        record(
            action=AuditAction.EXPORT,
            after={"format": "xlsx", "rows": job.row_count, "query": job.query, "export": job.pk},
            **audited,
        )
        return response


class LedgerTemplateView(RoleRequiredMixin, View):
    """The ledger's blank import template, with drop-down lists."""

    required_roles = BUSINESS_ROLES
    http_method_names = ["get"]

    def get(self, request, pk):
        ledger = _visible_ledger(request, pk)
        title = ledger_title(ledger)
        return workbook_response(
            request,
            lambda stream: export_template(ledger, request.user, stream),
            name=_("%(ledger)s-导入模板.xlsx") % {"ledger": title},
            title=title,
            ledger=ledger,
        )


# Briefing ------------------------------------------------------------------------------------------


def briefing_response(request, items, *, title: str, office: str, ledger: Ledger | None = None):
    """The briefing of ``items`` as a .docx download, recorded in the audit trail.

    ``?red_header=1`` adds the red header (the office's name and a red rule) above the title.
    """
    as_of = timezone.localdate()
    context = briefing_context(
        items, title=title, office=office, as_of=as_of, red_header=request.GET.get("red_header") == "1"
    )
    stream = io.BytesIO()
    render_briefing(context, stream)
    record(
        action=AuditAction.EXPORT,
        obj=ledger,
        object_type="" if ledger else "ledgers.Item",
        object_repr=title,
        after={"format": "docx", "items": context["total"], "query": request.GET.urlencode()},
    )
    stream.seek(0)
    response = FileResponse(stream, content_type=DOCX_CONTENT_TYPE)
    response["Content-Disposition"] = content_disposition(f"{title}-{as_of:%Y%m%d}.docx", inline=False)
    response["Cache-Control"] = "private, no-store"
    return response


def briefing_title(ledger: Ledger | None) -> str:
    if ledger is None:
        return _("工作进展情况通报")
    return _("%(ledger)s进展情况通报") % {"ledger": ledger_title(ledger)}


def issuing_office(user, ledger: Ledger | None) -> str:
    """Who signs the briefing: the ledger's office, else the user's own office or unit."""
    if ledger is not None:
        return ledger.owner_office.name
    profile = access_profile(user)
    own = profile.supervisor_org_ids or profile.unit_org_ids
    offices = (
        Organisation.objects.filter(pk__in=own)
        if own
        else Organisation.objects.filter(memberships__user=user)
    )
    office = offices.order_by("path").first()
    return office.name if office else ""


class LedgerBriefingView(RoleRequiredMixin, View):
    """The ledger's items the user sees, as a progress briefing."""

    required_roles = BUSINESS_ROLES
    http_method_names = ["get"]

    def get(self, request, pk):
        ledger = get_object_or_404(
            Ledger.objects.visible_to(request.user).select_related("owner_office"), pk=pk
        )
        items = ledger_selectors.item_list(request.user).filter(ledger=ledger)
        return briefing_response(
            request,
            items,
            title=briefing_title(ledger),
            office=issuing_office(request.user, ledger),
            ledger=ledger,
        )


class ItemListBriefingView(ItemListView):
    """The item list, filtered as the list screen filters it (its selector, filter set and rules), as a
    progress briefing."""

    http_method_names = ["get"]

    def get(self, request, *args, **kwargs):
        items = self.filtered_items()
        filtered = self.filtered_ledger()
        ledger = filtered["ledger"] if filtered else None
        return briefing_response(
            request,
            items,
            title=briefing_title(ledger),
            office=issuing_office(request.user, ledger),
            ledger=ledger,
        )


# Import --------------------------------------------------------------------------------------------


class ImportUploadView(RoleRequiredMixin, ServiceFormMixin, View):
    """Step 1: a workbook uploaded into a ledger, read at once so a bad file is refused here."""

    required_roles = frozenset({Role.SUPERVISOR})
    template_name = "exchange/import_upload.html"

    def get(self, request, pk):
        return render(
            request,
            self.template_name,
            {"ledger": _supervised_ledger(request, pk), "form": ImportUploadForm()},
        )

    def post(self, request, pk):
        ledger = _supervised_ledger(request, pk)
        form = ImportUploadForm(request.POST, request.FILES)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            batch = self.run_service(
                form, lambda: import_services.upload_import(ledger=ledger, user=request.user, upload=upload)
            )
            if batch is not None:
                return redirect("exchange:import_preview", pk=batch.pk)
        return render(request, self.template_name, {"ledger": ledger, "form": form})


class ImportBatchMixin(RoleRequiredMixin):
    required_roles = frozenset({Role.SUPERVISOR})

    def get_batch(self, request, pk):
        try:
            return exchange_selectors.import_batch(request.user, pk)
        except ImportBatch.DoesNotExist:
            raise Http404 from None


class ImportPreviewView(ImportBatchMixin, View):
    """Step 2: every row as it will be written, the column mapping, and the names to map once."""

    template_name = "exchange/import_preview.html"
    rows_per_page = 100

    def get(self, request, pk):
        batch = self.get_batch(request, pk)
        context = {"batch": batch, "ledger": batch.ledger}
        if batch.status == ImportStatus.PENDING:
            context.update(self.preview(request, batch))
        return render(request, self.template_name, context)

    def preview(self, request, batch) -> dict:
        try:
            plan = exchange_selectors.batch_plan(batch)
        except WorkbookError as error:
            return {"read_error": error.message}
        only_errors = request.GET.get("errors") == "1"
        rows = [row for row in plan.rows if row.errors] if only_errors else plan.rows
        page = Paginator(rows, self.rows_per_page).get_page(request.GET.get("page"))
        custom_fields = [field for field in batch.ledger.fields.all() if field.target == FieldTarget.ITEM]
        return {
            "plan": plan,
            "page": page,
            "only_errors": only_errors,
            "columns_form": ImportColumnsForm(table=plan.table, custom_fields=custom_fields),
            "names_form": ImportNamesForm(unresolved=plan.unresolved),
        }


class ImportColumnsView(ImportBatchMixin, View):
    def post(self, request, pk):
        batch = self.get_batch(request, pk)
        try:
            table = exchange_selectors.batch_table(batch)
        except WorkbookError as error:
            messages.error(request, error.message)
            return redirect("exchange:import_preview", pk=batch.pk)
        custom_fields = [field for field in batch.ledger.fields.all() if field.target == FieldTarget.ITEM]
        form = ImportColumnsForm(request.POST, table=table, custom_fields=custom_fields)
        if form.is_valid():
            _run_step(
                request,
                lambda: import_services.choose_columns(batch=batch, user=request.user, columns=form.chosen()),
                _("已按所选字段重新读取。"),
            )
        else:
            messages.error(request, _("请从列表中选择字段。"))
        return redirect("exchange:import_preview", pk=batch.pk)


class ImportNamesView(ImportBatchMixin, View):
    def post(self, request, pk):
        batch = self.get_batch(request, pk)
        try:
            plan = exchange_selectors.batch_plan(batch)
        except WorkbookError as error:
            messages.error(request, error.message)
            return redirect("exchange:import_preview", pk=batch.pk)
        form = ImportNamesForm(request.POST, unresolved=plan.unresolved)
        if form.is_valid():
            units, leaders = form.chosen()
            _run_step(
                request,
                lambda: import_services.map_names(
                    batch=batch, user=request.user, unit_names=units, leader_names=leaders
                ),
                _("已对应 %(count)s 个名称。") % {"count": len(units) + len(leaders)},
            )
        else:
            messages.error(request, _("所选单位或人员无效，请重新选择。"))
        return redirect("exchange:import_preview", pk=batch.pk)


class ImportConfirmView(ImportBatchMixin, View):
    """Step 3: everything written, or nothing."""

    def post(self, request, pk):
        batch = self.get_batch(request, pk)
        result = _run_step(
            request, lambda: import_services.confirm_import(batch=batch, user=request.user), None
        )
        if result is None:
            return redirect("exchange:import_preview", pk=batch.pk)
        messages.success(
            request,
            _("导入完成：新增 %(created)s 项，更新 %(updated)s 项，未变 %(unchanged)s 项。") % vars(result),
        )
        return redirect("ledgers:ledger_detail", pk=batch.ledger_id)


def _run_step(request, call, success: str | None):
    """Run a service; its refusal becomes error messages on the page the user returns to."""
    try:
        result = call()
    except ValidationError as error:
        for message in error.messages[:20]:
            messages.error(request, message)
        if len(error.messages) > 20:
            messages.error(request, _("……另有 %(count)s 条错误。") % {"count": len(error.messages) - 20})
        return None
    if success:
        messages.success(request, success)
    return result


# Outline -------------------------------------------------------------------------------------------


class OutlineStartView(RoleRequiredMixin, ServiceFormMixin, View):
    """A pasted text or an uploaded .docx/.txt becomes a proposed item tree, to edit before saving."""

    required_roles = frozenset({Role.SUPERVISOR})
    template_name = "exchange/outline_start.html"

    def page(self, request, ledger, form):
        drafts = exchange_selectors.open_outline_drafts(request.user, ledger)
        return render(request, self.template_name, {"ledger": ledger, "form": form, "open_drafts": drafts})

    def get(self, request, pk):
        return self.page(request, _supervised_ledger(request, pk), OutlineStartForm())

    def post(self, request, pk):
        ledger = _supervised_ledger(request, pk)
        form = OutlineStartForm(request.POST, request.FILES)
        if form.is_valid():
            draft = self.run_service(
                form,
                lambda: import_services.start_outline(
                    ledger=ledger,
                    user=request.user,
                    text=form.cleaned_data["text"],
                    upload=form.cleaned_data["upload"],
                ),
            )
            if draft is not None:
                return redirect("exchange:outline_editor", pk=draft.pk)
        return self.page(request, ledger, form)


class OutlineDraftMixin(RoleRequiredMixin):
    required_roles = frozenset({Role.SUPERVISOR})

    def get_draft(self, request, pk) -> OutlineDraft:
        try:
            return exchange_selectors.outline_draft(request.user, pk)
        except OutlineDraft.DoesNotExist:
            raise Http404 from None


# The buttons beside each node, in the order shown (删除, which asks first, has a form of its own).
OUTLINE_BUTTONS = (
    ("up", gettext_lazy("上移")),
    ("down", gettext_lazy("下移")),
    ("indent", gettext_lazy("降级")),
    ("outdent", gettext_lazy("升级")),
    ("merge", gettext_lazy("并入上一条")),
)


def _node_form_id(node_id) -> str:
    # Every node has its own edit form on the page: its fields need ids of their own.
    return f"node-{node_id}-%s"


def _edit_outline(draft: OutlineDraft, user, data: dict) -> OutlineDraft:
    """The edit a node form asks for, run by its service."""
    common = {"draft": draft, "user": user, "node": data["node"], "version": data["version"]}
    operation = data["operation"]
    if operation == "rename":
        return import_services.rename_node(**common, title=data["title"])
    if operation == "fields":
        fields = ("description", "lead_org", "co_orgs", "lead_leader", "deadline", "standing", "cycle")
        return import_services.set_node_fields(**common, **{name: data[name] for name in fields})
    if operation == "merge":
        return import_services.merge_node(**common)
    if operation == "drop":
        return import_services.drop_node(**common)
    return import_services.move_node(**common, direction=operation)


class OutlineEditorView(OutlineDraftMixin, ServiceFormMixin, View):
    """The proposed tree as nested lists: each node with its fields, its problems in red, buttons that
    move, merge or drop it, and its edit form. An edit answers htmx with the tree alone."""

    template_name = "exchange/outline_editor.html"

    def get(self, request, pk):
        return render(request, self.template_name, self.context(self.get_draft(request, pk)))

    def context(self, draft: OutlineDraft, *, bound: OutlineNodeForm | None = None, stale=False) -> dict:
        problems = {} if draft.saved_at else exchange_selectors.outline_problems(draft)
        bound_node = bound.data.get("node") if bound is not None else None

        def view(node: dict) -> dict:
            is_bound = bound_node == str(node["id"])
            form = (
                bound
                if is_bound
                else OutlineNodeForm(
                    initial=OutlineNodeForm.initial_for(node, draft.version),
                    auto_id=_node_form_id(node["id"]),
                )
            )
            return {
                "node": node,
                "problems": problems.get(node["id"], []),
                "form": form,
                "open": is_bound,
                "children": [view(child) for child in node["children"]],
            }

        return {
            "draft": draft,
            "ledger": draft.ledger,
            "nodes": [view(node) for node in draft.tree],
            "problem_count": sum(len(messages_) for messages_ in problems.values()),
            "stale": stale,
            "operations": OUTLINE_BUTTONS,
        }

    def answer(self, request, draft, *, status=200, **context):
        template = f"{self.template_name}#tree" if request.htmx else self.template_name
        return render(request, template, self.context(draft, **context), status=status)

    def post(self, request, pk):
        draft = self.get_draft(request, pk)
        try:
            node_id = int(request.POST.get("node", ""))
        except ValueError:
            node_id = "x"
        form = OutlineNodeForm(request.POST, auto_id=_node_form_id(node_id))
        if not form.is_valid():
            messages.error(request, _("请求不完整，请刷新页面后重试。"))
            return self.answer(request, draft) if request.htmx else redirect(request.path)
        edited = self.run_service(form, lambda: _edit_outline(draft, request.user, form.cleaned_data))
        if edited is not None:
            return self.answer(request, edited) if request.htmx else redirect(request.path)
        stored = self.get_draft(request, pk)
        if stored.version != form.cleaned_data["version"] and not stored.saved_at:
            # Another tab changed the draft first: the tree as stored, this user's input kept in its form.
            form.data = form.data.copy()
            form.data["version"] = str(stored.version)
            bound = form if form.cleaned_data["operation"] == "fields" else None
            return self.answer(request, stored, bound=bound, stale=True, status=409)
        if request.htmx and form.cleaned_data["operation"] == "fields" and not form.non_field_errors():
            return self.answer(request, stored, bound=form)
        for errors in form.errors.values():
            for message in errors:
                messages.error(request, message)
        return self.answer(request, stored) if request.htmx else redirect(request.path)


class OutlineSaveView(OutlineDraftMixin, View):
    """The edited tree written into the ledger as items, all or nothing."""

    def post(self, request, pk):
        draft = self.get_draft(request, pk)
        form = VersionedFormMixin(request.POST)
        if not form.is_valid():
            messages.error(request, _("请求不完整，请刷新页面后重试。"))
            return redirect("exchange:outline_editor", pk=draft.pk)

        def save():
            try:
                return import_services.save_outline(
                    draft=draft, user=request.user, version=form.cleaned_data["version"]
                )
            except StaleObjectError as error:
                raise ValidationError(_("这份大纲已在其他页面被修改，请核对当前内容后再保存。")) from error

        result = _run_step(request, save, None)
        if result is None:
            return redirect("exchange:outline_editor", pk=draft.pk)
        messages.success(
            request,
            _("已从「%(source)s」生成 %(count)s 项事项。")
            % {"source": draft.source_name, "count": result.created},
        )
        return redirect("ledgers:ledger_detail", pk=draft.ledger_id)
