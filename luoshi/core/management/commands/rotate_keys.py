"""``luoshi rotate_keys``: a new SM4 data key (and optionally a new blind-index key), every encrypted
column re-encrypted under it, and finally the old keys retired. Procedure: docs/operations.md, 密钥轮换."""

from django.core.management.base import BaseCommand, CommandError

from luoshi.core import rotation


class Command(BaseCommand):
    help = "Rotate the keys of the encrypted columns (see docs/operations.md, 密钥轮换)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--index-key", action="store_true", help="also replace the blind-index key and re-index every row"
        )
        parser.add_argument(
            "--resume",
            action="store_true",
            help="add no key: finish a run that stopped (re-encrypt what is still under an old key)",
        )
        parser.add_argument(
            "--reindex", action="store_true", help="recompute every blind index (finish an --index-key run)"
        )
        parser.add_argument(
            "--retire", action="store_true", help="afterwards, remove the data keys no row uses any more"
        )
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args, **options):
        out = self.stdout.write
        if not options["resume"]:
            key_id = rotation.add_data_key()
            out(f"新数据密钥 {key_id} 已启用 / data key {key_id} is now active")
            if options["index_key"]:
                rotation.replace_index_key()
                out("已更换检索索引密钥 / the blind-index key was replaced")
        written = rotation.reencrypt(
            batch_size=options["batch_size"], reindex=options["index_key"] or options["reindex"], log=out
        )
        out(f"已重新加密 {written} 行 / {written} rows re-encrypted")
        if options["retire"]:
            try:
                retired = rotation.retire_old_data_keys()
            except rotation.RotationError as error:
                raise CommandError(str(error)) from error
            out(f"已停用旧密钥 / retired: {', '.join(retired) or '-'}")
        self.stdout.write(self.style.SUCCESS("完成 / done"))
