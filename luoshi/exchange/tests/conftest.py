"""Fixtures for the exchange tests."""

import pytest

from luoshi.orgs.tests.factories import OrganisationFactory, leader

SAMPLE_UNITS = [
    "区委办",
    "区纪委监委",
    "区委组织部",
    "区委宣传部",
    "区住建局",
    "区水务局",
    "区城管局",
    "公安分局",
    "区生态环境分局",
]


@pytest.fixture
def sample_district(world):
    """The units and leaders ledger_sample.xlsx names (区财政局 and 区委督查室 are in the world)."""
    for name in SAMPLE_UNITS:
        OrganisationFactory(name=name, parent=world.government)
    for username, full_name in (("chen", "陈志远"), ("lin", "林海"), ("huang", "黄敏")):
        leader(world.government, charges=[], username=username, full_name=full_name)
    return world
