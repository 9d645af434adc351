"""Comparison rules: each a small set-based function from a district, a month and the confirmed feeds
to findings. A rule reads with a few queries whatever the number of grants; none changes anything.

To add a rule: write a function `(ctx) -> list[Finding]` and put it in RULES with its Chinese name.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Exists, F, FilteredRelation, OuterRef, Q, Sum
from django.db.models.functions import Substr

from kangfu.matching.models import Confidence, Direction, FeedImport, FeedKind, FeedRow, ImportStatus
from kangfu.people.models import CertificateStatus, DisabilityCertificate
from kangfu.rehab.models import SERVED_STATES, DischargeReason
from kangfu.subsidies.models import (
    Application,
    ApplicationStatus,
    BankStatus,
    Grant,
    GrantStatus,
    Kind,
    PayrollLine,
    PayrollStatus,
)
from kangfu.subsidies.rules import add_months, month_start
from kangfu.subsidies.services.facts import standard_amount

ZERO = Decimal("0.00")
DEATH_KINDS = (FeedKind.DEATH, FeedKind.DECLARED_DEATH, FeedKind.CREMATION)
DEATH_WORDS = {FeedKind.DEATH: "死亡", FeedKind.DECLARED_DEATH: "宣告死亡", FeedKind.CREMATION: "死亡"}


@dataclass(frozen=True)
class Context:
    district: str
    period: dt.date  # the month compared

    def amount(self, kind: str, grade: int) -> Decimal:
        """The month's standard for a kind and grade, read once per run (a handful of combinations)."""
        key = (kind, grade)
        cache = self.__dict__.setdefault("_amounts", {})
        if key not in cache:
            cache[key] = standard_amount(kind=kind, district=self.district, grade=grade, month=self.period)
        return cache[key]

    def rows(self, *kinds: str):
        """Matched rows of the feeds of these kinds confirmed for the period."""
        feeds = FeedImport.objects.filter(
            source__kind__in=kinds, status=ImportStatus.CONFIRMED, period=self.period
        )
        return FeedRow.objects.filter(feed__in=feeds, person__isnull=False).select_related("feed__source")

    def has_feed(self, *kinds: str) -> bool:
        return FeedImport.objects.filter(
            source__kind__in=kinds, status=ImportStatus.CONFIRMED, period=self.period
        ).exists()

    def grants(self):
        return Grant.objects.filter(district_id=self.district).exclude(status=GrantStatus.STOPPED)


@dataclass(frozen=True)
class Finding:
    person_id: int
    street_id: str
    explanation: str
    grant_id: int | None = None
    case_id: int | None = None
    feed_row_id: int | None = None
    confidence: str = Confidence.HIGH
    amount_at_stake: Decimal = ZERO
    effective_month: dt.date | None = None


def paid_since(pairs: Iterable[tuple[int, dt.date]]) -> dict[int, Decimal]:
    """For (grant, first month not owed) pairs: what locked payrolls paid from that month on (one query)."""
    pairs = list(pairs)
    if not pairs:
        return {}
    earliest = min(month for _g, month in pairs)
    wanted = dict(pairs)
    totals: dict[int, Decimal] = defaultdict(lambda: ZERO)
    rows = (
        PayrollLine.objects.filter(
            grant_id__in=wanted, month_for__gte=earliest, payroll__status=PayrollStatus.LOCKED
        )
        .exclude(bank_status=BankStatus.FAILED)
        .values("grant_id", "month_for")
        .annotate(total=Sum("amount"))
    )
    for row in rows:
        if row["month_for"] >= wanted[row["grant_id"]]:
            totals[row["grant_id"]] += row["total"]
    return totals


def _stop_findings(ctx: Context, rows, describe: Callable[[FeedRow], str]) -> list[Finding]:
    """Grants still paid to the people of these feed rows: stop from the month after the event and
    recover what was paid since."""
    by_person: dict[int, FeedRow] = {}
    for row in rows.order_by("event_date"):
        by_person.setdefault(row.person_id, row)
    grants = list(ctx.grants().filter(person_id__in=rows.values("person_id")))
    stops = {
        g.pk: max(add_months(month_start(by_person[g.person_id].event_date or ctx.period), 1), g.start_month)
        for g in grants
    }
    paid = paid_since(stops.items())
    findings = {}
    for grant in grants:
        row = by_person[grant.person_id]
        current = findings.get(grant.person_id)
        amount = paid.get(grant.pk, ZERO) + (current.amount_at_stake if current else ZERO)
        findings[grant.person_id] = Finding(
            person_id=grant.person_id,
            street_id=grant.street_id,
            grant_id=(current.grant_id if current else grant.pk),
            feed_row_id=row.pk,
            confidence=row.confidence,
            amount_at_stake=amount,
            effective_month=stops[grant.pk],
            explanation=f"{describe(row)}，补贴仍在发放；应自 {stops[grant.pk]:%Y年%m月} 起停发"
            + (f"，已多发 {amount} 元" if amount else ""),
        )
    return list(findings.values())


def death(ctx: Context) -> list[Finding]:
    return _stop_findings(
        ctx,
        ctx.rows(*DEATH_KINDS),
        lambda r: f"{r.feed.source.name}：{r.event_date:%Y-%m-%d} {DEATH_WORDS[r.feed.source.kind]}",
    )


def prison(ctx: Context) -> list[Finding]:
    return _stop_findings(
        ctx,
        ctx.rows(FeedKind.PRISON),
        lambda r: f"{r.feed.source.name}：{r.event_date:%Y-%m-%d} 判决生效服刑",
    )


def moved_out(ctx: Context) -> list[Finding]:
    rows = ctx.rows(FeedKind.MOVE).exclude(region__code__startswith=ctx.district[:6])
    return _stop_findings(ctx, rows, lambda r: f"{r.feed.source.name}：{r.event_date:%Y-%m-%d} 户籍迁出本区")


def certificate_cancelled(ctx: Context) -> list[Finding]:
    return _stop_findings(
        ctx, ctx.rows(FeedKind.CERT_CANCEL), lambda r: f"残联：{r.event_date:%Y-%m-%d} 残疾人证注销"
    )


def certificate_expired(ctx: Context) -> list[Finding]:
    """From the registry itself: the person's last certificate expired before the month."""
    valid_now = DisabilityCertificate.objects.filter(
        person=OuterRef("person_id"), status=CertificateStatus.VALID
    ).filter(Q(expires_on__isnull=True) | Q(expires_on__gte=ctx.period))
    grants = list(ctx.grants().filter(~Exists(valid_now)).select_related("person"))
    expiry = dict(
        DisabilityCertificate.objects.filter(
            person_id__in=ctx.grants().filter(~Exists(valid_now)).values("person_id"),
            status=CertificateStatus.VALID,
        ).values_list("person_id", "expires_on")
    )
    stops = {
        g.pk: max(
            add_months(month_start(expiry[g.person_id]), 1) if expiry.get(g.person_id) else ctx.period,
            g.start_month,
        )
        for g in grants
    }
    paid = paid_since(stops.items())
    found: dict[int, Finding] = {}
    for g in grants:
        if g.person_id in found:
            continue
        found[g.person_id] = Finding(
            person_id=g.person_id,
            street_id=g.street_id,
            grant_id=g.pk,
            amount_at_stake=paid.get(g.pk, ZERO),
            effective_month=stops[g.pk],
            explanation=(
                f"残疾人证已于 {expiry[g.person_id]:%Y-%m-%d} 到期未换发"
                if expiry.get(g.person_id)
                else "没有有效的残疾人证"
            )
            + f"；应自 {stops[g.pk]:%Y年%m月} 起停发",
        )
    return list(found.values())


def grade_changed(ctx: Context) -> list[Finding]:
    """A new grade from 残联: the 护理补贴 stops below grade 2, and the 生活补贴's amount changes. One
    finding per person, with the monthly differences of both kinds from the change on."""
    rows = {r.person_id: r for r in ctx.rows(FeedKind.CERT_CHANGE).order_by("event_date")}
    found: dict[int, Finding] = {}
    changed = ctx.rows(FeedKind.CERT_CHANGE).values("person_id")
    for grant in ctx.grants().filter(person_id__in=changed).order_by("kind").prefetch_related("periods"):
        row = rows[grant.person_id]
        period = max(grant.periods.all(), key=lambda p: (p.from_month, p.pk), default=None)
        if period is None or row.grade is None or period.grade == row.grade:
            continue
        month = max(add_months(month_start(row.event_date or ctx.period), 1), grant.start_month)
        old, new = ctx.amount(grant.kind, period.grade), ctx.amount(grant.kind, row.grade)
        months = max(0, (ctx.period.year - month.year) * 12 + ctx.period.month - month.month + 1)
        text = f"{Kind(grant.kind).label}每月 {old} 元应为 {new} 元"
        before = found.get(grant.person_id)
        found[grant.person_id] = Finding(
            person_id=grant.person_id,
            street_id=grant.street_id,
            grant_id=before.grant_id if before else grant.pk,
            feed_row_id=row.pk,
            confidence=row.confidence,
            effective_month=month,
            amount_at_stake=abs(old - new) * months + (before.amount_at_stake if before else ZERO),
            explanation=(before.explanation + "；" + text)
            if before
            else f"残联：残疾等级由{period.grade}级变为{row.grade}级（{row.event_date:%Y-%m-%d}），{text}",
        )
    return list(found.values())


LEFT_DIBAO_SQL = """
INSERT INTO matching_item (run_id, rule, direction, period, person_id, grant_id, confidence, district_id,
    street_id, explanation, amount_at_stake, effective_month, due_date, status, note, version)
SELECT %(run)s, 'left_dibao', 'stop', %(period)s, g.person_id, g.id, 'high', g.district_id, g.street_id,
    %(explanation)s, COALESCE(paid.total, 0), %(period)s, %(due)s, 'open', '', 1
FROM subsidies_grant g
LEFT JOIN (
    SELECT l.grant_id, SUM(l.amount) AS total
    FROM subsidies_payrollline l JOIN subsidies_payroll p ON p.id = l.payroll_id
    WHERE p.district_id = %(district)s AND p.status = 'locked' AND l.bank_status <> 'failed'
      AND l.month_for >= %(period)s
    GROUP BY l.grant_id
) paid ON paid.grant_id = g.id
WHERE g.district_id = %(district)s AND g.kind = 'living' AND g.status <> 'stopped'
  AND NOT EXISTS (
      SELECT 1 FROM matching_feedrow r
      JOIN matching_feedimport f ON f.id = r.feed_id JOIN matching_feedsource s ON s.id = f.source_id
      WHERE r.person_id = g.person_id AND f.status = 'confirmed' AND f.period = %(period)s
        AND s.kind IN ('dibao', 'dibao_edge'))
  AND NOT EXISTS (
      SELECT 1 FROM matching_item i WHERE i.person_id = g.person_id AND i.rule = 'left_dibao' AND i.period = %(period)s)
"""


def left_dibao(ctx: Context, *, run_id: int, due: dt.date) -> int:
    """生活补贴 recipients on neither the 低保 nor the 低保边缘 roster of the month. It can name a large
    share of all recipients (a roster sent in parts, a late roster), so its items are written by one
    INSERT … SELECT rather than built row by row."""
    if not ctx.has_feed(FeedKind.DIBAO, FeedKind.DIBAO_EDGE):
        return 0
    from django.db import connection

    params = {
        "run": run_id,
        "period": ctx.period,
        "district": ctx.district,
        "due": due,
        "explanation": f"{ctx.period:%Y年%m月}低保、低保边缘名单中没有此人，生活补贴应自本月起停发",
    }
    with connection.cursor() as cursor:
        cursor.execute(LEFT_DIBAO_SQL, params)
        return cursor.rowcount


def overlapping_allowance(ctx: Context) -> list[Finding]:
    """护理补贴 recipients who also receive 老年人护理补贴 or 工伤保险生活护理费."""
    rows = {r.person_id: r for r in ctx.rows(FeedKind.ELDERLY_CARE, FeedKind.WORK_INJURY)}
    found = []
    overlapping = ctx.rows(FeedKind.ELDERLY_CARE, FeedKind.WORK_INJURY).values("person_id")
    for grant in ctx.grants().filter(person_id__in=overlapping, kind=Kind.CARE):
        row = rows[grant.person_id]
        found.append(
            Finding(
                person_id=grant.person_id,
                street_id=grant.street_id,
                grant_id=grant.pk,
                feed_row_id=row.pk,
                confidence=row.confidence,
                effective_month=ctx.period,
                explanation=f"同时享受{row.feed.source.name}，与重度残疾人护理补贴不能同时享受",
            )
        )
    return found


def entitled_not_receiving(ctx: Context) -> list[Finding]:
    """主动发现: new or changed certificates of grade 1–2 without a 护理补贴, and 低保 people with a valid
    certificate without a 生活补贴, neither with an application in progress. Correlated EXISTS checks
    look up each feed row's person rather than materialising every grant of the city."""

    def has_grant(kind: str):
        return Grant.objects.filter(person_id=OuterRef("person_id"), kind=kind).exclude(
            status=GrantStatus.STOPPED
        )

    open_app = Application.objects.filter(person_id=OuterRef("person_id")).exclude(
        status__in=[ApplicationStatus.APPROVED, ApplicationStatus.REJECTED]
    )
    found: dict[int, Finding] = {}
    severe = ctx.rows(FeedKind.CERT_NEW, FeedKind.CERT_CHANGE).filter(
        grade__lte=2, person__district_id=ctx.district
    )
    for row in severe.filter(~Exists(has_grant(Kind.CARE)), ~Exists(open_app)).select_related("person"):
        amount = ctx.amount(Kind.CARE, row.grade)
        found[row.person_id] = Finding(
            person_id=row.person_id,
            street_id=row.person.street_id,
            feed_row_id=row.pk,
            confidence=row.confidence,
            amount_at_stake=amount,
            explanation=f"新办或变更为{row.grade}级残疾人证，未享受重度残疾人护理补贴（每月 {amount} 元）",
        )
    valid = DisabilityCertificate.objects.filter(status=CertificateStatus.VALID).filter(
        Q(expires_on__isnull=True) | Q(expires_on__gte=ctx.period)
    )
    poor = (
        ctx.rows(FeedKind.DIBAO, FeedKind.DIBAO_EDGE)
        .filter(person__district_id=ctx.district)
        .filter(
            ~Exists(has_grant(Kind.LIVING)),
            ~Exists(open_app),
            Exists(valid.filter(person_id=OuterRef("person_id"))),
        )
        .select_related("person")
    )
    poor = list(poor)
    people = [r.person_id for r in poor]
    grades: dict[int, int] = {}
    for start in range(0, len(people), 5000):  # bounded IN lists
        grades.update(
            valid.filter(person_id__in=people[start : start + 5000]).values_list("person_id", "grade")
        )
    for row in poor:
        if row.person_id in found:
            continue
        amount = ctx.amount(Kind.LIVING, grades[row.person_id])
        found[row.person_id] = Finding(
            person_id=row.person_id,
            street_id=row.person.street_id,
            feed_row_id=row.pk,
            confidence=row.confidence,
            amount_at_stake=amount,
            explanation=f"在{row.feed.source.name}中且持有效残疾人证，未享受困难残疾人生活补贴（每月 {amount} 元）",
        )
    return list(found.values())


def rehab_case_ended(ctx: Context) -> list[Finding]:
    """精康 clients still served (enrolled, active or suspended) who died, were declared dead or
    cremated, or whose household moved out of the district of the serving institution (a move without
    a destination counts as out). No money: the case is to be closed. One query: the feed rows of the
    month joined to the served cases of people living in the district, where the street of residence
    gets the item. Only the institution's name is read from the case, nothing clinical."""
    rows = (
        ctx.rows(*DEATH_KINDS, FeedKind.MOVE)
        .filter(person__district_id=ctx.district)
        .annotate(
            served=FilteredRelation(
                "person__rehab_cases", condition=Q(person__rehab_cases__status__in=SERVED_STATES)
            )
        )
        .filter(served__isnull=False)
        .annotate(went_to=Substr("region_id", 1, 6), served_in=Substr(F("served__district_id"), 1, 6))
        .filter(
            Q(feed__source__kind__in=DEATH_KINDS) | Q(region_id__isnull=True) | ~Q(went_to=F("served_in"))
        )
        .values_list(
            "pk",
            "person_id",
            "person__street_id",
            "event_date",
            "confidence",
            "feed__source__kind",
            "feed__source__name",
            "served__id",
            "served__institution__name",
        )
        .order_by("person_id", "event_date", "pk", "served__id")
    )
    best: dict[int, tuple] = {}  # a death before a move, then the earliest event
    institutions: dict[int, dict[int, str]] = defaultdict(dict)
    for row in rows:
        person_id, kind, case_id, institution = row[1], row[5], row[7], row[8]
        institutions[person_id].setdefault(case_id, institution)
        current = best.get(person_id)
        if current is None or (kind in DEATH_KINDS and current[5] not in DEATH_KINDS):
            best[person_id] = row
    found = []
    for person_id, (pk, _p, street_id, day, confidence, kind, source, _c, _i) in best.items():
        dead = kind in DEATH_KINDS
        names = "、".join(dict.fromkeys(institutions[person_id].values()))
        event = DEATH_WORDS[kind] if dead else "户籍迁出服务机构所在区"
        reason = DischargeReason.DECEASED if dead else DischargeReason.MOVED
        found.append(
            Finding(
                person_id=person_id,
                street_id=street_id,
                case_id=min(institutions[person_id]),
                feed_row_id=pk,
                confidence=confidence,
                explanation=f"{source}：{f'{day:%Y-%m-%d}' if day else '日期不详'} {event}；"
                f"仍为{names}的精康服务对象，应结案（{reason.label}）",
            )
        )
    return found


# (code, Chinese name, direction, function, stop reason for the grant when confirmed)
RULES: list[tuple[str, str, str, Callable[[Context], list[Finding]], str]] = [
    ("death", "死亡或火化仍在发放", Direction.STOP, death, "death"),
    ("prison", "服刑仍在发放", Direction.STOP, prison, "prison"),
    ("moved_out", "户籍迁出仍在发放", Direction.STOP, moved_out, "moved"),
    ("cert_cancelled", "残疾人证注销仍在发放", Direction.STOP, certificate_cancelled, "cert_cancelled"),
    ("cert_expired", "残疾人证到期仍在发放", Direction.STOP, certificate_expired, "cert_expired"),
    ("grade_changed", "残疾等级变更", Direction.STOP, grade_changed, ""),
    ("overlap", "同类补贴重复享受", Direction.STOP, overlapping_allowance, "overlap"),
    ("entitled", "应享未享（主动发现）", Direction.ENTITLED, entitled_not_receiving, ""),
    # No grant: confirmed and approved, it closes the 精康 case (comparison._close_cases).
    ("rehab_ended", "精康服务对象死亡或迁出", Direction.STOP, rehab_case_ended, ""),
]
# Rules that write their items themselves, set-based, inside the run's transaction.
SET_RULES: list[tuple[str, str, str, Callable[..., int], str]] = [
    ("left_dibao", "退出低保仍领生活补贴", Direction.STOP, left_dibao, "income"),
]
ALL_RULES = [*RULES, *SET_RULES]
RULE_NAMES = {code: name for code, name, *_rest in ALL_RULES}
RULE_STOP_REASON = {code: reason for code, _n, _d, _f, reason in ALL_RULES}
RULE_DIRECTION = {code: direction for code, _n, direction, _f, _r in ALL_RULES}
