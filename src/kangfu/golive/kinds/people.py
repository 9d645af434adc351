"""People with their certificates, income-status periods and guardians, as the 残联 certificate
system and the 低保 system export them.

One line is one person (the `people` kind) and may carry the current certificate, the current
income status and one guardian. Earlier certificates come as the `certificates` kind (a line per
certificate, so a person's history), income periods as the `income` kind (a line per period).
A known ID number is the same person: the line updates what changed, never a second record.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from types import SimpleNamespace
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import F
from django.utils import timezone

from kangfu.core import access, audit, bulk
from kangfu.core.ids import normalize_phone, parse_certificate_number
from kangfu.core.models import AuditAction
from kangfu.core.spreadsheets import parse_category, parse_grade, text
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
    Regions,
    among,
    clean_id,
    dated,
    problems,
    register,
)
from kangfu.golive.kinds import hashes as blind
from kangfu.people.models import (
    CertificateStatus,
    DisabilityCategory,
    DisabilityCertificate,
    DisabilityGrade,
    Guardian,
    GuardianRelation,
    HukouType,
    IncomePeriod,
    IncomeStatus,
    Person,
)
from kangfu.people.services import (
    SENSITIVE,
    certificate_hash,
    people_register_many,
    phone_hash,
    placement,
)

OUT_OF_SCOPE = "居住社区“{value}”不在您的管辖范围内。"
PERSON_ELSEWHERE = "该身份证号已登记在您管辖范围以外的人员名下（一人一档，不另建档案），请联系其所在区核实。"
UNKNOWN_HUKOU = "户籍地“{value}”不是已知的区划代码或名称。"
NO_COMMUNITY = "缺少居住社区，且登记中没有该人员。"
CATEGORY_DIFFERS = "残疾类别与残疾人证号第19位不一致。"
GRADE_DIFFERS = "残疾等级与残疾人证号第20位不一致。"
CERT_DATES = "有效期至早于发证日期。"
CERT_NO_DATE = "有残疾人证号时须有发证日期。"
BAD_INCOME = "收入状况“{value}”应为低保、低保边缘、特困供养或无。"
INCOME_NO_START = "有收入状况时须有起始日期。"
INCOME_OVERLAP = "与已有的{status}期间（{start} 至 {end}）重叠。"
INCOME_ORDER = "终止日期早于起始日期。"
BAD_CERT_STATUS = "证件状态“{value}”应为有效、已换发或已注销。"
BAD_RELATION = "监护人关系“{value}”应为父母、配偶、子女、兄弟姐妹、其他亲属或其他。"

_INCOME = {
    "低保": IncomeStatus.DIBAO,
    "城市低保": IncomeStatus.DIBAO,
    "农村低保": IncomeStatus.DIBAO,
    "低保户": IncomeStatus.DIBAO,
    "低保边缘": IncomeStatus.DIBAO_EDGE,
    "低边": IncomeStatus.DIBAO_EDGE,
    "低保边缘户": IncomeStatus.DIBAO_EDGE,
    "低收入": IncomeStatus.DIBAO_EDGE,
    "特困": IncomeStatus.TEKUN,
    "特困供养": IncomeStatus.TEKUN,
    "特困人员": IncomeStatus.TEKUN,
    "特困供养人员": IncomeStatus.TEKUN,
    "无": "",
    "否": "",
    "一般": "",
}
# Labels looked up once: a model's get_…_display costs more than the insert of its row.
_CATEGORY_LABEL = dict(DisabilityCategory.choices)
_GRADE_LABEL = dict(DisabilityGrade.choices)
_CERT_STATUS_LABEL = dict(CertificateStatus.choices)
_INCOME_LABEL = dict(IncomeStatus.choices)
_CERT_STATUS = {
    "有效": CertificateStatus.VALID,
    "正常": CertificateStatus.VALID,
    "已换发": CertificateStatus.REPLACED,
    "换发": CertificateStatus.REPLACED,
    "已换领": CertificateStatus.REPLACED,
    "注销": CertificateStatus.CANCELLED,
    "已注销": CertificateStatus.CANCELLED,
}
# Plain strings in cleaned lines: they are pickled between processes (`services.lines`), and an enum
# member is unpickled by a lookup of its class, several times the cost of the rest of the line.
_INCOME = {raw: str(status) for raw, status in _INCOME.items()}
_CERT_STATUS = {raw: str(status) for raw, status in _CERT_STATUS.items()}
_HUKOU_TYPE = {
    "城镇": HukouType.URBAN,
    "非农业": HukouType.URBAN,
    "非农": HukouType.URBAN,
    "农村": HukouType.RURAL,
    "农业": HukouType.RURAL,
    "居民": HukouType.RESIDENT,
    "居民户口": HukouType.RESIDENT,
}
_RELATION = {label: value for value, label in GuardianRelation.choices} | {
    "父亲": "parent",
    "母亲": "parent",
    "父": "parent",
    "母": "parent",
    "夫": "spouse",
    "妻": "spouse",
    "丈夫": "spouse",
    "妻子": "spouse",
    "儿子": "child",
    "女儿": "child",
    "子": "child",
    "女": "child",
    "兄": "sibling",
    "弟": "sibling",
    "姐": "sibling",
    "妹": "sibling",
}


PERSON_COLUMNS = [
    ID_COLUMN,
    NAME_COLUMN,
    Column(
        "community",
        "居住社区",
        ("社区", "所在社区", "现居住社区", "村（社区）", "社区（村）", "社区代码", "居住社区代码"),
    ),
    Column("street", "街道", ("乡镇（街道）", "街道（乡镇）", "所在街道", "街道代码")),
    Column("address", "居住地址", ("现住址", "家庭住址", "地址", "居住地", "现居住地址")),
    Column("phone", "联系电话", ("手机号", "手机号码", "电话", "联系方式", "手机")),
    Column("hukou", "户籍地", ("户籍地区划代码", "户籍所在地", "户籍区划", "户籍地代码")),
    Column("hukou_type", "户口性质", ("户籍性质", "户口类别")),
    Column("cert_number", "残疾人证号", ("残疾证号", "残疾证号码", "证号", "残疾人证号码")),
    Column("category", "残疾类别", ("残疾类型", "类别")),
    Column("grade", "残疾等级", ("等级", "残疾级别")),
    Column("issued_on", "发证日期", ("办证日期", "发证时间", "领证日期", "核发日期")),
    Column("expires_on", "有效期至", ("证件有效期", "有效期", "到期日期", "有效期截止")),
    Column("cert_status", "证件状态", ("残疾证状态", "持证状态")),
    Column("income", "收入状况", ("低保类型", "困难类型", "家庭经济状况", "救助类型", "保障类型")),
    Column("income_start", "收入状况起始日期", ("纳入日期", "低保起始日期", "救助起始日期", "享受低保日期")),
    Column("income_end", "收入状况终止日期", ("退出日期", "低保终止日期", "救助终止日期")),
    Column("guardian_name", "监护人姓名", ("监护人", "联系人", "联系人姓名")),
    Column("guardian_relation", "监护人关系", ("与监护人关系", "与本人关系", "关系")),
    Column("guardian_phone", "监护人电话", ("监护人联系电话", "联系人电话")),
]


@register
class PeopleKind(Kind):
    name = "people"
    label = "人员（含残疾人证、收入状况、监护人）"
    description = (
        "一行一人。已登记的身份证号视为同一人，只更新有变化的内容；证件、收入状况和监护人列可空。"
        "居住社区写12位代码，或写名称并加街道列。"
    )
    columns = PERSON_COLUMNS
    no_person = NO_COMMUNITY
    ability = "registers_people"
    reads = (Person, DisabilityCertificate, IncomePeriod, Guardian)
    clean_apart = True  # the regions are read by the constructor

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.regions = Regions()
        if self.actor is not None and self.actor.is_authenticated:
            # Loaded now and kept on the user by Django, so that `access.region_in_jurisdiction` does
            # not query per line: cleaning may run in a process that must not query (`clean_apart`).
            _ = self.actor.jurisdiction
        self.audit: list[audit.Row] = []

    # -------------------------------------------------------------- clean

    def clean(self, values: dict[str, Any]) -> dict[str, Any]:
        found: list[str] = []
        out: dict[str, Any] = {
            "id_number": clean_id(values, found, self.today),
            "name": text(values.get("name"))[:50],
        }
        blind.stamp_id(out)
        if not out["name"]:
            found.append("缺少姓名。")
        community = text(values.get("community"))
        out["community"] = None
        if community:
            code, problem = self.regions.community(community, text(values.get("street")))
            if problem:
                found.append(problem)
            elif self.actor is not None and not access.region_in_jurisdiction(self.actor, code):
                found.append(OUT_OF_SCOPE.format(value=community))
            out["community"] = code
        out["address"] = text(values.get("address"))[:200]
        try:
            out["phone"] = normalize_phone(text(values.get("phone")))
        except ValidationError as exc:
            found.append(exc.messages[0])
        out["phone_hash"] = phone_hash(out["phone"]) if out.get("phone") else None
        hukou = text(values.get("hukou"))
        out["hukou"] = None
        if hukou:
            out["hukou"] = self.regions.any(hukou)
            if out["hukou"] is None:
                found.append(UNKNOWN_HUKOU.format(value=hukou))
        hukou_type = text(values.get("hukou_type"))
        out["hukou_type"] = _HUKOU_TYPE.get(hukou_type.removesuffix("户口"), "") if hukou_type else ""
        self._clean_certificate(values, out, found)
        self._clean_income(values, out, found)
        out["guardian"] = None
        guardian = text(values.get("guardian_name"))
        if guardian:
            relation = text(values.get("guardian_relation"))
            if relation and relation not in _RELATION:
                found.append(BAD_RELATION.format(value=relation))
            try:
                phone = normalize_phone(text(values.get("guardian_phone")))
            except ValidationError as exc:
                found.append("监护人电话：" + exc.messages[0])
                phone = ""
            out["guardian"] = (guardian[:50], _RELATION.get(relation, GuardianRelation.OTHER), phone)
        problems(found)
        return out

    def _clean_certificate(self, values: dict[str, Any], out: dict[str, Any], found: list[str]) -> None:
        out["cert"] = None
        raw = text(values.get("cert_number"))
        if not raw:
            return
        cert: dict[str, Any] = {}
        if out["id_number"]:
            try:
                facts = parse_certificate_number(raw, id_number=out["id_number"])
                cert.update(number=facts.number, category=facts.category, grade=facts.grade)
                cert["hash"] = certificate_hash(facts.number)
            except ValidationError as exc:
                found.append(exc.messages[0])
        try:
            category = parse_category(values.get("category"))
            if category and cert and category != cert["category"]:
                found.append(CATEGORY_DIFFERS)
        except ValueError as exc:
            found.append(str(exc))
        try:
            grade = parse_grade(values.get("grade"))
            if grade and cert and grade != cert["grade"]:
                found.append(GRADE_DIFFERS)
        except ValueError as exc:
            found.append(str(exc))
        cert["issued_on"] = dated(values, "issued_on", "发证日期", found, self.today)
        cert["expires_on"] = dated(values, "expires_on", "有效期至", found, self.today, future=True)
        if cert["issued_on"] is None and "number" in cert:
            found.append(CERT_NO_DATE)
        if cert["issued_on"] and cert["expires_on"] and cert["expires_on"] <= cert["issued_on"]:
            found.append(CERT_DATES)
        status = text(values.get("cert_status"))
        if status and status not in _CERT_STATUS:
            found.append(BAD_CERT_STATUS.format(value=status))
        cert["status"] = _CERT_STATUS.get(status, str(CertificateStatus.VALID))
        out["cert"] = cert

    def _clean_income(self, values: dict[str, Any], out: dict[str, Any], found: list[str]) -> None:
        out["income"] = None
        raw = text(values.get("income"))
        if not raw:
            return
        if raw not in _INCOME:
            found.append(BAD_INCOME.format(value=raw))
            return
        status = _INCOME[raw]
        if not status:
            return
        start = dated(values, "income_start", "收入状况起始日期", found, self.today)
        end = dated(values, "income_end", "收入状况终止日期", found, self.today, future=True)
        if start is None and not any("收入状况起始日期" in p for p in found):
            found.append(INCOME_NO_START)
        if start and end and end < start:
            found.append(INCOME_ORDER)
        out["income"] = (status, start, end)

    # -------------------------------------------------------------- check

    def check(self, records: list[Record]) -> None:
        live = [r for r in records if not r.error]
        hashes = {id(r): blind.of_id(r.values) for r in live}
        existing = {
            row["id_number_hash"]: row
            for row in Person.objects.filter(among("id_number_hash", set(hashes.values()))).values(
                "pk",
                "id_number_hash",
                "name",
                "phone_hash",
                "address",
                "community_id",
                "hukou_region_id",
                "hukou_type",
                "version",
            )
        }
        visible: set[int] = set()
        if self.actor is not None and existing:
            visible = set(
                access.scope_people(
                    Person.objects.filter(among("pk", [p["pk"] for p in existing.values()])), self.actor
                ).values_list("pk", flat=True)
            )
        context = _PersonContext.load([p["pk"] for p in existing.values()], live)
        for record in live:
            digest = hashes[id(record)]
            values = record.values
            person = existing.get(digest)
            if person is not None and self.actor is not None and person["pk"] not in visible:
                record.error = PERSON_ELSEWHERE
                continue
            if person is None and not values["community"]:
                record.error = self.no_person
                continue
            record.target = {"person": person, "hash": digest}
            changed = self._check_person(record, person)
            try:
                parts = [
                    context.certificate(record, person),
                    context.income(record, person),
                    context.guardian(record, person),
                ]
            except ValueError as exc:
                record.error = str(exc)
                record.target = None
                continue
            record.change = self.classify(person, changed, parts)

    def classify(self, person: dict[str, Any] | None, changed: bool, parts: list[str]) -> str:
        """A line is new when it registers a person, changed when it changes anything of one."""
        if person is None:
            return NEW
        return CHANGED if changed or any(parts) else UNCHANGED

    def _check_person(self, record: Record, person: dict[str, Any] | None) -> bool:
        values = record.values
        wanted = {
            "name": values["name"],
            "phone_hash": blind.of_phone(values),
            "address": values["address"] or None,
            "community_id": values["community"],
            "hukou_region_id": values["hukou"],
            "hukou_type": values["hukou_type"] or None,
        }
        if person is None:
            return True
        if values["name"] and person["name"] != values["name"]:
            record.flags.append(NAME_DIFFERS.format(file=values["name"], registry=person["name"]))
        # Empty cells leave what the registry holds; the name stays the registry's (a flag says so).
        update = {k: v for k, v in wanted.items() if v is not None and k != "name" and person.get(k) != v}
        record.target["update"] = update
        return bool(update)

    # -------------------------------------------------------------- apply

    def apply(self, records: list[Record]) -> None:
        now = timezone.now()
        new = [r for r in records if r.target["person"] is None]
        people = [
            {
                "name": r.values["name"],
                "id_number": r.values["id_number"],
                "id_number_hash": r.target["hash"],
                "phone": r.values["phone"],
                "address": r.values["address"],
                "community_id": r.values["community"],
                "hukou_region_id": r.values["hukou"],
                "hukou_type": r.values["hukou_type"],
            }
            for r in new
        ]
        ids = people_register_many(actor=self.actor, rows=people, now=now)
        for record, person, pk in zip(new, people, ids, strict=True):
            record.target["person"] = {"pk": pk}
            self.audit.append(
                audit.Row(
                    "people.person",
                    str(pk),
                    pk,
                    f"导入登记人员 {person['name']}",
                    audit.snapshot(
                        SimpleNamespace(**person),
                        ("name", "id_number", "phone", "community_id", "address"),
                        sensitive=SENSITIVE,
                    ),
                )
            )
        self._apply_updates([r for r in records if r.target.get("update")], now)
        _PersonContext.apply(records, self.audit)
        audit.record_rows(actor=self.actor, action=AuditAction.IMPORT, rows=_per_person(self.audit))
        self.audit.clear()

    def _apply_updates(self, records: list[Record], now) -> None:
        if not records:
            return
        people = Person.objects.in_bulk([r.target["person"]["pk"] for r in records])
        fields = {"updated_at", "version"}
        for record in records:
            person = people[record.target["person"]["pk"]]
            update = dict(record.target["update"])
            changes: dict[str, Any] = {}
            if "phone_hash" in update:
                person.phone = record.values["phone"]
                fields.add("phone")
                changes["phone"] = audit.HIDDEN
            for key in ("address", "community_id", "hukou_region_id", "hukou_type"):
                if key in update:
                    changes[key] = [getattr(person, key), update[key]]
            if "community_id" in update:
                update.update(placement(update["community_id"]))
            for key, value in update.items():
                setattr(person, key, value)
                fields.add(key)
            person.version += 1
            person.updated_at = now
            self.audit.append(
                audit.Row("people.person", str(person.pk), person.pk, "导入更新人员信息", changes)
            )
        Person.objects.bulk_update(list(people.values()), sorted(fields), batch_size=1000)


def _per_person(rows: list[audit.Row]) -> list[audit.Row]:
    """One entry per person and import chunk, saying everything the line did to them (registered,
    certificate, period, guardian), with each record's changes under its own name: the person's trail
    reads as one step, and a million-line import writes a million entries, not three."""
    grouped: dict[int | None, list[audit.Row]] = defaultdict(list)
    for row in rows:
        grouped[row.person_id].append(row)
    merged = []
    for person_id, items in grouped.items():
        if len(items) == 1:
            merged.append(items[0])
            continue
        changes = {f"{row.object_type}:{row.object_id}": dict(row.changes) for row in items if row.changes}
        merged.append(
            audit.Row(
                "people.person",
                str(person_id),
                person_id,
                "；".join(row.summary for row in items),
                changes,
            )
        )
    return merged


class _PersonContext:
    """A chunk's certificates, income periods and guardians, read in three queries."""

    def __init__(self) -> None:
        self.cert_by_hash: dict[str, dict[str, Any]] = {}
        self.valid_cert: dict[int, dict[str, Any]] = {}
        self.periods: dict[int, list[dict[str, Any]]] = defaultdict(list)
        self.guardians: dict[int, list[Guardian]] = defaultdict(list)

    @classmethod
    def load(cls, person_ids: list[int], records: list[Record]) -> _PersonContext:
        ctx = cls()
        hashes = [
            blind.of_certificate(r.values["cert"])
            for r in records
            if not r.error and r.values.get("cert") and r.values["cert"].get("number")
        ]
        if hashes:
            for row in DisabilityCertificate.objects.filter(among("number_hash", hashes)).values(
                "pk", "person_id", "number_hash", "issued_on", "expires_on", "status"
            ):
                ctx.cert_by_hash[row["number_hash"]] = row
        if person_ids:
            # By person only, the status sorted out here: asked for status too, SQLite reads every
            # valid certificate through the status index instead of the chunk's through the person's.
            for row in DisabilityCertificate.objects.filter(among("person_id", person_ids)).values(
                "pk", "person_id", "issued_on", "status"
            ):
                if row["status"] == CertificateStatus.VALID:
                    ctx.valid_cert[row["person_id"]] = row
            if any(r.values.get("income") for r in records):
                for row in IncomePeriod.objects.filter(among("person_id", person_ids)).values(
                    "pk", "person_id", "status", "start_date", "end_date"
                ):
                    ctx.periods[row["person_id"]].append(row)
            if any(r.values.get("guardian") for r in records):
                for guardian in Guardian.objects.filter(among("person_id", person_ids)):
                    ctx.guardians[guardian.person_id].append(guardian)
        return ctx

    def certificate(self, record: Record, person: dict[str, Any] | None) -> str:
        cert = record.values.get("cert")
        if not cert or "number" not in cert:
            return ""
        digest = blind.of_certificate(cert)
        known = self.cert_by_hash.get(digest)
        plan: dict[str, Any] = {"hash": digest}
        if known is not None:
            update = {
                k: cert[k]
                for k in ("issued_on", "expires_on", "status")
                if cert[k] is not None and known[k] != cert[k]
            }
            if update.get("status") == CertificateStatus.VALID and person is not None:
                other = self.valid_cert.get(person["pk"])
                if other and other["pk"] != known["pk"]:
                    update.pop("status")  # a newer certificate is already the valid one
            if not update:
                return ""
            plan.update(update_pk=known["pk"], update=update)
            record.target["cert"] = plan
            return CHANGED
        status = cert["status"]
        current = self.valid_cert.get(person["pk"]) if person is not None else None
        if status == CertificateStatus.VALID and current is not None:
            if current["issued_on"] > cert["issued_on"]:
                status = CertificateStatus.REPLACED  # an older certificate: history
            elif current["pk"] is None:
                current["plan"]["status"] = CertificateStatus.REPLACED  # planned earlier in this chunk
            else:
                plan["replace_pk"] = current["pk"]
        plan["status"] = status
        if status == CertificateStatus.VALID and person is not None:
            self.valid_cert[person["pk"]] = {"pk": None, "issued_on": cert["issued_on"], "plan": plan}
        record.target["cert"] = plan
        return NEW

    def income(self, record: Record, person: dict[str, Any] | None) -> str:
        income = record.values.get("income")
        if not income:
            return ""
        status, start, end = income
        periods = self.periods.get(person["pk"], []) if person is not None else []
        plan: dict[str, Any] = {}
        for period in periods:
            if period["status"] == status and period["start_date"] == start:
                if period["end_date"] == end or end is None or period["pk"] is None:
                    return ""
                plan["end_pk"], plan["end_date"] = period["pk"], end
                record.target["income"] = plan
                return CHANGED
        far = dt.date.max
        for period in periods:
            if period["start_date"] <= (end or far) and (period["end_date"] or far) >= start:
                if period["end_date"] is None and period["start_date"] < start:
                    # The status changed: the open period ends the day before the new one.
                    day = start - dt.timedelta(days=1)
                    if period["pk"] is None:  # planned earlier in this chunk
                        status0, start0, _end = period["plan"]["add"]
                        period["plan"]["add"] = (status0, start0, day)
                    else:
                        plan.setdefault("close", []).append((period["pk"], day))
                    period["end_date"] = day
                    continue
                raise ValueError(
                    INCOME_OVERLAP.format(
                        status=IncomeStatus(period["status"]).label,
                        start=period["start_date"],
                        end=period["end_date"] or "今",
                    )
                )
        plan["add"] = (status, start, end)
        if person is not None:
            periods.append({"pk": None, "status": status, "start_date": start, "end_date": end, "plan": plan})
            self.periods[person["pk"]] = periods
        record.target["income"] = plan
        return NEW

    def guardian(self, record: Record, person: dict[str, Any] | None) -> str:
        guardian = record.values.get("guardian")
        if not guardian:
            return ""
        name, relation, phone = guardian
        for known in self.guardians.get(person["pk"], []) if person is not None else []:
            if known.name == name:
                if known.relation == relation and (not phone or known.phone == phone):
                    return ""
                known.relation, known.phone = relation, phone or known.phone
                record.target["guardian_update"] = known
                return CHANGED
        record.target["guardian_add"] = guardian
        return NEW

    @staticmethod
    def apply(records: list[Record], rows: list[audit.Row]) -> None:
        replace, updates, creates = [], [], []
        closes, ends, periods = [], [], []
        guardian_updates, guardians = [], []
        for record in records:
            person_id = record.target["person"]["pk"]
            cert = record.target.get("cert")
            if cert:
                if "update_pk" in cert:
                    updates.append((cert["update_pk"], cert["update"], person_id))
                else:
                    if "replace_pk" in cert:
                        replace.append((cert["replace_pk"], record.values["cert"]["issued_on"], person_id))
                    creates.append((record, cert, person_id))
            income = record.target.get("income")
            if income:
                closes.extend((pk, day, person_id) for pk, day in income.get("close", []))
                if "end_pk" in income:
                    ends.append((income["end_pk"], income["end_date"], person_id))
                if "add" in income:
                    periods.append((income["add"], person_id))
            if record.target.get("guardian_update") is not None:
                guardian_updates.append(record.target["guardian_update"])
            if record.target.get("guardian_add"):
                guardians.append((record.target["guardian_add"], person_id))
        for pk, day, person_id in replace:
            DisabilityCertificate.objects.filter(pk=pk, status=CertificateStatus.VALID).update(
                status=CertificateStatus.REPLACED, status_changed_on=day, status_reason="换发新证（导入）"
            )
            rows.append(audit.Row("people.disabilitycertificate", str(pk), person_id, "导入新证，原证已换发"))
        for pk, update, person_id in updates:
            if update.get("status") and update["status"] != CertificateStatus.VALID:
                update = {**update, "status_changed_on": timezone.localdate(), "status_reason": "导入"}
            DisabilityCertificate.objects.filter(pk=pk).update(**update)
            rows.append(
                audit.Row(
                    "people.disabilitycertificate",
                    str(pk),
                    person_id,
                    "导入更新残疾人证",
                    {k: str(v) for k, v in update.items()},
                )
            )
        certificates = [
            {
                "person_id": person_id,
                "number": record.values["cert"]["number"],
                "number_hash": plan["hash"],
                "category": record.values["cert"]["category"],
                "grade": record.values["cert"]["grade"],
                "issued_on": record.values["cert"]["issued_on"],
                "expires_on": record.values["cert"]["expires_on"],
                "status": plan["status"],
                "status_changed_on": record.values["cert"]["issued_on"]
                if plan["status"] != "valid"
                else None,
                "status_reason": "导入的历史证件" if plan["status"] != "valid" else "",
            }
            for record, plan, person_id in creates
        ]
        ids = bulk.insert(DisabilityCertificate, certificates)
        rows.extend(
            audit.Row(
                "people.disabilitycertificate",
                str(pk),
                c["person_id"],
                f"导入残疾人证（{_CATEGORY_LABEL[c['category']]}{_GRADE_LABEL[c['grade']]}，"
                f"{_CERT_STATUS_LABEL[c['status']]}）",
            )
            for c, pk in zip(certificates, ids, strict=True)
        )
        for pk, day, person_id in closes + ends:
            IncomePeriod.objects.filter(pk=pk).update(end_date=day)
            rows.append(
                audit.Row("people.incomeperiod", str(pk), person_id, f"导入：收入状况期间终止于 {day}")
            )
        new_periods = [
            {"person_id": person_id, "status": status, "start_date": start, "end_date": end, "note": "导入"}
            for (status, start, end), person_id in periods
        ]
        ids = bulk.insert(IncomePeriod, new_periods)
        rows.extend(
            audit.Row(
                "people.incomeperiod",
                str(pk),
                p["person_id"],
                f"导入{_INCOME_LABEL[p['status']]}期间（{p['start_date']} 起）",
            )
            for p, pk in zip(new_periods, ids, strict=True)
        )
        if guardian_updates:
            Guardian.objects.bulk_update(guardian_updates, ["relation", "phone"], batch_size=1000)
            rows.extend(
                audit.Row("people.guardian", str(g.pk), g.person_id, f"导入更新监护人 {g.name}")
                for g in guardian_updates
            )
        new_guardians = [
            Guardian(person_id=person_id, name=name, relation=relation, phone=phone, is_guardian=True)
            for (name, relation, phone), person_id in guardians
        ]
        bulk.insert(Guardian, new_guardians)
        rows.extend(
            audit.Row("people.guardian", str(g.pk), g.person_id, f"导入监护人 {g.name}")
            for g in new_guardians
        )
        if ends or closes or replace or updates or guardian_updates:
            touched = {pid for *_x, pid in replace + updates + closes + ends} | {
                g.person_id for g in guardian_updates
            }
            Person.objects.filter(pk__in=touched).update(version=F("version") + 1, updated_at=timezone.now())


CERTIFICATE_COLUMNS = [
    ID_COLUMN,
    Column("name", "姓名", NAME_COLUMN.synonyms),
    Column("cert_number", "残疾人证号", ("残疾证号", "残疾证号码", "证号", "残疾人证号码"), True),
    Column("category", "残疾类别", ("残疾类型", "类别")),
    Column("grade", "残疾等级", ("等级", "残疾级别")),
    Column("issued_on", "发证日期", ("办证日期", "发证时间", "领证日期", "核发日期"), True),
    Column("expires_on", "有效期至", ("证件有效期", "有效期", "到期日期", "有效期截止")),
    Column("cert_status", "证件状态", ("残疾证状态", "持证状态")),
]


class _Attached(PeopleKind):
    """A kind whose lines hang off people already registered (one line per certificate or period)."""

    ability = "writes_people"
    no_person = UNKNOWN_PERSON

    def classify(self, person: dict[str, Any] | None, changed: bool, parts: list[str]) -> str:
        """A line is new when it adds a certificate or period, changed when it amends one."""
        if NEW in parts:
            return NEW
        return CHANGED if CHANGED in parts else UNCHANGED

    def clean(self, values: dict[str, Any]) -> dict[str, Any]:
        found: list[str] = []
        out: dict[str, Any] = {
            "id_number": clean_id(values, found, self.today),
            "name": text(values.get("name"))[:50],
            "community": None,
            "address": "",
            "phone": "",
            "hukou": None,
            "hukou_type": "",
            "guardian": None,
        }
        blind.stamp_id(out)
        self._clean_certificate(values, out, found)
        self._clean_income(values, out, found)
        problems(found)
        return out


@register
class CertificatesKind(_Attached):
    name = "certificates"
    label = "残疾人证（含历史证件）"
    description = (
        "一行一证。同一人的多张证按发证日期排序：最新的有效证为现证，较早的作为历史（已换发）。人员须已登记。"
    )
    columns = CERTIFICATE_COLUMNS

    def key(self, record: Record) -> Any:
        cert = record.values.get("cert") or {}
        return cert.get("number")


@register
class IncomeKind(_Attached):
    name = "income"
    label = "收入状况期间（低保、低保边缘、特困）"
    description = "一行一个期间。同一人状态改变时，原期间于新期间起始前一日终止。人员须已登记。"
    columns = [
        ID_COLUMN,
        Column("name", "姓名", NAME_COLUMN.synonyms),
        Column("income", "收入状况", ("低保类型", "困难类型", "家庭经济状况", "救助类型", "保障类型"), True),
        Column(
            "income_start", "起始日期", ("收入状况起始日期", "纳入日期", "低保起始日期", "救助起始日期"), True
        ),
        Column("income_end", "终止日期", ("收入状况终止日期", "退出日期", "低保终止日期", "救助终止日期")),
    ]

    def key(self, record: Record) -> Any:
        income = record.values.get("income")
        return (record.values["id_number"], income[0], income[1]) if income else None
