from django import forms
from django.utils.translation import gettext_lazy as _

from luoshi.assessment.measures import MEASURES
from luoshi.assessment.models import (
    Category,
    Indicator,
    ManualScore,
    Period,
    ResponsibilityBook,
    Scheme,
)
from luoshi.assessment.selectors import manual_indicators
from luoshi.core.forms import BootstrapFormMixin, DateInput, VersionedFormMixin
from luoshi.core.widgets import AutocompleteSelectMultiple
from luoshi.ledgers.forms import MultipleFileField
from luoshi.ledgers.models import Ledger
from luoshi.orgs.forms import office_field
from luoshi.orgs.models import Organisation

POINTS_INPUT = {"step": "0.01"}


class SchemeForm(BootstrapFormMixin, VersionedFormMixin, forms.ModelForm):
    office = forms.ModelChoiceField(label=_("考核单位"), queryset=Organisation.objects.none())

    class Meta:
        model = Scheme
        fields = [
            "office",
            "year",
            "name",
            "ledgers",
            "full_marks",
            "require_full_marks",
            "bonus_cap",
            "deduction_cap",
            "grading",
            "excellent_line",
            "good_line",
            "fair_line",
            "list_size",
            "objection_days",
        ]
        help_texts = {
            "excellent_line": _("按分数段：达到此分为优秀；按排名比例：排名前百分之几为优秀"),
            "good_line": _("按排名比例时为累计百分比，如 50 表示前 50% 中优秀以外的为良好"),
        }

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        office_field(self, user)
        self.fields["ledgers"].queryset = Ledger.objects.filter(
            owner_office_id__in=self.fields["office"].queryset.values("pk"), is_archived=False
        )
        if self.instance.pk:
            self.version_initial(self.instance)
            self.fields["office"].disabled = True
        else:
            self.fields["version"].required = False


class GroupForm(BootstrapFormMixin, VersionedFormMixin, forms.Form):
    name = forms.CharField(label=_("分组名称"), max_length=50)
    units = forms.ModelMultipleChoiceField(
        label=_("参加考核的单位"),
        queryset=Organisation.objects.filter(is_active=True),
        widget=AutocompleteSelectMultiple("orgs:org_autocomplete"),
    )
    sort_order = forms.IntegerField(label=_("排序"), min_value=0, initial=0)

    def __init__(self, *args, group=None, **kwargs):
        super().__init__(*args, **kwargs)
        if group is not None:
            self.initial.update(
                name=group.name,
                units=list(group.members.values_list("organisation_id", flat=True)),
                sort_order=group.sort_order,
                version=group.version,
            )
        else:
            self.fields["version"].required = False


class IndicatorForm(BootstrapFormMixin, VersionedFormMixin, forms.ModelForm):
    measure = forms.ChoiceField(label=_("记录指标"), required=False)

    class Meta:
        model = Indicator
        fields = [
            "parent",
            "code",
            "name",
            "category",
            "max_points",
            "criteria",
            "rule_kind",
            "measure",
            "base_points",
            "points_per_unit",
            "formula",
            "sort_order",
        ]
        widgets = {
            "criteria": forms.Textarea(attrs={"rows": 2}),
            "max_points": forms.NumberInput(attrs=POINTS_INPUT),
            "base_points": forms.NumberInput(attrs=POINTS_INPUT),
            "points_per_unit": forms.NumberInput(attrs=POINTS_INPUT),
        }
        help_texts = {
            "formula": _(
                "可用 + − × ÷、括号、比较、IF(条件, 是, 否)、MIN、MAX、ABS、ROUND 和下列记录指标的名称"
            ),
        }

    def __init__(self, *args, scheme: Scheme, **kwargs):
        super().__init__(*args, **kwargs)
        parents = scheme.indicators.filter(parent__isnull=True)
        if self.instance.pk:
            parents = parents.exclude(pk=self.instance.pk)
            self.version_initial(self.instance)
        else:
            self.fields["version"].required = False
        self.fields["parent"].queryset = parents.order_by("sort_order", "id")
        self.fields["measure"].choices = [("", "—")] + [
            (name, f"{name}（{measure.description}）") for name, measure in MEASURES.items()
        ]
        self.fields["rule_kind"].help_text = _("有下级指标的指标按下级得分合计，不需选择")


class BookForm(BootstrapFormMixin, VersionedFormMixin, forms.ModelForm):
    """A unit's book: one target field per first-level specific indicator (blank: not signed)."""

    organisation = forms.ModelChoiceField(label=_("责任单位"), queryset=Organisation.objects.none())
    copies = MultipleFileField(
        label=_("签订件"), required=False, help_text=_("盖章签字的扫描件，PDF 或图片，可多选。")
    )

    class Meta:
        model = ResponsibilityBook
        fields = ["organisation", "signed_on", "signatory", "note"]
        widgets = {"signed_on": DateInput(), "note": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, scheme: Scheme, **kwargs):
        super().__init__(*args, **kwargs)
        members = Organisation.objects.filter(pk__in=scheme.groups.values("members__organisation")).order_by(
            "path"
        )
        self.fields["organisation"].queryset = members
        self.specific = list(
            scheme.indicators.filter(category=Category.SPECIFIC, parent__isnull=True).order_by(
                "sort_order", "id"
            )
        )
        signed = (
            {target.indicator_id: target.target for target in self.instance.targets.all()}
            if self.instance.pk
            else {}
        )
        for indicator in self.specific:
            name = f"target_{indicator.pk}"
            self.fields[name] = forms.CharField(
                label=_("「%(name)s」目标任务（%(points)s 分）")
                % {"name": indicator, "points": indicator.max_points.normalize()},
                required=False,
                max_length=300,
                initial=signed.get(indicator.pk, ""),
                widget=forms.TextInput(attrs={"class": "form-control"}),
            )
        if self.instance.pk:
            self.version_initial(self.instance)
            self.fields["organisation"].disabled = True
        else:
            self.fields["version"].required = False

    def targets(self) -> list[tuple[Indicator, str]]:
        return [
            (indicator, self.cleaned_data[f"target_{indicator.pk}"])
            for indicator in self.specific
            if self.cleaned_data.get(f"target_{indicator.pk}", "").strip()
        ]


class PeriodForm(BootstrapFormMixin, forms.ModelForm):
    class Meta:
        model = Period
        fields = ["kind", "name", "start", "end"]
        widgets = {"start": DateInput(), "end": DateInput()}


class RunForm(BootstrapFormMixin, forms.Form):
    as_of = forms.DateField(
        label=_("数据截至"), widget=DateInput(), help_text=_("此日之前到期的事项计入考核；默认为今天")
    )
    note = forms.CharField(label=_("说明"), max_length=200, required=False)


class ManualScoreForm(BootstrapFormMixin, VersionedFormMixin, forms.ModelForm):
    organisation = forms.ModelChoiceField(label=_("单位"), queryset=Organisation.objects.none())
    evidence = MultipleFileField(label=_("佐证材料"), required=False, help_text=_("必须上传，可多选。"))

    class Meta:
        model = ManualScore
        fields = ["organisation", "indicator", "points", "reason"]
        widgets = {
            "reason": forms.Textarea(attrs={"rows": 3}),
            "points": forms.NumberInput(attrs=POINTS_INPUT),
        }

    def __init__(self, *args, period: Period, **kwargs):
        super().__init__(*args, **kwargs)
        scheme = period.scheme
        self.fields["organisation"].queryset = Organisation.objects.filter(
            pk__in=scheme.groups.values("members__organisation")
        ).order_by("path")
        self.fields["indicator"].queryset = manual_indicators(scheme)
        if self.instance.pk:
            self.version_initial(self.instance)
            self.fields["organisation"].disabled = True
            self.fields["indicator"].disabled = True
        else:
            self.fields["version"].required = False


class ReviewForm(BootstrapFormMixin, VersionedFormMixin, forms.Form):
    decision = forms.ChoiceField(label=_("复核结论"), choices=[("approve", _("通过")), ("reject", _("退回"))])
    comment = forms.CharField(label=_("复核意见"), max_length=300, required=False)


class ObjectionForm(BootstrapFormMixin, forms.Form):
    organisation = forms.ModelChoiceField(label=_("单位"), queryset=Organisation.objects.none())
    indicator = forms.ModelChoiceField(
        label=_("有异议的指标"), queryset=Indicator.objects.none(), required=False
    )
    text = forms.CharField(label=_("异议内容"), widget=forms.Textarea(attrs={"rows": 4}), max_length=2000)

    def __init__(self, *args, units, scheme: Scheme, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organisation"].queryset = units
        if len(units) == 1:
            self.initial.setdefault("organisation", units[0].pk)
        self.fields["indicator"].queryset = scheme.indicators.order_by("sort_order", "id")


class AnswerForm(BootstrapFormMixin, VersionedFormMixin, forms.Form):
    decision = forms.ChoiceField(
        label=_("处理结果"), choices=[("accept", _("采纳")), ("reject", _("不予采纳"))]
    )
    answer = forms.CharField(label=_("答复意见"), widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)
    points = forms.DecimalField(
        label=_("调整分值"),
        required=False,
        widget=forms.NumberInput(attrs=POINTS_INPUT),
        help_text=_("采纳并需改分时填写，正数加分、负数减分，计入下次计分"),
    )


class AdjustmentForm(BootstrapFormMixin, forms.Form):
    organisation = forms.ModelChoiceField(label=_("单位"), queryset=Organisation.objects.none())
    indicator = forms.ModelChoiceField(label=_("指标"), queryset=Indicator.objects.none())
    points = forms.DecimalField(label=_("调整分值"), widget=forms.NumberInput(attrs=POINTS_INPUT))
    reason = forms.CharField(label=_("调整理由"), max_length=300)

    def __init__(self, *args, period: Period, **kwargs):
        super().__init__(*args, **kwargs)
        scheme = period.scheme
        self.fields["organisation"].queryset = Organisation.objects.filter(
            pk__in=scheme.groups.values("members__organisation")
        ).order_by("path")
        self.fields["indicator"].queryset = (
            scheme.indicators.filter(children__isnull=True)
            .exclude(category=Category.VETO)
            .order_by("sort_order", "id")
        )


class NoticeForm(forms.Form):
    """The notice's download options (a GET form on the period page)."""

    number = forms.CharField(label=_("文号"), max_length=50, required=False)
    red_header = forms.BooleanField(label=_("红头"), required=False)
