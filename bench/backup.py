"""Benchmark: `kangfu backup` and `kangfu restore` of the benchmark city.

    .venv/bin/python bench/backup.py --n 1000000            # SQLite: people_list's var/bench/people-N.sqlite3
    DATABASE_URL=postgres://... .venv/bin/python bench/backup.py --n 1000000
    DATABASE_URL=postgres://.../kf_payb .venv/bin/python bench/backup.py --as-is   # an existing bench database

Builds (once, then reuses) N synthetic people with people_list's builder, or with --as-is takes the
database as it is (no migrate, no build), then times a backup (written and re-read to verify every
checksum) and a restore into a fresh database of the same kind (SQLite: a new file; PostgreSQL:
`<name>_restore`, dropped afterwards), whose row counts the restore checks against the manifest.
Goal (issue 17): backup and restore of the 1M-person database each under 5 minutes. The last line
printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

GOAL_SECONDS = 300.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--as-is", action="store_true", help="use DATABASE_URL's database as it is")
    parser.add_argument("--keep", action="store_true", help="keep the archive and the restored database")
    args = parser.parse_args()
    # The bench's uploads directory, not the demo's var/media.
    os.environ.setdefault("KANGFU_MEDIA_ROOT", str(ROOT / "var" / "bench" / "media"))
    import people_list

    if args.as_is:
        if not os.environ.get("DATABASE_URL"):
            sys.exit("--as-is needs DATABASE_URL")
        people_list.configure(args.n)
    else:
        people_list.configure(args.n)
        people_list.build(args.n, args.seed)

    from django.db import connection

    from kangfu.core import backup

    people = backup.table_counts().get("people_person", 0)
    out_dir = ROOT / "var" / "bench" / "backups"
    settings_dict = dict(connection.settings_dict)
    if connection.vendor == "sqlite":
        target_name = str(ROOT / "var" / "bench" / f"restored-{Path(settings_dict['NAME']).stem}.sqlite3")
        for suffix in ("", "-wal", "-shm"):
            Path(target_name + suffix).unlink(missing_ok=True)
    else:
        target_name = f"{settings_dict['NAME']}_restore"
        with connection.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {connection.ops.quote_name(target_name)} WITH (FORCE)")
            cursor.execute(f"CREATE DATABASE {connection.ops.quote_name(target_name)}")
    target = backup.connection_for({**settings_dict, "NAME": target_name})
    restored_media = ROOT / "var" / "bench" / "restored-media"

    print(f"backing up {people} people …", file=sys.stderr)
    started = time.perf_counter()
    archive = backup.backup_create(output_dir=out_dir)
    backup_seconds = time.perf_counter() - started
    print(f"  {archive.path} {archive.size / 1e6:.0f} MB in {backup_seconds:.1f} s", file=sys.stderr)

    print("restoring into a fresh database …", file=sys.stderr)
    started = time.perf_counter()
    result = backup.restore(archive=archive.path, connection=target, media_root=restored_media)
    restore_seconds = time.perf_counter() - started
    print(f"  {result.tables} tables, {result.rows} rows in {restore_seconds:.1f} s", file=sys.stderr)

    target.close()
    if not args.keep:
        archive.path.unlink()
        if connection.vendor == "sqlite":
            Path(target_name).unlink(missing_ok=True)
        else:
            with connection.cursor() as cursor:
                cursor.execute(
                    f"DROP DATABASE IF EXISTS {connection.ops.quote_name(target_name)} WITH (FORCE)"
                )
    print(
        json.dumps(
            {
                "bench": "backup",
                "vendor": connection.vendor,
                "people": people,
                "rows": result.rows,
                "archive_mb": round(archive.size / 1e6),
                "backup_s": round(backup_seconds, 1),
                "restore_s": round(restore_seconds, 1),
                "goal_s": GOAL_SECONDS,
                "met": backup_seconds < GOAL_SECONDS and restore_seconds < GOAL_SECONDS,
            }
        )
    )


if __name__ == "__main__":
    main()
