from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _


class LoginForm(AuthenticationForm):
    error_messages = {
        "invalid_login": _("用户名或密码不正确。请注意区分大小写。"),
        "inactive": _("此账号已停用，请联系系统管理员。"),
    }


class VersionedFormMixin(forms.Form):
    """Carries the version an edit form was loaded at, so a stale submission is refused, not applied."""

    version = forms.IntegerField(widget=forms.HiddenInput, required=True)

    def version_initial(self, instance):
        self.initial.setdefault("version", instance.version)


class DateInput(forms.DateInput):
    """An ISO date field that flatpickr (app.js) turns into a Chinese calendar picker.

    A text input rather than the browser's own date input, so the picker and the typed format
    (2026-03-31) are the same in every browser an office uses.
    """

    input_type = "text"

    def __init__(self, attrs=None):
        defaults = {
            "class": "form-control",
            "data-datepicker": "",
            "autocomplete": "off",
            "placeholder": "YYYY-MM-DD",
        }
        super().__init__(attrs={**defaults, **(attrs or {})}, format="%Y-%m-%d")


class BootstrapFormMixin:
    """Gives every widget Tabler's classes and marks fields with errors."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for _name, field in self.fields.items():
            widget = field.widget
            if isinstance(widget, forms.HiddenInput):
                continue
            if isinstance(widget, forms.CheckboxInput):
                css = "form-check-input"
            elif isinstance(widget, forms.Select | forms.SelectMultiple):
                css = "form-select"
            else:
                css = "form-control"
            widget.attrs["class"] = f"{widget.attrs.get('class', '')} {css}".strip()

    def full_clean(self):
        super().full_clean()
        for name in self.errors:
            if name in self.fields:
                widget = self.fields[name].widget
                widget.attrs["class"] = f"{widget.attrs.get('class', '')} is-invalid".strip()
