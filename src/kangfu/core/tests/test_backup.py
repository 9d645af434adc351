"""Backup and restore (core.backup): the restore drill, run on whichever database the suite runs on.

A small demo city (its accounts, 300 people, a year of 两项补贴 with scanned documents, a comparison
run) is backed up and restored into a second database of the same kind (another SQLite file, or a
freshly created PostgreSQL database); every table's row count and a digest of its contents must
match, and so must every uploaded file. Corrupt or newer archives and occupied targets are refused
with nothing restored, and no byte of any key reaches an archive.

Transactional tests: the backup reads the database through its own connection (pg_dump, SQLite's
backup API), so the city must be committed.
"""

from __future__ import annotations

import base64
import hashlib
import tarfile
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from kangfu.core import backup
from kangfu.core.tests.demo_world import load_demo
from kangfu.matching import demo as matching_demo
from kangfu.people.tests.factories import PersonFactory
from kangfu.subsidies import demo as subsidies_demo

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def media(settings, tmp_path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEDIA_ROOT.mkdir()
    return settings.MEDIA_ROOT


@pytest.fixture
def city(monkeypatch, media):
    """The demo's accounts and 300 people, a year of 两项补贴 and one comparison run: three seconds."""
    load_demo(monkeypatch, subsidies_demo, matching_demo, people=300)
    assert any(p.is_file() for p in media.rglob("*")), "the demo's scanned documents"


@pytest.fixture
def elsewhere(tmp_path):
    """A second, empty database of the same kind: another SQLite file, or a new PostgreSQL database."""
    settings_dict = dict(connection.settings_dict)
    if connection.vendor == "sqlite":
        target = backup.connection_for({**settings_dict, "NAME": str(tmp_path / "restored.sqlite3")})
        yield target
        target.close()
        return
    name = f"{settings_dict['NAME']}_restore"
    quoted = connection.ops.quote_name(name)
    with connection.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)")  # left by a killed run
        cursor.execute(f"CREATE DATABASE {quoted}")
    target = backup.connection_for({**settings_dict, "NAME": name})
    try:
        yield target
    finally:
        target.close()
        with connection.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)")


def _files(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in root.rglob("*")
        if p.is_file()
    }


def _flip_byte(archive: Path, member: str) -> None:
    with tarfile.open(archive) as tar:
        info = tar.getmember(member)
        offset = info.offset_data + info.size // 2
    with archive.open("r+b") as f:
        f.seek(offset)
        byte = f.read(1)
        f.seek(offset)
        f.write(bytes([byte[0] ^ 0x01]))


def _database_member() -> str:
    return backup.SQLITE_MEMBER if connection.vendor == "sqlite" else backup.POSTGRES_MEMBER


def test_a_city_restored_elsewhere_has_every_table_and_file_as_it_was(city, media, elsewhere, tmp_path):
    archive = backup.backup_create(output_dir=tmp_path / "backups")
    restored_media = tmp_path / "restored-media"

    result = backup.restore(archive=archive.path, connection=elsewhere, media_root=restored_media)

    before, after = backup.table_digests(), backup.table_digests(elsewhere)
    assert before["people_person"][0] == 300
    assert before["subsidies_payrollline"][0] > 0
    assert after == before
    assert _files(restored_media) == _files(media)
    assert result.rows == sum(count for count, _ in before.values())
    assert archive.manifest["tables"] == {table: count for table, (count, _) in before.items()}


def test_the_manifest_names_the_version_the_migrations_and_every_members_checksum(city, tmp_path):
    archive = backup.backup_create(output_dir=tmp_path)

    manifest = archive.manifest
    assert manifest["app_version"]
    assert manifest["migrations"]["core"] == manifest["applied_migrations"]["core"][-1]
    assert manifest["tables"]["people_person"] == 300
    with tarfile.open(archive.path) as tar:
        names = set(tar.getnames())
    assert names == {*manifest["members"], backup.MANIFEST, backup.MANIFEST_SUM}
    assert archive.size == archive.path.stat().st_size


def test_no_byte_of_any_key_or_the_settings_file_reaches_the_archive(media, tmp_path, monkeypatch):
    PersonFactory.create_batch(5)  # encrypted ID numbers and phones under the data keys
    env_file = media / "kangfu.env"  # someone put the settings file under MEDIA_ROOT
    env_file.write_text(f"SECRET_KEY={settings.SECRET_KEY}\n")
    monkeypatch.setenv("KANGFU_ENV_FILE", str(env_file))
    (media / "scan.png").write_bytes(b"\x89PNG\r\n\x1a\nnot a secret")

    archive = backup.backup_create(output_dir=tmp_path / "backups").path

    data = archive.read_bytes()
    secrets = [settings.SECRET_KEY, settings.KANGFU_INDEX_KEY]
    secrets += [key.split(":", 1)[1] for key in settings.KANGFU_DATA_KEYS.split(",")]
    for secret in secrets:
        assert secret.encode() not in data
        assert base64.b64decode(secret) not in data if _is_base64(secret) else True
    with tarfile.open(archive) as tar:
        assert set(tar.getnames()) >= {"media/scan.png"}
        assert "media/kangfu.env" not in tar.getnames()


def _is_base64(text: str) -> bool:
    try:
        base64.b64decode(text, validate=True)
    except ValueError:
        return False
    return True


@pytest.mark.parametrize("member", ["database", backup.MANIFEST, "media"])
def test_a_corrupted_archive_is_refused_and_nothing_is_restored(city, elsewhere, tmp_path, member):
    archive = backup.backup_create(output_dir=tmp_path / "backups").path
    if member == "database":
        member = _database_member()
    elif member == "media":
        with tarfile.open(archive) as tar:
            member = next(n for n in tar.getnames() if n.startswith(backup.MEDIA_PREFIX))
    _flip_byte(archive, member)
    restored_media = tmp_path / "restored-media"

    with pytest.raises(backup.BackupError) as refused:
        backup.restore(archive=archive, connection=elsewhere, media_root=restored_media)

    assert str(refused.value) == backup.CHECKSUM_FAILED.format(member=member)
    with pytest.raises(backup.BackupError):
        backup.backup_verify(archive=archive)
    assert backup.table_counts(elsewhere) == {}
    assert not restored_media.exists()


def test_a_truncated_archive_is_refused(city, tmp_path):
    archive = backup.backup_create(output_dir=tmp_path / "backups").path
    with archive.open("r+b") as f:
        f.truncate(archive.stat().st_size // 2)

    with pytest.raises(backup.BackupError):
        backup.backup_verify(archive=archive)


def test_a_database_with_data_is_not_overwritten(city, tmp_path):
    archive = backup.backup_create(output_dir=tmp_path / "backups").path
    PersonFactory(name="恢复之后才登记")
    before = backup.table_digests()

    with pytest.raises(backup.BackupError) as refused:
        backup.restore(archive=archive)

    assert str(refused.value).startswith("目标数据库不是空的：")
    assert "core_user（16 行）" in str(refused.value)
    assert backup.table_digests() == before


def test_an_archive_from_newer_code_is_refused(media, elsewhere, tmp_path, monkeypatch):
    PersonFactory()
    real = backup._migrations

    def with_a_future_migration(cursor, tables):
        applied = real(cursor, tables)
        applied["core"].append("9999_from_a_later_version")
        return applied

    monkeypatch.setattr(backup, "_migrations", with_a_future_migration)
    archive = backup.backup_create(output_dir=tmp_path / "backups").path

    with pytest.raises(backup.BackupError) as refused:
        backup.restore(archive=archive, connection=elsewhere, media_root=tmp_path / "restored-media")

    assert "core.9999_from_a_later_version" in str(refused.value)
    assert backup.table_counts(elsewhere) == {}


@pytest.mark.django_db  # not transactional: pytest-django runs it first, on the migrated database
def test_a_freshly_migrated_database_counts_as_empty():
    # Only what `migrate` itself loads (regions, calendar, months, payment formats, scales …) is there;
    # a data migration that fills another table must name it in backup.MIGRATION_FILLED.
    assert backup.target_rows() == {}, "add these tables' model labels to backup.MIGRATION_FILLED"


def test_the_backup_command_prints_the_archive_and_its_size_and_verifies_it(media, tmp_path, capsys):
    PersonFactory()
    call_command("backup", output=tmp_path / "backups")
    archive = next((tmp_path / "backups").glob("kangfu-backup-*.tar"))
    assert f"已备份并复核：{archive}（" in capsys.readouterr().out

    call_command("backup", verify=archive)
    assert capsys.readouterr().out.startswith(f"归档完好：{archive}")


def test_the_restore_command_refuses_with_a_chinese_message(media, tmp_path):
    PersonFactory()
    archive = backup.backup_create(output_dir=tmp_path / "backups").path

    with pytest.raises(CommandError, match=r"^目标数据库不是空的"):
        call_command("restore", str(archive))


def test_upgrade_backs_up_then_migrates(media, tmp_path, capsys):
    PersonFactory()
    call_command("upgrade", output=tmp_path / "backups")

    out = capsys.readouterr().out
    assert out.index("第 1 步：备份") < out.index("已备份并复核") < out.index("第 2 步：迁移数据库")
    archive = next((tmp_path / "backups").glob("kangfu-backup-*.tar"))
    assert backup.backup_verify(archive=archive)["tables"]["people_person"] == 1


def test_upgrade_does_not_migrate_when_the_backup_fails(media, tmp_path, monkeypatch, capsys):
    def fail(**kwargs):
        raise backup.BackupError(backup.TOOL_MISSING.format(tool="pg_dump"))

    monkeypatch.setattr(backup, "backup_create", fail)

    with pytest.raises(CommandError, match=r"^备份失败，未执行迁移：找不到 pg_dump"):
        call_command("upgrade", output=tmp_path / "backups")
    assert "第 2 步" not in capsys.readouterr().out
