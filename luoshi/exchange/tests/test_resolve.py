"""Resolving the units and leaders named in imported cells against the organisation."""

import pytest

from luoshi.exchange.resolve import LeaderDirectory, UnitDirectory, is_collective, match_key
from luoshi.orgs.models import Organisation, Role
from luoshi.orgs.services import update_organisation
from luoshi.orgs.tests.factories import OrganisationFactory, UserFactory, grant, leader


@pytest.fixture
def units(world):
    OrganisationFactory(
        name="区住房和城乡建设局", short_name="区住建局", aliases="住建局,区建设局", parent=world.government
    )
    OrganisationFactory(name="区农业农村局", aliases="区农业局，农业农村局", parent=world.government)
    return UnitDirectory.from_queryset(Organisation.objects.visible_to(world.supervisor))


def test_resolves_full_names_short_names_and_aliases(world, units):
    assert units.resolve("区发展和改革局") == world.lead_unit
    assert units.resolve("区发改局") == world.lead_unit
    assert units.resolve("住建局").name == "区住房和城乡建设局"
    assert units.resolve("区建设局").name == "区住房和城乡建设局"
    assert units.resolve("农业农村局").name == "区农业农村局"


def test_resolves_traditional_full_width_and_spaced_input(world, units):
    assert units.resolve("區農業農村局").name == "区农业农村局"
    assert units.resolve("區發改局") == world.lead_unit
    assert units.resolve(" 区\u3000财政局 ") == world.co_unit


def test_brackets_match_in_either_width(world):
    group = OrganisationFactory(name="各镇（街道）联络组", parent=world.government)
    directory = UnitDirectory.from_queryset()
    assert directory.resolve("各镇(街道)联络组") == group
    assert match_key("各镇 (街道)") == "各镇（街道）"


def test_unknown_name_gets_close_suggestions(world, units):
    assert units.resolve("区发展改革局") is None
    assert units.suggestions("区发展改革局")[0] == world.lead_unit
    message = units.error_message("区发展改革局")
    assert "找不到单位「区发展改革局」" in message
    assert "区发展和改革局" in message


def test_suggestions_use_pinyin_initials(world, units):
    assert world.lead_unit in units.suggestions("qfgj")


def test_nothing_close_is_said_plainly(units):
    assert units.suggestions("完全不相干的名字xyz") == []
    assert units.error_message("完全不相干的名字xyz") == "找不到单位「完全不相干的名字xyz」，请检查名称。"
    assert units.suggestions("") == []


def test_resolved_name_has_no_error(world, units):
    assert units.error_message("区财政局") is None


def test_shared_short_name_is_ambiguous(world):
    town_office = OrganisationFactory(name="镇党政办公室", short_name="党政办")
    village_office = OrganisationFactory(name="乡党政办公室", short_name="党政办")
    directory = UnitDirectory.from_queryset()
    assert directory.resolve("党政办") is None
    assert directory.matches("党政辦") == [town_office, village_office]
    assert directory.suggestions("党政办", limit=1) == [town_office, village_office]
    message = directory.error_message("党政办")
    assert "不唯一" in message
    assert "镇党政办公室" in message and "乡党政办公室" in message
    assert directory.resolve("镇党政办公室") == town_office


def test_inactive_units_are_not_matched(world):
    update_organisation(org=world.unrelated_unit, parent=world.government, is_active=False)
    directory = UnitDirectory.from_queryset()
    assert directory.resolve("区教育局") is None
    assert world.unrelated_unit not in directory.suggestions("区教育局")


def test_unit_directory_takes_one_query_however_many_units(world, django_assert_num_queries):
    with django_assert_num_queries(1):
        UnitDirectory.from_queryset()
    for number in range(20):
        OrganisationFactory(name=f"新增单位{number}", short_name=f"新{number}", aliases=f"别名{number}")
    with django_assert_num_queries(1):
        directory = UnitDirectory.from_queryset()
    with django_assert_num_queries(0):
        assert directory.resolve("别名7").name == "新增单位7"
        directory.suggestions("新增单位")


@pytest.mark.parametrize(
    "name",
    [
        "各街道",
        "各镇",
        "各乡镇",
        "各有关单位",
        "各镇（街道）",
        "区直各部门",
        "县直有关部门",
        "沿河各村",
        "各村",
    ],
)
def test_collective_names(name):
    assert is_collective(name)


@pytest.mark.parametrize("name", ["区财政局", "公安分局", "区委督查室", ""])
def test_single_units_are_not_collective(name):
    assert not is_collective(name)


def test_leaders_match_by_name_ignoring_the_post(world):
    directory = LeaderDirectory.from_queryset()
    assert directory.resolve("王副区长") == world.leader
    assert directory.resolve("王副区长（常务副区长）") == world.leader
    assert directory.resolve("王副區長") == world.leader


def test_leaders_with_padded_names(world):
    li = leader(world.government, full_name="李红")
    directory = LeaderDirectory.from_queryset()
    assert directory.resolve("李  红（副区长）") == li
    assert directory.resolve("副区长李红") == li


def test_only_leaders_are_in_the_leader_directory(world):
    directory = LeaderDirectory.from_queryset()
    assert directory.resolve("张督办") is None
    assert "找不到领导「张督办」" in directory.error_message("张督办")


def test_namesake_leaders_are_ambiguous_and_told_apart_by_unit(world):
    first = leader(world.government, full_name="张伟")
    second = UserFactory(full_name="张伟")
    grant(second, world.office, Role.LEADER, title="主任")
    directory = LeaderDirectory.from_queryset()
    assert directory.resolve("张伟（副区长）") is None
    assert directory.suggestions("张伟") == [first, second]
    message = directory.error_message("张伟")
    assert "不唯一" in message
    assert "张伟（区政府）" in message and "张伟（督查室主任）" in message


def test_leader_directory_queries_do_not_grow(world, django_assert_num_queries):
    with django_assert_num_queries(2):
        LeaderDirectory.from_queryset()
    for number in range(10):
        leader(world.government, full_name=f"领导{number}")
    with django_assert_num_queries(2):
        directory = LeaderDirectory.from_queryset()
    with django_assert_num_queries(0):
        assert directory.resolve("领导3").full_name == "领导3"
        directory.error_message("领导")
