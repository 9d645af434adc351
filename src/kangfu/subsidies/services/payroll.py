"""The monthly payroll of one district: set-based SQL, one transaction, one run at a time.

A run is started by `payroll_start` (the page, the API): it marks the month running and queues the
computation as a task once its transaction commits; the task runs `payroll_run`, the synchronous
computation that the demo, commands, benchmarks and tests call directly.

A run (1) re-checks every active grant against the rules, set-based, and holds those that no longer
qualify; (2) inserts, in one INSERT … SELECT, the difference between entitlement and what locked
payrolls paid, for the month and for earlier months marked for recalculation. Re-running an unlocked
month replaces its lines in the same transaction. Locking is separate, by another person, and after
it the month never changes; the payment file is written only once the lock has committed.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import io
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import Count, F, Q, Sum
from django.utils import timezone
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

from kangfu.core import access, audit
from kangfu.core.exports import XLSX, safe_cell
from kangfu.core.models import AuditAction, Region, RegionLevel, User
from kangfu.core.months import month_start
from kangfu.core.transitions import Conflict, advance
from kangfu.subsidies.models import (
    BankStatus,
    Grant,
    HeldGrant,
    Month,
    PaymentFormat,
    Payroll,
    PayrollLine,
    PayrollSource,
    PayrollStatus,
    Recovery,
    RecoveryStatus,
    Settlement,
    Standard,
)
from kangfu.subsidies.services import grants, payroll_sql

CENT = Decimal("0.01")
LOCKED = "该月发放已锁定，不能重新计算。"
NOT_DRAFT = "只有待审核的发放可以锁定。"
SAME_PERSON = "计算人不能锁定自己计算的发放（职责分离）。"
NOT_A_DISTRICT = "发放按区进行，请选择区。"
FUTURE_MONTH = "不能计算未来月份的发放。"
NOT_LOCKED_YET = "发放锁定后才能导出发放文件。"
LEGACY_PAYROLL = "这是上线前原系统的发放记录（迁入），已由原系统发放，不能导出发放文件或导入银行结果。"
ALREADY_RUNNING = "该月发放正在计算，请稍候查看结果。"
RUN_FAILED = "计算出错，未保存任何结果。请重新计算；仍不成功的，请联系系统管理员。"

# A run that has not finished after this long has lost its worker (a run is one transaction, so it
# left nothing behind): it may be started again.
STALE_AFTER = dt.timedelta(hours=1)


def _district(region: Region) -> Region:
    if region.level != RegionLevel.DISTRICT:
        raise ValidationError(NOT_A_DISTRICT)
    return region


def _check_run(actor: User | None, district: Region, month: dt.date) -> dt.date:
    """Who may run which month: the district's own payroll officers, this month or earlier."""
    _district(district)
    if actor is not None and not (
        access.policy(actor).runs_payroll and access.region_in_jurisdiction(actor, district.code)
    ):
        raise PermissionDenied(access.NOT_ALLOWED)
    month = month_start(month)
    if month > month_start(timezone.localdate()):
        raise ValidationError({"month": [FUTURE_MONTH]})
    return month


def _busy_q(now: dt.datetime) -> Q:
    return Q(status=PayrollStatus.RUNNING, error="", started_at__gt=now - STALE_AFTER)


def payroll_busy(payroll: Payroll, *, now: dt.datetime | None = None) -> bool:
    """A computation of this payroll is under way: started, not finished, not failed, not stale (the
    condition of `_busy_q`, on a row already read)."""
    return (
        payroll.status == PayrollStatus.RUNNING
        and not payroll.error
        and payroll.started_at is not None
        and payroll.started_at > (now or timezone.now()) - STALE_AFTER
    )


def payroll_start(*, actor: User | None, district: Region, month: dt.date) -> Payroll:
    """Start computing a district's payroll for a month, the way the page and the API do: the month is
    marked running at once (a conditional update, so a second click or a colleague's start while it
    runs is a `Conflict`), and the computation is queued as a task when this transaction commits.
    The task runs `payroll_run` as `actor`, who is then the one who computed it and may not lock it."""
    # The task module imports this one: imported here, when a run is started.
    from kangfu.subsidies.tasks import compute_payroll

    month = _check_run(actor, district, month)
    now = timezone.now()
    with transaction.atomic():
        payroll, created = Payroll.objects.get_or_create(
            district=district,
            month=month,
            defaults={"status": PayrollStatus.RUNNING, "started_at": now, "run_by": actor},
        )
        if not created:
            if payroll.status == PayrollStatus.LOCKED:
                raise ValidationError(LOCKED)
            advance(
                Payroll.objects.filter(pk=payroll.pk).exclude(_busy_q(now)),
                expected=[PayrollStatus.DRAFT, PayrollStatus.RUNNING],
                message=ALREADY_RUNNING,
                status=PayrollStatus.RUNNING,
                started_at=now,
                error="",
                run_by=actor,
            )
        audit.record(
            actor=actor,
            action=AuditAction.UPDATE,
            obj=payroll,
            summary=f"开始计算 {district.label} {month:%Y-%m} 发放",
        )
        transaction.on_commit(
            functools.partial(compute_payroll.enqueue, payroll.pk, actor.pk if actor is not None else None)
        )
    payroll.refresh_from_db()
    return payroll


def payroll_execute(*, payroll: Payroll, actor: User | None) -> Payroll:
    """The task's body: `payroll_run` for a started payroll. A refusal or a crash leaves the lines as
    they were (the run is one transaction) and says why on the row, for the page to show; the next
    start clears it. A crash is raised again, so the task backend keeps its traceback."""
    try:
        return payroll_run(actor=actor, district=payroll.district, month=payroll.month)
    except (ValidationError, PermissionDenied) as exc:
        _failed(payroll, "；".join(getattr(exc, "messages", None) or [str(exc)]))
    except Exception:
        _failed(payroll, RUN_FAILED)
        raise
    payroll.refresh_from_db()
    return payroll


def _failed(payroll: Payroll, message: str) -> None:
    # Not a change of state: the row stays running (it cannot be locked) with the reason beside it.
    Payroll.objects.filter(pk=payroll.pk, status=PayrollStatus.RUNNING).update(error=message[:500])


def payroll_run(*, actor: User | None, district: Region, month: dt.date) -> Payroll:
    """Compute (or recompute) a district's payroll for a month, synchronously: the task's work, and
    what the demo, commands and tests call. Nothing is half-done: the run is one transaction, and the
    payroll row is locked for it, so two runs of one month go one after the other."""
    month = _check_run(actor, district, month)
    with transaction.atomic():
        payroll_sql.take_turn(district, month)
        payroll, _created = Payroll.objects.get_or_create(district=district, month=month)
        payroll = Payroll.objects.select_for_update().get(pk=payroll.pk)
        if payroll.status == PayrollStatus.LOCKED:
            raise ValidationError(LOCKED)
        payroll_compute(payroll=payroll, district=district, month=month)
        totals = PayrollLine.objects.filter(payroll=payroll).aggregate(total=Sum("amount"), n=Count("id"))
        advance(
            Payroll.objects.filter(pk=payroll.pk),
            expected=[PayrollStatus.RUNNING, PayrollStatus.DRAFT],
            message=LOCKED,
            status=PayrollStatus.DRAFT,
            error="",
            run_by=actor,
            run_at=timezone.now(),
            total=totals["total"] or Decimal("0.00"),
            line_count=totals["n"],
        )
        audit.record(
            actor=actor,
            action=AuditAction.UPDATE,
            obj=payroll,
            summary=f"计算 {district.label} {month:%Y-%m} 发放：{totals['n']} 条，合计 {totals['total'] or 0} 元",
        )
    payroll.refresh_from_db()
    return payroll


def payroll_compute(*, payroll: Payroll, district: Region, month: dt.date) -> None:
    """Replace an unlocked payroll's lines and holds with what the rules give now. The caller holds
    the transaction (and the payroll row); the go-live reconciliation runs it and rolls it back."""
    _ensure_calendar(month)
    HeldGrant.objects.filter(payroll=payroll).delete()
    own = Standard.objects.filter(region=district).exists()
    with connection.cursor() as cursor:
        staged = payroll_sql.stage(cursor, payroll)
        if staged is None:
            PayrollLine.objects.filter(payroll=payroll).delete()
        for sql, params in payroll_sql.statements(
            payroll=payroll, district=district, month=month, own_standards=own, stage=staged
        ):
            cursor.execute(sql, params)


CALENDAR_START = dt.date(2016, 1, 1)


def _ensure_calendar(through: dt.date) -> None:
    """The month calendar the payroll joins on reaches `through` (a migration fills it to 2060; a
    database emptied by hand, or a test run that truncates tables, gets it back here)."""
    wanted = (through.year - CALENDAR_START.year) * 12 + through.month
    if Month.objects.filter(month__lte=through).count() != wanted:
        Month.objects.bulk_create(
            [
                Month(month=dt.date(y, m, 1))
                for y in range(CALENDAR_START.year, through.year + 1)
                for m in range(1, 13)
                if dt.date(y, m, 1) <= through
            ],
            ignore_conflicts=True,
        )


def payroll_lock(*, actor: User | None, payroll: Payroll) -> Payroll:
    """Approve a computed payroll. From then on it never changes, and the months it settled are no
    longer recalculated; held grants keep the month owed until someone decides on them."""
    if actor is not None:
        if not access.policy(actor).runs_payroll or not access.region_in_jurisdiction(
            actor, payroll.district_id
        ):
            raise PermissionDenied(access.NOT_ALLOWED)
        if payroll.run_by_id == actor.pk:
            raise PermissionDenied(SAME_PERSON)
    rows = Payroll.objects.filter(pk=payroll.pk)
    if actor is not None:
        # The author is checked again by the statement that locks: a re-run by the same person may
        # have finished since `payroll` was read (a second tab), and must not be locked by them.
        rows = rows.exclude(run_by=actor)
    try:
        with transaction.atomic():
            advance(
                rows,
                expected=PayrollStatus.DRAFT,
                message=NOT_DRAFT,
                status=PayrollStatus.LOCKED,
                locked_by=actor,
                locked_at=timezone.now(),
            )
            payroll.refresh_from_db()  # the run as locked: a colleague's re-run may have replaced it
            _locked(payroll, actor)
    except Conflict:
        if actor is not None and Payroll.objects.filter(pk=payroll.pk, run_by=actor).exists():
            raise PermissionDenied(SAME_PERSON) from None
        raise
    payroll.refresh_from_db()
    return payroll


def _locked(payroll: Payroll, actor: User | None) -> None:
    """What locking a payroll settles, in the lock's transaction."""
    held = HeldGrant.objects.filter(payroll=payroll).values("grant_id")
    district_grants = Grant.objects.filter(district_id=payroll.district_id)
    seen_by_run = Q(recalc_marked_at__isnull=True) | Q(recalc_marked_at__lte=payroll.run_at)
    # A mark from a later month (a change effective next month) waits for that month's payroll.
    district_grants.filter(recalc_from__lte=payroll.month).exclude(pk__in=held).filter(seen_by_run).update(
        recalc_from=None
    )
    district_grants.filter(pk__in=held).filter(
        Q(recalc_from__isnull=True) | Q(recalc_from__gt=payroll.month)
    ).update(recalc_from=payroll.month)
    _settle_recoveries(payroll, actor)
    if payroll.source != PayrollSource.LEGACY:
        grants.transfers_due(actor=actor, district=payroll.district_id, month=payroll.month)
    audit.record(actor=actor, action=AuditAction.UPDATE, obj=payroll, summary=f"锁定 {payroll} 发放")


def _settle_recoveries(payroll: Payroll, actor: User | None) -> None:
    """At the lock: a person whose lines net below zero owes the difference (a new recovery); a person
    paid something while owing from before has it offset against this payment, oldest debt first.
    Both sets are found by grouped queries; only the few people concerned are touched one by one."""
    nets = (
        PayrollLine.objects.filter(payroll=payroll).values("person_id").annotate(net=Sum("amount")).order_by()
    )
    for row in nets.filter(net__lt=0):
        Recovery.objects.create(
            person_id=row["person_id"], payroll=payroll, amount=-row["net"], outstanding=-row["net"]
        )
    debts = Recovery.objects.filter(
        status=RecoveryStatus.OPEN, payroll__district_id=payroll.district_id
    ).exclude(payroll=payroll)
    available = {
        row["person_id"]: row["net"]
        for row in nets.filter(net__gt=0, person_id__in=debts.values("person_id"))
    }
    for recovery in debts.filter(person_id__in=list(available)).order_by("created_at", "pk"):
        take = min(recovery.outstanding, available[recovery.person_id])
        if take <= 0:
            continue
        available[recovery.person_id] -= take
        _settle(
            recovery,
            take,
            how="offset",
            payroll=payroll,
            actor=actor,
            note=f"抵扣 {payroll.month:%Y-%m} 发放",
        )


def _settle(
    recovery: Recovery, amount: Decimal, *, how: str, payroll: Payroll | None, actor: User | None, note: str
) -> None:
    """Take `amount` off an open debt, from the outstanding amount the caller saw: if the debt was
    settled or changed meanwhile (an offset at a lock, another clerk's entry), nothing is taken."""
    left = recovery.outstanding - amount
    advance(
        Recovery.objects.filter(pk=recovery.pk, outstanding=recovery.outstanding),
        expected=RecoveryStatus.OPEN,
        message=DEBT_CHANGED,
        outstanding=left,
        status=RecoveryStatus.SETTLED if left <= 0 else RecoveryStatus.OPEN,
    )
    Settlement.objects.create(
        recovery=recovery, payroll=payroll, amount=amount, how=how, note=note, actor=actor
    )
    recovery.outstanding = left


NOT_OWED = "追回金额应大于 0 且不超过尚欠的 {outstanding} 元。"
DEBT_CHANGED = "该笔欠款已有变化（已抵扣或已登记退回），请刷新后查看。"


def recovery_repaid(*, actor: User, recovery: Recovery, amount: Decimal, note: str = "") -> Recovery:
    """Record that a person (or their family) paid back some or all of what they owe."""
    if not (
        access.policy(actor).runs_payroll
        and access.region_in_jurisdiction(actor, recovery.payroll.district_id)
    ):
        raise PermissionDenied(access.NOT_ALLOWED)
    with transaction.atomic():
        recovery = Recovery.objects.get(pk=recovery.pk)
        if not (0 < amount <= recovery.outstanding):
            raise ValidationError({"amount": [NOT_OWED.format(outstanding=recovery.outstanding)]})
        _settle(recovery, amount, how="repaid", payroll=None, actor=actor, note=note or "已退回")
        audit.record(
            actor=actor,
            action=AuditAction.UPDATE,
            obj=recovery,
            person_id=recovery.person_id,
            summary=f"登记追回款已退回 {amount} 元",
        )
    recovery.refresh_from_db()
    return recovery


# ------------------------------------------------------------------ payment files


@dataclass(frozen=True)
class Payment:
    """What one person is paid in one payroll: the net of their lines, never less than zero."""

    person_id: int
    name: str
    id_number: str
    bank_name: str
    bank_account: str
    street: str
    amount: Decimal
    line_ids: tuple[int, ...]


DEFAULT_COLUMNS = [
    ["序号", "seq"],
    ["姓名", "name"],
    ["身份证号", "id_number"],
    ["开户银行", "bank_name"],
    ["银行账号", "bank_account"],
    ["金额", "amount"],
    ["街道", "street"],
    ["明细编号", "lines"],
]


def _columns(bank: str) -> list[list[str]]:
    found = (
        PaymentFormat.objects.filter(code=bank).first()
        or PaymentFormat.objects.filter(code="default").first()
    )
    return found.columns if found is not None else DEFAULT_COLUMNS


def payments(payroll: Payroll) -> tuple[list[Payment], list[dict]]:
    """Payments of a locked payroll, and the people whose net is negative (an amount to recover)."""
    lines = (
        PayrollLine.objects.filter(payroll=payroll)
        .select_related("grant", "person", "street")
        .order_by("person_id", "kind", "month_for")
    )
    by_person: dict[int, list[PayrollLine]] = {}
    for line in lines:
        by_person.setdefault(line.person_id, []).append(line)
    offsets = {
        row["recovery__person_id"]: row["total"]
        for row in Settlement.objects.filter(payroll=payroll, how="offset")
        .values("recovery__person_id")
        .annotate(total=Sum("amount"))
    }
    paid, owing = [], []
    for person_id, person_lines in by_person.items():
        net = sum((line.amount for line in person_lines), Decimal("0.00")) - offsets.get(
            person_id, Decimal("0.00")
        )
        first = person_lines[0]
        if net > 0:
            paid.append(
                Payment(
                    person_id=first.person_id,
                    name=first.person.name,
                    id_number=first.person.id_number,
                    bank_name=first.grant.bank_name,
                    bank_account=first.grant.bank_account,
                    street=first.street.name,
                    amount=net,
                    line_ids=tuple(line.pk for line in person_lines),
                )
            )
        elif net < 0:
            owing.append({"person": first.person, "amount": -net, "lines": person_lines})
    return paid, owing


def payment_file(*, actor: User, payroll: Payroll, fmt: str, bank: str = "default") -> tuple[bytes, str]:
    """The bank's payment file (XLSX or CSV) of a locked payroll; audited, as it holds full accounts."""
    if payroll.source == PayrollSource.LEGACY:
        raise ValidationError(LEGACY_PAYROLL)
    if payroll.status != PayrollStatus.LOCKED:
        raise ValidationError(NOT_LOCKED_YET)
    columns = _columns(bank)
    paid, _owing = payments(payroll)
    rows = []
    for seq, p in enumerate(paid, start=1):
        values = {
            "seq": seq,
            "name": p.name,
            "id_number": p.id_number,
            "bank_name": p.bank_name,
            "bank_account": p.bank_account,
            # The CSV carries the amount as the banks read it (two decimals); the XLSX as a number.
            "amount": f"{p.amount:.2f}" if fmt == "csv" else p.amount.quantize(CENT),
            "street": p.street,
            "lines": " ".join(str(i) for i in p.line_ids),
            "memo": f"两项补贴{payroll.month:%Y%m}",
        }
        rows.append([values[key] for _header, key in columns])
    header = [h for h, _key in columns]
    audit.record(
        actor=actor,
        action=AuditAction.EXPORT,
        obj=payroll,
        summary=f"导出 {payroll} 发放文件（{fmt.upper()}，{len(rows)} 人）",
    )
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(header)
        for row in rows:
            writer.writerow([safe_cell(v) for v in row])
        return out.getvalue().encode("utf-8-sig"), "text/csv"
    keys = [key for _header, key in columns]
    total = sum((p.amount for p in paid), Decimal("0.00")).quantize(CENT)
    return _bank_xlsx(f"{payroll.month:%Y%m}发放", header, rows, keys=keys, total=total), XLSX


def _bank_xlsx(title: str, header: list[str], rows: list[list], *, keys: list[str], total: Decimal) -> bytes:
    """The payment file as a workbook whose amounts are numbers shown with two decimals (so the
    clerk's and the bank's sums work) and whose last row is the total the bank checks against.
    Text is neutralised as every export's is (`core.exports.safe_cell`); ID and account numbers stay
    text, so Excel does not round them."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=title[:31])
    sheet.append(list(header))

    def cells(values: list) -> list:
        out = []
        for key, value in zip(keys, values, strict=True):
            if key == "amount" and isinstance(value, Decimal):
                cell = WriteOnlyCell(sheet, value=value)
                cell.number_format = "0.00"
                out.append(cell)
            else:
                out.append(safe_cell(value))
        return out

    for row in rows:
        sheet.append(cells(row))
    if "amount" in keys:
        last = [""] * len(keys)
        last[0 if keys[0] != "amount" else 1 % len(keys)] = f"合计（{len(rows)} 人）"
        last[keys.index("amount")] = total
        sheet.append(cells(last))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# ------------------------------------------------------------------ bank results


@dataclass
class BankReport:
    paid: int = 0
    failed: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)


def bank_result_import(*, actor: User, payroll: Payroll, text: str) -> BankReport:
    """Read the bank's answer (明细编号, 金额, 结果 成功/失败, 原因) and mark lines paid or failed.

    Every row is checked first; unknown, duplicate or changed lines are reported by row number and
    nothing is marked. A failed payment is owed again: its months are recalculated next month."""
    if payroll.source == PayrollSource.LEGACY:
        raise ValidationError(LEGACY_PAYROLL)
    report = BankReport()
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    needed = {"明细编号", "金额", "结果"}
    if not needed <= set(reader.fieldnames or []):
        raise ValidationError(f"文件缺少列：{'、'.join(sorted(needed - set(reader.fieldnames or [])))}。")
    paid, _owing = payments(payroll)
    by_lines = {p.line_ids: p for p in paid}
    seen: set[tuple[int, ...]] = set()
    outcome: list[tuple[Payment, bool, str]] = []
    for row in reader:
        line_no = reader.line_num
        try:
            key = tuple(sorted(int(x) for x in (row.get("明细编号") or "").split()))
        except ValueError:
            report.errors.append((line_no, "明细编号无法识别。"))
            continue
        payment = by_lines.get(key) or next((p for p in paid if tuple(sorted(p.line_ids)) == key), None)
        if payment is None:
            report.errors.append((line_no, "本月发放中没有这条明细。"))
            continue
        if key in seen:
            report.errors.append((line_no, "与前面的行重复。"))
            continue
        seen.add(key)
        try:
            amount = Decimal((row.get("金额") or "").strip())
        except Exception:
            amount = None
        if amount != payment.amount:
            report.errors.append((line_no, f"金额与发放文件不符（应为 {payment.amount}）。"))
            continue
        result = (row.get("结果") or "").strip()
        if result not in {"成功", "失败"}:
            report.errors.append((line_no, "结果应为“成功”或“失败”。"))
            continue
        outcome.append((payment, result == "成功", (row.get("原因") or "").strip()))
    if report.errors:
        return report
    with transaction.atomic():
        for payment, ok, reason in outcome:
            lines = PayrollLine.objects.filter(pk__in=payment.line_ids, bank_status=BankStatus.PENDING)
            if ok:
                report.paid += lines.update(bank_status=BankStatus.PAID)
            else:
                # Nothing reached the person: a debt offset against this payment is owed again.
                for offset in Settlement.objects.filter(
                    payroll=payroll, how="offset", recovery__person_id=payment.person_id
                ):
                    Recovery.objects.filter(pk=offset.recovery_id).update(
                        outstanding=F("outstanding") + offset.amount, status=RecoveryStatus.OPEN
                    )
                    offset.delete()
                months = list(lines.values_list("grant_id", "month_for"))
                report.failed += lines.update(
                    bank_status=BankStatus.FAILED, bank_note=reason[:200] or "银行退回"
                )
                for grant_id, month_for in months:
                    Grant.objects.filter(pk=grant_id).filter(
                        Q(recalc_from__isnull=True) | Q(recalc_from__gt=month_for)
                    ).update(recalc_from=month_for, recalc_marked_at=timezone.now())
        audit.record(
            actor=actor,
            action=AuditAction.IMPORT,
            obj=payroll,
            summary=f"导入 {payroll} 银行结果：成功 {report.paid} 条，失败 {report.failed} 条",
        )
    return report
