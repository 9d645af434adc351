from django.db import migrations


def ship(apps, schema_editor):
    from kangfu.programme.standards import ensure_shipped

    ensure_shipped(
        apps.get_model("programme", "Standard"),
        apps.get_model("programme", "StandardVersion"),
        apps.get_model("programme", "StandardItem"),
    )


class Migration(migrations.Migration):
    dependencies = [("programme", "0004_standards_and_acceptance")]

    operations = [migrations.RunPython(ship, migrations.RunPython.noop)]
