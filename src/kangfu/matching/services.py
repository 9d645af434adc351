"""Writes of 数据比对: feed sources and feed imports (preview, then confirm)."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import defaultdict

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from kangfu.core import access, audit
from kangfu.core.models import AuditAction, RegionLevel, User
from kangfu.core.months import month_start
from kangfu.matching import feeds
from kangfu.matching.models import (
    FIELDS,
    Confidence,
    FeedImport,
    FeedKind,
    FeedRow,
    FeedSource,
    ImportStatus,
)
from kangfu.people import services as people_services
from kangfu.people.models import Person
from kangfu.people.services import id_hash

ALREADY_IMPORTED = "该文件已于 {when} 导入（第 {pk} 号导入），没有做任何改动。"
NOT_PREVIEW = "只有待确认的导入可以确认或放弃。"
BAD_MAPPING = "列对应中的字段“{field}”不存在；可用字段：{fields}。"
NO_VALID = "没有任何有效行，不能确认。"
NEEDS_BUSINESS = "按业务类型分列的残联数据须对应“业务类型”列。"
NOT_YOURS = "这份导入由其他区上传，只有上传的区可以确认或放弃。"
ONLY_MIXED = "只有“残疾人证业务（残联，按业务类型）”来源按业务类型分列；其他来源的每一行都是该来源的类别。"


def _require(actor: User | None) -> None:
    if actor is not None and not access.policy(actor).runs_payroll:
        raise PermissionDenied(access.NOT_ALLOWED)


def _require_own(actor: User | None, feed: FeedImport) -> None:
    """Only the district that uploaded a preview confirms or discards it (the system, for a
    command's own)."""
    _require(actor)
    if actor is None:
        return
    if feed.district_id is None or not access.region_in_jurisdiction(actor, feed.district_id):
        raise PermissionDenied(NOT_YOURS)


def _uploader_district(actor: User | None) -> str | None:
    region = actor.jurisdiction if actor is not None else None
    if region is None or region.level < RegionLevel.DISTRICT:
        return None
    return region.ancestor(RegionLevel.DISTRICT)


def feed_source_save(*, actor: User | None, name: str, kind: str, mapping: dict[str, str]) -> FeedSource:
    _require(actor)
    unknown = [f for f in mapping if f not in FIELDS]
    if unknown:
        raise ValidationError({"mapping": [BAD_MAPPING.format(field=unknown[0], fields="、".join(FIELDS))]})
    if kind == FeedKind.CERT_MIXED and "business" not in mapping:
        raise ValidationError({"mapping": [NEEDS_BUSINESS]})
    if kind != FeedKind.CERT_MIXED and "business" in mapping:
        raise ValidationError({"mapping": [ONLY_MIXED]})
    with transaction.atomic():
        source, _ = FeedSource.objects.update_or_create(
            name=name, defaults={"kind": kind, "mapping": mapping}
        )
        audit.record(actor=actor, action=AuditAction.UPDATE, obj=source, summary=f"数据来源 {name} 的列对应")
    return source


def feed_preview(
    *, actor: User | None, source: FeedSource, raw: bytes, file_name: str, period: dt.date
) -> FeedImport:
    """Read a feed file into a preview: the valid lines as rows (matched to people where possible) and
    a report of every line left out. The comparison ignores it until it is confirmed."""
    _require(actor)
    digest = hashlib.sha256(raw).hexdigest()
    done = FeedImport.objects.filter(source=source, digest=digest, status=ImportStatus.CONFIRMED).first()
    if done is not None:
        raise ValidationError(ALREADY_IMPORTED.format(when=f"{done.confirmed_at:%Y-%m-%d %H:%M}", pk=done.pk))
    parsed = feeds.parse(raw, file_name, kind=source.kind, mapping=source.mapping)
    with transaction.atomic():
        feed = FeedImport.objects.create(
            source=source,
            period=month_start(period),
            file_name=file_name[:200],
            digest=digest,
            total_lines=parsed.total,
            valid_lines=len(parsed.records),
            errors=[{"line": line, "message": message} for line, message in parsed.errors],
            duplicates=feeds.duplicates(parsed.records),
            blank_lines=parsed.blank,
            imported_by=actor,
            district_id=_uploader_district(actor),
        )
        rows = [
            FeedRow(
                feed=feed,
                line=r["line"],
                kind=r["kind"],
                id_number=r.get("id_number", ""),
                id_hash=id_hash(r["id_number"]) if r.get("id_number") else "",
                name=r["name"],
                birth_date=r.get("birth_date"),
                event_date=r.get("event_date"),
                end_date=r.get("end_date"),
                region_id=r.get("region"),
                category=r.get("category"),
                grade=r.get("grade"),
                amount=r.get("amount"),
                institution=r.get("institution", ""),
            )
            for r in parsed.records
        ]
        for chunk in feeds.iter_chunks(rows, 2000):
            FeedRow.objects.bulk_create(chunk)
        _match(feed)
        audit.record(
            actor=actor,
            action=AuditAction.IMPORT,
            obj=feed,
            summary=f"{source} 数据预览：{feed.report}",
        )
    return feed


def _match(feed: FeedImport) -> None:
    """Link rows to people: by ID number in one UPDATE; rows without one by name and birth date (low
    confidence, to be checked). A row that fits several people is linked to each, as a copy of the
    line per further candidate, all marked ambiguous: every candidate gets an item, and the street
    confirms the one it is and dismisses the others."""
    by_id = Person.objects.filter(id_number_hash=OuterRef("id_hash")).values("pk")[:1]
    FeedRow.objects.filter(feed=feed).exclude(id_hash="").update(person=Subquery(by_id))
    FeedRow.objects.filter(feed=feed, person__isnull=False).exclude(id_hash="").update(
        confidence=Confidence.HIGH
    )
    nameless = list(FeedRow.objects.filter(feed=feed, id_hash="", birth_date__isnull=False).exclude(name=""))
    if not nameless:
        return
    candidates: dict[tuple[str, dt.date], list[int]] = defaultdict(list)
    for pk, name, born in Person.objects.filter(
        name__in={r.name for r in nameless}, birth_date__in={r.birth_date for r in nameless}
    ).values_list("pk", "name", "birth_date"):
        candidates[(name, born)].append(pk)
    matched, copies = [], []
    for row in nameless:
        found = sorted(candidates.get((row.name, row.birth_date), []))
        if not found:
            continue
        confidence = Confidence.LOW if len(found) == 1 else Confidence.AMBIGUOUS
        row.person_id, row.confidence = found[0], confidence
        matched.append(row)
        for other in found[1:]:
            copy = FeedRow(**{f.attname: getattr(row, f.attname) for f in FeedRow._meta.concrete_fields})
            copy.pk, copy.person_id = None, other
            copies.append(copy)
    FeedRow.objects.bulk_update(matched, ["person", "confidence"], batch_size=2000)
    FeedRow.objects.bulk_create(copies, batch_size=2000)


def feed_confirm(*, actor: User | None, feed: FeedImport) -> FeedImport:
    _require_own(actor, feed)
    if feed.valid_lines == 0:
        raise ValidationError(NO_VALID)
    try:
        with transaction.atomic():
            if (
                FeedImport.objects.filter(pk=feed.pk, status=ImportStatus.PREVIEW).update(
                    status=ImportStatus.CONFIRMED, confirmed_at=timezone.now()
                )
                != 1
            ):
                raise ValidationError(NOT_PREVIEW)
            audit.record(actor=actor, action=AuditAction.IMPORT, obj=feed, summary=f"确认导入 {feed}")
            # A 换领 cures an expired certificate (DOMAIN.md): the registry takes the renewal the
            # certificate system reports for a person named by ID number; nothing else in a feed
            # changes the registry without a street's confirmation.
            renewals = FeedRow.objects.filter(
                feed=feed, kind=FeedKind.CERT_RENEW, confidence=Confidence.HIGH, person__isnull=False
            ).values_list("person_id", "event_date", "end_date")
            if renewals:
                people_services.certificates_renewed(actor=actor, renewals=renewals, source=feed.source.name)
    except IntegrityError:
        raise ValidationError(ALREADY_IMPORTED.format(when="此前", pk="另一")) from None
    feed.refresh_from_db()
    return feed


def feed_discard(*, actor: User | None, feed: FeedImport) -> FeedImport:
    _require_own(actor, feed)
    with transaction.atomic():
        if (
            FeedImport.objects.filter(pk=feed.pk, status=ImportStatus.PREVIEW).update(
                status=ImportStatus.DISCARDED
            )
            != 1
        ):
            raise ValidationError(NOT_PREVIEW)
        FeedRow.objects.filter(feed=feed).delete()
        audit.record(actor=actor, action=AuditAction.UPDATE, obj=feed, summary=f"放弃导入 {feed}")
    feed.refresh_from_db()
    return feed
