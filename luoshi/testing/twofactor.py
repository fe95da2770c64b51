"""Signing a test client in past the second factor, for tests of anything else.

from luoshi.testing.twofactor import login_verified

def test_admin_screen(client, world, settings):
    settings.TWO_FACTOR_ENFORCED = True
    login_verified(client, world.security_admin)
    assert client.get(reverse("orgs:user_list")).status_code == 200
"""

from django_otp import DEVICE_ID_SESSION_KEY

from luoshi.twofactor import selectors
from luoshi.twofactor.models import AuthenticatorDevice


def login_verified(client, user) -> AuthenticatorDevice:
    """``client`` signed in as ``user`` with the second factor done; returns the user's app (made if none)."""
    device = selectors.totp_device(user) or AuthenticatorDevice.objects.create(
        user=user, name="测试", confirmed=True
    )
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return device
