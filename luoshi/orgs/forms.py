from django import forms
from django.contrib.auth.password_validation import password_validators_help_texts
from django.utils.translation import gettext_lazy as _

from luoshi.core.fields import masked_value
from luoshi.core.forms import BootstrapFormMixin, VersionedFormMixin
from luoshi.core.widgets import AutocompleteSelect, AutocompleteSelectMultiple
from luoshi.orgs.models import Organisation, Role, User
from luoshi.orgs.selectors import access_profile

ORGANISATION_FIELDS = ("parent", "name", "short_name", "aliases", "kind", "sort_order", "is_active")


def office_field(form, user) -> None:
    """A form's ``office``: the user's own supervision office; a choice only for someone who supervises
    for several."""
    offices = Organisation.objects.filter(pk__in=access_profile(user).supervisor_org_ids).order_by("path")
    field = form.fields["office"]
    field.queryset = offices
    if len(offices) == 1:
        field.widget = forms.HiddenInput()
        form.initial.setdefault("office", offices[0].pk)


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
    )
    password_confirm = forms.CharField(
        label=_("确认密码"),
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )

    clear_phone = forms.BooleanField(label=_("清除手机号"), required=False)

    field_order = ("full_name", "username", "phone", "clear_phone", "is_active")

    class Meta:
        model = User
        fields = ("full_name", "username", "phone", "is_active")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["full_name"].required = True
        self._hide_stored_phone()
        # The rules in force are the security admin's policy (luoshi.security.validators).
        self.fields["password"].help_text = " ".join(password_validators_help_texts())
        if self.instance.pk is not None:
            self.fields["password"].required = False
            self.fields["password_confirm"].required = False
            self.fields["password"].label = _("重置密码")
            self.fields["password"].help_text = _("留空则不修改密码。")

    def _hide_stored_phone(self):
        # The stored number is never put in the page: the field starts empty, shows the masked
        # number as a hint, and an empty field keeps the number as it is.
        if not self.instance.phone:
            del self.fields["clear_phone"]
            return
        self.initial["phone"] = ""
        masked = masked_value(self.instance, "phone")
        self.fields["phone"].widget.attrs["placeholder"] = masked
        self.fields["phone"].help_text = _("现为 %(masked)s。留空则不修改，填写则替换。") % {"masked": masked}

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("password") != cleaned.get("password_confirm"):
            self.add_error("password_confirm", _("两次输入的密码不一致。"))
        return cleaned

    def _post_clean(self):
        pass

    def service_fields(self) -> dict:
        fields = {name: self.cleaned_data[name] for name in self.Meta.fields}
        if "clear_phone" in self.fields and not fields["phone"]:
            if self.cleaned_data["clear_phone"]:
                fields["phone"] = ""
            else:
                del fields["phone"]
        return fields


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
