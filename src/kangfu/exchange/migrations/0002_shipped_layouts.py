"""The four layouts shipped with the package (`exchange/layouts/*.toml`), as their first versions.
The real national layouts are not public: these follow DOMAIN.md's verified codes, and a province
publishes its own edit of a file with `kangfu exchange define FILE`."""

from django.db import migrations


def load(apps, schema_editor):
    from kangfu.exchange.services import install_shipped

    install_shipped(apps.get_model("exchange", "Layout"))


class Migration(migrations.Migration):
    dependencies = [("exchange", "0001_layouts_and_batches")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
