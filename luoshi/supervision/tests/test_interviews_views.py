"""Interview and accountability screens: the office's supervisors write, the audit admin reads, others get 404."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from luoshi.supervision.models import Accountability, AccountabilityForm, Interview
from luoshi.supervision.tests.test_interviews_services import accountability, interview

TODAY = timezone.localdate()
OUTSIDERS = ("lead_liaison", "handler", "leader", "other_supervisor", "co_liaison", "system_admin")


def login(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def records(world):
    return interview(world), accountability(world)


def _urls(talk, decision) -> dict[str, str]:
    return {
        "interview_list": reverse("supervision:interview_list"),
        "interview_detail": reverse("supervision:interview_detail", args=[talk.pk]),
        "interview_edit": reverse("supervision:interview_edit", args=[talk.pk]),
        "accountability_list": reverse("supervision:accountability_list"),
        "accountability_detail": reverse("supervision:accountability_detail", args=[decision.pk]),
        "accountability_edit": reverse("supervision:accountability_edit", args=[decision.pk]),
    }


def test_supervisor_reads_and_edits(client, world, records):
    talk, decision = records
    urls = _urls(talk, decision)
    login(client, world.supervisor)
    for name, url in urls.items():
        assert client.get(url).status_code == 200, name
    page = client.get(urls["interview_detail"]).content.decode()
    assert talk.interviewee in page and talk.reason in page and world.item.title in page
    assert urls["interview_edit"] in page
    page = client.get(urls["accountability_list"]).content.decode()
    assert "通报批评" in page and reverse("supervision:accountability_create") in page


def test_audit_admin_reads_but_never_writes(client, world, records):
    talk, decision = records
    urls = _urls(talk, decision)
    login(client, world.audit_admin)
    for name in ("interview_list", "interview_detail", "accountability_list", "accountability_detail"):
        assert client.get(urls[name]).status_code == 200, name
    page = client.get(urls["interview_detail"]).content.decode()
    assert talk.reason in page and urls["interview_edit"] not in page
    assert reverse("supervision:interview_create") not in client.get(urls["interview_list"]).content.decode()
    for name in ("interview_edit", "accountability_edit"):
        assert client.get(urls[name]).status_code == 404
        assert client.post(urls[name], {"reason": "改写"}).status_code == 404
    for name in ("interview_create", "accountability_create"):
        assert client.get(reverse(f"supervision:{name}")).status_code == 404
    assert Interview.objects.get().reason == talk.reason


@pytest.mark.parametrize("role", OUTSIDERS)
def test_everyone_else_gets_404(client, world, records, role):
    talk, decision = records
    login(client, getattr(world, role))
    for name, url in _urls(talk, decision).items():
        if role == "other_supervisor" and name.endswith("_list"):
            continue  # their own office's (empty) list: test_other_office_supervisor_sees_an_empty_list
        assert client.get(url).status_code == 404, name
    for name in ("interview_create", "accountability_create"):
        if role != "other_supervisor":
            assert client.get(reverse(f"supervision:{name}")).status_code == 404


def test_other_office_supervisor_sees_an_empty_list(client, world, records):
    page = login(client, world.other_supervisor).get(reverse("supervision:interview_list")).content.decode()
    assert records[0].interviewee not in page


def test_record_an_interview_from_an_item(client, world):
    login(client, world.supervisor)
    url = reverse("supervision:interview_create")
    form = client.get(url, {"item": world.item.pk}).context["form"]
    assert form.initial["items"] == [world.item.pk] and form.initial["organisation"] == world.lead_unit.pk

    response = client.post(
        url,
        {
            "office": world.office.pk,
            "held_on": TODAY.isoformat(),
            "interviewer": world.leader.pk,
            "organisation": world.lead_unit.pk,
            "interviewee": "刘局长",
            "reason": "连续红色预警",
            "items": [world.item.pk],
            "outcome": "限期整改",
        },
    )

    record = Interview.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("supervision:interview_detail", args=[record.pk])
    assert (record.interviewee, record.created_by, list(record.items.all())) == (
        "刘局长",
        world.supervisor,
        [world.item],
    )


def test_a_future_date_is_refused_on_the_form(client, world):
    response = login(client, world.supervisor).post(
        reverse("supervision:accountability_create"),
        {
            "office": world.office.pk,
            "form": AccountabilityForm.CRITICISM,
            "organisation": world.lead_unit.pk,
            "decided_on": (TODAY + dt.timedelta(days=2)).isoformat(),
            "reason": "未整改",
        },
    )
    assert response.status_code == 200
    assert "决定日期不能晚于今天。" in response.content.decode()
    assert not Accountability.objects.exists()


def test_edit_accountability_and_stale_409(client, world, records):
    _talk, decision = records
    url = reverse("supervision:accountability_edit", args=[decision.pk])
    data = {
        "office": world.office.pk,
        "form": AccountabilityForm.ADMONITION,
        "organisation": world.lead_unit.pk,
        "person": "刘某",
        "decided_on": TODAY.isoformat(),
        "reason": "约谈后仍未整改",
        "version": decision.version,
    }
    login(client, world.supervisor)
    assert client.post(url, data).status_code == 302
    stored = Accountability.objects.get()
    assert (stored.form, stored.person, stored.version) == (
        AccountabilityForm.ADMONITION,
        "刘某",
        decision.version + 1,
    )

    response = client.post(url, {**data, "person": "旧页面的输入"})
    assert response.status_code == 409
    assert "旧页面的输入" in response.content.decode()
    assert Accountability.objects.get().person == "刘某"


def test_list_query_count_does_not_grow_with_rows(client, world, records):
    login(client, world.supervisor)
    url = reverse("supervision:interview_list")
    client.get(url)

    def count():
        with CaptureQueriesContext(connection) as context:
            assert client.get(url).status_code == 200
        return len(context.captured_queries)

    few = count()
    for index in range(10):
        interview(world, interviewee=f"被约谈人{index}")
    assert count() == few
