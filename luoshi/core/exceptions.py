from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _


class StaleObjectError(ValidationError):
    """Another user saved this object after it was loaded; the save was refused."""

    def __init__(self, obj):
        self.obj = obj
        super().__init__(
            _("「%(name)s」已被其他人修改。您的输入已保留，请核对最新内容后重新提交。") % {"name": obj},
            code="stale",
        )


class TransitionNotAllowed(ValidationError):
    pass
