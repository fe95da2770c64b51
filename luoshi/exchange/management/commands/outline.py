"""``luoshi outline FILE``: the item tree Luoshi proposes for a work plan, speech or notice."""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from luoshi.exchange.documents import DocumentError, document_text
from luoshi.exchange.outline import Outline, OutlineError, OutlineNode, outline
from luoshi.ledgers.models import ReportCycle


def tree_lines(result: Outline) -> list[str]:
    """The outline as an indented tree for people to read."""
    lines = [_("%(title)s（%(year)s年）") % {"title": result.title or _("（无标题）"), "year": result.year}]

    def walk(nodes: list[OutlineNode], depth: int) -> None:
        for node in nodes:
            indent = "  " * depth
            # A table's 序号 is a bare number: keep it apart from the title.
            separator = " " if node.marker.isdigit() else ""
            lines.append(f"{indent}{node.marker}{separator}{node.title}")
            if node.description:
                lines.append(
                    f"{indent}    " + _("说明：%(text)s") % {"text": node.description.replace("\n", " ")}
                )
            if details := _details(node):
                lines.append(f"{indent}    {details}")
            lines.extend(f"{indent}    ！{error}" for error in node.errors)
            walk(node.children, depth + 1)

    walk(result.children, 1)
    return lines


def _details(node: OutlineNode) -> str:
    parts = []
    if node.lead_leader:
        parts.append(_("牵头领导：%(name)s") % {"name": node.lead_leader})
    if node.lead_org:
        parts.append(_("牵头单位：%(name)s") % {"name": node.lead_org})
    if node.co_orgs:
        parts.append(_("配合单位：%(names)s") % {"names": "、".join(node.co_orgs)})
    if node.deadline:
        parts.append(_("完成时限：%(date)s") % {"date": node.deadline.isoformat()})
    elif node.standing:
        parts.append(_("完成时限：长期"))
    if node.cycle:
        parts.append(_("调度频次：%(cycle)s") % {"cycle": ReportCycle(node.cycle).label})
    return "；".join(parts)


class Command(BaseCommand):
    help = "Propose an item tree from a .docx or .txt document (--json for the machine-readable form)."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--json", action="store_true", help="print the tree as JSON")
        parser.add_argument("--year", type=int, help="the year for dates written without one")

    def handle(self, *args, file: Path, json: bool, year: int | None, **options):
        try:
            with file.open("rb") as upload:
                paragraphs = document_text(upload, name=file.name)
            result = outline(paragraphs, year=year)
        except OSError as error:
            raise CommandError(
                _("无法打开文件「%(file)s」：%(reason)s") % {"file": file, "reason": error.strerror}
            ) from error
        except (DocumentError, OutlineError) as error:
            raise CommandError(error.message) from error
        if json:
            self.stdout.write(_dumps(result.as_dict()))
        else:
            self.stdout.write("\n".join(tree_lines(result)))


def _dumps(data: dict) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2)
