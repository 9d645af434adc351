from django.db import migrations
from django.db.models import OuterRef, Subquery


def kind_from_source(apps, schema_editor):
    """Rows imported before a row had a kind of its own are of their source's kind (one UPDATE)."""
    FeedImport = apps.get_model("matching", "FeedImport")
    FeedRow = apps.get_model("matching", "FeedRow")
    source_kind = FeedImport.objects.filter(pk=OuterRef("feed_id")).values("source__kind")[:1]
    FeedRow.objects.filter(kind="").update(kind=Subquery(source_kind))


def blank_kind(apps, schema_editor):
    apps.get_model("matching", "FeedRow").objects.update(kind="")


class Migration(migrations.Migration):
    dependencies = [
        ("matching", "0005_feed_row_kind"),
    ]

    operations = [migrations.RunPython(kind_from_source, blank_kind)]
