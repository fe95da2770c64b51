"""Reads of the security policy."""

from luoshi.security.models import SecurityPolicy


def current_policy() -> SecurityPolicy:
    """The policy in force: the stored row, or the defaults until the security admin saves one."""
    return SecurityPolicy.objects.filter(pk=1).first() or SecurityPolicy(pk=1)
