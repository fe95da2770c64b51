"""Many writers at once lose nothing, and two people editing the same thing are told, not overwritten.

The writers run on a database file with the settings' OPTIONS (WAL, IMMEDIATE, busy timeout) on
SQLite, and on the real server under ``scripts/with-postgres``: ``luoshi.testing.databases``.
"""

import datetime as dt
import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.urls import reverse

from luoshi.assessment.models import Indicator, ManualScore, ResponsibilityBook, Scheme, UnitGroup
from luoshi.core.models import VersionedModel
from luoshi.ledgers import services
from luoshi.ledgers.models import (
    EventKind,
    Item,
    ItemEvent,
    ItemStatus,
    Ledger,
    LedgerField,
    Milestone,
    ProgressReport,
    ReportStatus,
)
from luoshi.notifications.models import Channel
from luoshi.orgs.models import Organisation, User
from luoshi.supervision import services as supervision_services
from luoshi.supervision.models import Accountability, Inspection, Interview
from luoshi.testing.access import url_routes
from luoshi.testing.databases import file_database

WRITERS = 8
ROUNDS = 3


def run_together(work, count: int) -> list[BaseException]:
    """``work(index)`` in ``count`` threads started at the same moment; the errors they raised."""
    start, errors = threading.Barrier(count), []

    def run(index):
        try:
            start.wait()
            work(index)
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


@pytest.mark.django_db(transaction=True)
def test_eight_writers_at_once_lose_nothing(world, tmp_path):
    """Each writer comments on the shared parent item, edits its own child item and writes, revises
    and submits its report (which rolls progress up into the shared parent), all at the same time."""
    parent = world.advance(world.item, ItemStatus.IN_PROGRESS)
    children = [
        world.advance(world.make_item(title=f"子事项{index}", parent=parent), ItemStatus.IN_PROGRESS)
        for index in range(WRITERS)
    ]

    def write(index):
        supervisor = User.objects.get(pk=world.supervisor.pk)
        liaison = User.objects.get(pk=world.lead_liaison.pk)
        handler = User.objects.get(pk=world.handler.pk)
        report = None
        for round_ in range(ROUNDS):
            services.add_comment(
                item=Item.objects.get(pk=parent.pk), user=handler, text=f"写者{index}第{round_}次"
            )
            child = Item.objects.get(pk=children[index].pk)
            services.update_item(
                item=child, user=supervisor, version=child.version, title=f"子事项{index}第{round_}版"
            )
            report = services.save_report(
                item=child,
                user=liaison,
                report=report,
                version=report.version if report else None,
                text=f"第{round_}稿",
                percent_complete=10 * (index + 1),
                submit=round_ == ROUNDS - 1,
            )

    with file_database(tmp_path):
        errors = run_together(write, WRITERS)

        assert not errors, [repr(error) for error in errors]
        comments = ItemEvent.objects.filter(item=parent, kind=EventKind.COMMENT)
        assert comments.count() == WRITERS * ROUNDS
        for index, child in enumerate(children):
            stored = Item.objects.get(pk=child.pk)
            assert stored.title == f"子事项{index}第{ROUNDS - 1}版"
            assert stored.percent_complete == 10 * (index + 1)
            report = ProgressReport.objects.get(item=child)
            assert (report.status, report.text) == (ReportStatus.SUBMITTED, f"第{ROUNDS - 1}稿")
        expected = round(sum(10 * (index + 1) for index in range(WRITERS)) / WRITERS)
        assert Item.objects.get(pk=parent.pk).percent_complete == expected


# Optimistic locking on every edit screen --------------------------------------------------------

# The model each edit screen saves. A new ``*_edit`` URL must be named here.
EDIT_SCREENS = {
    "ledgers:ledger_edit": Ledger,
    "ledgers:item_edit": Item,
    "ledgers:report_edit": ProgressReport,
    "ledgers:ledger_field_edit": LedgerField,
    "ledgers:milestone_edit": Milestone,
    "orgs:organisation_edit": Organisation,
    "orgs:user_edit": User,
    "supervision:interview_edit": Interview,
    "supervision:accountability_edit": Accountability,
    "supervision:inspection_edit": Inspection,
    "notifications:channel_edit": Channel,
    "assessment:scheme_edit": Scheme,
    "assessment:group_edit": UnitGroup,
    "assessment:indicator_edit": Indicator,
    "assessment:book_edit": ResponsibilityBook,
    "assessment:manual_edit": ManualScore,
}
# Edited on a screen, yet not a VersionedModel, and why that is safe.
NOT_VERSIONED = {
    User: "登录、锁定和双因素认证会自行写入用户行；版本号会让并发登录失败。账号编辑只由系统管理员进行。",
}


def test_every_edit_screen_is_declared():
    edit_urls = {name for name in url_routes() if name.endswith("_edit")}
    assert edit_urls == set(EDIT_SCREENS), "declare the model behind each edit screen in EDIT_SCREENS"


@pytest.mark.parametrize("name", sorted(EDIT_SCREENS))
def test_every_edited_model_is_versioned_or_says_why_not(name):
    model = EDIT_SCREENS[name]
    assert issubclass(model, VersionedModel) or model in NOT_VERSIONED, (
        f"{model.__name__} ({name}) is edited on a screen: make it a VersionedModel, or say in NOT_VERSIONED why not"
    )


def _race(client, url, user, data, first_change, stored_value, page=None, **headers):
    """Two people load the same version (of ``page``, by default ``url``); the first saves, the
    second is told (409), input kept."""
    client.force_login(user)
    assert client.get(page or url).status_code == 200
    first_change()
    response = client.post(url, data, headers=headers)
    body = response.content.decode()
    assert response.status_code == 409, body[:2000]
    assert "已被其他人修改" in body
    return body, stored_value()


@pytest.mark.django_db
def test_ledger_edit_race(client, world):
    ledger = Ledger.objects.get(pk=world.ledger.pk)
    data = {
        "name": "我的台账名",
        "year": ledger.year,
        "owner_office": world.office.pk,
        "item_kind": "task",
        "default_report_cycle": "monthly",
        "yellow_tolerance": 10,
        "red_tolerance": 30,
        "due_soon_days": 3,
        "report_grace_days": 2,
        "version": ledger.version,
    }

    def first():
        other = Ledger.objects.get(pk=ledger.pk)
        other.name = "别人改的台账名"
        services.save_ledger(ledger=other, version=ledger.version)

    body, stored = _race(
        client,
        reverse("ledgers:ledger_edit", args=[ledger.pk]),
        world.supervisor,
        data,
        first,
        lambda: Ledger.objects.get(pk=ledger.pk).name,
    )
    assert "我的台账名" in body and stored == "别人改的台账名"


@pytest.mark.django_db
def test_report_edit_race(client, world):
    item = world.advance(world.item, ItemStatus.IN_PROGRESS)
    draft = services.save_report(
        item=item, user=world.lead_liaison, text="初稿", percent_complete=10, submit=False
    )

    def first():
        services.save_report(
            item=item,
            user=world.handler,
            report=ProgressReport.objects.get(pk=draft.pk),
            version=draft.version,
            text="承办人改的稿",
            percent_complete=20,
            submit=False,
        )

    body, stored = _race(
        client,
        reverse("ledgers:report_edit", args=[draft.pk]),
        world.lead_liaison,
        {"text": "联络员的稿", "percent_complete": "30", "save": "draft", "version": draft.version},
        first,
        lambda: ProgressReport.objects.get(pk=draft.pk).text,
    )
    assert "联络员的稿" in body and stored == "承办人改的稿"


@pytest.mark.django_db
def test_ledger_field_edit_race(client, world):
    field = services.save_ledger_field(
        user=world.supervisor, ledger=world.ledger, key="invest_total", label="总投资", field_type="number"
    )
    data = {"label": "我改的名称", "field_type": "number", "sort_order": 0, "version": field.version}

    def first():
        services.save_ledger_field(
            user=world.supervisor,
            field=LedgerField.objects.get(pk=field.pk),
            version=field.version,
            label="别人改的名称",
            unit_label="万元",
        )

    body, stored = _race(
        client,
        reverse("ledgers:ledger_field_edit", args=[field.pk]),
        world.supervisor,
        data,
        first,
        lambda: LedgerField.objects.values_list("label", "unit_label").get(pk=field.pk),
    )
    assert "我改的名称" in body and "别人改的名称" in body and stored == ("别人改的名称", "万元")


@pytest.fixture
def planned_item(world):
    item = world.advance(world.item, ItemStatus.IN_PROGRESS)
    services.schedule_milestones(item=item, user=world.supervisor, phases=[("方案制定", 5), ("组织实施", 20)])
    return item


@pytest.mark.django_db
def test_milestone_edit_race(client, world, planned_item):
    milestone = planned_item.milestones.order_by("sort_order").first()
    prefix = f"milestone-{milestone.pk}"
    data = {
        f"{prefix}-name": "我改的节点名",
        f"{prefix}-start_date": milestone.start_date.isoformat(),
        f"{prefix}-due_date": milestone.due_date.isoformat(),
        f"{prefix}-version": milestone.version,
    }

    def first():
        services.update_milestone(
            milestone=Milestone.objects.get(pk=milestone.pk),
            user=world.supervisor,
            version=milestone.version,
            name="别人改的节点名",
        )

    body, stored = _race(
        client,
        reverse("ledgers:milestone_edit", args=[milestone.pk]),
        world.supervisor,
        data,
        first,
        lambda: Milestone.objects.get(pk=milestone.pk),
        page=reverse("ledgers:item_detail", args=[planned_item.pk]),
        HX_Request="true",
    )
    # The panels, with the stored milestone and the form open, still holding this user's input.
    assert 'id="panels"' in body and "<html" not in body and 'data-testid="stale-warning"' in body
    assert 'value="我改的节点名"' in body and "别人改的节点名" in body
    assert f'name="{prefix}-version" value="{stored.version}"' in body
    assert stored.name == "别人改的节点名"


@pytest.mark.django_db
def test_milestone_complete_race(client, world, planned_item):
    milestone = planned_item.milestones.order_by("sort_order").first()
    done_on = (services.today() - dt.timedelta(days=2)).isoformat()

    def first():
        services.update_milestone(
            milestone=Milestone.objects.get(pk=milestone.pk),
            user=world.supervisor,
            version=milestone.version,
            name="别人改的节点名",
        )

    body, stored = _race(
        client,
        reverse("ledgers:milestone_complete", args=[milestone.pk]),
        world.lead_liaison,
        {f"done-{milestone.pk}-done_on": done_on, f"done-{milestone.pk}-version": milestone.version},
        first,
        lambda: Milestone.objects.values_list("name", "done_on").get(pk=milestone.pk),
        page=reverse("ledgers:item_detail", args=[planned_item.pk]),
    )
    # A plain post gets the whole item page back, the stored milestone shown beside the kept input.
    assert "<html" in body and 'data-testid="stale-warning"' in body and "别人改的节点名" in body
    assert f'name="done-{milestone.pk}-done_on" value="{done_on}"' in body
    assert stored == ("别人改的节点名", None)
    assert not ItemEvent.objects.filter(item=planned_item, data__milestone=milestone.pk).exists()


# Bulk actions are all or nothing (bulk_transition has its own test in ledgers) --------------------


@pytest.mark.django_db
def test_bulk_deadline_change_is_all_or_nothing(world):
    first = world.make_item(title="第一项")
    start = world.item.deadline + dt.timedelta(days=40)
    late_start = world.make_item(
        title="晚开始的事项", start_date=start, deadline=start + dt.timedelta(days=30)
    )
    new_deadline = world.item.deadline + dt.timedelta(days=10)
    with pytest.raises(ValidationError, match="晚开始的事项"):
        services.bulk_change_deadline(
            items=[Item.objects.get(pk=first.pk), Item.objects.get(pk=late_start.pk)],
            user=world.supervisor,
            deadline=new_deadline,
            comment="统一调整",
        )
    assert Item.objects.get(pk=first.pk).deadline == first.deadline
    assert not ItemEvent.objects.filter(item=first, kind__in=[EventKind.EDITED, EventKind.COMMENT]).exists()


@pytest.mark.django_db
def test_bulk_urging_is_all_or_nothing(world):
    foreign = world.make_item(
        title="外台账事项",
        ledger=Ledger.objects.create(name="市级台账", year=2026, owner_office=world.other_office),
        user=world.other_supervisor,
    )
    with pytest.raises(ValidationError, match="外台账事项"):
        supervision_services.urge(items=[world.item, foreign], user=world.supervisor, message="请加快")
    assert not ItemEvent.objects.filter(kind=EventKind.URGED).exists()
