"""Normalising unit and leader names as people type them into cells."""

import pytest

from luoshi.exchange.text import normalise, person_name, split_names, split_people, strip_pinyin_annotations


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("區農業農村局", "区农业农村局"),
        ("  区财政局\u3000", "区财政局"),
        ("Ｇ２１０\u3000\u3000国道　ａｂｃ", "G210 国道 abc"),
        ("区\u200b住建局", "区住建局"),
        ("各镇（街道）", "各镇（街道）"),  # Chinese brackets carry meaning and stay
        ("区纪委监委、区委组织部；区财政局", "区纪委监委、区委组织部；区财政局"),
        ("", ""),
        (None, ""),
    ],
)
def test_normalise(typed, expected):
    assert normalise(typed) == expected


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("区纪委监委、區委組織部", ["区纪委监委", "区委组织部"]),
        ("各街道,区财政局", ["各街道", "区财政局"]),
        ("公安分局，区生态环境分局", ["公安分局", "区生态环境分局"]),
        ("区自然资源局;区消防救援大队；区工信局", ["区自然资源局", "区消防救援大队", "区工信局"]),
        ("区工信局/区商务局／区财政局", ["区工信局", "区商务局", "区财政局"]),
        ("区工信局  区商务局", ["区工信局", "区商务局"]),
        ("区直各部门、各镇（街道）", ["区直各部门", "各镇（街道）"]),
        ("各镇（街道、社区）、区财政局", ["各镇（街道、社区）", "区财政局"]),
        ("各镇 （街道）", ["各镇（街道）"]),
        ("区财政局、、 ,区财政局、區財政局", ["区财政局"]),
        ("区 财政局", ["区财政局"]),
        ("  ", []),
        (None, []),
    ],
)
def test_split_names(cell, expected):
    assert split_names(cell) == expected


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("王建国（副区长）", ("王建国", "副区长")),
        ("王建国(副区长)", ("王建国", "副区长")),
        ("王建国 （ 副区长 ）", ("王建国", "副区长")),
        ("王建國（副區長）", ("王建国", "副区长")),
        ("李  红", ("李红", "")),
        ("李\u3000红（区委书记）", ("李红", "区委书记")),
        ("副区长王建国", ("王建国", "副区长")),
        ("区委书记李红", ("李红", "区委书记")),
        ("常务副县长欧阳明", ("欧阳明", "常务副县长")),
        ("王副区长", ("王副区长", "")),  # a name that only looks like a post stays whole
        ("John Smith", ("John Smith", "")),
        ("", ("", "")),
    ],
)
def test_person_name(typed, expected):
    assert person_name(typed) == expected


def test_split_people_reads_several_leaders_and_padded_names():
    cell = "王建国（副区长）、李  红（区委常委、副区长）；赵  明 钱多多，王建国"
    assert split_people(cell) == [
        ("王建国", "副区长"),
        ("李红", "区委常委、副区长"),
        ("赵明", ""),
        ("钱多多", ""),
    ]


def test_split_people_of_an_empty_cell():
    assert split_people("") == []


@pytest.mark.parametrize(
    ("pasted", "expected"),
    [
        ("區(qū)", "區"),
        ("學(xué)習(xí)", "學習"),
        ("抓好秋糧(liáng)收儲(chǔ)工作", "抓好秋糧收儲工作"),
        ("学习（xué xí）贯彻", "学习贯彻"),
        ("世界卫生组织(WHO)", "世界卫生组织(WHO)"),  # an abbreviation, not pinyin
        ("完成时限(10月底前)", "完成时限(10月底前)"),
        ("(qū)开头", "(qū)开头"),  # not after a character
    ],
)
def test_strip_pinyin_annotations(pasted, expected):
    assert strip_pinyin_annotations(pasted) == expected


def test_pinyin_stripped_then_normalised_reads_simplified():
    assert normalise(strip_pinyin_annotations("區(qū)農(nóng)業(yè)農(nóng)村(cūn)局(jú)")) == "区农业农村局"
