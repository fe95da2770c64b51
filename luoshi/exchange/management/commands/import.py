"""``luoshi import FILE``: a ledger workbook read, checked and (without ``--dry-run``) written.

``--json`` prints every row as read (``ImportRow.as_dict``); the exit status is 1 when any row has
an error, so scripts can check a workbook before an office uploads it.
"""

import json
import sys

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from luoshi.audit.context import current
from luoshi.audit.services import command_context
from luoshi.exchange.importing import plan_import
from luoshi.exchange.services import import_plan
from luoshi.exchange.workbook import WorkbookError, read_table
from luoshi.ledgers.models import Ledger
from luoshi.orgs.models import User


class Command(BaseCommand):
    help = "导入台账 Excel/CSV 文件；--dry-run 只检查不写入。"

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--ledger", help="台账编号或名称（写入时必填）")
        parser.add_argument("--user", help="以哪个督办员的名义写入（写入时必填）")
        parser.add_argument("--dry-run", action="store_true", help="只检查，不写入")
        parser.add_argument("--json", action="store_true", help="以 JSON 输出每一行")

    def handle(self, *args, **options):
        file, user, dry_run = options["file"], options["user"], options["dry_run"]
        ledger = self._ledger(options["ledger"]) if options["ledger"] else None
        if not dry_run and (ledger is None or not user):
            raise CommandError(_("写入时须指定 --ledger 和 --user；只检查请加 --dry-run。"))
        custom = {field.label: field.key for field in ledger.fields.all()} if ledger else {}
        try:
            with open(file, "rb") as upload:
                table = read_table(upload, name=file, custom_labels=custom)
        except OSError as error:
            raise CommandError(_("无法读取文件：%(error)s") % {"error": error}) from error
        except WorkbookError as error:
            raise CommandError(str(error)) from error
        plan = plan_import(table, ledger=ledger)
        self._print(plan, as_json=options["json"])
        if not dry_run and plan.ok:
            token = current.set(command_context())
            try:
                result = import_plan(plan=plan, ledger=ledger, user=self._user(user), source=file)
            except ValidationError as error:
                raise CommandError("\n".join(error.messages)) from error
            finally:
                current.reset(token)
            self.stderr.write(
                _("已写入：新增 %(created)s 项，更新 %(updated)s 项，未变 %(unchanged)s 项。") % vars(result)
            )
        if not plan.ok:
            sys.exit(1)

    def _print(self, plan, *, as_json: bool) -> None:
        if as_json:
            self.stdout.write(json.dumps(plan.as_dict(), ensure_ascii=False, indent=1))
            return
        for row in plan.rows:
            deadline = _("长期坚持") if row.standing else (row.deadline or "—")
            self.stdout.write(f"{row.number:>5}  {row.title}  {row.lead_org}  {deadline}")
            for error in row.errors:
                self.stdout.write(f"       ✗ {error}")
        self.stdout.write(
            _("共 %(rows)s 行，%(errors)s 行有错误。") % {"rows": len(plan.rows), "errors": plan.error_count}
        )

    def _ledger(self, value: str) -> Ledger:
        found = Ledger.objects.filter(pk=int(value)) if value.isdigit() else Ledger.objects.filter(name=value)
        ledgers = list(found[:2])
        if len(ledgers) != 1:
            raise CommandError(
                _("找不到台账「%(ledger)s」。") % {"ledger": value}
                if not ledgers
                else _("有多个台账名为「%(ledger)s」，请用台账编号。") % {"ledger": value}
            )
        return ledgers[0]

    def _user(self, username: str) -> User:
        try:
            return User.objects.get(username=username, is_active=True)
        except User.DoesNotExist as error:
            raise CommandError(_("找不到用户「%(user)s」。") % {"user": username}) from error
