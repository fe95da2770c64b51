"""Assessment screens: schemes, their groups, indicators and books; periods with their runs, rankings,
manual scores, objections and publication; a unit's breakdown; the changes between runs; notices.

Every object is loaded through a scoped selector (404 outside the user's scope) and every write goes
through ``luoshi.assessment.services``.
"""

import io

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.decorators.http import require_POST

from luoshi.assessment import documents, selectors, services
from luoshi.assessment.filters import SchemeFilterSet
from luoshi.assessment.forms import (
    AdjustmentForm,
    AnswerForm,
    BookForm,
    GroupForm,
    IndicatorForm,
    ManualScoreForm,
    NoticeForm,
    ObjectionForm,
    PeriodForm,
    ReviewForm,
    RunForm,
    SchemeForm,
)
from luoshi.assessment.measures import MEASURES
from luoshi.assessment.models import (
    BookCopy,
    Indicator,
    ManualEvidence,
    ManualScore,
    Objection,
    Period,
    PeriodStatus,
    ResponsibilityBook,
    Scheme,
    ScoreRun,
    UnitGroup,
    UnitScore,
)
from luoshi.assessment.tables import SchemeTable
from luoshi.audit.downloads import serve_stored_file
from luoshi.audit.models import AuditAction
from luoshi.audit.services import record
from luoshi.core.uploads import content_disposition
from luoshi.core.views import ObjectListView, RoleRequiredMixin, ServiceFormMixin
from luoshi.orgs.models import Role
from luoshi.orgs.selectors import access_profile

READERS = frozenset({Role.SUPERVISOR, Role.LEADER, Role.LIAISON, Role.HANDLER})
OFFICE = frozenset({Role.SUPERVISOR})
FORM_TEMPLATE = "assessment/form.html"
DOCX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _scheme(request, pk, *, office=False) -> Scheme:
    schemes = selectors.editable_schemes(request.user) if office else Scheme.objects.visible_to(request.user)
    return get_object_or_404(schemes.select_related("office"), pk=pk)


def _period(request, pk, *, office=False) -> Period:
    try:
        period = selectors.period_for_detail(request.user, pk)
    except Period.DoesNotExist:
        raise Http404 from None
    if office and not selectors.is_office(request.user, period.scheme):
        raise Http404
    return period


def _run(request, pk) -> ScoreRun:
    try:
        return selectors.run_for(request.user, pk)
    except ScoreRun.DoesNotExist:
        raise Http404 from None


class SchemeListView(ObjectListView):
    required_roles = READERS
    table_class = SchemeTable
    filterset_class = SchemeFilterSet
    template_name = "assessment/scheme_list.html"
    title = gettext_lazy("考核方案")

    def get_queryset(self):
        return selectors.scheme_list(self.request.user)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["can_create"] = bool(access_profile(self.request.user).supervisor_org_ids)
        return context


class _FormView(RoleRequiredMixin, ServiceFormMixin, View):
    """A form whose valid input goes to a service; ``ValidationError`` lands on the form, a stale
    version answers 409 with the stored row. Subclasses say what is edited and how it is saved."""

    required_roles = OFFICE
    form_class: type
    title = ""

    def setup_objects(self, request, **kwargs) -> None:
        """Load the objects of the URL (404 outside the user's scope) onto ``self``."""

    def instance(self):
        return None

    def form_kwargs(self) -> dict:
        return {}

    def save(self, form):
        raise NotImplementedError

    def success_url(self, saved) -> str:
        raise NotImplementedError

    def cancel_url(self) -> str:
        raise NotImplementedError

    def get(self, request, **kwargs):
        self.setup_objects(request, **kwargs)
        return self.render_form(self.make_form())

    def post(self, request, **kwargs):
        self.setup_objects(request, **kwargs)
        form = self.make_form(request.POST, request.FILES)
        if form.is_valid():
            saved = self.run_service(form, lambda: self.save(form))
            if saved is not None:
                messages.success(request, _("已保存。"))
                return redirect(self.success_url(saved))
            edited = self.instance()
            if edited is not None and hasattr(edited, "version"):
                stored = type(edited).objects.get(pk=edited.pk)
                if stored.version != form.cleaned_data.get("version"):
                    return self.stale_response(request, FORM_TEMPLATE, self.context(), form, stored)
        return self.render_form(form)

    def make_form(self, *args):
        kwargs = self.form_kwargs()
        if issubclass(self.form_class, forms.ModelForm):
            kwargs["instance"] = self.instance()
        return self.form_class(*args, **kwargs)

    def context(self) -> dict:
        return {"title": self.title, "cancel_url": self.cancel_url(), "record": self.instance()}

    def render_form(self, form, status=200):
        return render(self.request, FORM_TEMPLATE, {**self.context(), "form": form}, status=status)


# Schemes ----------------------------------------------------------------------------------------------


class SchemeEditView(_FormView):
    form_class = SchemeForm

    def setup_objects(self, request, pk=None):
        self.scheme = _scheme(request, pk, office=True) if pk else None
        self.title = _("编辑考核方案") if pk else _("新建考核方案")

    def instance(self):
        return self.scheme

    def form_kwargs(self):
        return {"user": self.request.user}

    def save(self, form):
        data = dict(form.cleaned_data)
        version, office = data.pop("version"), data.pop("office")
        stored = Scheme.objects.get(pk=self.scheme.pk) if self.scheme else None
        return services.save_scheme(
            user=self.request.user,
            office=office if stored is None else stored.office,
            scheme=stored,
            version=version,
            **data,
        )

    def success_url(self, saved):
        return reverse("assessment:scheme_detail", args=[saved.pk])

    def cancel_url(self):
        return (
            reverse("assessment:scheme_detail", args=[self.scheme.pk])
            if self.scheme
            else reverse("assessment:scheme_list")
        )


class SchemeDetailView(RoleRequiredMixin, View):
    required_roles = READERS

    def get(self, request, pk):
        try:
            scheme = selectors.scheme_for_detail(request.user, pk)
        except Scheme.DoesNotExist:
            raise Http404 from None
        is_office = selectors.is_office(request.user, scheme)
        context = {
            "scheme": scheme,
            "is_office": is_office,
            "indicators": selectors.flattened_tree(scheme),
            "problems": services.plan_for(scheme)[0].problems if is_office else [],
            "books": scheme.books.all()
            if is_office
            else [
                book
                for book in scheme.books.all()
                if book.organisation_id in selectors.assessed_unit_ids(request.user)
            ],
        }
        return render(request, "assessment/scheme_detail.html", context)


class GroupEditView(_FormView):
    form_class = GroupForm

    def setup_objects(self, request, scheme_pk=None, pk=None):
        if pk:
            self.group = get_object_or_404(
                UnitGroup.objects.filter(scheme__in=selectors.editable_schemes(request.user)), pk=pk
            )
            self.scheme = self.group.scheme
        else:
            self.group, self.scheme = None, _scheme(request, scheme_pk, office=True)
        self.title = _("编辑考核分组") if pk else _("新建考核分组")

    def instance(self):
        return self.group

    def form_kwargs(self):
        return {"group": self.group}

    def save(self, form):
        data = form.cleaned_data
        stored = UnitGroup.objects.get(pk=self.group.pk) if self.group else None
        return services.save_group(
            user=self.request.user,
            scheme=self.scheme,
            name=data["name"],
            units=data["units"],
            group=stored,
            sort_order=data["sort_order"] or 0,
            version=data["version"],
        )

    def success_url(self, saved):
        return reverse("assessment:scheme_detail", args=[self.scheme.pk]) + "#groups"

    def cancel_url(self):
        return self.success_url(None)


class IndicatorEditView(_FormView):
    form_class = IndicatorForm

    def setup_objects(self, request, scheme_pk=None, pk=None):
        if pk:
            self.indicator = get_object_or_404(
                Indicator.objects.filter(scheme__in=selectors.editable_schemes(request.user)), pk=pk
            )
            self.scheme = self.indicator.scheme
        else:
            self.indicator, self.scheme = None, _scheme(request, scheme_pk, office=True)
        self.title = _("编辑考核指标") if pk else _("新增考核指标")

    def instance(self):
        return self.indicator

    def form_kwargs(self):
        return {"scheme": self.scheme}

    def save(self, form):
        data = dict(form.cleaned_data)
        version = data.pop("version")
        stored = Indicator.objects.get(pk=self.indicator.pk) if self.indicator else None
        return services.save_indicator(
            user=self.request.user, scheme=self.scheme, indicator=stored, version=version, **data
        )

    def success_url(self, saved):
        return reverse("assessment:scheme_detail", args=[self.scheme.pk]) + "#indicators"

    def cancel_url(self):
        return self.success_url(None)

    def context(self):
        return {**super().context(), "measures": MEASURES}


@require_POST
@login_required
def indicator_delete(request, pk):
    indicator = get_object_or_404(
        Indicator.objects.filter(scheme__in=selectors.editable_schemes(request.user)), pk=pk
    )
    back = reverse("assessment:scheme_detail", args=[indicator.scheme_id]) + "#indicators"
    try:
        services.delete_indicator(user=request.user, indicator=indicator)
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    else:
        messages.success(request, _("已删除指标「%(name)s」。") % {"name": indicator})
    return redirect(back)


class BookEditView(_FormView):
    form_class = BookForm

    def setup_objects(self, request, scheme_pk=None, pk=None):
        if pk:
            self.book = get_object_or_404(
                ResponsibilityBook.objects.filter(scheme__in=selectors.editable_schemes(request.user)), pk=pk
            )
            self.scheme = self.book.scheme
        else:
            self.book, self.scheme = None, _scheme(request, scheme_pk, office=True)
        self.title = _("编辑目标责任书") if pk else _("登记目标责任书")

    def instance(self):
        return self.book

    def form_kwargs(self):
        return {"scheme": self.scheme}

    def save(self, form):
        data = form.cleaned_data
        stored = ResponsibilityBook.objects.get(pk=self.book.pk) if self.book else None
        return services.sign_book(
            user=self.request.user,
            scheme=self.scheme,
            organisation=stored.organisation if stored else data["organisation"],
            targets=form.targets(),
            signed_on=data["signed_on"],
            signatory=data["signatory"],
            note=data["note"],
            copies=data["copies"] or (),
            book=stored,
            version=data["version"],
        )

    def success_url(self, saved):
        return reverse("assessment:scheme_detail", args=[self.scheme.pk]) + "#books"

    def cancel_url(self):
        return self.success_url(None)


@login_required
def book_copy(request, pk):
    copy = get_object_or_404(BookCopy.objects.select_related("book__scheme"), pk=pk)
    book = copy.book
    scheme = Scheme.objects.visible_to(request.user).filter(pk=book.scheme_id).first()
    allowed = scheme is not None and (
        selectors.is_office(request.user, scheme)
        or book.organisation_id in selectors.assessed_unit_ids(request.user)
    )
    if not allowed:
        raise Http404
    return serve_stored_file(request, copy, reverse("assessment:scheme_detail", args=[book.scheme_id]))


class PeriodCreateView(_FormView):
    form_class = PeriodForm

    def setup_objects(self, request, scheme_pk):
        self.scheme = _scheme(request, scheme_pk, office=True)
        self.title = _("新建考核周期")

    def save(self, form):
        return services.create_period(user=self.request.user, scheme=self.scheme, **form.cleaned_data)

    def success_url(self, saved):
        return reverse("assessment:period_detail", args=[saved.pk])

    def cancel_url(self):
        return reverse("assessment:scheme_detail", args=[self.scheme.pk]) + "#periods"


# Periods ----------------------------------------------------------------------------------------------


class PeriodDetailView(RoleRequiredMixin, View):
    required_roles = READERS

    def get(self, request, pk):
        period = _period(request, pk)
        is_office = selectors.is_office(request.user, period.scheme)
        number = request.GET.get("run", "")
        run = selectors.run_to_show(request.user, period, int(number) if number.isdigit() else None)
        if number and run is None:
            raise Http404
        rankings = selectors.ranking(run) if run else []
        context = {
            "period": period,
            "scheme": period.scheme,
            "is_office": is_office,
            "run": run,
            "runs": list(selectors.runs_shown(request.user, period)),
            "rankings": rankings,
            "chart": selectors.ranking_chart(rankings),
            "own_units": set(selectors.assessed_unit_ids(request.user)),
            "objections": list(selectors.objections(request.user, period)),
            "objectable": selectors.objectable_units(request.user, period).exists(),
            "can_object": period.status == PeriodStatus.PUBLICISED
            and timezone.localdate() <= period.objection_deadline,
            "notice_form": NoticeForm(),
        }
        if is_office:
            context.update(
                manual_scores=list(selectors.manual_scores(period)),
                pending_reviews=selectors.pending_reviews(period),
                run_form=RunForm(initial={"as_of": timezone.localdate()}),
                review_form=ReviewForm(),
                adjustments=list(
                    period.adjustments.select_related("organisation", "indicator", "created_by")
                ),
            )
        return render(request, "assessment/period_detail.html", context)


def _act(request, period, call, success: str):
    """Run a period action from a POST; a refusal is shown as an error message on the period page."""
    try:
        call()
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    else:
        messages.success(request, success)
    return redirect("assessment:period_detail", period.pk)


@require_POST
@login_required
def period_run(request, pk):
    period = _period(request, pk, office=True)
    form = RunForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for message in errors:
                messages.error(request, message)
        return redirect("assessment:period_detail", period.pk)
    data = form.cleaned_data
    return _act(
        request,
        period,
        lambda: services.run_scoring(
            user=request.user, period=period, as_of=data["as_of"], note=data["note"]
        ),
        _("计分完成，已生成新版本。"),
    )


@require_POST
@login_required
def period_publicise(request, pk):
    period = _period(request, pk, office=True)
    return _act(
        request,
        period,
        lambda: services.publicise(user=request.user, period=period),
        _("已公示，异议期开始。"),
    )


@require_POST
@login_required
def period_publish(request, pk):
    period = _period(request, pk, office=True)
    return _act(
        request, period, lambda: services.publish(user=request.user, period=period), _("考核结果已发布。")
    )


class ManualScoreEditView(_FormView):
    form_class = ManualScoreForm

    def setup_objects(self, request, period_pk=None, pk=None):
        if pk:
            self.score = get_object_or_404(
                ManualScore.objects.filter(period__scheme__in=selectors.editable_schemes(request.user)), pk=pk
            )
            self.period = self.score.period
        else:
            self.score, self.period = None, _period(request, period_pk, office=True)
        self.title = _("修改人工评分") if pk else _("录入人工评分")

    def instance(self):
        return self.score

    def form_kwargs(self):
        return {"period": self.period}

    def save(self, form):
        data = form.cleaned_data
        stored = ManualScore.objects.get(pk=self.score.pk) if self.score else None
        return services.enter_manual_score(
            user=self.request.user,
            period=self.period,
            organisation=stored.organisation if stored else data["organisation"],
            indicator=stored.indicator if stored else data["indicator"],
            points=data["points"],
            reason=data["reason"],
            evidence=data["evidence"] or (),
            version=data["version"],
        )

    def success_url(self, saved):
        return reverse("assessment:period_detail", args=[self.period.pk]) + "#manual"

    def cancel_url(self):
        return self.success_url(None)


@require_POST
@login_required
def manual_review(request, pk):
    score = get_object_or_404(
        ManualScore.objects.filter(period__scheme__in=selectors.editable_schemes(request.user)), pk=pk
    )
    form = ReviewForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("请选择复核结论。"))
        return redirect("assessment:period_detail", score.period_id)
    data = form.cleaned_data
    return _act(
        request,
        score.period,
        lambda: services.review_manual_score(
            user=request.user,
            score=score,
            approve=data["decision"] == "approve",
            comment=data["comment"],
            version=data["version"],
        ),
        _("复核完成。"),
    )


@login_required
def manual_evidence(request, pk):
    evidence = get_object_or_404(
        ManualEvidence.objects.filter(score__period__scheme__in=selectors.editable_schemes(request.user)),
        pk=pk,
    )
    return serve_stored_file(
        request, evidence, reverse("assessment:period_detail", args=[evidence.score.period_id])
    )


class ObjectionCreateView(_FormView):
    required_roles = frozenset({Role.LIAISON})
    form_class = ObjectionForm

    def setup_objects(self, request, period_pk):
        self.period = _period(request, period_pk)
        self.units = selectors.objectable_units(request.user, self.period)
        if not self.units.exists():
            raise Http404
        self.title = _("提出异议")

    def form_kwargs(self):
        return {"units": self.units, "scheme": self.period.scheme}

    def save(self, form):
        data = form.cleaned_data
        return services.file_objection(
            user=self.request.user,
            period=self.period,
            organisation=data["organisation"],
            text=data["text"],
            indicator=data["indicator"],
        )

    def success_url(self, saved):
        return reverse("assessment:period_detail", args=[self.period.pk]) + "#objections"

    def cancel_url(self):
        return self.success_url(None)


class ObjectionAnswerView(_FormView):
    form_class = AnswerForm

    def setup_objects(self, request, pk):
        self.objection = get_object_or_404(
            Objection.objects.filter(
                period__scheme__in=selectors.editable_schemes(request.user)
            ).select_related("organisation", "indicator", "period"),
            pk=pk,
        )
        self.period = self.objection.period
        self.title = _("答复异议")

    def form_kwargs(self):
        return {"initial": {"version": self.objection.version}}

    def save(self, form):
        data = form.cleaned_data
        return services.answer_objection(
            user=self.request.user,
            objection=self.objection,
            accept=data["decision"] == "accept",
            answer=data["answer"],
            points=data["points"],
            version=data["version"],
        )

    def success_url(self, saved):
        return reverse("assessment:period_detail", args=[self.period.pk]) + "#objections"

    def cancel_url(self):
        return self.success_url(None)

    def context(self):
        return {**super().context(), "objection": self.objection}


class AdjustmentCreateView(_FormView):
    form_class = AdjustmentForm

    def setup_objects(self, request, period_pk):
        self.period = _period(request, period_pk, office=True)
        self.title = _("登记分数调整")

    def form_kwargs(self):
        return {"period": self.period}

    def save(self, form):
        return services.adjust_score(user=self.request.user, period=self.period, **form.cleaned_data)

    def success_url(self, saved):
        return reverse("assessment:period_detail", args=[self.period.pk]) + "#adjustments"

    def cancel_url(self):
        return self.success_url(None)


# Runs: breakdown, changes, notices ------------------------------------------------------------------


class BreakdownView(RoleRequiredMixin, View):
    """How one unit's score in one run was reached (``pk``: the unit's score)."""

    required_roles = READERS

    def get(self, request, pk):
        score = get_object_or_404(UnitScore.objects.only("run_id", "organisation_id"), pk=pk)
        run = _run(request, score.run_id)
        if not selectors.may_see_breakdown(request.user, run, score.organisation_id):
            raise Http404
        unit, lines, counted = selectors.breakdown(run, score.organisation_id)
        trend = selectors.unit_trend(run.period.scheme, score.organisation_id)
        context = {
            "run": run,
            "period": run.period,
            "unit": unit,
            "lines": lines,
            "counted": counted,
            "trend": {
                "periods": [period.name for period, _score in trend],
                "totals": [float(score.total) for _period, score in trend],
                "ranks": [score.rank for _period, score in trend],
            },
        }
        return render(request, "assessment/breakdown.html", context)


class RunChangesView(RoleRequiredMixin, View):
    """What changed between two runs of a period: ``?against=N`` (default: the run before)."""

    required_roles = READERS

    def get(self, request, pk):
        run = _run(request, pk)
        runs = selectors.runs_shown(request.user, run.period)
        against = request.GET.get("against", "")
        if against.isdigit():
            older = runs.filter(number=int(against)).first()
        else:
            older = runs.filter(number__lt=run.number).order_by("-number").first()
        if older is None:
            raise Http404
        context = {
            "run": run,
            "older": older,
            "period": run.period,
            "changes": selectors.run_changes(older, run),
        }
        return render(request, "assessment/run_changes.html", context)


def _download(request, run, kind: str, render_into, content_type: str, suffix: str):
    stream = io.BytesIO()
    render_into(stream)
    record(action=AuditAction.EXPORT, obj=run, user=request.user, after={"format": kind})
    stream.seek(0)
    response = FileResponse(stream, content_type=content_type)
    results = _("考核结果")
    name = f"{run.period.scheme.name}{run.period.name}{results}{suffix}"
    response["Content-Disposition"] = content_disposition(name, inline=False)
    response["Cache-Control"] = "private, no-store"
    return response


class NoticeView(RoleRequiredMixin, View):
    """The ranking notice (排名通报) of a run as an official document; ``?red_header=1``, ``?number=``."""

    required_roles = READERS

    def get(self, request, pk):
        run = _run(request, pk)
        form = NoticeForm(request.GET)
        options = form.cleaned_data if form.is_valid() else {"number": "", "red_header": False}
        context = documents.notice_context(run, number=options["number"], red_header=options["red_header"])
        return _download(
            request,
            run,
            "docx",
            lambda stream: documents.render_notice(context, stream),
            DOCX_CONTENT_TYPE,
            ".docx",
        )


class RankingWorkbookView(RoleRequiredMixin, View):
    required_roles = READERS

    def get(self, request, pk):
        run = _run(request, pk)
        return _download(
            request,
            run,
            "xlsx",
            lambda stream: documents.ranking_workbook(run, stream),
            XLSX_CONTENT_TYPE,
            ".xlsx",
        )
