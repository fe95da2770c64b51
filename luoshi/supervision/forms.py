from django import forms
from django.utils.translation import gettext_lazy as _

from luoshi.core.forms import BootstrapFormMixin, DateInput, VersionedFormMixin
from luoshi.core.widgets import AutocompleteSelect, AutocompleteSelectMultiple
from luoshi.ledgers.forms import MultipleFileField
from luoshi.ledgers.models import Item, Ledger, ProgressReport
from luoshi.orgs.forms import office_field
from luoshi.orgs.models import Organisation, Role, User
from luoshi.orgs.selectors import access_profile
from luoshi.supervision.models import (
    Accountability,
    EscalationAction,
    EscalationStyle,
    Finding,
    Inspection,
    Interview,
    OrderLevel,
    SupervisionOrder,
)
from luoshi.supervision.selectors import editable_interviews, issuable_items, rectification_ledgers
from luoshi.supervision.services import INSTRUCTION_TEXT_LIMIT, ORDER_REPLY_LIMIT, instruction_targets

# Urging and escalation ---------------------------------------------------------------------------------


# A warning may reach any rung but the reminder, which the deadline alone brings.
WARNING_ACTION_CHOICES = [("", _("不自动督办"))] + [
    (action, label) for action, label in EscalationAction.choices if action != EscalationAction.REMIND
]


class EscalationPolicyForm(BootstrapFormMixin, forms.Form):
    """A ledger's ladder: one working-day offset per rung it uses (blank: the rung is not used)."""

    style = forms.ChoiceField(label=_("督办方式"), choices=EscalationStyle.choices)
    is_active = forms.BooleanField(label=_("按规则自动督办"), required=False)
    urgent_start = forms.ChoiceField(
        label=_("领导批示事项起始等级"),
        choices=EscalationAction.choices,
        help_text=_("有未办结领导批示或来源为领导批示的事项，超期后直接从该等级开始。"),
    )
    on_yellow = forms.ChoiceField(
        label=_("黄色预警时"),
        required=False,
        choices=WARNING_ACTION_CHOICES,
        help_text=_("完成时限前事项落后序时进度或逾期未报送而变黄时。"),
    )
    on_red = forms.ChoiceField(
        label=_("红色预警时"),
        required=False,
        choices=WARNING_ACTION_CHOICES,
        help_text=_("完成时限前事项变红时；超过完成时限后按下面的工作日阶梯。"),
    )
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for action, label in EscalationAction.choices:
            self.fields[f"offset_{action}"] = forms.IntegerField(
                label=label,
                required=False,
                min_value=-60,
                max_value=250,
                help_text=_("相对完成时限的工作日数：负数为到期前，正数为超期后；留空表示不用此级。"),
                widget=forms.NumberInput(attrs={"class": "form-control"}),
            )

    @classmethod
    def initial_for(cls, policy, rungs) -> dict:
        initial = {
            "style": policy.style,
            "is_active": policy.is_active,
            "urgent_start": policy.urgent_start,
            "on_yellow": policy.on_yellow,
            "on_red": policy.on_red,
            "version": policy.version if policy.pk else None,
        }
        initial.update({f"offset_{rung.action}": rung.offset_days for rung in rungs})
        return initial

    def rungs(self) -> list[tuple[str, int]]:
        return [
            (action, self.cleaned_data[f"offset_{action}"])
            for action in EscalationAction.values
            if self.cleaned_data.get(f"offset_{action}") is not None
        ]


class UrgeForm(BootstrapFormMixin, forms.Form):
    message = forms.CharField(
        label=_("催办内容"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("留空则发送：请抓紧推进并按时报送进展。"),
    )


class BulkUrgeForm(forms.Form):
    """The item list's selected rows; an id the user cannot see is refused with the list's own words."""

    pk = forms.ModelMultipleChoiceField(queryset=Item.objects.none())
    comment = forms.CharField(required=False, max_length=2000)

    def __init__(self, *args, queryset, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["pk"]
        field.queryset = queryset
        field.error_messages["required"] = _("请先勾选要催办的事项。")
        field.error_messages["invalid_choice"] = _(
            "所选事项中有不在您督办范围内的事项（系统编号 %(value)s），本次没有催办任何事项。"
        )
        field.error_messages["invalid_pk_value"] = _("所选事项编号“%(pk)s”不正确，本次没有催办任何事项。")


# Supervision orders and notices ---------------------------------------------------------------------


class OrderIssueForm(BootstrapFormMixin, forms.Form):
    """下发督办单: the unit, the items (the user's offices' own), level, text and reply deadline."""

    office = forms.ModelChoiceField(label=_("督办单位"), queryset=Organisation.objects.none())
    organisation = forms.ModelChoiceField(
        label=_("责任单位"),
        queryset=Organisation.objects.filter(is_active=True),
        widget=AutocompleteSelect("orgs:org_autocomplete"),
        error_messages={"required": _("请选择责任单位。")},
    )
    items = forms.ModelMultipleChoiceField(
        label=_("督办事项"),
        queryset=Item.objects.none(),
        widget=AutocompleteSelectMultiple("ledgers:item_autocomplete"),
        error_messages={
            "required": _("请至少选择一个督办事项。"),
            "invalid_choice": _("所选事项不在您督办的范围内。"),
        },
    )
    level = forms.ChoiceField(label=_("督办级别"), choices=OrderLevel.choices, initial=OrderLevel.GENERAL)
    subject = forms.CharField(label=_("标题"), max_length=200)
    content = forms.CharField(label=_("督办要求"), max_length=5000, widget=forms.Textarea(attrs={"rows": 6}))
    reply_deadline = forms.DateField(label=_("回复时限"), widget=DateInput())

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        office_field(self, user)
        self.fields["items"].queryset = issuable_items(user).select_related("ledger", "lead_leader")


class OrderReplyForm(BootstrapFormMixin, VersionedFormMixin, forms.Form):
    reply = forms.CharField(
        label=_("办理情况"), max_length=ORDER_REPLY_LIMIT, widget=forms.Textarea(attrs={"rows": 6})
    )
    evidence = MultipleFileField(
        label=_("佐证材料"),
        required=False,
        help_text=_("可多选；允许 PDF、JPG、PNG、Word、Excel，单个文件不超过 20 MB"),
    )


class OrderActionForm(forms.Form):
    """签收, 办结 and 重新督办 from the order page; a reopening carries its new reply deadline."""

    action = forms.ChoiceField(choices=[("sign", "sign"), ("close", "close"), ("reopen", "reopen")])
    comment = forms.CharField(required=False, max_length=2000)
    reply_deadline = forms.DateField(required=False)
    version = forms.IntegerField()


# Interviews and accountability ------------------------------------------------------------------------


class _OfficeRecordForm(BootstrapFormMixin, VersionedFormMixin, forms.ModelForm):
    """What interviews and accountability share: the office, linked items and orders of that office."""

    office = forms.ModelChoiceField(label=_("组织单位"), queryset=Organisation.objects.none())
    organisation = forms.ModelChoiceField(
        label=_("单位"),
        queryset=Organisation.objects.filter(is_active=True),
        widget=AutocompleteSelect("orgs:org_autocomplete"),
    )
    items = forms.ModelMultipleChoiceField(
        label=_("相关事项"),
        required=False,
        queryset=Item.objects.none(),
        widget=AutocompleteSelectMultiple("ledgers:item_autocomplete"),
    )
    orders = forms.ModelMultipleChoiceField(
        label=_("相关督办单"), required=False, queryset=SupervisionOrder.objects.none()
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        office_field(self, user)
        offices = access_profile(user).supervisor_org_ids
        self.fields["items"].queryset = issuable_items(user)
        self.fields["orders"].queryset = SupervisionOrder.objects.filter(office_id__in=offices)
        self.fields["organisation"].label = self._meta.model._meta.get_field("organisation").verbose_name
        if self.instance.pk:
            self.version_initial(self.instance)
        else:
            self.fields["version"].required = False


class InterviewEditForm(_OfficeRecordForm):
    interviewer = forms.ModelChoiceField(
        label=_("约谈人"),
        queryset=User.objects.filter(
            is_active=True, memberships__role__in=(Role.LEADER, Role.SUPERVISOR)
        ).distinct(),
        widget=AutocompleteSelect("orgs:user_autocomplete"),
    )

    class Meta:
        model = Interview
        fields = [
            "office",
            "held_on",
            "interviewer",
            "organisation",
            "interviewee",
            "reason",
            "items",
            "orders",
            "outcome",
        ]
        widgets = {
            "held_on": DateInput(),
            "reason": forms.Textarea(attrs={"rows": 3}),
            "outcome": forms.Textarea(attrs={"rows": 3}),
        }


class AccountabilityEditForm(_OfficeRecordForm):
    class Meta:
        model = Accountability
        fields = [
            "office",
            "form",
            "organisation",
            "person",
            "decided_on",
            "reason",
            "items",
            "orders",
            "interview",
        ]
        widgets = {"decided_on": DateInput(), "reason": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, user=user, **kwargs)
        self.fields["interview"].queryset = editable_interviews(user).select_related("organisation")


# Inspections and rectification ------------------------------------------------------------------------

MEASURE_ROWS = 5


class InspectionForm(BootstrapFormMixin, VersionedFormMixin, forms.ModelForm):
    office = forms.ModelChoiceField(label=_("组织单位"), queryset=Organisation.objects.none())
    team = forms.ModelMultipleChoiceField(
        label=_("督查组成员"),
        queryset=User.objects.filter(is_active=True),
        widget=AutocompleteSelectMultiple("orgs:user_autocomplete"),
    )
    targets = forms.ModelMultipleChoiceField(
        label=_("督查对象"),
        queryset=Organisation.objects.filter(is_active=True),
        widget=AutocompleteSelectMultiple("orgs:org_autocomplete"),
    )

    class Meta:
        model = Inspection
        fields = [
            "office",
            "title",
            "kind",
            "planned_on",
            "team",
            "targets",
            "places",
            "plan",
            "rectification_ledger",
        ]
        widgets = {"planned_on": DateInput(), "plan": forms.Textarea(attrs={"rows": 4})}

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        office_field(self, user)
        self.fields["rectification_ledger"].queryset = rectification_ledgers(user)
        self.fields["rectification_ledger"].help_text = _("可不选：交办第一个问题时再选择或新建。")
        if self.instance.pk:
            self.version_initial(self.instance)
        else:
            self.fields["version"].required = False


class FindingForm(BootstrapFormMixin, forms.ModelForm):
    organisation = forms.ModelChoiceField(label=_("责任单位"), queryset=Organisation.objects.none())
    photos = MultipleFileField(label=_("现场照片"), required=False, help_text=_("JPG 或 PNG，可多选。"))

    class Meta:
        model = Finding
        fields = ["description", "organisation", "place", "found_on", "commitment_required", "commitment"]
        widgets = {
            "found_on": DateInput(),
            "description": forms.Textarea(attrs={"rows": 3}),
            "commitment": forms.Textarea(attrs={"rows": 2}),
        }

    def __init__(self, *args, inspection, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organisation"].queryset = inspection.targets.order_by("path")
        self.fields["photos"].widget.attrs["accept"] = "image/jpeg,image/png"


class AssignProblemForm(BootstrapFormMixin, forms.Form):
    """交办整改: the rectification ledger, the deadline, the commitment and up to five measures."""

    ledger = forms.ModelChoiceField(
        label=_("问题整改台账"),
        queryset=Ledger.objects.none(),
        required=False,
        empty_label=_("（新建本年度问题整改台账）"),
    )
    deadline = forms.DateField(label=_("整改时限"), widget=DateInput())
    commitment = forms.CharField(
        label=_("公开承诺"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, user, finding, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["ledger"].queryset = rectification_ledgers(user)
        self.initial.setdefault("ledger", finding.inspection.rectification_ledger_id)
        self.initial.setdefault("commitment", finding.commitment)
        if finding.commitment_required:
            self.fields["commitment"].help_text = _("本问题需要公开承诺，交办前须填写。")
        for row in range(1, MEASURE_ROWS + 1):
            self.fields[f"measure_{row}"] = forms.CharField(
                label=_("整改措施 %(n)d") % {"n": row},
                required=False,
                max_length=300,
                widget=forms.TextInput(attrs={"class": "form-control"}),
            )
            self.fields[f"measure_deadline_{row}"] = forms.DateField(
                label=_("措施 %(n)d 时限") % {"n": row},
                required=False,
                widget=DateInput(attrs={"class": "form-control"}),
            )

    def measures(self) -> list[tuple[str, object]]:
        data = self.cleaned_data
        return [
            (data.get(f"measure_{n}", ""), data.get(f"measure_deadline_{n}"))
            for n in range(1, MEASURE_ROWS + 1)
        ]

    def measure_rows(self):
        return [(self[f"measure_{n}"], self[f"measure_deadline_{n}"]) for n in range(1, MEASURE_ROWS + 1)]


class VerifyForm(BootstrapFormMixin, forms.Form):
    passed = forms.TypedChoiceField(
        label=_("验收结论"),
        choices=[("1", _("验收通过")), ("0", _("验收不通过，退回整改"))],
        coerce=lambda value: value == "1",
        initial="1",
    )
    comment = forms.CharField(label=_("验收意见"), widget=forms.Textarea(attrs={"rows": 3}))


# Leaders' instructions ----------------------------------------------------------------------------------


class InstructionForm(BootstrapFormMixin, forms.Form):
    """写批示. The report or order it is written on travels as a hidden id, checked against the item."""

    text = forms.CharField(
        label=_("批示内容"),
        max_length=INSTRUCTION_TEXT_LIMIT,
        widget=forms.Textarea(attrs={"rows": 5}),
        error_messages={"required": _("请填写批示内容。")},
    )
    urgent = forms.BooleanField(label=_("紧急"), required=False)
    recipients = forms.MultipleChoiceField(
        label=_("接收单位和责任人"),
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("请至少选择一个接收单位或责任人。")},
    )
    report = forms.ModelChoiceField(
        queryset=ProgressReport.objects.none(), required=False, widget=forms.HiddenInput
    )
    order = forms.ModelChoiceField(
        queryset=SupervisionOrder.objects.none(), required=False, widget=forms.HiddenInput
    )

    def __init__(self, *args, item, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.targets = {}
        choices = []
        for target in instruction_targets(item):
            if isinstance(target, Organisation):
                key = f"org:{target.pk}"
                role = _("牵头单位") if target.pk == item.lead_org_id else _("配合单位")
            else:
                key, role = f"user:{target.pk}", _("责任人")
            self.targets[key] = target
            choices.append((key, f"{target}（{role}）"))
        self.fields["recipients"].choices = choices
        self.fields["recipients"].initial = list(self.targets)
        self.fields["recipients"].widget.attrs["class"] = "form-check-input"
        self.fields["report"].queryset = ProgressReport.objects.filter(item=item)
        self.fields["order"].queryset = SupervisionOrder.objects.visible_to(user).filter(items=item)

    def selected_recipients(self) -> list:
        return [self.targets[key] for key in self.cleaned_data["recipients"]]
