"""Who may see which notification rows: the inbox its recipient; robots and deliveries their managers."""

from django.apps import apps
from django.db.models import Q

from luoshi.core.scoping import ScopedQuerySet
from luoshi.orgs.models import Role
from luoshi.orgs.selectors import access_profile, subtree_id_list


def managed_channels(user) -> Q | None:
    """Robots ``user`` configures: a ledger's, by the supervisors of its office; a unit's, by that office's
    supervisors or by the unit's liaisons (and those of the units above it)."""
    profile = access_profile(user)
    condition = Q(pk__in=[])
    if profile.supervisor_org_ids:
        offices = sorted(profile.supervisor_org_ids)
        condition |= Q(ledger__owner_office_id__in=offices) | Q(organisation_id__in=offices)
    if profile.liaison_paths:
        condition |= Q(organisation_id__in=subtree_id_list(user, profile.liaison_paths))
    return condition if (profile.supervisor_org_ids or profile.liaison_paths) else None


class NotificationQuerySet(ScopedQuerySet):
    def scope_filter(self, user):
        return Q(recipient_id=user.pk)

    def unread(self):
        return self.filter(read_at__isnull=True)


class ChannelQuerySet(ScopedQuerySet):
    def scope_filter(self, user):
        return managed_channels(user)


class DeliveryQuerySet(ScopedQuerySet):
    def scope_filter(self, user):
        """The system admin keeps the mail and robot set-up, so sees every delivery; a robot's managers
        see its posts. E-mails (to a person's address) are the system admin's alone."""
        if access_profile(user).has(Role.SYSTEM_ADMIN):
            return Q()
        channels = managed_channels(user)
        if channels is None:
            return None
        # A literal id list (a user manages a handful of robots) keeps the delivery scan on its index.
        channel_model = apps.get_model("notifications", "Channel")
        return Q(channel_id__in=list(channel_model.objects.filter(channels).values_list("pk", flat=True)))
