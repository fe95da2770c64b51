"""``luoshi outline FILE``: the proposed tree as JSON or as an indented tree, errors on stderr."""

import json
import shutil
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from luoshi.exchange.management.commands.outline import tree_lines
from luoshi.exchange.outline import outline

SAMPLES = Path(__file__).resolve().parent / "samples"  # copies of ../shared/samples

PLAN = """关于印发《2026年防汛工作方案》的通知
各镇（街道）：现将方案印发给你们，请认真贯彻落实。
2026年防汛工作方案
一、排查隐患
（一）排查河道堤防。全面排查险工险段。（牵头单位：区水利局；责任单位：各镇（街道）；完成时限：5月底前）
（二）整治地质灾害点
牵头领导：王建国（副区长）
完成时限：每月
二、备足物资
"""


def run(*args) -> str:
    out = StringIO()
    call_command("outline", *map(str, args), stdout=out)
    return out.getvalue()


def test_json_output(tmp_path):
    path = tmp_path / "方案.txt"
    path.write_text(PLAN, encoding="gb18030")
    data = json.loads(run(path, "--json"))
    assert data["title"] == "2026年防汛工作方案"
    first, second = data["children"]
    assert (first["title"], second["title"]) == ("排查隐患", "备足物资")
    levee, hazard = first["children"]
    assert levee == {
        "title": "排查河道堤防",
        "description": "全面排查险工险段。",
        "lead_org": "区水利局",
        "co_orgs": ["各镇（街道）"],
        "lead_leader": "",
        "deadline": "2026-05-31",
        "standing": False,
        "cycle": None,
        "marker": "（一）",
        "errors": [],
        "children": [],
    }
    assert (hazard["lead_leader"], hazard["standing"], hazard["cycle"]) == ("王建国", True, "monthly")


def test_year_option(tmp_path):
    path = tmp_path / "方案.txt"
    path.write_text("防汛方案\n一、排查隐患（完成时限：5月底前）\n", encoding="utf-8")
    assert json.loads(run(path, "--json", "--year", "2027"))["children"][0]["deadline"] == "2027-05-31"


def test_tree_for_people(tmp_path):
    path = tmp_path / "方案.txt"
    path.write_text(PLAN, encoding="utf-8")
    assert run(path).splitlines() == [
        "2026年防汛工作方案（2026年）",
        "  一、排查隐患",
        "    （一）排查河道堤防",
        "        说明：全面排查险工险段。",
        "        牵头单位：区水利局；配合单位：各镇（街道）；完成时限：2026-05-31",
        "    （二）整治地质灾害点",
        "        牵头领导：王建国；完成时限：长期；调度频次：每月",
        "  二、备足物资",
    ]


def test_docx_sample(tmp_path):
    path = tmp_path / "plan.docx"
    shutil.copy(SAMPLES / "plan_c.docx", path)
    data = json.loads(run(path, "--json"))
    assert [child["title"] for child in data["children"]] == ["重点任务", "保障措施", "重点任务分工表"]


def test_tree_lines_show_errors_and_table_keys():
    result = outline(["方案", "序号\t具体措施\t完成时限", "1\t完成改厕\t尽快"], year=2026)
    lines = tree_lines(result)
    assert lines[1] == "  1 完成改厕"
    assert "尽快" in lines[2] and lines[2].startswith("      ！")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "是空的"),
        (b"%PDF-1.4", "不是可以识别的文档"),
        ("会议纪要\n会议研究了有关事项。".encode(), "没有找到编号的事项"),
    ],
)
def test_errors_are_chinese_and_fail(tmp_path, content, message):
    path = tmp_path / "x.txt"
    path.write_bytes(content)
    with pytest.raises(CommandError, match=message):
        run(path, "--json")


def test_missing_file(tmp_path):
    with pytest.raises(CommandError, match="无法打开文件"):
        run(tmp_path / "missing.docx")
