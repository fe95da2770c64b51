"""Forms for the exchange screens."""

from django import forms
from django.utils.translation import gettext_lazy as _

from luoshi.core.forms import BootstrapFormMixin, VersionedFormMixin
from luoshi.core.widgets import AutocompleteSelect
from luoshi.exchange.drafts import MOVES, TITLE_MAX_LENGTH
from luoshi.exchange.workbook import FIELDS
from luoshi.ledgers.models import ReportCycle
from luoshi.orgs.models import Organisation, User

# Import --------------------------------------------------------------------------------------------


class ImportUploadForm(BootstrapFormMixin, forms.Form):
    file = forms.FileField(
        label=_("台账文件"),
        help_text=_("Excel（.xlsx、.xls）或 CSV（UTF-8 或 GBK/GB18030），不超过 50 MB。"),
    )


class ImportColumnsForm(BootstrapFormMixin, forms.Form):
    """One choice per column of the sheet: which field it holds, or none."""

    def __init__(self, *args, table, custom_fields, **kwargs):
        super().__init__(*args, **kwargs)
        choices = [("", _("（不导入）")), *((key, label) for key, label in FIELDS.items())]
        choices += [(f"extra:{field.key}", field.label) for field in custom_fields]
        self.columns = table.columns
        for column in table.columns:
            self.fields[f"column_{column.index}"] = forms.ChoiceField(
                label=f"{column.letter} · {column.header}",
                choices=choices,
                required=False,
                initial=column.field or "",
            )

    def chosen(self) -> list[str | None]:
        return [self.cleaned_data[f"column_{column.index}"] or None for column in self.columns]


class ImportNamesForm(BootstrapFormMixin, forms.Form):
    """For each name that matched nothing, the unit or leader it means; offered: the closest match."""

    def __init__(self, *args, unresolved, **kwargs):
        super().__init__(*args, **kwargs)
        self.entries = []
        for index, entry in enumerate(unresolved):
            unit = entry.kind == "unit"
            name = f"{entry.kind}_{index}"
            self.fields[name] = forms.ModelChoiceField(
                label=entry.name,
                queryset=Organisation.objects.filter(is_active=True)
                if unit
                else User.objects.filter(is_active=True),
                required=False,
                initial=entry.suggestions[0].pk if entry.suggestions else None,
                widget=AutocompleteSelect("orgs:org_autocomplete" if unit else "orgs:leader_autocomplete"),
            )
            self.entries.append((self[name], entry))

    def chosen(self) -> tuple[dict[str, int], dict[str, int]]:
        units, leaders = {}, {}
        for bound, entry in self.entries:
            choice = self.cleaned_data.get(bound.name)
            if choice is not None:
                (units if entry.kind == "unit" else leaders)[entry.name] = choice.pk
        return units, leaders


# Outline -------------------------------------------------------------------------------------------

# The most a pasted document may hold (a long work plan is some 50,000 characters).
OUTLINE_TEXT_MAX_LENGTH = 500_000


class OutlineStartForm(BootstrapFormMixin, forms.Form):
    text = forms.CharField(
        label=_("粘贴正文"),
        required=False,
        max_length=OUTLINE_TEXT_MAX_LENGTH,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 14}),
        help_text=_("可直接从网页或 Word 复制，分享按钮、相关阅读等页面杂项会被忽略。"),
    )
    upload = forms.FileField(
        label=_("或上传文件"),
        required=False,
        help_text=_("Word 文档（.docx）或文本文件（.txt），不超过 50 MB。"),
    )


class OutlineNodeForm(BootstrapFormMixin, VersionedFormMixin, forms.Form):
    """One edit of one node: which (``operation``), and, to set its fields, what they become."""

    OPERATIONS = ("rename", "fields", *MOVES, "merge", "drop")

    node = forms.IntegerField(widget=forms.HiddenInput)
    operation = forms.ChoiceField(choices=[(name, name) for name in OPERATIONS], widget=forms.HiddenInput)
    title = forms.CharField(label=_("事项名称"), required=False, max_length=TITLE_MAX_LENGTH)
    description = forms.CharField(
        label=_("具体内容"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    lead_org = forms.CharField(label=_("牵头单位"), required=False, max_length=200)
    co_orgs = forms.CharField(
        label=_("配合单位"), required=False, max_length=2000, help_text=_("多个单位用顿号“、”分隔。")
    )
    lead_leader = forms.CharField(label=_("牵头领导"), required=False, max_length=100)
    deadline = forms.CharField(
        label=_("完成时限"),
        required=False,
        max_length=100,
        help_text=_("如 2026-06-30、6月底前、三季度末、长期坚持、每季度。"),
    )
    standing = forms.BooleanField(label=_("长期坚持"), required=False)
    cycle = forms.ChoiceField(
        label=_("调度频次"),
        required=False,
        choices=[("", _("按完成时限或台账默认")), *ReportCycle.choices],
    )

    @staticmethod
    def initial_for(node: dict, version: int) -> dict:
        """The form's values for a node of the draft: what is stored, the deadline as a date or 长期坚持."""
        deadline = node["deadline"] or ""
        if node["standing"]:
            deadline = ReportCycle(node["cycle"]).label if node["cycle"] else _("长期坚持")
        return {
            "node": node["id"],
            "version": version,
            "title": node["title"],
            "description": node["description"],
            "lead_org": node["lead_org"],
            "co_orgs": "、".join(node["co_orgs"]),
            "lead_leader": node["lead_leader"],
            "deadline": deadline,
            "standing": node["standing"],
            "cycle": node["cycle"] or "",
        }
