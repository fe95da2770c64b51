import pytest

from luoshi.core.exceptions import StaleObjectError
from luoshi.orgs.models import Organisation
from luoshi.orgs.tests.factories import OrganisationFactory

pytestmark = pytest.mark.django_db


def test_versioned_save_bumps_version():
    org = OrganisationFactory(name="区水务局")
    start = Organisation.objects.get(pk=org.pk).version
    org = Organisation.objects.get(pk=org.pk)
    org.short_name = "水务局"
    org.save()
    assert org.version == start + 1
    assert Organisation.objects.get(pk=org.pk).version == start + 1


def test_stale_save_raises_and_keeps_the_first_writers_change():
    org = OrganisationFactory(name="区水务局")
    first = Organisation.objects.get(pk=org.pk)
    second = Organisation.objects.get(pk=org.pk)
    first.short_name = "水务局"
    first.save()
    second.short_name = "区水利局"
    with pytest.raises(StaleObjectError) as error:
        second.save()
    assert "已被其他人修改" in error.value.messages[0]
    assert error.value.code == "stale"
    stored = Organisation.objects.get(pk=org.pk)
    assert stored.short_name == "水务局"
    assert stored.version == first.version


def test_save_with_update_fields_still_checks_and_bumps_version():
    org = Organisation.objects.get(pk=OrganisationFactory(name="区水务局").pk)
    stale = Organisation.objects.get(pk=org.pk)
    org.short_name = "水务局"
    org.save(update_fields=["short_name"])
    assert Organisation.objects.get(pk=org.pk).version == org.version
    stale.short_name = "x"
    with pytest.raises(StaleObjectError):
        stale.save(update_fields=["short_name"])
