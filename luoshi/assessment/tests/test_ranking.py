"""Ranks and grades as a ranking notice prints them; properties hold for any scores (hypothesis)."""

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from luoshi.assessment.ranking import competition_ranks, grade_by_bands, grade_by_shares, top_and_bottom

D = Decimal
BANDS = [(D(90), "优秀"), (D(80), "良好"), (D(60), "一般"), (D(0), "较差")]
SHARES = [(D("0.2"), "优秀"), (D("0.5"), "良好"), (D(0), "一般")]

scores = st.decimals(min_value=0, max_value=120, places=1, allow_nan=False, allow_infinity=False)
tables = st.dictionaries(
    st.text("甲乙丙丁戊己庚辛壬癸", min_size=1, max_size=3), scores, min_size=1, max_size=40
)


def test_ties_share_a_rank_and_the_next_is_skipped():
    ranks = competition_ranks({"发改局": D("95.5"), "财政局": D(90), "教育局": D(90), "住建局": D(88)})
    assert ranks == {"发改局": 1, "财政局": 2, "教育局": 2, "住建局": 4}


def test_a_veto_sinks_the_unit_below_everyone_whatever_its_points():
    ranks = competition_ranks({"发改局": D(99), "财政局": D(70), "教育局": D(60)}, vetoed={"发改局"})
    assert ranks == {"财政局": 1, "教育局": 2, "发改局": 3}
    assert grade_by_bands(D(99), BANDS, vetoed=True) == "较差"


def test_grades_by_band_and_by_share():
    assert [grade_by_bands(D(score), BANDS) for score in (95, 90, "89.9", 60, 12)] == [
        "优秀",
        "优秀",
        "良好",
        "一般",
        "较差",
    ]
    ranks = competition_ranks({f"单位{n}": D(100 - n) for n in range(10)})
    grades = grade_by_shares(ranks, SHARES)
    assert [grades[f"单位{n}"] for n in range(10)] == ["优秀"] * 2 + ["良好"] * 5 + ["一般"] * 3


def test_red_and_black_lists_take_ties_at_the_edge():
    ranks = competition_ranks({"甲": D(99), "乙": D(95), "丙": D(95), "丁": D(80), "戊": D(70), "己": D(70)})
    top, bottom = top_and_bottom(ranks, 2)
    assert top == ["甲", "乙", "丙"]
    assert bottom == ["己", "戊"] and top_and_bottom(ranks, 3)[1] == ["己", "戊", "丁"]
    assert top_and_bottom(ranks, 0) == ([], [])


@given(tables, st.randoms())
def test_ranking_does_not_depend_on_the_order_units_are_listed(table, random):
    shuffled = list(table.items())
    random.shuffle(shuffled)
    assert competition_ranks(dict(shuffled)) == competition_ranks(table)


@given(tables)
def test_ranks_follow_scores_and_ties_share(table):
    ranks = competition_ranks(table)
    for a in table:
        # A unit's rank is one more than the number of units scoring strictly higher.
        assert ranks[a] == 1 + sum(1 for b in table if table[b] > table[a])
        for b in table:
            assert (ranks[a] == ranks[b]) == (table[a] == table[b])


@given(tables, st.data())
def test_a_veto_always_sinks(table, data):
    vetoed = set(data.draw(st.lists(st.sampled_from(sorted(table)), unique=True)))
    ranks = competition_ranks(table, vetoed=vetoed)
    grades = grade_by_shares(ranks, SHARES, vetoed=vetoed)
    for unit in vetoed:
        assert all(ranks[unit] > ranks[other] for other in table if other not in vetoed)
        assert grades[unit] == "一般"


@given(tables)
def test_tied_units_share_a_grade(table):
    grades = grade_by_shares(competition_ranks(table), SHARES)
    for a in table:
        for b in table:
            if table[a] == table[b]:
                assert grades[a] == grades[b]
