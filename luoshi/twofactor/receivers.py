"""At each sign-in (password or OIDC), note in the session what the second factor still requires."""

from django.contrib.auth import user_logged_in
from django.dispatch import receiver

from luoshi.twofactor import selectors


@receiver(user_logged_in)
def note_pending_step(sender, request, user, **kwargs):
    # Decided once per sign-in, so the middleware answers every later request from the session alone.
    if request is not None and hasattr(request, "session"):
        request.session[selectors.STEP_SESSION_KEY] = selectors.pending_step(user)
