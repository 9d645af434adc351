"""Regions of all of China: a successor for abolished regions, and the shipped tables loaded.

After this migration every province, prefecture and county of China exists (people registered
anywhere can be given their 户籍地), Tianjin has all five levels, and abolished regions such as
120107 塘沽区 point at the region that took them over.
"""

import django.db.models.deletion
from django.db import migrations, models


def _check_now(schema_editor) -> None:
    # Run the deferred foreign-key checks of the rows just written now: PostgreSQL refuses to
    # alter the table (the successor index, made at the end of the migration, or the constraint
    # dropped on the way back) while they are pending.
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def load_regions(apps, schema_editor):
    from kangfu.core.services import shipped_regions_load

    shipped_regions_load(apps.get_model("core", "Region"))
    _check_now(schema_editor)


def unload_abolished(apps, schema_editor):
    # Only the abolished rows go: without the successor column they would pass for current
    # districts. The current regions stay, as people may be registered in them by now.
    Region = apps.get_model("core", "Region")
    # Deepest first: an abolished county's parent may itself be abolished (120200 县).
    for level in (5, 4, 3, 2, 1):
        Region.objects.filter(successor__isnull=False, level=level).delete()
    _check_now(schema_editor)


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0003_calendarday"),
    ]

    operations = [
        migrations.AddField(
            model_name="region",
            name="successor",
            field=models.ForeignKey(
                blank=True,
                help_text="已撤销的区划填写承继它的现行区划；现行区划留空。",
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="predecessors",
                to="core.region",
                verbose_name="现属区划",
            ),
        ),
        migrations.AddConstraint(
            model_name="region",
            constraint=models.CheckConstraint(
                condition=models.Q(("successor", models.F("code")), _negated=True),
                name="region_not_its_own_successor",
            ),
        ),
        migrations.RunPython(load_regions, unload_abolished),
    ]
