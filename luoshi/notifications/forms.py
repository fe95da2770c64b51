from django import forms
from django.utils.translation import gettext_lazy as _

from luoshi.core.forms import BootstrapFormMixin, VersionedFormMixin
from luoshi.notifications.models import Channel, Event


class PreferenceForm(forms.Form):
    email_events = forms.MultipleChoiceField(
        label=_("同时发送邮件的消息"),
        choices=Event.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"}),
    )


class ChannelForm(BootstrapFormMixin, VersionedFormMixin, forms.ModelForm):
    """A robot of one unit or one ledger, chosen among those the user manages."""

    events = forms.MultipleChoiceField(
        label=_("推送的消息类型"),
        choices=Event.choices,
        required=False,
        help_text=_("不选则推送全部类型。"),
        widget=forms.CheckboxSelectMultiple,
    )
    secret = forms.CharField(
        label=_("加签密钥"),
        required=False,
        max_length=200,
        # Never sent back to the browser: left empty on an edit, the stored secret stays.
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=Channel._meta.get_field("secret").help_text,
    )

    class Meta:
        model = Channel
        fields = ["kind", "name", "webhook_url", "secret", "organisation", "ledger", "events", "is_active"]

    def __init__(self, *args, organisations, ledgers, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organisation"].queryset = organisations
        self.fields["ledger"].queryset = ledgers
        self.fields["organisation"].help_text = _("单位或台账选一个：该单位或台账的消息推送到此机器人。")
        self.fields["events"].widget.attrs["class"] = "form-check-input"
        if self.instance.pk:
            self.version_initial(self.instance)
            self.fields["secret"].help_text = _("留空则保留原密钥。")
        else:
            self.fields["version"].required = False

    def clean_secret(self):
        secret = self.cleaned_data["secret"]
        if not secret and self.instance.pk and self.cleaned_data.get("kind") != "wecom":
            return Channel.objects.get(pk=self.instance.pk).secret
        return secret
