from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.decorators.http import require_POST
from django.views.generic import TemplateView

from luoshi.audit.downloads import serve_stored_file
from luoshi.core.exceptions import StaleObjectError
from luoshi.core.views import ObjectListView, RoleRequiredMixin, ServiceFormMixin
from luoshi.ledgers import selectors, services
from luoshi.ledgers.filters import ItemFilterSet, LedgerFilterSet
from luoshi.ledgers.forms import (
    AttachmentForm,
    BulkActionForm,
    CommentForm,
    ExtensionDecisionForm,
    ExtensionRequestForm,
    ItemForm,
    LedgerFieldForm,
    LedgerForm,
    MilestoneCompleteForm,
    MilestoneForm,
    MilestonePlanForm,
    ReportForm,
    ReviewForm,
    SavedFilterForm,
    TransitionForm,
)
from luoshi.ledgers.models import (
    OPEN_STATUSES,
    Evidence,
    ExtensionRequest,
    FieldTarget,
    Item,
    ItemAttachment,
    ItemStatus,
    Ledger,
    LedgerField,
    Milestone,
    ProgressReport,
    ReportStatus,
    SavedFilter,
    WarningColor,
)
from luoshi.ledgers.permissions import (
    can_attach,
    can_edit_item,
    can_remove_attachment,
    is_lead_liaison,
    is_supervisor_for,
    reporting_unit,
)
from luoshi.ledgers.tables import ItemTable, LedgerTable
from luoshi.orgs.models import Organisation, Role
from luoshi.orgs.selectors import access_profile

BUSINESS_ROLES = frozenset({Role.SUPERVISOR, Role.LEADER, Role.LIAISON, Role.HANDLER})
SUPERVISOR_ONLY = frozenset({Role.SUPERVISOR})


def _supervised_ledgers(user):
    """Ledgers whose office the user supervises: the only ones they may configure."""
    return Ledger.objects.filter(owner_office_id__in=access_profile(user).supervisor_org_ids)


class MyWorkView(RoleRequiredMixin, TemplateView):
    template_name = "ledgers/my_work.html"
    required_roles = BUSINESS_ROLES

    def dispatch(self, request, *args, **kwargs):
        profile = access_profile(request.user)
        if request.user.is_authenticated and profile.is_admin and not profile.is_business_user:
            return redirect("orgs:home")
        return super().dispatch(request, *args, **kwargs)

    # Sections whose items the item list can show in full, and the filter that does it.
    FULL_LIST_FILTERS = {
        "to_accept": {"status": [ItemStatus.ASSIGNED]},
        "to_approve": {"status": [ItemStatus.COMPLETION_REQUESTED]},
        "drafts": {"status": [ItemStatus.DRAFT]},
        "overdue": {"color": [WarningColor.RED], "status": list(OPEN_STATUSES)},
        "led_red": {"color": [WarningColor.RED], "status": list(OPEN_STATUSES)},
    }

    def get_context_data(self, **kwargs):
        work = selectors.my_work(self.request.user)
        for key, section in work.items():
            query = self.FULL_LIST_FILTERS.get(key)
            if query and section["count"] > len(section["rows"]):
                section["more_url"] = f"{reverse('ledgers:item_list')}?{urlencode(query, doseq=True)}"
        return {**super().get_context_data(**kwargs), "work": work}


class LedgerListView(ObjectListView):
    required_roles = BUSINESS_ROLES
    table_class = LedgerTable
    template_name = "ledgers/ledger_list.html"
    filterset_class = LedgerFilterSet
    title = gettext_lazy("台账")

    def get_queryset(self):
        return selectors.ledger_list(self.request.user)

    def get_table(self, **kwargs):
        table = super().get_table(**kwargs)
        table.supervisor_org_ids = access_profile(self.request.user).supervisor_org_ids
        if not table.supervisor_org_ids:
            table.columns.hide("settings")
        return table


class LedgerDetailView(RoleRequiredMixin, View):
    required_roles = BUSINESS_ROLES

    def get(self, request, pk):
        ledger = get_object_or_404(Ledger.objects.visible_to(request.user), pk=pk)
        return redirect(f"{reverse('ledgers:item_list')}?{urlencode({'ledger': ledger.pk})}")


class LedgerEditView(RoleRequiredMixin, ServiceFormMixin, View):
    required_roles = frozenset({Role.SUPERVISOR})
    template_name = "ledgers/ledger_form.html"

    def offices(self):
        return Organisation.objects.filter(pk__in=access_profile(self.request.user).supervisor_org_ids)

    def get_ledger(self, pk):
        if pk is None:
            return None
        return get_object_or_404(Ledger.objects.filter(owner_office__in=self.offices()), pk=pk)

    def get(self, request, pk=None):
        form = LedgerForm(instance=self.get_ledger(pk), offices=self.offices())
        return render(request, self.template_name, {"form": form})

    def post(self, request, pk=None):
        ledger = self.get_ledger(pk)
        form = LedgerForm(request.POST, instance=ledger, offices=self.offices())
        if form.is_valid():
            saved = self.run_service(
                form,
                lambda: services.save_ledger(ledger=form.instance, version=form.cleaned_data.get("version")),
            )
            if saved is not None:
                messages.success(request, _("台账已保存。"))
                return redirect(saved)
            if ledger is not None:
                stored = Ledger.objects.get(pk=ledger.pk)
                if stored.version != form.cleaned_data["version"]:
                    return self.stale_response(request, self.template_name, {}, form, stored)
        return render(request, self.template_name, {"form": form})


class ItemListView(ObjectListView):
    required_roles = BUSINESS_ROLES
    table_class = ItemTable
    filterset_class = ItemFilterSet
    template_name = "ledgers/item_list.html"
    title = gettext_lazy("事项")

    def get_queryset(self):
        return selectors.item_list(self.request.user)

    def get_filterset_kwargs(self, filterset_class):
        return {**super().get_filterset_kwargs(filterset_class), "user": self.request.user}

    def get_table(self, **kwargs):
        table = super().get_table(**kwargs)
        if not access_profile(self.request.user).supervisor_org_ids:
            table.columns.hide("selection")
        return table

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["saved_filters"] = SavedFilter.objects.filter(user=self.request.user)
        context["query_string"] = self.request.GET.urlencode()
        context["bulk_form"] = BulkActionForm(queryset=Item.objects.none())
        context["filtered_ledger"] = self.filtered_ledger()
        return context

    def filtered_items(self):
        """The items as the list shows them, filters applied; for downloads of the same list."""
        self.filterset = self.get_filterset(self.get_filterset_class())
        if not self.filterset.is_bound or self.filterset.is_valid() or not self.get_strict():
            return self.filterset.qs
        return self.filterset.queryset.none()

    def filtered_ledger(self):
        """The ledger the list is narrowed to, with whether the user may configure it."""
        if not self.filterset.is_valid():
            return None
        ledger = self.filterset.form.cleaned_data.get("ledger")
        if ledger is None:
            return None
        supervised = ledger.owner_office_id in access_profile(self.request.user).supervisor_org_ids
        return {"ledger": ledger, "can_configure": supervised}


class ItemBulkActionView(RoleRequiredMixin, View):
    required_roles = frozenset({Role.SUPERVISOR})

    def post(self, request):
        form = BulkActionForm(request.POST, queryset=Item.objects.visible_to(request.user))
        back = request.POST.get("next") or reverse("ledgers:item_list")
        if not form.is_valid():
            messages.error(request, "；".join(m for errors in form.errors.values() for m in errors))
            return redirect(back)
        items = list(form.cleaned_data["pk"].select_related("ledger", "lead_org"))
        action, comment = form.cleaned_data["action"], form.cleaned_data["comment"]
        try:
            if action == "assign":
                count = services.bulk_transition(
                    items=items, action="assign", user=request.user, comment=comment
                )
                messages.success(request, _("已交办 %(n)d 项。") % {"n": count})
            else:
                count = services.bulk_change_deadline(
                    items=items, user=request.user, deadline=form.cleaned_data["deadline"], comment=comment
                )
                messages.success(request, _("已调整 %(n)d 项的完成时限。") % {"n": count})
        except ValidationError as error:
            messages.error(
                request, _("操作未执行，没有任何事项被修改：%(e)s") % {"e": "；".join(error.messages)}
            )
        return redirect(back)


def _item_or_404(request, pk) -> Item:
    try:
        return selectors.item_for_detail(request.user, pk)
    except Item.DoesNotExist:
        raise Http404 from None


class ItemDetailView(RoleRequiredMixin, View):
    required_roles = BUSINESS_ROLES

    def get(self, request, pk):
        item = _item_or_404(request, pk)
        return render(request, "ledgers/item_detail.html", self.context(request, item))

    @staticmethod
    def context(request, item, bound_milestone_form=None, **extra):
        user = request.user
        events = list(selectors.item_timeline(item))
        reports = list(selectors.item_reports(item))
        attachments = list(selectors.item_attachments(item))
        attachments_editable = services.attachments_editable(item)
        return {
            "item": item,
            "ancestors": _ancestors(item),
            "children": selectors.item_children(item, user),
            "events": events,
            "reports": reports,
            "reports_by_id": {report.pk: report for report in reports},
            "extensions": list(selectors.item_extensions(item)),
            "actions": services.available_actions(item, user),
            "can_edit": can_edit_item(user, item),
            "can_report": reporting_unit(user, item) is not None
            and item.status in services.REPORTABLE_STATUSES,
            "can_review": is_supervisor_for(user, item),
            "can_request_extension": is_lead_liaison(user, item) and item.deadline is not None,
            "attachments": attachments,
            "can_attach": attachments_editable and can_attach(user, item),
            "removable_attachments": {
                attachment.pk
                for attachment in attachments
                if attachments_editable and can_remove_attachment(user, attachment)
            },
            "attachment_form": AttachmentForm(),
            "comment_form": CommentForm(),
            "extension_form": ExtensionRequestForm(),
            "milestone_form": MilestonePlanForm(),
            "milestones": _milestone_rows(user, item, bound_milestone_form),
            "today": services.today(),
            "extra_fields": [
                (field.label, item.extra.get(field.key), field.unit_label)
                for field in item.ledger.fields.all()
                if field.target == "item"
            ],
            **extra,
        }


def _can_complete_milestones(user, item) -> bool:
    return item.status in services.MILESTONE_COMPLETABLE_STATUSES and (
        is_lead_liaison(user, item) or is_supervisor_for(user, item)
    )


def _milestone_rows(user, item, bound=None):
    """Each milestone with the forms this user may use on it; a refused form comes back bound, open."""
    can_edit, can_complete = can_edit_item(user, item), _can_complete_milestones(user, item)
    rows = []
    for milestone in item.milestones.all():
        row = {"milestone": milestone, "edit_form": None, "complete_form": None, "open": False}
        if can_edit:
            row["edit_form"] = MilestoneForm(milestone=milestone)
        if can_complete and milestone.done_on is None:
            row["complete_form"] = MilestoneCompleteForm(milestone=milestone)
        if bound is not None and bound.milestone_pk == milestone.pk:
            key = "edit_form" if isinstance(bound, MilestoneForm) else "complete_form"
            row[key], row["open"] = bound, key == "edit_form"
        rows.append(row)
    return rows


def _ancestors(item):
    chain, node = [], item.parent
    while node is not None:
        chain.append(node)
        node = node.parent
    return list(reversed(chain))


class ItemEditView(RoleRequiredMixin, ServiceFormMixin, View):
    required_roles = frozenset({Role.SUPERVISOR})
    template_name = "ledgers/item_form.html"

    def get_objects(self, request, pk=None, ledger_pk=None):
        if pk is not None:
            item = _item_or_404(request, pk)
            if not can_edit_item(request.user, item):
                raise Http404
            return item.ledger, item
        ledger = get_object_or_404(
            Ledger.objects.filter(owner_office_id__in=access_profile(request.user).supervisor_org_ids),
            pk=ledger_pk,
        )
        return ledger, None

    def get(self, request, pk=None, ledger_pk=None):
        ledger, item = self.get_objects(request, pk, ledger_pk)
        initial = {}
        if item is None and request.GET.get("parent"):
            initial["parent"] = request.GET["parent"]
        form = ItemForm(instance=item, ledger=ledger, initial=initial)
        return render(request, self.template_name, {"form": form, "ledger": ledger, "item": item})

    def post(self, request, pk=None, ledger_pk=None):
        ledger, item = self.get_objects(request, pk, ledger_pk)
        form = ItemForm(request.POST, instance=item, ledger=ledger)
        if item is not None:
            # Keep the form's own copy apart from the stored item, so a refused save leaves both intact.
            item = Item.objects.get(pk=item.pk)
        context = {"form": form, "ledger": ledger, "item": item}
        if form.is_valid():
            fields = form.service_fields()
            if item is None:
                saved = self.run_service(
                    form, lambda: services.create_item(ledger=ledger, user=request.user, **fields)
                )
            else:
                saved = self.run_service(
                    form,
                    lambda: services.update_item(
                        item=item, user=request.user, version=form.cleaned_data["version"], **fields
                    ),
                )
                stored = Item.objects.select_related("lead_org").get(pk=item.pk)
                if saved is None and stored.version != form.cleaned_data["version"]:
                    context["stale"] = stored
            if saved is not None:
                messages.success(request, _("事项已保存。"))
                return redirect(saved)
        return render(request, self.template_name, context, status=409 if context.get("stale") else 200)


def _detail_response(request, item, **extra):
    """After an action: htmx gets the refreshed panels, a plain form post is redirected."""
    if request.htmx:
        fresh = selectors.item_for_detail(request.user, item.pk)
        return render(
            request, "ledgers/item_detail.html#panels", ItemDetailView.context(request, fresh, **extra)
        )
    return redirect(item)


def _form_errors(form) -> str:
    return "；".join(
        f"{form.fields[name].label}：{message}"
        if name in form.fields and form.fields[name].label
        else message
        for name, errors in form.errors.items()
        for message in errors
    )


def _item_action(request, item, form, perform, success):
    """Run one action from the item page: refusals become messages, then the item is shown again.

    ``perform(cleaned_data)`` calls the service; ``success`` is the message, or a function of the
    service's result that makes it.
    """
    if not form.is_valid():
        messages.error(request, _form_errors(form))
        return _detail_response(request, item)
    try:
        result = perform(form.cleaned_data)
    except ValidationError as error:
        messages.error(request, "；".join(error.messages))
    else:
        messages.success(request, success(result) if callable(success) else success)
    return _detail_response(request, item)


def _transition(user, item, data):
    try:
        return services.transition_item(
            item=item, action=data["action"], user=user, comment=data["comment"], version=data["version"]
        )
    except StaleObjectError as error:
        raise ValidationError(_("事项已被其他人更新，请查看最新状态后再操作。")) from error


@login_required
@require_POST
def item_transition(request, pk):
    item = _item_or_404(request, pk)
    return _item_action(
        request,
        item,
        TransitionForm(request.POST),
        lambda data: _transition(request.user, item, data),
        _("操作成功。"),
    )


@login_required
@require_POST
def item_comment(request, pk):
    item = _item_or_404(request, pk)
    return _item_action(
        request,
        item,
        CommentForm(request.POST),
        lambda data: services.add_comment(item=item, user=request.user, text=data["text"]),
        _("评论已发表。"),
    )


@login_required
@require_POST
def item_milestones(request, pk):
    item = _item_or_404(request, pk)
    return _item_action(
        request,
        item,
        MilestonePlanForm(request.POST),
        lambda data: services.schedule_milestones(item=item, user=request.user, phases=data["phases"]),
        _("已按完成时限倒排工期。"),
    )


@login_required
@require_POST
def extension_request(request, pk):
    item = _item_or_404(request, pk)
    return _item_action(
        request,
        item,
        ExtensionRequestForm(request.POST),
        lambda data: services.request_extension(item=item, user=request.user, **data),
        _("延期申请已提交，等待督办员审批。"),
    )


@login_required
@require_POST
def extension_decide(request, pk):
    try:
        extension = selectors.extension_for_user(request.user, pk)
    except ExtensionRequest.DoesNotExist:
        raise Http404 from None
    return _item_action(
        request,
        extension.item,
        ExtensionDecisionForm(request.POST),
        lambda data: services.decide_extension(
            request=extension,
            user=request.user,
            approve=data["decision"] == "approve",
            comment=data["comment"],
            excused=data["excused"],
        ),
        _("已处理延期申请。"),
    )


class ReportEditView(RoleRequiredMixin, ServiceFormMixin, View):
    """Write the progress report for the current period, or revise a returned one."""

    required_roles = frozenset({Role.LIAISON, Role.HANDLER})
    template_name = "ledgers/report_form.html"

    def get_objects(self, request, item_pk=None, pk=None):
        if pk is not None:
            try:
                report = selectors.report_for_user(request.user, pk)
            except ProgressReport.DoesNotExist:
                raise Http404 from None
            if report.status not in (ReportStatus.DRAFT, ReportStatus.RETURNED):
                raise Http404
            item_pk = report.item_id
        else:
            report = None
        item = _item_or_404(request, item_pk)
        unit = reporting_unit(request.user, item)
        # A report belongs to the unit that writes it: the other units on the item may read it, not edit it.
        if unit is None or (report is not None and report.organisation_id != unit.pk):
            raise Http404
        return item, report

    def get(self, request, item_pk=None, pk=None):
        item, report = self.get_objects(request, item_pk, pk)
        form = ReportForm(instance=report, item=item)
        return render(request, self.template_name, self.context(item, report, form))

    def context(self, item, report, form):
        period = selectors.report_period_for(item, report.period_start if report else None)
        return {"item": item, "report": report, "form": form, "period": period}

    def post(self, request, item_pk=None, pk=None):
        item, report = self.get_objects(request, item_pk, pk)
        form = ReportForm(request.POST, request.FILES, instance=report, item=item)
        if form.is_valid():
            version = form.cleaned_data["version"]
            saved = self.run_service(
                form,
                lambda: services.save_report(
                    item=item,
                    user=request.user,
                    report=report,
                    version=version,
                    text=form.cleaned_data["text"],
                    percent_complete=form.cleaned_data["percent_complete"],
                    problems=form.cleaned_data["problems"],
                    next_steps=form.cleaned_data["next_steps"],
                    measures=form.extra_values(),
                    files=form.cleaned_data["evidence"],
                    submit=request.POST.get("save") != "draft",
                ),
            )
            if saved is not None:
                messages.success(request, _("进展已报送。") if saved.status != "draft" else _("草稿已保存。"))
                return redirect(item)
            if report is not None and version is not None:
                stored = ProgressReport.objects.get(pk=report.pk)
                if stored.version != version:
                    context = self.context(item, report, form)
                    return self.stale_response(request, self.template_name, context, form, stored)
        return render(request, self.template_name, self.context(item, report, form))


@login_required
@require_POST
def report_review(request, pk):
    try:
        report = selectors.report_for_user(request.user, pk)
    except ProgressReport.DoesNotExist:
        raise Http404 from None
    return _item_action(
        request,
        report.item,
        ReviewForm(request.POST),
        lambda data: services.review_report(
            report=report, user=request.user, accept=data["decision"] == "accept", comment=data["comment"]
        ),
        _("审核完成。"),
    )


@login_required
def evidence_download(request, pk):
    try:
        evidence = selectors.evidence_for_download(request.user, pk)
    except Evidence.DoesNotExist:
        raise Http404 from None
    return serve_stored_file(request, evidence, evidence.report.item)


# Item attachments -------------------------------------------------------------------------------


def _attachment_or_404(request, pk) -> ItemAttachment:
    try:
        return selectors.attachment_for_user(request.user, pk)
    except ItemAttachment.DoesNotExist:
        raise Http404 from None


@login_required
@require_POST
def attachment_upload(request, pk):
    item = _item_or_404(request, pk)
    return _item_action(
        request,
        item,
        AttachmentForm(request.POST, request.FILES),
        lambda data: services.attach_to_item(
            item=item, user=request.user, upload=data["file"], description=data["description"]
        ),
        lambda attachment: _("附件「%(name)s」已上传。") % {"name": attachment.original_name},
    )


@login_required
def attachment_download(request, pk):
    attachment = _attachment_or_404(request, pk)
    return serve_stored_file(request, attachment, attachment.item)


@login_required
@require_POST
def attachment_delete(request, pk):
    attachment = _attachment_or_404(request, pk)
    try:
        services.remove_attachment(attachment=attachment, user=request.user)
    except ValidationError as error:
        messages.error(request, "；".join(error.messages))
    else:
        messages.success(request, _("附件「%(name)s」已删除。") % {"name": attachment.original_name})
    return _detail_response(request, attachment.item)


class SavedFilterView(LoginRequiredMixin, View):
    def post(self, request):
        form = SavedFilterForm(request.POST)
        if form.is_valid():
            services.save_filter(user=request.user, **form.cleaned_data)
            messages.success(request, _("筛选条件已保存。"))
        else:
            messages.error(request, _("请填写筛选条件的名称。"))
        return redirect(f"{reverse('ledgers:item_list')}?{form.data.get('query', '')}")


@login_required
@require_POST
def saved_filter_delete(request, pk):
    services.delete_filter(saved_filter=get_object_or_404(SavedFilter, pk=pk, user=request.user))
    return redirect("ledgers:item_list")


@login_required
def item_autocomplete(request):
    term = request.GET.get("q", "").strip()
    items = selectors.item_list(request.user).filter(title__icontains=term) if term else Item.objects.none()
    ledger = request.GET.get("ledger")
    if ledger and ledger.isdigit():
        items = items.filter(ledger_id=int(ledger))
    # Only id and title: drop the list's joins, which cannot be combined with a deferred ledger.
    items = items.select_related(None).prefetch_related(None).only("id", "title")
    return JsonResponse({"results": [{"value": i.pk, "text": i.title} for i in items[:20]]})


# Milestones -------------------------------------------------------------------------------------


def _milestone_or_404(request, pk) -> Milestone:
    """The milestone, if its item is visible to the user (loaded with the detail page's prefetching)."""
    item_id = Milestone.objects.filter(pk=pk).values_list("item_id", flat=True).first()
    if item_id is None:
        raise Http404
    item = _item_or_404(request, item_id)
    for milestone in item.milestones.all():
        if milestone.pk == pk:
            return milestone
    raise Http404


def _milestone_refused(request, item, form):
    """A refused milestone change: htmx gets the form back, open, with the message next to its field."""
    if request.htmx:
        return _detail_response(request, item, bound_milestone_form=form)
    messages.error(request, _form_errors(form))
    return redirect(item)


def _milestone_stale(request, item, form, stored):
    """Someone else changed the milestone first (like ``ServiceFormMixin.stale_response``): the item
    page, or its panels for htmx, with the stored milestone and this user's input in its form, which
    now carries the stored version (resubmitting applies it over what they have seen); status 409."""
    form.data = form.data.copy()
    form.data[form.add_prefix("version")] = str(stored.version)
    fresh = selectors.item_for_detail(request.user, item.pk)
    context = ItemDetailView.context(request, fresh, bound_milestone_form=form, stale_milestone=stored.pk)
    template = "ledgers/item_detail.html#panels" if request.htmx else "ledgers/item_detail.html"
    return render(request, template, context, status=409)


def _milestone_change(request, milestone, form, change, success):
    """Run ``change()`` from a valid milestone form; answer success, staleness or refusal."""
    item = milestone.item
    if form.is_valid():
        saved = ServiceFormMixin().run_service(form, change)
        if saved is not None:
            messages.success(request, success % {"name": saved.name})
            return _detail_response(request, item)
        stored = Milestone.objects.filter(pk=milestone.pk).first()
        if stored is not None and stored.version != form.cleaned_data["version"]:
            return _milestone_stale(request, item, form, stored)
    return _milestone_refused(request, item, form)


@login_required
@require_POST
def milestone_edit(request, pk):
    milestone = _milestone_or_404(request, pk)
    if not can_edit_item(request.user, milestone.item):
        raise Http404
    form = MilestoneForm(request.POST, milestone=milestone)
    return _milestone_change(
        request,
        milestone,
        form,
        lambda: services.update_milestone(milestone=milestone, user=request.user, **form.cleaned_data),
        _("节点「%(name)s」已保存。"),
    )


@login_required
@require_POST
def milestone_complete(request, pk):
    milestone = _milestone_or_404(request, pk)
    if not (is_lead_liaison(request.user, milestone.item) or is_supervisor_for(request.user, milestone.item)):
        raise Http404
    form = MilestoneCompleteForm(request.POST, milestone=milestone)
    return _milestone_change(
        request,
        milestone,
        form,
        lambda: services.complete_milestone(milestone=milestone, user=request.user, **form.cleaned_data),
        _("节点「%(name)s」已标记完成。"),
    )


# Ledger configuration ---------------------------------------------------------------------------


class LedgerSettingsView(RoleRequiredMixin, View):
    """A ledger's custom fields, for the supervisors of its office."""

    required_roles = SUPERVISOR_ONLY

    def get(self, request, pk):
        ledger = get_object_or_404(_supervised_ledgers(request.user).select_related("owner_office"), pk=pk)
        fields = list(ledger.fields.all())
        return render(
            request,
            "ledgers/ledger_settings.html",
            {
                "ledger": ledger,
                "item_fields": [f for f in fields if f.target == FieldTarget.ITEM],
                "report_fields": [f for f in fields if f.target == FieldTarget.REPORT],
            },
        )


class LedgerFieldEditView(RoleRequiredMixin, ServiceFormMixin, View):
    required_roles = SUPERVISOR_ONLY
    template_name = "ledgers/ledger_field_form.html"

    def get_objects(self, request, pk=None, ledger_pk=None):
        if pk is not None:
            field = get_object_or_404(
                LedgerField.objects.select_related("ledger").filter(
                    ledger__in=_supervised_ledgers(request.user)
                ),
                pk=pk,
            )
            return field.ledger, field
        return get_object_or_404(_supervised_ledgers(request.user), pk=ledger_pk), None

    def get(self, request, pk=None, ledger_pk=None):
        ledger, field = self.get_objects(request, pk, ledger_pk)
        initial = {}
        if field is None and request.GET.get("target") in FieldTarget.values:
            initial["target"] = request.GET["target"]
        form = LedgerFieldForm(instance=field, initial=initial)
        return render(request, self.template_name, {"form": form, "ledger": ledger, "field": field})

    def post(self, request, pk=None, ledger_pk=None):
        ledger, field = self.get_objects(request, pk, ledger_pk)
        form = LedgerFieldForm(request.POST, instance=field)
        if form.is_valid():
            saved = self.run_service(
                form,
                lambda: services.save_ledger_field(
                    user=request.user, ledger=ledger, field=field, **form.service_values()
                ),
            )
            if saved is not None:
                messages.success(request, _("字段「%(label)s」已保存。") % {"label": saved.label})
                return redirect("ledgers:ledger_settings", ledger.pk)
            if field is not None:
                stored = LedgerField.objects.filter(pk=field.pk).first()
                if stored is not None and stored.version != form.cleaned_data["version"]:
                    context = {"ledger": ledger, "field": field}
                    return self.stale_response(request, self.template_name, context, form, stored)
        return render(request, self.template_name, {"form": form, "ledger": ledger, "field": field})


class LedgerFieldDeleteView(RoleRequiredMixin, View):
    required_roles = SUPERVISOR_ONLY

    def post(self, request, pk):
        field = get_object_or_404(
            LedgerField.objects.select_related("ledger").filter(ledger__in=_supervised_ledgers(request.user)),
            pk=pk,
        )
        try:
            services.delete_ledger_field(field=field, user=request.user)
        except ValidationError as error:
            messages.error(request, "；".join(error.messages))
        else:
            messages.success(request, _("字段「%(label)s」已删除。") % {"label": field.label})
        return redirect("ledgers:ledger_settings", field.ledger_id)


class TagCreateView(RoleRequiredMixin, View):
    """Tom Select's "add" on the item form: the tag, existing or new, as JSON; a refusal says why."""

    required_roles = SUPERVISOR_ONLY

    def post(self, request):
        try:
            tag = services.get_or_create_tag(request.POST.get("name", ""))
        except ValidationError as error:
            return JsonResponse({"error": "；".join(error.messages)}, status=400)
        return JsonResponse({"value": tag.pk, "text": tag.name})
