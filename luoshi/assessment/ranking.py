"""Ranks and grades as offices publish them in a ranking notice (排名通报).

- Ranks are competition ranks ("1224"): a higher score ranks first, equal scores share a rank and the next
  rank is skipped (two units second, the next is fourth). The order units are listed in never matters.
- A unit with a veto (一票否决) ranks below every unit without one, whatever its points, and takes the
  lowest grade; vetoed units are ranked among themselves by score.
- Grades (优秀/良好/一般/较差) come from score bands (at least 90 …) or from shares of the ranking (the
  first 20 % 优秀 …); a tie never splits across a grade boundary, since tied units share a rank.

Pure functions over plain values: the scoring services call them and store what they return.
"""

import math
from bisect import bisect_right
from collections.abc import Hashable, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import TypeVar

Unit = TypeVar("Unit", bound=Hashable)


def competition_ranks(scores: Mapping[Unit, Decimal], *, vetoed: Iterable[Unit] = ()) -> dict[Unit, int]:
    """Each unit's rank: by score, highest first, ties sharing a rank with the next skipped; vetoed units
    after all the others."""
    vetoed = set(vetoed)

    def standing(unit):
        return (unit not in vetoed, scores[unit])

    ordered = sorted((standing(unit) for unit in scores), reverse=True)
    first = {}
    for position, key in enumerate(ordered, start=1):
        first.setdefault(key, position)
    return {unit: first[standing(unit)] for unit in scores}


def grade_by_bands(score: Decimal, bands: Sequence[tuple[Decimal, str]], *, vetoed: bool = False) -> str:
    """The grade of the first band (lowest score, grade), highest first, that ``score`` reaches; the last
    band's grade when none is reached, or when the unit has a veto."""
    ordered = sorted(bands, key=lambda band: band[0], reverse=True)
    if vetoed:
        return ordered[-1][1]
    return next((grade for floor, grade in ordered if score >= floor), ordered[-1][1])


def grade_by_shares(
    ranks: Mapping[Unit, int], shares: Sequence[tuple[Decimal, str]], *, vetoed: Iterable[Unit] = ()
) -> dict[Unit, str]:
    """Grades by share of the ranking: ``shares`` are (share of all units, grade), best first, the last grade
    taking the rest; e.g. ((0.2, 优秀), (0.5, 良好), (0, 一般)). A unit's rank decides, so tied units
    share a grade; vetoed units take the last grade."""
    vetoed = set(vetoed)
    total = len(ranks)
    limits, reached = [], Decimal(0)
    for share, grade in shares[:-1]:
        reached += Decimal(str(share))
        # The last rank within the share: the first 20 % of 12 units are ranks 1 to 2.
        limits.append((math.floor(reached * total), grade))
    last = shares[-1][1]
    return {
        unit: last if unit in vetoed else next((grade for limit, grade in limits if rank <= limit), last)
        for unit, rank in ranks.items()
    }


def top_and_bottom(ranks: Mapping[Unit, int], count: int) -> tuple[list[Unit], list[Unit]]:
    """红榜 and 黑榜: the units within the first ``count`` places, best first, and those within the last
    ``count`` places, worst first. Ties at the edge are all in: a shared place is one place."""
    if count <= 0:
        return [], []
    ordered = sorted(ranks, key=lambda unit: ranks[unit])
    all_ranks = sorted(ranks.values())
    top = [unit for unit in ordered if ranks[unit] <= count]
    # Within the last N places: fewer than N units rank below it.
    bottom = [
        unit for unit in reversed(ordered) if len(all_ranks) - bisect_right(all_ranks, ranks[unit]) < count
    ]
    return top, bottom
