"""Documents → item trees: the samples, every numbering form, fields, web furniture, documents."""

import datetime as dt
import io
import json
import zipfile
from pathlib import Path

import docx
import pytest
from django.test import override_settings
from docx.enum.text import WD_BREAK

from luoshi.exchange.documents import DocumentError, document_text
from luoshi.exchange.outline import (
    Outline,
    OutlineError,
    OutlineNode,
    chinese_number,
    clean_line,
    document_year,
    drop_furniture,
    field_pairs,
    find_title,
    inline_enumeration,
    is_closing,
    leading_marker,
    outline,
    split_heading,
    table_columns,
    take_fields,
)

SAMPLES = Path(__file__).resolve().parent / "samples"  # copies of ../shared/samples


def walk(nodes):
    for node in nodes:
        yield node
        yield from walk(node.children)


def titles(nodes) -> list[str]:
    return [node.title for node in nodes]


def node_titled(result: Outline, prefix: str) -> OutlineNode:
    found = [node for node in walk(result.children) if node.title.startswith(prefix)]
    assert len(found) == 1, (prefix, titles(found))
    return found[0]


def has_children(result: Outline, parent: str, expected: list[str]) -> bool:
    """Some item titled ``parent…`` has exactly the children ``expected…``, in order."""
    return any(
        node.title.startswith(parent)
        and len(node.children) == len(expected)
        and all(child.title.startswith(title) for child, title in zip(node.children, expected, strict=True))
        for node in walk(result.children)
    )


def sample_outline(name: str) -> tuple[Outline, dict]:
    path = next(SAMPLES.glob(f"{name}.*[!n]"))  # the document, not its .expected.json
    with path.open("rb") as upload:
        result = outline(document_text(upload, name=path.name))
    return result, json.loads((SAMPLES / f"{name}.expected.json").read_text(encoding="utf-8"))


def check_fields(result: Outline, fields: dict) -> None:
    for title, expected in fields.items():
        node = node_titled(result, title).as_dict()
        for key, value in expected.items():
            if key == "co_orgs_or_lead":
                assert sorted([node["lead_org"], *node["co_orgs"]]) == sorted(value), title
            else:
                assert node[key] == value, (title, key)


@pytest.mark.parametrize("name", ["plan_a", "plan_b", "plan_c"])
def test_samples_outline_as_expected(name):
    result, expected = sample_outline(name)
    if "top" in expected:
        assert len(result.children) == len(expected["top"])
        assert all(node.title.startswith(t) for node, t in zip(result.children, expected["top"], strict=True))
    for title in expected.get("top_contains", []):
        assert any(node.title.startswith(title) for node in result.children), title
    for parent, children in expected["children"].items():
        assert has_children(result, parent, children), parent
    for run in expected.get("enumerations_in_order", []):
        assert any(has_children(result, node.title, run) for node in walk(result.children)), run
    check_fields(result, expected["fields"])
    text = json.dumps(result.as_dict(), ensure_ascii=False)
    for furniture in expected.get("absent", []):
        assert furniture not in text


def test_plan_a_leaves_out_the_covering_notice_and_the_closing_sentence():
    result, _expected = sample_outline("plan_a")
    assert result.title == "青河区2026年优化营商环境重点任务分工方案"
    text = json.dumps(result.as_dict(), ensure_ascii=False)
    assert "现将" not in text
    assert "各牵头单位要于每月25日前" not in text
    assert "为持续打造" not in text


def test_plan_b_title_year_and_cleaned_text():
    result, _expected = sample_outline("plan_b")
    assert result.title == "在全县秋冬季重点工作推进会上的讲话"
    assert result.year == 2026  # from the date line under the title
    text = json.dumps(result.as_dict(), ensure_ascii=False)
    assert "同志们" not in text
    assert "(h" not in text and "落實" not in text
    assert node_titled(result, "会议还对冬季防火工作进行了部署").children[0].marker == "首先，"


def test_plan_c_leaves_out_the_goals_and_groups_table_rows():
    result, _expected = sample_outline("plan_c")
    assert result.title == "白沙镇人居环境整治提升三年行动实施方案（2026—2028年）"
    assert "工作目标" not in titles(result.children)
    table = node_titled(result, "重点任务分工表")
    assert titles(table.children) == ["农村厕所革命", "生活污水治理", "村容村貌提升"]
    assert table.children[0].children[0].marker == "1"
    assert node_titled(result, "开展“三清”专项行动").cycle == "quarterly"


# --- numbering -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("paragraph", "style", "number", "rest"),
    [
        ("一、提升政务服务效能", "chinese", 1, "提升政务服务效能"),
        ("十二．强化保障", "chinese", 12, "强化保障"),
        ("（三）压缩审批时间", "chinese_bracket", 3, "压缩审批时间"),
        ("(二)推行承诺制", "chinese_bracket", 2, "推行承诺制"),
        ("1. 社会投资项目", "arabic", 1, "社会投资项目"),
        ("2、推行联合验收", "arabic", 2, "推行联合验收"),
        ("3．开展排查", "arabic", 3, "开展排查"),
        ("（1）建立台账", "arabic_bracket", 1, "建立台账"),
        ("2）建立台账", "arabic_half_bracket", 2, "建立台账"),
        ("②加强调度", "circled", 2, "加强调度"),
        ("一是抓好秋粮收储", "shi", 1, "抓好秋粮收储"),
        ("三要严格问责", "yao", 3, "严格问责"),
        ("首先，落实责任", "sequence", 1, "落实责任"),
        ("其次，加强管控", "sequence", 2, "加强管控"),
        ("最后，做好准备", "sequence", 99, "做好准备"),
        ("第二，加强调度", "ordinal", 2, "加强调度"),
        ("第三、严格考核", "ordinal", 3, "严格考核"),
        ("第一部分 总体要求", "part", 1, "总体要求"),
    ],
)
def test_leading_marker(paragraph, style, number, rest):
    marker = leading_marker(paragraph)
    assert (marker.style.name, marker.number, marker.rest) == (style, number, rest)


@pytest.mark.parametrize(
    "paragraph",
    [
        "2026年完成改厕1200户",
        "1.5亿元用于补助",
        "第一书记驻村",
        "十分重要",
        "统一是关键",
        "一、",
        "最后一公里",
    ],
)
def test_text_that_only_looks_numbered(paragraph):
    assert leading_marker(paragraph) is None


@pytest.mark.parametrize(
    ("numeral", "value"), [("一", 1), ("十", 10), ("十二", 12), ("二十", 20), ("二十三", 23)]
)
def test_chinese_number(numeral, value):
    assert chinese_number(numeral) == value


def test_levels_follow_first_appearance():
    result = outline(["一、甲", "（一）乙", "1.丙", "（1）丁", "2.戊", "（二）己", "二、庚", "1.辛"])
    (first, second) = result.children
    assert titles(first.children) == ["乙", "己"]
    assert titles(first.children[0].children) == ["丙", "戊"]
    assert titles(first.children[0].children[0].children) == ["丁"]
    # 1. belongs below （一）, but directly under 二、 it is the child of 二、.
    assert titles(second.children) == ["辛"]


def test_a_document_that_starts_at_the_second_level():
    result = outline("工作方案\n（一）加强领导。成立专班。\n1.制定清单\n2.倒排工期\n（二）强化督查")
    assert titles(result.children) == ["加强领导", "强化督查"]
    assert result.children[0].description == "成立专班。"
    assert titles(result.children[0].children) == ["制定清单", "倒排工期"]


def test_a_style_first_seen_deep_is_still_deep_later():
    result = outline(["一、甲", "（一）乙", "①子", "②丑", "二、丙", "（一）丁", "①寅"])
    assert titles(result.children[1].children[0].children) == ["寅"]


# --- enumerations inside paragraphs ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "lead", "parts"),
    [
        ("存在差距。一是进度不均衡。二是增收渠道窄。", "存在差距。", ["进度不均衡。", "增收渠道窄。"]),
        (
            "要做到：一要压实责任；二要加强调度；三要严格问责。",
            "要做到：",
            ["压实责任；", "加强调度；", "严格问责。"],
        ),
        ("首先，落实责任。其次，加强管控。最后，做好准备。", "", ["落实责任。", "加强管控。", "做好准备。"]),
        ("第一，摸清底数；第二，建立台账。", "", ["摸清底数；", "建立台账。"]),
        ("具体包括：（1）清垃圾；（2）清沟渠。", "具体包括：", ["清垃圾；", "清沟渠。"]),
        ("①完成改厕；②建立机制。", "", ["完成改厕；", "建立机制。"]),
        ("统一是前提，一是一二是二。", "统一是前提，一是一二是二。", []),  # not at clause starts
        ("只有一是不够的。", "只有一是不够的。", []),  # a single one is no enumeration
    ],
)
def test_inline_enumeration(text, lead, parts):
    found_lead, found_parts = inline_enumeration(text)
    assert found_lead == lead
    assert [part for _marker, part in found_parts] == parts


def test_paragraph_heading_heads_its_enumerations():
    result = outline(["一、抓好安全。开展专项整治。一是燃气；二是消防；三是交通。"])
    (item,) = result.children
    assert (item.title, item.description) == ("抓好安全", "开展专项整治。")
    assert titles(item.children) == ["燃气", "消防", "交通"]
    assert [child.marker for child in item.children] == ["一是", "二是", "三是"]


def test_plain_paragraph_enumerations_belong_to_the_current_item():
    result = outline(["一、认清形势", "成绩明显，差距仍在。一是项目慢；二是增收难。"])
    (item,) = result.children
    assert item.description == "成绩明显，差距仍在。"
    assert titles(item.children) == ["项目慢", "增收难"]


def test_plain_paragraph_outside_items_heads_its_enumerations():
    result = outline(["关于做好防汛工作的通知", "各单位要做好以下工作：一是排查隐患；二是备足物资。"])
    (item,) = result.children
    assert item.title == "各单位要做好以下工作"
    assert titles(item.children) == ["排查隐患", "备足物资"]


def test_a_paragraph_listing_its_own_siblings():
    result = outline(["一、强化保障", "一是压实责任。二是加强调度。三是严格问责。"])
    assert titles(result.children[0].children) == ["压实责任", "加强调度", "严格问责"]
    result = outline(["一、强化保障", "首先，压实责任。最后，严格问责。"])
    assert titles(result.children[0].children) == ["压实责任", "严格问责"]


def test_enumeration_without_a_heading_stays_one_item():
    result = outline(["一、强化保障", "（一）一是压实责任；二是加强调度。"])
    (item,) = result.children[0].children
    assert (item.title, item.children) == ("一是压实责任", [])


# --- headings and descriptions ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "heading", "rest"),
    [
        ("深化“一网通办”。推动高频事项网上办理。", "深化“一网通办”", "推动高频事项网上办理。"),
        ("推行联合验收，实现“一次申请。限时办结”", "推行联合验收，实现“一次申请。限时办结”", ""),
        ("加强调度：每月通报", "加强调度", "每月通报"),
        ("严格问责；追究责任", "严格问责", "追究责任"),
        ("9:30前报送进展", "9:30前报送进展", ""),
        ("提升村容村貌", "提升村容村貌", ""),
    ],
)
def test_split_heading(text, heading, rest):
    assert split_heading(text) == (heading, rest)


def test_plain_paragraphs_continue_the_description_until_fields_or_children():
    result = outline(
        [
            "一、提升效能",
            "全面推进改革。",
            "持续优化流程。",
            "（一）深化网办",
            "牵头单位：区政务服务中心",
            "这句在职责之后，不是说明。",
        ]
    )
    (item,) = result.children
    assert item.description == "全面推进改革。\n持续优化流程。"
    assert item.children[0].description == ""


# --- responsibility and time ------------------------------------------------------------------


def test_field_pairs():
    assert field_pairs("牵头单位：区司法局；责任单位：区直有关部门；完成时限：6月底前") == [
        ("lead", "区司法局"),
        ("responsible", "区直有关部门"),
        ("deadline", "6月底前"),
    ]
    assert field_pairs("牵头领导:王建国（副区长），配合单位：区财政局") == [
        ("leader", "王建国（副区长）"),
        ("assisting", "区财政局"),
    ]


def test_take_fields_removes_bracketed_and_trailing_phrases():
    assert take_fields("推行承诺制。（牵头单位：区司法局；完成时限：6月底前）") == (
        "推行承诺制。",
        [("lead", "区司法局"), ("deadline", "6月底前")],
    )
    assert take_fields("推行承诺制。牵头单位：区司法局") == ("推行承诺制。", [("lead", "区司法局")])
    assert take_fields("建设集镇（街道）服务站（2026—2028年）") == (
        "建设集镇（街道）服务站（2026—2028年）",
        [],
    )


def test_bracketed_fields_fill_the_item():
    result = outline(
        [
            "一、推行联合验收。（牵头单位：区住建局；责任单位：区自然资源局、區消防救援大隊；"
            "牵头领导：王建国（副区长）；完成时限：2026年9月底前）"
        ]
    )
    item = result.children[0]
    assert (item.title, item.description) == ("推行联合验收", "")
    assert item.lead_org == "区住建局"
    assert item.co_orgs == ["区自然资源局", "区消防救援大队"]
    assert item.lead_leader == "王建国"
    assert item.deadline == dt.date(2026, 9, 30)


def test_field_lines_fill_the_nearest_item():
    result = outline(
        [
            "2026年工作要点",
            "一、加大金融支持",
            "（一）组织政银企对接",
            "牵头单位：区金融服务中心",
            "配合单位：区工信局、区商务局",
            "责任领导：李  红",
            "时间节点：7月中旬",
            "调度频次：每月",
        ]
    )
    item = result.children[0].children[0]
    assert (item.lead_org, item.co_orgs, item.lead_leader) == (
        "区金融服务中心",
        ["区工信局", "区商务局"],
        "李红",
    )
    assert (item.deadline, item.standing, item.cycle) == (dt.date(2026, 7, 20), False, "monthly")
    assert result.children[0].lead_org == ""


def test_responsible_units_without_a_lead_unit():
    result = outline(["一、整治黑臭水体（责任单位：镇生态环境办、沿河各村；配合单位：镇财政所）"])
    item = result.children[0]
    assert (item.lead_org, item.co_orgs) == ("镇生态环境办", ["沿河各村", "镇财政所"])


def test_standing_items_and_unreadable_dates():
    result = outline(
        [
            "一、保障用地",
            "完成时限：长期坚持",
            "二、加强调度",
            "完成时限：每半月",
            "三、其他",
            "完成时限：尽快",
        ]
    )
    standing, cycled, unreadable = result.children
    assert (standing.deadline, standing.standing, standing.cycle) == (None, True, None)
    assert (cycled.standing, cycled.cycle) == (True, "semimonthly")
    assert unreadable.deadline is None
    assert "尽快" in unreadable.errors[0]


def test_several_leaders_keep_the_first_and_say_so():
    item = outline(["一、推进项目（牵头领导：王建国、李红）"]).children[0]
    assert item.lead_leader == "王建国"
    assert "李红" in item.errors[0]


@pytest.mark.parametrize(
    ("lines", "title", "year"),
    [
        (["关于印发《2025年工作要点》的通知", "一、甲"], "2025年工作要点", 2025),
        (["二〇二四年防汛工作方案", "一、甲"], "二〇二四年防汛工作方案", 2024),
        (["防汛工作方案", "区防汛办", "2027年5月8日", "一、甲"], "防汛工作方案", 2027),
    ],
)
def test_title_and_year_from_the_document(lines, title, year):
    found, start = find_title(lines)
    assert found == title
    assert document_year(lines, found, start) == year


def test_year_given_by_the_caller_and_the_current_year(monkeypatch):
    assert outline(["方案", "一、甲（完成时限：6月底前）"], year=2030).children[0].deadline == dt.date(
        2030, 6, 30
    )
    monkeypatch.setattr("luoshi.exchange.outline.timezone.localdate", lambda: dt.date(2031, 1, 5))
    result = outline(["方案", "一、甲（完成时限：6月底前）"])
    assert (result.year, result.children[0].deadline) == (2031, dt.date(2031, 6, 30))


# --- dirty web text ---------------------------------------------------------------------------


def test_drop_furniture():
    lines = [
        "首页 | 新闻中心 | 政务公开",
        "当前位置：首页 > 工作动态",
        "来源：县政府办  发布时间：2026-09-12  浏览次数：120",
        "字号：大 中 小",
        "一、正文",
        "分享到：微信 微博",
        "扫一扫在手机打开当前页",
        "【打印本页】【关闭窗口】",
        "上一篇：某某会议",
        "推荐阅读",
        "· 某条新闻",
        "• 另一条",
        "版权所有：某县人民政府 ICP备12345号",
        "发表评论",
        "分享经验做法。",
    ]
    assert drop_furniture(lines) == ["一、正文", "分享经验做法。"]


def test_clean_line():
    assert clean_line("　　（一）落實(shí)責任,強化督導") == "（一）落实责任，强化督导"
    assert clean_line("序号\t重點任務\t\t完成時限") == "序号\t重点任务\t\t完成时限"
    # A tab after Word's numbering is not a table: the line stays a numbered paragraph.
    assert titles(outline(["方案", "一、\t提升效能"]).children) == ["提升效能"]


@pytest.mark.parametrize(
    ("line", "closing"),
    [
        ("同志们，时间紧、任务重。", True),
        ("特此通知。", True),
        ("2026年3月1日", True),
        ("二〇二六年三月一日", True),
        ("青河区人民政府办公室", True),
        ("（此件公开发布）", True),
        ("推动高频事项网上办理。", False),
    ],
)
def test_is_closing(line, closing):
    assert is_closing(line) is closing


def test_traditional_characters_pinyin_and_half_width_punctuation():
    result = outline(
        [
            "學(xué)習(xí)貫徹工作方案",
            "(一)落實(shí)防火責任制,強化督導;(牽頭單位:縣林業局)",
        ]
    )
    assert result.title == "学习贯彻工作方案"
    item = result.children[0]
    assert (item.marker, item.title, item.description, item.lead_org) == (
        "（一）",
        "落实防火责任制，强化督导",
        "",
        "县林业局",
    )


def test_closing_lines_are_not_items_or_descriptions():
    result = outline(["方案", "一、甲", "特此通知。", "青河区人民政府办公室", "2026年3月1日"])
    assert result.children[0].description == ""
    assert len(result.children) == 1


# --- tables -----------------------------------------------------------------------------------


def test_table_columns():
    assert table_columns(["序号", "重点任务", "具体措施", "责任单位", "完成时限", "备注"]) == [
        "key",
        "task",
        "task",
        "responsible",
        "deadline",
        None,
    ]
    assert table_columns(["姓名", "电话"]) is None
    assert table_columns(["重点任务", "说明"]) is None


def test_pasted_table_with_blank_merged_cells():
    result = outline(
        [
            "任务分工表",
            "序号\t重点工作\t工作任务\t牵头单位\t配合单位\t完成时间\t备注",
            "1\t优化服务\t推行网办\t区政务服务中心\t区直各部门\t9月底\t",
            "2\t\t压缩时限\t区住建局\t\t年底前\t需专项资金",
        ],
        year=2026,
    )
    (group,) = result.children
    assert group.title == "优化服务"
    first, second = group.children
    assert (first.lead_org, first.co_orgs, first.deadline) == (
        "区政务服务中心",
        ["区直各部门"],
        dt.date(2026, 9, 30),
    )
    assert (second.title, second.description, second.deadline) == (
        "压缩时限",
        "备注：需专项资金",
        dt.date(2026, 12, 31),
    )


# --- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "   \n\n", [], ["分享到：微信", "上一篇：某某"]])
def test_empty_input_is_a_chinese_error(text):
    with pytest.raises(OutlineError, match="没有文字"):
        outline(text)


def test_text_without_numbering_is_a_chinese_error():
    with pytest.raises(OutlineError, match="没有找到编号的事项"):
        outline("会议纪要\n会议听取了汇报，研究了有关事项。")


def test_as_dict_shape():
    data = outline(["方案", "一、甲（牵头单位：区财政局；完成时限：2026年6月30日）"]).as_dict()
    assert data["title"] == "方案"
    assert data["children"] == [
        {
            "title": "甲",
            "description": "",
            "lead_org": "区财政局",
            "co_orgs": [],
            "lead_leader": "",
            "deadline": "2026-06-30",
            "standing": False,
            "cycle": None,
            "marker": "一、",
            "errors": [],
            "children": [],
        }
    ]


# --- documents --------------------------------------------------------------------------------


def docx_bytes(build) -> io.BytesIO:
    document = docx.Document()
    build(document)
    buffer = io.BytesIO()
    document.save(buffer)
    buffer.seek(0)
    return buffer


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "gb18030"])
def test_text_files_in_office_encodings(encoding):
    upload = io.BytesIO("工作方案\r\n一、提升效能\r\n".encode(encoding))
    assert document_text(upload, name="方案.txt") == ["工作方案", "一、提升效能"]


def test_docx_paragraphs_tables_and_bold_headings_in_body_order():
    def build(document):
        document.add_paragraph("工作方案")
        paragraph = document.add_paragraph()
        paragraph.add_run("一、深化改革").bold = True
        paragraph.add_run("推动事项网上办理。").add_break(WD_BREAK.LINE)
        paragraph.add_run("牵头单位：区政务服务中心")
        document.add_paragraph("　　")
        document.add_paragraph("附件：分工表")
        table = document.add_table(rows=3, cols=3)
        cells = [
            ("重点任务", "具体措施", "责任单位"),
            ("厕所革命", "完成改厕", "镇农业办"),
            ("", "建立机制", "各村"),
        ]
        for row, texts in enumerate(cells):
            for column, text in enumerate(texts):
                table.cell(row, column).text = text
        table.cell(1, 0).merge(table.cell(2, 0))

    paragraphs = document_text(docx_bytes(build), name="方案.docx")
    assert paragraphs == [
        "工作方案",
        "一、深化改革。推动事项网上办理。\n牵头单位：区政务服务中心",
        "附件：分工表",
        "重点任务\t具体措施\t责任单位",
        "厕所革命\t完成改厕\t镇农业办",
        "厕所革命\t建立机制\t各村",
    ]
    result = outline(paragraphs)
    assert result.children[0].lead_org == "区政务服务中心"
    (group,) = node_titled(result, "分工表").children
    assert (group.title, titles(group.children)) == ("厕所革命", ["完成改厕", "建立机制"])


def test_docx_automatic_numbering_is_written_out():
    def build(document):
        document.add_paragraph("清单")
        for text in ("摸清底数", "建立台账"):
            document.add_paragraph(text, style="List Number")

    assert document_text(docx_bytes(build), name="方案.docx") == ["清单", "1.摸清底数", "2.建立台账"]


def zip_bytes(members: dict[str, bytes]) -> io.BytesIO:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    buffer.seek(0)
    return buffer


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "是空的"),
        (b"PK\x03\x04broken", "已损坏"),
        (zip_bytes({"word/document.xml": b"<not xml"}).getvalue(), "已损坏"),
        (zip_bytes({"xl/workbook.xml": b"<x/>"}).getvalue(), "Excel 工作簿"),
        (zip_bytes({"other.txt": b"x"}).getvalue(), "不是可以识别的文档"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + "EncryptedPackage".encode("utf-16-le"), "设置了密码"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64, "旧版 Word"),
        (b"%PDF-1.7\n", "不是可以识别的文档"),
        (b"\x00\x01\x02binary", "不是可以识别的文档"),
        (b"\xff\xfe\x00\xd8", "不是可以识别的文档"),  # a UTF-16 BOM before a broken surrogate
    ],
)
def test_unreadable_uploads_are_refused_in_chinese(content, message):
    with pytest.raises(DocumentError, match=message) as error:
        document_text(io.BytesIO(content), name="上传.bin")
    assert "上传.bin" in error.value.message


@override_settings(EXCHANGE_IMPORT_MAX_BYTES=10)
def test_size_limit():
    with pytest.raises(DocumentError, match=r"超过 10\s字节 的上限"):
        document_text(io.BytesIO("一、提升政务服务效能".encode()), name="大.txt")
