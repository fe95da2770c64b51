"""What the ``demo`` and ``generate`` commands share: the empty-database check and the printed summary."""

from django.core.management import CommandError, call_command

from luoshi.demo.generator import has_business_data
from luoshi.demo.plan import DEMO_PASSWORD, LOGINS
from luoshi.orgs.models import Role

ADDRESS = "http://127.0.0.1:8000"


def prepare_database(command, *, reset: bool, migrate: bool = True) -> None:
    if migrate:
        call_command("migrate", interactive=False, verbosity=0)
    if has_business_data():
        if not reset:
            raise CommandError(
                "数据库中已有业务数据，未生成演示数据。如需清空后重新生成，请加 --reset（会删除全部数据）。\n"
                "The database already holds data; add --reset to flush it and generate again."
            )
        command.stdout.write("清空数据库（--reset）… / flushing the database")
        call_command("flush", interactive=False, verbosity=0)


def print_summary(command, result) -> None:
    out, style = command.stdout, command.style
    counts = result.counts
    out.write(
        style.SUCCESS(
            f"完成 / done in {result.seconds:.1f}s: 单位 {counts['orgs']}，人员 {counts['users']}，"
            f"台账 {counts['ledgers']}，事项 {counts['items']}，进展报送 {counts['reports']}"
        )
    )
    for label, key in [
        ("事项状态 item status", "item_status"),
        ("预警 warnings", "warning"),
        ("报送状态 report status", "report_status"),
        ("延期 extensions", "extensions"),
    ]:
        values = "  ".join(f"{name}={count}" for name, count in sorted(counts[key].items()))
        out.write(f"  {label}: {values}")
    plan = result.plan
    rows = [("角色 / role", "用户名 / username", "密码 / password", "姓名 / name")]
    for username, role in LOGINS:
        person = plan.people[plan.logins[username]]
        rows.append((f"{Role(role).label} / {role}", username, DEMO_PASSWORD, person.full_name))
    widths = [max(_width(row[i]) for row in rows) for i in range(4)]
    out.write("")
    out.write("演示账号 / demo logins（其他人员同一密码 / every other person has the same password）:")
    for number, row in enumerate(rows):
        out.write("  " + "  ".join(_pad(cell, widths[i]) for i, cell in enumerate(row)))
        if number == 0:
            out.write("  " + "  ".join("-" * w for w in widths))
    out.write("")
    out.write(f"启动 / start: luoshi serve   →   {ADDRESS}")


def _width(text: str) -> int:
    """Display width: CJK characters take two columns."""
    return sum(2 if ord(char) > 0x2E80 else 1 for char in str(text))


def _pad(text: str, width: int) -> str:
    return str(text) + " " * (width - _width(text))
