"""数据交换: agencies push their feeds (or leave files in a drop folder) into the preview flow.

An agency channel (`AgencyChannel`) is managed by the city administrator: which feed kinds the agency
may send, the region it covers, and a token shown once. A push or a pulled file becomes a
`FeedImport` in preview, exactly as an upload does (`services.feed_preview`), for the district it is
about; that district's payroll office confirms or discards it on the feeds page. A push is refused
whole (nothing stored) when its kind is not the channel's or it names people registered outside the
channel's region. Each push is kept with its key (the sender's Idempotency-Key, or the file's
checksum), so a retry answers the same import and never makes a second one. A refusal by kind or
region is audited against the channel (kind, district, reason and the file's checksum, never its
lines), so the city sees an agency trying what it may not.

The writes here follow the services' rules (keyword-only, `actor=`, one transaction with the audit
row); the reads at the end are this module's selectors.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Prefetch, Q
from django.utils import timezone

from kangfu.core import audit
from kangfu.core.models import ApiToken, AuditAction, Region, RegionLevel, Role, User
from kangfu.core.months import month_start
from kangfu.core.services import api_token_create
from kangfu.core.transitions import Conflict
from kangfu.matching import services
from kangfu.matching.models import (
    FIELDS,
    AgencyChannel,
    AgencyPush,
    Confidence,
    FeedImport,
    FeedKind,
    FeedRow,
    FeedSource,
)

ONLY_CITY = "只有市民政管理员可以管理数据交换渠道。"
BAD_REGION = "覆盖区划须为本市或本市的一个区。"
NO_SOURCES = "请至少选择一种可推送的数据。"
ONE_PER_KIND = "每一类数据只能选择一个来源（“{kind}”选了多个）。"
NAME_TAKEN = "已有名为“{name}”的渠道。"
CHANNEL_INACTIVE = "该渠道已停用。"
NOT_A_CHANNEL = "该令牌不属于任何在用的数据交换渠道，不能推送数据。"
KIND_REFUSED = "该渠道无权推送“{kind}”数据；可推送：{kinds}。本次推送未保存任何数据。"
UNKNOWN_KIND = "没有“{kind}”这类数据；可用类别：{kinds}。"
NEEDS_DISTRICT = "市级渠道推送时须注明数据所属的区（district，区划代码）。"
DISTRICT_REFUSED = "该渠道覆盖{region}，无权推送{district}的数据。本次推送未保存任何数据。"
PEOPLE_REFUSED = "第 {lines} 行的人员户籍不在{region}，该渠道无权推送。本次推送未保存任何数据。"
REGION_REFUSED = "第 {lines} 行的区划代码不在{region}，该渠道无权推送。本次推送未保存任何数据。"
KEY_REUSED = "幂等键“{key}”已用于第 {pk} 号推送的另一份数据；重发同一份数据请用同一个键，新数据请换一个键。"
NO_ROWS = "请提供至少一行数据（rows）。"
BAD_KEY = "幂等键不能超过 100 个字符。"
REFUSAL = "{channel}{how}的“{kind}”数据被拒绝：{reason}"

# A file in a drop folder says its kind by the folder it is in (…/death/2026-11.csv) and its month
# by its name where it can (死亡_202611.csv); otherwise it is the month it was picked up.
PULL_SUFFIXES = (".csv", ".xlsx", ".txt")
_MONTH_IN_NAME = re.compile(r"(20\d\d)[-_.年]?(0[1-9]|1[0-2])(?!\d)")


def _require_city(actor: User | None) -> None:
    if actor is not None and actor.role != Role.CITY_ADMIN:
        raise PermissionDenied(ONLY_CITY)


def _check_sources(sources: list[FeedSource]) -> None:
    if not sources:
        raise ValidationError({"sources": [NO_SOURCES]})
    seen: set[str] = set()
    for source in sources:
        if source.kind in seen:
            raise ValidationError({"sources": [ONE_PER_KIND.format(kind=source.get_kind_display())]})
        seen.add(source.kind)


def channel_create(
    *,
    actor: User | None,
    name: str,
    agency: str,
    region: Region,
    sources: list[FeedSource],
    drop_folder: str = "",
) -> tuple[AgencyChannel, str]:
    """A channel with its own account and a first token, which is returned (and never kept)."""
    _require_city(actor)
    if region.level not in (RegionLevel.CITY, RegionLevel.DISTRICT) or (
        actor is not None and actor.jurisdiction_id and not actor.jurisdiction.contains(region.code)
    ):
        raise ValidationError({"region": [BAD_REGION]})
    _check_sources(sources)
    if AgencyChannel.objects.filter(name=name).exists():
        raise ValidationError({"name": [NAME_TAKEN.format(name=name)]})
    with transaction.atomic():
        # No role and no jurisdiction: the token opens no page and no other endpoint (every one
        # checks a role), and the account cannot sign in (no usable password).
        account = User(username=f"exchange-{secrets.token_hex(6)}", full_name=f"{agency}（数据交换）"[:50])
        account.set_unusable_password()
        account.save()
        channel = AgencyChannel.objects.create(
            name=name, agency=agency, region=region, account=account, drop_folder=drop_folder
        )
        channel.sources.set(sources)
        audit.record(
            actor=actor,
            action=AuditAction.CREATE,
            obj=channel,
            summary=f"新建数据交换渠道 {name}（{agency}，{region.label}）："
            + "、".join(s.get_kind_display() for s in sources),
        )
        token = api_token_create(actor=actor, user=account, name=f"数据交换：{name}")
    return channel, token


def channel_revoke(*, actor: User | None, channel: AgencyChannel) -> AgencyChannel:
    """Stop a channel: its tokens are revoked at once; its pushes and their imports stay."""
    _require_city(actor)
    now = timezone.now()
    with transaction.atomic():
        if AgencyChannel.objects.filter(pk=channel.pk, active=True).update(active=False, revoked_at=now) != 1:
            raise Conflict(CHANNEL_INACTIVE)
        ApiToken.objects.filter(user_id=channel.account_id, revoked_at__isnull=True).update(revoked_at=now)
        audit.record(
            actor=actor, action=AuditAction.UPDATE, obj=channel, summary=f"停用数据交换渠道 {channel}"
        )
    channel.refresh_from_db()
    return channel


def channel_rotate(*, actor: User | None, channel: AgencyChannel) -> str:
    """A new token for the channel, the old ones revoked in the same transaction."""
    _require_city(actor)
    with transaction.atomic():
        # The row lock makes two rotations at once take turns: the second revokes the first's token.
        if not AgencyChannel.objects.select_for_update().filter(pk=channel.pk, active=True).exists():
            raise Conflict(CHANNEL_INACTIVE)
        ApiToken.objects.filter(user_id=channel.account_id, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        token = api_token_create(actor=actor, user=channel.account, name=f"数据交换：{channel.name}")
        audit.record(
            actor=actor, action=AuditAction.UPDATE, obj=channel, summary=f"更换数据交换渠道 {channel} 的令牌"
        )
    return token


@dataclass
class Received:
    push: AgencyPush
    created: bool  # False: a retry, answered with the push it repeats


def push_receive(
    *,
    account: User,
    kind: str,
    period: dt.date,
    file_name: str,
    raw: bytes = b"",
    rows: list[dict] | None = None,
    key: str = "",
    district: str = "",
    via: str = "api",
) -> Received:
    """Take a push (a file's bytes, or rows) from the channel `account` belongs to into a preview
    for its district."""
    channel = channel_of(account)
    if channel is None:
        raise PermissionDenied(NOT_A_CHANNEL)
    if rows is not None:
        raw = json.dumps(rows, ensure_ascii=False, sort_keys=True, default=str).encode()
    digest = hashlib.sha256(raw).hexdigest()
    key = key.strip() or f"sha256:{digest}"
    if len(key) > 100:
        raise ValidationError({"key": [BAD_KEY]})
    done = _repeat(channel, key, digest)
    if done is not None:
        return Received(done, created=False)
    try:
        return _receive(
            channel,
            account=account,
            kind=kind,
            period=period,
            file_name=file_name,
            raw=raw,
            rows=rows,
            key=key,
            digest=digest,
            district=district,
            via=via,
        )
    except PermissionDenied as refused:
        # Written after the push's own transaction has rolled back, so the refusal stays on record
        # while nothing of the push does.
        audit.record(
            actor=account,
            action=AuditAction.IMPORT,
            obj=channel,
            summary=REFUSAL.format(
                channel=channel,
                how="推送" if via == "api" else "目录取数",
                kind=FeedKind(kind).label if kind in FeedKind.values else kind,
                reason=refused,
            ),
            changes={
                "refused": True,
                "kind": kind,
                "district": district[:20],
                "via": via,
                "reason": str(refused),
                "digest": digest,
            },
        )
        raise


def _receive(
    channel: AgencyChannel,
    *,
    account: User,
    kind: str,
    period: dt.date,
    file_name: str,
    raw: bytes,
    rows: list[dict] | None,
    key: str,
    digest: str,
    district: str,
    via: str,
) -> Received:
    source = _source_for(channel, kind)
    district_code = _district_for(channel, district)
    if rows is not None:
        raw = rows_to_csv(rows, mapping=source.mapping)
    try:
        with transaction.atomic():
            # The system reads the file (the agency's account has no role of its own); the import
            # is then the district's and the agency's, like an upload by its payroll office.
            feed = services.feed_preview(
                actor=None, source=source, raw=raw, file_name=file_name, period=period
            )
            _keep_to_district(channel, feed, district_code)
            FeedImport.objects.filter(pk=feed.pk).update(district_id=district_code, imported_by=account)
            feed.refresh_from_db()
            push = AgencyPush.objects.create(channel=channel, key=key, digest=digest, feed=feed, via=via)
            audit.record(
                actor=account,
                action=AuditAction.IMPORT,
                obj=feed,
                summary=f"{channel}{'推送' if via == 'api' else '目录取数'} {source}（待区确认）：{feed.report}",
            )
    except IntegrityError:
        # The same push arrived twice at once: the other one was kept.
        done = _repeat(channel, key, digest)
        if done is None:
            raise
        return Received(done, created=False)
    return Received(push, created=True)


def _repeat(channel: AgencyChannel, key: str, digest: str) -> AgencyPush | None:
    done = AgencyPush.objects.select_related("feed__source").filter(channel=channel, key=key).first()
    if done is not None and done.digest != digest:
        raise Conflict(KEY_REUSED.format(key=key, pk=done.pk))
    return done


def _kinds_text(channel: AgencyChannel) -> str:
    return "、".join(s.get_kind_display() for s in channel.sources.all()) or "无"


def _source_for(channel: AgencyChannel, kind: str) -> FeedSource:
    if kind not in FeedKind.values:
        raise ValidationError({"kind": [UNKNOWN_KIND.format(kind=kind, kinds="、".join(FeedKind.values))]})
    source = channel.sources.filter(kind=kind).first()
    if source is None:
        raise PermissionDenied(KIND_REFUSED.format(kind=FeedKind(kind).label, kinds=_kinds_text(channel)))
    return source


def _district_for(channel: AgencyChannel, district: str) -> str:
    """The district a push is for: the channel's own, or for a city channel the one it names."""
    region = channel.region
    code = (district or "").strip().ljust(12, "0") if district else ""
    if region.level == RegionLevel.DISTRICT:
        if code and code != region.code:
            raise PermissionDenied(DISTRICT_REFUSED.format(region=region.label, district=district))
        return region.code
    if not code:
        raise ValidationError({"district": [NEEDS_DISTRICT]})
    named = Region.objects.filter(code=code, level=RegionLevel.DISTRICT).first()
    if named is None or not region.contains(code):
        raise PermissionDenied(DISTRICT_REFUSED.format(region=region.label, district=district))
    return code


def _lines(rows) -> str:
    lines = sorted(set(rows))
    return "、".join(str(n) for n in lines[:20]) + ("等" if len(lines) > 20 else "")


def _keep_to_district(channel: AgencyChannel, feed: FeedImport, district: str) -> None:
    """Refuse a push naming, by ID number or by the region it gives, someone outside the district
    (raised inside the preview's transaction, so nothing is kept). A line without an ID number that
    fits, by name and birth date, people registered elsewhere is not the agency's fault: it is kept,
    linked only to candidates in the district, so the channel raises no item outside its region."""
    label = Region.objects.get(code=district).label
    rows = FeedRow.objects.filter(feed=feed)
    outside = rows.exclude(id_hash="").filter(person__isnull=False).exclude(person__district_id=district)
    if lines := list(outside.values_list("line", flat=True)):
        raise PermissionDenied(PEOPLE_REFUSED.format(lines=_lines(lines), region=label))
    # A move's region is where the person went, which may be anywhere; every other kind's is theirs.
    given = rows.filter(region__isnull=False).exclude(kind=FeedKind.MOVE).values_list("line", "region_id")
    elsewhere = [line for line, code in given if not str(code).startswith(district[:6])]
    if lines := elsewhere:
        raise PermissionDenied(REGION_REFUSED.format(lines=_lines(lines), region=label))
    by_name = rows.filter(id_hash="", person__isnull=False)
    stray = set(by_name.exclude(person__district_id=district).values_list("line", flat=True))
    for line in stray:
        copies = list(by_name.filter(line=line).select_related("person"))
        inside = [r for r in copies if r.person.district_id == district]
        if inside:
            FeedRow.objects.filter(pk__in=[r.pk for r in copies if r not in inside]).delete()
            if len(inside) == 1:
                FeedRow.objects.filter(pk=inside[0].pk).update(confidence=Confidence.LOW)
        else:
            FeedRow.objects.filter(pk__in=[r.pk for r in copies[1:]]).delete()
            FeedRow.objects.filter(pk=copies[0].pk).update(person=None, confidence=Confidence.NONE)


def rows_to_csv(rows: list[dict], *, mapping: dict[str, str]) -> bytes:
    """JSON rows as the CSV file they stand for: keys are a file's headers, or field names (FIELDS)
    written as the header the source's mapping reads, so they go through the same line checks."""
    if not rows:
        raise ValidationError({"rows": [NO_ROWS]})

    def header_of(key) -> str:
        key = str(key)
        if key in FIELDS:
            return (mapping.get(key) or FIELDS[key]).split("|")[0]
        return key

    header: list[str] = []
    for row in rows:
        for k in row:
            if header_of(k) not in header:
                header.append(header_of(k))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows:
        values = {header_of(k): "" if v is None else str(v) for k, v in row.items()}
        writer.writerow([values.get(h, "") for h in header])
    return out.getvalue().encode("utf-8")


@dataclass
class PullReport:
    taken: list[str] = field(default_factory=list)
    skipped: int = 0
    refused: list[str] = field(default_factory=list)


def pull_drop_folders(*, today: dt.date | None = None) -> PullReport:
    """Read every new file in the active channels' drop folders into a preview. A file is known by its
    checksum, so one already taken (even renamed) is skipped, and one refused is reported each time
    until it is removed or the channel may take it."""
    today = today or timezone.localdate()
    report = PullReport()
    for channel in (
        AgencyChannel.objects.filter(active=True).exclude(drop_folder="").select_related("account", "region")
    ):
        root = Path(channel.drop_folder)
        if not root.is_dir():
            report.refused.append(f"{channel}：取数目录 {root} 不存在。")
            continue
        for path in sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in PULL_SUFFIXES):
            parts = path.relative_to(root).parts[:-1]
            kind = next((p for p in reversed(parts) if p in FeedKind.values), "")
            district = next((p for p in parts if re.fullmatch(r"\d{6}|\d{12}", p)), "")
            raw = path.read_bytes()
            if AgencyPush.objects.filter(
                channel=channel, key=f"sha256:{hashlib.sha256(raw).hexdigest()}"
            ).exists():
                report.skipped += 1
                continue
            found = _MONTH_IN_NAME.search(path.name)
            period = dt.date(int(found[1]), int(found[2]), 1) if found else month_start(today)
            try:
                if not kind:
                    raise ValidationError(f"文件不在以数据类别命名的目录中（如 {FeedKind.DEATH.value}/）。")
                got = push_receive(
                    account=channel.account,
                    kind=kind,
                    period=period,
                    raw=raw,
                    file_name=path.name,
                    district=district,
                    via="pull",
                )
            except (PermissionDenied, ValidationError) as exc:
                message = "；".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
                report.refused.append(f"{channel} {path}：{message}")
                continue
            report.taken.append(f"{channel} {path}：第 {got.push.feed_id} 号导入，{got.push.feed.report}")
    return report


# Reads.


def channel_of(account: User) -> AgencyChannel | None:
    """The active channel a token's account belongs to (None for every staff account)."""
    if not account.is_authenticated or account.role:
        return None
    return AgencyChannel.objects.select_related("region").filter(account=account, active=True).first()


def channels_for(user: User):
    """Every channel, for the city administrator (the only one who manages them), with the token in
    use (its prefix and expiry) and the kinds it may push."""
    if user.role != Role.CITY_ADMIN:
        return AgencyChannel.objects.none()
    live = ApiToken.objects.filter(revoked_at__isnull=True).order_by("-created_at")
    return (
        AgencyChannel.objects.select_related("region", "account")
        .prefetch_related("sources", Prefetch("account__api_tokens", queryset=live, to_attr="live_tokens"))
        .order_by("-active", "name")
    )


def channel_get(user: User, pk: int) -> AgencyChannel | None:
    return channels_for(user).filter(pk=pk).first()


def push_for(account: User, pk: int) -> AgencyPush | None:
    """A push the channel's own token may poll: its own, never another channel's."""
    channel = channel_of(account)
    if channel is None:
        return None
    return (
        AgencyPush.objects.select_related("feed__source", "feed__district")
        .filter(channel=channel, pk=pk)
        .first()
    )


def channel_regions(user: User):
    """What a channel may cover: the administrator's city and its districts (not abolished ones)."""
    city = user.jurisdiction
    if user.role != Role.CITY_ADMIN or city is None:
        return Region.objects.none()
    digits = city.code[:4]
    return Region.objects.filter(
        Q(code=city.code) | Q(level=RegionLevel.DISTRICT, code__startswith=digits, successor__isnull=True)
    ).order_by("code")
