"""Periodic jobs of the exchange (registered with ``luoshi.core.jobs``)."""

from luoshi.core.jobs import Daily, periodic
from luoshi.exchange import services


@periodic("exchange.purge_exports", Daily(3, 20))
def purge_exports(*, now) -> dict:
    """Remove the background exports kept past their time; a second run finds nothing left to remove."""
    return {"removed": services.purge_expired_exports(now=now)}
