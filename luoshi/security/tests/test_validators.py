import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError

from luoshi.orgs.models import User
from luoshi.security import services
from luoshi.security.tests.factories import set_policy
from luoshi.security.validators import (
    CharacterClassValidator,
    PasswordHistoryValidator,
    PolicyLengthValidator,
    character_classes,
)


def messages(call) -> list[str]:
    with pytest.raises(ValidationError) as error:
        call()
    return error.value.messages


@pytest.mark.parametrize(
    ("password", "classes"),
    [
        ("abc", {"lower"}),
        ("ABC", {"upper"}),
        ("123", {"digit"}),
        ("-_!", {"symbol"}),
        ("Ab1-", {"upper", "lower", "digit", "symbol"}),
        ("密码Ab！", {"upper", "lower", "symbol"}),
        ("with space", {"lower"}),
    ],
)
def test_character_classes(password, classes):
    assert character_classes(password) == classes


def test_length_follows_the_policy(db):
    set_policy(min_length=12)
    assert messages(lambda: PolicyLengthValidator().validate("Abc-1234567")) == ["密码至少须有 12 个字符。"]
    PolicyLengthValidator().validate("Abc-12345678")
    assert "12" in PolicyLengthValidator().get_help_text()


def test_classes_follow_the_policy(db):
    set_policy(required_classes=3)
    with pytest.raises(ValidationError, match="至少 3 类"):
        CharacterClassValidator().validate("abcdefgh12")
    CharacterClassValidator().validate("abcdefgh1-")
    set_policy(required_classes=4)
    with pytest.raises(ValidationError, match="至少 4 类"):
        CharacterClassValidator().validate("abcdefgh1-")
    CharacterClassValidator().validate("Abcdefgh1-")


def test_history_refuses_the_current_and_recent_passwords(world):
    set_policy(history_count=2)
    user = world.handler
    validator = PasswordHistoryValidator()
    with pytest.raises(ValidationError, match="最近 2 次"):
        validator.validate(world.password, user)  # the current one, never recorded by a service
    for password in ("Xin-mima-2026-a", "Xin-mima-2026-b"):
        user.set_password(password)
        user.save()
        services.record_password_change(user, by_admin=False)
    with pytest.raises(ValidationError):
        validator.validate("Xin-mima-2026-a", user)
    with pytest.raises(ValidationError):
        validator.validate("Xin-mima-2026-b", user)
    validator.validate(world.password, user)  # three back: allowed again
    validator.validate("Something-new-2026", user)


def test_history_off_and_new_users(world):
    set_policy(history_count=0)
    PasswordHistoryValidator().validate(world.password, world.handler)
    assert PasswordHistoryValidator().get_help_text() == ""
    set_policy(history_count=5)
    PasswordHistoryValidator().validate(world.password, User(username="new"))  # nothing to compare with


def test_settings_wire_every_rule_with_the_common_password_check(world):
    set_policy(min_length=8, required_classes=1)
    errors = messages(lambda: validate_password("password1234", world.handler))
    assert errors == ["这个密码太常见了。"]
    errors = messages(lambda: validate_password("12345678987654", world.handler))
    assert errors == ["密码只包含数字。"]
