"""SM3 digests of evidence and attachments, computed for the files already stored."""

from django.db import migrations, models

from luoshi.core import crypto


def fill_sm3(apps, schema_editor):
    for name in ("Evidence", "ItemAttachment"):
        model = apps.get_model("ledgers", name)
        for stored in model.objects.filter(sm3="").iterator():
            # A file missing on disk keeps an empty digest: ``luoshi verify_files`` lists it.
            if stored.file and stored.file.storage.exists(stored.file.name):
                with stored.file.open("rb") as handle:
                    model.objects.filter(pk=stored.pk).update(sm3=crypto.sm3_file(handle))


class Migration(migrations.Migration):
    dependencies = [
        ("ledgers", "0004_warning_reason_code"),
    ]

    operations = [
        migrations.AddField(
            model_name="evidence",
            name="sm3",
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.AddField(
            model_name="itemattachment",
            name="sm3",
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.RunPython(fill_sm3, migrations.RunPython.noop),
    ]
