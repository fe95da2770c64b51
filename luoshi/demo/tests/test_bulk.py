"""The bulk generator (``luoshi generate``) at a small size: rows and derived fields agree."""

import datetime as dt

import pytest
from django.core.management import call_command

from luoshi.demo.generator import generate_bulk
from luoshi.ledgers.models import Item, ItemStatus, ProgressReport
from luoshi.orgs.models import Organisation

TODAY = dt.date(2026, 11, 23)


@pytest.mark.django_db(transaction=True)
def test_bulk_generation_keeps_derived_fields_consistent():
    result = generate_bulk(seed=3, n_orgs=400, n_items=600, n_reports=8000, today=TODAY, batch_size=500)
    try:
        assert Organisation.objects.count() >= 350
        assert Item.objects.count() == 600
        assert 6000 <= ProgressReport.objects.count() <= 10000
        for org in Organisation.objects.exclude(parent=None).select_related("parent")[:200]:
            assert org.path == f"{org.parent.path}{org.pk:07d}/"
        # Derived fields agree with the reports.
        for item in Item.objects.filter(children=None, status=ItemStatus.IN_PROGRESS)[:100]:
            counted = item.reports.filter(organisation=item.lead_org, status__in=["submitted", "accepted"])
            latest = counted.order_by("-period_end").values_list("period_end", flat=True).first()
            assert item.last_report_period_end == latest
        done = Item.objects.filter(status__in=[ItemStatus.COMPLETED, ItemStatus.CLOSED])
        assert done.exists() and not done.exclude(percent_complete=100).exists()
        assert set(Item.objects.values_list("warning_color", flat=True)) >= {"red", "green", "done"}
        # New rows after the bulk load get fresh ids (sequences were moved past the explicit ones).
        Organisation.objects.create(name="新单位", path="x")
        assert result.counts["items"] == 600
    finally:
        call_command("flush", interactive=False, verbosity=0)
