import io

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.decorators.http import require_POST

from luoshi.audit.downloads import serve_stored_file
from luoshi.audit.models import AuditAction
from luoshi.audit.services import record
from luoshi.core.documents import DOCX_CONTENT_TYPE
from luoshi.core.exceptions import StaleObjectError
from luoshi.core.uploads import content_disposition
from luoshi.core.views import ObjectListView, RoleRequiredMixin, ServiceFormMixin
from luoshi.ledgers.models import Item, Ledger
from luoshi.ledgers.permissions import supervises_ledger
from luoshi.orgs.models import Role
from luoshi.orgs.selectors import access_profile
from luoshi.supervision import selectors, services
from luoshi.supervision.documents import order_context, render_order
from luoshi.supervision.filters import (
    AccountabilityFilterSet,
    InspectionFilterSet,
    InstructionFilterSet,
    InterviewFilterSet,
    OrderFilterSet,
    UrgeFilterSet,
)
from luoshi.supervision.forms import (
    AccountabilityEditForm,
    AssignProblemForm,
    BulkUrgeForm,
    EscalationPolicyForm,
    FindingForm,
    InspectionForm,
    InstructionForm,
    InterviewEditForm,
    OrderActionForm,
    OrderIssueForm,
    OrderReplyForm,
    UrgeForm,
    VerifyForm,
)
from luoshi.supervision.models import (
    Accountability,
    EscalationAction,
    Finding,
    FindingPhoto,
    Inspection,
    Instruction,
    Interview,
    OrderEvidence,
    SupervisionOrder,
)
from luoshi.supervision.tables import (
    AccountabilityTable,
    InspectionTable,
    InterviewTable,
    OrderTable,
    ReceivedInstructionTable,
    UrgeTable,
    WrittenInstructionTable,
)
from luoshi.supervision.workflows import is_order_unit_worker

# Urging and escalation ---------------------------------------------------------------------------------

URGERS = frozenset({Role.SUPERVISOR})


def _urgeable_item(request, pk) -> Item:
    """The item, if the user sees it and supervises its ledger; otherwise a 404 that tells nothing."""
    item = (
        Item.objects.visible_to(request.user)
        .select_related("ledger", "lead_org", "owner")
        .filter(pk=pk)
        .first()
    )
    if item is None or not supervises_ledger(request.user, item.ledger):
        raise Http404
    return item


class UrgeItemView(RoleRequiredMixin, ServiceFormMixin, View):
    """催办 one item: a short message to its lead unit and responsible person."""

    required_roles = URGERS
    template_name = "supervision/urging_form.html"

    def get(self, request, pk):
        item = _urgeable_item(request, pk)
        return self.render_form(request, item, UrgeForm())

    def post(self, request, pk):
        item = _urgeable_item(request, pk)
        form = UrgeForm(request.POST)
        if form.is_valid():
            done = self.run_service(
                form,
                lambda: services.urge(items=[item], user=request.user, message=form.cleaned_data["message"]),
            )
            if done is not None:
                messages.success(request, _("已催办，%(unit)s和责任人已收到提醒。") % {"unit": item.lead_org})
                return redirect(item.get_absolute_url())
        return self.render_form(request, item, form, status=400)

    def render_form(self, request, item, form, status=200):
        context = {"item": item, "form": form, "urges": list(selectors.item_urges(item)[:20])}
        return render(request, self.template_name, context, status=status)


class BulkUrgeView(RoleRequiredMixin, View):
    """批量催办 from the filtered item list: the list's bulk form posts its selected rows here."""

    required_roles = URGERS

    def post(self, request):
        form = BulkUrgeForm(request.POST, queryset=Item.objects.visible_to(request.user))
        back = request.POST.get("next", "")
        if not url_has_allowed_host_and_scheme(back, allowed_hosts=None):
            back = ""
        back = back or reverse("ledgers:item_list")
        if not form.is_valid():
            messages.error(request, "；".join(m for errors in form.errors.values() for m in errors))
            return redirect(back)
        try:
            urges = services.urge(
                items=form.cleaned_data["pk"], user=request.user, message=form.cleaned_data["comment"]
            )
        except ValidationError as error:
            messages.error(request, "；".join(error.messages))
        else:
            messages.success(request, _("已催办 %(n)d 项。") % {"n": len(urges)})
        return redirect(back)


class EscalationPolicyView(RoleRequiredMixin, ServiceFormMixin, View):
    """督办规则: the ledger's ladder, edited by the supervisors of the office that owns the ledger."""

    required_roles = URGERS
    template_name = "supervision/escalation_policy.html"

    @staticmethod
    def ledger_or_404(request, ledger_pk):
        ledger = Ledger.objects.visible_to(request.user).filter(pk=ledger_pk).first()
        if ledger is None or not supervises_ledger(request.user, ledger):
            raise Http404
        return ledger

    def get(self, request, ledger_pk):
        ledger = self.ledger_or_404(request, ledger_pk)
        policy, rungs = services.policy_for(ledger)
        form = EscalationPolicyForm(initial=EscalationPolicyForm.initial_for(policy, rungs))
        return self.render_form(request, ledger, policy, form)

    def post(self, request, ledger_pk):
        ledger = self.ledger_or_404(request, ledger_pk)
        form = EscalationPolicyForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            saved = self.run_service(
                form,
                lambda: services.save_policy(
                    ledger=ledger,
                    user=request.user,
                    style=data["style"],
                    is_active=data["is_active"],
                    urgent_start=data["urgent_start"],
                    rungs=form.rungs(),
                    on_yellow=data["on_yellow"],
                    on_red=data["on_red"],
                    version=data["version"],
                ),
            )
            if saved is not None:
                messages.success(request, _("督办规则已保存。"))
                return redirect(reverse("supervision:escalation_policy", args=[ledger.pk]))
        policy, _rungs = services.policy_for(ledger)
        return self.render_form(request, ledger, policy, form, status=400)

    def render_form(self, request, ledger, policy, form, status=200):
        offsets = [form[f"offset_{action}"] for action in EscalationAction.values]
        context = {
            "ledger": ledger,
            "policy": policy,
            "form": form,
            "offsets": offsets,
            "warnings": [form["on_yellow"], form["on_red"]],
        }
        return render(request, self.template_name, context, status=status)


class UrgeListView(ObjectListView):
    required_roles = URGERS
    table_class = UrgeTable
    filterset_class = UrgeFilterSet
    template_name = "supervision/urging_list.html"
    title = gettext_lazy("催办记录")

    def get_queryset(self):
        return selectors.urge_list(self.request.user)

    def get_filterset_kwargs(self, filterset_class):
        return {**super().get_filterset_kwargs(filterset_class), "user": self.request.user}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["unit_counts"] = selectors.urge_counts_by_unit_of(self.object_list)[:10]
        return context


# Supervision orders and notices ---------------------------------------------------------------------

ORDER_READERS = frozenset({Role.SUPERVISOR, Role.LEADER, Role.LIAISON, Role.HANDLER})
ORDER_ISSUERS = frozenset({Role.SUPERVISOR})


def _order_or_404(request, pk) -> SupervisionOrder:
    try:
        return selectors.order_for_detail(request.user, pk)
    except SupervisionOrder.DoesNotExist:
        raise Http404 from None


class OrderListView(ObjectListView):
    required_roles = ORDER_READERS
    table_class = OrderTable
    filterset_class = OrderFilterSet
    template_name = "supervision/orders_list.html"
    title = gettext_lazy("督办单")

    def get_queryset(self):
        return selectors.order_list(self.request.user)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["can_issue"] = bool(access_profile(self.request.user).supervisor_org_ids)
        return context


def _order_page(request, order, *, status=200, **extra):
    user = request.user
    actions = services.available_order_actions(order, user)
    return render(
        request,
        "supervision/orders_detail.html",
        {
            "order": order,
            "items": list(order.items.all()),
            "events": list(order.events.all()),
            "evidence": list(order.evidence.all()),
            "actions": [action for action in actions if action.name != "reply"],
            "can_reply": any(action.name == "reply" for action in actions),
            "today": timezone.localdate(),
            **extra,
        },
        status=status,
    )


class OrderDetailView(RoleRequiredMixin, View):
    required_roles = ORDER_READERS

    def get(self, request, pk):
        return _order_page(request, _order_or_404(request, pk))


class OrderIssueView(RoleRequiredMixin, ServiceFormMixin, View):
    """下发督办单, from the list or from an item's page (``?item=`` preselects it and its lead unit)."""

    required_roles = ORDER_ISSUERS
    template_name = "supervision/orders_form.html"

    def get(self, request):
        initial = {}
        item_id = request.GET.get("item", "")
        if item_id.isdigit():
            item = selectors.issuable_items(request.user).filter(pk=int(item_id)).first()
            if item is not None:
                initial = {"items": [item.pk], "organisation": item.lead_org_id, "subject": item.title}
        form = OrderIssueForm(user=request.user, initial=initial)
        return render(request, self.template_name, {"form": form})

    def post(self, request):
        form = OrderIssueForm(request.POST, user=request.user)
        if form.is_valid():
            data = form.cleaned_data
            order = self.run_service(
                form,
                lambda: services.issue_order(
                    office=data["office"],
                    organisation=data["organisation"],
                    items=data["items"],
                    subject=data["subject"],
                    content=data["content"],
                    reply_deadline=data["reply_deadline"],
                    level=data["level"],
                    user=request.user,
                ),
            )
            if order is not None:
                messages.success(request, _("督办单%(number)s已下发。") % {"number": order.number})
                return redirect(order)
        return render(request, self.template_name, {"form": form})


class OrderReplyView(RoleRequiredMixin, ServiceFormMixin, View):
    """回复 with evidence, by the unit the order is issued to."""

    required_roles = frozenset({Role.LIAISON, Role.HANDLER})
    template_name = "supervision/orders_reply.html"

    def get_order(self, request, pk):
        order = _order_or_404(request, pk)
        if not is_order_unit_worker(request.user, order):
            raise Http404
        return order

    def get(self, request, pk):
        order = self.get_order(request, pk)
        form = OrderReplyForm(initial={"version": order.version, "reply": order.reply})
        return render(request, self.template_name, {"order": order, "form": form})

    def post(self, request, pk):
        order = self.get_order(request, pk)
        form = OrderReplyForm(request.POST, request.FILES)
        context = {"order": order}
        if form.is_valid():
            version = form.cleaned_data["version"]
            saved = self.run_service(
                form,
                lambda: services.reply_order(
                    order=order,
                    user=request.user,
                    reply=form.cleaned_data["reply"],
                    files=form.cleaned_data["evidence"],
                    version=version,
                ),
            )
            if saved is not None:
                messages.success(request, _("已回复督办单%(number)s。") % {"number": saved.number})
                return redirect(saved)
            stored = SupervisionOrder.objects.get(pk=order.pk)
            if stored.version != version:
                return self.stale_response(request, self.template_name, context, form, stored)
        return render(request, self.template_name, {**context, "form": form})


@login_required
@require_POST
def order_action(request, pk):
    """签收, 办结, 重新督办 from the order page; a refusal is a message, a stale version a 409."""
    order = _order_or_404(request, pk)
    form = OrderActionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("操作未执行：请检查填写的内容。"))
        return redirect(order)
    data = form.cleaned_data
    steps = {
        "sign": lambda: services.sign_order(order=order, user=request.user, version=data["version"]),
        "close": lambda: services.close_order(
            order=order, user=request.user, comment=data["comment"], version=data["version"]
        ),
        "reopen": lambda: services.reopen_order(
            order=order,
            user=request.user,
            comment=data["comment"],
            reply_deadline=data["reply_deadline"],
            version=data["version"],
        ),
    }
    try:
        steps[data["action"]]()
    except StaleObjectError:
        messages.error(request, _("督办单已被其他人更新，请查看最新状态后再操作。"))
        return _order_page(request, _order_or_404(request, pk), status=409)
    except ValidationError as error:
        messages.error(request, "；".join(error.messages))
    else:
        messages.success(request, _("操作成功。"))
    return redirect(order)


@login_required
def order_evidence_download(request, pk):
    try:
        evidence = selectors.order_evidence_for_download(request.user, pk)
    except OrderEvidence.DoesNotExist:
        raise Http404 from None
    return serve_stored_file(request, evidence, evidence.order)


class OrderDocumentView(RoleRequiredMixin, View):
    """The order as an official document (.docx); ``?red_header=1`` adds the red header."""

    required_roles = ORDER_READERS

    def get(self, request, pk):
        order = _order_or_404(request, pk)
        context = order_context(order, red_header=request.GET.get("red_header") == "1")
        stream = io.BytesIO()
        render_order(context, stream)
        record(action=AuditAction.EXPORT, obj=order, user=request.user, after={"format": "docx"})
        stream.seek(0)
        response = FileResponse(stream, content_type=DOCX_CONTENT_TYPE)
        response["Content-Disposition"] = content_disposition(
            f"{order.number}{order.subject}.docx", inline=False
        )
        response["Cache-Control"] = "private, no-store"
        return response


# Interviews and accountability ------------------------------------------------------------------------

RECORD_READERS = frozenset({Role.SUPERVISOR, Role.AUDIT_ADMIN})
RECORD_WRITERS = frozenset({Role.SUPERVISOR})


class _OfficeRecordListView(ObjectListView):
    required_roles = RECORD_READERS

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["can_create"] = bool(access_profile(self.request.user).supervisor_org_ids)
        return context


class InterviewListView(_OfficeRecordListView):
    table_class = InterviewTable
    filterset_class = InterviewFilterSet
    template_name = "supervision/interviews_list.html"
    title = gettext_lazy("约谈")

    def get_queryset(self):
        return selectors.interview_list(self.request.user)


class AccountabilityListView(_OfficeRecordListView):
    table_class = AccountabilityTable
    filterset_class = AccountabilityFilterSet
    template_name = "supervision/interviews_accountability_list.html"
    title = gettext_lazy("问责")

    def get_queryset(self):
        return selectors.accountability_list(self.request.user)


def _can_edit_record(user, record) -> bool:
    return record.office_id in access_profile(user).supervisor_org_ids


class InterviewDetailView(RoleRequiredMixin, View):
    required_roles = RECORD_READERS

    def get(self, request, pk):
        try:
            interview = selectors.interview_for_detail(request.user, pk)
        except Interview.DoesNotExist:
            raise Http404 from None
        context = {"interview": interview, "can_edit": _can_edit_record(request.user, interview)}
        return render(request, "supervision/interviews_detail.html", context)


class AccountabilityDetailView(RoleRequiredMixin, View):
    required_roles = RECORD_READERS

    def get(self, request, pk):
        try:
            accountability = selectors.accountability_for_detail(request.user, pk)
        except Accountability.DoesNotExist:
            raise Http404 from None
        context = {
            "accountability": accountability,
            "can_edit": _can_edit_record(request.user, accountability),
        }
        return render(request, "supervision/interviews_accountability_detail.html", context)


class _OfficeRecordEditView(RoleRequiredMixin, ServiceFormMixin, View):
    """New or edited interview or accountability record, by a supervisor of its office only."""

    required_roles = RECORD_WRITERS
    model: type
    form_class: type
    template_name: str
    success_url: str

    def get_record(self, request, pk):
        if pk is None:
            return None
        record = self.editable(request.user).filter(pk=pk).first()
        if record is None:
            raise Http404
        return record

    def initial(self, request):
        """From an item's page (``?item=``): that item and its lead unit preselected."""
        item_id = request.GET.get("item", "")
        if not item_id.isdigit():
            return {}
        item = selectors.issuable_items(request.user).filter(pk=int(item_id)).first()
        return {"items": [item.pk], "organisation": item.lead_org_id} if item else {}

    def get(self, request, pk=None):
        record = self.get_record(request, pk)
        form = self.form_class(instance=record, user=request.user, initial=self.initial(request))
        return render(request, self.template_name, {"form": form, "record": record})

    def post(self, request, pk=None):
        record = self.get_record(request, pk)
        form = self.form_class(request.POST, instance=record, user=request.user)
        context = {"record": record}
        if form.is_valid():
            version = form.cleaned_data.get("version")
            # The form's instance holds the input; the service edits the stored row.
            stored = self.model.objects.get(pk=record.pk) if record is not None else None
            saved = self.run_service(
                form, lambda: self.save(request.user, form.cleaned_data, stored, version)
            )
            if saved is not None:
                messages.success(request, _("已保存。"))
                return redirect(self.success_url, saved.pk)
            if record is not None:
                current = self.model.objects.get(pk=record.pk)
                if current.version != version:
                    return self.stale_response(request, self.template_name, context, form, current)
        return render(request, self.template_name, {**context, "form": form})


class InterviewEditView(_OfficeRecordEditView):
    model = Interview
    form_class = InterviewEditForm
    template_name = "supervision/interviews_form.html"
    success_url = "supervision:interview_detail"

    editable = staticmethod(selectors.editable_interviews)

    def save(self, user, data, record, version):
        return services.save_interview(
            user=user,
            office=data["office"],
            held_on=data["held_on"],
            interviewer=data["interviewer"],
            organisation=data["organisation"],
            interviewee=data["interviewee"],
            reason=data["reason"],
            outcome=data["outcome"],
            items=data["items"],
            orders=data["orders"],
            interview=record,
            version=version,
        )


class AccountabilityEditView(_OfficeRecordEditView):
    model = Accountability
    form_class = AccountabilityEditForm
    template_name = "supervision/interviews_accountability_form.html"
    success_url = "supervision:accountability_detail"

    editable = staticmethod(selectors.editable_accountabilities)

    def save(self, user, data, record, version):
        return services.save_accountability(
            user=user,
            office=data["office"],
            form=data["form"],
            organisation=data["organisation"],
            person=data["person"],
            decided_on=data["decided_on"],
            reason=data["reason"],
            items=data["items"],
            orders=data["orders"],
            interview=data["interview"],
            accountability=record,
            version=version,
        )


# Inspections and rectification ------------------------------------------------------------------------

INSPECTION_READERS = frozenset({Role.SUPERVISOR, Role.LEADER, Role.LIAISON, Role.HANDLER})
RECTIFICATION_READERS = frozenset({Role.SUPERVISOR, Role.LEADER})


class InspectionListView(ObjectListView):
    required_roles = INSPECTION_READERS
    table_class = InspectionTable
    filterset_class = InspectionFilterSet
    template_name = "supervision/inspections_list.html"
    title = gettext_lazy("督查")

    def get_queryset(self):
        return selectors.inspection_list(self.request.user)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["can_create"] = bool(access_profile(self.request.user).supervisor_org_ids)
        return context


def _inspection_or_404(request, pk):
    try:
        return selectors.inspection_for_detail(request.user, pk)
    except Inspection.DoesNotExist:
        raise Http404 from None


class InspectionDetailView(RoleRequiredMixin, View):
    required_roles = INSPECTION_READERS

    def get(self, request, pk):
        inspection = _inspection_or_404(request, pk)
        findings = list(inspection.findings.all())
        can_manage = inspection.office_id in access_profile(request.user).supervisor_org_ids
        rows = [
            {
                "finding": finding,
                "close_blocked": services.unclosable_reason(
                    finding, finding.problem, finding.problem.children.all()
                )
                if finding.problem
                else "",
            }
            for finding in findings
        ]
        context = {
            "inspection": inspection,
            "rows": rows,
            "rate": selectors.closure_rate(inspection.closed, inspection.problems),
            "can_manage": can_manage,
            "can_record": can_manage or any(member.pk == request.user.pk for member in inspection.team.all()),
        }
        return render(request, "supervision/inspections_detail.html", context)


class InspectionEditView(RoleRequiredMixin, ServiceFormMixin, View):
    """Plan an inspection or edit its plan: a supervisor of the organising office."""

    required_roles = RECORD_WRITERS
    template_name = "supervision/inspections_form.html"

    def get_record(self, request, pk):
        if pk is None:
            return None
        record = selectors.editable_inspections(request.user).filter(pk=pk).first()
        if record is None:
            raise Http404
        return record

    def get(self, request, pk=None):
        record = self.get_record(request, pk)
        form = InspectionForm(instance=record, user=request.user)
        return render(request, self.template_name, {"form": form, "record": record})

    def post(self, request, pk=None):
        record = self.get_record(request, pk)
        form = InspectionForm(request.POST, instance=record, user=request.user)
        context = {"record": record}
        if form.is_valid():
            data = form.cleaned_data
            version = data.get("version")
            stored = Inspection.objects.get(pk=record.pk) if record is not None else None
            saved = self.run_service(
                form,
                lambda: services.save_inspection(
                    user=request.user,
                    office=data["office"],
                    title=data["title"],
                    kind=data["kind"],
                    planned_on=data["planned_on"],
                    team=data["team"],
                    targets=data["targets"],
                    plan=data["plan"],
                    places=data["places"],
                    rectification_ledger=data["rectification_ledger"],
                    inspection=stored,
                    version=version,
                ),
            )
            if saved is not None:
                messages.success(request, _("已保存。"))
                return redirect(saved)
            if record is not None:
                current = Inspection.objects.get(pk=record.pk)
                if current.version != version:
                    return self.stale_response(request, self.template_name, context, form, current)
        return render(request, self.template_name, {**context, "form": form})


def _report(request, action) -> None:
    try:
        action()
    except ValidationError as error:
        messages.error(request, "；".join(error.messages))
    else:
        messages.success(request, _("操作成功。"))


@login_required
@require_POST
def inspection_done(request, pk):
    inspection = selectors.editable_inspections(request.user).filter(pk=pk).first()
    if inspection is None:
        raise Http404
    _report(request, lambda: services.mark_inspection_done(inspection=inspection, user=request.user))
    return redirect(inspection)


class FindingCreateView(RoleRequiredMixin, ServiceFormMixin, View):
    """登记发现问题 with photos: the team's members and the organising office's supervisors."""

    required_roles = INSPECTION_READERS
    template_name = "supervision/inspections_finding_form.html"

    def get_inspection(self, request, pk):
        inspection = Inspection.objects.visible_to(request.user).filter(pk=pk).first()
        if inspection is None or not services.may_record_findings(request.user, inspection):
            raise Http404
        return inspection

    def get(self, request, pk):
        inspection = self.get_inspection(request, pk)
        form = FindingForm(inspection=inspection, initial={"found_on": inspection.planned_on})
        return render(request, self.template_name, {"form": form, "inspection": inspection})

    def post(self, request, pk):
        inspection = self.get_inspection(request, pk)
        form = FindingForm(request.POST, request.FILES, inspection=inspection)
        if form.is_valid():
            data = form.cleaned_data
            saved = self.run_service(
                form,
                lambda: services.save_finding(
                    user=request.user,
                    inspection=inspection,
                    description=data["description"],
                    organisation=data["organisation"],
                    found_on=data["found_on"],
                    place=data["place"],
                    commitment_required=data["commitment_required"],
                    commitment=data["commitment"],
                    photos=data["photos"],
                ),
            )
            if saved is not None:
                messages.success(request, _("已登记。"))
                return redirect(inspection)
        return render(request, self.template_name, {"form": form, "inspection": inspection})


def _managed_finding_or_404(request, pk):
    """A finding of an inspection the user's office organised."""
    try:
        finding = selectors.finding_for_action(request.user, pk)
    except Finding.DoesNotExist:
        raise Http404 from None
    if finding.inspection.office_id not in access_profile(request.user).supervisor_org_ids:
        raise Http404
    return finding


class AssignProblemView(RoleRequiredMixin, ServiceFormMixin, View):
    """交办整改: the finding becomes a problem with its measures in a rectification ledger."""

    required_roles = RECORD_WRITERS
    template_name = "supervision/inspections_assign.html"

    def get(self, request, pk):
        finding = _managed_finding_or_404(request, pk)
        form = AssignProblemForm(user=request.user, finding=finding)
        return render(request, self.template_name, {"form": form, "finding": finding})

    def post(self, request, pk):
        finding = _managed_finding_or_404(request, pk)
        form = AssignProblemForm(request.POST, user=request.user, finding=finding)
        if form.is_valid():
            data = form.cleaned_data

            def assign():
                ledger = data["ledger"] or services.rectification_ledger_for_year(
                    office=finding.inspection.office,
                    year=finding.inspection.planned_on.year,
                    user=request.user,
                )
                return services.assign_problem(
                    finding=finding,
                    ledger=ledger,
                    deadline=data["deadline"],
                    measures=form.measures(),
                    commitment=data["commitment"],
                    user=request.user,
                )

            problem = self.run_service(form, assign)
            if problem is not None:
                messages.success(request, _("已交办整改。"))
                return redirect(finding.inspection)
        return render(request, self.template_name, {"form": form, "finding": finding})


class VerifyRectificationView(RoleRequiredMixin, ServiceFormMixin, View):
    """验收: the office reads the unit's evidence on the problem's page and accepts or returns it."""

    required_roles = RECORD_WRITERS
    template_name = "supervision/inspections_verify.html"

    def get(self, request, pk):
        finding = _managed_finding_or_404(request, pk)
        return render(request, self.template_name, {"form": VerifyForm(), "finding": finding})

    def post(self, request, pk):
        finding = _managed_finding_or_404(request, pk)
        form = VerifyForm(request.POST)
        if form.is_valid():
            done = self.run_service(
                form,
                lambda: services.verify_rectification(
                    finding=finding,
                    user=request.user,
                    comment=form.cleaned_data["comment"],
                    passed=form.cleaned_data["passed"],
                ),
            )
            if done is not None:
                messages.success(request, _("已验收。") if form.cleaned_data["passed"] else _("已退回整改。"))
                return redirect(finding.inspection)
        return render(request, self.template_name, {"form": form, "finding": finding})


@login_required
@require_POST
def finding_close(request, pk):
    """销号 of a verified problem."""
    finding = _managed_finding_or_404(request, pk)
    _report(request, lambda: services.close_problem(finding=finding, user=request.user))
    return redirect(finding.inspection)


@login_required
def finding_photo(request, pk):
    try:
        photo = selectors.finding_photo_for_download(request.user, pk)
    except FindingPhoto.DoesNotExist:
        raise Http404 from None
    return serve_stored_file(request, photo, photo.finding.inspection)


class RectificationOverviewView(RoleRequiredMixin, View):
    """Closure rates of the problems the user may see, by unit and by rectification ledger."""

    required_roles = RECTIFICATION_READERS

    def get(self, request):
        sections = []
        for key, title, label in (
            ("unit", _("各单位整改销号率"), _("责任单位")),
            ("ledger", _("各整改台账销号率"), _("问题整改台账")),
        ):
            rows = selectors.closure_rates(request.user, key)
            chart = {"labels": [row["label"] for row in rows], "values": [row["rate"] for row in rows]}
            sections.append(
                {
                    "key": key,
                    "title": title,
                    "label": label,
                    "rows": rows,
                    "chart": chart,
                    "data_id": f"closure-{key}-data",
                }
            )
        return render(request, "supervision/inspections_overview.html", {"sections": sections})


# Leaders' instructions ----------------------------------------------------------------------------------

INSTRUCTION_READERS = frozenset({Role.SUPERVISOR, Role.LEADER, Role.LIAISON, Role.HANDLER})
ITEM_GONE = gettext_lazy("该事项不存在、已删除或不在您的职责范围内，批示未保存。")
INSTRUCTION_GONE = gettext_lazy("该批示不存在，或不在您的职责范围内。")


def _not_found(request, message):
    """A 404 that says, in words, why: the same words whether the object is missing or out of scope."""
    return render(request, "supervision/instructions_not_found.html", {"message": message}, status=404)


def _pick(queryset, raw):
    """The object of ``queryset`` a query-string id names, or None (a bad or foreign id names nothing)."""
    try:
        return queryset.filter(pk=int(raw)).first() if raw else None
    except (TypeError, ValueError):
        return None


class InstructionCreateView(RoleRequiredMixin, ServiceFormMixin, View):
    """写批示 on an item, or on one of its reports or orders (``?report=``/``?order=``)."""

    required_roles = frozenset({Role.LEADER})
    template_name = "supervision/instructions_form.html"

    @staticmethod
    def get_item(request, item_pk):
        return (
            Item.objects.visible_to(request.user)
            .select_related("lead_org", "owner")
            .prefetch_related("co_orgs")
            .filter(pk=item_pk)
            .first()
        )

    def context(self, item, form):
        report = form["report"].value()
        order = form["order"].value()
        return {
            "item": item,
            "form": form,
            "report": _pick(form.fields["report"].queryset.select_related("organisation"), report),
            "order": _pick(form.fields["order"].queryset, order),
        }

    def get(self, request, item_pk):
        item = self.get_item(request, item_pk)
        if item is None:
            return _not_found(request, ITEM_GONE)
        form = InstructionForm(item=item, user=request.user)
        form.initial.update(
            report=getattr(_pick(form.fields["report"].queryset, request.GET.get("report")), "pk", None),
            order=getattr(_pick(form.fields["order"].queryset, request.GET.get("order")), "pk", None),
        )
        return render(request, self.template_name, self.context(item, form))

    def post(self, request, item_pk):
        item = self.get_item(request, item_pk)
        if item is None:
            return _not_found(request, ITEM_GONE)
        form = InstructionForm(request.POST, item=item, user=request.user)
        if form.is_valid():
            data = form.cleaned_data
            instruction = self.run_service(
                form,
                lambda: services.write_instruction(
                    item=item,
                    leader=request.user,
                    text=data["text"],
                    report=data["report"],
                    order=data["order"],
                    urgent=data["urgent"],
                    recipients=form.selected_recipients(),
                ),
            )
            if instruction is not None:
                messages.success(request, _("批示已发送，接收单位将阅知并在下次报送中反馈落实情况。"))
                return redirect(item)
        return render(request, self.template_name, self.context(item, form))


class InstructionListView(ObjectListView):
    filterset_class = InstructionFilterSet
    template_name = "supervision/instructions_list.html"
    paginate_by = 25

    def get_context_data(self, **kwargs):
        return {
            **super().get_context_data(**kwargs),
            "is_leader": access_profile(self.request.user).has(Role.LEADER),
        }


class WrittenInstructionListView(InstructionListView):
    """我的批示 (a leader's)."""

    required_roles = frozenset({Role.LEADER})
    table_class = WrittenInstructionTable
    title = gettext_lazy("我的批示")

    def get_queryset(self):
        return selectors.instructions_written(self.request.user)


class ReceivedInstructionListView(InstructionListView):
    """批示落实: instructions to the user or their units, each with its 阅知 button."""

    required_roles = INSTRUCTION_READERS
    table_class = ReceivedInstructionTable
    title = gettext_lazy("批示落实")

    def get_queryset(self):
        return selectors.instructions_received(self.request.user)


class InstructionDetailView(RoleRequiredMixin, View):
    required_roles = INSTRUCTION_READERS

    def get(self, request, pk):
        try:
            instruction = selectors.instruction_for_detail(request.user, pk)
        except Instruction.DoesNotExist:
            return _not_found(request, INSTRUCTION_GONE)
        mine = {row.pk for row in services.instruction_rows_for(instruction, request.user)}
        recipients = list(instruction.recipients.all())
        return render(
            request,
            "supervision/instructions_detail.html",
            {
                "instruction": instruction,
                "recipients": recipients,
                "can_acknowledge": any(r.pk in mine and r.acknowledged_at is None for r in recipients),
                "can_close": instruction.is_open and instruction.leader_id == request.user.pk,
            },
        )


def _instruction_action(request, pk, perform):
    """POST on one instruction the user may see (404 otherwise); a refusal comes back as a message."""
    instruction = Instruction.objects.visible_to(request.user).filter(pk=pk).first()
    if instruction is None:
        return _not_found(request, INSTRUCTION_GONE)
    try:
        perform(instruction)
    except ValidationError as error:
        messages.error(request, "；".join(error.messages))
    return redirect("supervision:instruction_detail", pk=pk)


@login_required
@require_POST
def instruction_acknowledge(request, pk):
    def acknowledge(instruction):
        if services.acknowledge_instruction(instruction=instruction, user=request.user):
            messages.success(request, _("已阅知此批示，请在下次报送进展时反馈落实情况。"))
        else:
            messages.info(request, _("您已阅知过此批示，无需重复操作。"))

    return _instruction_action(request, pk, acknowledge)


@login_required
@require_POST
def instruction_close(request, pk):
    def close(instruction):
        services.close_instruction(instruction=instruction, user=request.user)
        messages.success(request, _("已确认批示落实，批示办结。"))

    return _instruction_action(request, pk, close)
