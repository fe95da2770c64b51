"""Who may act on an item, per role. Used by the workflows and to show only the actions a user may take."""

from luoshi.orgs.selectors import access_profile


def _under(path: str, paths) -> bool:
    return any(path.startswith(prefix) for prefix in paths)


def supervises_ledger(user, ledger) -> bool:
    """A supervisor of the office that owns the ledger: creates, imports and edits its items."""
    return ledger.owner_office_id in access_profile(user).supervisor_org_ids


def is_supervisor_for(user, item) -> bool:
    return supervises_ledger(user, item.ledger)


def is_lead_liaison(user, item) -> bool:
    return _under(item.lead_org.path, access_profile(user).liaison_paths)


def is_lead_unit_worker(user, item) -> bool:
    """A liaison or handler of the lead unit, or the item's responsible person."""
    return item.owner_id == user.pk or _under(item.lead_org.path, access_profile(user).unit_paths)


def reporting_unit(user, item):
    """The unit ``user`` reports for on ``item``: the lead unit, a co-unit, or ``None`` if they may not."""
    profile = access_profile(user)
    if is_lead_unit_worker(user, item):
        return item.lead_org
    for org in item.co_orgs.all():
        if _under(org.path, profile.unit_paths):
            return org
    return None


def can_edit_item(user, item) -> bool:
    return is_supervisor_for(user, item)


def can_attach(user, item) -> bool:
    """Item attachments (附件): the ledger's supervisors and the lead unit's liaisons add them."""
    return is_supervisor_for(user, item) or is_lead_liaison(user, item)


def can_remove_attachment(user, attachment) -> bool:
    """Whoever uploaded an attachment may take it back while they may still attach; a supervisor always."""
    item = attachment.item
    return is_supervisor_for(user, item) or (attachment.uploaded_by_id == user.pk and can_attach(user, item))
