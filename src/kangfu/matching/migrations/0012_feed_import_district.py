import django.db.models.deletion
from django.db import migrations, models


def uploader_district(apps, schema_editor):
    """Earlier uploads belong to the district of the account that uploaded them."""
    FeedImport = apps.get_model("matching", "FeedImport")
    for feed in FeedImport.objects.filter(imported_by__jurisdiction__isnull=False).select_related(
        "imported_by__jurisdiction"
    ):
        region = feed.imported_by.jurisdiction
        if region.level >= 3:
            feed.district_id = region.code[:6].ljust(12, "0")
            feed.save(update_fields=["district"])


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0007_public_attempts"),
        ("matching", "0011_item_direction_transfer"),
    ]

    operations = [
        migrations.AddField(
            model_name="feedimport",
            name="district",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="core.region",
                verbose_name="上传区",
            ),
        ),
        migrations.RunPython(uploader_district, migrations.RunPython.noop),
    ]
