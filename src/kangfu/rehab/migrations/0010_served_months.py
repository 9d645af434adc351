import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0011_outbox_event"),
        ("people", "0001_initial"),
        ("rehab", "0009_groups_peers_and_survey_links"),
    ]

    operations = [
        migrations.CreateModel(
            name="ServedMonth",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("month", models.DateField()),
                (
                    "district",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="core.region",
                    ),
                ),
                (
                    "institution",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="core.organisation",
                    ),
                ),
                (
                    "person",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="people.person",
                    ),
                ),
            ],
            options={
                "indexes": [
                    models.Index(fields=["district", "month", "person"], name="rehab_served_district"),
                    models.Index(fields=["institution", "month", "person"], name="rehab_served_institution"),
                ],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("person", "month", "institution", "district"), name="rehab_served_once"
                    )
                ],
            },
        ),
    ]
