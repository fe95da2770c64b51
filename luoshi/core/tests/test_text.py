import pytest

from luoshi.core.text import chinese_numeral, pinyin_full, pinyin_initials


def test_pinyin():
    assert pinyin_full("区发改局") == "qufagaiju"
    assert pinyin_initials("区发改局") == "qfgj"


@pytest.mark.parametrize(
    ("number", "text"),
    [
        (1, "一"),
        (9, "九"),
        (10, "十"),
        (11, "十一"),
        (20, "二十"),
        (21, "二十一"),
        (99, "九十九"),
        (100, "一百"),
        (105, "一百零五"),
        (110, "一百一十"),
        (1005, "一千零五"),
        (1010, "一千零一十"),
        (1100, "一千一百"),
        (9999, "九千九百九十九"),
    ],
)
def test_chinese_numeral(number, text):
    assert chinese_numeral(number) == text


@pytest.mark.parametrize("number", [0, -1, 10000])
def test_chinese_numeral_outside_its_range(number):
    with pytest.raises(ValueError):
        chinese_numeral(number)
