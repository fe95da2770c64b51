from django.utils.functional import SimpleLazyObject

from luoshi.notifications.selectors import unread_count


def unread_notifications(request):
    """The header's unread badge: one indexed COUNT, run only when a page shows the header."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"unread_notifications": SimpleLazyObject(lambda: _cached_count(request))}


def _cached_count(request) -> int:
    if not hasattr(request, "_unread_notifications"):
        request._unread_notifications = unread_count(request.user)
    return request._unread_notifications
