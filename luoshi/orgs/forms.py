from django import forms
from django.utils.translation import gettext_lazy as _

from luoshi.core.forms import BootstrapFormMixin, VersionedFormMixin
from luoshi.core.widgets import AutocompleteSelect, AutocompleteSelectMultiple
from luoshi.orgs.models import Organisation, Role, User

ORGANISATION_FIELDS = ("parent", "name", "short_name", "aliases", "kind", "sort_order", "is_active")


# BootstrapFormMixin validates a bound form while it initialises (to mark invalid fields), so every
# change to the fields is made in a base class below it in the MRO, before that happens.


class OrganisationFormBase(forms.ModelForm):
    class Meta:
        model = Organisation
        fields = ORGANISATION_FIELDS
        widgets = {"parent": AutocompleteSelect("orgs:org_autocomplete")}

    def _post_clean(self):
        # The service validates and saves; the form must not touch the instance it was given.
        pass

    def service_fields(self) -> dict:
        return {name: self.cleaned_data[name] for name in ORGANISATION_FIELDS}


class OrganisationForm(BootstrapFormMixin, OrganisationFormBase):
    """A new unit; the parent is picked by autocomplete."""


class OrganisationEditForm(BootstrapFormMixin, VersionedFormMixin, OrganisationFormBase):
    """An existing unit; the version it was loaded at guards against overwriting a concurrent edit."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.version_initial(self.instance)


class UserFormBase(forms.ModelForm):
    password = forms.CharField(
        label=_("初始密码"),
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=_("至少 10 位，不能全是数字，不能与姓名或用户名相近，也不能是常见密码。"),
    )
    password_confirm = forms.CharField(
        label=_("确认密码"),
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )

    class Meta:
        model = User
        fields = ("full_name", "username", "phone", "is_active")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["full_name"].required = True
        if self.instance.pk is not None:
            self.fields["password"].required = False
            self.fields["password_confirm"].required = False
            self.fields["password"].label = _("重置密码")
            self.fields["password"].help_text = _("留空则不修改密码。")

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("password") != cleaned.get("password_confirm"):
            self.add_error("password_confirm", _("两次输入的密码不一致。"))
        return cleaned

    def _post_clean(self):
        pass

    def service_fields(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.Meta.fields}


class UserForm(BootstrapFormMixin, UserFormBase):
    """A person's account; a new account gets its first password from the admin."""


ASSIGNABLE_ROLES = [(value, label) for value, label in Role.choices]


class GrantRoleForm(BootstrapFormMixin, forms.Form):
    organisation = forms.ModelChoiceField(
        label=_("单位"),
        queryset=Organisation.objects.filter(is_active=True),
        widget=AutocompleteSelect("orgs:org_autocomplete"),
    )
    role = forms.ChoiceField(label=_("角色"), choices=ASSIGNABLE_ROLES)
    title = forms.CharField(label=_("职务"), max_length=50, required=False)


class LeaderChargesForm(BootstrapFormMixin, forms.Form):
    organisations = forms.ModelMultipleChoiceField(
        label=_("分管单位"),
        queryset=Organisation.objects.filter(is_active=True),
        required=False,
        widget=AutocompleteSelectMultiple("orgs:org_autocomplete"),
        help_text=_("领导可查看分管单位及其下级单位的事项。"),
    )
