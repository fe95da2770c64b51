"""The progress briefing: its context, the .docx it renders (read back with python-docx) and its views."""

import datetime as dt
import io
from urllib.parse import quote

import docx
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml.ns import qn
from docx.shared import Pt

from luoshi.audit.models import AuditAction, AuditEvent
from luoshi.core.documents import closing_lines, format_date, paragraphs, width
from luoshi.exchange.briefing import (
    DEFAULT_TEMPLATE,
    briefing_context,
    completion_rate,
    render_briefing,
    template_path,
)
from luoshi.ledgers import services
from luoshi.ledgers.models import Item, ItemStatus, WarningColor

TODAY = timezone.localdate()
AS_OF = dt.date(2026, 11, 23)
TITLE = "2026年重点工作进展情况通报"
OFFICE = "区委督查室"
LAST_MONTH = TODAY.replace(day=1) - dt.timedelta(days=1)


def issued(item: Item, color: str, percent: int = 0) -> Item:
    """``item`` in progress with warning ``color``; set directly, as the warning rules would need a
    calendar's worth of setup to arrive at each colour."""
    Item.objects.filter(pk=item.pk).update(
        status=ItemStatus.IN_PROGRESS, warning_color=color, warning_as_of=TODAY, percent_complete=percent
    )
    return Item.objects.get(pk=item.pk)


def report(item, user, text, *, day=None, **fields):
    return services.save_report(
        item=item, user=user, text=text, percent_complete=fields.pop("percent", 50), period_day=day, **fields
    )


def context_for(world, **kwargs):
    kwargs.setdefault("title", TITLE)
    kwargs.setdefault("office", OFFICE)
    kwargs.setdefault("as_of", AS_OF)
    return briefing_context(Item.objects.filter(ledger=world.ledger), **kwargs)


def rendered(context, template=None) -> docx.Document:
    stream = io.BytesIO()
    render_briefing(context, stream, template=template)
    stream.seek(0)
    return docx.Document(stream)


def texts(document) -> list[str]:
    return [paragraph.text for paragraph in document.paragraphs]


def summary_of(lines: list[str]) -> str:
    return next(line for line in lines if line.startswith("截至"))


def paragraph(document, text):
    return next(p for p in document.paragraphs if p.text == text)


def east_asian_font(style) -> str:
    return style.element.rPr.rFonts.get(qn("w:eastAsia"))


@pytest.fixture
def colours(world):
    """One item per colour, the world's own item red, with reports where the briefing shows them."""
    report(
        issued(world.item, WarningColor.RED),
        world.lead_liaison,
        "完成项目立项\n正在办理用地手续",
        problems="征地进度慢",
        next_steps="加快征地",
    )
    red = issued(world.item, WarningColor.RED, 20)  # after the report, which recomputes the warning
    yellow = issued(world.make_item(title="老旧小区改造"), WarningColor.YELLOW, 40)
    green = issued(
        world.make_item(title="优化营商环境", co_orgs=[world.co_unit, world.sub_unit]),
        WarningColor.GREEN,
        60,
    )
    done = issued(world.make_item(title="编制专项规划"), WarningColor.DONE, 100)
    world.make_item(title="尚在起草的事项")  # a draft: not in the briefing
    return {"red": red, "yellow": yellow, "green": green, "done": done}


# The context ---------------------------------------------------------------------------------------


def test_sections_follow_the_colours_and_skip_empty_ones(world, colours):
    context = context_for(world)

    assert [(s["number"], s["name"], s["count"]) for s in context["sections"]] == [
        ("一、", "红色预警事项", 1),
        ("二、", "黄色预警事项", 1),
        ("三、", "正常推进事项", 1),
        ("四、", "已完成事项", 1),
    ]
    assert [s["entries"][0]["title"] for s in context["sections"]] == [
        "推进重大项目建设",
        "老旧小区改造",
        "优化营商环境",
        "编制专项规划",
    ]
    assert context["total"] == 4
    assert context["summary"] == (
        "截至2026年11月23日，共有事项4项，其中已完成1项，红色预警1项，黄色预警1项，正常推进1项，完成率25%。"
    )


def test_item_fields(world, colours):
    sections = context_for(world)["sections"]
    red = sections[0]["entries"][0]
    green = sections[2]["entries"][0]

    assert red["number"] == "（一）"
    assert red["lead_org"] == str(world.lead_unit)
    assert red["co_orgs"] == str(world.co_unit)
    assert sorted(green["co_orgs"].split("、")) == sorted([str(world.co_unit), str(world.sub_unit)])
    assert red["lead_leader"] == "王副区长"
    assert red["deadline"] == format_date(world.item.deadline)
    assert red["percent"] == 20
    assert red["progress"] == ["完成项目立项", "正在办理用地手续"]
    assert red["problems"] == ["征地进度慢"]
    assert red["next_steps"] == ["加快征地"]
    assert red["report_note"] == f"（{format_date(TODAY)}报送）"
    assert sections[1]["entries"][0]["progress"] == ["暂未报送进展。"]
    assert sections[1]["entries"][0]["report_note"] == ""


def test_standing_item_and_other_colours(world):
    standing = world.make_item(title="河长制常态化", is_standing=True, deadline=None)
    issued(standing, WarningColor.NOT_STARTED)
    issued(world.item, WarningColor.SUSPENDED)

    context = context_for(world)

    assert [s["name"] for s in context["sections"]] == ["尚未启动事项", "已中止事项"]
    assert context["sections"][0]["entries"][0]["deadline"] == "长期坚持"
    assert "尚未启动1项，已中止1项，完成率0%。" in context["summary"]


def test_latest_report_is_the_latest_submitted_period_lead_unit_first(world):
    item = issued(world.item, WarningColor.GREEN)
    older = report(item, world.lead_liaison, "上月牵头进展", day=LAST_MONTH)
    services.review_report(report=older, user=world.supervisor, accept=True)
    report(item, world.co_liaison, "本月配合进展")
    report(item, world.lead_liaison, "本月牵头进展")

    other = issued(world.make_item(title="第二项", co_orgs=[world.co_unit]), WarningColor.GREEN)
    report(other, world.lead_liaison, "上月进展", day=LAST_MONTH)
    returned = report(other, world.lead_liaison, "被退回的进展")
    services.review_report(report=returned, user=world.supervisor, accept=False, comment="请补充")
    report(other, world.co_liaison, "配合单位草稿", submit=False)

    only_co = issued(world.make_item(title="第三项", co_orgs=[world.co_unit]), WarningColor.GREEN)
    report(only_co, world.co_liaison, "配合单位进展")

    for each in (item, other, only_co):
        issued(each, WarningColor.GREEN)  # reports recompute the warning
    rows = context_for(world)["sections"][0]["entries"]

    assert [row["progress"] for row in rows] == [["本月牵头进展"], ["上月进展"], ["配合单位进展"]]
    assert rows[2]["report_note"] == f"（{world.co_unit}{format_date(TODAY)}报送）"


def test_query_count_does_not_grow_with_the_items(world):
    def make(count):
        ledger_items = []
        for number in range(count):
            item = issued(
                world.make_item(
                    title=f"事项{count}-{number}", co_orgs=[world.co_unit], lead_leader=world.leader
                ),
                WarningColor.GREEN,
            )
            report(item, world.lead_liaison, f"进展{number}")
            ledger_items.append(item.pk)
        return Item.objects.filter(pk__in=ledger_items)

    few, many = make(5), make(30)
    with CaptureQueriesContext(connection) as few_queries:
        assert briefing_context(few, title=TITLE, office=OFFICE, as_of=AS_OF)["total"] == 5
    with CaptureQueriesContext(connection) as many_queries:
        assert briefing_context(many, title=TITLE, office=OFFICE, as_of=AS_OF)["total"] == 30

    assert len(many_queries) == len(few_queries) <= 3


def test_helpers():
    assert completion_rate(1, 6) == "16.7"
    assert completion_rate(1, 5) == "20"
    assert completion_rate(0, 0) == "0"
    assert format_date(dt.date(2026, 1, 5)) == "2026年1月5日"
    assert paragraphs("  第一段\r\n\n 第二段 \n") == ["第一段", "第二段"]
    assert paragraphs("") == []
    assert width("2026年11月23日") == 7
    assert width("区委督查室") == 5


def test_closing_lines_place_the_name_over_the_date():
    # The date is longer: it ends two characters in, the name starts two characters left of it.
    name, date = closing_lines("区委督查室", "2026年11月23日")
    assert (name, date) == ("区委督查室" + "\u3000" * 6, "2026年11月23日" + "\u3000" * 2)
    # The name is longer: it ends two characters in, the date starts two characters right of it.
    name, date = closing_lines("中共某某区委办公室督查室", "2026年1月5日")
    assert name == "中共某某区委办公室督查室" + "\u3000" * 2
    assert date == "2026年1月5日" + "\u3000" * 6
    # Half a character of difference is made up with a half-width space.
    assert closing_lines("中共某某区委办公室督查室", "2026年11月5日")[1] == "2026年11月5日 " + "\u3000" * 5


# The document --------------------------------------------------------------------------------------


def test_document_layout(world, colours):
    document = rendered(context_for(world))

    section = document.sections[0]
    assert round(section.page_width.mm) == 210 and round(section.page_height.mm) == 297
    margins = [section.top_margin, section.bottom_margin, section.left_margin, section.right_margin]
    assert [round(margin.mm) for margin in margins] == [37, 35, 28, 26]

    title = paragraph(document, TITLE)
    assert title.style.name == "公文标题"
    assert east_asian_font(title.style) == "方正小标宋简体"
    assert title.style.font.size == Pt(22)
    assert title.style.paragraph_format.alignment == WD_ALIGN_PARAGRAPH.CENTER

    body = paragraph(document, context_for(world)["summary"])
    assert body.style.name == "公文正文"
    assert east_asian_font(body.style) == "仿宋_GB2312"
    assert body.style.font.name == "仿宋_GB2312"
    assert body.style.font.size == Pt(16)
    assert body.style.paragraph_format.line_spacing_rule == WD_LINE_SPACING.EXACTLY
    assert 28 <= body.style.paragraph_format.line_spacing.pt <= 29
    assert body.style.paragraph_format.first_line_indent == Pt(32)

    level1 = paragraph(document, "一、红色预警事项（1项）")
    assert east_asian_font(level1.style) == "黑体" and level1.style.font.size == Pt(16)
    level2 = paragraph(document, "（一）推进重大项目建设")
    assert east_asian_font(level2.style) == "楷体_GB2312" and level2.style.font.size == Pt(16)


def test_document_lists_the_sections_and_reports(world, colours):
    lines = texts(rendered(context_for(world)))

    headings = [line for line in lines if line[:2] in ("一、", "二、", "三、", "四、", "五、")]
    assert headings == [
        "一、红色预警事项（1项）",
        "二、黄色预警事项（1项）",
        "三、正常推进事项（1项）",
        "四、已完成事项（1项）",
    ]
    start = lines.index("（一）推进重大项目建设")
    assert lines[start + 1 : start + 6] == [
        f"牵头单位：{world.lead_unit}；配合单位：{world.co_unit}；牵头领导：王副区长；"
        f"完成时限：{format_date(world.item.deadline)}；完成进度：20%。",
        f"进展情况（{format_date(TODAY)}报送）：完成项目立项",
        "正在办理用地手续",
        "存在问题：征地进度慢",
        "下步打算：加快征地",
    ]
    assert "进展情况：暂未报送进展。" in lines
    assert "尚在起草的事项" not in "".join(lines)
    assert lines[-2:] == ["区委督查室" + "\u3000" * 6, "2026年11月23日" + "\u3000" * 2]
    assert not any("{{" in line or "{%" in line for line in lines)


def test_footer_numbers_odd_pages_right_and_even_pages_left(world, colours):
    document = rendered(context_for(world))
    section = document.sections[0]

    assert document.settings.odd_and_even_pages_header_footer
    for footer, alignment in (
        (section.footer, WD_ALIGN_PARAGRAPH.RIGHT),
        (section.even_page_footer, WD_ALIGN_PARAGRAPH.LEFT),
    ):
        number = footer.paragraphs[0]
        assert number.text == "— 1 —"
        assert number.alignment == alignment
        fields = number._p.xpath(".//w:instrText")
        assert [field.text.strip() for field in fields] == ["PAGE"]
        assert east_asian_font(number.style) == "宋体" and number.style.font.size == Pt(14)


def test_red_header_on_and_off(world, colours):
    plain = rendered(context_for(world))
    assert texts(plain)[0] == TITLE
    assert not [p for p in plain.paragraphs if p.style.name in ("发文机关标志", "发文字号")]

    red = rendered(context_for(world, red_header=True, number="督查通报〔2026〕5号"))
    issuer = paragraph(red, OFFICE)
    assert issuer.style.name == "发文机关标志"
    assert str(issuer.style.font.color.rgb) == "FF0000"
    assert east_asian_font(issuer.style) == "方正小标宋简体"
    number = paragraph(red, "督查通报〔2026〕5号")
    rule = number.style.element.pPr.find(qn("w:pBdr")).find(qn("w:bottom"))
    assert rule.get(qn("w:color")) == "FF0000"
    assert texts(red).index(OFFICE) < texts(red).index("督查通报〔2026〕5号") < texts(red).index(TITLE)


def test_user_text_is_escaped_and_never_evaluated(world):
    title = "{{ 7*7 }}<w:t>&{% if 1 %}坏{% endif %}\x0b"
    issued(world.make_item(title=title), WarningColor.RED)

    lines = texts(rendered(context_for(world, title=title)))

    expected = "{{ 7*7 }}<w:t>&{% if 1 %}坏{% endif %}"
    assert lines[0] == expected
    assert f"（一）{expected}" in lines
    assert not any("49" in line for line in lines)


def test_a_replaced_template_is_used(world, settings, tmp_path):
    own = docx.Document()
    own.add_paragraph("本办模板：{{ title }}")
    own.save(tmp_path / "own.docx")
    settings.EXCHANGE_BRIEFING_TEMPLATE = tmp_path / "own.docx"

    assert template_path() == tmp_path / "own.docx"
    assert texts(rendered(context_for(world))) == [f"本办模板：{TITLE}"]


def test_default_template(settings):
    assert template_path() == settings.EXCHANGE_BRIEFING_TEMPLATE == DEFAULT_TEMPLATE
    settings.EXCHANGE_BRIEFING_TEMPLATE = None
    assert template_path() == DEFAULT_TEMPLATE


# The views -----------------------------------------------------------------------------------------


def opened(response) -> docx.Document:
    return docx.Document(io.BytesIO(b"".join(response.streaming_content)))


def test_ledger_briefing_download(client, world, colours):
    client.force_login(world.supervisor)

    response = client.get(reverse("exchange:ledger_briefing", args=[world.ledger.pk]))

    assert response.status_code == 200
    assert (
        response["Content-Type"] == "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    )
    assert response["Cache-Control"] == "private, no-store"
    name = f"{TITLE}-{TODAY:%Y%m%d}.docx"
    assert response["Content-Disposition"].startswith("attachment; filename=")
    assert f"filename*=UTF-8''{quote(name, safe='')}" in response["Content-Disposition"]
    lines = texts(opened(response))
    assert lines[0] == TITLE
    assert "（一）推进重大项目建设" in lines
    assert lines[-2].startswith(world.office.name)
    event = AuditEvent.objects.get(action=AuditAction.EXPORT)
    assert (event.object_type, event.object_id, event.object_repr) == (
        "ledgers.Ledger",
        str(world.ledger.pk),
        TITLE,
    )
    assert event.after["items"] == 4
    assert event.username == world.supervisor.username


def test_ledger_briefing_red_header(client, world, colours):
    client.force_login(world.supervisor)

    response = client.get(reverse("exchange:ledger_briefing", args=[world.ledger.pk]), {"red_header": "1"})

    assert texts(opened(response))[0] == world.office.name


def test_ledger_briefing_shows_only_what_the_user_sees(client, world, colours):
    other = issued(world.make_item(title="教育局牵头的事项", lead_org=world.unrelated_unit), WarningColor.RED)
    client.force_login(world.lead_liaison)

    lines = texts(opened(client.get(reverse("exchange:ledger_briefing", args=[world.ledger.pk]))))

    assert "（一）推进重大项目建设" in lines
    assert f"（二）{other.title}" not in lines and not any(other.title in line for line in lines)


def test_ledger_briefing_outside_scope_is_404(client, world, colours):
    url = reverse("exchange:ledger_briefing", args=[world.ledger.pk])
    for user in (world.unrelated_liaison, world.other_supervisor, world.system_admin):
        client.force_login(user)
        assert client.get(url).status_code == 404
    assert not AuditEvent.objects.filter(action=AuditAction.EXPORT).exists()


def test_item_list_briefing_honours_the_filters(client, world, colours):
    client.force_login(world.supervisor)
    url = reverse("exchange:item_list_briefing")

    response = client.get(url, {"color": [WarningColor.RED, WarningColor.GREEN], "ledger": world.ledger.pk})

    assert response.status_code == 200
    lines = texts(opened(response))
    assert lines[0] == TITLE
    assert [line for line in lines if line.startswith("（")] == [
        "（一）推进重大项目建设",
        "（一）优化营商环境",
    ]
    assert "共有事项2项" in summary_of(lines)
    event = AuditEvent.objects.get(action=AuditAction.EXPORT)
    assert event.object_type == "ledgers.Ledger" and "color=red" in event.after["query"]


def test_item_list_briefing_across_ledgers(client, world, colours):
    client.force_login(world.lead_liaison)

    response = client.get(reverse("exchange:item_list_briefing"), {"q": "营商"})

    lines = texts(opened(response))
    assert lines[0] == "工作进展情况通报"
    assert [line for line in lines if line.startswith("（")] == ["（一）优化营商环境"]
    assert lines[-2].startswith(world.lead_unit.name)
    event = AuditEvent.objects.get(action=AuditAction.EXPORT)
    assert (event.object_type, event.object_id) == ("ledgers.Item", "")


def test_item_list_briefing_with_an_invalid_filter_is_empty(client, world, colours):
    client.force_login(world.supervisor)

    response = client.get(reverse("exchange:item_list_briefing"), {"color": "purple"})

    assert response.status_code == 200
    lines = texts(opened(response))
    assert "共有事项0项" in summary_of(lines)
    assert not any(line.startswith("（") for line in lines)


def test_item_list_briefing_needs_a_business_role(client, world):
    client.force_login(world.audit_admin)
    assert client.get(reverse("exchange:item_list_briefing")).status_code == 404


@pytest.mark.parametrize("role", ["supervisor", "lead_liaison"])
def test_item_list_offers_the_briefings(client, world, colours, role):
    client.force_login(getattr(world, role))

    page = client.get(reverse("ledgers:item_list"), {"ledger": world.ledger.pk}).content.decode()

    assert reverse("exchange:ledger_briefing", args=[world.ledger.pk]) in page
    assert f"{reverse('exchange:item_list_briefing')}?ledger={world.ledger.pk}" in page
