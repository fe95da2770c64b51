"""The 催办 button on an item, the bulk urge from the filtered item list, and the urge list."""

from django.urls import reverse

from luoshi.ledgers.models import Item, ItemStatus, Ledger
from luoshi.supervision import services
from luoshi.supervision.models import Urge


def _open_item(world, **fields):
    fields.setdefault("owner", world.handler)
    return world.advance(world.make_item(**fields), ItemStatus.IN_PROGRESS)


def test_item_detail_offers_urging_to_its_supervisors_only(client, world):
    item = _open_item(world)
    url = reverse("supervision:urge_item", args=[item.pk])
    client.force_login(world.supervisor)
    assert url in client.get(item.get_absolute_url()).content.decode()
    client.force_login(world.lead_liaison)
    assert url not in client.get(item.get_absolute_url()).content.decode()
    # A draft is not urged: no button.
    client.force_login(world.supervisor)
    assert (
        reverse("supervision:urge_item", args=[world.item.pk])
        not in client.get(world.item.get_absolute_url()).content.decode()
    )


def test_urge_form_sends_and_returns_to_the_item(client, world):
    item = _open_item(world)
    url = reverse("supervision:urge_item", args=[item.pk])
    client.force_login(world.supervisor)
    page = client.get(url)
    assert page.status_code == 200 and "尚未催办" in page.content.decode()

    response = client.post(url, {"message": "请于周五前报送"}, follow=True)
    assert response.redirect_chain[-1][0] == item.get_absolute_url()
    assert "已催办" in response.content.decode()
    assert Urge.objects.get(item=item).message == "请于周五前报送"
    assert "请于周五前报送" in client.get(url).content.decode()


def test_urge_form_shows_a_refusal_on_the_form(client, world):
    item = world.advance(world.make_item(title="已办结事项"), ItemStatus.COMPLETED)
    client.force_login(world.supervisor)
    response = client.post(reverse("supervision:urge_item", args=[item.pk]), {"message": "快"})
    assert response.status_code == 400
    assert "已办结，无需催办" in response.content.decode()
    assert not Urge.objects.exists()


def test_urge_form_is_404_outside_scope(client, world):
    item = _open_item(world)
    for user in (world.other_supervisor, world.leader):
        client.force_login(user)
        assert client.get(reverse("supervision:urge_item", args=[item.pk])).status_code == 404
        assert (
            client.post(reverse("supervision:urge_item", args=[item.pk]), {"message": "快"}).status_code
            == 404
        )
    assert not Urge.objects.exists()


def test_item_list_bulk_form_posts_urging_to_supervision(client, world):
    client.force_login(world.supervisor)
    page = client.get(reverse("ledgers:item_list")).content.decode()
    assert f'formaction="{reverse("supervision:urge_bulk")}"' in page
    assert 'value="urge"' not in page


def test_bulk_urge_from_the_list(client, world):
    first, second = _open_item(world), _open_item(world)
    client.force_login(world.supervisor)
    back = reverse("ledgers:item_list") + "?status=in_progress"
    response = client.post(
        reverse("supervision:urge_bulk"), {"pk": [first.pk, second.pk], "comment": "请加快", "next": back}
    )
    assert response.status_code == 302 and response.url == back
    assert set(Urge.objects.values_list("item_id", flat=True)) == {first.pk, second.pk}
    assert set(Item.objects.filter(pk__in=[first.pk, second.pk]).values_list("urge_count", flat=True)) == {1}


def test_bulk_urge_of_an_item_outside_scope_says_so_and_changes_nothing(client, world):
    mine = _open_item(world)
    ledger = Ledger.objects.create(name="市级台账", year=2026, owner_office=world.other_office)
    foreign = world.make_item(title="外台账事项", ledger=ledger, user=world.other_supervisor)
    client.force_login(world.supervisor)
    response = client.post(
        reverse("supervision:urge_bulk"), {"pk": [mine.pk, foreign.pk], "comment": "请加快"}, follow=True
    )
    assert f"所选事项中有不在您督办范围内的事项（系统编号 {foreign.pk}），本次没有催办任何事项。" in (
        response.content.decode()
    )
    assert not Urge.objects.exists()
    assert Item.objects.get(pk=mine.pk).urge_count == 0


def test_bulk_urge_refusal_from_the_service_is_shown(client, world):
    done = world.advance(world.make_item(title="已办结事项"), ItemStatus.COMPLETED)
    client.force_login(world.supervisor)
    response = client.post(
        reverse("supervision:urge_bulk"), {"pk": [done.pk], "next": "https://evil.example/"}, follow=True
    )
    assert response.redirect_chain[0][0] == reverse("ledgers:item_list")
    assert "「已办结事项」已办结，无需催办" in response.content.decode()
    assert not Urge.objects.exists()


def test_urge_list_filters_and_counts_per_unit(client, world, django_assert_max_num_queries):
    items = [_open_item(world) for _ in range(3)]
    services.urge(items=items, user=world.supervisor, message="加快")
    client.force_login(world.supervisor)
    url = reverse("supervision:urge_list")
    page = client.get(url)
    assert page.status_code == 200
    assert list(page.context["unit_counts"]) == [
        {"organisation_id": world.lead_unit.pk, "organisation__name": "区发展和改革局", "count": 3}
    ]
    assert client.get(url, {"org": world.co_unit.pk}).context["table"].page.paginator.count == 0
    assert client.get(url, {"automatic": "auto"}).context["table"].page.paginator.count == 0
    assert client.get(url, {"ledger": world.ledger.pk}).context["table"].page.paginator.count == 3

    with django_assert_max_num_queries(40) as few:
        client.get(url)
    services.urge(items=[_open_item(world) for _ in range(20)], user=world.supervisor, message="再催")
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(url).status_code == 200


def test_urge_list_is_for_supervisors(client, world):
    client.force_login(world.lead_liaison)
    assert client.get(reverse("supervision:urge_list")).status_code == 404
