"""Comparison rules: each a small set-based function from a district, a month and the confirmed feeds
to findings, one per person. Most are one SELECT run where the data is (`Sql`), its explanation
spelled in SQL, so that a district of a million grants is compared without carrying a row through
Python; a rule with few findings and more to say may build them in Python (`Finding`) from a query or
two. None changes anything: the run stages what they find and writes the items (comparison.py).

To add a rule: write a function `(ctx) -> Sql | list[Finding] | None` (None: the feeds it needs did not
come in) and put it in RULES with its Chinese name; test it on both databases.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import F, FilteredRelation, Q
from django.db.models.functions import Substr

from kangfu.core.months import add_months
from kangfu.core.selectors import provinces_in_service
from kangfu.core.sql import Dialect
from kangfu.matching.models import (
    Confidence,
    Direction,
    FeedImport,
    FeedKind,
    FeedRow,
    ImportStatus,
    source_kinds,
)
from kangfu.people.models import (
    CertificateStatus,
    DisabilityCertificate,
    IncomePeriod,
    IncomeStatus,
    Person,
    VitalStatus,
)
from kangfu.rehab.selectors import DISCHARGE_DECEASED, DISCHARGE_MOVED, SERVED
from kangfu.subsidies.models import (
    Application,
    ApplicationStatus,
    BankStatus,
    BenefitKind,
    Grant,
    GrantPeriod,
    GrantStatus,
    Kind,
    OtherBenefit,
    Payroll,
    PayrollLine,
    PayrollStatus,
    Policy,
)
from kangfu.subsidies.services.facts import policy_for, standard_amount


class T:
    """The tables the SQL below joins and the stored values it compares, as the models define them: a
    renamed table or a changed choice fails here, at import, not as a rule silently finding nothing."""

    person = Person._meta.db_table
    certificate = DisabilityCertificate._meta.db_table
    income_period = IncomePeriod._meta.db_table
    grant = Grant._meta.db_table
    grant_period = GrantPeriod._meta.db_table
    payroll = Payroll._meta.db_table
    payroll_line = PayrollLine._meta.db_table
    other_benefit = OtherBenefit._meta.db_table
    application = Application._meta.db_table
    stopped = GrantStatus.STOPPED.value
    locked = PayrollStatus.LOCKED.value
    failed = BankStatus.FAILED.value
    valid = CertificateStatus.VALID.value
    dibao = IncomeStatus.DIBAO.value


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

    def provinces(self) -> list[str]:
        """The provinces this deployment serves, read once per run."""
        cache = self.__dict__.setdefault("_provinces", [])
        if not cache:
            cache.append(provinces_in_service())
        return cache[0]

    def policy(self) -> Policy:
        """The district's policy (its own, else its city's), read once per run."""
        cache = self.__dict__.setdefault("_policy", [])
        if not cache:
            cache.append(policy_for(self.district))
        return cache[0]

    def feeds(self, *kinds: str):
        """The feeds confirmed for the period that may hold rows of these kinds (残联's mixed files
        among them when a certificate kind is asked for)."""
        return FeedImport.objects.filter(
            source__kind__in=source_kinds(kinds), status=ImportStatus.CONFIRMED, period=self.period
        )

    def rows(self, *kinds: str):
        """Matched rows of these kinds in the feeds confirmed for the period."""
        return FeedRow.objects.filter(
            feed__in=self.feeds(*kinds), kind__in=kinds, person__isnull=False
        ).select_related("feed__source")


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


@dataclass(frozen=True)
class Sql:
    """A rule as one SELECT of its findings' columns, in FOUND_COLUMNS order, run where the data is."""

    text: str
    params: dict


# What every rule yields per person, Sql or Finding alike.
FOUND_COLUMNS = (
    "person_id, grant_id, case_id, feed_row_id, confidence, street_id, explanation, amount_at_stake, "
    "effective_month"
)


def _dialect() -> Dialect:
    return Dialect.current()


def _params(ctx: Context, **more) -> dict:
    return {"district": ctx.district, "period": ctx.period, "prefix": ctx.district[:6] + "%", **more}


def _feed_rows(ctx: Context, *kinds: str, where: str = "") -> str | None:
    """The matched rows of these kinds in the month's confirmed feeds, with their kind (as
    source_kind) and their source's name, as a subquery; None when no such feed came in (the rule then
    has nothing to say)."""
    feeds = list(ctx.feeds(*kinds).values_list("pk", flat=True))
    if not feeds:
        return None
    return f"""
        SELECT r.id, r.person_id, r.event_date, r.region_id, r.grade, r.category, r.amount, r.confidence,
               r.kind AS source_kind, s.name AS source_name
        FROM matching_feedrow r
        JOIN matching_feedimport f ON f.id = r.feed_id JOIN matching_feedsource s ON s.id = f.source_id
        WHERE r.feed_id IN ({", ".join(str(int(pk)) for pk in feeds)}) AND r.person_id IS NOT NULL
          AND r.kind IN ({", ".join(f"'{FeedKind(k).value}'" for k in kinds)}) {where}"""


def _benefit_rows(kinds: tuple[str, ...], source_kind: str, source_name: str) -> str:
    """The registry's own record of other allowances (OtherBenefit) still running in the month, in
    the columns of `_feed_rows`: what a street entered at application or a visit is evidence too,
    whether or not the agency's roster came in this month."""
    return f"""
        SELECT CAST(NULL AS bigint) AS id, b.person_id, b.start_date AS event_date,
               CAST(NULL AS varchar(12)) AS region_id, CAST(NULL AS integer) AS grade,
               CAST(NULL AS integer) AS category, b.amount,
               'high' AS confidence, '{source_kind}' AS source_kind, '{source_name}' AS source_name
        FROM {T.other_benefit} b
        WHERE b.kind IN ({", ".join(f"'{k}'" for k in kinds)})
          AND (b.end_date IS NULL OR b.end_date >= %(period)s)"""


# A line without a date sorts after the dated ones on both databases (SQLite puts NULL first in an
# ascending order, PostgreSQL last): the same feeds must give the same month and money on either.
EARLIEST_DATED = "CASE WHEN e.event_date IS NULL THEN 1 ELSE 0 END, e.event_date, e.id"
LATEST_DATED = "CASE WHEN e.event_date IS NULL THEN 1 ELSE 0 END, e.event_date DESC, e.id DESC"


def _first_per_person(rows: str, order: str) -> str:
    return f"""
        SELECT x.* FROM (
            SELECT e.*, ROW_NUMBER() OVER (PARTITION BY e.person_id ORDER BY {order}) AS k FROM ({rows}) e
        ) x WHERE x.k = 1"""


ACTIVE_GRANT = f"g.district_id = %(district)s AND g.status <> '{T.stopped}'"
# An item goes to the street where the person lives, which can visit, not to the grant's street
# (they differ after a move within the city); the district that pays the grant approves it.
RESIDENCE = "residence"


def _stopping(ctx: Context, hits: str, explanation: str, *, extra: tuple[str, ...] = (), **params) -> Sql:
    """Findings that stop grants: `hits` selects, per grant to stop, grant_id, person_id, street_id,
    row_id, confidence, event_date, source_kind, source_name and stop (the first month not owed),
    and the `extra` columns the explanation needs. One finding per person: the money at stake is what
    locked payrolls paid from each grant's stop month on (never the month compared, not paid yet),
    all grants together. `explanation` says why in Chinese, from the columns of `per`."""
    more = "".join(f", MIN(h.{column}) AS {column}" for column in extra)
    return Sql(
        f"""
        WITH hit AS ({hits}),
        per AS (
            SELECT h.person_id, MIN(h.grant_id) AS grant_id,
                   MIN(h.row_id) AS row_id, MIN(h.confidence) AS confidence, MIN(h.event_date) AS event_date,
                   MIN(h.source_kind) AS source_kind, MIN(h.source_name) AS source_name,
                   COALESCE(SUM(l.amount), 0) AS amount, MIN(h.stop) AS stop{more}
            FROM hit h
            LEFT JOIN {T.payroll_line} l ON l.grant_id = h.grant_id AND l.month_for >= h.stop
                AND l.month_for < %(period)s AND l.bank_status <> '{T.failed}'
                AND l.payroll_id IN (SELECT p.id FROM {T.payroll} p WHERE p.status = '{T.locked}')
            GROUP BY h.person_id
        )
        SELECT per.person_id, grant_id, CAST(NULL AS bigint), row_id, confidence, {RESIDENCE}.street_id,
               {explanation}, amount, stop
        FROM per JOIN {T.person} {RESIDENCE} ON {RESIDENCE}.id = per.person_id""",
        _params(ctx, **params),
    )


def _event_stop(
    ctx: Context, rows: str | None, describe: Callable[[Dialect], str], *, verb: str = "停发"
) -> Sql | None:
    """Grants still paid to the people of these feed rows: stop (or, as `verb` says, suspend) from
    the month after the (earliest) event, not before the grant began, and recover what was paid
    since. `describe` tells the event from the columns event_date, source_kind and source_name."""
    if rows is None:
        return None
    sql = _dialect()
    stop = sql.greatest(sql.next_month("COALESCE(e.event_date, %(period)s)"), "g.start_month")
    return _stopping(
        ctx,
        f"""
        SELECT g.id AS grant_id, g.person_id, g.street_id, e.id AS row_id, e.confidence, e.event_date,
               e.source_kind, e.source_name, {stop} AS stop
        FROM ({_first_per_person(rows, EARLIEST_DATED)}) e
        JOIN {T.grant} g ON g.person_id = e.person_id
        WHERE {ACTIVE_GRANT}""",
        f"""{describe(sql)} || '，补贴仍在发放；应自 ' || {sql.month("stop")} || ' 起{verb}'
            || CASE WHEN amount > 0 THEN '，已多发 ' || {sql.money("amount")} || ' 元' ELSE '' END""",
    )


def death(ctx: Context) -> Sql | None:
    return _event_stop(
        ctx,
        _feed_rows(ctx, *DEATH_KINDS),
        lambda d: (
            f"""source_name || '：' || {d.day("event_date")} || ' '
            || CASE source_kind WHEN 'declared_death' THEN '宣告死亡' ELSE '死亡' END"""
        ),
    )


def prison(ctx: Context) -> Sql | None:
    return _event_stop(
        ctx,
        _feed_rows(ctx, FeedKind.PRISON),
        lambda d: f"source_name || '：' || {d.day('event_date')} || ' 判决生效服刑'",
    )


def _served(ctx: Context, column: str) -> str:
    """Whether a region code lies in the provinces this deployment serves (its streets are loaded)."""
    provinces = ", ".join(f"'{p}'" for p in ctx.provinces() if p.isdigit()) or "'--'"
    return f"substr({column}, 1, 2) IN ({provinces})"


def moved_out(ctx: Context) -> Sql | None:
    """A move out of the deployment's region stops payment; a move to an unknown place counts as out.
    A move to another district served here is a transfer (`moved_within`), not a stop."""
    return _event_stop(
        ctx,
        _feed_rows(
            ctx, FeedKind.MOVE, where=f"AND (r.region_id IS NULL OR NOT {_served(ctx, 'r.region_id')})"
        ),
        lambda d: f"source_name || '：' || {d.day('event_date')} || ' 户籍迁出本市'",
    )


def moved_within(ctx: Context) -> Sql | None:
    """A household moved to another district served here keeps its subsidies: the grants move to the
    new district from the month after the one compared (what was paid meanwhile was owed all the
    same, so nothing is at stake). The new district's name is read through an abolished code's
    successor (120107 塘沽区 → 滨海新区)."""
    rows = _feed_rows(
        ctx,
        FeedKind.MOVE,
        where=f"AND r.region_id IS NOT NULL AND r.region_id NOT LIKE %(prefix)s AND {_served(ctx, 'r.region_id')}",
    )
    if rows is None:
        return None
    sql = _dialect()
    return Sql(
        f"""
        SELECT e.person_id, MIN(g.id), CAST(NULL AS bigint), MIN(e.id), MIN(e.confidence),
               MIN({RESIDENCE}.street_id),
               MIN(e.source_name) || '：' || MIN({sql.day("e.event_date")}) || ' 户籍迁往'
               || MIN(COALESCE(now.name, d.name, substr(e.region_id, 1, 6))) || '，补贴仍由本区发放；应自 '
               || {sql.month(sql.next_month("%(period)s"))} || ' 起转由迁入区发放',
               0, {sql.next_month("%(period)s")}
        FROM ({_first_per_person(rows, LATEST_DATED)}) e
        JOIN {T.grant} g ON g.person_id = e.person_id AND {ACTIVE_GRANT}
        JOIN {T.person} {RESIDENCE} ON {RESIDENCE}.id = e.person_id
        LEFT JOIN core_region d ON d.code = substr(e.region_id, 1, 6) || '000000'
        LEFT JOIN core_region now ON now.code = d.successor_id
        WHERE substr(COALESCE(now.code, d.code, e.region_id), 1, 6) <> substr(%(district)s, 1, 6)
        GROUP BY e.person_id""",
        _params(ctx),
    )


def declared_missing(ctx: Context) -> Sql | None:
    """A court's declaration of disappearance suspends (not stops) the grants from the month after
    it takes effect: a person who reappears is paid again once the declaration is revoked."""
    return _event_stop(
        ctx,
        _feed_rows(ctx, FeedKind.DECLARED_MISSING),
        lambda d: f"source_name || '：' || {d.day('event_date')} || ' 宣告失踪'",
        verb="暂停发放",
    )


def tekun(ctx: Context) -> Sql | None:
    """特困供养 excludes both subsidies (国发〔2015〕52号): a person on the month's 特困 roster stops
    both from the month after entering it (or, without a date, from the next month)."""
    return _event_stop(
        ctx,
        _feed_rows(ctx, FeedKind.TEKUN),
        lambda d: (
            f"""source_name || '：' || CASE WHEN event_date IS NULL THEN '' ELSE {d.day("event_date")} || ' 起' END
            || '纳入特困人员救助供养，不再享受两项补贴'"""
        ),
    )


def certificate_cancelled(ctx: Context) -> Sql | None:
    return _event_stop(
        ctx,
        _feed_rows(ctx, FeedKind.CERT_CANCEL),
        lambda d: f"'残联：' || {d.day('event_date')} || ' 残疾人证注销'",
    )


def certificate_expired(ctx: Context) -> Sql:
    """From the registry itself: the person's certificate expired before the month, or there is none.
    Stop from the month after the expiry (or from this month), not before the grant began. A 换领
    (renewal) reported by 残联 this month cures the expiry, though the registry has not caught up."""
    sql = _dialect()
    renewed = _feed_rows(ctx, FeedKind.CERT_RENEW)
    cured = f"AND NOT EXISTS (SELECT 1 FROM ({renewed}) n WHERE n.person_id = g.person_id)" if renewed else ""
    stop = sql.greatest(f"COALESCE({sql.next_month('c.expires_on')}, %(period)s)", "g.start_month")
    return _stopping(
        ctx,
        f"""
        SELECT g.id AS grant_id, g.person_id, g.street_id, CAST(NULL AS bigint) AS row_id,
               'high' AS confidence, c.expires_on AS event_date, '' AS source_kind, '' AS source_name,
               {stop} AS stop
        FROM {T.grant} g
        LEFT JOIN {T.certificate} c ON c.person_id = g.person_id AND c.status = '{T.valid}'
        WHERE {ACTIVE_GRANT} AND (c.id IS NULL OR c.expires_on < %(period)s) {cured}""",
        f"""CASE WHEN event_date IS NULL THEN '没有有效的残疾人证'
            ELSE '残疾人证已于 ' || {sql.day("event_date")} || ' 到期未换发' END
            || '；应自 ' || {sql.month("stop")} || ' 起停发'""",
    )


def _standard(ctx: Context, kind: str, grade: str) -> str:
    """The month's standard for a kind and grade as a CASE over the handful of combinations."""
    whens = " ".join(
        f"WHEN {kind} = '{k}' AND {grade} = {g} THEN {ctx.amount(k, g)}"
        for k in Kind.values
        for g in (1, 2, 3, 4)
    )
    return f"CASE {whens} ELSE 0 END"


def grade_changed(ctx: Context) -> Sql | None:
    """A new grade (or category) from 残联, its latest change of the month, where money changes: a
    change within a band (1↔2, 3↔4) pays the same and raises nothing. A downgrade takes the new rate
    from the month after the new certificate and stops the 护理补贴 below grade 2 unless the district's
    care extension covers the category; an upgrade pays from the certificate's month, with at most
    the policy's back-pay months before the month compared. One finding per person: the monthly
    differences of both kinds over the months before the one compared (never it: not paid yet)."""
    rows = _feed_rows(ctx, FeedKind.CERT_CHANGE, where="AND r.grade IS NOT NULL")
    if rows is None:
        return None
    sql = _dialect()
    policy = ctx.policy()
    extended = ", ".join(str(int(c)) for c in policy.care_extra_categories.split(",") if c.strip()) or "0"
    certified = "COALESCE(h.event_date, %(period)s)"
    month = sql.greatest(
        f"""CASE WHEN h.new_grade < h.old_grade
            THEN {sql.greatest(sql.month_start(certified), "%(back_pay_from)s")}
            ELSE {sql.next_month(certified)} END""",
        "h.start_month",
    )
    line = {
        Kind.CARE: f"""MAX(CASE WHEN kind = 'care' THEN '{Kind.CARE.label}每月 ' || {sql.money("old_amount")}
            || CASE WHEN stops = 1 THEN ' 元应停发' ELSE ' 元应为 ' || {sql.money("new_amount")} || ' 元' END END)""",
        Kind.LIVING: f"""MAX(CASE WHEN kind = 'living' THEN '{Kind.LIVING.label}每月 ' || {sql.money("old_amount")}
            || ' 元应为 ' || {sql.money("new_amount")} || ' 元' END)""",
    }
    months = sql.greatest("0", sql.months("month", "%(period)s"))
    return Sql(
        f"""
        WITH c AS ({_first_per_person(rows, LATEST_DATED)}),
        hit AS (
            SELECT h.*, COALESCE(h.row_category, h.old_category) AS new_category FROM (
                SELECT g.id AS grant_id, g.person_id, g.kind, g.street_id, g.start_month, c.id AS row_id,
                       c.confidence, c.event_date, c.grade AS new_grade, c.category AS row_category,
                       (SELECT p.grade FROM {T.grant_period} p WHERE p.grant_id = g.id
                        ORDER BY p.from_month DESC, p.id DESC LIMIT 1) AS old_grade,
                       (SELECT p.category FROM {T.grant_period} p WHERE p.grant_id = g.id
                        ORDER BY p.from_month DESC, p.id DESC LIMIT 1) AS old_category
                FROM c JOIN {T.grant} g ON g.person_id = c.person_id
                WHERE {ACTIVE_GRANT}
            ) h
        ),
        priced AS (
            SELECT h.*, {month} AS month,
                   CASE WHEN h.kind = 'care' AND h.new_grade > 2 AND h.new_category NOT IN ({extended})
                        THEN 1 ELSE 0 END AS stops,
                   {_standard(ctx, "h.kind", "h.old_grade")} AS old_amount,
                   CASE WHEN h.kind = 'care' AND h.new_grade > 2 AND h.new_category NOT IN ({extended}) THEN 0
                        ELSE {_standard(ctx, "h.kind", "h.new_grade")} END AS new_amount
            FROM hit h
        ),
        changed AS (SELECT * FROM priced WHERE old_amount <> new_amount OR stops = 1),
        per AS (
            SELECT person_id, MIN(grant_id) AS grant_id, MIN(row_id) AS row_id,
                   MIN(confidence) AS confidence, MIN(event_date) AS event_date, MIN(new_grade) AS new_grade,
                   COALESCE(MAX(CASE WHEN kind = 'care' THEN old_grade END), MAX(old_grade)) AS old_grade,
                   SUM(ABS(old_amount - new_amount) * {months}) AS amount, MIN(month) AS month,
                   {line[Kind.CARE]} AS care_text, {line[Kind.LIVING]} AS living_text
            FROM changed GROUP BY person_id
        )
        SELECT per.person_id, grant_id, CAST(NULL AS bigint), row_id, confidence, {RESIDENCE}.street_id,
               '残联：残疾等级由' || CAST(old_grade AS varchar(2)) || '级变为' || CAST(new_grade AS varchar(2))
               || '级（' || {sql.day("event_date")} || '），自 ' || {sql.month("month")} || ' 起'
               || CASE WHEN care_text IS NOT NULL AND living_text IS NOT NULL THEN care_text || '；' || living_text
                       ELSE COALESCE(care_text, living_text) END,
               amount, month
        FROM per JOIN {T.person} {RESIDENCE} ON {RESIDENCE}.id = per.person_id""",
        _params(ctx, back_pay_from=add_months(ctx.period, -policy.back_pay_months)),
    )


def left_dibao(ctx: Context) -> Sql | None:
    """Leaving 低保, as the district's policy reads it: a 生活补贴 recipient absent from the month's 低保
    roster whose grant rests on 低保, i.e. who holds no other income status the policy accepts (低保边缘
    in the registry for the month, or on its roster). A grant resting on 低保边缘 is never touched.
    The roster gives no date: the stop is from the month compared, unless the registry has ended
    the person's 低保 before, when it is the month after that end, the month the payroll has held
    the grant from (`payroll._hold_statement` reads income periods over the same days). It can name
    a large share of all recipients (a roster sent in parts, a late roster): the district sees them
    all."""
    roster = _feed_rows(ctx, FeedKind.DIBAO)
    if roster is None:
        return None
    sql = _dialect()
    others = sorted(
        s for s in ctx.policy().living_income_statuses.split(",") if s.strip() and s.strip() != "dibao"
    )
    on_other_roster = ""
    if "dibao_edge" in others and (edge := _feed_rows(ctx, FeedKind.DIBAO_EDGE)) is not None:
        on_other_roster = f"AND NOT EXISTS (SELECT 1 FROM ({edge}) r WHERE r.person_id = g.person_id)"
    other_basis = (
        f"""AND NOT EXISTS (SELECT 1 FROM {T.income_period} i WHERE i.person_id = g.person_id
                AND i.status IN ({", ".join(f"'{s}'" for s in others)})
                AND i.start_date <= %(month_end)s AND (i.end_date IS NULL OR i.end_date >= %(period)s))"""
        if others
        else ""
    )
    # The registry's end of 低保, when none of the person's 低保 periods runs beyond the month.
    ended = f"""(SELECT MAX(i.end_date) FROM {T.income_period} i WHERE i.person_id = g.person_id
                 AND i.status = '{T.dibao}'
                 AND NOT EXISTS (SELECT 1 FROM {T.income_period} o WHERE o.person_id = g.person_id
                     AND o.status = '{T.dibao}' AND (o.end_date IS NULL OR o.end_date > %(month_end)s)))"""
    stop = sql.greatest(f"COALESCE({sql.next_month('x.event_date')}, %(period)s)", "x.start_month")
    return _stopping(
        ctx,
        f"""
        SELECT x.grant_id, x.person_id, x.street_id, CAST(NULL AS bigint) AS row_id, 'high' AS confidence,
               x.event_date, '' AS source_kind, '' AS source_name, {stop} AS stop
        FROM (
            SELECT g.id AS grant_id, g.person_id, g.street_id, g.start_month, {ended} AS event_date
            FROM {T.grant} g
            WHERE {ACTIVE_GRANT} AND g.kind = 'living'
              AND NOT EXISTS (SELECT 1 FROM ({roster}) r WHERE r.person_id = g.person_id)
              {on_other_roster} {other_basis}
        ) x""",
        f"""CASE WHEN event_date IS NULL THEN %(text)s || '本月'
            ELSE '低保已于 ' || {sql.day("event_date")} || ' 终止，' || %(text)s || ' ' || {sql.month("stop")} || ' '
            END || '起停发'""",
        text=f"{ctx.period:%Y年%m月}低保名单中没有此人，生活补贴应自",
        month_end=add_months(ctx.period, 1) - dt.timedelta(days=1),
    )


def work_injury_care(ctx: Context) -> Sql:
    """工伤保险生活护理费 excludes both subsidies (国发〔2015〕52号): every grant still paid stops from
    the month after the allowance's start (享受起始年月), and what was paid since is at stake. The
    evidence is 人社's roster of the month and the registry's own record of the allowance."""
    rows = _benefit_rows(("work_injury_care",), FeedKind.WORK_INJURY, "登记的其他补贴")
    roster = _feed_rows(ctx, FeedKind.WORK_INJURY)
    if roster is not None:
        rows = f"{roster} UNION ALL {rows}"
    return _event_stop(
        ctx,
        rows,
        lambda d: (
            f"""source_name || '：' || CASE WHEN event_date IS NULL THEN '享受起始年月不详，'
                ELSE {d.month("event_date")} || '起' END
            || '享受工伤保险生活护理费，不再享受困难残疾人生活补贴和重度残疾人护理补贴'"""
        ),
    )


# Feed rows before registry records (whose id is null), then in line order: the same on both databases.
_NULLS_LAST = "CASE WHEN e.id IS NULL THEN 1 ELSE 0 END, e.id"


def _same_nature(ctx: Context) -> str:
    """Per 护理补贴 still paid, the highest allowance of the same nature the person is known to get
    (老年人护理补贴 on the month's roster, or recorded in the registry as 老年人护理补贴 or another
    allowance of the same nature) beside the grant's own monthly amount (ours): what the two 择高
    rules read."""
    rows = _benefit_rows(("elderly_care", "same_nature"), FeedKind.ELDERLY_CARE, "登记的同类补贴")
    roster = _feed_rows(ctx, FeedKind.ELDERLY_CARE)
    if roster is not None:
        rows = f"{roster} UNION ALL {rows}"
    # The highest known amount decides; an allowance of unknown amount only when none is known.
    first = _first_per_person(
        rows, f"CASE WHEN e.amount IS NULL THEN 1 ELSE 0 END, e.amount DESC, {_NULLS_LAST}"
    )
    return f"""
        SELECT y.*, {_standard(ctx, "'care'", "y.grade")} AS ours FROM (
            SELECT g.id AS grant_id, g.person_id, g.street_id, g.start_month, e.id AS row_id, e.confidence,
                   e.event_date, e.source_kind, e.source_name, e.amount AS other_amount,
                   (SELECT p.grade FROM {T.grant_period} p WHERE p.grant_id = g.id
                    ORDER BY p.from_month DESC, p.id DESC LIMIT 1) AS grade
            FROM ({first}) e JOIN {T.grant} g ON g.person_id = e.person_id
            WHERE {ACTIVE_GRANT} AND g.kind = 'care'
        ) y"""


def overlapping_allowance(ctx: Context) -> Sql:
    """择高: a 护理补贴 recipient who also gets 老年人护理补贴 (or an allowance of the same nature) of a
    higher (or unknown) monthly amount loses the 护理补贴 from the month after the later of the two
    starts; what was paid since is at stake. When ours is the higher, `allowance_kept` says so."""
    sql = _dialect()
    pairs = _same_nature(ctx)
    stop = sql.next_month(sql.greatest("COALESCE(x.event_date, %(period)s)", "x.start_month"))
    return _stopping(
        ctx,
        f"""
        SELECT x.grant_id, x.person_id, x.street_id, x.row_id, x.confidence, x.event_date, x.source_kind,
               x.source_name, {stop} AS stop, x.other_amount, x.ours
        FROM ({pairs}) x WHERE x.other_amount IS NULL OR x.other_amount > x.ours""",
        f"""source_name || '：' || CASE WHEN event_date IS NULL THEN '' ELSE {sql.month("event_date")} || '起' END
            || CASE WHEN other_amount IS NULL THEN '享受老年人护理补贴等同类补贴（月金额不详，请核实）'
               ELSE '每月 ' || {sql.money("other_amount")} || ' 元，高于重度残疾人护理补贴每月 '
                    || {sql.money("ours")} || ' 元' END
            || '，择高不再发放重度残疾人护理补贴；应自 ' || {sql.month("stop")} || ' 起停发'
            || CASE WHEN amount > 0 THEN '，已多发 ' || {sql.money("amount")} || ' 元' ELSE '' END""",
        extra=("other_amount", "ours"),
    )


def allowance_kept(ctx: Context) -> Sql:
    """择高, the other way: the allowance of the same nature is not higher than the 护理补贴, which is
    kept. An item all the same, so that the street checks the amount and the district closes it as
    保留 (kept), on record, without touching the grant; once, not every month: not while an earlier
    one is open or kept (a higher amount later is the other rule's)."""
    sql = _dialect()
    pairs = _same_nature(ctx)
    return Sql(
        f"""
        SELECT x.person_id, MIN(x.grant_id), CAST(NULL AS bigint), MIN(x.row_id), MIN(x.confidence),
               {RESIDENCE}.street_id,
               MIN(x.source_name || '：每月 ' || {sql.money("x.other_amount")} || ' 元，不高于重度残疾人护理补贴每月 '
                   || {sql.money("x.ours")} || ' 元，择高保留重度残疾人护理补贴'),
               0, CAST(NULL AS date)
        FROM ({pairs}) x JOIN {T.person} {RESIDENCE} ON {RESIDENCE}.id = x.person_id
        WHERE x.other_amount <= x.ours
          AND NOT EXISTS (SELECT 1 FROM matching_item i WHERE i.person_id = x.person_id
              AND i.rule = 'overlap_kept' AND i.period < %(period)s AND i.status <> 'dismissed')
        GROUP BY x.person_id, {RESIDENCE}.street_id""",
        _params(ctx),
    )


def _may_be_granted(ctx: Context, kind: str) -> str:
    """What an application would check of the person `e.person_id` (p) before granting `kind`
    (subsidies.rules), as SQL over the registry and the month's feeds: alive, household registered in
    the district, not 特困, not on 工伤保险生活护理费, and for 生活补贴 not an orphan's allowance. The
    certificate and income status are the branch's own evidence."""
    excluded = [
        _feed_rows(ctx, FeedKind.TEKUN),
        _feed_rows(ctx, FeedKind.WORK_INJURY),
    ]
    on_roster = "".join(
        f" AND NOT EXISTS (SELECT 1 FROM ({rows}) x WHERE x.person_id = e.person_id)"
        for rows in excluded
        if rows
    )
    benefits = [BenefitKind.WORK_INJURY_CARE] + ([BenefitKind.ORPHAN] if kind == Kind.LIVING else [])
    return f"""p.vital_status = '{VitalStatus.NORMAL}' AND p.hukou_region_id LIKE %(prefix)s
        AND NOT EXISTS (SELECT 1 FROM {T.income_period} i WHERE i.person_id = e.person_id
            AND i.status = '{IncomeStatus.TEKUN}' AND i.start_date <= %(period)s
            AND (i.end_date IS NULL OR i.end_date >= %(period)s))
        AND NOT EXISTS (SELECT 1 FROM {T.other_benefit} b WHERE b.person_id = e.person_id
            AND b.kind IN ({", ".join(f"'{b}'" for b in benefits)}) AND b.start_date <= %(period)s
            AND (b.end_date IS NULL OR b.end_date >= %(period)s)){on_roster}"""


def entitled_not_receiving(ctx: Context) -> Sql | None:
    """主动发现: new or changed certificates of grade 1–2 without a 护理补贴, and people on the income
    rosters the district's policy accepts for 生活补贴 (低保, and 低保边缘 where it counts) with a valid
    certificate without a 生活补贴, neither with an application in progress; one finding per person,
    the certificate first. Each applies the application's own exclusions (`_may_be_granted`), so no
    item proposes what could not be granted. Correlated NOT EXISTS look up each feed row's person
    rather than every grant of the city."""
    severe = _feed_rows(ctx, FeedKind.CERT_NEW, FeedKind.CERT_CHANGE, where="AND r.grade <= 2")
    accepted = {s.strip() for s in ctx.policy().living_income_statuses.split(",") if s.strip()} or {"dibao"}
    poor_kinds = [k for k in (FeedKind.DIBAO, FeedKind.DIBAO_EDGE) if k.value in accepted]
    poor = _feed_rows(ctx, *poor_kinds) if poor_kinds else None
    if severe is None and poor is None:
        return None
    sql = _dialect()

    def without(kind: str) -> str:
        return f"""NOT EXISTS (SELECT 1 FROM {T.grant} g WHERE g.person_id = e.person_id
                    AND g.kind = '{kind}' AND g.status <> '{T.stopped}')
            AND NOT EXISTS (SELECT 1 FROM {T.application} a WHERE a.person_id = e.person_id
                    AND a.status NOT IN ('{ApplicationStatus.APPROVED}', '{ApplicationStatus.REJECTED}'))
            AND {_may_be_granted(ctx, kind)}"""

    found = []
    if severe is not None:
        care = _standard(ctx, "'care'", "e.grade")
        found.append(f"""
            SELECT e.person_id, e.id AS row_id, e.confidence, p.street_id, {care} AS amount,
                   '新办或变更为' || CAST(e.grade AS varchar(2)) || '级残疾人证，未享受重度残疾人护理补贴（每月 '
                   || {sql.money(care)} || ' 元）' AS text, 1 AS rank
            FROM ({severe}) e JOIN {T.person} p ON p.id = e.person_id
            WHERE {without(Kind.CARE)}""")
    if poor is not None:
        living = _standard(ctx, "'living'", "c.grade")
        # Named like the first branch: without a certificate feed this branch is the whole query.
        found.append(f"""
            SELECT e.person_id, e.id AS row_id, e.confidence, p.street_id, {living} AS amount,
                   '在' || e.source_name || '中且持有效残疾人证，未享受困难残疾人生活补贴（每月 '
                   || {sql.money(living)} || ' 元）' AS text, 2 AS rank
            FROM ({poor}) e JOIN {T.person} p ON p.id = e.person_id
            JOIN {T.certificate} c ON c.person_id = e.person_id AND c.status = '{T.valid}'
                AND (c.expires_on IS NULL OR c.expires_on >= %(period)s)
            WHERE {without(Kind.LIVING)}""")
    return Sql(
        f"""
        SELECT person_id, CAST(NULL AS bigint), CAST(NULL AS bigint), row_id, confidence, street_id, text,
               amount, CAST(NULL AS date)
        FROM ({_first_per_person(" UNION ALL ".join(found), "e.rank, e.row_id DESC")}) x""",
        _params(ctx),
    )


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
                "person__rehab_cases", condition=Q(person__rehab_cases__status__in=SERVED)
            )
        )
        .filter(served__isnull=False)
        .annotate(went_to=Substr("region_id", 1, 6), served_in=Substr(F("served__district_id"), 1, 6))
        .filter(Q(kind__in=DEATH_KINDS) | Q(region_id__isnull=True) | ~Q(went_to=F("served_in")))
        .values_list(
            "pk",
            "person_id",
            "person__street_id",
            "event_date",
            "confidence",
            "kind",
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
        reason = (DISCHARGE_DECEASED if dead else DISCHARGE_MOVED).label
        found.append(
            Finding(
                person_id=person_id,
                street_id=street_id,
                case_id=min(institutions[person_id]),
                feed_row_id=pk,
                confidence=confidence,
                explanation=f"{source}：{f'{day:%Y-%m-%d}' if day else '日期不详'} {event}；"
                f"仍为{names}的精康服务对象，应结案（{reason}）",
            )
        )
    return found


Rule = Callable[[Context], "Sql | list[Finding] | None"]

# (code, Chinese name, direction, function, stop reason for the grant when confirmed)
RULES: list[tuple[str, str, str, Rule, str]] = [
    ("death", "死亡或火化仍在发放", Direction.STOP, death, "death"),
    ("prison", "服刑仍在发放", Direction.STOP, prison, "prison"),
    ("missing", "宣告失踪仍在发放", Direction.STOP, declared_missing, "missing"),
    ("moved_out", "户籍迁出本市仍在发放", Direction.STOP, moved_out, "moved"),
    ("moved_within", "户籍迁往本市其他区", Direction.TRANSFER, moved_within, ""),
    ("cert_cancelled", "残疾人证注销仍在发放", Direction.STOP, certificate_cancelled, "cert_cancelled"),
    ("cert_expired", "残疾人证到期仍在发放", Direction.STOP, certificate_expired, "cert_expired"),
    ("grade_changed", "残疾等级变更", Direction.STOP, grade_changed, ""),
    ("left_dibao", "退出低保仍领生活补贴", Direction.STOP, left_dibao, "income"),
    ("tekun", "特困供养仍在发放", Direction.STOP, tekun, "excluded"),
    ("work_injury", "享受工伤保险生活护理费仍在发放", Direction.STOP, work_injury_care, "excluded"),
    ("overlap", "同类补贴择高停发", Direction.STOP, overlapping_allowance, "overlap"),
    ("overlap_kept", "同类补贴择高保留", Direction.KEEP, allowance_kept, ""),
    ("entitled", "应享未享（主动发现）", Direction.ENTITLED, entitled_not_receiving, ""),
    # No grant: confirmed and approved, it closes the 精康 case (comparison._close_cases).
    ("rehab_ended", "精康服务对象死亡或迁出", Direction.STOP, rehab_case_ended, ""),
]
RULE_NAMES = {code: name for code, name, *_rest in RULES}
RULE_STOP_REASON = {code: reason for code, _n, _d, _f, reason in RULES}
RULE_DIRECTION = {code: direction for code, _n, direction, _f, _r in RULES}
