"""The SQL of a payroll run, with the tables and stored values it names taken from the models (as
`matching.rules.T` does), so that a renamed table or a changed choice cannot silently break it."""

from __future__ import annotations

import datetime as dt

from django.db import connection

from kangfu.core.models import Region
from kangfu.people.models import (
    CertificateStatus,
    DisabilityCertificate,
    IncomePeriod,
    IncomeStatus,
    Person,
    VitalStatus,
)
from kangfu.subsidies.models import (
    BankStatus,
    BenefitKind,
    Grant,
    GrantPeriod,
    GrantStatus,
    HeldGrant,
    HoldRule,
    Kind,
    LineType,
    Month,
    OtherBenefit,
    Payroll,
    PayrollLine,
    PayrollStatus,
    Standard,
)
from kangfu.subsidies.services import facts


class T:
    """The tables the payroll's SQL names and the stored values it writes and compares, as the models
    define them: a renamed table or a changed choice fails here, at import, or in the test that runs
    every statement (test_payroll_sql), not as a payroll that silently pays or holds the wrong grants."""

    grant = Grant._meta.db_table
    grant_period = GrantPeriod._meta.db_table
    standard = Standard._meta.db_table
    month = Month._meta.db_table
    payroll = Payroll._meta.db_table
    payroll_line = PayrollLine._meta.db_table
    held = HeldGrant._meta.db_table
    other_benefit = OtherBenefit._meta.db_table
    person = Person._meta.db_table
    certificate = DisabilityCertificate._meta.db_table
    income_period = IncomePeriod._meta.db_table
    active = GrantStatus.ACTIVE.value
    living = Kind.LIVING.value
    care = Kind.CARE.value
    locked = PayrollStatus.LOCKED.value
    pending = BankStatus.PENDING.value
    failed = BankStatus.FAILED.value
    regular = LineType.REGULAR.value
    arrears = LineType.ARREARS.value
    recovery = LineType.RECOVERY.value
    normal = VitalStatus.NORMAL.value
    valid = CertificateStatus.VALID.value
    dibao = IncomeStatus.DIBAO.value
    tekun = IncomeStatus.TEKUN.value
    work_injury_care = BenefitKind.WORK_INJURY_CARE.value
    orphan = BenefitKind.ORPHAN.value
    elderly_care = BenefitKind.ELDERLY_CARE.value
    held_vital = HoldRule.VITAL.value
    held_certificate = HoldRule.CERTIFICATE.value
    held_moved = HoldRule.MOVED.value
    held_excluded = HoldRule.EXCLUDED.value
    held_income = HoldRule.INCOME.value
    held_grade = HoldRule.GRADE.value


def _placeholders(values: list) -> str:
    return ", ".join(["%s"] * len(values))


def _hold_statement(policy, *, payroll_id: int, district: str, month: dt.date, month_end: dt.date):
    """One INSERT that re-checks every active grant of the district in one pass and holds each that
    fails a rule, under the first rule it fails. The conditions mean what the rules in
    `kangfu.subsidies.rules` mean (tests hold the two together). A person has at most one valid
    certificate (a constraint), so it is joined, not searched for per rule."""
    living = [s for s in policy.living_income_statuses.split(",") if s] or [T.dibao]
    extra = [int(c) for c in policy.care_extra_categories.split(",") if c.strip()] or [0]
    sql = f"""
INSERT INTO {T.held} (payroll_id, grant_id, rule)
SELECT %s, x.id, x.rule FROM (
  SELECT g.id, CASE
    WHEN p.vital_status <> '{T.normal}' THEN '{T.held_vital}'
    WHEN c.id IS NULL THEN '{T.held_certificate}'
    -- a grant bound for the district moved to is paid here until it goes (grants.grant_transfer)
    WHEN (p.hukou_region_id IS NULL OR SUBSTR(p.hukou_region_id, 1, 6) <> %s) AND g.moving_from IS NULL
         THEN '{T.held_moved}'
    WHEN i.income = 2 THEN '{T.held_excluded}'
    WHEN g.kind = '{T.living}' AND COALESCE(i.income, 0) = 0 THEN '{T.held_income}'
    WHEN g.kind = '{T.care}' AND c.grade > 2 AND c.category NOT IN ({_placeholders(extra)}) THEN '{T.held_grade}'
    WHEN EXISTS (SELECT 1 FROM {T.other_benefit} b WHERE b.person_id = p.id
                 AND b.start_date <= %s AND (b.end_date IS NULL OR b.end_date >= %s)
                 AND (b.kind = '{T.work_injury_care}' OR (g.kind = '{T.living}' AND b.kind = '{T.orphan}')
                      OR (g.kind = '{T.care}' AND b.kind = '{T.elderly_care}' AND (
                          -- 择高: an allowance of the same nature holds ours only when it is higher
                          -- (or its amount is unknown); ours higher or equal is kept and paid.
                          b.amount <= 0 OR b.amount > COALESCE((
                              SELECT s.amount FROM {T.standard} s
                              WHERE s.kind = '{T.care}' AND s.region_id IN (%s, %s)
                                AND c.grade BETWEEN s.grade_min AND s.grade_max
                                AND s.valid_from <= %s AND (s.valid_to IS NULL OR s.valid_to >= %s)
                              ORDER BY s.region_id DESC LIMIT 1), 0))))) THEN '{T.held_excluded}'
  END AS rule
  FROM {T.grant} g
  JOIN {T.person} p ON p.id = g.person_id
  LEFT JOIN {T.certificate} c ON c.person_id = p.id AND c.status = '{T.valid}'
       AND (c.expires_on IS NULL OR c.expires_on >= %s)
  LEFT JOIN (
      SELECT person_id, MAX(CASE WHEN status = '{T.tekun}' THEN 2
                                 WHEN status IN ({_placeholders(living)}) THEN 1 ELSE 0 END) AS income
      FROM {T.income_period} WHERE start_date <= %s AND (end_date IS NULL OR end_date >= %s)
      GROUP BY person_id
  ) i ON i.person_id = p.id
  WHERE g.district_id = %s AND g.status = '{T.active}'
) x WHERE x.rule IS NOT NULL
"""
    city = district[:4].ljust(12, "0")
    params = [
        payroll_id,
        district[:6],
        *extra,
        month_end,
        month,
        district,
        city,
        month,
        month,
        month,
        *living,
        month_end,
        month,
        district,
    ]
    return sql, params


def _district_override(month: str) -> str:
    """Where a district has standards of its own, they replace the city's for the same kind and grade
    (`month`: the SQL of the month the standard must be valid in)."""
    return f"""
  AND NOT (s.region_id = %(city)s AND EXISTS (
        SELECT 1 FROM {T.standard} d WHERE d.region_id = %(district)s AND d.kind = g.kind
        AND gp.grade BETWEEN d.grade_min AND d.grade_max AND d.valid_from <= {month}
        AND (d.valid_to IS NULL OR d.valid_to >= {month})))"""


def _clean_lines_sql(*, own_standards: bool, stage: str | None = None) -> str:
    """Grants with nothing to recalculate: this month's entitlement, as plain as the floor. Into the
    payroll's stage where it has one (PostgreSQL, `stage`), its ids drawn from the lines' sequence."""
    override = _district_override("%(month)s") if own_standards else ""
    into, ident, ident_value = T.payroll_line, "", ""
    if stage is not None:
        into, ident, ident_value = (
            stage,
            "id, ",
            (
                # a subquery, so that the sequence is looked up once rather than for every line
                f"nextval((SELECT pg_get_serial_sequence('{T.payroll_line}', 'id'))::regclass), "
            ),
        )
    return f"""
INSERT INTO {into}
    ({ident}payroll_id, grant_id, person_id, street_id, kind, month_for, amount, line_type, bank_status, bank_note)
SELECT {ident_value}%(payroll)s, g.id, g.person_id, g.street_id, g.kind, %(month)s, s.amount, '{T.regular}', '{T.pending}', ''
FROM {T.grant} g
JOIN {T.grant_period} gp ON gp.grant_id = g.id AND gp.paid AND gp.from_month <= %(month)s
     AND (gp.to_month IS NULL OR gp.to_month >= %(month)s)
JOIN {T.standard} s ON s.kind = g.kind AND s.region_id IN (%(district)s, %(city)s)
     AND gp.grade BETWEEN s.grade_min AND s.grade_max
     AND s.valid_from <= %(month)s AND (s.valid_to IS NULL OR s.valid_to >= %(month)s)
WHERE g.district_id = %(district)s AND (g.recalc_from IS NULL OR g.recalc_from > %(month)s) AND s.amount <> 0
  AND NOT EXISTS (SELECT 1 FROM {T.held} h WHERE h.payroll_id = %(payroll)s AND h.grant_id = g.id){override}
"""


def _recalc_lines_sql(*, own_standards: bool) -> str:
    """Grants marked for recalculation: entitlement minus what locked payrolls paid, month by month."""
    override = _district_override("mo.month") if own_standards else ""
    return f"""
INSERT INTO {T.payroll_line}
    (payroll_id, grant_id, person_id, street_id, kind, month_for, amount, line_type, bank_status, bank_note)
SELECT %(payroll)s, x.grant_id, g.person_id, g.street_id, g.kind, x.month_for, ROUND(SUM(x.amount), 2),
       CASE WHEN SUM(x.amount) < 0 THEN '{T.recovery}' WHEN x.month_for < %(month)s THEN '{T.arrears}'
            ELSE '{T.regular}' END,
       '{T.pending}', ''
FROM (
    SELECT g.id AS grant_id, mo.month AS month_for, s.amount AS amount
    FROM {T.grant} g
    JOIN {T.grant_period} gp ON gp.grant_id = g.id AND gp.paid
    JOIN {T.month} mo ON mo.month >= gp.from_month AND (gp.to_month IS NULL OR mo.month <= gp.to_month)
         AND mo.month >= g.recalc_from AND mo.month <= %(month)s
    JOIN {T.standard} s ON s.kind = g.kind AND s.region_id IN (%(district)s, %(city)s)
         AND gp.grade BETWEEN s.grade_min AND s.grade_max
         AND s.valid_from <= mo.month AND (s.valid_to IS NULL OR s.valid_to >= mo.month)
    WHERE g.district_id = %(district)s AND g.recalc_from <= %(month)s
      AND NOT EXISTS (SELECT 1 FROM {T.held} h WHERE h.payroll_id = %(payroll)s AND h.grant_id = g.id){override}
    UNION ALL
    SELECT l.grant_id, l.month_for, -l.amount
    FROM {T.payroll_line} l
    JOIN {T.payroll} p ON p.id = l.payroll_id
    JOIN {T.grant} g ON g.id = l.grant_id
    WHERE g.district_id = %(district)s AND g.recalc_from <= %(month)s AND p.status = '{T.locked}'
      AND l.bank_status <> '{T.failed}' AND l.month_for >= g.recalc_from
      AND NOT EXISTS (SELECT 1 FROM {T.held} h WHERE h.payroll_id = %(payroll)s AND h.grant_id = g.id)
) x
JOIN {T.grant} g ON g.id = x.grant_id
GROUP BY x.grant_id, g.person_id, g.street_id, g.kind, x.month_for
HAVING ROUND(SUM(x.amount), 2) <> 0
"""


def take_turn(district: Region, month: dt.date) -> None:
    """Two runs of one district's month, on PostgreSQL, go one after the other from here, before
    either writes anything: had the second already written the payroll's row (waiting on the first's
    for its uniqueness), the first's attach (`stage`), which locks the payrolls against writes, would
    wait for the second in turn. Held to the end of the caller's transaction. SQLite has one writer."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
                [f"kangfu.payroll:{district.code}:{month}"],
            )


def stage(cursor, payroll: Payroll) -> str | None:
    """On PostgreSQL, where the payroll's month has a partition split by payroll (migration 0019):
    clear the payroll's lines outside its own table and make the table its month's lines are written
    into, returning its name; None where the lines are written through the table (SQLite; a month
    whose partition was not split), the caller then clearing them itself."""
    if cursor.db.vendor != "postgresql":
        return None
    cursor.execute("SELECT kangfu_payroll_stage(%s)", [payroll.pk])
    return cursor.fetchone()[0]


def statements(
    *, payroll: Payroll, district: Region, month: dt.date, own_standards: bool, stage: str | None = None
) -> list[tuple[str, list | dict]]:
    """The statements of a run, in order, with their parameters (`own_standards`: the district has
    standards of its own, which replace the city's; `stage`: the table this month's plain lines go
    into, attached before the recalculated lines are written)."""
    hold = _hold_statement(
        facts.policy_for(district.code),
        payroll_id=payroll.pk,
        district=district.code,
        month=month,
        month_end=_month_end(month),
    )
    params = {
        "payroll": payroll.pk,
        "month": month,
        "district": district.code,
        "city": district.code[:4].ljust(12, "0"),
    }
    attaching = [("SELECT kangfu_payroll_attach(%(payroll)s)", params)] if stage is not None else []
    return [
        hold,
        (_clean_lines_sql(own_standards=own_standards, stage=stage), params),
        *attaching,
        (_recalc_lines_sql(own_standards=own_standards), params),
    ]


def _month_end(month: dt.date) -> dt.date:
    following = month.replace(year=month.year + (month.month == 12), month=month.month % 12 + 1)
    return following - dt.timedelta(days=1)
