from django import forms
from django.utils.translation import gettext_lazy as _

from luoshi.dashboards.selectors import battle_map_ledgers


class BattleMapFilterForm(forms.Form):
    ledger = forms.ModelChoiceField(label=_("台账"), queryset=None, required=False, empty_label=_("全部台账"))
    year = forms.IntegerField(label=_("完成时限年度"), required=False, min_value=2000, max_value=2100)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["ledger"].queryset = battle_map_ledgers(user)
        self.fields["ledger"].widget.attrs["class"] = "form-select"
        self.fields["year"].widget.attrs["class"] = "form-control"
