"""The supervision order as a .docx: its context, and what the rendered file says (read back with python-docx)."""

import datetime as dt
import io

import docx
import pytest
import time_machine
from docx.oxml.ns import qn
from docx.shared import Pt

from luoshi.core.documents import format_date
from luoshi.ledgers.models import ItemStatus
from luoshi.supervision.documents import DEFAULT_TEMPLATE, order_context, render_order, template_path
from luoshi.supervision.models import OrderLevel
from luoshi.supervision.tests.test_orders_workflow import make_order

ISSUED = dt.datetime(2026, 11, 23, 9, tzinfo=dt.UTC)


def rendered(context, template=None) -> docx.document.Document:
    stream = io.BytesIO()
    render_order(context, stream, template=template)
    stream.seek(0)
    return docx.Document(stream)


def texts(document) -> list[str]:
    return [paragraph.text for paragraph in document.paragraphs if paragraph.text]


def table_rows(document) -> list[list[str]]:
    return [[cell.text for cell in row.cells] for row in document.tables[0].rows]


@pytest.fixture
def order(world):
    world.advance(world.item, ItemStatus.IN_PROGRESS)
    second = world.make_item(title="老旧小区改造", is_standing=True, deadline=None)
    with time_machine.travel(ISSUED, tick=False):
        return make_order(
            world,
            items=[world.item, second],
            level=OrderLevel.KEY,
            subject="关于加快推进重大项目建设的督办单",
            content="一要压实责任。\n\n二要按时回复。",
            reply_deadline=dt.date(2026, 12, 4),
        )


def test_context(world, order):
    context = order_context(order)

    assert context["number"] == "督〔2026〕1号"
    assert (context["kind"], context["level"]) == ("督办单", "重点督办")
    assert context["addressee"] == "区发展和改革局" and context["office"] == "区委督查室"
    assert context["content"] == ["一要压实责任。", "二要按时回复。"]
    assert context["reply_deadline"] == "2026年12月4日"
    assert context["reply_note"] == "请于2026年12月4日前将办理情况及佐证材料书面回复区委督查室。"
    first, second = context["entries"]
    assert first == {
        "number": 1,
        "title": "推进重大项目建设",
        "lead_leader": "王副区长",
        "deadline": format_date(world.item.deadline),
        "status": "推进中",
    }
    assert (second["title"], second["deadline"], second["lead_leader"]) == ("老旧小区改造", "长期坚持", "—")
    assert context["signature"].startswith("区委督查室") and context["date"].startswith("2026年11月23日")
    assert context["copy_to"] == "王副区长"
    assert "两" not in context["intro"] and "2项" in context["intro"]


def test_context_reads_in_a_fixed_number_of_queries(world, order, django_assert_max_num_queries):
    with django_assert_max_num_queries(3):
        order_context(order)


def test_document_says_what_the_order_says(world, order):
    document = rendered(order_context(order))
    lines = texts(document)

    assert lines[0] == "督〔2026〕1号"
    assert lines[1] == "关于加快推进重大项目建设的督办单"
    assert "（督办单·重点督办）" in lines
    assert "区发展和改革局：" in lines
    assert lines.index("一、督办事项") < lines.index("二、督办要求") < lines.index("三、回复时限")
    assert "一要压实责任。" in lines and "二要按时回复。" in lines
    assert "请于2026年12月4日前将办理情况及佐证材料书面回复区委督查室。" in lines
    assert lines[-1] == "抄送：王副区长。"
    assert lines[-3].startswith("区委督查室") and lines[-2].startswith("2026年11月23日")
    assert table_rows(document) == [
        ["序号", "督办事项", "牵头领导", "完成时限", "办理状态"],
        ["1", "推进重大项目建设", "王副区长", format_date(world.item.deadline), "推进中"],
        ["2", "老旧小区改造", "—", "长期坚持", "草稿"],
    ]
    assert not any("{{" in line or "{%" in line for line in lines)


def test_layout_is_the_official_documents(order):
    document = rendered(order_context(order))
    section = document.sections[0]
    assert [round(m.mm) for m in (section.top_margin, section.bottom_margin, section.left_margin)] == [
        37,
        35,
        28,
    ]
    title = next(p for p in document.paragraphs if p.text == "关于加快推进重大项目建设的督办单")
    assert title.style.name == "公文标题" and title.style.font.size == Pt(22)
    fonts = title.style.element.rPr.find(qn("w:rFonts"))
    assert fonts.get(qn("w:eastAsia")) == "方正小标宋简体"
    addressee = next(p for p in document.paragraphs if p.text == "区发展和改革局：")
    assert addressee.style.name == "主送机关"
    assert next(p for p in document.paragraphs if p.text.startswith("抄送")).style.name == "抄送"


def test_red_header(order):
    document = rendered(order_context(order, red_header=True))
    lines = texts(document)
    assert lines[:3] == ["区委督查室", "督〔2026〕1号", "关于加快推进重大项目建设的督办单"]
    issuer = next(p for p in document.paragraphs if p.text == "区委督查室")
    assert issuer.style.name == "发文机关标志" and str(issuer.style.font.color.rgb) == "FF0000"


def test_no_copy_line_without_leaders(world, order):
    order.copy_to.clear()
    lines = texts(rendered(order_context(order)))
    assert not any(line.startswith("抄送") for line in lines)


def test_user_text_stays_text(world, order):
    title = "{{ 7*7 }}<w:t>&{% if 1 %}坏{% endif %}\x0b"
    item = world.make_item(title=title)
    order.items.add(item)
    order.subject = title
    order.save()

    document = rendered(order_context(order))

    expected = "{{ 7*7 }}<w:t>&{% if 1 %}坏{% endif %}"
    assert texts(document)[1] == expected
    assert [row[1] for row in table_rows(document)][-1] == expected
    assert "49" not in "".join(texts(document))


def test_an_office_template_replaces_ours(settings, tmp_path, order):
    assert template_path() == DEFAULT_TEMPLATE
    custom = docx.Document()
    custom.add_paragraph("本局专用：{{ number }} 致 {{ addressee }}")
    path = tmp_path / "order.docx"
    custom.save(path)
    settings.SUPERVISION_ORDER_TEMPLATE = path

    assert template_path() == path
    assert texts(rendered(order_context(order))) == ["本局专用：督〔2026〕1号 致 区发展和改革局"]
