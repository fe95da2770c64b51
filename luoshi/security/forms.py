from django import forms
from django.contrib.auth.password_validation import password_validators_help_text_html
from django.utils.translation import gettext_lazy as _

from luoshi.core.forms import BootstrapFormMixin, VersionedFormMixin
from luoshi.security.models import SecurityPolicy
from luoshi.security.services import POLICY_FIELDS

# BootstrapFormMixin validates a bound form while it initialises, so changes to the fields are made
# in a base class below it in the MRO.


class SecurityPolicyFormBase(forms.ModelForm):
    class Meta:
        model = SecurityPolicy
        fields = POLICY_FIELDS

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.version_initial(self.instance)

    def _post_clean(self):
        # The service validates and saves; the form must not touch the policy it was given.
        pass

    def service_fields(self) -> dict:
        return {name: self.cleaned_data[name] for name in POLICY_FIELDS}


class SecurityPolicyForm(BootstrapFormMixin, VersionedFormMixin, SecurityPolicyFormBase):
    """The policy as loaded; its version guards against overwriting another admin's change."""


def _password_field(label, autocomplete):
    return forms.CharField(
        label=label,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": autocomplete}),
    )


class PasswordChangeFormBase(forms.Form):
    old_password = _password_field(_("当前密码"), "current-password")
    new_password1 = _password_field(_("新密码"), "new-password")
    new_password2 = _password_field(_("确认新密码"), "new-password")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The rules come from the policy in force, so the hint is built per request.
        self.fields["new_password1"].help_text = password_validators_help_text_html()

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("new_password1") != cleaned.get("new_password2"):
            self.add_error("new_password2", _("两次输入的新密码不一致。"))
        return cleaned


class PasswordChangeForm(BootstrapFormMixin, PasswordChangeFormBase):
    """A person changes their own password."""
