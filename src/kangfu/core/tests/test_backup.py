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
import shutil
import stat
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
def small(media):
    """Three people (their ID numbers encrypted) and one uploaded file: enough where the city is not needed."""
    PersonFactory.create_batch(3)
    (media / "scan.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)


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


def test_the_manifest_names_the_version_the_migrations_and_every_members_checksum(small, tmp_path):
    archive = backup.backup_create(output_dir=tmp_path)

    manifest = archive.manifest
    assert manifest["app_version"]
    assert manifest["migrations"]["core"] == manifest["applied_migrations"]["core"][-1]
    assert manifest["tables"]["people_person"] == 3
    assert manifest["media_files"] == 1
    with tarfile.open(archive.path) as tar:
        names = set(tar.getnames())
    assert names == {*manifest["members"], backup.MANIFEST, backup.MANIFEST_SUM}
    assert archive.size == archive.path.stat().st_size
    assert stat.S_IMODE(archive.path.stat().st_mode) == 0o600  # people's data: the owner's eyes only


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


def test_a_corrupted_or_truncated_archive_is_refused_and_nothing_is_restored(small, elsewhere, tmp_path):
    good = backup.backup_create(output_dir=tmp_path / "backups").path
    restored_media = tmp_path / "restored-media"
    damaged = {}
    for member in (_database_member(), backup.MANIFEST, "media/scan.png"):
        damaged[member] = tmp_path / f"flipped-{member.replace('/', '-')}.tar"
        shutil.copyfile(good, damaged[member])
        _flip_byte(damaged[member], member)
    truncated = tmp_path / "truncated.tar"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])

    for member, archive in damaged.items():
        with pytest.raises(backup.BackupError) as refused:
            backup.restore(archive=archive, connection=elsewhere, media_root=restored_media)
        assert str(refused.value) == backup.CHECKSUM_FAILED.format(member=member)
        with pytest.raises(backup.BackupError):
            backup.backup_verify(archive=archive)
    with pytest.raises(backup.BackupError):
        backup.restore(archive=truncated, connection=elsewhere, media_root=restored_media)

    assert backup.table_counts(elsewhere) == {}
    assert not restored_media.exists()


def test_a_database_with_data_is_not_overwritten(small, tmp_path):
    archive = backup.backup_create(output_dir=tmp_path / "backups").path
    PersonFactory(name="恢复之后才登记")
    before = backup.table_digests()

    with pytest.raises(backup.BackupError) as refused:
        backup.restore(archive=archive)

    assert str(refused.value).startswith("目标数据库不是空的：")
    assert "people_person（4 行）" in str(refused.value)
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


@pytest.mark.django_db  # the backup never runs: nothing needs committing
def test_upgrade_does_not_migrate_when_the_backup_fails(media, tmp_path, monkeypatch, capsys):
    def fail(**kwargs):
        raise backup.BackupError(backup.TOOL_MISSING.format(tool="pg_dump"))

    monkeypatch.setattr(backup, "backup_create", fail)

    with pytest.raises(CommandError, match=r"^备份失败，未执行迁移：找不到 pg_dump"):
        call_command("upgrade", output=tmp_path / "backups")
    assert "第 2 步" not in capsys.readouterr().out


@pytest.fixture
def app_role():
    """A role like kangfu_app (owns nothing); dropped after the restored database it was granted on."""
    name = "kangfu_app_restore_test"
    with connection.cursor() as cursor:
        cursor.execute(f"DROP ROLE IF EXISTS {name}")  # left by an earlier killed run: same cluster
        cursor.execute(f"CREATE ROLE {name} NOLOGIN")
    yield name
    with connection.cursor() as cursor:
        cursor.execute(f"DROP ROLE IF EXISTS {name}")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="database roles are PostgreSQL's")
def test_a_postgresql_restore_grants_the_application_role_when_asked(app_role, small, elsewhere, tmp_path):
    archive = backup.backup_create(output_dir=tmp_path / "backups").path

    result = backup.restore(
        archive=archive, connection=elsewhere, media_root=tmp_path / "restored-media", grant_role=app_role
    )

    assert result.notes[-1].startswith(f"已授予 {app_role}")
    with elsewhere.cursor() as cursor:
        cursor.execute(
            "SELECT has_table_privilege(%s, 'people_person', 'INSERT'),"
            " has_table_privilege(%s, 'core_auditentry', 'UPDATE')",
            [app_role, app_role],
        )
        assert cursor.fetchone() == (True, False)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="database roles are PostgreSQL's")
def test_a_postgresql_restore_says_the_grants_must_be_run_again(small, elsewhere, tmp_path):
    archive = backup.backup_create(output_dir=tmp_path / "backups").path

    result = backup.restore(archive=archive, connection=elsewhere, media_root=tmp_path / "restored-media")

    assert "kangfu dbroles grant ROLE" in result.notes[-1]


def test_a_migrated_but_empty_database_takes_the_restore(small, media, tmp_path):
    archive = backup.backup_create(output_dir=tmp_path / "backups").path
    before = backup.table_digests()
    call_command("flush", interactive=False, verbosity=0)  # the tables stay, their rows go
    shutil.rmtree(media)

    backup.restore(archive=archive)

    assert backup.table_digests() == before
    assert (media / "scan.png").is_file()
