"""Recipients of the two subsidies and the months the former system paid them.

`recipients`: one line per person and subsidy, with the months already paid as a paid-through month
and monthly amount. `payments`: one line per person, subsidy and month paid, for a city whose former
system exports the payment detail. Both need the go-live month (the first month Kangfu pays): months
from it on cannot be legacy. Paid months become lines of locked legacy payrolls, so recoveries and
amounts at stake count them exactly.
"""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from kangfu.core import access, audit, bulk, partitions
from kangfu.core import events as outbox
from kangfu.core.models import AuditAction, RegionLevel
from kangfu.core.months import add_months
from kangfu.core.spreadsheets import parse_category, parse_grade, parse_month, text
from kangfu.golive.kinds import (
    CHANGED,
    ID_COLUMN,
    NAME_COLUMN,
    NEW,
    UNCHANGED,
    Column,
    Kind,
    Record,
    Regions,
    among,
    clean_id,
    problems,
    register,
    registered,
)
from kangfu.people.models import CertificateStatus, DisabilityCertificate, IncomePeriod, IncomeStatus, Person
from kangfu.people.services import id_hash
from kangfu.subsidies.models import (
    ChangeAction,
    Grant,
    GrantChange,
    GrantPeriod,
    GrantStatus,
    Payroll,
    PayrollLine,
    PayrollSource,
)
from kangfu.subsidies.models import (
    Kind as SubsidyKind,
)
from kangfu.subsidies.services.legacy import (
    MIGRATED,
    LegacyPayrolls,
    Standards,
    legacy_line,
    months_between,
    refresh_totals,
)

logger = logging.getLogger(__name__)

LIVE_FROM_NEEDED = "请填写上线月份（本系统首次发放的月份，如 2027-01）。"
BAD_LIVE_FROM = "上线月份“{value}”不是可识别的月份。"
BAD_KIND = "补贴类别“{value}”应为生活补贴或护理补贴（两项都享受的请分两行）。"
NO_KIND = "缺少补贴类别。"
NO_START = "缺少起始月份。"
BAD_AMOUNT = "金额“{value}”不是有效的金额（元，最多两位小数）。"
NOT_ACTIVE = "只导入正在发放的对象（本行状态：{value}）。"
START_AFTER_LIVE = "起始月份 {month:%Y-%m} 不早于上线月份 {live:%Y-%m}：上线后的新对象请在本系统受理审批。"
PAID_AFTER_LIVE = "已发放至 {month:%Y-%m}，不早于上线月份 {live:%Y-%m}：上线当月起由本系统发放。"
MONTH_AFTER_LIVE = "发放月份 {month:%Y-%m} 不早于上线月份 {live:%Y-%m}：上线当月起由本系统发放。"
PAID_BEFORE_START = "已发放至 {paid:%Y-%m} 早于起始月份 {start:%Y-%m}。"
UNKNOWN_PERSON = "登记中没有该身份证号的人员，请先导入人员。"
PERSON_ELSEWHERE = "该人员不在您的管辖范围内。"
UNKNOWN_REGION = "区划“{value}”不是已知的区或街道。"
REGION_OUT_OF_SCOPE = "发放区划 {value} 不在您的管辖范围内。"
NO_PLACE = "无法确定发放的区和街道：请填写区、街道列，或先登记该人员的户籍地（到街道一级）。"
NO_GRADE = "缺少残疾等级：文件中没有，登记中也没有有效的残疾人证。"
NO_AMOUNT = "缺少月金额，且本系统没有{kind}{grade}级在 {month:%Y-%m} 的标准。"
NO_GRANT = "没有该人员的{kind}记录，请先导入享受对象。"
AMOUNT_DIFFERS = "月金额 {amount} 元与本系统标准 {standard} 元（{grade}级，{month:%Y-%m}）不符，按导入保留。"
NO_STANDARD = "本系统没有{kind}{grade}级在 {month:%Y-%m} 的标准，月金额按导入保留。"
NO_PAID = "未提供已发放月份：上线前各月视为原系统已结清，停发追回时不计；请导入原系统发放明细。"
GAP_BEFORE_LIVE = "原系统发放至 {paid:%Y-%m}，上线月份为 {live:%Y-%m}：首次发放将补发其间 {n} 个月，请核实。"
NO_ACCOUNT = "缺少银行账号，首次发放前须补录。"
BASIS_DIFFERS = "享受依据为“{basis}”，登记中上线前为{registry}：首次发放按登记核定，请核实。"

# Months of a paid-through line recorded as lines: enough for any stop found late to be recovered
# to the fen, without writing a decade of lines per recipient.
LEGACY_MONTHS = 36

_KINDS = {
    "生活补贴": SubsidyKind.LIVING,
    "困难残疾人生活补贴": SubsidyKind.LIVING,
    "生活": SubsidyKind.LIVING,
    "残疾人生活补贴": SubsidyKind.LIVING,
    "living": SubsidyKind.LIVING,
    "护理补贴": SubsidyKind.CARE,
    "重度残疾人护理补贴": SubsidyKind.CARE,
    "护理": SubsidyKind.CARE,
    "残疾人护理补贴": SubsidyKind.CARE,
    "care": SubsidyKind.CARE,
}
_BASIS = {
    "低保": IncomeStatus.DIBAO,
    "城市低保": IncomeStatus.DIBAO,
    "农村低保": IncomeStatus.DIBAO,
    "低保边缘": IncomeStatus.DIBAO_EDGE,
    "低边": IncomeStatus.DIBAO_EDGE,
    "低收入": IncomeStatus.DIBAO_EDGE,
    "特困": IncomeStatus.TEKUN,
    "特困供养": IncomeStatus.TEKUN,
}
# Plain strings in cleaned lines, which are pickled between processes (see `people._INCOME`).
_KINDS = {raw: str(kind) for raw, kind in _KINDS.items()}
_BASIS = {raw: str(basis) for raw, basis in _BASIS.items()}
_ACTIVE = {"", "正常", "发放中", "在发", "正常发放", "享受中", "在册"}
OPTIONAL_NAME = Column("name", "姓名", NAME_COLUMN.synonyms)
KIND_COLUMN = Column("kind", "补贴类别", ("补贴类型", "补贴项目", "项目", "类别", "补贴名称"), True)


def _kind(values: dict[str, Any], found: list[str]) -> str:
    raw = text(values.get("kind"))
    if not raw:
        found.append(NO_KIND)
        return ""
    if raw not in _KINDS:
        found.append(BAD_KIND.format(value=raw))
        return ""
    return _KINDS[raw]


def _money(value: Any, found: list[str]) -> Decimal | None:
    raw = text(value).replace(",", "").replace("元", "").replace("￥", "").strip()
    if not raw:
        return None
    try:
        amount = Decimal(raw)
    except InvalidOperation:
        found.append(BAD_AMOUNT.format(value=raw))
        return None
    if amount < 0 or amount != amount.quantize(Decimal("0.01")) or amount >= Decimal("100000"):
        found.append(BAD_AMOUNT.format(value=raw))
        return None
    return amount.quantize(Decimal("0.01"))


def _month(values: dict[str, Any], key: str, found: list[str]) -> dt.date | None:
    try:
        return parse_month(values.get(key))
    except ValueError as exc:
        found.append(str(exc))
        return None


class _Legacy(Kind):
    ability = "runs_payroll"
    reads = (Person, DisabilityCertificate, IncomePeriod, Grant, Payroll)
    clean_apart = True  # the regions are read by the constructor
    options_help = {"live_from": "上线月份：本系统首次发放的月份（YYYY-MM）；此前各月为原系统发放。"}

    def check_options(self) -> None:
        raw = self.options.get("live_from")
        if not raw:
            raise ValidationError({"live_from": [LIVE_FROM_NEEDED]})
        try:
            month = parse_month(raw)
        except ValueError:
            raise ValidationError({"live_from": [BAD_LIVE_FROM.format(value=raw)]}) from None
        self.options["live_from"] = f"{month:%Y-%m}"

    @property
    def live_from(self) -> dt.date:
        return parse_month(self.options["live_from"])

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.payrolls = LegacyPayrolls()
        self.standards = Standards()
        self.audit: list[audit.Row] = []

    def _people(self, records: list[Record]) -> None:
        registered(
            records,
            self.actor,
            ("street_id", "district_id", "hukou_region_id"),
            unknown=UNKNOWN_PERSON,
            elsewhere=PERSON_ELSEWHERE,
        )

    def _standard_flag(self, record: Record, *, district: str, kind: str, grade: int, month: dt.date, amount):
        standard = self.standards.amount(district=district, kind=kind, grade=grade, month=month)
        label = SubsidyKind(kind).label
        if standard is None:
            record.flags.append(NO_STANDARD.format(kind=label, grade=grade, month=month))
        elif standard != amount:
            record.flags.append(
                AMOUNT_DIFFERS.format(amount=amount, standard=standard, grade=grade, month=month)
            )

    def _person_and_kind(self, values: dict[str, Any], found: list[str]) -> dict[str, Any]:
        """What every legacy line starts with: whose (its blind index computed once, here), and which
        subsidy."""
        number = clean_id(values, found, self.today)
        return {
            "id_number": number,
            "id_hash": id_hash(number) if number else "",
            "name": text(values.get("name"))[:50],
            "kind": _kind(values, found),
        }

    def prepare(self) -> None:
        """On PostgreSQL, the payroll lines' partitions of the months before go-live that a file can
        write (the last LEGACY_MONTHS), made before the import's transaction as the partition pass
        makes them (rows of those months already in DEFAULT moved into their own). Without them every
        legacy line lands in DEFAULT, and the next pass moves them all while it holds the table
        locked (13 s for the 360,000 lines of 30,000 recipients); inside the import's transaction a
        new partition would lock the table for as long as the import takes. A role that may not
        create partitions leaves the lines in DEFAULT, as before."""
        if connection.vendor != "postgresql":
            return
        table = PayrollLine._meta.db_table
        with connection.cursor() as cursor:
            specs = [s for s in partitions.partitioned_tables(cursor) if s.table == table]
        first = add_months(self.live_from, -LEGACY_MONTHS)
        for spec in specs:
            try:
                with transaction.atomic(), connection.cursor() as cursor:
                    partitions.ensure_table(cursor, spec, ahead=LEGACY_MONTHS - 1, today=first)
            except DatabaseError:
                logger.warning("partitions of %s not made before the import", table, exc_info=True)

    def finish(self) -> None:
        refresh_totals(self.payrolls.touched)


@register
class RecipientsKind(_Legacy):
    name = "recipients"
    label = "两项补贴享受对象（含原系统已发放月份）"
    description = (
        "一行一人一项补贴。已发放月份写“已发放至”和“月金额”，系统记为原系统各月的发放（最多记上线前 36 个月），"
        "停发追回和涉及金额按它们计算。上线月份起由本系统发放。人员须已登记。"
    )
    columns = [
        ID_COLUMN,
        OPTIONAL_NAME,
        KIND_COLUMN,
        Column(
            "start_month",
            "起始月份",
            ("享受起始年月", "享受起始月份", "开始发放月份", "批准月份", "起始年月", "享受年月"),
            True,
        ),
        Column(
            "paid_through",
            "已发放至",
            ("发放至", "已发放至月份", "最后发放月份", "截止发放月份", "发放截止年月"),
        ),
        Column("amount", "月金额", ("发放标准", "月标准", "补贴金额", "发放金额", "月发放金额", "补贴标准")),
        Column("basis", "享受依据", ("享受类型", "困难类型", "保障类型")),
        Column("district", "区", ("区县", "所属区", "区（县）", "发放区")),
        Column("street", "街道", ("乡镇（街道）", "街道（乡镇）", "所属街道", "街道代码")),
        Column("grade", "残疾等级", ("等级", "残疾级别")),
        Column("category", "残疾类别", ("残疾类型",)),
        Column("bank_name", "开户银行", ("银行", "开户行", "发放银行")),
        Column("bank_account", "银行账号", ("账号", "银行卡号", "卡号", "社保卡号", "发放账号")),
        Column("status", "发放状态", ("状态", "享受状态")),
    ]

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.regions = Regions()

    def key(self, record: Record) -> Any:
        return (record.values["id_number"], record.values["kind"])

    def clean(self, values: dict[str, Any]) -> dict[str, Any]:
        found: list[str] = []
        out = self._person_and_kind(values, found)
        out["start_month"] = _month(values, "start_month", found)
        if out["start_month"] is None and not any("月份" in p for p in found):
            found.append(NO_START)
        out["paid_through"] = _month(values, "paid_through", found)
        out["amount"] = _money(values.get("amount"), found)
        live = self.live_from
        if out["start_month"] and out["start_month"] >= live:
            found.append(START_AFTER_LIVE.format(month=out["start_month"], live=live))
        if out["paid_through"]:
            if out["paid_through"] >= live:
                found.append(PAID_AFTER_LIVE.format(month=out["paid_through"], live=live))
            if out["start_month"] and out["paid_through"] < out["start_month"]:
                found.append(PAID_BEFORE_START.format(paid=out["paid_through"], start=out["start_month"]))
        try:
            out["grade"] = parse_grade(values.get("grade"))
        except ValueError as exc:
            found.append(str(exc))
        try:
            out["category"] = parse_category(values.get("category"))
        except ValueError as exc:
            found.append(str(exc))
        for key in ("district", "street"):
            raw = text(values.get(key))
            out[key] = None
            if raw:
                code = self.regions.any(raw)
                wanted = RegionLevel.DISTRICT if key == "district" else RegionLevel.STREET
                if code is None or self.regions.level.get(code) != wanted:
                    found.append(UNKNOWN_REGION.format(value=raw))
                out[key] = code
        basis = text(values.get("basis"))
        out["basis"] = _BASIS.get(basis.removesuffix("户").removesuffix("家庭"), "") if basis else ""
        out["basis_text"] = basis
        out["bank_name"] = text(values.get("bank_name"))[:50]
        out["bank_account"] = "".join(text(values.get("bank_account")).split())[:40]
        status = text(values.get("status"))
        if status not in _ACTIVE:
            found.append(NOT_ACTIVE.format(value=status))
        problems(found)
        return out

    def check(self, records: list[Record]) -> None:
        self._people(records)
        live = [r for r in records if not r.error]
        person_ids = [r.target["person"]["pk"] for r in live]
        # By person only (see kinds.people: with the status SQLite would read every valid certificate).
        certs = {
            row["person_id"]: row
            for row in DisabilityCertificate.objects.filter(among("person_id", person_ids)).values(
                "person_id", "grade", "category", "status"
            )
            if row["status"] == CertificateStatus.VALID
        }
        self._check_basis(live, person_ids)
        grants = {
            (row["person_id"], row["kind"]): row
            for row in Grant.objects.filter(among("person_id", person_ids)).values(
                "pk",
                "person_id",
                "kind",
                "status",
                "start_month",
                "district_id",
                "street_id",
                "bank_name",
                "application_id",
            )
        }
        lines: dict[int, dict[dt.date, dict[str, Any]]] = {}
        for row in PayrollLine.objects.filter(
            grant_id__in=[g["pk"] for g in grants.values()], payroll__source=PayrollSource.LEGACY
        ).values("pk", "grant_id", "month_for", "amount", "payroll_id"):
            lines.setdefault(row["grant_id"], {})[row["month_for"]] = row
        plans = []
        for record in live:
            plan = self._plan(record, certs, grants)
            if plan is not None:
                plans.append((record, plan))
        self.payrolls.load((plan["district"], month) for _r, plan in plans for month in plan["months"])
        for record, plan in plans:
            for month in plan["months"]:
                problem = self.payrolls.problem(plan["district"], month)
                if problem:
                    record.error = problem
                    break
            if record.error:
                continue
            grant = plan["grant"]
            record.target["plan"] = plan
            if grant is None:
                record.change = NEW
                continue
            have = lines.get(grant["pk"], {})
            plan["add"] = [m for m in plan["months"] if m not in have]
            plan["amend"] = [
                have[m]["pk"] for m in plan["months"] if m in have and have[m]["amount"] != plan["amounts"][m]
            ]
            plan["drop"] = [
                row["pk"] for m, row in have.items() if m not in plan["amounts"] and plan["paid_recorded"]
            ]
            plan["update"] = {
                k: v
                for k, v in (
                    ("district_id", plan["district"]),
                    ("street_id", plan["street"]),
                    ("bank_name", record.values["bank_name"] or grant["bank_name"]),
                )
                if grant[k] != v
            }
            if record.values["start_month"] != grant["start_month"] and grant["application_id"] is None:
                plan["update"]["start_month"] = record.values["start_month"]
            record.change = (
                CHANGED if (plan["add"] or plan["amend"] or plan["drop"] or plan["update"]) else UNCHANGED
            )

    def _check_basis(self, records: list[Record], person_ids: list[int]) -> None:
        """The income status a 生活补贴 rests on, as the former system says, against the registry's in
        the last month before go-live: a difference is flagged (the payroll follows the registry)."""
        if not any(r.values["basis"] for r in records):
            return
        last = add_months(self.live_from, -1)
        held = dict(
            IncomePeriod.objects.filter(among("person_id", person_ids), start_date__lt=self.live_from)
            .filter(Q(end_date__isnull=True) | Q(end_date__gte=last))
            .values_list("person_id", "status")
        )
        for record in records:
            basis = record.values["basis"]
            if not basis or record.values["kind"] != SubsidyKind.LIVING:
                continue
            registry = held.get(record.target["person"]["pk"])
            if registry != basis:
                record.flags.append(
                    BASIS_DIFFERS.format(
                        basis=record.values["basis_text"],
                        registry=IncomeStatus(registry).label if registry else "没有收入状况",
                    )
                )

    def _plan(self, record: Record, certs, grants) -> dict[str, Any] | None:
        values = record.values
        person = record.target["person"]
        district, street = values["district"], values["street"]
        if street and not district:
            district = street[:6].ljust(12, "0")
        if not (district and street):
            hukou = person["hukou_region_id"] or ""
            if hukou and self.regions.level.get(hukou, 0) >= RegionLevel.STREET:
                district, street = hukou[:6].ljust(12, "0"), hukou[:9].ljust(12, "0")
            elif person["street_id"]:
                district, street = person["district_id"], person["street_id"]
        if not (district and street) or street[:6] != district[:6]:
            record.error = NO_PLACE
            return None
        if self.actor is not None and not access.region_in_jurisdiction(self.actor, street):
            record.error = REGION_OUT_OF_SCOPE.format(value=street)
            return None
        cert = certs.get(person["pk"])
        grade = values["grade"] or (cert["grade"] if cert else None)
        category = values["category"] or (cert["category"] if cert else None)
        if grade is None:
            record.error = NO_GRADE
            return None
        live = self.live_from
        kind = values["kind"]
        months: list[dt.date] = []
        amounts: dict[dt.date, Decimal] = {}
        paid = values["paid_through"]
        if paid is not None:
            first = max(values["start_month"], add_months(paid, -(LEGACY_MONTHS - 1)))
            months = months_between(first, paid)
            for month in months:
                standard = self.standards.amount(district=district, kind=kind, grade=grade, month=month)
                amount = values["amount"] if values["amount"] is not None else standard
                if amount is None:
                    record.error = NO_AMOUNT.format(kind=SubsidyKind(kind).label, grade=grade, month=month)
                    return None
                amounts[month] = amount
            if values["amount"] is not None:
                self._standard_flag(
                    record, district=district, kind=kind, grade=grade, month=paid, amount=values["amount"]
                )
            gap = len(months_between(add_months(paid, 1), add_months(live, -1)))
            if gap:
                record.flags.append(GAP_BEFORE_LIVE.format(paid=paid, live=live, n=gap))
        else:
            record.flags.append(NO_PAID)
        if not values["bank_account"]:
            record.flags.append(NO_ACCOUNT)
        recalc = max(values["start_month"], min(add_months(paid, 1), live) if paid else live)
        return {
            "grant": grants.get((person["pk"], kind)),
            "district": district,
            "street": street,
            "grade": grade,
            "category": category or 0,
            "months": months,
            "amounts": amounts,
            "recalc_from": recalc,
            "paid_recorded": paid is not None,
        }

    def apply(self, records: list[Record]) -> None:
        now = timezone.now()
        new = [r for r in records if r.change == NEW]
        # Rows as dicts, not model instances (core.bulk takes either): cheaper by the hundred thousand.
        grants = [
            {
                "person_id": r.target["person"]["pk"],
                "kind": r.values["kind"],
                "status": GrantStatus.ACTIVE,
                "district_id": r.target["plan"]["district"],
                "street_id": r.target["plan"]["street"],
                "start_month": r.values["start_month"],
                "bank_name": r.values["bank_name"],
                "bank_account": r.values["bank_account"],
                "recalc_from": r.target["plan"]["recalc_from"],
                "recalc_marked_at": now,
            }
            for r in new
        ]
        ids = bulk.insert(Grant, grants)
        periods, changes, lines = [], [], []
        actor_id = self.actor.pk if self.actor is not None else None
        for record, grant, pk in zip(new, grants, ids, strict=True):
            plan = record.target["plan"]
            plan["grant"] = {"pk": pk}
            start = grant["start_month"]
            periods.append(
                {
                    "grant_id": pk,
                    "from_month": start,
                    "grade": plan["grade"],
                    "category": plan["category"],
                    "reason": MIGRATED,
                }
            )
            changes.append(
                {
                    "grant_id": pk,
                    "action": ChangeAction.START,
                    "effective_month": start,
                    "reason": MIGRATED,
                    "actor_id": actor_id,
                }
            )
            plan["add"] = plan["months"]
            self.audit.append(
                audit.Row(
                    "subsidies.grant",
                    str(pk),
                    grant["person_id"],
                    f"迁入{SubsidyKind(grant['kind']).label}（{start:%Y-%m} 起"
                    + (f"，原系统已发放至 {plan['months'][-1]:%Y-%m}）" if plan["months"] else "）"),
                )
            )
        bulk.insert(GrantPeriod, periods)
        bulk.insert(GrantChange, changes)
        self._announce(new, [r for r in records if r.change == CHANGED and r.target["plan"]["update"]])
        for record in records:
            plan = record.target["plan"]
            if record.change not in (NEW, CHANGED):
                continue
            grant_id = plan["grant"]["pk"]
            person_id = record.target["person"]["pk"]
            for month in plan.get("add", []):
                lines.append(
                    legacy_line(
                        payroll_id=self.payrolls.id_for(plan["district"], month),
                        grant_id=grant_id,
                        person_id=person_id,
                        street_id=plan["street"],
                        kind=record.values["kind"],
                        month=month,
                        amount=plan["amounts"][month],
                    )
                )
            if record.change == CHANGED:
                self._amend(record, plan, grant_id, person_id)
        bulk.insert(PayrollLine, lines)
        audit.record_rows(actor=self.actor, action=AuditAction.IMPORT, rows=self.audit)
        self.audit.clear()

    def _announce(self, new: list[Record], changed: list[Record]) -> None:
        """The outbox events of this batch, one statement per kind: a grant brought in is
        `grant.started` as `grant_approve` would write it, and a grant whose place, bank or start the
        file changes is `grant.changed`; both say `migrated`, so that a receiving system (the national
        两补 system already holds these grants) can tell them from approvals and changes made here.
        Legacy months paid, added or corrected, are history the former system reported itself: no
        event, as a file that changes nothing makes none."""
        outbox.record_many(
            kind="subsidies.grant.started",
            events=[
                outbox.Event(
                    ("subsidies.grant", r.target["plan"]["grant"]["pk"]),
                    r.target["plan"]["district"],
                    {
                        "person": r.target["person"]["pk"],
                        "kind": r.values["kind"],
                        "action": ChangeAction.START,
                        "effective_month": r.values["start_month"],
                        "stop_reason": "",
                        "migrated": True,
                    },
                )
                for r in new
            ],
        )
        outbox.record_many(
            kind="subsidies.grant.changed",
            events=[
                outbox.Event(
                    ("subsidies.grant", r.target["plan"]["grant"]["pk"]),
                    r.target["plan"]["district"],
                    {
                        "person": r.target["person"]["pk"],
                        "kind": r.values["kind"],
                        "action": "migrated_update",
                        "changed": ",".join(sorted(r.target["plan"]["update"])),
                        "effective_month": r.target["plan"]["update"].get("start_month"),
                        "migrated": True,
                    },
                )
                for r in changed
            ],
        )

    def _amend(self, record: Record, plan: dict[str, Any], grant_id: int, person_id: int) -> None:
        amended = list(PayrollLine.objects.filter(pk__in=plan["amend"]).select_related("payroll"))
        for line in amended:
            line.amount = plan["amounts"][line.month_for]
            self.payrolls.touched.add(line.payroll_id)
        PayrollLine.objects.bulk_update(amended, ["amount"])
        if plan["drop"]:
            self.payrolls.touched.update(
                PayrollLine.objects.filter(pk__in=plan["drop"]).values_list("payroll_id", flat=True)
            )
            PayrollLine.objects.filter(pk__in=plan["drop"]).delete()
        if plan["update"]:
            Grant.objects.filter(pk=grant_id).update(**plan["update"])
            if "start_month" in plan["update"]:
                GrantPeriod.objects.filter(grant_id=grant_id, reason=MIGRATED).update(
                    from_month=plan["update"]["start_month"]
                )
        self.audit.append(
            audit.Row(
                "subsidies.grant",
                str(grant_id),
                person_id,
                "导入更新享受对象："
                + "，".join(
                    part
                    for part in (
                        f"新增原系统发放 {len(plan.get('add', []))} 个月" if plan.get("add") else "",
                        f"更正 {len(plan['amend'])} 个月的金额" if plan["amend"] else "",
                        f"删除 {len(plan['drop'])} 个月" if plan["drop"] else "",
                        "更新" + "、".join(plan["update"]) if plan["update"] else "",
                    )
                    if part
                ),
                {k: str(v) for k, v in plan["update"].items()},
            )
        )


@register
class PaymentsKind(_Legacy):
    name = "payments"
    label = "原系统发放明细（每人每月一行）"
    description = "一行一人一项补贴一个月。享受对象须已导入；同一月份再次导入时按新金额更正。"
    columns = [
        ID_COLUMN,
        OPTIONAL_NAME,
        KIND_COLUMN,
        Column("month", "发放月份", ("所属月份", "所属年月", "发放年月", "月份", "补贴月份"), True),
        Column("amount", "发放金额", ("金额", "实发金额", "补贴金额", "月金额"), True),
    ]

    def key(self, record: Record) -> Any:
        return (record.values["id_number"], record.values["kind"], record.values["month"])

    def clean(self, values: dict[str, Any]) -> dict[str, Any]:
        found: list[str] = []
        out = self._person_and_kind(values, found)
        out["month"] = _month(values, "month", found)
        if out["month"] is None and not found:
            found.append("缺少发放月份。")
        out["amount"] = _money(values.get("amount"), found)
        if out["amount"] is None and not any("金额" in p for p in found):
            found.append("缺少发放金额。")
        if out["month"] and out["month"] >= self.live_from:
            found.append(MONTH_AFTER_LIVE.format(month=out["month"], live=self.live_from))
        problems(found)
        return out

    def check(self, records: list[Record]) -> None:
        self._people(records)
        live = [r for r in records if not r.error]
        grants = {
            (row["person_id"], row["kind"]): row
            for row in Grant.objects.filter(person_id__in=[r.target["person"]["pk"] for r in live]).values(
                "pk", "person_id", "kind", "district_id", "street_id", "start_month"
            )
        }
        have = {
            (row["grant_id"], row["month_for"]): row
            for row in PayrollLine.objects.filter(
                grant_id__in=[g["pk"] for g in grants.values()],
                month_for__in={r.values["month"] for r in live},
                payroll__source=PayrollSource.LEGACY,
            ).values("pk", "grant_id", "month_for", "amount", "payroll_id")
        }
        self.payrolls.load(
            (g["district_id"], r.values["month"])
            for r in live
            if (g := grants.get((r.target["person"]["pk"], r.values["kind"])))
        )
        for record in live:
            grant = grants.get((record.target["person"]["pk"], record.values["kind"]))
            if grant is None:
                record.error = NO_GRANT.format(kind=SubsidyKind(record.values["kind"]).label)
                continue
            problem = self.payrolls.problem(grant["district_id"], record.values["month"])
            if problem:
                record.error = problem
                continue
            record.target["grant"] = grant
            line = have.get((grant["pk"], record.values["month"]))
            record.target["line"] = line
            if line is None:
                record.change = NEW
            else:
                record.change = UNCHANGED if line["amount"] == record.values["amount"] else CHANGED

    def apply(self, records: list[Record]) -> None:
        lines, amended = [], []
        for record in records:
            grant = record.target["grant"]
            if record.change == NEW:
                lines.append(
                    legacy_line(
                        payroll_id=self.payrolls.id_for(grant["district_id"], record.values["month"]),
                        grant_id=grant["pk"],
                        person_id=record.target["person"]["pk"],
                        street_id=grant["street_id"],
                        kind=record.values["kind"],
                        month=record.values["month"],
                        amount=record.values["amount"],
                    )
                )
            elif record.change == CHANGED:
                line = record.target["line"]
                amended.append(PayrollLine(pk=line["pk"], amount=record.values["amount"]))
                self.payrolls.touched.add(line["payroll_id"])
            if record.change in (NEW, CHANGED):
                self.audit.append(
                    audit.Row(
                        "subsidies.grant",
                        str(grant["pk"]),
                        record.target["person"]["pk"],
                        f"导入原系统发放：{record.values['month']:%Y-%m} {record.values['amount']} 元",
                    )
                )
        bulk.insert(PayrollLine, lines)
        PayrollLine.objects.bulk_update(amended, ["amount"], batch_size=2000)
        audit.record_rows(actor=self.actor, action=AuditAction.IMPORT, rows=self.audit)
        self.audit.clear()
