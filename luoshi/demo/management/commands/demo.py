"""``luoshi demo``: migrate, then fill an empty database with the 青川区 demo and print the logins."""

from django.conf import settings
from django.core.management.base import BaseCommand

from luoshi.demo.generator import generate_demo
from luoshi.demo.management.commands._common import prepare_database, print_summary


class Command(BaseCommand):
    help = "Create the demo district (青川区): units, people, 7 ledgers, ~480 items, nine months of reports."

    def add_arguments(self, parser):
        parser.add_argument(
            "--reset", action="store_true", help="flush the database first (deletes everything)"
        )
        parser.add_argument("--seed", type=int, default=2026, help="random seed (default 2026)")
        parser.add_argument("--items", type=int, default=480, help="number of items (default 480)")

    def handle(self, *args, reset=False, seed=2026, items=480, verbosity=1, **options):
        prepare_database(self, reset=reset)
        self.stdout.write("生成演示数据 / generating the demo…")
        log = self.stdout.write if verbosity > 1 else None
        result = generate_demo(seed=seed, n_items=items, log=log)
        print_summary(self, result)
        if settings.TWO_FACTOR_ENFORCED:
            self.stdout.write(
                "双因素登录已开启 / two-factor sign-in is on: 管理员和督办员首次登录须绑定身份验证器 App"
                "（演示时可设 LUOSHI_TWO_FACTOR=off 关闭 / set LUOSHI_TWO_FACTOR=off to skip it in the demo）"
            )
        else:
            self.stdout.write(
                "双因素登录未强制 / two-factor sign-in not enforced (LUOSHI_TWO_FACTOR=off): 凭密码即可登录，"
                "可在「账号安全」中自愿绑定 / sign in with the password; enrol voluntarily under 账号安全"
            )
