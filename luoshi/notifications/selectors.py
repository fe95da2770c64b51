"""Reads of the notifications module, each scoped to what the user may see."""

from django.db.models import F

from luoshi.ledgers.models import Ledger
from luoshi.notifications.models import Channel, Delivery, DeliveryStatus, Notification
from luoshi.orgs.models import Organisation
from luoshi.orgs.selectors import access_profile, subtree_id_list


def inbox(user):
    """The user's messages: unread first, then newest first (index notification_inbox)."""
    return Notification.objects.visible_to(user).order_by(F("read_at").desc(nulls_first=True), "-created_at")


def unread_count(user) -> int:
    """One indexed COUNT for the header badge."""
    if not user.is_authenticated:
        return 0
    return Notification.objects.filter(recipient_id=user.pk, read_at__isnull=True).count()


def channel_list(user):
    return Channel.objects.visible_to(user).select_related("organisation", "ledger")


def ledger_choices(user):
    """Ledgers whose robots ``user`` may configure: those of the offices they supervise."""
    offices = sorted(access_profile(user).supervisor_org_ids)
    return Ledger.objects.filter(owner_office_id__in=offices, is_archived=False).order_by("-year", "name")


def organisation_choices(user):
    """Units whose robots ``user`` may configure: their supervising office, the units they are liaison of
    and those below them."""
    profile = access_profile(user)
    ids = [*profile.supervisor_org_ids, *subtree_id_list(user, profile.liaison_paths)]
    return Organisation.objects.filter(pk__in=ids, is_active=True).order_by("path")


def delivery_list(user):
    """The dead letters: deliveries given up or still failing, with their errors (newest problem first)."""
    return (
        Delivery.objects.visible_to(user)
        .filter(status__in=[DeliveryStatus.DEAD, DeliveryStatus.FAILED])
        .select_related("channel")
        .order_by("-updated_at")
    )
