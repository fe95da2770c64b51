"""Suite-wide test settings."""

import pytest
from hypothesis import settings as hypothesis_settings

# Property tests run beside a busy suite (xdist, browser, PostgreSQL): a slow example is not a failure.
hypothesis_settings.register_profile("luoshi", deadline=None)
hypothesis_settings.load_profile("luoshi")

# The shared fixtures (``world`` and friends) serve the app tests and the suites under tests/.
pytest_plugins = ["luoshi.testing.fixtures"]


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Real hashing costs ~1 s per login; tests check behaviour, not hash strength.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _two_factor_not_enforced(settings):
    # Suites sign in with force_login and test other things; tests of the second factor switch it on.
    settings.TWO_FACTOR_ENFORCED = False
