"""Password rules set by the security admin (等保 §8.1.4.1 a), read from the policy on every check.

Wired in ``settings.AUTH_PASSWORD_VALIDATORS`` beside Django's own common-password, similarity and
all-digits checks, so every place that validates a password (the admin screens, the self-service
change) applies the same rules.
"""

import string

from django.contrib.auth.hashers import check_password
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from luoshi.security.selectors import current_policy, recent_password_hashes

CHARACTER_CLASSES = (
    (str.isupper, "upper"),
    (str.islower, "lower"),
    (str.isdigit, "digit"),
    (lambda char: char in string.punctuation or (not char.isalnum() and not char.isspace()), "symbol"),
)


def character_classes(password: str) -> set[str]:
    """Which of upper case, lower case, digits and symbols ``password`` uses."""
    return {name for test, name in CHARACTER_CLASSES if any(test(char) for char in password)}


class PolicyLengthValidator:
    def validate(self, password, user=None):
        minimum = current_policy().min_length
        if len(password) < minimum:
            raise ValidationError(
                ngettext("密码至少须有 %(n)d 个字符。", "密码至少须有 %(n)d 个字符。", minimum)
                % {"n": minimum},
                code="password_too_short",
            )

    def get_help_text(self):
        minimum = current_policy().min_length
        return ngettext("至少 %(n)d 个字符。", "至少 %(n)d 个字符。", minimum) % {"n": minimum}


class CharacterClassValidator:
    def validate(self, password, user=None):
        required = current_policy().required_classes
        if len(character_classes(password)) < required:
            raise ValidationError(
                _("密码须包含大写字母、小写字母、数字、符号中的至少 %(n)d 类。") % {"n": required},
                code="password_too_simple",
            )

    def get_help_text(self):
        return _("包含大写字母、小写字母、数字、符号中的至少 %(n)d 类。") % {
            "n": current_policy().required_classes
        }


class PasswordHistoryValidator:
    """The new password may not be any of the user's last ``history_count`` passwords."""

    def validate(self, password, user=None):
        if user is None or user.pk is None:
            return
        count = current_policy().history_count
        if any(check_password(password, encoded) for encoded in recent_password_hashes(user, count)):
            raise ValidationError(
                ngettext(
                    "不能使用最近 %(n)d 次用过的密码，请换一个新密码。",
                    "不能使用最近 %(n)d 次用过的密码，请换一个新密码。",
                    count,
                )
                % {"n": count},
                code="password_reused",
            )

    def get_help_text(self):
        count = current_policy().history_count
        if not count:
            return ""
        return ngettext(
            "不能与最近 %(n)d 次用过的密码相同。", "不能与最近 %(n)d 次用过的密码相同。", count
        ) % {"n": count}
