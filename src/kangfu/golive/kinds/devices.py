"""A rental centre's stock and its rentals in progress, as its former system lists them.

`device_units`: one line per serial-numbered unit: the catalogue product, the outlet, the state,
the last disinfection. `device_rentals`: one line per rental in progress: the unit by serial, the
renter, the period, the deposit held. Units come first: a rental names a unit already imported.

Who imports: a clerk of the centre (`runs_devices`), for their own centre and its outlets
(`access.device_centre`). City and district administrators only read the rental business
(`reads_device_stats`); every write of it is a centre clerk's, and an import is no exception.

What the model holds honestly, and what it does not:
- a disinfection date alone is not a disinfection record (MZ/T 175.2-2021 wants each step ticked and
  an operator), so it becomes a line of the unit's history saying the former system's date;
- a rental's bill is computed by the centre's pricing rules (`devices.services.quote`), as for a
  rental made at the counter, so that a later extension or return re-prices consistently; a monthly
  rent in the file is only compared with the product's and flagged when it differs. The deposit is
  money the centre holds and will refund, so the deposit in the file is what the bill records;
- a unit the former system shows as out on rental may come in as rented before its rental line
  does; the rental import then takes it. Until then it can be set to another state by a later file.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal, InvalidOperation
from functools import cached_property
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils import timezone

from kangfu.core import access, audit
from kangfu.core import events as outbox
from kangfu.core.models import AuditAction, Organisation, OrganisationKind
from kangfu.core.spreadsheets import text
from kangfu.devices import rules
from kangfu.devices import services as device_services
from kangfu.devices.models import (
    OPEN_RENTAL,
    Charge,
    Product,
    Rental,
    RentalStatus,
    Unit,
    UnitEvent,
    UnitStatus,
)
from kangfu.golive.kinds import (
    CHANGED,
    ID_COLUMN,
    NAME_COLUMN,
    NAME_DIFFERS,
    NEW,
    UNCHANGED,
    UNKNOWN_PERSON,
    Column,
    Kind,
    Record,
    clean_id,
    dated,
    problems,
    register,
)
from kangfu.people.models import Person
from kangfu.people.services import id_hash

NO_SERIAL = "缺少设备编号。"
NO_PRODUCT = "缺少产品。"
NO_OUTLET = "缺少网点。"
UNKNOWN_OUTLET = "没有名为“{value}”的在用租赁中心或网点。"
AMBIGUOUS_OUTLET = "有多个名为“{value}”的租赁网点，请联系管理员核实网点名称。"
NOT_YOUR_OUTLET = "“{value}”不是您所在租赁中心或其网点：只能导入本中心的设备。"
UNKNOWN_PRODUCT = "租赁中心的产品目录中没有“{value}”，请先在产品目录中建立该产品。"
AMBIGUOUS_PRODUCT = "产品目录中有多个型号的“{value}”，请填写型号列。"
BAD_STATE = "设备状态“{value}”应为在库（可租）、已出租、维修中、清洗消毒中、已归还待消毒或已报废。"
SERIAL_ELSEWHERE = "设备编号“{value}”已被其他租赁中心的设备使用。"
OTHER_PRODUCT = "设备编号“{value}”已登记为“{product}”，不能改为另一产品。"
RENTAL_DECIDES = "该设备有未结束的租赁，状态由租赁办理决定（当前为{status}），不能按文件改为{wanted}。"
RENTED_WITHOUT_RENTAL = "设备为已出租但还没有在租记录：请再导入在租记录（device_rentals），否则无法办理归还。"
DISINFECTED_NOTE = "原系统末次清洗消毒 {day}（导入，无分步记录）"
DISINFECTED_PREFIX = "原系统末次清洗消毒"

NO_START = "缺少起租日期。"
NO_END = "缺少到期日期。"
BAD_AMOUNT = "{label}“{value}”不是有效的金额（元，最多两位小数）。"
BAD_INJURED = "伤病人员“{value}”应为是或否。"
UNKNOWN_SERIAL = "本系统没有编号为“{value}”的设备，请先导入设备（device_units）。"
NOT_YOUR_UNIT = "设备“{value}”不属于您所在的租赁中心。"
PERSON_OUT_OF_SCOPE = "该人员不在您的管辖范围内。"
# A unit is rented once at a time (the open-rental constraint); the other renter is not named.
UNIT_BUSY = "设备“{value}”已有未结束的租赁：一台设备同一时间只能租给一人，须先办理归还或取消。"
UNIT_NOT_FREE = "设备“{value}”当前为{status}，不能登记在租（只有在库或已出租的设备可以）。"
RESERVED_HERE = "设备“{value}”在本系统已有待交付的预订，请在本系统办理交付。"
EARLIER_END = "到期日期 {end} 早于本系统中的 {current}：提前归还请在本系统办理归还。"
NUMBER_TAKEN = "合同编号“{value}”已被另一租赁使用。"
RENT_DIFFERS = "原系统月租金 {file} 元与产品月租金 {product} 元不同：账单按本系统的价格和补贴规则计算。"
OVERDUE = "已于 {end} 到期，尚未归还。"

_STATE = {
    "在库": UnitStatus.AVAILABLE,
    "可租": UnitStatus.AVAILABLE,
    "库存": UnitStatus.AVAILABLE,
    "空闲": UnitStatus.AVAILABLE,
    "待租": UnitStatus.AVAILABLE,
    "已出租": UnitStatus.RENTED,
    "租出": UnitStatus.RENTED,
    "出租": UnitStatus.RENTED,
    "在租": UnitStatus.RENTED,
    "维修": UnitStatus.REPAIR,
    "维修中": UnitStatus.REPAIR,
    "待维修": UnitStatus.REPAIR,
    "消毒中": UnitStatus.CLEANING,
    "清洗消毒中": UnitStatus.CLEANING,
    "清洗中": UnitStatus.CLEANING,
    "待消毒": UnitStatus.RETURNED,
    "已归还": UnitStatus.RETURNED,
    "已归还待消毒": UnitStatus.RETURNED,
    "报废": UnitStatus.RETIRED,
    "已报废": UnitStatus.RETIRED,
}
_YES = {"是", "有", "Y", "y", "1", "伤病"}
_NO = {"", "否", "无", "N", "n", "0"}

SERIAL_COLUMN = Column("serial", "设备编号", ("编号", "序列号", "资产编号", "出厂编号", "设备序列号"), True)


def _money(values: dict[str, Any], key: str, label: str, found: list[str]) -> Decimal | None:
    raw = text(values.get(key)).replace(",", "").replace("元", "").replace("￥", "").strip()
    if not raw:
        return None
    try:
        amount = Decimal(raw)
    except InvalidOperation:
        found.append(BAD_AMOUNT.format(label=label, value=raw))
        return None
    if not amount.is_finite() or amount < 0 or amount != amount.quantize(Decimal("0.01")) or amount >= 10**8:
        found.append(BAD_AMOUNT.format(label=label, value=raw))
        return None
    return rules.money(amount)


def _midnight(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


class _DeviceKind(Kind):
    ability = "runs_devices"

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.audit: list[audit.Row] = []
        # One date for the whole import: a file read across midnight is judged by one day.
        self.today = timezone.localdate()

    def check_options(self) -> None:
        if self.actor is not None and self._centre is None:
            raise ValidationError(device_services.NOT_A_CENTRE_CLERK)

    def key(self, record: Record) -> Any:
        return record.values.get("serial")

    @cached_property
    def _centre(self) -> Organisation | None:
        return access.device_centre(self.actor) if self.actor is not None else None

    @cached_property
    def _outlets(self) -> dict[str, list[dict[str, Any]]]:
        """Every active centre and outlet by name, with the centre each belongs to; read once."""
        by_name: dict[str, list[dict[str, Any]]] = defaultdict(list)
        rows = Organisation.objects.filter(
            Q(kind=OrganisationKind.DEVICE_CENTRE)
            | Q(kind=OrganisationKind.DEVICE_OUTLET, parent__kind=OrganisationKind.DEVICE_CENTRE),
            is_active=True,
        ).values("pk", "name", "kind", "parent_id")
        for row in rows:
            row["centre_id"] = (
                row["pk"] if row["kind"] == OrganisationKind.DEVICE_CENTRE else row["parent_id"]
            )
            by_name[row["name"]].append(row)
        return by_name

    def _finish_chunk(self) -> None:
        audit.record_rows(actor=self.actor, action=AuditAction.IMPORT, rows=self.audit)
        self.audit.clear()


@register
class DeviceUnitsKind(_DeviceKind):
    name = "device_units"
    label = "辅具租赁设备（库存）"
    description = (
        "一行一台设备，由租赁中心业务员导入本中心的设备。产品须已在产品目录中；编号已有的设备只更新有变化的"
        "网点、状态和入库日期。末次消毒日期记入设备履历（不是消毒记录）。已出租的设备请再导入在租记录。"
    )
    columns = [
        SERIAL_COLUMN,
        Column(
            "product",
            "产品",
            ("产品名称", "辅具名称", "器具名称", "设备名称", "品名"),
            True,
            "产品目录中的名称",
        ),
        Column("model", "型号", ("规格型号", "产品型号")),
        Column("outlet", "网点", ("所在网点", "租赁网点", "存放网点", "服务网点", "存放地点"), True),
        Column(
            "state", "状态", ("设备状态", "库存状态", "当前状态"), note="在库、已出租、维修中、清洗消毒中 …"
        ),
        Column(
            "disinfected_on", "末次消毒日期", ("最近消毒日期", "消毒日期", "上次消毒日期", "清洗消毒日期")
        ),
        Column("acquired_on", "入库日期", ("购置日期", "采购日期", "登记日期")),
    ]

    @cached_property
    def _products(self) -> dict[tuple[int, str], list[dict[str, Any]]]:
        """The catalogue by (centre, name), read once."""
        by_name: dict[tuple[int, str], list[dict[str, Any]]] = defaultdict(list)
        centres = {row["centre_id"] for rows in self._outlets.values() for row in rows}
        for row in Product.objects.filter(centre_id__in=centres).values("pk", "centre_id", "name", "model"):
            by_name[(row["centre_id"], row["name"])].append(row)
            if row["model"]:
                by_name[(row["centre_id"], f"{row['name']}（{row['model']}）")].append(row)
        return by_name

    def _outlet(self, raw: str, found: list[str]) -> dict[str, Any] | None:
        candidates = self._outlets.get(raw, [])
        if self._centre is not None:
            mine = [row for row in candidates if row["centre_id"] == self._centre.pk]
            if not mine:
                found.append(
                    NOT_YOUR_OUTLET.format(value=raw) if candidates else UNKNOWN_OUTLET.format(value=raw)
                )
                return None
            candidates = mine
        if not candidates:
            found.append(UNKNOWN_OUTLET.format(value=raw))
            return None
        if len(candidates) > 1:
            found.append(AMBIGUOUS_OUTLET.format(value=raw))
            return None
        return candidates[0]

    def _product(self, centre_id: int, raw: str, model: str, found: list[str]) -> dict[str, Any] | None:
        candidates = self._products.get((centre_id, raw), [])
        if model:
            candidates = [row for row in candidates if row["model"] == model]
        if not candidates:
            found.append(UNKNOWN_PRODUCT.format(value=f"{raw}（{model}）" if model else raw))
            return None
        if len(candidates) > 1:
            found.append(AMBIGUOUS_PRODUCT.format(value=raw))
            return None
        return candidates[0]

    def clean(self, values: dict[str, Any]) -> dict[str, Any]:
        found: list[str] = []
        out: dict[str, Any] = {"serial": text(values.get("serial"))[:50]}
        if not out["serial"]:
            found.append(NO_SERIAL)
        raw_outlet, raw_product = text(values.get("outlet")), text(values.get("product"))
        out["outlet"] = self._outlet(raw_outlet, found) if raw_outlet else None
        if not raw_outlet:
            found.append(NO_OUTLET)
        out["product"] = None
        if not raw_product:
            found.append(NO_PRODUCT)
        elif out["outlet"] is not None:
            out["product"] = self._product(
                out["outlet"]["centre_id"], raw_product, text(values.get("model")), found
            )
        state = text(values.get("state"))
        out["state"] = _STATE.get(state, "")
        if state and not out["state"]:
            found.append(BAD_STATE.format(value=state))
        out["disinfected_on"] = dated(values, "disinfected_on", "末次消毒日期", found, self.today)
        out["acquired_on"] = dated(values, "acquired_on", "入库日期", found, self.today)
        problems(found)
        return out

    def check(self, records: list[Record]) -> None:
        live = [r for r in records if not r.error]
        units = {
            row["serial"]: row
            for row in Unit.objects.filter(serial__in=[r.values["serial"] for r in live]).values(
                "pk",
                "serial",
                "product_id",
                "product__centre_id",
                "product__name",
                "outlet_id",
                "status",
                "acquired_on",
            )
        }
        unit_ids = [u["pk"] for u in units.values()]
        open_rentals = set(
            Rental.objects.filter(unit_id__in=unit_ids, status__in=OPEN_RENTAL).values_list(
                "unit_id", flat=True
            )
        )
        disinfected: dict[int, set[dt.date]] = defaultdict(set)
        for unit_id, at in UnitEvent.objects.filter(
            unit_id__in=unit_ids, note__startswith=DISINFECTED_PREFIX
        ).values_list("unit_id", "at"):
            disinfected[unit_id].add(timezone.localtime(at).date())
        for record in live:
            values = record.values
            unit = units.get(values["serial"])
            plan: dict[str, Any] = {}
            record.target = {"unit": unit, "plan": plan}
            day = values["disinfected_on"]
            if day is not None and (unit is None or day not in disinfected.get(unit["pk"], set())):
                plan["disinfected_on"] = day
            if unit is None:
                if values["state"] == UnitStatus.RENTED:
                    record.flags.append(RENTED_WITHOUT_RENTAL)
                record.change = NEW
                continue
            try:
                self._plan_update(record, unit, plan, unit["pk"] in open_rentals)
            except ValueError as exc:
                record.error = str(exc)
                continue
            record.change = CHANGED if plan else UNCHANGED

    def _plan_update(self, record: Record, unit: dict[str, Any], plan: dict[str, Any], rented: bool) -> None:
        values = record.values
        if unit["product__centre_id"] != values["outlet"]["centre_id"]:
            raise ValueError(SERIAL_ELSEWHERE.format(value=values["serial"]))
        if unit["product_id"] != values["product"]["pk"]:
            raise ValueError(OTHER_PRODUCT.format(value=values["serial"], product=unit["product__name"]))
        state = values["state"]
        if state and state != unit["status"]:
            if rented:
                raise ValueError(
                    RENTAL_DECIDES.format(
                        status=UnitStatus(unit["status"]).label, wanted=UnitStatus(state).label
                    )
                )
            plan["status"] = state
            if state == UnitStatus.RENTED:
                record.flags.append(RENTED_WITHOUT_RENTAL)
        if values["outlet"]["pk"] != unit["outlet_id"]:
            # As a transfer at the counter: never while the unit is out or promised.
            if rented or plan.get("status", unit["status"]) in (UnitStatus.RESERVED, UnitStatus.RENTED):
                raise ValueError(device_services.MOVE_BUSY)
            plan["outlet_id"] = values["outlet"]["pk"]
        if values["acquired_on"] is not None and values["acquired_on"] != unit["acquired_on"]:
            plan["acquired_on"] = values["acquired_on"]

    def apply(self, records: list[Record]) -> None:
        now = timezone.now()
        new = [r for r in records if r.change == NEW]
        units = [
            Unit(
                product_id=r.values["product"]["pk"],
                outlet_id=r.values["outlet"]["pk"],
                serial=r.values["serial"],
                status=r.values["state"] or UnitStatus.AVAILABLE,
                acquired_on=r.values["acquired_on"] or self.today,
                status_changed_at=now,
            )
            for r in new
        ]
        Unit.objects.bulk_create(units, batch_size=1000)
        events = []
        for record, unit in zip(new, units, strict=True):
            record.target["unit"] = {"pk": unit.pk}
            events.append(
                UnitEvent(
                    unit=unit,
                    actor=self.actor,
                    to_status=unit.status,
                    to_outlet_id=unit.outlet_id,
                    note="入库（导入）",
                )
            )
            self.audit.append(
                audit.Row(
                    "devices.unit",
                    str(unit.pk),
                    None,
                    f"导入设备 {unit.serial}（{record.values['outlet']['name']}，{unit.get_status_display()}）"
                    + (
                        f"，末次清洗消毒 {record.values['disinfected_on']}"
                        if record.values["disinfected_on"]
                        else ""
                    ),
                )
            )
        for record in records:
            if record.change == CHANGED:
                events.extend(self._update(record, now))
        for record in records:
            day = record.target["plan"].get("disinfected_on")
            if day is not None and record.change != UNCHANGED:
                events.append(
                    UnitEvent(
                        unit_id=record.target["unit"]["pk"],
                        at=_midnight(day),
                        actor=self.actor,
                        note=DISINFECTED_NOTE.format(day=day),
                    )
                )
                if record.change == CHANGED:
                    self.audit.append(
                        audit.Row(
                            "devices.unit",
                            str(record.target["unit"]["pk"]),
                            None,
                            f"导入设备 {record.values['serial']} 的末次清洗消毒日期 {day}",
                        )
                    )
        UnitEvent.objects.bulk_create(events, batch_size=1000)
        self._finish_chunk()

    def _update(self, record: Record, now: dt.datetime) -> list[UnitEvent]:
        unit, plan = record.target["unit"], record.target["plan"]
        update = {k: v for k, v in plan.items() if k in ("status", "outlet_id", "acquired_on")}
        if not update:
            return []
        if "status" in update:
            update["status_changed_at"] = now
        # Only if nobody moved the unit since the check: a rental at the counter wins over the file.
        moved = (
            Unit.objects.filter(pk=unit["pk"], status=unit["status"], outlet_id=unit["outlet_id"])
            .exclude(rentals__status__in=OPEN_RENTAL)
            .update(**update)
        )
        if moved != 1:
            raise ValidationError(device_services.UNIT_NOT_AVAILABLE)
        events = []
        if "status" in plan:
            events.append(
                UnitEvent(
                    unit_id=unit["pk"],
                    actor=self.actor,
                    from_status=unit["status"],
                    to_status=plan["status"],
                    note="导入：原系统状态",
                )
            )
        if "outlet_id" in plan:
            events.append(
                UnitEvent(
                    unit_id=unit["pk"],
                    actor=self.actor,
                    from_outlet_id=unit["outlet_id"],
                    to_outlet_id=plan["outlet_id"],
                    note="导入：原系统所在网点",
                )
            )
        changes = {
            key: [str(unit[key]), str(plan[key])]
            for key in ("status", "outlet_id", "acquired_on")
            if key in plan
        }
        self.audit.append(
            audit.Row("devices.unit", str(unit["pk"]), None, f"导入更新设备 {unit['serial']}", changes)
        )
        return events


@register
class DeviceRentalsKind(_DeviceKind):
    name = "device_rentals"
    label = "辅具在租记录"
    description = (
        "一行一条未结束的租赁，由租赁中心业务员导入本中心的租赁。设备须已导入，承租人须已登记；一台设备同一时间"
        "只能有一条在租记录。账单按本系统的价格和补贴规则计算；押金按文件记为已收押金，归还时退还。"
    )
    columns = [
        SERIAL_COLUMN,
        Column("id_number", "承租人身份证号", ("身份证号", *ID_COLUMN.synonyms, "承租人证件号码"), True),
        Column("name", "承租人姓名", ("承租人", *NAME_COLUMN.names)),
        Column("start_date", "起租日期", ("租赁开始日期", "开始日期", "租用日期", "起租时间"), True),
        Column(
            "end_date", "到期日期", ("租赁到期日期", "结束日期", "应还日期", "约定归还日期", "到期时间"), True
        ),
        Column(
            "monthly_rent",
            "月租金",
            ("租金（元/月）", "月租金（元）", "每月租金"),
            note="只用于核对产品月租金",
        ),
        Column("deposit", "押金", ("已收押金", "押金（元）", "押金金额"), note="已收押金，归还时退还"),
        Column("number", "合同编号", ("租赁合同号", "合同号", "租赁编号")),
        Column("injured", "伤病人员", ("是否伤病人员",), note="是或否，伤病人员享受租金优惠"),
    ]

    def clean(self, values: dict[str, Any]) -> dict[str, Any]:
        found: list[str] = []
        out: dict[str, Any] = {"serial": text(values.get("serial"))[:50]}
        if not out["serial"]:
            found.append(NO_SERIAL)
        out["id_number"] = clean_id(values, found)
        out["name"] = text(values.get("name"))[:50]
        out["start_date"] = dated(values, "start_date", "起租日期", found, self.today)
        if out["start_date"] is None and not any("起租日期" in p for p in found):
            found.append(NO_START)
        out["end_date"] = dated(values, "end_date", "到期日期", found, self.today, future=True)
        if out["end_date"] is None and not any("到期日期" in p for p in found):
            found.append(NO_END)
        if out["start_date"] and out["end_date"]:
            try:
                # The counter's own limits on a period (one rental at most a year, then renewed).
                device_services._check_period(out["start_date"], out["end_date"])
            except ValidationError as exc:
                found.extend(exc.messages)
        out["monthly_rent"] = _money(values, "monthly_rent", "月租金", found)
        out["deposit"] = _money(values, "deposit", "押金", found)
        out["number"] = text(values.get("number"))[:20]
        injured = text(values.get("injured"))
        if injured not in _YES and injured not in _NO:
            found.append(BAD_INJURED.format(value=injured))
        out["injured"] = injured in _YES
        problems(found)
        return out

    def check(self, records: list[Record]) -> None:
        live = [r for r in records if not r.error]
        units = {
            row["serial"]: row
            for row in Unit.objects.filter(serial__in=[r.values["serial"] for r in live]).values(
                "pk",
                "serial",
                "status",
                "outlet_id",
                "product_id",
                "product__name",
                "product__centre_id",
                "product__rent_per_month",
            )
        }
        open_rentals = {
            row["unit_id"]: row
            for row in Rental.objects.filter(
                unit_id__in=[u["pk"] for u in units.values()], status__in=OPEN_RENTAL
            ).values("pk", "unit_id", "person_id", "start_date", "end_date", "status", "number")
        }
        numbers = {r.values["number"] for r in live if r.values["number"]}
        taken = dict(Rental.objects.filter(number__in=numbers).values_list("number", "pk")) if numbers else {}
        people = self._people(live)
        for record in live:
            values = record.values
            unit = units.get(values["serial"])
            if unit is None:
                record.error = UNKNOWN_SERIAL.format(value=values["serial"])
                continue
            if self._centre is not None and unit["product__centre_id"] != self._centre.pk:
                record.error = NOT_YOUR_UNIT.format(value=values["serial"])
                continue
            person, problem = people.get(id_hash(values["id_number"]), (None, UNKNOWN_PERSON))
            if problem:
                record.error = problem
                continue
            if values["name"] and values["name"] != person["name"]:
                record.flags.append(NAME_DIFFERS.format(file=values["name"], registry=person["name"]))
            record.target = {"unit": unit, "person": person}
            try:
                record.change = self._plan(record, unit, person, open_rentals.get(unit["pk"]), taken)
            except ValueError as exc:
                record.error = str(exc)
                continue
            if (
                values["monthly_rent"] is not None
                and values["monthly_rent"] != unit["product__rent_per_month"]
            ):
                record.flags.append(
                    RENT_DIFFERS.format(
                        file=rules.yuan(values["monthly_rent"]),
                        product=rules.yuan(unit["product__rent_per_month"]),
                    )
                )
            if values["end_date"] < self.today:
                record.flags.append(OVERDUE.format(end=values["end_date"]))

    def _people(self, records: list[Record]) -> dict[str, tuple[dict[str, Any] | None, str]]:
        hashes = {id_hash(r.values["id_number"]) for r in records}
        people = {
            row["id_number_hash"]: row
            for row in Person.objects.filter(id_number_hash__in=hashes).values("pk", "id_number_hash", "name")
        }
        visible = set(people)
        if self.actor is not None and people:
            visible = set(
                access.scope_people(
                    Person.objects.filter(pk__in=[p["pk"] for p in people.values()]), self.actor
                ).values_list("id_number_hash", flat=True)
            )
        return {
            digest: (person, "" if digest in visible else PERSON_OUT_OF_SCOPE)
            for digest, person in people.items()
        }

    def _plan(
        self,
        record: Record,
        unit: dict[str, Any],
        person: dict[str, Any],
        rental: dict[str, Any] | None,
        taken: dict[str, int],
    ) -> str:
        values = record.values
        serial = values["serial"]
        number = values["number"]
        if rental is not None:
            if rental["person_id"] != person["pk"] or rental["start_date"] != values["start_date"]:
                raise ValueError(UNIT_BUSY.format(value=serial))
            if rental["status"] == RentalStatus.RESERVED:
                raise ValueError(RESERVED_HERE.format(value=serial))
            if number and taken.get(number, rental["pk"]) != rental["pk"]:
                raise ValueError(NUMBER_TAKEN.format(value=number))
            record.target["rental"] = rental
            if values["end_date"] < rental["end_date"]:
                raise ValueError(EARLIER_END.format(end=values["end_date"], current=rental["end_date"]))
            return CHANGED if values["end_date"] > rental["end_date"] else UNCHANGED
        if unit["status"] not in (UnitStatus.AVAILABLE, UnitStatus.RENTED):
            raise ValueError(UNIT_NOT_FREE.format(value=serial, status=UnitStatus(unit["status"]).label))
        if number and number in taken:
            raise ValueError(NUMBER_TAKEN.format(value=number))
        return NEW

    def apply(self, records: list[Record]) -> None:
        new = [r for r in records if r.change == NEW]
        if new:
            self._create(new)
        for record in records:
            if record.change == CHANGED:
                self._extend(record)
        self._finish_chunk()

    def _create(self, records: list[Record]) -> None:
        products = Product.objects.select_related("centre__region", "category").in_bulk(
            {r.target["unit"]["product_id"] for r in records}
        )
        people = Person.objects.in_bulk({r.target["person"]["pk"] for r in records})
        rentals = [
            Rental(
                number=r.values["number"] or None,
                person_id=r.target["person"]["pk"],
                product_id=r.target["unit"]["product_id"],
                unit_id=r.target["unit"]["pk"],
                outlet_id=r.target["unit"]["outlet_id"],
                centre_id=r.target["unit"]["product__centre_id"],
                start_date=r.values["start_date"],
                end_date=r.values["end_date"],
                status=RentalStatus.ACTIVE,
                injured=r.values["injured"],
                # Out since its start: what the utilisation figures count from the hand-over.
                handed_over_at=_midnight(r.values["start_date"]),
                created_by=self.actor,
            )
            for r in records
        ]
        Rental.objects.bulk_create(rentals, batch_size=1000)
        unnumbered = [rental for rental in rentals if not rental.number]
        for rental in unnumbered:
            rental.number = f"ZL{rental.start_date:%Y}{rental.pk:06d}"
        Rental.objects.bulk_update(unnumbered, ["number"], batch_size=1000)
        unit_ids = [r.target["unit"]["pk"] for r in records]
        now = timezone.now()
        taken = Unit.objects.filter(
            pk__in=unit_ids, status__in=[UnitStatus.AVAILABLE, UnitStatus.RENTED]
        ).update(status=UnitStatus.RENTED, status_changed_at=now)
        if taken != len(unit_ids):
            raise ValidationError(device_services.UNIT_NOT_AVAILABLE)
        UnitEvent.objects.bulk_create(
            [
                UnitEvent(
                    unit_id=rental.unit_id,
                    actor=self.actor,
                    from_status=record.target["unit"]["status"],
                    to_status=UnitStatus.RENTED,
                    rental=rental,
                    note="导入在租记录",
                )
                for record, rental in zip(records, rentals, strict=True)
            ],
            batch_size=1000,
        )
        # As a hand-over announces a rental, marked `migrated` (it began in the former system): one
        # statement for the batch. A renewal found by a re-import is announced by neither.
        outbox.record_many(
            kind="devices.rental.started",
            events=[
                outbox.Event(
                    rental,
                    people[rental.person_id].district_id,
                    {
                        "number": rental.number,
                        "person": rental.person_id,
                        "start_date": rental.start_date,
                        "end_date": rental.end_date,
                        "migrated": True,
                    },
                )
                for rental in rentals
            ],
        )
        # Priced one by one through the centre's rules, as at the counter; a person's charges are
        # written before their next rental is priced, so the yearly subsidy cap counts both.
        charges: list[Charge] = []
        priced: set[int] = set()
        for record, rental in zip(records, rentals, strict=True):
            if rental.person_id in priced:
                Charge.objects.bulk_create(charges, batch_size=1000)
                charges, priced = [], set()
            priced.add(rental.person_id)
            lines = device_services.quote(
                person=people[rental.person_id],
                product=products[rental.product_id],
                start=rental.start_date,
                end=rental.end_date,
                injured=rental.injured,
            )
            deposit = record.values["deposit"]
            if deposit is not None:
                lines = [line for line in lines if line.kind != rules.DEPOSIT] + [
                    rules.Line(
                        rules.DEPOSIT,
                        deposit,
                        f"押金 {rules.yuan(deposit)} 元（原系统已收，导入），归还验收后退还",
                    )
                ]
            charges.extend(
                Charge(
                    rental=rental,
                    kind=line.kind,
                    amount=line.amount,
                    explanation=line.explanation[:300],
                    booked_on=rental.start_date,
                    actor=self.actor,
                )
                for line in lines
            )
            self.audit.append(
                audit.Row(
                    "devices.rental",
                    str(rental.pk),
                    rental.person_id,
                    f"导入在租记录 {rental.number}：{products[rental.product_id]}（{record.values['serial']}），"
                    f"{rental.start_date} 至 {rental.end_date}",
                    {"payable": str(rules.rent_payable(lines))},
                )
            )
        Charge.objects.bulk_create(charges, batch_size=1000)

    def _extend(self, record: Record) -> None:
        """A later due date: the former system renewed the rental. Re-priced over the new period by
        the same function as a renewal at the counter."""
        current, new_end = record.target["rental"], record.values["end_date"]
        changed = Rental.objects.filter(
            pk=current["pk"], status=RentalStatus.ACTIVE, end_date=current["end_date"]
        ).update(end_date=new_end)
        if changed != 1:
            raise ValidationError(device_services.RENTAL_NOT_OPEN)
        rental = Rental.objects.select_related("person", "product__centre__region").get(pk=current["pk"])
        device_services._reprice(
            rental,
            new_end=new_end,
            actor=self.actor,
            on=self.today,
            why=f"导入：原系统续租至 {new_end}",
        )
        self.audit.append(
            audit.Row(
                "devices.rental",
                str(rental.pk),
                rental.person_id,
                f"导入：租赁 {rental.number} 续租至 {new_end}",
                {"end_date": [str(current["end_date"]), str(new_end)]},
            )
        )
