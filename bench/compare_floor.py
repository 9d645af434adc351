"""The same-database floor of the 数据比对 benchmark: for each rule, one hand-written INSERT … SELECT that
computes that rule's items and writes them straight into the items table, row for row what the run
writes (the same person, grant, case, feed row, confidence, street, explanation, money and month).

What it leaves out is what the run does around its queries: staging every finding in a temporary
table and copying it into the items (with ON CONFLICT, for re-runs), progress and the audit entry.
The explanations are spelled with the product's `Dialect` (the few date and money formats SQLite and
PostgreSQL write differently), so that run and floor can be compared row for row; the month's
standards and the district's policy are read once in Python, as the run reads them.
"""

from __future__ import annotations

from kangfu.core.selectors import provinces_in_service
from kangfu.core.sql import Dialect
from kangfu.matching.models import FeedImport, source_kinds
from kangfu.matching.rules import Context
from kangfu.subsidies.models import Kind

DEATH = ("death", "declared_death", "cremation")
ACTIVE = "g.district_id = %(district)s AND g.status <> 'stopped'"
ITEM_COLUMNS = (
    "run_id, rule, direction, period, district_id, due_date, status, note, version, person_id, grant_id, "
    "case_id, feed_row_id, confidence, street_id, explanation, amount_at_stake, effective_month"
)


def _kinds(kinds: tuple[str, ...]) -> str:
    return ", ".join(f"'{k}'" for k in kinds)


# The month's confirmed feeds by their source's kind, read once before the statements are written
# (as the run reads them), so that each statement reads its rows through the (feed, person) index.
_FEEDS: dict[str, list[int]] = {}


def _rows(kinds: tuple[str, ...], where: str = "") -> str:
    """Matched rows of these kinds in the feeds confirmed for the month, with their source's name."""
    feeds = sorted({pk for kind in source_kinds(kinds) for pk in _FEEDS.get(kind, [])}) or [0]
    return f"""
        SELECT r.id, r.person_id, r.event_date, r.region_id, r.grade, r.category, r.amount, r.confidence,
               r.kind, s.name AS source_name
        FROM matching_feedrow r
        JOIN matching_feedimport f ON f.id = r.feed_id JOIN matching_feedsource s ON s.id = f.source_id
        WHERE r.feed_id IN ({", ".join(str(pk) for pk in feeds)}) AND r.person_id IS NOT NULL
          AND r.kind IN ({_kinds(kinds)}) {where}"""


def _feed_came_in(kind: str) -> str:
    return f"""EXISTS (SELECT 1 FROM matching_feedimport f JOIN matching_feedsource s ON s.id = f.source_id
                WHERE s.kind = '{kind}' AND f.status = 'confirmed' AND f.period = %(period)s)"""


def _insert(rule: str, direction: str, select: str, with_: str = "") -> str:
    """`select` yields person_id, grant_id, case_id, feed_row_id, confidence, street_id, explanation,
    amount_at_stake, effective_month."""
    return f"""{with_}
        INSERT INTO matching_item ({ITEM_COLUMNS})
        SELECT %(run)s, '{rule}', '{direction}', %(period)s, %(district)s, %(due)s, 'open', '', 1, i.*
        FROM ({select}) i"""


def _stop(rule: str, hits: str, explanation: str, extra: tuple[str, ...] = ()) -> str:
    """A stopping rule: `hits` gives per grant to stop grant_id, person_id, row_id, confidence,
    event_date, kind, source_name, stop (and `extra`); per person, the locked payrolls' lines from
    each grant's stop month to the month before the one compared are the money at stake."""
    more = "".join(f", MIN(h.{c}) AS {c}" for c in extra)
    return _insert(
        rule,
        "stop",
        f"""
        SELECT per.person_id, per.grant_id, CAST(NULL AS bigint), per.row_id, per.confidence, p.street_id,
               substr({explanation}, 1, 300), per.amount, per.stop
        FROM per JOIN people_person p ON p.id = per.person_id""",
        f"""WITH hit AS ({hits}),
        per AS (
            SELECT h.person_id, MIN(h.grant_id) AS grant_id, MIN(h.row_id) AS row_id,
                   MIN(h.confidence) AS confidence, MIN(h.event_date) AS event_date, MIN(h.kind) AS kind,
                   MIN(h.source_name) AS source_name, MIN(h.stop) AS stop,
                   COALESCE(SUM(l.amount), 0) AS amount{more}
            FROM hit h
            LEFT JOIN subsidies_payrollline l ON l.grant_id = h.grant_id AND l.month_for >= h.stop
                 AND l.month_for < %(period)s AND l.bank_status <> 'failed'
                 AND l.payroll_id IN (SELECT id FROM subsidies_payroll WHERE status = 'locked')
            GROUP BY h.person_id)""",
    )


def _event(rule: str, d: Dialect, rows: str, describe: str, verb: str = "停发") -> str:
    """Grants of the people of these rows: stop from the month after the earliest event."""
    stop = d.greatest(d.next_month("COALESCE(e.event_date, %(period)s)"), "g.start_month")
    return _stop(
        rule,
        f"""
        SELECT g.id AS grant_id, g.person_id, e.id AS row_id, e.confidence, e.event_date, e.kind,
               e.source_name, {stop} AS stop
        FROM (SELECT x.*, ROW_NUMBER() OVER (PARTITION BY x.person_id ORDER BY CASE WHEN x.event_date IS NULL THEN 1 ELSE 0 END, x.event_date, x.id) AS k
              FROM ({rows}) x) e
        JOIN subsidies_grant g ON g.person_id = e.person_id
        WHERE e.k = 1 AND {ACTIVE}""",
        f"""{describe} || '，补贴仍在发放；应自 ' || {d.month("per.stop")} || ' 起{verb}'
            || CASE WHEN per.amount > 0 THEN '，已多发 ' || {d.money("per.amount")} || ' 元' ELSE '' END""",
    )


def _moved_within(d: Dialect, served: str) -> str:
    """A household's latest move of the month to another district served here: the grants move there
    from the next month, nothing at stake. An abolished district is named by its successor."""
    return _insert(
        "moved_within",
        "transfer",
        f"""
        SELECT e.person_id, MIN(g.id), CAST(NULL AS bigint), MIN(e.id), MIN(e.confidence), MIN(p.street_id),
               substr(MIN(e.source_name) || '：' || MIN({d.day("e.event_date")}) || ' 户籍迁往'
               || MIN(COALESCE(now.name, dn.name, substr(e.region_id, 1, 6))) || '，补贴仍由本区发放；应自 '
               || {d.month(d.next_month("%(period)s"))} || ' 起转由迁入区发放', 1, 300),
               0, {d.next_month("%(period)s")}
        FROM e
        JOIN subsidies_grant g ON g.person_id = e.person_id AND {ACTIVE}
        JOIN people_person p ON p.id = e.person_id
        LEFT JOIN core_region dn ON dn.code = substr(e.region_id, 1, 6) || '000000'
        LEFT JOIN core_region now ON now.code = dn.successor_id
        WHERE substr(COALESCE(now.code, dn.code, e.region_id), 1, 6) <> substr(%(district)s, 1, 6)
        GROUP BY e.person_id""",
        f"""WITH e AS (
            SELECT x.* FROM (
                SELECT r.*, ROW_NUMBER() OVER (PARTITION BY r.person_id ORDER BY CASE WHEN r.event_date IS NULL THEN 1 ELSE 0 END, r.event_date DESC, r.id DESC) AS k
                FROM ({_rows(("move",), f"AND r.region_id IS NOT NULL AND r.region_id NOT LIKE %(prefix)s AND {served}")}) r
            ) x WHERE x.k = 1)""",
    )


def _standard(ctx: Context, kind: str, grade: str) -> str:
    whens = " ".join(
        f"WHEN {kind} = '{k}' AND {grade} = {g} THEN {ctx.amount(k, g)}"
        for k in Kind.values
        for g in (1, 2, 3, 4)
    )
    return f"CASE {whens} ELSE 0 END"


def _latest_period(column: str) -> str:
    return f"""(SELECT p.{column} FROM subsidies_grantperiod p WHERE p.grant_id = g.id
                ORDER BY p.from_month DESC, p.id DESC LIMIT 1)"""


def statements(ctx: Context, d: Dialect) -> list[tuple[str, str]]:
    """(rule, INSERT … SELECT) for every rule, in the run's order."""
    _FEEDS.clear()
    for pk, kind in FeedImport.objects.filter(status="confirmed", period=ctx.period).values_list(
        "pk", "source__kind"
    ):
        _FEEDS.setdefault(kind, []).append(pk)
    day = d.day("per.event_date")
    # Where this deployment works: the provinces whose streets are loaded (read once, as the run does).
    provinces = ", ".join(f"'{p}'" for p in provinces_in_service() if p.isdigit()) or "'--'"
    served = f"substr(r.region_id, 1, 2) IN ({provinces})"
    out = [
        (
            "death",
            _event(
                "death",
                d,
                _rows(DEATH),
                f"""per.source_name || '：' || {day} || ' '
                || CASE per.kind WHEN 'declared_death' THEN '宣告死亡' ELSE '死亡' END""",
            ),
        ),
        (
            "prison",
            _event("prison", d, _rows(("prison",)), f"per.source_name || '：' || {day} || ' 判决生效服刑'"),
        ),
        (
            "missing",
            _event(
                "missing",
                d,
                _rows(("declared_missing",)),
                f"per.source_name || '：' || {day} || ' 宣告失踪'",
                verb="暂停发放",
            ),
        ),
        (
            "moved_out",
            _event(
                "moved_out",
                d,
                _rows(("move",), f"AND (r.region_id IS NULL OR NOT {served})"),
                f"per.source_name || '：' || {day} || ' 户籍迁出本市'",
            ),
        ),
        ("moved_within", _moved_within(d, served)),
        (
            "cert_cancelled",
            _event("cert_cancelled", d, _rows(("cert_cancel",)), f"'残联：' || {day} || ' 残疾人证注销'"),
        ),
    ]
    # Certificates: none valid, or expired before the month and not renewed in the month's feeds.
    stop = d.greatest(f"COALESCE({d.next_month('c.expires_on')}, %(period)s)", "g.start_month")
    out.append(
        (
            "cert_expired",
            _stop(
                "cert_expired",
                f"""
                SELECT g.id AS grant_id, g.person_id, CAST(NULL AS bigint) AS row_id, 'high' AS confidence,
                       c.expires_on AS event_date, '' AS kind, '' AS source_name, {stop} AS stop
                FROM subsidies_grant g
                LEFT JOIN people_disabilitycertificate c ON c.person_id = g.person_id AND c.status = 'valid'
                WHERE {ACTIVE} AND (c.id IS NULL OR c.expires_on < %(period)s)
                  AND NOT EXISTS (SELECT 1 FROM ({_rows(("cert_renew",))}) n WHERE n.person_id = g.person_id)""",
                f"""CASE WHEN per.event_date IS NULL THEN '没有有效的残疾人证'
                    ELSE '残疾人证已于 ' || {day} || ' 到期未换发' END
                    || '；应自 ' || {d.month("per.stop")} || ' 起停发'""",
            ),
        )
    )
    out.append(("grade_changed", _grade_changed(ctx, d)))
    out.append(("left_dibao", _left_dibao(ctx, d)))
    out.append(
        (
            "tekun",
            _event(
                "tekun",
                d,
                _rows(("tekun",)),
                f"""per.source_name || '：' || CASE WHEN per.event_date IS NULL THEN '' ELSE {day} || ' 起' END
                || '纳入特困人员救助供养，不再享受两项补贴'""",
            ),
        )
    )
    registered_injury = """
        SELECT CAST(NULL AS bigint) AS id, b.person_id, b.start_date AS event_date,
               CAST(NULL AS varchar(12)) AS region_id, CAST(NULL AS integer) AS grade,
               CAST(NULL AS integer) AS category, b.amount, 'high' AS confidence, 'work_injury' AS kind,
               '登记的其他补贴' AS source_name
        FROM subsidies_otherbenefit b
        WHERE b.kind = 'work_injury_care' AND (b.end_date IS NULL OR b.end_date >= %(period)s)"""
    out.append(
        (
            "work_injury",
            _event(
                "work_injury",
                d,
                f"{_rows(('work_injury',))} UNION ALL {registered_injury}",
                f"""per.source_name || '：' || CASE WHEN per.event_date IS NULL THEN '享受起始年月不详，'
                    ELSE {d.month("per.event_date")} || '起' END
                || '享受工伤保险生活护理费，不再享受困难残疾人生活补贴和重度残疾人护理补贴'""",
            ),
        )
    )
    out += _same_nature_rules(ctx, d)
    out.append(("entitled", _entitled(ctx, d)))
    out.append(("rehab_ended", _rehab_ended(d)))
    return out


def _grade_changed(ctx: Context, d: Dialect) -> str:
    """The month's latest change of grade per person, priced where money changes."""
    policy = ctx.policy()
    extended = ", ".join(str(int(c)) for c in policy.care_extra_categories.split(",") if c.strip()) or "0"
    certified = "COALESCE(h.event_date, %(period)s)"
    month = d.greatest(
        f"""CASE WHEN h.new_grade < h.old_grade
            THEN {d.greatest(d.month_start(certified), "%(back_pay_from)s")}
            ELSE {d.next_month(certified)} END""",
        "h.start_month",
    )
    stops = (
        f"h.kind = 'care' AND h.new_grade > 2 AND COALESCE(h.category, h.old_category) NOT IN ({extended})"
    )
    care = f"""MAX(CASE WHEN kind = 'care' THEN '{Kind.CARE.label}每月 ' || {d.money("old_amount")}
        || CASE WHEN stops = 1 THEN ' 元应停发' ELSE ' 元应为 ' || {d.money("new_amount")} || ' 元' END END)"""
    living = f"""MAX(CASE WHEN kind = 'living' THEN '{Kind.LIVING.label}每月 ' || {d.money("old_amount")}
        || ' 元应为 ' || {d.money("new_amount")} || ' 元' END)"""
    months = d.greatest("0", d.months("month", "%(period)s"))
    return _insert(
        "grade_changed",
        "stop",
        f"""
        SELECT per.person_id, per.grant_id, CAST(NULL AS bigint), per.row_id, per.confidence, p.street_id,
               substr('残联：残疾等级由' || CAST(per.old_grade AS varchar(2)) || '级变为'
               || CAST(per.new_grade AS varchar(2)) || '级（' || {d.day("per.event_date")} || '），自 '
               || {d.month("per.month")} || ' 起'
               || CASE WHEN care_text IS NOT NULL AND living_text IS NOT NULL THEN care_text || '；' || living_text
                       ELSE COALESCE(care_text, living_text) END, 1, 300),
               per.amount, per.month
        FROM per JOIN people_person p ON p.id = per.person_id""",
        f"""WITH c AS (
            SELECT x.* FROM (
                SELECT r.*, ROW_NUMBER() OVER (PARTITION BY r.person_id ORDER BY CASE WHEN r.event_date IS NULL THEN 1 ELSE 0 END, r.event_date DESC, r.id DESC) AS k
                FROM ({_rows(("cert_change",), "AND r.grade IS NOT NULL")}) r) x
            WHERE x.k = 1),
        h AS (
            SELECT g.id AS grant_id, g.person_id, g.kind, g.start_month, c.id AS row_id, c.confidence,
                   c.event_date, c.grade AS new_grade, c.category,
                   {_latest_period("grade")} AS old_grade, {_latest_period("category")} AS old_category
            FROM c JOIN subsidies_grant g ON g.person_id = c.person_id
            WHERE {ACTIVE}),
        priced AS (
            SELECT h.*, {month} AS month, CASE WHEN {stops} THEN 1 ELSE 0 END AS stops,
                   {_standard(ctx, "h.kind", "h.old_grade")} AS old_amount,
                   CASE WHEN {stops} THEN 0 ELSE {_standard(ctx, "h.kind", "h.new_grade")} END AS new_amount
            FROM h),
        per AS (
            SELECT person_id, MIN(grant_id) AS grant_id, MIN(row_id) AS row_id, MIN(confidence) AS confidence,
                   MIN(event_date) AS event_date, MIN(new_grade) AS new_grade,
                   COALESCE(MAX(CASE WHEN kind = 'care' THEN old_grade END), MAX(old_grade)) AS old_grade,
                   SUM(ABS(old_amount - new_amount) * {months}) AS amount, MIN(month) AS month,
                   {care} AS care_text, {living} AS living_text
            FROM priced WHERE old_amount <> new_amount OR stops = 1
            GROUP BY person_id)""",
    )


def _left_dibao(ctx: Context, d: Dialect) -> str:
    """生活补贴 recipients absent from the month's 低保 roster (when one came in) and holding no other
    income status the district's policy accepts; from the month after the registry's end of 低保."""
    others = sorted(
        s.strip()
        for s in ctx.policy().living_income_statuses.split(",")
        if s.strip() and s.strip() != "dibao"
    )
    other_roster = (
        f"AND NOT EXISTS (SELECT 1 FROM ({_rows(('dibao_edge',))}) e WHERE e.person_id = g.person_id)"
        if "dibao_edge" in others
        else ""
    )
    other_status = (
        f"""AND NOT EXISTS (SELECT 1 FROM people_incomeperiod i WHERE i.person_id = g.person_id
                AND i.status IN ({_kinds(tuple(others))}) AND i.start_date <= %(month_end)s
                AND (i.end_date IS NULL OR i.end_date >= %(period)s))"""
        if others
        else ""
    )
    # The registry's end of 低保 where every 低保 period has ended by the month's end: one pass over the
    # periods, joined, rather than a lookup per grant (which the stop month would repeat).
    ended = """(SELECT i.person_id, MAX(i.end_date) AS ended FROM people_incomeperiod i WHERE i.status = 'dibao'
                GROUP BY i.person_id
                HAVING SUM(CASE WHEN i.end_date IS NULL OR i.end_date > %(month_end)s THEN 1 ELSE 0 END) = 0)"""
    stop = d.greatest(f"COALESCE({d.next_month('x.event_date')}, %(period)s)", "x.start_month")
    return _stop(
        "left_dibao",
        f"""
        SELECT x.grant_id, x.person_id, CAST(NULL AS bigint) AS row_id, 'high' AS confidence, x.event_date,
               '' AS kind, '' AS source_name, {stop} AS stop
        FROM (
            SELECT g.id AS grant_id, g.person_id, g.start_month, n.ended AS event_date
            FROM subsidies_grant g LEFT JOIN {ended} n ON n.person_id = g.person_id
            WHERE {ACTIVE} AND g.kind = 'living' AND {_feed_came_in("dibao")}
              AND NOT EXISTS (SELECT 1 FROM ({_rows(("dibao",))}) r WHERE r.person_id = g.person_id)
              {other_roster} {other_status}) x""",
        f"""CASE WHEN per.event_date IS NULL THEN %(dibao_text)s || '本月'
            ELSE '低保已于 ' || {d.day("per.event_date")} || ' 终止，' || %(dibao_text)s || ' '
                 || {d.month("per.stop")} || ' ' END || '起停发'""",
    )


def _same_nature_rules(ctx: Context, d: Dialect) -> list[tuple[str, str]]:
    """择高 both ways, over each 护理补贴's highest known allowance of the same nature."""
    registered = """
        SELECT CAST(NULL AS bigint) AS id, b.person_id, b.start_date AS event_date, b.amount,
               'high' AS confidence, '登记的同类补贴' AS source_name
        FROM subsidies_otherbenefit b
        WHERE b.kind IN ('elderly_care', 'same_nature') AND (b.end_date IS NULL OR b.end_date >= %(period)s)"""
    roster = f"SELECT id, person_id, event_date, amount, confidence, source_name FROM ({_rows(('elderly_care',))}) r"
    pairs = f"""
        SELECT y.*, {_standard(ctx, "'care'", "y.grade")} AS ours FROM (
            SELECT g.id AS grant_id, g.person_id, g.start_month, e.id AS row_id, e.confidence, e.event_date,
                   e.source_name, e.amount AS other_amount, {_latest_period("grade")} AS grade
            FROM (
                SELECT a.*, ROW_NUMBER() OVER (PARTITION BY a.person_id ORDER BY
                    CASE WHEN a.amount IS NULL THEN 1 ELSE 0 END, a.amount DESC,
                    CASE WHEN a.id IS NULL THEN 1 ELSE 0 END, a.id) AS k
                FROM ({roster} UNION ALL {registered}) a) e
            JOIN subsidies_grant g ON g.person_id = e.person_id
            WHERE e.k = 1 AND {ACTIVE} AND g.kind = 'care') y"""
    stop = d.next_month(d.greatest("COALESCE(x.event_date, %(period)s)", "x.start_month"))
    overlap = _stop(
        "overlap",
        f"""
        SELECT x.grant_id, x.person_id, x.row_id, x.confidence, x.event_date, '' AS kind, x.source_name,
               {stop} AS stop, x.other_amount, x.ours
        FROM ({pairs}) x WHERE x.other_amount IS NULL OR x.other_amount > x.ours""",
        f"""per.source_name || '：' || CASE WHEN per.event_date IS NULL THEN '' ELSE {d.month("per.event_date")} || '起' END
            || CASE WHEN per.other_amount IS NULL THEN '享受老年人护理补贴等同类补贴（月金额不详，请核实）'
               ELSE '每月 ' || {d.money("per.other_amount")} || ' 元，高于重度残疾人护理补贴每月 '
                    || {d.money("per.ours")} || ' 元' END
            || '，择高不再发放重度残疾人护理补贴；应自 ' || {d.month("per.stop")} || ' 起停发'
            || CASE WHEN per.amount > 0 THEN '，已多发 ' || {d.money("per.amount")} || ' 元' ELSE '' END""",
        extra=("other_amount", "ours"),
    )
    kept = _insert(
        "overlap_kept",
        "keep",
        f"""
        SELECT x.person_id, MIN(x.grant_id), CAST(NULL AS bigint), MIN(x.row_id), MIN(x.confidence), p.street_id,
               substr(MIN(x.source_name || '：每月 ' || {d.money("x.other_amount")} || ' 元，不高于重度残疾人护理补贴每月 '
                   || {d.money("x.ours")} || ' 元，择高保留重度残疾人护理补贴'), 1, 300),
               0, CAST(NULL AS date)
        FROM ({pairs}) x JOIN people_person p ON p.id = x.person_id
        WHERE x.other_amount <= x.ours
          AND NOT EXISTS (SELECT 1 FROM matching_item i WHERE i.person_id = x.person_id
              AND i.rule = 'overlap_kept' AND i.period < %(period)s AND i.status <> 'dismissed')
        GROUP BY x.person_id, p.street_id""",
    )
    return [("overlap", overlap), ("overlap_kept", kept)]


def _entitled(ctx: Context, d: Dialect) -> str:
    """主动发现: certificates of grade 1–2 without a 护理补贴, people on a roster the policy accepts for
    生活补贴 with a valid certificate without one, neither applying nor excluded as an application
    would be (dead, household outside the district, 特困, 工伤保险生活护理费, an orphan's allowance for
    生活补贴); the certificate first, then the latest row."""
    accepted = {s.strip() for s in ctx.policy().living_income_statuses.split(",") if s.strip()} or {"dibao"}
    poor = tuple(k for k in ("dibao", "dibao_edge") if k in accepted)

    def without(kind: str) -> str:
        benefits = "'work_injury_care', 'orphan'" if kind == "living" else "'work_injury_care'"
        return f"""NOT EXISTS (SELECT 1 FROM subsidies_grant g WHERE g.person_id = e.person_id
                    AND g.kind = '{kind}' AND g.status <> 'stopped')
            AND NOT EXISTS (SELECT 1 FROM subsidies_application a WHERE a.person_id = e.person_id
                    AND a.status NOT IN ('approved', 'rejected'))
            AND p.vital_status = 'normal' AND p.hukou_region_id LIKE %(prefix)s
            AND NOT EXISTS (SELECT 1 FROM people_incomeperiod i WHERE i.person_id = e.person_id
                    AND i.status = 'tekun' AND i.start_date <= %(period)s
                    AND (i.end_date IS NULL OR i.end_date >= %(period)s))
            AND NOT EXISTS (SELECT 1 FROM subsidies_otherbenefit b WHERE b.person_id = e.person_id
                    AND b.kind IN ({benefits}) AND b.start_date <= %(period)s
                    AND (b.end_date IS NULL OR b.end_date >= %(period)s))
            AND NOT EXISTS (SELECT 1 FROM ({_rows(("tekun", "work_injury"))}) x WHERE x.person_id = e.person_id)"""

    care = _standard(ctx, "'care'", "e.grade")
    living = _standard(ctx, "'living'", "c.grade")
    found = [
        f"""
        SELECT e.person_id, e.id AS row_id, e.confidence, p.street_id, {care} AS amount,
               '新办或变更为' || CAST(e.grade AS varchar(2)) || '级残疾人证，未享受重度残疾人护理补贴（每月 '
               || {d.money(care)} || ' 元）' AS text, 1 AS rank
        FROM ({_rows(("cert_new", "cert_change"), "AND r.grade <= 2")}) e
        JOIN people_person p ON p.id = e.person_id
        WHERE {without("care")}"""
    ]
    if poor:
        found.append(f"""
        SELECT e.person_id, e.id, e.confidence, p.street_id, {living},
               '在' || e.source_name || '中且持有效残疾人证，未享受困难残疾人生活补贴（每月 '
               || {d.money(living)} || ' 元）', 2
        FROM ({_rows(poor)}) e JOIN people_person p ON p.id = e.person_id
        JOIN people_disabilitycertificate c ON c.person_id = e.person_id AND c.status = 'valid'
             AND (c.expires_on IS NULL OR c.expires_on >= %(period)s)
        WHERE {without("living")}""")
    return _insert(
        "entitled",
        "entitled",
        f"""
        SELECT x.person_id, CAST(NULL AS bigint), CAST(NULL AS bigint), x.row_id, x.confidence, x.street_id,
               substr(x.text, 1, 300), x.amount, CAST(NULL AS date)
        FROM (SELECT f.*, ROW_NUMBER() OVER (PARTITION BY f.person_id ORDER BY f.rank, f.row_id DESC) AS k
              FROM ({" UNION ALL ".join(found)}) f) x
        WHERE x.k = 1""",
    )


def _rehab_ended(d: Dialect) -> str:
    """精康 clients still served who died, or moved out of their institution's district (one served
    case per person, a constraint): a death before a move, then the earliest event."""
    dead = f"e.kind IN ({_kinds(DEATH)})"
    return _insert(
        "rehab_ended",
        "stop",
        f"""
        SELECT e.person_id, CAST(NULL AS bigint), e.case_id, e.id, e.confidence, e.street_id,
               substr(e.source_name || '：' || {d.day("e.event_date")} || ' '
               || CASE e.kind WHEN 'declared_death' THEN '宣告死亡' WHEN 'move' THEN '户籍迁出服务机构所在区'
                  ELSE '死亡' END
               || '；仍为' || e.institution || '的精康服务对象，应结案（'
               || CASE WHEN {dead} THEN '死亡' ELSE '迁出' END || '）', 1, 300),
               0, CAST(NULL AS date)
        FROM (
            SELECT r.*, p.street_id, c.id AS case_id, o.name AS institution,
                   ROW_NUMBER() OVER (PARTITION BY r.person_id ORDER BY
                       CASE WHEN r.kind IN ({_kinds(DEATH)}) THEN 0 ELSE 1 END, r.event_date, r.id) AS k
            FROM ({_rows((*DEATH, "move"))}) r
            JOIN people_person p ON p.id = r.person_id AND p.district_id = %(district)s
            JOIN rehab_case c ON c.person_id = r.person_id AND c.status IN ('enrolled', 'active', 'suspended')
            JOIN core_organisation o ON o.id = c.institution_id
            WHERE r.kind IN ({_kinds(DEATH)}) OR r.region_id IS NULL
               OR substr(r.region_id, 1, 6) <> substr(c.district_id, 1, 6)) e
        WHERE e.k = 1""",
    )
