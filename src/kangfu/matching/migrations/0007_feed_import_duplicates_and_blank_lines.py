from django.db import migrations, models


class Migration(migrations.Migration):
    """An import's report counts the lines naming a person already named (kept as evidence) and the
    blank lines between its data lines."""

    dependencies = [
        ("matching", "0006_feed_row_kind_from_source"),
    ]

    operations = [
        migrations.AddField(
            model_name="feedimport",
            name="blank_lines",
            field=models.PositiveIntegerField(default=0, verbose_name="空行"),
        ),
        migrations.AddField(
            model_name="feedimport",
            name="duplicates",
            field=models.JSONField(
                default=list, help_text="[{line, same_as}]：与前面某行是同一人。", verbose_name="重复行"
            ),
        ),
    ]
