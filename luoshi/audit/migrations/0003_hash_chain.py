import django.utils.timezone
from django.db import migrations, models


def chain_existing_rows(apps, schema_editor):
    """Seal the rows written before the chain existed, oldest first, and set the head after them."""
    from luoshi.audit import chain
    from luoshi.core.crypto import keyring

    AuditEvent = apps.get_model("audit", "AuditEvent")
    AuditChainHead = apps.get_model("audit", "AuditChainHead")
    head = AuditChainHead(pk=1)
    if AuditEvent.objects.exists():
        key_id = keyring().active_mac_key
        for sequence, event in enumerate(AuditEvent.objects.order_by("created_at", "id").iterator(), start=1):
            event.sequence, event.mac_key = sequence, key_id
            values = {name: getattr(event, name) for name in chain.CHAIN_FIELDS}
            values["before"], values["after"] = chain.json_value(event.before), chain.json_value(event.after)
            event.mac = chain.link_mac(values, head.mac)
            AuditEvent.objects.filter(pk=event.pk).update(sequence=sequence, mac_key=key_id, mac=event.mac)
            head.sequence, head.mac = sequence, event.mac
        head.mac_key, head.seal = chain.head_seal(head)
    head.save()


class Migration(migrations.Migration):

    dependencies = [
        ("audit", "0002_more_actions"),
    ]

    operations = [
        migrations.CreateModel(
            name="AuditChainHead",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("sequence", models.PositiveBigIntegerField(default=0)),
                ("mac", models.CharField(blank=True, max_length=64)),
                ("anchor_sequence", models.PositiveBigIntegerField(default=0)),
                ("anchor_mac", models.CharField(blank=True, max_length=64)),
                ("mac_key", models.CharField(blank=True, max_length=16)),
                ("seal", models.CharField(blank=True, max_length=64)),
            ],
            options={
                "verbose_name": "审计链头",
                "verbose_name_plural": "审计链头",
            },
        ),
        migrations.AddField(
            model_name="auditevent",
            name="mac",
            field=models.CharField(default="", max_length=64),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="auditevent",
            name="mac_key",
            field=models.CharField(default="", max_length=16),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="auditevent",
            name="sequence",
            field=models.PositiveBigIntegerField(null=True, verbose_name="序号"),
        ),
        migrations.AlterField(
            model_name="auditevent",
            name="action",
            field=models.CharField(
                choices=[
                    ("create", "新增"),
                    ("update", "修改"),
                    ("delete", "删除"),
                    ("login", "登录"),
                    ("login_failed", "登录失败"),
                    ("logout", "退出"),
                    ("download", "下载"),
                    ("export", "导出"),
                    ("permission", "权限变更"),
                    ("personal_data", "查看个人信息"),
                    ("session", "会话管理"),
                    ("view", "查阅审计日志"),
                    ("archive", "归档审计日志"),
                    ("verify", "校验审计日志"),
                ],
                max_length=20,
                verbose_name="操作",
            ),
        ),
        migrations.AlterField(
            model_name="auditevent",
            name="created_at",
            field=models.DateTimeField(
                db_index=True, default=django.utils.timezone.now, editable=False, verbose_name="时间"
            ),
        ),
        migrations.RunPython(chain_existing_rows, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="auditevent",
            name="sequence",
            field=models.PositiveBigIntegerField(unique=True, verbose_name="序号"),
        ),
    ]
