from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.urls import reverse_lazy
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from luoshi.core.forms import BootstrapFormMixin, DateInput, VersionedFormMixin
from luoshi.core.uploads import ALLOWED_LABEL
from luoshi.core.widgets import AutocompleteSelect, AutocompleteSelectMultiple
from luoshi.ledgers.models import FieldTarget, FieldType, Item, Ledger, ProgressReport, Tag
from luoshi.orgs.models import Organisation, User


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    widget = MultipleFileInput

    def clean(self, data, initial=None):
        if isinstance(data, list | tuple):
            return [super(MultipleFileField, self).clean(item, initial) for item in data if item]
        return [super().clean(data, initial)] if data else []


def extra_form_fields(ledger: Ledger, target: str) -> dict[str, forms.Field]:
    """Form fields for the ledger's custom columns, named ``extra__<key>``."""
    fields = {}
    for field in ledger.fields.all():
        if field.target != target:
            continue
        label = f"{field.label}（{field.unit_label}）" if field.unit_label else field.label
        common = {"label": label, "required": field.required}
        if field.field_type == FieldType.NUMBER:
            form_field = forms.DecimalField(max_digits=18, decimal_places=4, **common)
        elif field.field_type == FieldType.DATE:
            form_field = forms.DateField(widget=DateInput(), **common)
        elif field.field_type == FieldType.CHOICE:
            form_field = forms.ChoiceField(
                choices=[("", "---------"), *((c, c) for c in field.choices)], **common
            )
        elif field.field_type == FieldType.PERSON:
            form_field = forms.ModelChoiceField(
                queryset=User.objects.filter(is_active=True),
                widget=AutocompleteSelect("orgs:user_autocomplete"),
                **common,
            )
        elif field.field_type == FieldType.UNIT:
            form_field = forms.ModelChoiceField(
                queryset=Organisation.objects.filter(is_active=True),
                widget=AutocompleteSelect("orgs:org_autocomplete"),
                **common,
            )
        else:
            form_field = forms.CharField(max_length=500, **common)
        fields[f"extra__{field.key}"] = form_field
    return fields


class ExtraFieldsMixin:
    extra_target = FieldTarget.ITEM

    def add_extra_fields(self, ledger, values: dict):
        for name, field in extra_form_fields(ledger, self.extra_target).items():
            self.fields[name] = field
            key = name.removeprefix("extra__")
            if key in values:
                self.initial.setdefault(name, values[key])

    def extra_values(self) -> dict:
        values = {}
        for name, value in self.cleaned_data.items():
            if name.startswith("extra__"):
                values[name.removeprefix("extra__")] = getattr(value, "pk", value)
        return values


class ItemForm(BootstrapFormMixin, ExtraFieldsMixin, VersionedFormMixin, forms.ModelForm):
    class Meta:
        model = Item
        fields = [
            "parent",
            "kind",
            "code",
            "title",
            "description",
            "source",
            "lead_leader",
            "lead_org",
            "co_orgs",
            "other_units",
            "owner",
            "start_date",
            "deadline",
            "is_standing",
            "report_cycle",
            "weight",
            "tags",
        ]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 4}),
            "start_date": DateInput(),
            "deadline": DateInput(),
            "lead_org": AutocompleteSelect("orgs:org_autocomplete"),
            "co_orgs": AutocompleteSelectMultiple("orgs:org_autocomplete"),
            "lead_leader": AutocompleteSelect("orgs:leader_autocomplete"),
            "owner": AutocompleteSelect("orgs:user_autocomplete"),
            "parent": AutocompleteSelect("ledgers:item_autocomplete"),
        }

    def __init__(self, *args, ledger: Ledger, **kwargs):
        super().__init__(*args, **kwargs)
        self.ledger = ledger
        self.fields["parent"].queryset = Item.objects.filter(ledger=ledger)
        self.fields["lead_org"].queryset = Organisation.objects.filter(is_active=True)
        self.fields["co_orgs"].queryset = Organisation.objects.filter(is_active=True)
        self.fields["lead_leader"].queryset = User.objects.filter(is_active=True)
        self.fields["owner"].queryset = User.objects.filter(is_active=True)
        self.fields["tags"].queryset = Tag.objects.all()
        # Tom Select offers "add" for a tag not in the list; the endpoint creates it (see app.js).
        self.fields["tags"].widget.attrs["data-create-url"] = reverse_lazy("ledgers:tag_create")
        self.fields["report_cycle"].initial = ledger.default_report_cycle
        self.fields["kind"].initial = ledger.item_kind
        if self.instance.pk:
            self.version_initial(self.instance)
        else:
            self.fields["version"].required = False
        self.add_extra_fields(ledger, self.instance.extra if self.instance.pk else {})

    def service_fields(self) -> dict:
        data = {name: self.cleaned_data[name] for name in self.Meta.fields if name not in ("co_orgs", "tags")}
        return {
            **data,
            "co_orgs": self.cleaned_data["co_orgs"],
            "tags": self.cleaned_data["tags"],
            "extra": self.extra_values(),
        }


class LedgerForm(BootstrapFormMixin, VersionedFormMixin, forms.ModelForm):
    class Meta:
        model = Ledger
        fields = [
            "name",
            "year",
            "campaign",
            "owner_office",
            "item_kind",
            "description",
            "default_report_cycle",
            "yellow_tolerance",
            "red_tolerance",
            "due_soon_days",
            "report_grace_days",
        ]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, offices, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner_office"].queryset = offices
        if self.instance.pk:
            self.version_initial(self.instance)
        else:
            self.fields["version"].required = False

    def clean(self):
        cleaned = super().clean()
        yellow, red = cleaned.get("yellow_tolerance"), cleaned.get("red_tolerance")
        if yellow is not None and red is not None and red <= yellow:
            self.add_error("red_tolerance", _("红色预警阈值须大于黄色预警阈值。"))
        return cleaned


class ReportForm(BootstrapFormMixin, ExtraFieldsMixin, VersionedFormMixin, forms.ModelForm):
    extra_target = FieldTarget.REPORT
    evidence = MultipleFileField(
        label=_("佐证材料"),
        required=False,
        help_text=_("可多选；允许 PDF、JPG、PNG、Word、Excel，单个文件不超过 20 MB"),
    )

    class Meta:
        model = ProgressReport
        fields = ["text", "percent_complete", "problems", "next_steps"]
        widgets = {
            "text": forms.Textarea(attrs={"rows": 4}),
            "problems": forms.Textarea(attrs={"rows": 2}),
            "next_steps": forms.Textarea(attrs={"rows": 2}),
        }

    def __init__(self, *args, item: Item, **kwargs):
        super().__init__(*args, **kwargs)
        self.add_extra_fields(item.ledger, self.instance.measures if self.instance.pk else {})
        # A revised draft names the version it was loaded at; a post without one (a script) is not checked.
        self.fields["version"].required = False
        if self.instance.pk:
            self.version_initial(self.instance)
        else:
            self.initial.setdefault("percent_complete", item.percent_complete)


class AttachmentForm(BootstrapFormMixin, forms.Form):
    """One file for an item's attachments; its type and size are checked by the service, by content."""

    file = forms.FileField(
        label=_("附件"),
        error_messages={"required": _("请选择要上传的文件。"), "empty": _("所选文件是空文件。")},
    )
    description = forms.CharField(
        label=_("说明"),
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": _("如：会议纪要、任务分解表")}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["file"].help_text = _("允许上传：%(types)s，单个文件不超过 %(limit)s。") % {
            "types": ALLOWED_LABEL,
            "limit": filesizeformat(settings.EVIDENCE_MAX_BYTES),
        }


class TransitionForm(forms.Form):
    action = forms.CharField(max_length=30)
    comment = forms.CharField(required=False, max_length=2000)
    version = forms.IntegerField(required=False)


class ReviewForm(forms.Form):
    decision = forms.ChoiceField(choices=[("accept", _("通过")), ("return", _("退回"))])
    comment = forms.CharField(required=False, max_length=2000)


class CommentForm(BootstrapFormMixin, forms.Form):
    text = forms.CharField(label=_("评论"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))


class ExtensionRequestForm(BootstrapFormMixin, forms.Form):
    new_deadline = forms.DateField(label=_("申请延期至"), widget=DateInput())
    reason = forms.CharField(label=_("延期理由"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))


class ExtensionDecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", _("批准")), ("refuse", _("不予批准"))])
    comment = forms.CharField(required=False, max_length=2000)
    excused = forms.BooleanField(required=False)


class MilestonePlanForm(BootstrapFormMixin, forms.Form):
    """One phase per line: ``名称 工作日数``, e.g. ``方案制定 5``."""

    phases = forms.CharField(
        label=_("节点（每行一个：名称 工作日数）"),
        widget=forms.Textarea(attrs={"rows": 4, "placeholder": _("方案制定 5\n组织实施 20\n验收总结 5")}),
    )

    def clean_phases(self):
        phases = []
        for number, line in enumerate(self.cleaned_data["phases"].splitlines(), start=1):
            line = line.strip()
            if not line:
                continue
            name, _sep, days = line.rpartition(" ")
            if not name.strip() or not days.isdigit() or int(days) < 1:
                raise forms.ValidationError(
                    _("第 %(n)d 行「%(line)s」格式不对，应为「名称 工作日数」，如「方案制定 5」。")
                    % {"n": number, "line": line}
                )
            phases.append((name.strip(), int(days)))
        if not phases:
            raise forms.ValidationError(_("请至少填写一个节点。"))
        return phases


class BulkActionForm(forms.Form):
    ACTIONS = [
        ("assign", _("批量交办")),
        ("deadline", _("批量调整时限")),
    ]
    action = forms.ChoiceField(choices=ACTIONS)
    pk = forms.ModelMultipleChoiceField(queryset=Item.objects.none())
    deadline = forms.DateField(required=False)
    comment = forms.CharField(required=False, max_length=2000)

    def __init__(self, *args, queryset, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["pk"].queryset = queryset
        self.fields["pk"].error_messages["required"] = _("请先勾选要操作的事项。")

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("action") == "deadline" and not cleaned.get("deadline"):
            self.add_error("deadline", _("请填写新的完成时限。"))
        return cleaned


class SavedFilterForm(forms.Form):
    name = forms.CharField(max_length=50)
    query = forms.CharField(max_length=1000, required=False)


class LedgerFieldForm(BootstrapFormMixin, VersionedFormMixin, forms.Form):
    """A ledger's custom field; the key and its use are fixed once created (values are stored by them)."""

    target = forms.ChoiceField(label=_("用于"), choices=FieldTarget.choices, initial=FieldTarget.ITEM)
    key = forms.CharField(
        label=_("键"),
        max_length=40,
        help_text=_(
            "英文字母、数字、下划线或连字符，如 invest_total；导入导出和接口用它识别字段，创建后不能修改"
        ),
    )
    label = forms.CharField(label=_("名称"), max_length=50)
    field_type = forms.ChoiceField(label=_("类型"), choices=FieldType.choices, initial=FieldType.TEXT)
    required = forms.BooleanField(label=_("必填"), required=False)
    choices = forms.CharField(
        label=_("可选值"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("仅「选项」类型使用，每行一个"),
    )
    unit_label = forms.CharField(label=_("计量单位"), max_length=20, required=False)
    sort_order = forms.IntegerField(label=_("排序"), min_value=0, max_value=32767, initial=0)

    def __init__(self, *args, instance=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance = instance
        if instance is not None:
            for name in ("target", "key", "label", "field_type", "required", "unit_label", "sort_order"):
                self.initial.setdefault(name, getattr(instance, name))
            self.initial.setdefault("choices", "\n".join(instance.choices or []))
            for name in ("target", "key"):
                self.fields[name].disabled = True
            self.fields["key"].help_text = _("创建后不能修改")
            self.version_initial(instance)
        else:
            self.fields["version"].required = False

    def service_values(self) -> dict:
        return {**self.cleaned_data, "choices": self.cleaned_data["choices"].splitlines()}


class MilestoneForm(BootstrapFormMixin, VersionedFormMixin, forms.Form):
    name = forms.CharField(label=_("节点名称"), max_length=100)
    start_date = forms.DateField(label=_("开始日期"), widget=DateInput())
    due_date = forms.DateField(label=_("完成日期"), widget=DateInput())
    done_on = forms.DateField(label=_("实际完成"), widget=DateInput(), required=False)

    def __init__(self, *args, milestone, **kwargs):
        super().__init__(*args, prefix=f"milestone-{milestone.pk}", **kwargs)
        self.milestone_pk = milestone.pk
        for name in self.fields:
            self.initial.setdefault(name, getattr(milestone, name))


class MilestoneCompleteForm(BootstrapFormMixin, VersionedFormMixin, forms.Form):
    done_on = forms.DateField(label=_("实际完成日期"), widget=DateInput())

    def __init__(self, *args, milestone, **kwargs):
        super().__init__(*args, prefix=f"done-{milestone.pk}", **kwargs)
        self.milestone_pk = milestone.pk
        self.initial.setdefault("done_on", timezone.localdate())
        self.version_initial(milestone)
