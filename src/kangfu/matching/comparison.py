"""Running the comparison and resolving its items.

A run evaluates every rule first (committing only its progress), then writes all items in one
transaction: a run killed half-way leaves no items. An item exists once per person, rule and month,
so a re-run adds only what is new. A match never stops a payment by itself: the street confirms,
the district approves, and only then does the grant change (or, for a 精康 client who died or
moved, the case close).
"""

from __future__ import annotations

import datetime as dt
from functools import partial

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.utils import timezone

from kangfu.core import access, audit, events
from kangfu.core.models import AuditAction, Region, RegionLevel, User
from kangfu.core.months import month_start
from kangfu.core.selectors import region_for_code
from kangfu.core.transitions import advance
from kangfu.matching import rules
from kangfu.matching.models import ComparisonRun, Direction, FeedKind, Item, ItemStatus, RunStatus
from kangfu.people import services as people_services
from kangfu.people.models import LifeEventKind
from kangfu.rehab import selectors as rehab_selectors
from kangfu.rehab.services import cases as rehab_cases
from kangfu.subsidies import rules as subsidy_rules
from kangfu.subsidies.models import Grant, GrantPeriod, GrantStatus, Kind, StopReason
from kangfu.subsidies.services import facts as subsidy_facts
from kangfu.subsidies.services import grants as grant_services

DUE_DAYS = 10  # results by the 10th of the month (民发〔2022〕79号)
TAKEN = "该疑点已被他人办理或已变化，请刷新后查看。"
NOT_YOURS = "该疑点不在您的辖区。"
NEEDS_NOTE = "排除疑点须写明核实情况和依据。"
NEEDS_BASIS = "确认疑点须写明核实情况和依据（如死亡证明、判决书、入户核实）。"
NOT_DISTRICT = "只能转交给本区的其他街道。"
BULK_EMPTY = "请勾选要办理的疑点。"
BULK_REFUSED = "以下疑点未能办理，本次勾选的疑点均未作改动：{names}。"
NO_NEW_STREET = "迁入地只写到区，无法确定迁入街道：请先在一人一档中更新户籍所在社区，再审批转移。"
NOT_A_DISTRICT = "比对按区进行，须由区级账号发起。"


def run_start(*, actor: User | None, district: Region, period: dt.date) -> ComparisonRun:
    if actor is not None and not (
        access.policy(actor).runs_payroll and access.region_in_jurisdiction(actor, district.code)
    ):
        raise PermissionDenied(access.NOT_ALLOWED)
    if district.level != RegionLevel.DISTRICT:
        raise ValidationError("比对按区进行。")
    return ComparisonRun.objects.create(district=district, period=month_start(period), started_by=actor)


def run_request(*, actor: User, district: Region | None, period: dt.date) -> ComparisonRun:
    """A run a user asks for, from the page or the API alike: checked, created, and its work queued
    once the run is committed (a worker must find the row it is given)."""
    # Here rather than at the top: the task module imports this one for `run_execute`.
    from kangfu.matching.tasks import run_comparison

    access.require(actor, "runs_payroll")
    if district is None or district.level != RegionLevel.DISTRICT:
        raise ValidationError(NOT_A_DISTRICT)
    with transaction.atomic():
        run = run_start(actor=actor, district=district, period=period)
        transaction.on_commit(partial(run_comparison.enqueue, run.pk))
    return run


STAGE = "kangfu_found"  # a temporary table: private to the run's connection, gone with it
STAGE_COLUMNS = f"rule, direction, {rules.FOUND_COLUMNS}"


def run_execute(run: ComparisonRun) -> ComparisonRun:
    """Every rule stages its findings in a temporary table (the progress committed after each, the
    items untouched); then one transaction writes the new ones as items. Killed before that, the run
    leaves nothing; a finding already raised for the person, rule and month is skipped."""
    ctx = rules.Context(district=run.district_id, period=run.period)
    counts = {}
    due = max(
        run.period + dt.timedelta(days=DUE_DAYS - 1), timezone.localdate() + dt.timedelta(days=DUE_DAYS)
    )
    try:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {STAGE}")
            cursor.execute(
                f"""CREATE TEMPORARY TABLE {STAGE} (rule varchar(30), direction varchar(10),
                    person_id bigint, grant_id bigint, case_id bigint, feed_row_id bigint,
                    confidence varchar(5), street_id varchar(12), explanation text,
                    amount_at_stake numeric(12, 2), effective_month date)"""
            )
            for index, (code, name, direction, rule, _reason) in enumerate(rules.RULES):
                ComparisonRun.objects.filter(pk=run.pk).update(
                    step=name, progress=int(100 * index / (len(rules.RULES) + 1))
                )
                _stage(cursor, code, direction, rule(ctx))
            ComparisonRun.objects.filter(pk=run.pk).update(
                step="写入疑点", progress=int(100 * len(rules.RULES) / (len(rules.RULES) + 1))
            )
            with transaction.atomic():
                for code, *_rest in rules.RULES:
                    cursor.execute(
                        f"""INSERT INTO matching_item (run_id, period, district_id, due_date, status, note,
                            version, {STAGE_COLUMNS})
                        SELECT %(run)s, %(period)s, %(district)s, %(due)s, 'open', '', 1,
                            {STAGE_COLUMNS.replace("explanation", "substr(explanation, 1, 300)")}
                        FROM {STAGE} WHERE rule = %(rule)s
                        ON CONFLICT DO NOTHING""",
                        {
                            "run": run.pk,
                            "period": run.period,
                            "district": run.district_id,
                            "due": due,
                            "rule": code,
                        },
                    )
                    counts[code] = cursor.rowcount
                ComparisonRun.objects.filter(pk=run.pk).update(
                    status=RunStatus.DONE, progress=100, step="", found=counts, finished_at=timezone.now()
                )
                audit.record(
                    actor=run.started_by,
                    action=AuditAction.CREATE,
                    obj=run,
                    summary=f"{run} 数据比对：发现 {sum(counts.values())} 条",
                )
            cursor.execute(f"DROP TABLE {STAGE}")
    except Exception as exc:
        ComparisonRun.objects.filter(pk=run.pk).update(
            status=RunStatus.FAILED, error=str(exc)[:300], finished_at=timezone.now()
        )
        raise
    run.refresh_from_db()
    return run


def _stage(cursor, code: str, direction: str, found: rules.Sql | list[rules.Finding] | None) -> None:
    if found is None:
        return
    if isinstance(found, rules.Sql):
        cursor.execute(
            f"INSERT INTO {STAGE} ({STAGE_COLUMNS}) SELECT %(rule)s, %(direction)s, f.* FROM ({found.text}) f",
            {**found.params, "rule": code, "direction": direction},
        )
        return
    cursor.executemany(
        f"INSERT INTO {STAGE} ({STAGE_COLUMNS}) VALUES ({', '.join(['%s'] * 11)})",
        [
            (
                code,
                direction,
                f.person_id,
                f.grant_id,
                f.case_id,
                f.feed_row_id,
                f.confidence,
                f.street_id,
                f.explanation[:300],
                f.amount_at_stake,
                f.effective_month,
            )
            for f in found
        ],
    )


def _item_for(actor: User, item: Item) -> None:
    if not access.region_in_jurisdiction(actor, item.street_id):
        raise PermissionDenied(NOT_YOURS)


def _advance(item: Item, *, expected: str, **updates) -> None:
    advance(
        Item.objects.filter(pk=item.pk), expected=expected, version=item.version, message=TAKEN, **updates
    )


def item_confirm(*, actor: User, item: Item, note: str, effective_month: dt.date | None = None) -> Item:
    """The street confirms what the data says; the change goes to the district for approval. The
    basis is required here, not on the page, so that the API cannot confirm a death on no evidence:
    the district approves a stop on what the street wrote."""
    _item_for(actor, item)
    if not (note or "").strip():
        raise ValidationError({"note": [NEEDS_BASIS]})
    with transaction.atomic():
        _advance(
            item,
            expected=ItemStatus.OPEN,
            status=ItemStatus.CONFIRMED,
            note=note,
            resolved_by=actor,
            resolved_at=timezone.now(),
            effective_month=month_start(effective_month) if effective_month else item.effective_month,
        )
        audit.record(
            actor=actor,
            action=AuditAction.UPDATE,
            obj=item,
            person_id=item.person_id,
            summary=f"确认疑点：{item.explanation[:100]}",
        )
        events.record(
            kind="matching.item.confirmed",
            subject=item,
            district=item.district_id,
            payload={"person": item.person_id, "direction": item.direction},
        )
    item.refresh_from_db()
    return item


def item_dismiss(*, actor: User, item: Item, note: str) -> Item:
    """Not so after all (a namesake, data already corrected …): closed with the reason as evidence."""
    _item_for(actor, item)
    if not note.strip():
        raise ValidationError({"note": [NEEDS_NOTE]})
    with transaction.atomic():
        _advance(
            item,
            expected=ItemStatus.OPEN,
            status=ItemStatus.DISMISSED,
            note=note,
            resolved_by=actor,
            resolved_at=timezone.now(),
        )
        audit.record(
            actor=actor,
            action=AuditAction.UPDATE,
            obj=item,
            person_id=item.person_id,
            summary=f"排除疑点：{note[:100]}",
        )
    item.refresh_from_db()
    return item


def items_resolve(*, actor: User, items: list[Item], action: str, note: str) -> list[Item]:
    """Confirm or dismiss many items at once with one note, as `item_confirm` / `item_dismiss` each
    would: all of them or none, in one transaction with an audit row per item. Each item carries the
    version the page showed, so one changed meanwhile is refused like a stale click; the refusal names
    every item that could not be changed, and why."""
    resolve = {"confirm": item_confirm, "dismiss": item_dismiss}.get(action)
    if resolve is None or not items:
        raise ValidationError(BULK_EMPTY)
    if not (note or "").strip():
        raise ValidationError({"note": [NEEDS_BASIS if action == "confirm" else NEEDS_NOTE]})
    done, refused = [], []
    with transaction.atomic():
        for item in items:
            try:
                # Each service call is its own savepoint, so a refusal leaves the batch's
                # transaction usable to try the rest and name them all.
                done.append(resolve(actor=actor, item=item, note=note))
            except PermissionDenied as exc:
                refused.append(f"{item.person.name}（{exc}）")
            except ValidationError as exc:
                refused.append(f"{item.person.name}（{'；'.join(exc.messages)}）")
        if refused:
            raise ValidationError(BULK_REFUSED.format(names="、".join(refused)))
    return done


def item_transfer(*, actor: User, item: Item, street: Region, note: str = "") -> Item:
    _item_for(actor, item)
    # Within the paying district, or within the district the person lives in when that is another.
    if street.level != RegionLevel.STREET or street.code[:6] not in {
        item.district_id[:6],
        item.street_id[:6],
    }:
        raise ValidationError({"street": [NOT_DISTRICT]})
    with transaction.atomic():
        _advance(item, expected=ItemStatus.OPEN, street=street, note=note)
        audit.record(
            actor=actor,
            action=AuditAction.UPDATE,
            obj=item,
            person_id=item.person_id,
            summary=f"疑点转交 {street.name}",
        )
    item.refresh_from_db()
    return item


def item_approve(*, actor: User, item: Item) -> Item:
    """The district approves a confirmed item: a stop (or a regrade) from its month, which the next
    payroll carries out, recovering what was overpaid; for a 精康 client who died or moved, the case
    is closed as of the event. 主动发现 items are closed as handed to the street for an application;
    an allowance of the same nature lower than ours is closed as kept (保留), the grant untouched."""
    if not (access.policy(actor).runs_payroll and access.region_in_jurisdiction(actor, item.district_id)):
        raise PermissionDenied(access.NOT_ALLOWED)
    access.ensure_separate_actors(submitted_by_id=item.resolved_by_id, actor=actor)
    kept = item.direction == Direction.KEEP
    with transaction.atomic():
        _advance(
            item,
            expected=ItemStatus.CONFIRMED,
            status=ItemStatus.KEPT if kept else ItemStatus.APPROVED,
            approved_by=actor,
            approved_at=timezone.now(),
        )
        if item.direction == Direction.STOP and item.grant_id:
            _apply(item, actor)
        if item.direction == Direction.TRANSFER:
            _transfer(item, actor)
        if item.direction == Direction.STOP and item.case_id:
            _close_cases(item)
        audit.record(
            actor=actor,
            action=AuditAction.UPDATE,
            obj=item,
            person_id=item.person_id,
            summary=f"审批疑点（{APPROVED_AS[item.direction]}）：{item.explanation[:100]}",
        )
        events.record(
            kind="matching.item.approved",
            subject=item,
            district=item.district_id,
            payload={"person": item.person_id, "direction": item.direction, "grant": item.grant_id},
        )
    item.refresh_from_db()
    return item


APPROVED_AS = {
    Direction.KEEP: "择高保留",
    Direction.TRANSFER: "转移发放区",
    Direction.STOP: "销账",
    Direction.ENTITLED: "销账",
}


def _street_of(region: Region | None) -> Region | None:
    while region is not None and region.level > RegionLevel.STREET:
        region = region.parent
    return region if region is not None and region.level == RegionLevel.STREET else None


def _transfer(item: Item, actor: User) -> None:
    """Move the person's grants to the district the household moved to, from the item's month: to the
    street the feed names, else to the street of the registry's household registration or residence
    when it already lies in that district (the street that confirmed the move may have updated it)."""
    row = item.feed_row
    destination = region_for_code(row.region_id if row else None)
    street = _street_of(destination)
    if street is None and destination is not None:
        person = item.person
        for candidate in (region_for_code(person.hukou_region_id), region_for_code(person.street_id)):
            candidate = _street_of(candidate)
            if candidate is not None and candidate.code.startswith(destination.code[:6]):
                street = candidate
                break
    if street is None:
        raise ValidationError(NO_NEW_STREET)
    # The registry follows the household, as the street confirmed it: the new district's payroll
    # checks the household registration against its own district.
    people_services.life_event_record(
        actor=None,
        person=item.person,
        kind=LifeEventKind.MOVE_OUT,
        occurred_on=min(row.event_date or item.period, timezone.localdate()),
        to_region_code=destination.code,
        note=f"数据比对：{row.feed.source.name}，经街道核实、区审批",
    )
    for grant in Grant.objects.filter(person_id=item.person_id).exclude(status=GrantStatus.STOPPED):
        grant_services.grant_transfer(
            actor=actor,
            grant=grant,
            street=street,
            from_month=max(item.effective_month or item.period, grant.start_month),
            reason=f"数据比对：{rules.RULE_NAMES[item.rule]}（{street.parent.name}{street.name}）",
        )


def _apply(item: Item, actor: User) -> None:
    reason = rules.RULE_STOP_REASON[item.rule]
    if item.rule == "death" and item.feed_row and item.feed_row.kind == FeedKind.DECLARED_DEATH:
        reason = "declared_death"
    month = item.effective_month or item.period
    for grant in Grant.objects.filter(person_id=item.person_id).exclude(status=GrantStatus.STOPPED):
        if item.rule == "grade_changed":
            _regrade(item, grant, actor, max(month, grant.start_month))
            continue
        if item.rule in ("left_dibao",) and grant.kind != "living":
            continue
        if item.rule == "overlap" and grant.kind != "care":
            continue
        if item.rule == "missing":
            # Suspended, not stopped: revoking the declaration resumes the grant (grant_resume).
            if grant.status == GrantStatus.ACTIVE:
                grant_services.grant_suspend(
                    actor=actor,
                    grant=grant,
                    from_month=max(month, grant.start_month),
                    reason=f"数据比对：{rules.RULE_NAMES[item.rule]}",
                )
            continue
        grant_services.grant_stop(
            actor=actor,
            grant=grant,
            from_month=max(month, grant.start_month),
            stop_reason=reason or "overlap",
            reason=f"数据比对：{rules.RULE_NAMES[item.rule]}",
        )


def _regrade(item: Item, grant: Grant, actor: User, from_month: dt.date) -> None:
    """Pay the new grade from the item's month, or stop a 护理补贴 the new certificate no longer
    qualifies for (below grade 2, outside the district's care extension): regraded and left active,
    it would be held, or paid nothing, month after month."""
    row = item.feed_row
    category = row.category or _category(grant, from_month)
    policy = subsidy_facts.policy_facts(subsidy_facts.policy_for(item.district_id))
    qualifies = subsidy_rules.care_grade(subsidy_rules.Facts(certificate=(category, row.grade)), policy).ok
    if grant.kind == Kind.CARE and not qualifies:
        grant_services.grant_stop(
            actor=actor,
            grant=grant,
            from_month=from_month,
            stop_reason=StopReason.GRADE,
            reason=f"数据比对：{rules.RULE_NAMES[item.rule]}，{row.grade}级不再享受护理补贴",
        )
        return
    grant_services.grant_regrade(
        actor=actor,
        grant=grant,
        from_month=from_month,
        grade=row.grade,
        category=category,
        reason=item.explanation[:200],
    )


def _category(grant: Grant, month: dt.date) -> int:
    """The category the grant is paid for in that month: a change of grade that names no category
    leaves the person's as it was."""
    periods = GrantPeriod.objects.filter(grant=grant).order_by("-from_month", "-id")
    period = periods.filter(from_month__lte=month).first() or periods.first()
    return period.category


def _close_cases(item: Item) -> None:
    """Discharge the person's cases still served that the evidence ends, through rehab's service, as
    the system acting on a registry event: on the day of the death or move (not before enrolment, not
    in the future). A case the institution has closed meanwhile is left as it is."""
    row = item.feed_row
    kind = row.kind if row else ""
    dead = kind in rules.DEATH_KINDS or (row is None and "死亡" in item.explanation)
    # moved: still served in the district they moved to is not this item's business
    moved_to = row.region_id[:6] if not dead and row is not None and row.region_id else None
    cases = rehab_selectors.served_cases_of(item.person_id, outside_district=moved_to)
    day = (row.event_date if row else None) or item.period
    what = rules.DEATH_WORDS.get(kind, "死亡") if dead else "户籍迁出"
    note = (
        f"数据比对：{row.feed.source.name if row else '外部数据'} {day:%Y-%m-%d} {what}，经街道核实、区审批"
    )
    for case in cases:
        on = min(max(day, case.enrolled_on or day), timezone.localdate())
        rehab_cases.case_discharge(
            actor=None,
            case=case,
            on=on,
            reason=rehab_selectors.DISCHARGE_DECEASED if dead else rehab_selectors.DISCHARGE_MOVED,
            note=note,
        )
