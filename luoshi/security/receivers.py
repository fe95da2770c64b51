"""Every sign-in, however it happens, is registered; a sign-out ends all of that person's sessions."""

from django.contrib.auth import user_logged_in, user_logged_out
from django.dispatch import receiver

from luoshi.security import services, sessions


@receiver(user_logged_in)
def start_session(sender, request, user, **kwargs):
    if request is not None and hasattr(request, "session"):
        sessions.start(request, user)


@receiver(user_logged_out)
def end_every_session(sender, request, user, **kwargs):
    if user is not None:
        session_key = request.session.session_key if request is not None else ""
        services.end_sessions_at_sign_out(user=user, session_key=session_key or "")
