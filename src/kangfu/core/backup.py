"""Backup and restore: `kangfu backup`, `kangfu restore` and the backup step of `kangfu upgrade`.

One uncompressed tar archive holds the database (SQLite through its online backup API; PostgreSQL
through `pg_dump --format=custom`, already compressed), the uploaded files under `media/`, and a
manifest: the application version, the applied migrations, every table's row count and the SHA-256
of every member. The manifest's own checksum is a member of its own, so that no byte of the archive
that matters goes unchecked. The archive never holds SECRET_KEY, the data keys or the settings file:
they stay in the secret store, so a stolen backup shows no ID number.

The functions take a Django connection (default: the `default` database) rather than reading the
global one, so that a restore drill can back up one database and restore into another.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path, PurePosixPath

from django.apps import apps
from django.conf import settings
from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.migrations.loader import MigrationLoader
from django.db.utils import ConnectionHandler

from kangfu.core import dbroles

ARCHIVE_KIND = "kangfu-backup"
ARCHIVE_FORMAT = 1
MANIFEST = "manifest.json"
MANIFEST_SUM = "manifest.sha256"
SQLITE_MEMBER = "database.sqlite3"
POSTGRES_MEMBER = "database.pgdump"
MEDIA_PREFIX = "media/"
_CHUNK = 1 << 20

# Kangfu tables that `migrate` fills by itself (regions, the calendar, the month table, the default
# payment formats, the assessment scales, the shipped report definitions, exchange layouts and
# programme standards): a freshly migrated database still counts as empty. core/tests/test_backup.py
# fails when a data migration fills another one.
MIGRATION_FILLED = frozenset(
    {
        "core.Region",
        "core.CalendarDay",
        "subsidies.Month",
        "subsidies.PaymentFormat",
        "rehab.Scale",
        "reports.ReportDefinition",
        "exchange.Layout",
        "programme.Standard",
        "programme.StandardVersion",
        "programme.StandardItem",
    }
)

# Messages (tests assert on them).
NOT_AN_ARCHIVE = "不是康复服务管理平台的备份文件：{reason}"
CHECKSUM_FAILED = "备份文件已损坏：{member} 的校验和不符，拒绝使用。"
MEMBER_MISSING = "备份文件不完整：缺少 {member}。"
MEMBER_UNEXPECTED = "备份文件中有清单未列出的内容：{member}。"
WRONG_VENDOR = "这是 {archive} 数据库的备份，目标数据库是 {target}，无法直接恢复。"
NEWER_MIGRATIONS = (
    "备份来自更新版本的程序（版本 {version}），本程序没有它已执行的迁移：{names}。"
    "请先把程序升级到该版本或更新的版本，再恢复。"
)
TARGET_NOT_EMPTY = "目标数据库不是空的：{tables} 等 {n} 张表已有数据。拒绝恢复，以免覆盖现有数据；请恢复到一个新建的空数据库。"
TARGET_HAS_OTHER_TABLES = "目标数据库中有备份里没有的表（{tables}）：请恢复到一个新建的空数据库。"
MEDIA_CONFLICT = "上传文件目录 {root} 中已有与备份不同的文件（{path}）：请先清空该目录或换一个目录。"
TOOL_MISSING = "找不到 {tool}：请安装与数据库服务器同一大版本的 PostgreSQL 客户端（postgresql-client）。"
TOOL_FAILED = "{tool} 失败（退出码 {code}）：{detail}"
COUNTS_DIFFER = "恢复后的行数与备份清单不符（{tables}）：恢复不完整，请勿使用该数据库。"
SQLITE_DAMAGED = "数据库副本未能完成或检查未通过（{detail}），备份中止。"
SQLITE_BUSY = "无法写入目标数据库（{detail}）：请先停止使用它的网站和后台任务，再恢复。"
UNSUPPORTED = "不支持的数据库类型 {vendor}：只支持 SQLite 和 PostgreSQL。"


class BackupError(Exception):
    """A backup, verification or restore that must not go on; the message is for the operator."""


@dataclass(frozen=True)
class BackupResult:
    path: Path
    size: int
    manifest: dict


@dataclass
class RestoreResult:
    manifest: dict
    tables: int
    rows: int
    media_files: int
    notes: list[str] = field(default_factory=list)


# --- connections and tables -------------------------------------------------------------------


def connection_for(settings_dict: dict, alias: str = "kangfu_backup") -> BaseDatabaseWrapper:
    """A Django connection to another database (a restore target, a drill's copy), built the way
    Django builds its own, so that the same introspection and quoting apply to both sides."""
    # The handler insists on a "default" entry; only the `alias` one is ever connected.
    return ConnectionHandler({"default": dict(settings_dict), alias: dict(settings_dict)})[alias]


def _default() -> BaseDatabaseWrapper:
    return connections["default"]


def _quote(name: str) -> str:
    # Both SQLite and PostgreSQL quote identifiers with double quotes.
    return '"' + name.replace('"', '""') + '"'


def _tables(cursor, vendor: str) -> list[str]:
    """Every table of the database (the current schema on PostgreSQL), from a raw cursor, so that it
    also works on a snapshot transaction or a file that Django has no connection to."""
    if vendor == "sqlite":
        cursor.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
        )
    elif vendor == "postgresql":
        cursor.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND NOT c.relispartition"
            " ORDER BY c.relname"
        )
    else:
        raise BackupError(UNSUPPORTED.format(vendor=vendor))
    return [row[0] for row in cursor.fetchall()]


def _counts(cursor, vendor: str) -> dict[str, int]:
    counts = {}
    for table in _tables(cursor, vendor):
        cursor.execute(f"SELECT count(*) FROM {_quote(table)}")  # noqa: S608  (a catalog name, quoted)
        counts[table] = cursor.fetchone()[0]
    return counts


def _migrations(cursor, tables: list[str] | dict) -> dict[str, list[str]]:
    if "django_migrations" not in tables:
        return {}
    cursor.execute("SELECT app, name FROM django_migrations ORDER BY app, id")
    applied: dict[str, list[str]] = {}
    for app, name in cursor.fetchall():
        applied.setdefault(app, []).append(name)
    return applied


def table_counts(connection: BaseDatabaseWrapper | None = None) -> dict[str, int]:
    """Rows per table of a database."""
    connection = connection or _default()
    with connection.cursor() as cursor:
        return _counts(cursor, connection.vendor)


def table_digests(connection: BaseDatabaseWrapper | None = None) -> dict[str, tuple[int, str]]:
    """Rows and an MD5 of the contents of every table, rows in primary-key order: computed the same way
    on two databases of one vendor, equal digests mean equal contents (the restore drill)."""
    connection = connection or _default()
    digests = {}
    with connection.cursor() as cursor:
        for table in _tables(cursor, connection.vendor):
            keys = connection.introspection.get_primary_key_columns(cursor, table) or []
            order = ", ".join(_quote(k) for k in keys) if keys else "1"
            cursor.execute(f"SELECT * FROM {_quote(table)} ORDER BY {order}")  # noqa: S608
            md5, rows = hashlib.md5(usedforsecurity=False), 0
            while batch := cursor.fetchmany(2000):
                for row in batch:
                    md5.update(repr(tuple(row)).encode())
                rows += len(batch)
            digests[table] = (rows, md5.hexdigest())
    return digests


def kangfu_tables() -> dict[str, str]:
    """db_table → model label of every Kangfu model (from the app registry: core names no app)."""
    tables = {}
    for config in apps.get_app_configs():
        if not config.name.startswith("kangfu."):
            continue
        for model in config.get_models(include_auto_created=True):
            if model._meta.managed and not model._meta.proxy:
                tables[model._meta.db_table] = model._meta.label
    return tables


def _app_version() -> str:
    try:
        return metadata.version("kangfu")
    except metadata.PackageNotFoundError:  # running from a checkout without an install
        return "unknown"


# --- writing and reading archives --------------------------------------------------------------


class _HashingReader:
    """Reads a file for tarfile while hashing it, so each member is read once."""

    def __init__(self, raw):
        self.raw = raw
        self.sha256 = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        self.sha256.update(data)
        return data


def _add_file(tar: tarfile.TarFile, path: Path, name: str, members: dict) -> None:
    info = tarfile.TarInfo(name)
    stat = path.stat()
    info.size, info.mtime, info.mode = stat.st_size, int(stat.st_mtime), 0o600
    with path.open("rb") as raw:
        reader = _HashingReader(raw)
        tar.addfile(info, reader)
    members[name] = {"sha256": reader.sha256.hexdigest(), "size": info.size}


def _add_bytes(tar: tarfile.TarFile, data: bytes, name: str) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = len(data), int(dt.datetime.now().timestamp()), 0o600
    tar.addfile(info, io.BytesIO(data))


def _env_files() -> set[Path]:
    """The settings files that hold the keys; never archived even if someone put one under MEDIA_ROOT."""
    names = {os.environ.get("KANGFU_ENV_FILE", ""), str(Path(settings.VAR_DIR) / "kangfu.env")}
    return {Path(n).resolve() for n in names if n}


def _media_files(media_root: Path) -> Iterator[tuple[Path, str]]:
    """Regular files under MEDIA_ROOT, in a stable order. Symbolic links are not followed: a link
    could point anywhere on the machine, the key file included."""
    if not media_root.is_dir():
        return
    excluded = _env_files()
    for directory, dirnames, filenames in os.walk(media_root):
        dirnames.sort()
        for filename in sorted(filenames):
            path = Path(directory) / filename
            if path.is_symlink() or not path.is_file() or path.resolve() in excluded:
                continue
            yield path, MEDIA_PREFIX + path.relative_to(media_root).as_posix()


def _safe_member_name(name: str) -> bool:
    pure = PurePosixPath(name)
    if pure.is_absolute() or ".." in pure.parts or "\\" in name:
        return False
    return name in (MANIFEST, MANIFEST_SUM, SQLITE_MEMBER, POSTGRES_MEMBER) or (
        name.startswith(MEDIA_PREFIX) and len(pure.parts) > 1
    )


def _read_manifest(tar: tarfile.TarFile, archive: Path) -> dict:
    try:
        manifest_bytes = tar.extractfile(MANIFEST).read()
        recorded = tar.extractfile(MANIFEST_SUM).read().decode("ascii").strip()
    except (KeyError, AttributeError, UnicodeDecodeError) as error:
        raise BackupError(NOT_AN_ARCHIVE.format(reason=f"{archive.name} 中没有完整的清单")) from error
    if hashlib.sha256(manifest_bytes).hexdigest() != recorded:
        raise BackupError(CHECKSUM_FAILED.format(member=MANIFEST))
    try:
        manifest = json.loads(manifest_bytes)
    except ValueError as error:
        raise BackupError(NOT_AN_ARCHIVE.format(reason="清单无法读取")) from error
    if manifest.get("kind") != ARCHIVE_KIND or manifest.get("format") != ARCHIVE_FORMAT:
        raise BackupError(NOT_AN_ARCHIVE.format(reason="清单格式不对"))
    return manifest


def _walk_verified(archive: Path, *, extract_to: Path | None = None) -> dict:
    """Read every member of an archive and check it against the manifest; with `extract_to`, write
    each member there on the way (one pass). Raises BackupError at the first fault."""
    try:
        tar = tarfile.open(archive, "r:")  # noqa: SIM115  (closed by the `with` below)
    except (OSError, tarfile.TarError) as error:
        raise BackupError(NOT_AN_ARCHIVE.format(reason=str(error))) from error
    with tar:
        try:
            manifest = _read_manifest(tar, archive)
            expected = dict(manifest["members"])
            seen = set()
            for member in tar:
                name = member.name
                if name in (MANIFEST, MANIFEST_SUM):
                    continue
                if name not in expected or name in seen or not member.isfile() or not _safe_member_name(name):
                    raise BackupError(MEMBER_UNEXPECTED.format(member=name))
                seen.add(name)
                sha256 = hashlib.sha256()
                source = tar.extractfile(member)
                sink = None
                if extract_to is not None:
                    target = extract_to / name
                    target.parent.mkdir(parents=True, exist_ok=True)
                    sink = target.open("wb")
                try:
                    while chunk := source.read(_CHUNK):
                        sha256.update(chunk)
                        if sink is not None:
                            sink.write(chunk)
                finally:
                    if sink is not None:
                        sink.close()
                if sha256.hexdigest() != expected[name]["sha256"] or member.size != expected[name]["size"]:
                    raise BackupError(CHECKSUM_FAILED.format(member=name))
        except (OSError, tarfile.TarError, EOFError) as error:
            raise BackupError(NOT_AN_ARCHIVE.format(reason=f"读取失败：{error}")) from error
        missing = sorted(set(expected) - seen)
        if missing:
            raise BackupError(MEMBER_MISSING.format(member=missing[0]))
    return manifest


def backup_verify(*, archive: Path) -> dict:
    """Re-read every member of an archive and check its checksum; return the manifest."""
    return _walk_verified(Path(archive))


# --- taking a backup -------------------------------------------------------------------------------


def _sqlite_snapshot(connection: BaseDatabaseWrapper, target: Path) -> tuple[dict, dict]:
    """Copy the database with SQLite's online backup API (other connections keep writing in WAL mode),
    check the copy, and read its counts and migrations from the copy itself: they describe exactly
    what is archived."""
    connection.ensure_connection()
    copy = sqlite3.connect(target)
    try:
        # One step: a multi-step backup restarts whenever another connection writes.
        try:
            connection.connection.backup(copy)
        except sqlite3.Error as error:
            raise BackupError(SQLITE_DAMAGED.format(detail=error)) from error
        copy.execute("PRAGMA journal_mode=DELETE")  # a self-contained file, no -wal beside it
        # Pages, records and indexes; CHECK constraints call Django's SQL functions (REGEXP), which
        # this plain connection lacks, and the database enforced them when the rows were written.
        copy.execute("PRAGMA ignore_check_constraints=ON")
        problem = copy.execute("PRAGMA quick_check").fetchone()[0]
        if problem != "ok":
            raise BackupError(SQLITE_DAMAGED.format(detail=problem))
        cursor = copy.cursor()
        counts = _counts(cursor, "sqlite")
        return counts, _migrations(cursor, counts)
    finally:
        copy.close()


def _pg_command(tool: str, settings_dict: dict, options: list[str]) -> tuple[list[str], dict]:
    """A pg_dump / pg_restore command line and environment for a Django database's settings; the
    password and TLS options travel in the environment as psql's do (Django's own client code)."""
    from django.db.backends.postgresql.client import DatabaseClient

    executable = shutil.which(tool)
    if executable is None:
        raise BackupError(TOOL_MISSING.format(tool=tool))
    psql_args, env = DatabaseClient.settings_to_cmd_args_env(settings_dict, [])
    # psql_args is ["psql", -U …, -h …, -p …, dbname]; pg_restore takes the database as --dbname.
    connection_args = psql_args[1:]
    if settings_dict.get("NAME"):
        connection_args = [*connection_args[:-1], f"--dbname={settings_dict['NAME']}"]
    return [executable, "--no-password", *options, *connection_args], {**os.environ, **(env or {})}


def _run(tool: str, command: list[str], env: dict) -> None:
    # An argument list, no shell: the tool found on PATH and the connection settings.
    result = subprocess.run(command, env=env, capture_output=True, text=True)  # noqa: S603
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip()[-2000:]
        raise BackupError(TOOL_FAILED.format(tool=tool, code=result.returncode, detail=detail))


def _postgres_snapshot(connection: BaseDatabaseWrapper, target: Path) -> tuple[dict, dict]:
    """pg_dump inside an exported snapshot, and the counts and migrations read in that same
    snapshot, so the manifest describes exactly the dump even while the application writes."""
    snap = connection_for(connection.settings_dict, alias="kangfu_backup_snapshot")
    try:
        snap.ensure_connection()
        snap.set_autocommit(False)
        with snap.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            cursor.execute("SELECT pg_export_snapshot()")
            snapshot = cursor.fetchone()[0]
            command, env = _pg_command(
                "pg_dump",
                connection.settings_dict,
                ["--format=custom", f"--snapshot={snapshot}", f"--file={target}"],
            )
            _run("pg_dump", command, env)
            counts = _counts(cursor, "postgresql")
            migrations = _migrations(cursor, counts)
        snap.rollback()
        return counts, migrations
    finally:
        snap.close()


def backup_create(
    *,
    output_dir: Path,
    connection: BaseDatabaseWrapper | None = None,
    media_root: Path | None = None,
) -> BackupResult:
    """Write a verified archive of the database and the uploaded files into `output_dir`."""
    connection = connection or _default()
    media_root = Path(media_root if media_root is not None else settings.MEDIA_ROOT)
    output_dir = Path(output_dir)
    # The archive holds names, addresses and diagnoses in clear: readable by its owner only.
    output_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    path = output_dir / f"kangfu-backup-{now.astimezone():%Y%m%d-%H%M%S}.tar"
    suffix = 1
    while path.exists():  # two backups in one second: never overwrite an earlier one
        path = output_dir / f"kangfu-backup-{now.astimezone():%Y%m%d-%H%M%S}-{suffix}.tar"
        suffix += 1
    partial = path.with_name(path.name + ".part")
    with tempfile.TemporaryDirectory(prefix=".kangfu-backup-", dir=output_dir) as staging:
        if connection.vendor == "sqlite":
            member, database_file = SQLITE_MEMBER, Path(staging) / SQLITE_MEMBER
            counts, migrations = _sqlite_snapshot(connection, database_file)
        elif connection.vendor == "postgresql":
            member, database_file = POSTGRES_MEMBER, Path(staging) / POSTGRES_MEMBER
            counts, migrations = _postgres_snapshot(connection, database_file)
        else:
            raise BackupError(UNSUPPORTED.format(vendor=connection.vendor))
        members: dict[str, dict] = {}
        partial.unlink(missing_ok=True)  # left by a run that was killed
        try:
            with (
                os.fdopen(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as raw,
                tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT, copybufsize=_CHUNK) as tar,
            ):
                _add_file(tar, database_file, member, members)
                media = 0
                for file, name in _media_files(media_root):
                    _add_file(tar, file, name, members)
                    media += 1
                manifest = {
                    "kind": ARCHIVE_KIND,
                    "format": ARCHIVE_FORMAT,
                    "created_at": now.isoformat(),
                    "app_version": _app_version(),
                    "vendor": connection.vendor,
                    "database": member,
                    "migrations": {app: names[-1] for app, names in sorted(migrations.items())},
                    "applied_migrations": migrations,
                    "tables": counts,
                    "media_files": media,
                    "members": members,
                }
                data = json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True).encode()
                _add_bytes(tar, data, MANIFEST)
                _add_bytes(tar, hashlib.sha256(data).hexdigest().encode() + b"\n", MANIFEST_SUM)
            with partial.open("rb") as written:
                os.fsync(written.fileno())  # on disk before it is called a backup
            os.replace(partial, path)
        finally:
            partial.unlink(missing_ok=True)
    backup_verify(archive=path)
    return BackupResult(path=path, size=path.stat().st_size, manifest=manifest)


# --- restoring --------------------------------------------------------------------------------------


def _newer_migrations(applied: dict[str, list[str]]) -> list[str]:
    """Migrations the archive's database has applied that this code does not know (a squashed
    migration's originals count as known)."""
    loader = MigrationLoader(None, ignore_no_migrations=True)
    known = set(loader.disk_migrations)
    for migration in loader.disk_migrations.values():
        known.update(migration.replaces)
    return [f"{app}.{name}" for app, names in applied.items() for name in names if (app, name) not in known]


def _code_is_newer(applied: dict[str, list[str]]) -> bool:
    loader = MigrationLoader(None, ignore_no_migrations=True)
    done = {(app, name) for app, names in applied.items() for name in names}
    return any(key not in done for key in loader.graph.leaf_nodes())


def target_rows(connection: BaseDatabaseWrapper | None = None) -> dict[str, int]:
    """Kangfu tables of a database that hold rows, beyond those `migrate` fills by itself."""
    connection = connection or _default()
    ours = {table for table, label in kangfu_tables().items() if label not in MIGRATION_FILLED}
    with connection.cursor() as cursor:
        present = set(_tables(cursor, connection.vendor)) & ours
        rows = {}
        for table in sorted(present):
            cursor.execute(f"SELECT 1 FROM {_quote(table)} LIMIT 1")  # noqa: S608
            if cursor.fetchone() is not None:
                cursor.execute(f"SELECT count(*) FROM {_quote(table)}")  # noqa: S608
                rows[table] = cursor.fetchone()[0]
    return rows


@contextmanager
def _staging_dir(archive: Path) -> Iterator[Path]:
    """Unpack beside the archive (where there is room for it), else in the system's temporary dir."""
    try:
        staging = tempfile.TemporaryDirectory(prefix=".kangfu-restore-", dir=archive.parent)
    except OSError:
        staging = tempfile.TemporaryDirectory(prefix="kangfu-restore-")
    with staging as path:
        yield Path(path)


def _same_file(a: Path, b: Path) -> bool:
    if a.stat().st_size != b.stat().st_size:
        return False
    with a.open("rb") as fa, b.open("rb") as fb:
        while chunk := fa.read(_CHUNK):
            if chunk != fb.read(len(chunk)):
                return False
    return True


def _restore_sqlite(connection: BaseDatabaseWrapper, database_file: Path) -> None:
    """Copy the archived file into the target through the backup API, page for page, which SQLite
    does under its own locks (a plain file copy would race a running process and its -wal file)."""
    connection.ensure_connection()
    source = sqlite3.connect(database_file)
    try:
        source.backup(connection.connection)
    except sqlite3.Error as error:
        raise BackupError(SQLITE_BUSY.format(detail=error)) from error
    finally:
        source.close()
    if "WAL" in str(connection.settings_dict.get("OPTIONS", {}).get("init_command", "")).upper():
        # The copied header says rollback journal; put the target back in the mode its settings ask for.
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA journal_mode=WAL")


def _restore_postgres(connection: BaseDatabaseWrapper, database_file: Path, archived: dict) -> None:
    """pg_restore in one transaction (all or nothing), owned by whoever restores and without the
    source's grants: the application role may not exist in this cluster, and `kangfu dbroles grant`
    gives it exactly what it needs."""
    with connection.cursor() as cursor:
        existing = set(_tables(cursor, "postgresql"))
        cursor.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = current_schema() AND c.relkind = 'p' AND NOT c.relispartition"
            " ORDER BY c.relname"
        )
        partitioned = [row[0] for row in cursor.fetchall()]
    strangers = sorted(existing - set(archived))
    if strangers:
        raise BackupError(TARGET_HAS_OTHER_TABLES.format(tables="、".join(strangers[:5])))
    options = ["--no-owner", "--no-privileges", "--single-transaction", "--exit-on-error"]
    if existing:  # a migrated but empty database: replace its (empty) tables with the archived ones
        options += ["--clean", "--if-exists"]
    # Our own idle session must not hold a lock the restore waits for.
    connection.close()
    if partitioned:
        _restore_over_partitions(connection.settings_dict, database_file, partitioned)
        return
    command, env = _pg_command("pg_restore", connection.settings_dict, options)
    _run("pg_restore", [*command, str(database_file)], env)  # the dump file goes last


def _restore_over_partitions(settings_dict: dict, database_file: Path, partitioned: list[str]) -> None:
    """Restore into a migrated database whose partitioned tables (core.partitions) are in the way:
    `pg_restore --clean` would drop each partition's primary key on its own, which PostgreSQL refuses
    (it belongs to the table's). So the partitioned tables are dropped whole (their partitions with
    them) and pg_restore's script runs after, both in one psql transaction: all or nothing still."""
    executable = shutil.which("pg_restore")
    if executable is None:
        raise BackupError(TOOL_MISSING.format(tool="pg_restore"))
    script = [
        executable,
        "--no-owner",
        "--no-privileges",
        "--clean",
        "--if-exists",
        "--file=-",
        str(database_file),
    ]
    drop = "DROP TABLE IF EXISTS " + ", ".join(_quote(table) for table in partitioned)
    command, env = _pg_command(
        "psql",
        settings_dict,
        ["-X", "-q", "-v", "ON_ERROR_STOP=1", "--single-transaction", "-c", drop, "-f", "-"],
    )
    writer = subprocess.Popen(script, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)  # noqa: S603
    try:
        result = subprocess.run(command, stdin=writer.stdout, capture_output=True, text=True, env=env)  # noqa: S603
    finally:
        writer.stdout.close()
        written = writer.wait()
        writer_errors = writer.stderr.read().decode(errors="replace")
        writer.stderr.close()
    if written != 0:
        raise BackupError(
            TOOL_FAILED.format(tool="pg_restore", code=written, detail=writer_errors.strip()[-2000:])
        )
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip()[-2000:]
        raise BackupError(TOOL_FAILED.format(tool="psql", code=result.returncode, detail=detail))


def restore(
    *,
    archive: Path,
    connection: BaseDatabaseWrapper | None = None,
    media_root: Path | None = None,
    grant_role: str | None = None,
) -> RestoreResult:
    """Bring an archive back into an empty database and its uploaded files into MEDIA_ROOT.

    Everything is checked before anything is written: the archive's checksums, its database vendor,
    that this code knows every migration it has applied, that the target holds no Kangfu data and
    that no different file sits where an uploaded file goes. Afterwards every table's row count is
    compared with the manifest."""
    connection = connection or _default()
    archive = Path(archive)
    media_root = Path(media_root if media_root is not None else settings.MEDIA_ROOT)
    with _staging_dir(archive) as staging:
        manifest = _walk_verified(archive, extract_to=staging)
        if manifest["vendor"] != connection.vendor:
            raise BackupError(WRONG_VENDOR.format(archive=manifest["vendor"], target=connection.vendor))
        newer = _newer_migrations(manifest["applied_migrations"])
        if newer:
            raise BackupError(
                NEWER_MIGRATIONS.format(version=manifest["app_version"], names="、".join(newer[:5]))
            )
        occupied = target_rows(connection)
        if occupied:
            shown = "、".join(f"{table}（{n} 行）" for table, n in list(occupied.items())[:5])
            raise BackupError(TARGET_NOT_EMPTY.format(tables=shown, n=len(occupied)))
        staged_media = sorted((staging / "media").rglob("*")) if (staging / "media").is_dir() else []
        staged_media = [p for p in staged_media if p.is_file()]
        for staged in staged_media:
            destination = media_root / staged.relative_to(staging / "media")
            if destination.exists() and not _same_file(staged, destination):
                raise BackupError(MEDIA_CONFLICT.format(root=media_root, path=destination))

        database_file = staging / manifest["database"]
        if connection.vendor == "sqlite":
            _restore_sqlite(connection, database_file)
        else:
            _restore_postgres(connection, database_file, manifest["tables"])

        restored = table_counts(connection)
        differ = [t for t, n in manifest["tables"].items() if restored.get(t) != n]
        if differ:
            raise BackupError(COUNTS_DIFFER.format(tables="、".join(differ[:5])))

        for staged in staged_media:
            destination = media_root / staged.relative_to(staging / "media")
            destination.parent.mkdir(parents=True, exist_ok=True)
            if not destination.exists():
                shutil.move(staged, destination)

    notes = []
    if _code_is_newer(manifest["applied_migrations"]):
        notes.append("备份早于本程序的数据库结构：请接着运行 kangfu migrate（或 kangfu upgrade）。")
    if connection.vendor == "postgresql":
        if grant_role:
            with connection.cursor() as cursor:
                for statement in dbroles.grants(grant_role):
                    cursor.execute(statement)
            notes.append(f"已授予 {grant_role} 应用所需的权限（审计表只可读和追加）。")
        else:
            notes.append(
                "恢复不带原库的授权：请以表的所有者身份运行 kangfu dbroles grant ROLE"
                "（ROLE 为应用运行所用的数据库角色），应用才能访问这些表。"
            )
    return RestoreResult(
        manifest=manifest,
        tables=len(restored),
        rows=sum(restored.values()),
        media_files=len(staged_media),
        notes=notes,
    )
