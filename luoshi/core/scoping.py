"""The one way querysets are restricted to what a user may see.

Each scoped model's queryset subclasses ``ScopedQuerySet`` and says, in
``scope_filter``, which rows a user may see. Views and selectors only ever call
``.visible_to(user)``; an object outside that queryset is a 404, never a 403,
so ids cannot be probed.
"""

from django.db import models
from django.db.models import Q


class ScopedQuerySet(models.QuerySet):
    def scope_filter(self, user) -> Q | None:
        """The rows ``user`` may see; ``None`` (the default) means none: access is denied unless granted."""
        return None

    def visible_to(self, user):
        if not user.is_authenticated or not user.is_active:
            return self.none()
        condition = self.scope_filter(user)
        if condition is None:
            return self.none()
        return self.filter(condition)
